"""Robot config loading: the shipped config loads; every unusable file raises ConfigError naming
the file and, where one is to blame, the key. Pure: no ROS, no ManiSkill."""

from pathlib import Path

import pytest
import yaml

from maniskill_real.config import ConfigError, load_robot_config

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
