"""Robot config loading: the shipped config loads; every unusable file raises ConfigError naming
the file and, where one is to blame, the key. Pure: no ROS, no ManiSkill."""

from pathlib import Path

import pytest
import yaml

from maniskill_real.config import ConfigError, load_robot_config, resolve_topic

REPO = Path(__file__).resolve().parents[1]


def test_shipped_panda_loads_by_name() -> None:
    """``"panda"`` finds config/panda.yaml; its controllers name every panda joint once."""
    config = load_robot_config("panda")
    assert config.path.resolve() == (REPO / "config" / "panda.yaml").resolve()
    assert config.robot_uid == "panda"
    assert config.controllers["arm"].command_topic == "arm_controller/joint_trajectory"
    assert config.controllers["gripper"].command_topic == "gripper_controller/commands"
    assert sorted(config.controlled_joints()) == sorted(
        [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
    )


def test_shipped_names_resolve_as_before_without_a_namespace() -> None:
    """The shipped configs name topics relative to the robot's namespace; with namespace "" they
    resolve to the root names that a plain ros2_control bringup and camera driver use."""
    config = load_robot_config("panda")
    assert config.namespace == "/"
    assert config.topic(config.joint_states_topic) == "/joint_states"
    assert config.topic(config.controllers["arm"].command_topic) == (
        "/arm_controller/joint_trajectory"
    )
    camera = config.cameras["base_camera"].resolved(config.topic)
    assert (camera.image_topic, camera.info_topic, camera.depth_topic) == (
        "/camera/color/image_raw",
        "/camera/color/camera_info",
        "/camera/depth/image_rect_raw",
    )
    assert not config.use_sim_time


@pytest.mark.parametrize(
    "name, namespace, resolved",
    [
        ("joint_states", "/", "/joint_states"),
        ("joint_states", "/left", "/left/joint_states"),
        ("camera/color/image_raw", "/left/arm", "/left/arm/camera/color/image_raw"),
        ("/joint_states", "/left", "/joint_states"),
    ],
)
def test_resolve_topic_follows_ros_rules(name: str, namespace: str, resolved: str) -> None:
    """Relative names go under the namespace, absolute ones stay (rcl_expand_topic_name)."""
    assert resolve_topic(name, namespace) == resolved


@pytest.mark.parametrize("namespace", ["left", "/left"])
def test_every_topic_follows_the_config_namespace(tmp_path: Path, namespace: str) -> None:
    """Under `namespace: left` (or /left) joint states, commands, cameras and task topics all
    resolve under /left, as a namespaced ros2_control bringup publishes them; an absolute name
    stays where it is."""
    path = tmp_path / "robot.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": str(REPO / "config" / "panda_sim.yaml"),
                "namespace": namespace,
                "task_topics": {"is_placed": "/world/placed"},
            }
        )
    )
    config = load_robot_config(path)
    assert config.namespace == "/left"
    assert config.topic(config.joint_states_topic) == "/left/joint_states"
    assert config.topic(config.controllers["gripper"].command_topic) == (
        "/left/gripper_controller/commands"
    )
    camera = config.cameras["base_camera"].resolved(config.topic)
    assert camera.image_topic == "/left/camera/color/image_raw"
    assert camera.depth_topic == "/left/camera/depth/image_rect_raw"
    assert config.topic(f"{config.task_namespace}/success") == "/left/sim_robot/task/success"
    assert config.topic(config.task_topics["is_placed"]) == "/world/placed"


def test_use_sim_time_loads(tmp_path: Path) -> None:
    """`use_sim_time: true` is how RealEnv's node is told to follow /clock."""
    path = tmp_path / "robot.yaml"
    path.write_text(
        yaml.safe_dump({"base": str(REPO / "config" / "panda.yaml"), "use_sim_time": True})
    )
    assert load_robot_config(path).use_sim_time


def test_latency_steps_loads(tmp_path: Path) -> None:
    """latency_steps: 0 unless given (commands sent as soon as computed)."""
    assert load_robot_config("panda").latency_steps == 0
    path = tmp_path / "robot.yaml"
    path.write_text(
        yaml.safe_dump({"base": str(REPO / "config" / "panda.yaml"), "latency_steps": 2})
    )
    assert load_robot_config(path).latency_steps == 2


