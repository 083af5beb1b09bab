"""The ros2_control surface a robot shows RealEnv: controller command topics in, /joint_states out.

Both the mock hardware and the ManiSkill-in-the-loop robot sit behind this class, so both
interpret commands as strictly as ros2_control's controllers do (the rules, with their upstream
sources, are in :mod:`trajectory_rules`):

- ``forward_command_controller`` (jazzy): ``Float64MultiArray`` in the controller's ``joints``
  order; a message with a non-finite value is dropped; an empty one writes nothing; one of the
  wrong size makes the controller manager deactivate the controller, which then ignores every
  later command while the hardware keeps its last value. The last command otherwise stands.
- ``gripper_action_controller`` (``position_controllers/GripperActionController``) and
  ``parallel_gripper_action_controller``: no topic at
  all; its ``gripper_cmd`` goals (served by :mod:`controller_manager`, upstream's goal, preempt,
  reached and stall rules) write the position of its one joint, and of the config's joints
  that mimic it, at once, without the command delay (the action server has the goal already).
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

Behind :meth:`ControllerEmulator.serve`, an emulated controller_manager
(:mod:`controller_manager`) lists and switches these controllers and serves each trajectory
controller's FollowJointTrajectory action, which starts trajectories here. As upstream: an
inactive controller ignores its topic (JTC: ``topic_callback`` validates, then drops the message
unless ``subscriber_is_active_``; forward_command_controller: ``update()`` does not run and
``on_activate`` discards what came meanwhile); a deactivated controller leaves its command
interfaces at their last value (JTC ``on_deactivate``); an activated JTC holds at the command
interfaces' values (``on_activate`` with
``set_last_command_interface_value_as_state_on_activation``, jazzy's default true).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.benches import trajectory_rules as rules
from maniskill_real.benches.controller_manager import (
    Constraints,
    ControllerManagerEmulator,
    ControllerSpec,
    GripperParams,
    TrajectorySample,
)
from maniskill_real.benches.parameters import Spec
from maniskill_real.config import GRIPPER_KINDS, ControllerConfig, RobotConfig
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg

_JTC = "every joint_trajectory_controller's "
CONTROLLER_PARAMETERS: dict[str, Spec] = {
    "inactive_controllers": Spec(
        [],
        "controllers of the robot config that the bringup loads but leaves inactive: "
        "list_controllers shows them so, their topics are ignored, their goals rejected",
        type_=Parameter.Type.STRING_ARRAY,
    ),
    "allow_partial_joints_goal": Spec(
        False, _JTC + "allow_partial_joints_goal: take trajectories naming some of its joints"
    ),
    "open_loop_control": Spec(
        False, _JTC + "open_loop_control: start a trajectory from the last command"
    ),
    "interpolate_from_desired_state": Spec(
        False, _JTC + "interpolate_from_desired_state: as open_loop_control"
    ),
    "allow_nonzero_velocity_at_trajectory_end": Spec(
        False, _JTC + "allow_nonzero_velocity_at_trajectory_end"
    ),
    "cmd_timeout": Spec(
        0.0,
        _JTC + "cmd_timeout, s: hold the measured position this long after a trajectory's end "
        "unless a new one came; 0 = off",
        low=0.0,
        high=3600.0,
    ),
}
"""The robots' parameters for their controllers (upstream's defaults; read-only)."""


def jtc_parameters(
    values: Mapping[str, Any], config: RobotConfig
) -> dict[str, rules.JtcParameters]:
    """Every trajectory controller's (reset controllers too) parameters from the node's."""
    params = rules.JtcParameters(
        allow_partial_joints_goal=bool(values["allow_partial_joints_goal"]),
        open_loop_control=bool(values["open_loop_control"]),
        interpolate_from_desired_state=bool(values["interpolate_from_desired_state"]),
        allow_nonzero_velocity_at_trajectory_end=bool(
            values["allow_nonzero_velocity_at_trajectory_end"]
        ),
        cmd_timeout=float(values["cmd_timeout"]),
    )
    return {c.name: params for c in _controllers(config) if c.kind == "joint_trajectory_controller"}


def _controllers(config: RobotConfig) -> list[ControllerConfig]:
    """What the robot loads: every configured controller and every reset controller."""
    return [*config.controllers.values(), *config.reset_controllers().values()]


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

    def velocity(self, now: float) -> np.ndarray:
        """d(desired)/dt: the slope of the segment ``now`` lies in, zero outside them."""
        k = int(np.searchsorted(self.times, now, side="right"))
        if k == 0 or k == len(self.times):
            return np.zeros(len(self.idx))
        dt = self.times[k] - self.times[k - 1]
        return (self.positions[k] - self.positions[k - 1]) / dt


class _Executor:
    """One trajectory controller as the controller_manager emulator's action server drives it
    (``controller_manager.TrajectoryExecutor``); upstream's default constraints."""

    def __init__(self, emulator: ControllerEmulator, name: str) -> None:
        self.constraints = Constraints()
        self._emulator = emulator
        self._name = name

    def validate(self, trajectory: JointTrajectory) -> str | None:
        return self._emulator.goal_rejection(self._name, trajectory)

    def follow(self, trajectory: JointTrajectory) -> None:
        self._emulator.follow(self._name, trajectory)

    def hold(self) -> None:
        self._emulator.hold(self._name)

    def sample(self) -> TrajectorySample:
        return self._emulator.sample(self._name)


