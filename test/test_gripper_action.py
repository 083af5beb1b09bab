"""A gripper on a ``gripper_action_controller``: RealEnv sends the part's target as a
control_msgs/GripperCommand goal on ``<ctrl>/gripper_cmd`` (only when it moved, never waiting),
holds with a goal at the measured position, and resets through a goal whose result it checks.

Faked, because it cannot exist here: ros2_control and ros2_controllers' GripperActionController
(no wheel). ``mock_hardware`` (its own process) serves an emulated controller_manager whose
``gripper_cmd`` server follows upstream's goal, preempt, reached and stall rules
(``benches/controller_manager.py``) and writes the goal into its controller emulator;
``sim_robot`` does the same in front of ManiSkill's physics. RealEnv
runs in this process; a recorder node here reads the action's status topic, /joint_states and
list_controllers over DDS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from action_msgs.msg import GoalStatus, GoalStatusArray
from control_msgs.action import GripperCommand
from controller_manager_msgs.srv import ListControllers
from ros_helpers import RECORD_QOS, policy_env, wait_for_no_subscriber, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from maniskill_real.config import load_robot_config
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import ConfigError
from maniskill_real.ros.controllers import GRIPPER_TYPE, PARALLEL_GRIPPER_TYPE, GoalClient
from maniskill_real.ros.node import RosNode
from maniskill_real.tools.processes import RobotProcess

LEASE_S = 30.0  # s: Fast DDS forgets a killed participant after its 20 s lease
REPO = Path(__file__).resolve().parents[1]
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
REST = [0.0, np.pi / 8, 0.0, -5 * np.pi / 8, 0.0, 3 * np.pi / 4, np.pi / 4, 0.04, 0.04]
TIMEOUT = 20.0
STATUS = "/gripper_controller/gripper_cmd/_action/status"
GRIPPER = {
    "name": "gripper_controller",
    "kind": "gripper_action_controller",
    "joints": FINGERS,
    "mimic": True,
    "max_effort": 70.0,
}


def write_config(folder: Path, name: str, gripper: dict[str, Any]) -> Path:
    """panda.yaml with the safety layer wide open (not what this checks) and ``gripper``."""
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    raw["safety"] = {"blend_in_steps": 1, "max_tracking_error": 100.0, "watchdog_timeout": 0}
    raw.pop("robot_limits")
    raw["controllers"]["gripper"] = gripper
    raw["objects"] = {"cube": {"sim_belief": True}}  # the mock has no world
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "key", "why"),
    [
        ({"mimic": False}, "controllers.gripper.joints", "exactly one joint"),
        ({"max_effort": -1.0}, "controllers.gripper.max_effort", "N >= 0"),
        ({"max_effort": "strong"}, "controllers.gripper.max_effort", "N >= 0"),
        ({"interface": "velocity"}, "controllers.gripper.interface", "commands positions"),
        ({"reset_controller": "r"}, "controllers.gripper.reset_controller", "through its action"),
        ({"mimic": 1}, "controllers.gripper.mimic", "true or false"),
    ],
)
def test_bad_gripper_config_names_file_and_key(
    tmp_path: Path, edit: dict[str, Any], key: str, why: str
) -> None:
    path = write_config(tmp_path, "bad", GRIPPER | edit)
    with pytest.raises(ConfigError, match=why) as err:
        load_robot_config(path)
    assert str(path) in str(err.value) and f"key '{key}'" in str(err.value)


def test_a_forward_controller_takes_no_gripper_keys(tmp_path: Path) -> None:
    """max_effort and mimic belong to the gripper kind only: elsewhere an unknown key."""
    path = write_config(
        tmp_path, "bad", GRIPPER | {"kind": "forward_command_controller", "mimic": True}
    )
    with pytest.raises(ConfigError, match="unknown key"):
        load_robot_config(path)


def test_one_joint_or_mimic_loads(tmp_path: Path) -> None:
    one = load_robot_config(write_config(tmp_path, "one", GRIPPER | {"joints": FINGERS[:1]}))
    two = load_robot_config(write_config(tmp_path, "two", GRIPPER))
    assert one.controllers["gripper"].command_topic == "gripper_controller/gripper_cmd"
    assert (two.controllers["gripper"].mimic, two.controllers["gripper"].max_effort) == (True, 70.0)


# ---------------------------------------------------------------------------------------------
# RealEnv on mock_hardware
# ---------------------------------------------------------------------------------------------
class Recorder:
    """This process's recorder: the gripper action's status topic and /joint_states."""

    def __init__(self) -> None:
        self.ros = RosNode("test_gripper_recorder")
        self._lock = threading.Lock()
        self.status: dict[bytes, int] = {}
        """goal id -> its newest status, in order of first appearance."""
        self.joint_states: list[JointState] = []
        self.ros.subscribe(GoalStatusArray, STATUS, self._on_status, RECORD_QOS)
        self.ros.subscribe(JointState, "/joint_states", self._on_joints, RECORD_QOS)

    def _on_status(self, msg: GoalStatusArray) -> None:
        with self._lock:
            for s in msg.status_list:
                self.status[bytes(s.goal_info.goal_id.uuid)] = s.status

    def _on_joints(self, msg: JointState) -> None:
        with self._lock:
            self.joint_states.append(msg)

    def goals(self) -> list[int]:
        with self._lock:
            return list(self.status.values())

    def fingers(self) -> np.ndarray:
        """Both fingers' positions in a /joint_states that arrives from now on."""
        with self._lock:
            mark = len(self.joint_states)
        wait_until(lambda: len(self.joint_states) > mark, TIMEOUT, "/joint_states")
        with self._lock:
            msg = self.joint_states[-1]
        by_name = dict(zip(msg.name, msg.position, strict=True))
        return np.array([by_name[j] for j in FINGERS])

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(params=["gripper_action_controller", "parallel_gripper_action_controller"])
def robot(
    start_robot: Callable[..., RobotProcess], tmp_path: Path, request: pytest.FixtureRequest
) -> Path:
    """mock_hardware with a small first-order lag, the gripper on its action controller
    (GripperCommand, or ParallelGripperCommand)."""
    config = write_config(tmp_path, "gripper", GRIPPER | {"kind": request.param})
    start_robot(
        "mock_hardware",
        robot_config=str(config),
        time_constant=0.02,
        command_delay=0.0,
        publish_camera=False,
        initial_positions=list(reversed(REST[:7] + [0.02, 0.02])),
    )
    return config


