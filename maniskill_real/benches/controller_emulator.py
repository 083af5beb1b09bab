"""The ros2_control surface a robot shows RealEnv: controller command topics in, /joint_states out.

Both the mock hardware and the ManiSkill-in-the-loop robot sit behind this class, so both
interpret commands as strictly as ros2_control's controllers do (the rules, with their upstream
sources, are in :mod:`trajectory_rules`):

- ``forward_command_controller`` (jazzy): ``Float64MultiArray`` in the controller's ``joints``
  order; a message with a non-finite value is dropped; an empty one writes nothing; one of the
  wrong size makes the controller manager deactivate the controller, which then ignores every
  later command while the hardware keeps its last value. The last command otherwise stands.
- ``joint_trajectory_controller``: ``JointTrajectory``; a message that ``validate_trajectory_msg``
  refuses (an empty ``JointTrajectory()``, a partial one, one ending in the past, ...) is logged
  and ignored, and the running trajectory continues. An accepted one replaces it and starts from
  the measured positions (or the last commanded ones with ``open_loop_control`` /
  ``interpolate_from_desired_state``); points are interpolated linearly over
  ``time_from_start`` (upstream: linear for positions-only points; velocities and accelerations
  in points, which upstream turns into cubic and quintic splines, are ignored here). With
  ``cmd_timeout``, the controller holds the measured position that long after a trajectory's
  last point unless a new one came.

A configurable command delay holds every message back before the controller receives it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.benches import trajectory_rules as rules
from maniskill_real.config import ControllerConfig, RobotConfig
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg


def _trajectory(msg: JointTrajectory) -> rules.Trajectory:
    def ns(d: object) -> int:
        return int(d.sec) * 1_000_000_000 + int(d.nanosec)

    return rules.Trajectory(
        joint_names=list(msg.joint_names),
        points=[
            rules.Point(
                time_from_start_ns=ns(p.time_from_start),
                positions=list(p.positions),
                velocities=list(p.velocities),
                accelerations=list(p.accelerations),
                effort=list(p.effort),
            )
            for p in msg.points
        ],
        stamp_sec=int(msg.header.stamp.sec),
        stamp_nanosec=int(msg.header.stamp.nanosec),
    )


class _TrajectoryController:
    """One joint_trajectory_controller: the knots its desired positions interpolate between."""

    def __init__(
        self,
        ctrl: ControllerConfig,
        idx: np.ndarray,
        params: rules.JtcParameters,
        positions: np.ndarray,
        now: float,
    ) -> None:
        self.ctrl = ctrl
        self.idx = idx
        self.params = params
        self.hold(positions, now)  # upstream holds on activation

    def hold(self, positions: np.ndarray, now: float) -> None:
        """Hold still (activation, cmd_timeout, scene reset); cmd_timeout then stays off until
        a new trajectory comes."""
        self.times = np.array([now])
        self.positions = np.asarray(positions, dtype=np.float64).reshape(1, -1)
        self.holding = True

    def desired(self, now: float) -> np.ndarray:
        return np.array(
            [np.interp(now, self.times, self.positions[:, k]) for k in range(len(self.idx))]
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
        measured: Callable[[], np.ndarray],
        command_delay: float = 0.0,
        jtc_parameters: Mapping[str, rules.JtcParameters] | None = None,
    ) -> None:
        """``joint_names``: ROS names in this robot's own order; ``clock``: seconds, the same
        clock that ``targets(now)`` is called with (wall or sim time); ``measured``: the
        robot's measured joint positions in ``joint_names`` order (the state interfaces a
        trajectory controller reads), called from the thread that calls ``targets``;
        ``jtc_parameters``: per joint_trajectory_controller name, upstream's defaults if
        absent."""
        self.log = ros.node.get_logger()
        self.joint_names = list(joint_names)
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        self._clock = clock
        self._measured = measured
        self.command_delay = command_delay
        self._lock = threading.Lock()
        n = len(self.joint_names)
        self._position = np.asarray(initial_positions, dtype=np.float64).copy()
        self._velocity = np.zeros(n)
        self._is_velocity = np.zeros(n, dtype=bool)
        self._pending: deque[tuple[float, Callable[[float], None]]] = deque()
        self._inactive: set[str] = set()
        """Forward controllers the controller manager deactivated after a failed update."""
        self._trajectory_controllers: list[_TrajectoryController] = []
        params = dict(jtc_parameters or {})
        for ctrl in config.controllers.values():
            missing = [j for j in ctrl.joints if j not in self._index]
            if missing:
                raise ValueError(f"controller {ctrl.name} names unknown joints {missing}")
            idx = np.array([self._index[j] for j in ctrl.joints])
            if ctrl.kind == "forward_command_controller":
                ros.subscribe(Float64MultiArray, ctrl.command_topic, self._forward_cb(ctrl, idx))
                continue
            jtc_params = params.pop(ctrl.name, rules.JtcParameters())
            jtc = _TrajectoryController(ctrl, idx, jtc_params, self._position[idx], clock())
            self._trajectory_controllers.append(jtc)
            ros.subscribe(JointTrajectory, ctrl.command_topic, self._trajectory_cb(jtc))
        if params:
            raise ValueError(f"jtc_parameters for unknown trajectory controllers {sorted(params)}")
        self._js_pub = ros.publisher(JointState, config.joint_states_topic, STATE_QOS)

    # -- command intake (executor thread) -------------------------------------------------
    def _defer(self, receive: Callable[[float], None]) -> None:
        """The controller receives the message ``command_delay`` s from now, on the robot's
        thread (``targets``)."""
        with self._lock:
            self._pending.append((self._clock() + self.command_delay, receive))

    def _forward_cb(
        self, ctrl: ControllerConfig, idx: np.ndarray
    ) -> Callable[[Float64MultiArray], None]:
        velocity = ctrl.interface == "velocity"

        def on_command(msg: Float64MultiArray) -> None:
            data = np.asarray(msg.data, dtype=np.float64)

            def receive(now: float) -> None:
                if ctrl.name in self._inactive:  # stored, but no update() runs any more
                    return
                outcome, why = rules.forward_command(data.tolist(), len(idx))
                if outcome is rules.ForwardOutcome.DROPPED:
                    self.log.warning(f"{ctrl.name}: {why}", throttle_duration_sec=1.0)
                elif outcome is rules.ForwardOutcome.SIZE_ERROR:
                    self.log.error(f"{ctrl.name}: {why}")
                    self.log.error(rules.deactivation_message(ctrl.name))
                    self._inactive.add(ctrl.name)
                elif outcome is rules.ForwardOutcome.APPLY:
                    self._is_velocity[idx] = velocity
                    if velocity:
                        self._velocity[idx] = data
                    else:
                        self._position[idx] = data
                        self._velocity[idx] = 0.0

            self._defer(receive)

        return on_command

    def _trajectory_cb(self, jtc: _TrajectoryController) -> Callable[[JointTrajectory], None]:
        joints = list(jtc.ctrl.joints)

        def on_trajectory(msg: JointTrajectory) -> None:
            trajectory = _trajectory(msg)

            def receive(now: float) -> None:
                why = rules.trajectory_rejection(
                    trajectory, joints, jtc.params, int(round(now * 1e9))
                )
                if why is not None:  # logged and ignored: the running trajectory continues
                    self.log.error(f"{jtc.ctrl.name}: {why}")
                    return
                desired = jtc.desired(now)
                before = rules.start_state(self._measured_at(jtc.idx), desired, jtc.params)
                jtc.times, jtc.positions = rules.knots(trajectory, joints, before, desired, now)
                jtc.holding = False

            self._defer(receive)

        return on_trajectory

    # -- robot side (its own thread) ------------------------------------------------------
    def _measured_at(self, idx: np.ndarray) -> np.ndarray:
        """The measured positions of some joints: what ``state_current_`` reads."""
        return np.asarray(self._measured(), dtype=np.float64)[idx]

    def _position_targets(self, now: float) -> np.ndarray:
        """Position targets at ``now`` (caller holds the lock)."""
        pos = self._position.copy()
        for jtc in self._trajectory_controllers:
            pos[jtc.idx] = jtc.desired(now)
        return pos

    def targets(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position targets, velocity targets, velocity-controlled mask) at time ``now``:
        what the controllers write in an update at ``now``."""
        with self._lock:
            while self._pending and self._pending[0][0] <= now:
                _, receive = self._pending.popleft()
                receive(now)
            for jtc in self._trajectory_controllers:
                if not jtc.holding and rules.command_timed_out(jtc.times[-1], now, jtc.params):
                    self.log.warning(f"{jtc.ctrl.name}: Aborted due to command timeout")
                    jtc.hold(self._measured_at(jtc.idx), now)
            return self._position_targets(now), self._velocity.copy(), self._is_velocity.copy()

    def reset(self, positions: np.ndarray) -> None:
        """Hold ``positions`` from now on and forget every pending command and trajectory, so
        that after a scene reset the drives don't pull the robot back to its old targets. A
        forward controller deactivated by a failed update stays inactive."""
        with self._lock:
            self._pending.clear()
            self._position = np.asarray(positions, dtype=np.float64).copy()
            self._velocity[:] = 0.0
            self._is_velocity[:] = False
            now = self._clock()
            for jtc in self._trajectory_controllers:
                jtc.hold(self._position[jtc.idx], now)

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
