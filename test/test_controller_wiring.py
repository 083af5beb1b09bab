"""RealEnv and the robots' controller_manager: reset() checks the controllers before it sends
anything, and a part with a ``reset_controller`` resets through FollowJointTrajectory with
STRICT switches there and back.

Faked, because it cannot exist here: ros2_control itself (no wheel; it needs rclcpp). The
robots (``mock_hardware``, ``sim_robot``, each its own process) serve an emulated
controller_manager (``benches/controller_manager.py``: list/switch services, FollowJointTrajectory
servers) in front of their strict controller emulator (``benches/controller_emulator.py``);
RealEnv runs in this process and reaches them only over DDS, through the real services and
actions (controller_manager_msgs, control_msgs built from upstream's definitions). A probe node
here records the command topics and /joint_states and asks list_controllers.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from controller_manager_msgs.srv import ListControllers
from ros_helpers import RECORD_QOS, policy_env, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import load_robot_config
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import ConfigError, ControllerError, ResetError
from maniskill_real.ros.commands import duration_msg
from maniskill_real.ros.node import RosNode
from maniskill_real.tools.processes import RobotProcess

REPO = Path(__file__).resolve().parents[1]
ARM = [f"panda_joint{i}" for i in range(1, 8)]
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
# PickCube's initial qpos (the panda "rest" keyframe), sim joint order = ARM + FINGERS.
REST = [0.0, np.pi / 8, 0.0, -5 * np.pi / 8, 0.0, 3 * np.pi / 4, np.pi / 4, 0.04, 0.04]
TIMEOUT = 20.0
RESET = "arm_reset_controller"


def write_config(folder: Path, name: str, base: str = "panda", **edits: Any) -> Path:
    """A shipped config with the safety layer wide open (not what these tests check) and
    ``edits``: ``reset_controller`` for the arm, or top-level keys."""
    raw = yaml.safe_load((REPO / "config" / f"{base}.yaml").read_text())
    if "base" in raw:
        raw = {**yaml.safe_load((REPO / "config" / raw.pop("base")).read_text()), **raw}
    raw["safety"] = {"blend_in_steps": 1, "max_tracking_error": 100.0, "watchdog_timeout": 0}
    raw.pop("robot_limits")
    raw.setdefault("objects", {"cube": {"sim_belief": True}})  # mock_hardware has no world
    reset_controller = edits.pop("reset_controller", None)
    if reset_controller:
        raw["controllers"]["arm"]["reset_controller"] = reset_controller
    for key, value in edits.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def mock_params(config: Path, **overrides: object) -> dict[str, object]:
    """An ideal mock (no lag, no delay) at PickCube's rest pose, in its joint order (the
    config's controlled joints, reversed)."""
    params: dict[str, object] = {
        "robot_config": str(config),
        "time_constant": 0.0,
        "command_delay": 0.0,
        "publish_camera": False,
        "initial_positions": list(reversed(REST)),
    }
    return params | overrides