def test_reset_steps_and_hold_through_gripper_goals(robot: Path, recorder: Recorder) -> None:
    """reset() sends one goal (fingers from 0.02 to ManiSkill's open 0.04) and waits for its
    SUCCEEDED result; closing steps send goals only while the target moves (the same target
    sends none: a goal per step would preempt the running one), and the fingers follow to the
    last goal; close() holds with one more goal at the measured position. The controller is
    listed as GripperActionController and nothing subscribes to a gripper command topic."""
    env = RealEnv(policy_env("pd_joint_delta_pos"), robot_config=robot, scene_reset="none")
    try:
        command = env.agent.commands["gripper"]
        env.reset(seed=0)
        assert command.sent == 1
        assert np.allclose(recorder.fingers(), 0.04, atol=0.02)  # reset.tolerance
        wait_until(lambda: recorder.goals() == [GoalStatus.STATUS_SUCCEEDED], TIMEOUT, "reset goal")

        close = np.zeros(8)
        close[-1] = -1.0  # the gripper's pd_joint_pos mimic action: fully closed
        # The safety layer may clip the closing target per step while the fingers move, so
        # goals go out until it stands; from then on, steps send none.
        quiet = 0
        for _ in range(200):
            before = command.sent
            env.step(close)
            quiet = quiet + 1 if command.sent == before else 0
            if quiet == 5:
                break
        sent = command.sent
        assert quiet == 5, "an unchanged target sends no goal"
        assert sent > 1, "the closing target sent goals"
        last = command.last_goal
        wait_until(lambda: len(recorder.goals()) == sent, TIMEOUT, "every goal's status")
        wait_until(
            lambda: np.allclose(recorder.fingers(), last, atol=1e-3), TIMEOUT, "fingers at goal"
        )
        goals = recorder.goals()
        assert goals[-1] == GoalStatus.STATUS_SUCCEEDED
        assert all(g in (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_CANCELED) for g in goals)

        listed = recorder.ros.call_until_answered(
            ListControllers,
            "/controller_manager/list_controllers",
            ListControllers.Request(),
            TIMEOUT,
        )
        gripper = next(c for c in listed.controller if c.name == "gripper_controller")
        types = {"gripper_action_controller": GRIPPER_TYPE}
        expected = types.get(command.controller.kind, PARALLEL_GRIPPER_TYPE)
        assert (gripper.type, gripper.state) == (expected, "active")
        assert list(gripper.claimed_interfaces) == ["panda_finger_joint1/position"]
        # A robot killed by an earlier test stays in the DDS graph until its lease ends (Fast
        # DDS: 20 s): wait that out before saying nothing subscribes.
        wait_for_no_subscriber(recorder.ros.node, "/gripper_controller/commands", LEASE_S)
        before = recorder.fingers()
    finally:
        env.close()
    assert command.sent == sent + 1, "close() holds with one goal"
    wait_until(lambda: len(recorder.goals()) == sent + 1, TIMEOUT, "the hold goal's status")
    wait_until(lambda: recorder.goals()[-1] == GoalStatus.STATUS_SUCCEEDED, TIMEOUT, "hold reached")
    assert np.allclose(recorder.fingers(), before, atol=1e-3)


