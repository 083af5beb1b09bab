"""The controller_manager as a client sees it: check that the configured controllers run as the
config says, switch controllers (STRICT), and run FollowJointTrajectory goals.

Service and action names, types and semantics are ros2_control's (jazzy):
ros-controls/ros2_control ``controller_manager/src/controller_manager.cpp`` serves
``<namespace>/controller_manager/list_controllers`` and ``.../switch_controller``; each
joint_trajectory_controller serves ``<namespace>/<controller>/follow_joint_trajectory``
(ros-controls/ros2_controllers ``joint_trajectory_controller/src/joint_trajectory_controller.cpp``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from builtin_interfaces.msg import Duration
from control_msgs.action import FollowJointTrajectory
from control_msgs.msg import JointTolerance
from controller_manager_msgs.srv import ListControllers, SwitchController
from rclpy.action import ActionClient
from trajectory_msgs.msg import JointTrajectory
from unique_identifier_msgs.msg import UUID

from maniskill_real.config import ControllerConfig, RobotConfig, resolve_topic
from maniskill_real.errors import ConfigError, ControllerError, TopicTimeoutError
from maniskill_real.ros.node import RosNode

JTC_TYPE = "joint_trajectory_controller/JointTrajectoryController"
FORWARD_TYPE = "forward_command_controller/ForwardCommandController"
GRIPPER_TYPE = "position_controllers/GripperActionController"
"""ros2_controllers gripper_controllers/gripper_action_controller_plugin.xml (position
interface); its action ``<controller>/gripper_cmd`` takes control_msgs/GripperCommand."""
PARALLEL_GRIPPER_TYPE = "parallel_gripper_action_controller/GripperActionController"
"""ros2_controllers parallel_gripper_controller/parallel_gripper_action_controller.xml; its
``<controller>/gripper_cmd`` takes control_msgs/ParallelGripperCommand."""


def group_type(interface: str) -> str:
    """The forward controller fixed to one interface, e.g.
    ``position_controllers/JointGroupPositionController`` (ros2_controllers'
    ``{position,velocity,effort}_controllers/*_plugins.xml``)."""
    return f"{interface}_controllers/JointGroup{interface.capitalize()}Controller"


def accepted_types(controller: ControllerConfig) -> tuple[str, ...]:
    """The controller types (pluginlib class names, as ListControllers reports them) that take
    the commands RealEnv sends a configured controller: a trajectory on ``joint_trajectory``,
    or a ``Float64MultiArray`` on ``commands`` (ForwardCommandController, or the JointGroup
    controller of the same interface, a ForwardCommandController with the interface fixed)."""
    if controller.kind == "joint_trajectory_controller":
        return (JTC_TYPE,)
    if controller.kind == "gripper_action_controller":
        return (GRIPPER_TYPE,)
    if controller.kind == "parallel_gripper_action_controller":
        return (PARALLEL_GRIPPER_TYPE,)
    return (FORWARD_TYPE, group_type(controller.interface))


def manager_service(namespace: str, service: str, manager: str = "controller_manager") -> str:
    """``/<namespace>/<manager>/<service>``: where ros2_control_node serves it (an absolute
    ``manager`` ignores the namespace)."""
    return resolve_topic(f"{manager}/{service}", "/" + namespace.strip("/"))


def _claims_problem(controller: ControllerConfig, state: Any) -> str | None:
    """What is wrong with the command interfaces the controller claims (active) or would claim
    (inactive), or None. A forward controller's order matters: its command array is in it."""
    active = state.state == "active"
    claims = list(state.claimed_interfaces if active else state.required_command_interfaces)
    # A gripper action controller claims its one joint; the config's others mimic it.
    joints = controller.joints[:1] if controller.mimic else controller.joints
    want = [f"{joint}/{controller.interface}" for joint in joints]
    verb = "claims" if active else "would claim"
    if controller.kind == "forward_command_controller" and set(claims) == set(want):
        if claims == want:
            return None
        return (
            f"{verb} {claims}, the config's joints in another order {want}: its command array "
            "would reach the wrong joints"
        )
    if set(claims) == set(want) and len(claims) == len(want):
        return None
    missing = [c for c in want if c not in claims]
    extra = [c for c in claims if c not in want]
    details = [f"missing {missing}"] * bool(missing) + [f"not in the config {extra}"] * bool(extra)
    return (
        f"{verb} {claims}, but the config's joints and interface need {want} ({'; '.join(details)})"
    )


def controller_problems(config: RobotConfig, listed: Sequence[Any]) -> list[str]:
    """One line per configured controller that is not loaded, not active, of a type that does
    not take RealEnv's commands, or claiming other joints or interfaces than configured; and
    per reset controller (``controllers.<part>.reset_controller``) that is not loaded, not a
    joint_trajectory_controller on the part's joints, or active already (reset() activates it
    itself, STRICT, in place of the part's controller)."""
    by_name = {state.name: state for state in listed}
    problems = []
    for part, controller in config.controllers.items():
        problems += _problems(f"controllers.{part}", controller, by_name, "active")
    for part, controller in config.reset_controllers().items():
        key = f"controllers.{part}.reset_controller"
        problems += _problems(key, controller, by_name, "inactive")
    return problems


def _problems(
    key: str, controller: ControllerConfig, by_name: Mapping[str, Any], expected: str
) -> list[str]:
    state = by_name.get(controller.name)
    if state is None:
        loaded = sorted(by_name) or "none"
        return [f"{key}: '{controller.name}' is not loaded (loaded: {loaded})"]
    problems = []
    if state.state != expected:
        why = "" if expected == "active" else ": reset() switches to it and back itself"
        problems.append(f"{key}: '{controller.name}' is {state.state}, not {expected}{why}")
    types = accepted_types(controller)
    if state.type not in types:
        problems.append(
            f"{key}: '{controller.name}' is a {state.type}, but kind {controller.kind} "
            f"({controller.interface}) needs {' or '.join(types)}"
        )
    claims = _claims_problem(controller, state)
    if claims:
        problems.append(f"{key}: '{controller.name}' {claims}")
    return problems


def check_controllers(ros: RosNode, config: RobotConfig, timeout: float) -> None:
    """Ask the controller_manager for its controllers; raise ControllerError naming every
    configured controller that is not loaded, not active, of the wrong type or claiming other
    joints or interfaces. RealEnv checks at every reset(), before anything is commanded."""
    assert config.controller_manager is not None, "a robot without controller_manager"
    service = manager_service(config.namespace, "list_controllers", config.controller_manager)
    try:
        response = ros.call_until_answered(
            ListControllers, service, ListControllers.Request(), timeout
        )
    except TopicTimeoutError as e:
        raise ControllerError(
            f"no controller_manager answered {service} within {timeout:.1f} s: is "
            f"ros2_control_node running in namespace '{config.namespace}'? (a robot without "
            f"one: 'controller_manager: null' in {config.path})"
        ) from e
    problems = controller_problems(config, response.controller)
    if problems:
        raise ControllerError(
            f"the controllers in {service} are not as {config.path} configures them:\n  "
            + "\n  ".join(problems),
            problems,
        )


def switch_controllers(
    ros: RosNode,
    activate: Sequence[str],
    deactivate: Sequence[str],
    timeout: float,
    namespace: str = "",
    manager: str = "controller_manager",
) -> None:
    """Deactivate, then activate controllers in one controller_manager update, STRICT: all or
    nothing. Raise ControllerError with the controller_manager's message when it refuses."""
    # A lost answer can't be retried (STRICT would then refuse "already active"): first a
    # call that changes nothing, until the controller_manager answers this process.
    listing = manager_service(namespace, "list_controllers", manager)
    try:
        ros.call_until_answered(ListControllers, listing, ListControllers.Request(), timeout)
    except TopicTimeoutError as e:
        raise ControllerError(
            f"no controller_manager answered {listing} within {timeout:.1f} s"
        ) from e
    service = manager_service(namespace, "switch_controller", manager)
    request = SwitchController.Request(
        activate_controllers=list(activate),
        deactivate_controllers=list(deactivate),
        strictness=SwitchController.Request.STRICT,
        # How long the controller_manager waits for its update loop: half of ours, so that
        # its "Switch controller timed out" answer reaches us.
        timeout=_duration(timeout / 2),
    )
    try:
        response = ros.call(SwitchController, service, request, timeout)
    except TopicTimeoutError as e:
        raise ControllerError(
            f"{service} did not answer within {timeout:.1f} s: the switch may or may not have "
            "happened; list_controllers tells"
        ) from e
    if not response.ok:
        raise ControllerError(
            f"{service} refused (activate {list(activate)}, deactivate {list(deactivate)}, "
            f"STRICT): {response.message.strip()}"
        )


def _duration(seconds: float) -> Duration:
    ns = round(seconds * 1e9)
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


RESULT_CODES = {
    getattr(FollowJointTrajectory.Result, name): name
    for name in (
        "SUCCESSFUL",
        "INVALID_GOAL",
        "INVALID_JOINTS",
        "OLD_HEADER_TIMESTAMP",
        "PATH_TOLERANCE_VIOLATED",
        "GOAL_TOLERANCE_VIOLATED",
    )
}
STATUS_NAMES = {
    GoalStatus.STATUS_UNKNOWN: "UNKNOWN",
    GoalStatus.STATUS_ACCEPTED: "ACCEPTED",
    GoalStatus.STATUS_EXECUTING: "EXECUTING",
    GoalStatus.STATUS_CANCELING: "CANCELING",
    GoalStatus.STATUS_SUCCEEDED: "SUCCEEDED",
    GoalStatus.STATUS_CANCELED: "CANCELED",
    GoalStatus.STATUS_ABORTED: "ABORTED",
}


class GoalClient:
    """Goals on one action server, sent from any thread but the executor's: send, wait for
    the result, cancel. A goal whose acceptance never arrives is cancelled by its id, since
    the server may be executing it."""

    def __init__(self, ros: RosNode, action_type: Any, action: str) -> None:
        self.ros = ros
        self.action = action
        self._type = action_type
        self._client = ActionClient(ros.node, action_type, action)
        self.reached = False

    def reach(self, timeout: float) -> None:
        """Wait for the server, then one round trip on its result service for an unknown goal
        (answered STATUS_UNKNOWN, changes nothing), so the server has matched this process
        before a goal's acceptance can be lost (see ``RosNode.call_until_answered``)."""
        if not self._client.wait_for_server(timeout_sec=timeout):
            raise ControllerError(f"no action server {self.action} within {timeout:.1f} s")
        request = self._type.Impl.GetResultService.Request(goal_id=UUID(uuid=list(uuid4().bytes)))
        try:
            self.ros.call_until_answered(
                self._type.Impl.GetResultService,
                f"{self.action}/_action/get_result",
                request,
                timeout,
            )
        except TopicTimeoutError as e:
            raise ControllerError(f"{self.action} does not answer within {timeout:.1f} s") from e
        self.reached = True

    def send_goal_async(self, goal: Any) -> Any:
        """Send a goal without waiting for its answer; on the executor thread only (see
        ``RosNode.in_executor``), after ``reach``."""
        return self._client.send_goal_async(goal)

    def send(self, goal: Any, timeout: float) -> Any:
        """Send a goal; return its handle once accepted. Raise ControllerError when there is no
        server, it rejects the goal, or its answer does not come (the goal is then cancelled)."""
        if not self.reached:
            self.reach(timeout)
        goal_id = UUID(uuid=list(uuid4().bytes))
        future = self.ros.in_executor(
            lambda: self._client.send_goal_async(goal, goal_uuid=goal_id), timeout
        )
        if not self.ros.wait_for(future, timeout):
            request = CancelGoal.Request()
            request.goal_info.goal_id = goal_id
            try:
                self.ros.call_until_answered(
                    CancelGoal, f"{self.action}/_action/cancel_goal", request, timeout
                )
                outcome = "cancelled it"
            except TopicTimeoutError:
                outcome = "could not cancel it either"
            raise ControllerError(
                f"{self.action} did not answer a goal within {timeout:.1f} s; it may have started "
                f"it: {outcome}"
            )
        handle = future.result()
        if not handle.accepted:
            raise ControllerError(
                f"{self.action} rejected the goal: the controller is not active, or it refuses "
                "the goal (its log says why)"
            )
        return handle

    def result(self, handle: Any, timeout: float) -> tuple[int, Any]:
        """(status, result) of a goal; on timeout, cancel it and raise ControllerError."""
        future = self.ros.in_executor(handle.get_result_async, timeout)
        if not self.ros.wait_for(future, timeout):
            self.cancel(handle, timeout)
            raise ControllerError(f"{self.action}: no result within {timeout:.1f} s; cancelled")
        response = future.result()
        return response.status, response.result

    def cancel(self, handle: Any, timeout: float) -> None:
        """Cancel a goal (a trajectory controller then holds the measured position). Raise
        ControllerError unless the server cancels it or it had finished already."""
        future = self.ros.in_executor(handle.cancel_goal_async, timeout)
        if not self.ros.wait_for(future, timeout):
            raise ControllerError(f"{self.action}: cancel not answered within {timeout:.1f} s")
        code = future.result().return_code
        if code not in (CancelGoal.Response.ERROR_NONE, CancelGoal.Response.ERROR_GOAL_TERMINATED):
            raise ControllerError(f"{self.action}: cancel refused (CancelGoal return code {code})")

    def close(self) -> None:
        self._client.destroy()


class TrajectoryClient(GoalClient):
    """FollowJointTrajectory goals for one joint_trajectory_controller."""

    def __init__(self, ros: RosNode, controller: str, namespace: str = "") -> None:
        ns = namespace.strip("/")
        action = f"{'/' + ns if ns else ''}/{controller}/follow_joint_trajectory"
        super().__init__(ros, FollowJointTrajectory, action)

    def send_trajectory(
        self,
        trajectory: JointTrajectory,
        goal_tolerance: Mapping[str, float],
        goal_time_tolerance: float,
        timeout: float,
        path_tolerance: Mapping[str, float] | None = None,
    ) -> Any:
        """Send a trajectory goal; return its handle once the controller accepted it.

        ``goal_tolerance``/``path_tolerance``: joint -> position tolerance (rad or m, > 0); a
        joint left out keeps the controller's default, which is 0: unchecked.
        ``goal_time_tolerance`` (s, > 0): how long after the trajectory's end the joints may
        take to be within ``goal_tolerance``; upstream waits forever when it is 0.
        """
        for key, values in (
            ("goal_tolerance", goal_tolerance),
            ("path_tolerance", path_tolerance or {}),
        ):
            for joint, value in values.items():
                if not (math.isfinite(value) and value > 0):
                    raise ConfigError(f"{key}[{joint}] must be a finite number > 0, got {value}")
        if not (math.isfinite(goal_time_tolerance) and goal_time_tolerance > 0):
            raise ConfigError(
                f"goal_time_tolerance must be a finite number > 0 s, got {goal_time_tolerance}"
            )
        goal = FollowJointTrajectory.Goal(
            trajectory=trajectory,
            goal_tolerance=[JointTolerance(name=j, position=v) for j, v in goal_tolerance.items()],
            path_tolerance=[
                JointTolerance(name=j, position=v) for j, v in (path_tolerance or {}).items()
            ],
            goal_time_tolerance=_duration(goal_time_tolerance),
        )
        return self.send(goal, timeout)

    def wait(self, handle: Any, timeout: float) -> FollowJointTrajectory.Result:
        """The result of a goal that reached its goal tolerance. Raise ControllerError naming
        the status, error code and error string otherwise; on timeout, cancel first."""
        status, result = self.result(handle, timeout)
        if status == GoalStatus.STATUS_SUCCEEDED and result.error_code == result.SUCCESSFUL:
            return result
        code = RESULT_CODES.get(result.error_code, str(result.error_code))
        raise ControllerError(
            f"{self.action}: goal {STATUS_NAMES.get(status, status)}, "
            f"{code}: {result.error_string or '(no error string)'}"
        )