class Probe:
    """This process's recorder: every message on the command topics, /joint_states, and the
    controller_manager's list_controllers."""

    def __init__(self, forward_arm: bool = False) -> None:
        self.ros = RosNode("test_wiring_probe")
        self._lock = threading.Lock()
        self.msgs: dict[str, list[Any]] = {}
        arm_type, arm_topic = (
            (Float64MultiArray, "/arm_controller/commands")
            if forward_arm
            else (JointTrajectory, "/arm_controller/joint_trajectory")
        )
        self.topics = {
            arm_topic: arm_type,
            f"/{RESET}/joint_trajectory": JointTrajectory,
            "/gripper_controller/commands": Float64MultiArray,
        }
        for topic, msg_type in {**self.topics, "/joint_states": JointState}.items():
            self.msgs[topic] = []
            self.ros.subscribe(msg_type, topic, self._recorder(topic), RECORD_QOS)
        self.arm_topic = arm_topic

    def _recorder(self, topic: str) -> Callable[[Any], None]:
        def record(msg: Any) -> None:
            with self._lock:
                self.msgs[topic].append(msg)

        return record

    def count(self, topic: str) -> int:
        with self._lock:
            return len(self.msgs[topic])

    def positions(self) -> dict[str, float]:
        """The joint positions of a /joint_states that arrives from now on, by joint name."""
        mark = self.count("/joint_states")
        wait_until(lambda: self.count("/joint_states") > mark, TIMEOUT, "/joint_states")
        with self._lock:
            msg = self.msgs["/joint_states"][-1]
        return dict(zip(msg.name, msg.position, strict=True))

    def flushed(self, topic: str, marker: Any) -> list[Any]:
        """Every message recorded on ``topic`` once ``marker``, published there now by this
        node, has arrived (the robot ignores it); the marker is left out."""
        pub = self.ros.publisher(type(marker), topic)
        wait_until(lambda: pub.get_subscription_count() > 0, TIMEOUT, f"{topic} matched")
        mark = self.count(topic)
        pub.publish(marker)
        wait_until(lambda: self.count(topic) > mark, TIMEOUT, f"the marker on {topic}")
        with self._lock:
            return [m for m in self.msgs[topic] if m != marker]

    def states(self) -> dict[str, str]:
        response = self.ros.call_until_answered(
            ListControllers,
            "/controller_manager/list_controllers",
            ListControllers.Request(),
            TIMEOUT,
        )
        return {c.name: c.state for c in response.controller}

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def probe() -> Iterator[Probe]:
    p = Probe()
    yield p
    p.close()


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("configs")
    return {
        "panda": write_config(folder, "panda"),
        "reset": write_config(folder, "reset", reset_controller=RESET),
        "slow_reset": write_config(
            folder, "slow_reset", reset_controller=RESET, reset={"settle_timeout": 0.2}
        ),
        "slow_speed": write_config(
            folder, "slow_speed", reset_controller=RESET, reset={"max_joint_speed": 0.1}
        ),
        "sim_reset": write_config(folder, "sim_reset", "panda_sim", reset_controller=RESET),
    }


def real_env(config: Path, mode: str = "pd_joint_delta_pos") -> RealEnv:
    """A RealEnv whose command topics each have two subscribers, the robot and the probe, so
    the probe hears its first command too."""
    env = RealEnv(policy_env(mode), robot_config=config, scene_reset="none")
    try:
        for command in env.agent.commands.values():
            wait_until(lambda c=command: c.subscriber_count >= 2, TIMEOUT, command.topic)
    except BaseException:
        env.close()
        raise
    return env


# ---------------------------------------------------------------------------------------------
# Controllers not as configured: ControllerError before anything is sent
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def inactive_arm(
    start_shared_robot: Callable[..., RobotProcess], configs: dict[str, Path]
) -> RobotProcess:
    return start_shared_robot(
        "mock_hardware", **mock_params(configs["panda"], inactive_controllers=["arm_controller"])
    )


@pytest.mark.usefixtures("inactive_arm")
class TestCheckBeforeSending:
    def test_an_inactive_controller_raises_before_any_command(
        self, probe: Probe, configs: dict[str, Path]
    ) -> None:
        """mock_hardware brought up with arm_controller inactive: reset() raises ControllerError
        naming it, and no command reaches any command topic (the recorder matched RealEnv's
        publishers before the reset), nor was any sent; the robot stays where it was."""
        before = probe.positions()
        env = real_env(configs["panda"])
        try:
            with pytest.raises(ControllerError) as raised:
                env.reset(seed=0)
            message = str(raised.value)
            assert "controllers.arm: 'arm_controller' is inactive, not active" in message
            assert "gripper" not in message
            assert all(command.sent == 0 for command in env.agent.commands.values())
        finally:
            env.close()
        # markers the controllers drop: an empty JointTrajectory, an empty (no) command
        assert probe.flushed(probe.arm_topic, JointTrajectory()) == []
        assert probe.flushed("/gripper_controller/commands", Float64MultiArray()) == []
        after = probe.positions()
        assert after == pytest.approx(before, abs=1e-12)

    def test_a_missing_reset_controller_is_named_too(
        self, probe: Probe, configs: dict[str, Path]
    ) -> None:
        """A config whose arm resets through arm_reset_controller, on a robot that has none:
        the error names it as well as the inactive arm_controller; nothing was sent."""
        env = real_env(configs["reset"])
        try:
            with pytest.raises(ControllerError) as raised:
                env.reset(seed=0)
            assert raised.value.problems == [
                "controllers.arm: 'arm_controller' is inactive, not active",
                "controllers.arm.reset_controller: 'arm_reset_controller' is not loaded "
                "(loaded: ['arm_controller', 'gripper_controller'])",
            ]
            assert all(command.sent == 0 for command in env.agent.commands.values())
        finally:
            env.close()