def test_topic_commands_do_not_move_the_gripper(robot: Path, recorder: Recorder) -> None:
    """A Float64MultiArray on the forward controller's topic reaches nothing: the gripper
    takes goals only, as upstream's GripperActionController (it subscribes to no topic)."""
    before = recorder.fingers()
    wait_for_no_subscriber(recorder.ros.node, "/gripper_controller/commands", LEASE_S)
    pub = recorder.ros.publisher(Float64MultiArray, "/gripper_controller/commands")
    pub.publish(Float64MultiArray(data=[0.0, 0.0]))
    # /joint_states from mock_hardware: it is up; the fingers stay where they were.
    for _ in range(20):
        assert np.allclose(recorder.fingers(), before, atol=1e-9)


def test_sim_robot_executes_gripper_goals(
    start_robot: Callable[..., RobotProcess], tmp_path: Path, recorder: Recorder
) -> None:
    """sim_robot (ManiSkill physics) with the gripper on its action controller: a goal from this
    process closes both fingers (the second mimics the first) until the result says
    reached_goal; a second goal opens them again."""
    config = write_config(tmp_path, "gripper", GRIPPER)
    start_robot("sim_robot", robot_config=str(config), seed=0, camera_rate=1.0)
    client = GoalClient(recorder.ros, GripperCommand, "/gripper_controller/gripper_cmd")
    try:
        for target in (0.01, 0.035):
            goal = GripperCommand.Goal()
            goal.command.position, goal.command.max_effort = target, 70.0
            handle = client.send(goal, TIMEOUT)
            status, result = client.result(handle, TIMEOUT)
            assert (status, result.reached_goal) == (GoalStatus.STATUS_SUCCEEDED, True)
            assert abs(result.position - target) < 0.01  # the default goal_tolerance
            assert np.allclose(recorder.fingers(), target, atol=0.01)
    finally:
        client.close()


def test_mimic_needs_a_mimic_sim_controller(tmp_path: Path) -> None:
    """'mimic: true' maps the sim part's first joint to the goal's position: a sim gripper part
    that drives its joints independently (a plain PDJointPosController) is refused, naming the
    file; the panda's own PDJointPosMimicController passes."""
    from types import SimpleNamespace

    from mani_skill.agents.controllers.pd_joint_pos import (
        PDJointPosController,
        PDJointPosMimicController,
    )

    from maniskill_real.env import sim_bridge

    config = load_robot_config(write_config(tmp_path, "gripper", GRIPPER))

    def agent(cls: type) -> Any:
        part = SimpleNamespace(controller_cls=cls, interpolate=False)
        return SimpleNamespace(_controller_configs={"m": {"gripper": part}})

    assert sim_bridge._mode_problem(agent(PDJointPosMimicController), "m", config) == ""
    problem = sim_bridge._mode_problem(agent(PDJointPosController), "m", config)
    assert "mimic joints" in problem and str(config.path) in problem
