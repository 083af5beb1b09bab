"""The ros2_control surface a robot shows RealEnv: controller command topics in, /joint_states out.

Both the mock hardware and the ManiSkill-in-the-loop robot sit behind this class, so both
interpret commands exactly as ros2_control's controllers do:

- ``forward_command_controller``: ``Float64MultiArray`` in the controller's ``joints`` order;
  a message with a non-finite value or the wrong size is dropped (and logged), as upstream does;
  the last command is held forever.
- ``joint_trajectory_controller``: ``JointTrajectory``; points are interpolated linearly over
  ``time_from_start`` from the joints' current targets (positions-only points are C0 upstream);
  an empty trajectory holds the current position.

A configurable command delay holds every command back before it takes effect.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.config import ControllerConfig, RobotConfig
from maniskill_real.ros.commands import duration_to_s
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg


@dataclass
class _Segment:
    """Linear interpolation of some joints' targets between knots (absolute times, seconds)."""

    joints: np.ndarray
    times: np.ndarray
    positions: np.ndarray  # (knots, joints)

    def at(self, t: float) -> np.ndarray:
        return np.array(
            [np.interp(t, self.times, self.positions[:, k]) for k in range(len(self.joints))]
        )


class ControllerEmulator:
    """Holds every joint's position/velocity target as ros2_control controllers would set it."""

    def __init__(
        self,
        ros: RosNode,
        config: RobotConfig,
        joint_names: Sequence[str],
        initial_positions: np.ndarray,
        clock: Callable[[], float],
        command_delay: float = 0.0,
    ) -> None:
        """``joint_names``: ROS names in this robot's own order; ``clock``: seconds, the same
        clock that ``targets(now)`` is called with (wall or sim time)."""
        self.log = ros.node.get_logger()
        self.joint_names = list(joint_names)
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        self._clock = clock
        self.command_delay = command_delay
        self._lock = threading.Lock()
        n = len(self.joint_names)
        self._position = np.asarray(initial_positions, dtype=np.float64).copy()
        self._velocity = np.zeros(n)
        self._is_velocity = np.zeros(n, dtype=bool)
        self._segments: list[_Segment] = []
        self._pending: deque[tuple[float, Callable[[float], None]]] = deque()
        for ctrl in config.controllers.values():
            missing = [j for j in ctrl.joints if j not in self._index]
            if missing:
                raise ValueError(f"controller {ctrl.name} names unknown joints {missing}")
            if ctrl.kind == "forward_command_controller":
                ros.subscribe(Float64MultiArray, ctrl.command_topic, self._forward_cb(ctrl))
            else:
                ros.subscribe(JointTrajectory, ctrl.command_topic, self._trajectory_cb(ctrl))
        self._js_pub = ros.publisher(JointState, config.joint_states_topic, STATE_QOS)

    # -- command intake (executor thread) -------------------------------------------------
    def _defer(self, apply: Callable[[float], None]) -> None:
        with self._lock:
            self._pending.append((self._clock() + self.command_delay, apply))

    def _forward_cb(self, ctrl: ControllerConfig) -> Callable[[Float64MultiArray], None]:
        idx = np.array([self._index[j] for j in ctrl.joints])
        velocity = ctrl.interface == "velocity"

        def on_command(msg: Float64MultiArray) -> None:
            data = np.asarray(msg.data, dtype=np.float64)
            if data.shape != (len(idx),):
                self._drop(f"{ctrl.command_topic}: expected {len(idx)} values, got {data.size}")
                return
            if not np.all(np.isfinite(data)):
                self._drop(f"{ctrl.command_topic}: Non-finite value received. Dropping message")
                return

            def apply(now: float) -> None:
                self._clear_segments(idx, now)
                self._is_velocity[idx] = velocity
                if velocity:
                    self._velocity[idx] = data
                else:
                    self._position[idx] = data
                    self._velocity[idx] = 0.0

            self._defer(apply)

        return on_command

    def _trajectory_cb(self, ctrl: ControllerConfig) -> Callable[[JointTrajectory], None]:
        ctrl_idx = np.array([self._index[j] for j in ctrl.joints])

        def on_trajectory(msg: JointTrajectory) -> None:
            if not msg.points:  # empty trajectory: hold position

                def hold(now: float) -> None:
                    self._clear_segments(ctrl_idx, now)

                self._defer(hold)
                return
            unknown = [j for j in msg.joint_names if j not in ctrl.joints]
            if unknown or len(set(msg.joint_names)) != len(msg.joint_names):
                self._drop(f"{ctrl.command_topic}: joints {list(msg.joint_names)} don't match")
                return
            idx = np.array([self._index[j] for j in msg.joint_names])
            times = np.array([duration_to_s(p.time_from_start) for p in msg.points])
            pos = np.array([list(p.positions) for p in msg.points], dtype=np.float64)
            if pos.shape != (len(times), len(idx)) or not np.all(np.isfinite(pos)):
                self._drop(f"{ctrl.command_topic}: malformed or non-finite points")
                return
            if np.any(np.diff(times) <= 0) or times[0] < 0:
                self._drop(f"{ctrl.command_topic}: time_from_start must increase")
                return

            def start(now: float) -> None:
                current = self._position_targets(now)[idx]
                self._clear_segments(idx, now)
                self._is_velocity[idx] = False
                self._velocity[idx] = 0.0
                self._segments.append(
                    _Segment(idx, np.concatenate([[now], now + times]), np.vstack([current, pos]))
                )

            self._defer(start)

        return on_trajectory

    def _drop(self, why: str) -> None:
        self.log.error(why, throttle_duration_sec=1.0)

    def _clear_segments(self, idx: np.ndarray, now: float) -> None:
        """Freeze the given joints at their interpolated target at ``now`` (caller holds the
        lock)."""
        keep = []
        for seg in self._segments:
            held = np.isin(seg.joints, idx)
            if not held.any():
                keep.append(seg)
                continue
            self._position[seg.joints[held]] = seg.at(now)[held]
            if not held.all():
                keep.append(_Segment(seg.joints[~held], seg.times, seg.positions[:, ~held]))
        self._segments = keep

    # -- robot side (its own thread) ------------------------------------------------------
    def _position_targets(self, now: float) -> np.ndarray:
        """Position targets at ``now`` (caller holds the lock)."""
        pos = self._position.copy()
        for seg in self._segments:
            pos[seg.joints] = seg.at(now)
        return pos

    def targets(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position targets, velocity targets, velocity-controlled mask) at time ``now``."""
        with self._lock:
            while self._pending and self._pending[0][0] <= now:
                _, apply = self._pending.popleft()
                apply(now)
            return self._position_targets(now), self._velocity.copy(), self._is_velocity.copy()

    def reset(self, positions: np.ndarray) -> None:
        """Hold ``positions`` from now on and forget every pending command and trajectory, so
        that after a scene reset the drives don't pull the robot back to its old targets."""
        with self._lock:
            self._pending.clear()
            self._segments = []
            self._position = np.asarray(positions, dtype=np.float64).copy()
            self._velocity[:] = 0.0
            self._is_velocity[:] = False

    def publish_joint_states(
        self,
        stamp_ns: int,
        position: np.ndarray,
        velocity: np.ndarray,
        effort: np.ndarray,
        names: list[str] | None = None,
    ) -> None:
        """Publish in ``joint_names`` order (ros2_control guarantees no order); ``names``
        replaces them (a faulty robot's)."""
        msg = JointState()
        msg.header.stamp = time_msg(stamp_ns)
        msg.name = list(self.joint_names if names is None else names)
        msg.position = np.asarray(position, dtype=np.float64).tolist()
        msg.velocity = np.asarray(velocity, dtype=np.float64).tolist()
        msg.effort = np.asarray(effort, dtype=np.float64).tolist()
        self._js_pub.publish(msg)