# ---------------------------------------------------------------------------------------------
# Reset through FollowJointTrajectory on the reset controller, switched there and back
# ---------------------------------------------------------------------------------------------
def switches(log: str) -> list[str]:
    """The controller_manager's switch and goal log lines, in order."""
    keys = ("Activating", "Deactivating", "Goal reached", "Aborted due", "Canceling active")
    return [line.split("]: ", 1)[-1] for line in log.splitlines() if any(k in line for k in keys)]


SWITCHED_THERE_AND_BACK = [
    f"Activating controllers: [ {RESET} ]",
    "Deactivating controllers: [ arm_controller ]",
    f"{RESET}: Goal reached, success!",
    "Activating controllers: [ arm_controller ]",
    f"Deactivating controllers: [ {RESET} ]",
]


def assert_reset_then_policy_steps(
    env: RealEnv, probe: Probe, robot: RobotProcess, tolerance: float
) -> None:
    """reset() reaches the twin's initial qpos through the reset controller's goal (nothing on
    the arm's topic), leaves the policy controllers active, and a step then moves joint 1
    through arm_controller."""
    obs, _ = env.reset(seed=0)
    target = env.twin.agent.robot.get_qpos()[0].numpy()
    reached = probe.positions()
    assert [reached[j] for j in ARM] == pytest.approx(target[:7], abs=tolerance)
    assert probe.states() == {
        "arm_controller": "active",
        "gripper_controller": "active",
        RESET: "inactive",
    }
    assert switches(robot.log()) == SWITCHED_THERE_AND_BACK
    assert probe.count(probe.arm_topic) == 0, "the reset went through the arm's topic"
    assert probe.count(f"/{RESET}/joint_trajectory") == 0
    wait_until(
        lambda: probe.count("/gripper_controller/commands") > 0,
        TIMEOUT,
        "the gripper's reset on its topic",
    )
    start = reached["panda_joint1"]
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    action[0] = 1.0  # +0.1 rad on joint 1
    env.step(action)
    wait_until(lambda: probe.count(probe.arm_topic) > 0, TIMEOUT, "the step's arm command")
    wait_until(lambda: probe.positions()["panda_joint1"] > start + 0.05, TIMEOUT, "joint 1 to move")


def test_mock_resets_through_the_reset_controller_and_switches_back(
    start_robot: Callable[..., RobotProcess], probe: Probe, configs: dict[str, Path]
) -> None:
    """mock_hardware with panda.yaml plus an arm reset_controller (loaded inactive at bringup):
    reset() switches to it, moves the arm through its FollowJointTrajectory goal and switches
    back to arm_controller, which then takes the policy's steps."""
    robot = start_robot("mock_hardware", **mock_params(configs["reset"]))
    env = real_env(configs["reset"])
    try:
        assert_reset_then_policy_steps(
            env, probe, robot, load_robot_config("panda").reset.tolerance
        )
    finally:
        env.close()


def test_a_failed_reset_goal_raises_reset_error_and_switches_back(
    start_robot: Callable[..., RobotProcess], probe: Probe, configs: dict[str, Path]
) -> None:
    """A mock arm lagging its commands by a 10 s time constant can't be within reset.tolerance
    0.2 s (reset.settle_timeout, the goal time tolerance) after the goal's trajectory ends: the
    goal aborts with GOAL_TOLERANCE_VIOLATED, reset() raises ResetError naming it, and
    arm_controller is active again."""
    start = list(reversed([REST[0] + 0.3, *REST[1:]]))
    robot = start_robot(
        "mock_hardware",
        **mock_params(configs["slow_reset"], time_constant=10.0, initial_positions=start),
    )
    env = real_env(configs["slow_reset"])
    try:
        with pytest.raises(ResetError) as raised:
            env.reset(seed=0)
        message = str(raised.value)
        assert message.startswith(
            f"controllers.arm: reset through /{RESET}/follow_joint_trajectory"
        )
        assert (
            "goal ABORTED, GOAL_TOLERANCE_VIOLATED: Aborted due to goal_time_tolerance" in message
        )
        assert probe.states()["arm_controller"] == "active"
        assert probe.states()[RESET] == "inactive"
        lines = switches(robot.log())
        assert lines[:2] == SWITCHED_THERE_AND_BACK[:2]
        assert lines[2].startswith(f"{RESET}: Aborted due to goal_time_tolerance exceeding by")
        assert lines[3:] == SWITCHED_THERE_AND_BACK[3:]
    finally:
        env.close()


