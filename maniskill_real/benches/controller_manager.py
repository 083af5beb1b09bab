"""An emulated ros2_control controller_manager for the mock and sim robots: the services and
actions a real ``ros2_control_node`` serves, with its semantics, in front of the robot's own
emulation of the controllers.

ros2_control cannot be installed here (no wheel, no rclcpp), so this fakes it, read from the
jazzy sources and as strict as they are; where they would hang or do something unsafe it
rejects instead, and says so:

- ros-controls/ros2_control ``controller_manager/src/controller_manager.cpp``:
  ``~/list_controllers`` (``list_controllers_srv_cb``), ``~/switch_controller``
  (``switch_controller_cb``, ``check_for_interfaces_availability_to_activate``,
  ``evaluate_switch_result``): STRICT and BEST_EFFORT, resource conflicts.
- ros-controls/ros2_controllers ``joint_trajectory_controller/src/joint_trajectory_controller.cpp``
  (``goal_received_callback``, ``goal_accepted_callback``, ``goal_cancelled_callback``,
  ``preempt_active_goal``, ``on_deactivate``, the tolerance checks in ``update``) and
  ``include/joint_trajectory_controller/tolerances.hpp``: ``<controller>/follow_joint_trajectory``.
- ros-controls/ros2_controllers ``gripper_controllers/.../gripper_action_controller_impl.hpp``
  and ``parallel_gripper_controller/.../parallel_gripper_action_controller_impl.hpp``:
  ``<controller>/gripper_cmd``.

What moves the joints is not here: a robot passes a :class:`TrajectoryExecutor` per trajectory
controller and a :class:`GripperExecutor` per gripper controller, and learns about switches
through ``on_switch``. ``main()`` runs the emulator alone, over an ideal kinematic joint model,
for tests of the client side.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from control_msgs.action import FollowJointTrajectory, GripperCommand, ParallelGripperCommand
from controller_manager_msgs.msg import ControllerState
from controller_manager_msgs.srv import ListControllers, SwitchController
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.exceptions import ParameterUninitializedException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.task import Future
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import GRIPPER_KINDS, RobotConfig, _Validator, load_robot_config
from maniskill_real.errors import ConfigError
from maniskill_real.ros.controllers import (
    FORWARD_TYPE,
    GRIPPER_TYPE,
    JTC_TYPE,
    PARALLEL_GRIPPER_TYPE,
    group_type,
)
from maniskill_real.ros.node import RosNode

# Controller type -> what the emulator runs it as. Effort gripper and multi-interface forward
# controllers are not emulated: a robot config that names them fails at load.
ROLES: dict[str, str] = {
    JTC_TYPE: "trajectory",
    FORWARD_TYPE: "forward",
    **{group_type(i): "forward" for i in ("position", "velocity", "effort")},
    GRIPPER_TYPE: "gripper",
    PARALLEL_GRIPPER_TYPE: "parallel_gripper",
}
UPDATE_RATE = 100
"""Hz: controller_manager's default ``update_rate``; the tolerance checks run at it."""
FEEDBACK_EVERY = 5
"""Updates per action feedback: JTC's default ``action_monitor_rate`` is 20 Hz."""
NOTHING_TO_SWITCH = (
    "After checking the controllers, no controllers need to be activated or deactivated."
)
ERASE = -1.0
"""JointTolerance: -1 erases a default tolerance (control_msgs/msg/JointTolerance.msg)."""


@dataclass(frozen=True)
class ControllerSpec:
    """One loaded controller: its name, pluginlib type, joints and command interface."""

    name: str
    type: str
    joints: tuple[str, ...]
    interface: str = "position"

    @property
    def role(self) -> str:
        return ROLES[self.type]

    def command_interfaces(self) -> list[str]:
        """What it claims when active, in its ``command_interface_configuration`` order."""
        return [f"{joint}/{self.interface}" for joint in self.joints]

    def state_interfaces(self) -> list[str]:
        """Forward controllers read none; the others position and velocity per joint."""
        if self.role == "forward":
            return []
        return [f"{joint}/{i}" for joint in self.joints for i in ("position", "velocity")]

    def check(self, where: str) -> None:
        """Raise ConfigError where upstream's controller would fail to configure."""
        if self.type not in ROLES:
            raise ConfigError(f"{where}.type: {self.type!r} is not one of {sorted(ROLES)}")
        if not self.joints or len(set(self.joints)) != len(self.joints):
            raise ConfigError(f"{where}.joints: needs distinct joint names, got {self.joints}")
        fixed = {group_type(i): i for i in ("position", "velocity", "effort")}
        fixed |= {GRIPPER_TYPE: "position", PARALLEL_GRIPPER_TYPE: "position"}
        if self.type in fixed and self.interface != fixed[self.type]:
            raise ConfigError(f"{where}.interface: {self.type} commands {fixed[self.type]} only")
        if self.role in ("gripper", "parallel_gripper") and len(self.joints) != 1:
            raise ConfigError(f"{where}.joints: a gripper action controller drives one joint")


