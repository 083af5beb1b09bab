"""The motions RealEnv makes on its own: the reset move and the hold.

A hold is what ros2_control itself treats as "stay where you are", per controller kind
(ros-controls/ros2_controllers, joint_trajectory_controller/src/joint_trajectory_controller.cpp,
validate_trajectory_msg: an empty trajectory is rejected and the running one continues):

- joint_trajectory_controller: a one-point trajectory with all its joints at the measured
  positions;
- forward_command_controller, position interface: the measured positions;
- forward_command_controller, velocity interface: zero;
- gripper_action_controller: a GripperCommand goal at the measured position (what upstream's
  ``set_hold_position`` commands on cancel, gripper_action_controller_impl.hpp).

Without a fresh, valid measurement only the velocity controllers get their zero: a stale
position would pull the robot back, so a position controller's last (checked) target stands.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from action_msgs.msg import GoalStatus

from maniskill_real.config import ResetConfig
from maniskill_real.core.joints import JointMap
from maniskill_real.errors import ResetError
from maniskill_real.ros.commands import ControllerCommand, GripperGoalCommand
from maniskill_real.ros.controllers import STATUS_NAMES

RESET_COMMAND_RATE = 50.0  # Hz, for parts reset through forward command controllers
HOLD_TIME_S = 0.05
"""time_from_start of a hold point: the trajectory controller brakes from the measured state."""


class Motion:
    """Sends the reset move and holds through the controllers' command publishers."""

    def __init__(
        self,
        commands: dict[str, ControllerCommand | GripperGoalCommand],
        joint_map: JointMap,
        reset: ResetConfig,
        measured: Callable[[], np.ndarray],
    ) -> None:
        """``measured``: the newest fresh, valid joint positions (sim order), raising if none."""
        self.commands = commands
        self.joint_map = joint_map
        self.config = reset
        self.measured = measured

    def hold(self, qpos: np.ndarray | None) -> None:
        """Every controller holds still (see the module docstring); ``qpos`` in sim order."""
        for part, command in self.commands.items():
            current = None if qpos is None else self.joint_map.to_controller(part, qpos)
            command.hold(current, HOLD_TIME_S)

    def duration(self, start: np.ndarray, target: np.ndarray) -> float:
        """s a reset from ``start`` to ``target`` (sim order) takes at reset.max_joint_speed."""
        return max(float(np.max(np.abs(target - start))) / self.config.max_joint_speed, 0.1)

    def reset_to(self, target: np.ndarray, parts: Sequence[str] | None = None) -> None:
        """Move to ``target`` (sim order) at no more than reset.max_joint_speed, then wait until
        every joint is within reset.tolerance, or raise ResetError naming the worst joint.
        ``parts``: only these controllers' joints are moved and waited for (default: all)."""
        cfg = self.config
        parts = list(self.commands) if parts is None else list(parts)
        joints = np.concatenate([self.joint_map.controller_index[p] for p in parts])
        start = self.measured()
        duration = self.duration(start[joints], target[joints])
        ramped = []
        goals = {}
        for part in parts:
            command = self.commands[part]
            goal = self.joint_map.to_controller(part, target)
            if isinstance(command, GripperGoalCommand):
                goals[part] = command.start(goal, duration + cfg.settle_timeout)
            elif command.is_trajectory:
                command.send(goal, duration)
            else:
                ramped.append(part)
        velocity = [p for p in ramped if self.commands[p].controller.interface == "velocity"]
        positional = [p for p in ramped if p not in velocity]
        t0 = time.monotonic()
        deadline = t0 + duration + cfg.settle_timeout
        try:
            while True:
                s = min(1.0, (time.monotonic() - t0) / duration)
                current = self.measured()
                # Closed loop: the plan, but never more than one command period at
                # reset.max_joint_speed ahead of the fresh measurement (an arm that lags is
                # waited for, not jumped at: an open-loop ramp got 0.15 rad ahead in the soak).
                lead = cfg.max_joint_speed / RESET_COMMAND_RATE
                planned = start + s * (target - start)
                for part in positional:
                    self._send_part(part, current + np.clip(planned - current, -lead, lead))
                for part in velocity:  # a speed-limited P loop for velocity controllers
                    speed = cfg.max_joint_speed
                    self._send_part(part, np.clip(5.0 * (target - current), -speed, speed))
                error = np.abs(current - target)[joints]
                if s >= 1.0 and np.all(error <= cfg.tolerance):
                    break
                if time.monotonic() > deadline:
                    worst = int(joints[np.argmax(error)])
                    raise ResetError(
                        f"reset did not converge within {duration + cfg.settle_timeout:.1f} s: "
                        f"joint {self.joint_map.ros_joints[worst]} is {np.max(error):.4f} from "
                        f"its target (tolerance {cfg.tolerance})"
                    )
                time.sleep(1.0 / RESET_COMMAND_RATE)
        finally:
            for part in velocity:
                self.commands[part].hold(None, HOLD_TIME_S)
        for part, handle in goals.items():
            self._gripper_result(part, handle, max(deadline - time.monotonic(), 1.0))

    def _gripper_result(self, part: str, handle: object, timeout: float) -> None:
        """A gripper's reset goal must end SUCCEEDED with ``reached_goal``: stalled (on an
        object, or aborted) is a failed reset (gripper_action_controller_impl.hpp,
        ``check_for_success``)."""
        command = self.commands[part]
        assert isinstance(command, GripperGoalCommand)
        status, result = command.client.result(handle, timeout)
        if status != GoalStatus.STATUS_SUCCEEDED or not result.reached_goal:
            position = list(result.state.position) if command.parallel else result.position
            raise ResetError(
                f"{command.topic}: reset goal ended {STATUS_NAMES.get(status, status)}, "
                f"reached_goal {result.reached_goal}, stalled {result.stalled} at {position}"
            )

    def _send_part(self, part: str, sim_values: np.ndarray) -> None:
        self.commands[part].send(self.joint_map.to_controller(part, sim_values), 0.0)