class _Gripper:
    """One gripper action controller as the controller_manager emulator's action server drives
    it (its ``GripperExecutor``)."""

    def __init__(self, emulator: ControllerEmulator, ctrl: ControllerConfig) -> None:
        self.params = GripperParams(max_effort=ctrl.max_effort)
        self._emulator = emulator
        self._name = ctrl.name

    def command(self, position: float, max_effort: float) -> None:
        self._emulator.gripper_command(self._name, position)

    def hold(self) -> None:
        self._emulator.gripper_hold(self._name)

    def sample(self) -> tuple[float, float, float]:
        return self._emulator.gripper_sample(self._name)


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
        active: Iterable[str] | None = None,
        measured_velocity: Callable[[], np.ndarray] | None = None,
    ) -> None:
        """``joint_names``: ROS names in this robot's own order; ``clock``: seconds, the same
        clock that ``targets(now)`` is called with (wall or sim time); ``measured`` and
        ``measured_velocity``: the robot's measured joint positions and velocities in
        ``joint_names`` order (the state interfaces a trajectory controller reads), called from
        the thread that calls ``targets``; ``jtc_parameters``: per joint_trajectory_controller
        name, upstream's defaults if absent; ``active``: the controllers active at start
        (default: the configured ones; reset controllers are loaded too, inactive)."""
        self._ros = ros
        self.log = ros.node.get_logger()
        self.joint_names = list(joint_names)
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        self._clock = clock
        self._measured = measured
        self._measured_velocity = measured_velocity
        self.command_delay = command_delay
        self._lock = threading.Lock()
        n = len(self.joint_names)
        self._position = np.asarray(initial_positions, dtype=np.float64).copy()
        """The position command interfaces: what the active controllers wrote last."""
        self._velocity = np.zeros(n)
        self._is_velocity = np.zeros(n, dtype=bool)
        self._state = (self._position.copy(), np.zeros(n))
        """The state interfaces as the last update read them, for action feedback and
        tolerances (read on the executor thread, where the robot can't be asked)."""
        self._pending: deque[tuple[float, Callable[[float], None]]] = deque()
        controllers = _controllers(config)
        self._active = set(
            [c.name for c in config.controllers.values()] if active is None else active
        )
        self.on_update_error: Callable[[str], None] | None = None
        """Called (robot thread, lock held: must not block) with a controller whose update()
        failed; None: it is just deactivated here."""
        self._trajectory: dict[str, _TrajectoryController] = {}
        self._grippers: dict[str, np.ndarray] = {}
        """gripper action controller -> its joints (the commanded one first, then mimics)."""
        self._gripper_configs: dict[str, ControllerConfig] = {}
        params = dict(jtc_parameters or {})
        # Refuse before subscribing to anything: a refused emulator leaves nothing in the graph.
        for ctrl in controllers:
            missing = [j for j in ctrl.joints if j not in self._index]
            if missing:
                raise ValueError(f"controller {ctrl.name} names unknown joints {missing}")
        trajectory_names = {c.name for c in controllers if c.kind not in GRIPPER_KINDS} - {
            c.name for c in controllers if c.kind == "forward_command_controller"
        }
        unknown = sorted(set(params) - trajectory_names)
        if unknown:
            raise ValueError(f"jtc_parameters for unknown trajectory controllers {unknown}")
        for ctrl in controllers:
            idx = np.array([self._index[j] for j in ctrl.joints])
            if ctrl.kind == "forward_command_controller":
                ros.subscribe(Float64MultiArray, ctrl.command_topic, self._forward_cb(ctrl, idx))
                continue
            if ctrl.kind in GRIPPER_KINDS:  # an action only: no topic
                self._grippers[ctrl.name] = idx
                self._gripper_configs[ctrl.name] = ctrl
                continue
            jtc_params = params.pop(ctrl.name, rules.JtcParameters())
            jtc = _TrajectoryController(ctrl, idx, jtc_params, self._position[idx], clock())
            self._trajectory[ctrl.name] = jtc
            ros.subscribe(JointTrajectory, ctrl.command_topic, self._trajectory_cb(jtc))
        self._js_pub = ros.publisher(JointState, config.joint_states_topic, STATE_QOS)

    def serve(
        self, specs: Sequence[ControllerSpec], active: Iterable[str], namespace: str
    ) -> ControllerManagerEmulator:
        """The controller_manager in front of these controllers (``specs`` and ``active`` as
        ``controller_manager.bringup`` gives them, the same ``active`` as this emulator's):
        its switches (de)activate them here, its FollowJointTrajectory goals run here, and a
        controller whose update fails is deactivated there, as upstream's manager does."""
        executors = {name: _Executor(self, name) for name in self._trajectory}
        grippers = {name: _Gripper(self, c) for name, c in self._gripper_configs.items()}
        manager = ControllerManagerEmulator(
            self._ros, specs, active, namespace, executors, grippers, on_switch=self.on_switch
        )
        reason = "their update resulted in an error!"
        self.on_update_error = lambda name: self._ros.call_soon(
            lambda: manager.deactivate([name], reason)
        )
        return manager

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
                if ctrl.name not in self._active:  # no update() runs; on_activate forgets it
                    return
                outcome, why = rules.forward_command(data.tolist(), len(idx))
                if outcome is rules.ForwardOutcome.DROPPED:
                    self.log.warning(f"{ctrl.name}: {why}", throttle_duration_sec=1.0)
                elif outcome is rules.ForwardOutcome.SIZE_ERROR:
                    self.log.error(f"{ctrl.name}: {why}")
                    self._active.discard(ctrl.name)
                    if self.on_update_error is None:
                        self.log.error(rules.deactivation_message(ctrl.name))
                    else:
                        self.on_update_error(ctrl.name)
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
            trajectory = rules.Trajectory.from_msg(msg)

            def receive(now: float) -> None:
                why = rules.trajectory_rejection(
                    trajectory, joints, jtc.params, int(round(now * 1e9))
                )
                if why is not None:  # logged and ignored: the running trajectory continues
                    self.log.error(f"{jtc.ctrl.name}: {why}")
                    return
                if jtc.ctrl.name in self._active:  # else: subscriber_is_active_ is false
                    self._start(jtc, trajectory, now)

            self._defer(receive)

        return on_trajectory

    def _start(self, jtc: _TrajectoryController, trajectory: rules.Trajectory, now: float) -> None:
        """Replace the running trajectory (lock held)."""
        desired = jtc.desired(now)
        before = rules.start_state(self._measured_at(jtc.idx), desired, jtc.params)
        jtc.times, jtc.positions = rules.knots(trajectory, jtc.ctrl.joints, before, desired, now)
        jtc.holding = False

    # -- the controller_manager's side (executor thread) ----------------------------------
    def on_switch(self, activated: Sequence[str], deactivated: Sequence[str]) -> None:
        """Controllers the controller_manager (de)activated; see the module docstring."""
        with self._lock:
            now = self._clock()
            for name in deactivated:
                self._active.discard(name)
                if name in self._trajectory:
                    jtc = self._trajectory[name]
                    self._position[jtc.idx] = jtc.desired(now)
            for name in activated:
                self._active.add(name)
                if name in self._grippers:  # on_activate: set_hold_position
                    self._gripper_set(name, self._state[0][self._grippers[name][0]])
                if name in self._trajectory:
                    jtc = self._trajectory[name]
                    self._is_velocity[jtc.idx] = False
                    jtc.hold(self._position[jtc.idx], now)

    def goal_rejection(self, name: str, msg: JointTrajectory) -> str | None:
        """Why trajectory controller ``name`` refuses a goal's trajectory (the topic's rules,
        ``validate_trajectory_msg``), or None."""
        jtc = self._trajectory[name]
        now_ns = int(round(self._clock() * 1e9))
        return rules.trajectory_rejection(
            rules.Trajectory.from_msg(msg), jtc.ctrl.joints, jtc.params, now_ns
        )

    def follow(self, name: str, msg: JointTrajectory) -> None:
        """Start an accepted goal's trajectory now (``goal_accepted_callback``), with no
        command delay: the action server has it already."""
        with self._lock:
            self._start(self._trajectory[name], rules.Trajectory.from_msg(msg), self._clock())

    def hold(self, name: str) -> None:
        """``set_hold_position``: an active trajectory controller holds the measured position
        (an inactive one is about to be activated, which holds on its own)."""
        with self._lock:
            if name in self._active:
                jtc = self._trajectory[name]
                jtc.hold(self._measured_at(jtc.idx), self._clock())

    def sample(self, name: str) -> TrajectorySample:
        """What trajectory controller ``name``'s update sees now: desired and measured state."""
        with self._lock:
            jtc = self._trajectory[name]
            now = self._clock()
            position, velocity = self._state
            end = float(jtc.times[-1])
            return TrajectorySample(
                desired=jtc.desired(now).tolist(),
                desired_velocities=jtc.velocity(now).tolist(),
                actual=position[jtc.idx].tolist(),
                actual_velocities=velocity[jtc.idx].tolist(),
                time_past_end=now - end if now >= end else None,
            )

    def gripper_command(self, name: str, position: float) -> None:
        """An accepted goal's position, written now by an active gripper controller."""
        with self._lock:
            if name in self._active:
                self._gripper_set(name, position)

    def gripper_hold(self, name: str) -> None:
        """``set_hold_position``: the measured position of the controller's joint."""
        with self._lock:
            if name in self._active:
                self._gripper_set(name, self._state[0][self._grippers[name][0]])

    def gripper_sample(self, name: str) -> tuple[float, float, float]:
        """(position, velocity, effort) of the gripper's joint as the last update read it."""
        with self._lock:
            first = self._grippers[name][0]
            return float(self._state[0][first]), float(self._state[1][first]), 0.0

    def _gripper_set(self, name: str, position: float) -> None:
        """The joint and its mimics (lock held)."""
        idx = self._grippers[name]
        self._position[idx] = position
        self._velocity[idx] = 0.0
        self._is_velocity[idx] = False

    # -- robot side (its own thread) ------------------------------------------------------
    def _measured_at(self, idx: np.ndarray) -> np.ndarray:
        """The measured positions of some joints as this update read them: what
        ``state_current_`` holds (lock held)."""
        return self._state[0][idx]

    def _position_targets(self, now: float) -> np.ndarray:
        """Position targets at ``now`` (caller holds the lock)."""
        pos = self._position.copy()
        for name, jtc in self._trajectory.items():
            if name in self._active:
                pos[jtc.idx] = jtc.desired(now)
        return pos

    def targets(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position targets, velocity targets, velocity-controlled mask) at time ``now``:
        what the controllers write in an update at ``now``."""
        with self._lock:
            velocity = (
                np.zeros(len(self.joint_names))
                if self._measured_velocity is None
                else self._measured_velocity()
            )
            self._state = (
                np.array(self._measured(), dtype=np.float64),
                np.array(velocity, dtype=np.float64),
            )
            while self._pending and self._pending[0][0] <= now:
                _, receive = self._pending.popleft()
                receive(now)
            for name, jtc in self._trajectory.items():
                if name not in self._active or jtc.holding:
                    continue
                if rules.command_timed_out(jtc.times[-1], now, jtc.params):
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
            for jtc in self._trajectory.values():
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