def specs_from_config(config: RobotConfig) -> list[ControllerSpec]:
    """The configured controllers, each of the type its kind is usually run as, then the
    reset controllers (joint_trajectory_controllers). A gripper action controller has one
    joint: a config's mimic joints follow the first, as the hardware's mimic joints do."""
    types = {
        "joint_trajectory_controller": JTC_TYPE,
        "forward_command_controller": FORWARD_TYPE,
        "gripper_action_controller": GRIPPER_TYPE,
        "parallel_gripper_action_controller": PARALLEL_GRIPPER_TYPE,
    }
    return [
        ControllerSpec(
            c.name,
            types[c.kind],
            tuple(c.joints[:1] if c.kind in GRIPPER_KINDS else c.joints),
            c.interface,
        )
        for c in [*config.controllers.values(), *config.reset_controllers().values()]
    ]


def bringup(
    config: RobotConfig,
    extra: Sequence[ControllerSpec] = (),
    active_extra: Iterable[str] = (),
    inactive: Iterable[str] = (),
    unloaded: Iterable[str] = (),
) -> tuple[list[ControllerSpec], list[str]]:
    """(loaded controllers, active ones) as a robot's bringup spawns them: every configured
    controller loaded and active, less ``unloaded``, with ``inactive`` and the reset
    controllers (``controllers.<part>.reset_controller``) left inactive. ``extra`` controllers
    are loaded too (inactive unless in ``active_extra``); one named like a configured
    controller replaces it."""
    unloaded, inactive = set(unloaded), set(inactive)
    configured = {c.name: c for c in specs_from_config(config)}
    resetting = {c.name for c in config.reset_controllers().values()}
    for name in unloaded | inactive:
        if name not in configured:
            raise ConfigError(f"'{name}' is not a controller in {config.path}")
    extra_names = {c.name for c in extra}
    for name in active_extra:
        if name not in extra_names:
            raise ConfigError(f"'{name}' is not an extra controller ({sorted(extra_names)})")
    skip = unloaded | extra_names
    specs = [c for n, c in configured.items() if n not in skip] + list(extra)
    active = [n for n in configured if n not in skip | inactive | resetting] + list(active_extra)
    return specs, active


