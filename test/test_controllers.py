"""Controllers as ros2_control runs them: list_controllers checks, STRICT switches and
FollowJointTrajectory / GripperCommand goals, between real processes over real DDS.

Faked, because it cannot exist here: ros2_control itself (no wheel; it needs rclcpp). The
controller_manager and its controllers' action servers are the emulator in
``maniskill_real/benches/controller_manager.py``, run as its own process
(``python -m maniskill_real.benches.controller_manager``) over ideal joints
(``benches/ideal_controllers.py``: joints follow exactly, "stuck" joints never move). Everything
this process does goes through the real services and actions (controller_manager_msgs,
control_msgs built from upstream's definitions) with maniskill_real's client code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from action_msgs.msg import GoalStatus
from builtin_interfaces.msg import Duration
from control_msgs.action import FollowJointTrajectory, GripperCommand
from controller_manager_msgs.srv import ListControllers, SwitchController
from ros_helpers import wait_until
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import load_robot_config
from maniskill_real.errors import ControllerError
from maniskill_real.ros.controllers import (
    GoalClient,
    TrajectoryClient,
    check_controllers,
    switch_controllers,
)
from maniskill_real.ros.node import RosNode
from maniskill_real.tools.processes import RobotProcess

EMULATOR = "maniskill_real.benches.controller_manager"
PANDA = load_robot_config("panda")
ARM = list(PANDA.controllers["arm"].joints)
TIMEOUT = 10.0
LIST = "/controller_manager/list_controllers"
SWITCH = "/controller_manager/switch_controller"

# Loaded inactive next to panda.yaml's controllers, as a bringup spawns spare controllers.
EXTRA = """
arm_forward:
  type: position_controllers/JointGroupPositionController
  joints: [panda_joint1, panda_joint2, panda_joint3, panda_joint4, panda_joint5, panda_joint6,
           panda_joint7]
hand:
  type: position_controllers/GripperActionController
  joints: [panda_finger_joint1]
"""


@pytest.fixture(scope="module")
def ros() -> Iterator[RosNode]:
    node = RosNode("test_controllers")
    yield node
    node.close()


def _yaml(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _states(ros: RosNode) -> dict[str, tuple[str, list[str]]]:
    response = ros.call_until_answered(ListControllers, LIST, ListControllers.Request(), TIMEOUT)
    return {c.name: (c.state, list(c.claimed_interfaces)) for c in response.controller}


def _active(ros: RosNode) -> set[str]:
    return {name for name, (state, _) in _states(ros).items() if state == "active"}


def _trajectory(positions: list[float], seconds: float, joints: list[str] = ARM) -> JointTrajectory:
    return JointTrajectory(
        joint_names=joints,
        points=[
            JointTrajectoryPoint(
                positions=positions,
                time_from_start=Duration(sec=int(seconds), nanosec=int(seconds % 1 * 1e9)),
            )
        ],
    )


GOAL_TOLERANCE = dict.fromkeys(ARM, 0.01)


# ------------------------------------------------------------------------------------------------
# check_controllers
# ------------------------------------------------------------------------------------------------
class TestCheck:
    def test_panda_as_configured_passes(
        self, start_robot: Callable[..., RobotProcess], ros: RosNode
    ) -> None:
        start_robot(EMULATOR, robot_config="panda")
        check_controllers(ros, PANDA, TIMEOUT)

    def test_a_forward_controller_of_the_configured_interface_passes(
        self, start_robot: Callable[..., RobotProcess], ros: RosNode, tmp_path: Path
    ) -> None:
        extra = """
gripper_controller:
  type: position_controllers/JointGroupPositionController
  joints: [panda_finger_joint1, panda_finger_joint2]
  active: true