def test_ctrl_c_during_a_reset_cancels_the_goal_and_switches_back(
    start_robot: Callable[..., RobotProcess], probe: Probe, configs: dict[str, Path]
) -> None:
    """SIGINT while the arm resets through its reset controller (1 rad at 0.1 rad/s): RealEnv's
    handler cancels the goal (the reset controller holds where the arm is) and switches back
    to arm_controller before it leaves the graph; reset() raises KeyboardInterrupt, and the arm
    stays short of the reset target."""
    start = list(reversed([REST[0] + 1.0, *REST[1:]]))
    robot = start_robot(
        "mock_hardware", **mock_params(configs["slow_speed"], initial_positions=start)
    )
    env = real_env(configs["slow_speed"])

    def interrupt() -> None:
        """Once the arm is on its way (so RealEnv holds the goal's handle, accepted long ago)."""
        moving = REST[0] + 0.95
        wait_until(lambda: probe.positions()["panda_joint1"] < moving, TIMEOUT, "the reset")
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt, daemon=True)
    try:
        interrupter.start()
        with pytest.raises(KeyboardInterrupt):
            env.reset(seed=0)
    finally:
        interrupter.join(TIMEOUT)
        env.close()
    assert probe.states() == {
        "arm_controller": "active",
        "gripper_controller": "active",
        RESET: "inactive",
    }
    lines = switches(robot.log())
    assert lines == [
        *SWITCHED_THERE_AND_BACK[:2],
        f"{RESET}: Canceling active action goal because cancel callback received.",
        *SWITCHED_THERE_AND_BACK[3:],
    ]
    readings = [probe.positions()["panda_joint1"]]

    def standing_still() -> bool:
        readings.append(probe.positions()["panda_joint1"])
        return readings[-1] == readings[-2]

    wait_until(standing_still, TIMEOUT, "the arm to stand still")
    assert readings[-1] > REST[0] + 0.5, "the arm went on towards the reset target"


def test_sim_robot_resets_through_the_reset_controller_and_switches_back(
    start_robot: Callable[..., RobotProcess], configs: dict[str, Path]
) -> None:
    """sim_robot (PickCube physics) with panda_sim.yaml (forward arm_controller) plus an arm
    reset_controller: the same reset through FollowJointTrajectory, switches there and back,
    and the forward controller then takes the policy's steps."""
    robot = start_robot("sim_robot", robot_config=str(configs["sim_reset"]), seed=1)
    probe = Probe(forward_arm=True)
    env = real_env(configs["sim_reset"])
    try:
        tolerance = load_robot_config(configs["sim_reset"]).reset.tolerance
        assert_reset_then_policy_steps(env, probe, robot, tolerance)
    finally:
        env.close()
        probe.close()