def load_extra_controllers(path: Path) -> tuple[list[ControllerSpec], list[str]]:
    """(controllers, the active ones) from a YAML file
    ``{name: {type: ..., joints: [...], interface: position, active: false}}``."""
    v = _Validator(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: can't load extra controllers: {e}") from e
    specs, active = [], []
    for name, entry in v.mapping(raw, "").items():
        v.known_keys(v.mapping(entry, name), name, {"type", "joints", "interface", "active"})
        joints = entry.get("joints")
        if not isinstance(joints, list) or not all(isinstance(j, str) for j in joints):
            raise v.fail(f"{name}.joints", f"expected a list of joint names, got {joints!r}")
        spec = ControllerSpec(
            v.string(name, name),
            v.choice(entry.get("type"), f"{name}.type", tuple(ROLES)),
            tuple(joints),
            v.string(entry.get("interface", "position"), f"{name}.interface"),
        )
        spec.check(f"{path}: key '{name}'")
        specs.append(spec)
        if entry.get("active", False) is True:
            active.append(name)
    return specs, active


# ----------------------------------------------------------------------------------------------
# What the robot plugs in
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrajectorySample:
    """What a joint_trajectory_controller's ``update()`` sees now, in its joints' order."""

    desired: Sequence[float]
    desired_velocities: Sequence[float]
    actual: Sequence[float]
    actual_velocities: Sequence[float]
    time_past_end: float | None
    """s since the trajectory's last point was due; None before it (or with no trajectory)."""


@dataclass(frozen=True)
class Constraints:
    """The controller's ``constraints`` parameters; defaults are upstream jazzy's
    (``joint_trajectory_controller_parameters.yaml``): 0 means unchecked."""

    goal_time: float = 0.0
    stopped_velocity_tolerance: float = 0.01
    trajectory: Mapping[str, float] = field(default_factory=dict)
    """joint -> path position tolerance."""
    goal: Mapping[str, float] = field(default_factory=dict)
    """joint -> goal position tolerance."""


class TrajectoryExecutor(Protocol):
    """A robot's emulation of one joint_trajectory_controller, as its action server needs it."""

    constraints: Constraints

    def validate(self, trajectory: JointTrajectory) -> str | None:
        """None if the controller takes the trajectory (the topic's rules), else why not."""

    def follow(self, trajectory: JointTrajectory) -> None:
        """Start a validated trajectory, replacing whatever runs."""

    def hold(self) -> None:
        """Hold the measured position (``set_hold_position``)."""

    def sample(self) -> TrajectorySample: ...


@dataclass(frozen=True)
class GripperParams:
    """gripper_action_controller parameters (``gripper_action_controller_parameters.yaml``)."""

    goal_tolerance: float = 0.01
    stall_velocity_threshold: float = 0.001
    stall_timeout: float = 1.0
    allow_stalling: bool = False
    max_effort: float = 0.0


class GripperExecutor(Protocol):
    """A robot's emulation of one gripper action controller's joint."""

    params: GripperParams

    def command(self, position: float, max_effort: float) -> None: ...

    def hold(self) -> None:
        """Command the measured position."""

    def sample(self) -> tuple[float, float, float]:
        """(position, velocity, effort) now."""


# ----------------------------------------------------------------------------------------------
# Goal bookkeeping
# ----------------------------------------------------------------------------------------------
@dataclass
class _Tolerance:
    position: float = 0.0
    velocity: float = 0.0
    acceleration: float = 0.0


@dataclass
class _Tolerances:
    path: list[_Tolerance]
    goal: list[_Tolerance]
    goal_time: float


def default_tolerances(constraints: Constraints, joints: Sequence[str]) -> _Tolerances:
    """``get_segment_tolerances(logger, params)``."""
    return _Tolerances(
        path=[_Tolerance(constraints.trajectory.get(j, 0.0)) for j in joints],
        goal=[
            _Tolerance(constraints.goal.get(j, 0.0), constraints.stopped_velocity_tolerance)
            for j in joints
        ],
        goal_time=constraints.goal_time,
    )


def _resolve(default: float, value: float) -> float:
    """``resolve_tolerance_source``: > 0 replaces, -1 erases, 0 keeps the default, other
    negatives are illegal."""
    if value > 0.0:
        return value
    if abs(value - ERASE) < 1.1920929e-07:  # std::numeric_limits<float>::epsilon()
        return 0.0
    if value < 0.0:
        raise ValueError("Illegal tolerance value.")
    return default


def goal_tolerances(
    defaults: _Tolerances, goal: FollowJointTrajectory.Goal, joints: Sequence[str], log: Any
) -> _Tolerances:
    """``get_segment_tolerances(logger, defaults, goal, joints)``: any illegal entry or unknown
    joint makes the whole goal use the defaults, as upstream (logged, not rejected)."""
    duration = goal.goal_time_tolerance.sec + goal.goal_time_tolerance.nanosec * 1e-9
    out = _Tolerances(
        [_Tolerance(**vars(t)) for t in defaults.path],
        [_Tolerance(**vars(t)) for t in defaults.goal],
        defaults.goal_time,
    )
    try:
        out.goal_time = _resolve(defaults.goal_time, duration)
    except ValueError:
        log.error(f"Specified illegal goal_time_tolerance: {duration:f}. Using default tolerances")
        return defaults
    for key, entries, mine, base in (
        ("path_tolerance", goal.path_tolerance, out.path, defaults.path),
        ("goal_tolerance", goal.goal_tolerance, out.goal, defaults.goal),
    ):
        for entry in entries:
            if entry.name not in joints:
                log.error(
                    f"joint '{entry.name}' specified in goal.{key} does not exist. "
                    "Using default tolerances."
                )
                return defaults
            i = list(joints).index(entry.name)
            for axis in ("position", "velocity", "acceleration"):
                try:
                    setattr(mine[i], axis, _resolve(getattr(base[i], axis), getattr(entry, axis)))
                except ValueError:
                    log.error(
                        f"joint '{entry.name}' specified in goal.{key} has a invalid {axis} "
                        "tolerance. Using default tolerances."
                    )
                    return defaults
    return out


def _within(error_pos: float, error_vel: float, tol: _Tolerance) -> bool:
    """``check_state_tolerance_per_joint`` (accelerations are not measured here: error 0)."""
    return not (tol.position > 0.0 and abs(error_pos) > tol.position) and not (
        tol.velocity > 0.0 and abs(error_vel) > tol.velocity
    )


@dataclass
class _Goal:
    handle: Any
    done: Future
    tolerances: _Tolerances | None = None
    first_sample: bool = True
    last_movement: float = 0.0
    target: float = 0.0
    updates: int = 0


# ----------------------------------------------------------------------------------------------
# The controller_manager
# ----------------------------------------------------------------------------------------------
class ControllerManagerEmulator:
    """``<namespace>/controller_manager`` with its list/switch services, and the action servers
    of the trajectory and gripper controllers among ``controllers``.

    Every controller in ``controllers`` is loaded (configured); those in ``active`` are active.
    Two active controllers may not claim one command interface. The hardware offers exactly the
    command interfaces some loaded controller names. Callbacks run on ``ros``'s executor thread;
    ``on_switch(activated, deactivated)`` too.
    """

    def __init__(
        self,
        ros: RosNode,
        controllers: Sequence[ControllerSpec],
        active: Iterable[str],
        namespace: str = "",
        trajectory_executors: Mapping[str, TrajectoryExecutor] | None = None,
        gripper_executors: Mapping[str, GripperExecutor] | None = None,
        on_switch: Callable[[list[str], list[str]], None] | None = None,
    ) -> None:
        self._specs = {c.name: c for c in controllers}
        if len(self._specs) != len(controllers):
            raise ConfigError(f"controller names must be unique: {[c.name for c in controllers]}")
        for spec in controllers:
            spec.check(f"controller '{spec.name}'")
        self._active: list[str] = []
        for name in active:
            if name not in self._specs:
                raise ConfigError(f"cannot activate '{name}': not among {list(self._specs)}")
            taken = self._claimed()
            clash = [i for i in self._specs[name].command_interfaces() if i in taken]
            if clash:
                raise ConfigError(
                    f"cannot activate '{name}': {clash} already claimed by '{taken[clash[0]]}'"
                )
            self._active.append(name)
        self._hardware = {i for c in controllers for i in c.command_interfaces()}
        self._trajectory = dict(trajectory_executors or {})
        self._gripper = dict(gripper_executors or {})
        for spec in controllers:
            plugged = {"trajectory": self._trajectory, "gripper": self._gripper}.get(
                spec.role.replace("parallel_", "")
            )
            if plugged is not None and spec.name not in plugged:
                raise ConfigError(f"controller '{spec.name}' ({spec.type}) needs an executor")
        self._on_switch = on_switch
        self._goals: dict[str, _Goal] = {}
        """controller -> its active goal."""
        self._cancelled: list[tuple[_Goal, Any]] = []
        """Goals cancelled, with their result, until rclpy marked them CANCELING."""
        self._decided: dict[bytes, Future] = {}
        """goal id -> its outcome, for _execute (rclpy hands it only the goal handle)."""

        self.node = Node("controller_manager", namespace=namespace, context=ros.context)
        self.log = self.node.get_logger()
        self.node.create_service(ListControllers, "~/list_controllers", self._list_srv)
        self.node.create_service(SwitchController, "~/switch_controller", self._switch_srv)
        self._servers = [self._action_server(spec) for spec in controllers]
        self._timer = self.node.create_timer(1.0 / UPDATE_RATE, self._update)
        self._timer.cancel()  # runs only while a goal does
        ros.add_node(self.node)

    # -- state ---------------------------------------------------------------------------------
    def is_active(self, name: str) -> bool:
        return name in self._active

    def _claimed(self) -> dict[str, str]:
        """command interface -> the active controller claiming it."""
        return {i: n for n in self._active for i in self._specs[n].command_interfaces()}

    def _state(self, spec: ControllerSpec) -> ControllerState:
        """One ``list_controllers`` entry as ``list_controllers_srv_cb`` fills it."""
        active = spec.name in self._active
        return ControllerState(
            name=spec.name,
            state="active" if active else "inactive",
            type=spec.type,
            is_async=False,
            update_rate=UPDATE_RATE,
            claimed_interfaces=spec.command_interfaces() if active else [],
            required_command_interfaces=spec.command_interfaces(),
            required_state_interfaces=spec.state_interfaces(),
            is_chainable=False,
            is_chained=False,
        )

    def _list_srv(self, _request: Any, response: Any) -> Any:
        response.controller = [self._state(spec) for spec in self._specs.values()]
        return response

    # -- switch_controller ---------------------------------------------------------------------
    def _switch_srv(self, request: Any, response: Any) -> Any:
        response.ok, response.message = self.switch(
            list(request.activate_controllers),
            list(request.deactivate_controllers),
            request.strictness,
        )
        return response

    def switch(
        self, activate: list[str], deactivate: list[str], strictness: int
    ) -> tuple[bool, str]:
        """``switch_controller_cb``: (ok, message), word for word where upstream has one."""
        req = SwitchController.Request
        # 0: the default, "best_effort"; AUTO and FORCE_AUTO: "not currently implemented"
        if strictness in (0, req.AUTO, req.FORCE_AUTO):
            strictness = req.BEST_EFFORT
        if strictness not in (req.STRICT, req.BEST_EFFORT):  # upstream: neither branch; reject
            return False, f"Unknown strictness {strictness}: use STRICT (2) or BEST_EFFORT (1)."
        strict = strictness == req.STRICT
        if activate:
            self.log.info(f"Activating controllers: [ {' '.join(activate)} ]")
        if deactivate:
            self.log.info(f"Deactivating controllers: [ {' '.join(deactivate)} ]")

        message = ""

        def listed(names: list[str], action: str) -> list[str] | None:
            nonlocal message
            found: list[str] = []
            ok = True
            for name in names:
                if name in self._specs:
                    ok = True
                    found.append(name)
                    continue
                error = (
                    f"Could not {action} controller with name '{name}' because no controller "
                    "with this name exists"
                )
                message += error + "\n"
                self.log.warning(error)
                ok = bool(found)  # BEST_EFFORT: an error only if nothing was found before
                if strict:
                    message = error
                    return None
            return found if ok else None

        to_deactivate = listed(deactivate, "deactivate")
        if to_deactivate is None:
            return False, message
        to_activate = listed(activate, "activate")
        if to_activate is None:
            return False, message
        message = ""

        for name in list(to_activate):
            if name in self._active and name not in to_deactivate:
                message = f"Controller with name '{name}' is already active."
                self.log.warning(message)
                if strict:
                    self.log.error("Aborting, no controller is switched! (::STRICT switch)")
                    return False, message
                to_activate.remove(name)
                message = ""
        for name in list(to_deactivate):
            if name not in self._active:
                message = (
                    f"Controller with name '{name}' can not be deactivated since it is not active."
                )
                self.log.warning(message)
                if strict:
                    self.log.error("Aborting, no controller is switched! (::STRICT switch)")
                    return False, message
                to_deactivate.remove(name)
                message = ""
        if not to_activate and not to_deactivate:
            return True, NOTHING_TO_SWITCH

        problem = self._interfaces_problem(to_activate, to_deactivate)
        if problem:
            self.log.warning(problem)
            return False, problem

        self._deactivate(to_deactivate, "Current goal cancelled during deactivate transition.")
        for name in to_activate:
            self._active.append(name)
            if name in self._trajectory:  # on_activate: hold the measured position
                self._trajectory[name].hold()
            if name in self._gripper:
                self._gripper[name].hold()
        if self._on_switch is not None:
            self._on_switch(list(to_activate), list(to_deactivate))
        return True, "Successfully switched controllers!"

    def _interfaces_problem(self, activate: list[str], deactivate: list[str]) -> str | None:
        """``check_for_interfaces_availability_to_activate``."""
        freed = [i for n in deactivate for i in self._specs[n].command_interfaces()]
        claimed = self._claimed()
        taking: list[str] = []
        for name in activate:
            if name in deactivate:  # restarted in the same switch
                continue
            for itf in self._specs[name].command_interfaces():
                if itf not in self._hardware:
                    return (
                        f"Unable to activate controller '{name}' since the command interface "
                        f"'{itf}' is not available."
                    )
                if itf in claimed and itf not in freed:
                    return (
                        f"Unable to activate controller '{name}' since the command interface "
                        f"'{itf}' is currently claimed by another controller."
                    )
                if itf in taking:
                    return (
                        f"Unable to activate controller '{name}' since the command interface "
                        f"'{itf}' will be used by another controller that is being activated."
                    )
                taking.append(itf)
        return None

    def deactivate(self, names: Sequence[str], reason: str) -> None:
        """Deactivate controllers outside a switch, as the controller_manager does when their
        ``update()`` returns ERROR; ``reason`` is logged. Call on the executor thread."""
        names = [n for n in names if n in self._active]
        if not names:
            return
        self.log.error(f"Deactivating controllers : [ {' '.join(names)} ] as {reason}")
        self._deactivate(names, "Current goal cancelled during deactivate transition.")
        if self._on_switch is not None:
            self._on_switch([], list(names))

    def _deactivate(self, names: Sequence[str], why: str) -> None:
        for name in names:
            self._active.remove(name)
            if name in self._trajectory:  # on_deactivate: abort the goal, hold
                self._finish(
                    name, "abort", self._fjt_result(FollowJointTrajectory.Result.INVALID_GOAL, why)
                )
                self._trajectory[name].hold()
            elif name in self._gripper:
                # Upstream leaves the goal hanging (no more updates); abort it instead.
                position, _, effort = self._gripper[name].sample()
                self._finish(
                    name, "abort", self._gripper_result(name, position, effort, False, False)
                )
                self._gripper[name].hold()

    # -- actions -------------------------------------------------------------------------------
    def _action_server(self, spec: ControllerSpec) -> ActionServer | None:
        if spec.role == "trajectory":
            action_type, suffix = FollowJointTrajectory, "follow_joint_trajectory"
            goal_cb, accepted_cb = self._fjt_goal(spec), self._fjt_accepted(spec)
        elif spec.role in ("gripper", "parallel_gripper"):
            action_type = GripperCommand if spec.role == "gripper" else ParallelGripperCommand
            suffix = "gripper_cmd"
            goal_cb, accepted_cb = self._gripper_goal(spec), self._gripper_accepted(spec)
        else:
            return None
        return ActionServer(
            self.node,
            action_type,
            f"{spec.name}/{suffix}",
            execute_callback=self._execute,
            goal_callback=goal_cb,
            handle_accepted_callback=accepted_cb,
            cancel_callback=self._cancel(spec),
        )

    def _fjt_goal(self, spec: ControllerSpec) -> Callable[[Any], GoalResponse]:
        def on_goal(goal: Any) -> GoalResponse:
            self.log.info(f"{spec.name}: Received new action goal")
            if spec.name not in self._active:
                self.log.error(
                    f"{spec.name}: Can't accept new action goals. Controller is not running."
                )
                return GoalResponse.REJECT
            reason = self._trajectory[spec.name].validate(goal.trajectory)
            if reason is not None:
                self.log.error(f"{spec.name}: {reason}")
                return GoalResponse.REJECT
            self.log.info(f"{spec.name}: Accepted new action goal")
            return GoalResponse.ACCEPT

        return on_goal

    def _fjt_accepted(self, spec: ControllerSpec) -> Callable[[Any], None]:
        executor = self._trajectory.get(spec.name)

        def on_accepted(handle: Any) -> None:
            self._finish(
                spec.name,
                "abort",
                self._fjt_result(
                    FollowJointTrajectory.Result.INVALID_GOAL,
                    "Current goal preempted by new incoming action.",
                ),
            )
            executor.follow(handle.request.trajectory)
            defaults = default_tolerances(executor.constraints, spec.joints)
            tolerances = goal_tolerances(defaults, handle.request, spec.joints, self.log)
            self._start(spec.name, _Goal(handle, Future(), tolerances=tolerances))

        return on_accepted

    def _gripper_goal(self, spec: ControllerSpec) -> Callable[[Any], GoalResponse]:
        def on_goal(goal: Any) -> GoalResponse:
            # Upstream accepts goals whenever its server exists, and an inactive controller's
            # never finish; rejected here.
            if spec.name not in self._active:
                self.log.error(f"{spec.name}: goal rejected: controller is not active")
                return GoalResponse.REJECT
            if spec.role == "parallel_gripper" and len(goal.command.position) != 1:
                self.log.error(
                    f"{spec.name}: Received action goal with wrong number of position values, "
                    f"expects 1, got {len(goal.command.position)}"
                )
                return GoalResponse.REJECT
            self.log.info(f"{spec.name}: Received & accepted new action goal")
            return GoalResponse.ACCEPT

        return on_goal

    def _gripper_accepted(self, spec: ControllerSpec) -> Callable[[Any], None]:
        executor = self._gripper.get(spec.name)

        def on_accepted(handle: Any) -> None:
            previous = self._goals.pop(spec.name, None)
            if previous is not None:  # preempt_active_goal: the old goal is cancelled
                # rclcpp's canceled() passes through CANCELING (try_canceling); rclpy has no
                # public call for that, and EXECUTING -> CANCELED is not a legal transition.
                previous.handle._update_state(_rclpy.GoalEvent.CANCEL_GOAL)
                previous.done.set_result(("canceled", self._empty_result(spec)))
            command = handle.request.command
            if spec.role == "gripper":
                target, effort = command.position, command.max_effort
            else:
                target = command.position[0]
                effort = command.effort[0] if command.effort else executor.params.max_effort
            executor.command(target, effort)
            goal = _Goal(handle, Future(), target=target, last_movement=self._now())
            self._start(spec.name, goal)

        return on_accepted

    def _start(self, name: str, goal: _Goal) -> None:
        self._goals[name] = goal
        self._decided[bytes(goal.handle.goal_id.uuid)] = goal.done
        goal.handle.execute()
        if self._timer.is_canceled():
            self._timer.reset()

    def _cancel(self, spec: ControllerSpec) -> Callable[[Any], CancelResponse]:
        def on_cancel(handle: Any) -> CancelResponse:
            self.log.info(f"{spec.name}: Got request to cancel goal")
            goal = self._goals.get(spec.name)
            if goal is not None and goal.handle is handle:
                self.log.info(
                    f"{spec.name}: Canceling active action goal because cancel callback received."
                )
                del self._goals[spec.name]
                if spec.role == "trajectory":
                    self._trajectory[spec.name].hold()
                else:  # set_hold_position
                    self._gripper[spec.name].hold()
                self._cancelled.append((goal, self._empty_result(spec)))
            return CancelResponse.ACCEPT

        return on_cancel

    async def _execute(self, handle: Any) -> Any:
        """Wait, without blocking the executor, until an update, a cancel, a preemption or a
        deactivation decides the goal."""
        outcome, result = await self._decided.pop(bytes(handle.goal_id.uuid))
        {"succeed": handle.succeed, "abort": handle.abort, "canceled": handle.canceled}[outcome]()
        return result

    def _finish(self, name: str, outcome: str, result: Any) -> None:
        goal = self._goals.pop(name, None)
        if goal is not None:
            goal.done.set_result((outcome, result))

    def _now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    @staticmethod
    def _fjt_result(code: int, text: str) -> FollowJointTrajectory.Result:
        return FollowJointTrajectory.Result(error_code=code, error_string=text)

    @staticmethod
    def _empty_result(spec: ControllerSpec) -> Any:
        """What upstream sends with a cancelled goal: a default-constructed result."""
        types = {"trajectory": FollowJointTrajectory, "gripper": GripperCommand}
        return types.get(spec.role, ParallelGripperCommand).Result()

    def _gripper_result(
        self, name: str, position: float, effort: float, reached: bool, stalled: bool
    ) -> Any:
        if self._specs[name].role == "gripper":
            return GripperCommand.Result(
                position=position, effort=effort, reached_goal=reached, stalled=stalled
            )
        state = JointState(
            name=list(self._specs[name].joints), position=[position], effort=[effort]
        )
        return ParallelGripperCommand.Result(state=state, reached_goal=reached, stalled=stalled)

    # -- the update loop (only while a goal runs) ----------------------------------------------
    def _update(self) -> None:
        for goal, result in [c for c in self._cancelled if c[0].handle.is_cancel_requested]:
            self._cancelled.remove((goal, result))
            goal.done.set_result(("canceled", result))
        for name in list(self._goals):
            if name in self._trajectory:
                self._update_trajectory(name, self._goals[name])
            else:
                self._update_gripper(name, self._goals[name])
        if not self._goals and not self._cancelled:
            self._timer.cancel()

    def _update_trajectory(self, name: str, goal: _Goal) -> None:
        """The tolerance checks of JTC's ``update()`` for an action goal."""
        spec, tol = self._specs[name], goal.tolerances
        sample = self._trajectory[name].sample()
        before_end = sample.time_past_end is None
        # compute_error_for_joint: velocity errors only for velocity/effort command interfaces
        with_velocity = spec.interface in ("velocity", "effort")
        path_violated = outside_goal = False
        within_goal_time = True
        errors = []
        for i in range(len(spec.joints)):
            e_pos = sample.desired[i] - sample.actual[i]
            e_vel = (
                sample.desired_velocities[i] - sample.actual_velocities[i] if with_velocity else 0.0
            )
            errors.append((e_pos, e_vel))
            if (before_end or goal.first_sample) and not _within(e_pos, e_vel, tol.path[i]):
                path_violated = True
            if not before_end and not _within(e_pos, e_vel, tol.goal[i]):
                outside_goal = True
                if tol.goal_time != 0.0 and sample.time_past_end > tol.goal_time:
                    within_goal_time = False
        goal.first_sample = False
        goal.updates += 1
        if goal.updates % FEEDBACK_EVERY == 1:
            goal.handle.publish_feedback(self._feedback(spec, sample, errors))
        result = FollowJointTrajectory.Result
        if path_violated:
            self.log.warning(f"{name}: Aborted due to state tolerance violation")
            self._finish(
                name,
                "abort",
                self._fjt_result(
                    result.PATH_TOLERANCE_VIOLATED, "Aborted due to path tolerance violation"
                ),
            )
            self._trajectory[name].hold()
        elif not before_end and not outside_goal:
            self.log.info(f"{name}: Goal reached, success!")
            self._finish(
                name, "succeed", self._fjt_result(result.SUCCESSFUL, "Goal successfully reached!")
            )
        elif not before_end and not within_goal_time:
            text = (
                f"Aborted due to goal_time_tolerance exceeding by {sample.time_past_end:f} seconds"
            )
            self.log.warning(f"{name}: {text}")
            self._finish(name, "abort", self._fjt_result(result.GOAL_TOLERANCE_VIOLATED, text))
            self._trajectory[name].hold()
        # else: wait; with goal_time 0 upstream waits forever for the goal tolerance

    def _feedback(
        self, spec: ControllerSpec, sample: TrajectorySample, errors: list[tuple[float, float]]
    ) -> FollowJointTrajectory.Feedback:
        feedback = FollowJointTrajectory.Feedback(joint_names=list(spec.joints))
        feedback.header.stamp = self.node.get_clock().now().to_msg()
        feedback.desired = JointTrajectoryPoint(
            positions=list(sample.desired), velocities=list(sample.desired_velocities)
        )
        feedback.actual = JointTrajectoryPoint(
            positions=list(sample.actual), velocities=list(sample.actual_velocities)
        )
        feedback.error = JointTrajectoryPoint(
            positions=[e[0] for e in errors], velocities=[e[1] for e in errors]
        )
        return feedback

    def _update_gripper(self, name: str, goal: _Goal) -> None:
        """``check_for_success`` of the gripper action controllers."""
        executor = self._gripper[name]
        params = executor.params
        position, velocity, effort = executor.sample()
        if abs(goal.target - position) < params.goal_tolerance:
            self._finish(name, "succeed", self._gripper_result(name, position, effort, True, False))
            return
        now = self._now()
        if abs(velocity) > params.stall_velocity_threshold:
            goal.last_movement = now
        elif now - goal.last_movement > params.stall_timeout:
            outcome = "succeed" if params.allow_stalling else "abort"
            self.log.info(f"{name}: Stall detected moving to goal: {outcome}")
            self._finish(name, outcome, self._gripper_result(name, position, effort, False, True))


# ----------------------------------------------------------------------------------------------
# Standalone: python -m maniskill_real.benches.controller_manager --ros-args -p robot_config:=...
# ----------------------------------------------------------------------------------------------
PARAMETERS: dict[str, object] = {
    "robot_config": "panda",
    "extra_controllers": "",  # YAML file, see load_extra_controllers
    "inactive_controllers": Parameter.Type.STRING_ARRAY,
    "unloaded_controllers": Parameter.Type.STRING_ARRAY,
    "stuck_joints": Parameter.Type.STRING_ARRAY,  # joints of the ideal model that never move
}


def main(args: list[str] | None = None) -> None:
    """The emulator alone, over ideal controllers (benches/ideal_controllers.py), until SIGINT
    or SIGTERM."""
    from maniskill_real.benches.ideal_controllers import ideal_executors

    ros = RosNode("controller_manager_emulator", cli_args=sys.argv if args is None else args)
    try:
        p: dict[str, Any] = {}
        for name, default in PARAMETERS.items():
            ros.node.declare_parameter(name, default)
            try:
                p[name] = ros.node.get_parameter(name).value
            except ParameterUninitializedException:
                p[name] = []
        config = load_robot_config(str(p["robot_config"]))
        extra, active_extra = (
            load_extra_controllers(Path(p["extra_controllers"]))
            if p["extra_controllers"]
            else ([], [])
        )
        specs, active = bringup(
            config, extra, active_extra, p["inactive_controllers"], p["unloaded_controllers"]
        )
        trajectory, gripper = ideal_executors(specs, p["stuck_joints"], ros.now_ns)
        manager = ControllerManagerEmulator(
            ros, specs, active, config.namespace, trajectory, gripper
        )
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        manager.log.info(
            f"emulating {manager.node.get_fully_qualified_name()}: "
            + ", ".join(
                f"{s.name} ({s.type}, {'active' if s.name in active else 'inactive'})"
                for s in specs
            )
        )
        stop.wait()
    finally:
        ros.close()


if __name__ == "__main__":
    main()