"""
        start_robot(EMULATOR, extra_controllers=_yaml(tmp_path, "x.yaml", extra))
        check_controllers(ros, PANDA, TIMEOUT)

    @pytest.mark.parametrize(
        ("params", "extra", "problem"),
        [
            (
                {"inactive_controllers": ["arm_controller"]},
                None,
                "controllers.arm: 'arm_controller' is inactive, not active",
            ),
            (
                {"unloaded_controllers": ["gripper_controller"]},
                None,
                "controllers.gripper: 'gripper_controller' is not loaded "
                "(loaded: ['arm_controller'])",
            ),
            (
                {},
                "arm_controller:\n  type: position_controllers/JointGroupPositionController\n"
                f"  joints: {ARM}\n  active: true\n",
                "controllers.arm: 'arm_controller' is a "
                "position_controllers/JointGroupPositionController, but kind "
                "joint_trajectory_controller (position) needs "
                "joint_trajectory_controller/JointTrajectoryController",
            ),
            (
                {},
                "gripper_controller:\n  type: forward_command_controller/ForwardCommandController\n"
                "  joints: [panda_finger_joint1]\n  active: true\n",
                "controllers.gripper: 'gripper_controller' claims ['panda_finger_joint1/position'],"
                " but the config's joints and interface need ['panda_finger_joint1/position', "
                "'panda_finger_joint2/position'] (missing ['panda_finger_joint2/position'])",
            ),
            (
                {},
                "gripper_controller:\n  type: forward_command_controller/ForwardCommandController\n"
                "  joints: [panda_finger_joint1, panda_finger_joint2]\n  interface: velocity\n"
                "  active: true\n",
                "controllers.gripper: 'gripper_controller' claims "
                "['panda_finger_joint1/velocity', 'panda_finger_joint2/velocity'], but the "
                "config's joints and interface need ['panda_finger_joint1/position', "
                "'panda_finger_joint2/position'] (missing ['panda_finger_joint1/position', "
                "'panda_finger_joint2/position']; not in the config "
                "['panda_finger_joint1/velocity', 'panda_finger_joint2/velocity'])",
            ),
            (
                {},
                "gripper_controller:\n  type: forward_command_controller/ForwardCommandController\n"
                "  joints: [panda_finger_joint2, panda_finger_joint1]\n  active: true\n",
                "controllers.gripper: 'gripper_controller' claims "
                "['panda_finger_joint2/position', 'panda_finger_joint1/position'], the config's "
                "joints in another order ['panda_finger_joint1/position', "
                "'panda_finger_joint2/position']: its command array would reach the wrong joints",
            ),
        ],
        ids=["inactive", "not-loaded", "wrong-type", "other-joints", "other-interface", "order"],
    )
    def test_names_what_is_wrong(
        self,
        start_robot: Callable[..., RobotProcess],
        ros: RosNode,
        tmp_path: Path,
        params: dict[str, object],
        extra: str | None,
        problem: str,
    ) -> None:
        if extra is not None:
            params = {**params, "extra_controllers": _yaml(tmp_path, "extra.yaml", extra)}
        start_robot(EMULATOR, **params)
        with pytest.raises(ControllerError) as e:
            check_controllers(ros, PANDA, TIMEOUT)
        assert e.value.problems == [problem]
        assert problem in str(e.value)

    def test_no_controller_manager_names_the_service(self, ros: RosNode, tmp_path: Path) -> None:
        config = load_robot_config(
            _yaml(tmp_path, "ghost.yaml", f"base: {PANDA.path}\nnamespace: ghost\n")
        )
        with pytest.raises(ControllerError, match="/ghost/controller_manager/list_controllers"):
            check_controllers(ros, config, 1.0)


# ------------------------------------------------------------------------------------------------
# switch_controller
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def spare(
    start_shared_robot: Callable[..., RobotProcess], tmp_path_factory: pytest.TempPathFactory
) -> RobotProcess:
    """panda.yaml's controllers active, arm_forward and hand loaded inactive."""
    extra = tmp_path_factory.mktemp("extra") / "extra.yaml"
    extra.write_text(EXTRA)
    return start_shared_robot(EMULATOR, extra_controllers=str(extra))


CONFIGURED = {"arm_controller", "gripper_controller"}


@pytest.mark.usefixtures("spare")
class TestSwitch:
    def test_swap_claims_and_releases(self, ros: RosNode) -> None:
        assert _active(ros) == CONFIGURED
        switch_controllers(ros, ["arm_forward"], ["arm_controller"], TIMEOUT)
        states = _states(ros)
        assert states["arm_forward"] == ("active", [f"{j}/position" for j in ARM])
        assert states["arm_controller"] == ("inactive", [])
        with pytest.raises(ControllerError, match="'arm_controller' is inactive, not active"):
            check_controllers(ros, PANDA, TIMEOUT)
        switch_controllers(ros, ["arm_controller"], ["arm_forward"], TIMEOUT)
        assert _active(ros) == CONFIGURED
        check_controllers(ros, PANDA, TIMEOUT)

    @pytest.mark.parametrize(
        ("activate", "deactivate", "message"),
        [
            (
                ["arm_forward"],
                [],
                "Unable to activate controller 'arm_forward' since the command interface "
                "'panda_joint1/position' is currently claimed by another controller.",
            ),
            (
                ["arm_forward", "nope"],
                ["arm_controller"],
                "Could not activate controller with name 'nope' because no controller with this "
                "name exists",
            ),
            (
                ["arm_forward", "gripper_controller"],
                ["arm_controller"],
                "Controller with name 'gripper_controller' is already active.",
            ),
            (
                ["hand"],
                ["arm_forward"],
                "Controller with name 'arm_forward' can not be deactivated since it is not active.",
            ),
        ],
        ids=["conflict", "unknown", "already-active", "not-active"],
    )
    def test_strict_refuses_and_switches_nothing(
        self, ros: RosNode, activate: list[str], deactivate: list[str], message: str
    ) -> None:
        before = _states(ros)
        with pytest.raises(ControllerError) as e:
            switch_controllers(ros, activate, deactivate, TIMEOUT)
        assert str(e.value).endswith(message)
        assert _states(ros) == before

    def test_best_effort_switches_what_it_can(self, ros: RosNode) -> None:
        """The same request that STRICT refuses ("unknown"): BEST_EFFORT skips the unknown name."""
        request = SwitchController.Request(
            activate_controllers=["arm_forward", "nope"],
            deactivate_controllers=["arm_controller"],
            strictness=SwitchController.Request.BEST_EFFORT,
        )
        try:
            response = ros.call(SwitchController, SWITCH, request, TIMEOUT)
            assert (response.ok, response.message) == (True, "Successfully switched controllers!")
            assert _active(ros) == {"arm_forward", "gripper_controller"}
        finally:
            request = SwitchController.Request(
                activate_controllers=["arm_controller"],
                deactivate_controllers=["arm_forward"],
                strictness=SwitchController.Request.STRICT,
            )
            assert ros.call(SwitchController, SWITCH, request, TIMEOUT).ok
        assert _active(ros) == CONFIGURED