def test_missing_file_names_it(tmp_path: Path) -> None:
    """A path that doesn't exist: ConfigError naming the path."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=f"{path}: can't read robot config"):
        load_robot_config(path)


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    """A .yaml path that can't be read as a file (a directory; chmod means nothing to root):
    ConfigError naming the path."""
    path = tmp_path / "folder.yaml"
    path.mkdir()
    with pytest.raises(ConfigError, match=f"{path}: can't read robot config"):
        load_robot_config(path)


@pytest.mark.parametrize(
    "text, why",
    [
        ("robot_uid: panda\ncontrollers: {arm: [unclosed\n", "not valid YAML"),
        ("", "the file is empty"),
        ("- a list\n- not a mapping\n", "key '<top level>': expected a mapping"),
    ],
    ids=["syntax", "empty", "list"],
)
def test_unusable_yaml_names_the_file(tmp_path: Path, text: str, why: str) -> None:
    """Invalid YAML, an empty file, a top level that isn't a mapping: ConfigError naming the
    file."""
    path = tmp_path / "robot.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"^{path}: {why}"):
        load_robot_config(path)


_DELETE = object()


def _set(raw: dict, key: str, value: object) -> None:
    *parents, last = key.split(".")
    for part in parents:
        raw = raw[part]
    if value is _DELETE:
        del raw[last]
    else:
        raw[last] = value


@pytest.mark.parametrize(
    "key, value, named, why",
    [
        ("robotuid", "panda", "robotuid", "unknown key"),
        ("reset.max_speed", 1.0, "reset.max_speed", "unknown key"),
        ("controllers.arm.interfaces", "position", "controllers.arm.interfaces", "unknown key"),
        ("robot_uid", _DELETE, "robot_uid", "missing"),
        ("controllers", {}, "controllers", "needs at least one controller"),
        ("reset.max_joint_speed", -0.5, "reset.max_joint_speed", "finite number > 0"),
        ("reset.tolerance", "small", "reset.tolerance", "expected a number"),
        ("joint_states.max_age", float("nan"), "joint_states.max_age", "finite number > 0"),
        ("controllers.arm.kind", "effort_controller", "controllers.arm.kind", "expected one of"),
        ("controllers.arm.interface", "velocity", "controllers.arm.interface", "streams positions"),
        ("controllers.arm.joints", [], "controllers.arm.joints", "non-empty list"),
        (
            "controllers.gripper.joints",
            ["panda_finger_joint1", "panda_joint7"],
            "controllers.gripper.joints",
            "'panda_joint7' is already commanded by controllers.arm",
        ),
        ("cameras.base_camera.alignment", "stretch", "cameras.base_camera.alignment", "one of"),
        ("cameras.base_camera.cam2world", [[1, 0], [0, 1]], "cameras.base_camera.cam2world", "4x4"),
        ("joints.panda_joint1", 7, "joints.panda_joint1", "non-empty string"),
        ("joint_states.topic", "joint states", "joint_states.topic", "not a ROS topic name"),
        ("joint_states.topic", "~/joint_states", "joint_states.topic", "not a ROS topic name"),
        ("joint_states.topic", "/joint_states/", "joint_states.topic", "not a ROS topic name"),
        (
            "cameras.base_camera.image_topic",
            "camera//image_raw",
            "cameras.base_camera.image_topic",
            "not a ROS topic name",
        ),
        ("cameras.base_camera.info_topic", "1camera/info", "cameras.base_camera.info_topic", "not"),
        ("controllers.arm.name", "arm controller", "controllers.arm.name", "not a ROS topic name"),
        ("namespace", "left//arm", "namespace", "not a ROS topic name"),
        ("task_topics", {"success": "task/su ccess"}, "task_topics.success", "not a ROS topic"),
        ("task_namespace", "/sim robot", "task_namespace", "not a ROS topic name"),
        ("use_sim_time", "yes", "use_sim_time", "expected true or false"),
        ("latency_steps", -1, "latency_steps", "whole number of steps from 0 to 100"),
        ("latency_steps", 1.5, "latency_steps", "whole number of steps"),
        ("latency_steps", True, "latency_steps", "whole number of steps"),
        ("latency_steps", 101, "latency_steps", "whole number of steps from 0 to 100"),
    ],
)
def test_bad_key_names_file_and_key(
    tmp_path: Path, key: str, value: object, named: str, why: str
) -> None:
    """One bad value in an otherwise valid copy of panda.yaml: ConfigError whose message names
    the file and the key, and says what is wrong."""
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    _set(raw, key, value)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_robot_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: key '{named}'"), message
    assert why in message, message