# ---------------------------------------------------------------------------------------------
# The controller emulator's side of a switch, in this process (the test sets its clock and the
# measured positions, which a robot has no way to be set to exactly; no DDS traffic needed)
# ---------------------------------------------------------------------------------------------
def test_emulator_switch_semantics(configs: dict[str, Path]) -> None:
    """An inactive trajectory controller ignores a valid trajectory on its topic; a
    deactivated one leaves the command interfaces at its last desired position; an activated
    one holds there (not at the measured position); its goal's trajectory starts from the
    measured position and its samples report desired and measured state."""
    from maniskill_real.benches.controller_emulator import ControllerEmulator

    config = load_robot_config(configs["reset"])
    names = config.controlled_joints()
    ros = RosNode("wiring_emulator_test")
    try:
        clock = {"now": 0.0}
        measured = np.zeros(len(names))
        emulator = ControllerEmulator(
            ros, config, names, np.zeros(len(names)), lambda: clock["now"], lambda: measured
        )
        callbacks = {sub.topic_name: sub.callback for sub in ros.node.subscriptions}

        def at(now: float) -> np.ndarray:
            clock["now"] = now
            return emulator.targets(now)[0][:7]

        def trajectory(value: float, after: float) -> JointTrajectory:
            point = JointTrajectoryPoint(positions=[value] * 7, time_from_start=duration_msg(after))
            return JointTrajectory(joint_names=ARM, points=[point])

        callbacks[f"/{RESET}/joint_trajectory"](trajectory(1.0, 1.0))  # inactive: ignored
        callbacks["/arm_controller/joint_trajectory"](trajectory(1.0, 1.0))
        at(0.0)
        assert at(0.5) == pytest.approx([0.5] * 7)
        emulator.on_switch([RESET], ["arm_controller"])
        assert at(1.0) == pytest.approx([0.5] * 7)  # the reset controller holds the command
        measured[:7] = 0.4
        at(1.0)
        emulator.follow(RESET, trajectory(-1.0, 1.0))
        sample = emulator.sample(RESET)
        assert sample.actual == pytest.approx([0.4] * 7) and sample.time_past_end is None
        assert sample.desired_velocities == pytest.approx([-1.4] * 7)
        assert at(1.5) == pytest.approx([-0.3] * 7)  # from the measured 0.4, not from 0.5
        callbacks["/arm_controller/joint_trajectory"](trajectory(2.0, 0.1))  # inactive now
        assert at(2.5) == pytest.approx([-1.0] * 7)
        assert emulator.sample(RESET).time_past_end == pytest.approx(0.5)
        emulator.on_switch(["arm_controller"], [RESET])
        assert at(3.0) == pytest.approx([-1.0] * 7)
    finally:
        ros.close()


# ---------------------------------------------------------------------------------------------
# The new config keys
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edits", "key", "why"),
    [
        ({"controller_manager": 5}, "controller_manager", "expected a non-empty string"),
        ({"controller_manager": "two words"}, "controller_manager", "is not a ROS topic name"),
        (
            {"reset_controller": RESET, "controller_manager": None},
            "controllers.arm.reset_controller",
            "needs a controller_manager",
        ),
        ({"reset_controller": 3}, "controllers.arm.reset_controller", "non-empty string"),
        (
            {"reset_controller": "gripper_controller"},
            "controllers.arm.reset_controller",
            "'gripper_controller' is controllers.gripper.name",
        ),
        (
            {"reset_controller": "arm_controller"},
            "controllers.arm.reset_controller",
            "'arm_controller' is controllers.arm.name",
        ),
    ],
)
def test_config_errors_name_file_and_key(
    tmp_path: Path, edits: dict[str, Any], key: str, why: str
) -> None:
    path = write_config(tmp_path, "bad", **edits)
    with pytest.raises(ConfigError, match=f"{path}: key '{key}': .*{why}"):
        load_robot_config(path)


def test_a_reset_controller_only_for_a_position_part(tmp_path: Path) -> None:
    path = write_config(tmp_path, "velocity", reset_controller=RESET)
    raw = yaml.safe_load(path.read_text())
    raw["controllers"]["arm"].update(kind="forward_command_controller", interface="velocity")
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="key 'controllers.arm.reset_controller': only for a"):
        load_robot_config(path)


def test_config_values(tmp_path: Path) -> None:
    """Defaults: the controller_manager of the config's namespace, no reset controller; null
    turns the check off; a reset controller is a position JTC on the part's joints."""
    panda = load_robot_config("panda")
    assert panda.controller_manager == "controller_manager"
    assert panda.reset_controllers() == {}
    assert (
        load_robot_config(
            write_config(tmp_path, "none", controller_manager=None)
        ).controller_manager
        is None
    )
    reset = load_robot_config(write_config(tmp_path, "reset", "panda_sim", reset_controller=RESET))
    arm = reset.reset_controllers()["arm"]
    assert (arm.name, arm.kind, arm.interface, arm.joints) == (
        RESET,
        "joint_trajectory_controller",
        "position",
        tuple(ARM),
    )