# ------------------------------------------------------------------------------------------------
# FollowJointTrajectory and GripperCommand
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def arm(ros: RosNode) -> Iterator[TrajectoryClient]:
    client = TrajectoryClient(ros, "arm_controller")
    yield client
    client.close()


@pytest.mark.usefixtures("spare")
class TestTrajectoryAction:
    def test_goal_reached(self, arm: TrajectoryClient) -> None:
        handle = arm.send_trajectory(_trajectory([0.1] * 7, 0.3), GOAL_TOLERANCE, 1.0, TIMEOUT)
        result = arm.wait(handle, TIMEOUT)
        assert (result.error_code, result.error_string) == (0, "Goal successfully reached!")

    @pytest.mark.parametrize(
        ("trajectory", "reason"),
        [
            (
                _trajectory([0.2] * 3, 0.3, ARM[:3]),
                "Joints on incoming trajectory don't match the controller joints.",
            ),
            (JointTrajectory(joint_names=ARM), "Empty trajectory received."),
            (
                _trajectory([0.2] * 7, 0.3, [*ARM[:6], "panda_finger_joint1"]),
                "Incoming joint panda_finger_joint1 doesn't match the controller's joints.",
            ),
        ],
        ids=["partial", "no-points", "foreign-joint"],
    )
    def test_invalid_trajectory_is_rejected(
        self, spare: RobotProcess, arm: TrajectoryClient, trajectory: JointTrajectory, reason: str
    ) -> None:
        with pytest.raises(ControllerError, match="rejected the goal"):
            arm.send_trajectory(trajectory, GOAL_TOLERANCE, 1.0, TIMEOUT)
        wait_until(lambda: reason in spare.log(), TIMEOUT, f"'{reason}' in the emulator's log")

    def test_rejected_while_inactive(self, ros: RosNode, arm: TrajectoryClient) -> None:
        switch_controllers(ros, ["arm_forward"], ["arm_controller"], TIMEOUT)
        try:
            with pytest.raises(ControllerError, match="rejected the goal"):
                arm.send_trajectory(_trajectory([0.0] * 7, 0.3), GOAL_TOLERANCE, 1.0, TIMEOUT)
        finally:
            switch_controllers(ros, ["arm_controller"], ["arm_forward"], TIMEOUT)

    def test_new_goal_preempts(self, arm: TrajectoryClient) -> None:
        first = arm.send_trajectory(_trajectory([0.5] * 7, 30.0), GOAL_TOLERANCE, 1.0, TIMEOUT)
        second = arm.send_trajectory(_trajectory([0.2] * 7, 0.3), GOAL_TOLERANCE, 1.0, TIMEOUT)
        with pytest.raises(ControllerError) as e:
            arm.wait(first, TIMEOUT)
        assert str(e.value).endswith(
            "goal ABORTED, INVALID_GOAL: Current goal preempted by new incoming action."
        )
        assert arm.wait(second, TIMEOUT).error_code == FollowJointTrajectory.Result.SUCCESSFUL

    def test_cancel(self, arm: TrajectoryClient) -> None:
        handle = arm.send_trajectory(_trajectory([0.5] * 7, 30.0), GOAL_TOLERANCE, 1.0, TIMEOUT)
        arm.cancel(handle, TIMEOUT)
        with pytest.raises(ControllerError, match="goal CANCELED"):
            arm.wait(handle, TIMEOUT)

    def test_deactivation_aborts_the_goal(self, ros: RosNode, arm: TrajectoryClient) -> None:
        handle = arm.send_trajectory(_trajectory([0.5] * 7, 30.0), GOAL_TOLERANCE, 1.0, TIMEOUT)
        switch_controllers(ros, ["arm_forward"], ["arm_controller"], TIMEOUT)
        try:
            with pytest.raises(ControllerError) as e:
                arm.wait(handle, TIMEOUT)
            assert str(e.value).endswith(
                "goal ABORTED, INVALID_GOAL: Current goal cancelled during deactivate transition."
            )
        finally:
            switch_controllers(ros, ["arm_controller"], ["arm_forward"], TIMEOUT)


@pytest.fixture(scope="class")
def stuck(
    start_shared_robot: Callable[..., RobotProcess], tmp_path_factory: pytest.TempPathFactory
) -> RobotProcess:
    """Like ``spare``, over joints of which panda_joint4 and panda_finger_joint1 never move."""
    extra = tmp_path_factory.mktemp("extra") / "extra.yaml"
    extra.write_text(EXTRA)
    return start_shared_robot(
        EMULATOR,
        extra_controllers=str(extra),
        stuck_joints=["panda_joint4", "panda_finger_joint1"],
    )


@pytest.mark.usefixtures("stuck")
class TestStuckJoints:
    def test_goal_tolerance(self, arm: TrajectoryClient) -> None:
        handle = arm.send_trajectory(_trajectory([0.3] * 7, 0.3), GOAL_TOLERANCE, 0.2, TIMEOUT)
        with pytest.raises(ControllerError) as e:
            arm.wait(handle, TIMEOUT)
        assert "goal ABORTED, GOAL_TOLERANCE_VIOLATED: Aborted due to goal_time_tolerance " in str(
            e.value
        )

    def test_path_tolerance(self, arm: TrajectoryClient) -> None:
        handle = arm.send_trajectory(
            _trajectory([0.3] * 7, 3.0),
            GOAL_TOLERANCE,
            0.2,
            TIMEOUT,
            path_tolerance={"panda_joint4": 0.05},
        )
        with pytest.raises(ControllerError) as e:
            arm.wait(handle, TIMEOUT)
        assert str(e.value).endswith(
            "goal ABORTED, PATH_TOLERANCE_VIOLATED: Aborted due to path tolerance violation"
        )

    def test_without_a_goal_tolerance_the_stuck_joint_passes(self, arm: TrajectoryClient) -> None:
        """Upstream's default goal tolerances are 0, unchecked: a goal that sets none succeeds
        whatever the joints did. Why the client always sends goal tolerances."""
        handle = arm.send_trajectory(
            _trajectory([0.4] * 7, 0.3), {"panda_joint1": 0.01}, 0.2, TIMEOUT
        )
        assert arm.wait(handle, TIMEOUT).error_code == FollowJointTrajectory.Result.SUCCESSFUL

    def test_stalled_gripper_aborts(self, ros: RosNode) -> None:
        """gripper_action_controller: no movement for stall_timeout (1 s) short of the goal
        aborts (allow_stalling: false)."""
        client = GoalClient(ros, GripperCommand, "/hand/gripper_cmd")
        goal = GripperCommand.Goal()
        goal.command.position = 0.03
        switch_controllers(ros, ["hand"], ["gripper_controller"], TIMEOUT)
        try:
            status, result = client.result(client.send(goal, TIMEOUT), TIMEOUT)
            assert status == GoalStatus.STATUS_ABORTED
            assert result.stalled and not result.reached_goal
            assert result.position == 0.0
        finally:
            switch_controllers(ros, ["gripper_controller"], ["hand"], TIMEOUT)
            client.close()


@pytest.mark.usefixtures("spare")
class TestGripperAction:
    def test_goal_needs_the_gripper_controller_active(self, ros: RosNode) -> None:
        client = GoalClient(ros, GripperCommand, "/hand/gripper_cmd")
        goal = GripperCommand.Goal()
        goal.command.position = 0.03
        try:
            with pytest.raises(ControllerError, match="rejected the goal"):
                client.send(goal, TIMEOUT)  # hand is inactive
            switch_controllers(ros, ["hand"], ["gripper_controller"], TIMEOUT)
            try:
                status, result = client.result(client.send(goal, TIMEOUT), TIMEOUT)
                assert status == GoalStatus.STATUS_SUCCEEDED
                assert result.reached_goal and not result.stalled
                assert result.position == pytest.approx(0.03, abs=0.01)
            finally:
                switch_controllers(ros, ["gripper_controller"], ["hand"], TIMEOUT)
        finally:
            client.close()
