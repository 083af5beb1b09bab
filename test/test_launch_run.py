"""The launch files run through the real launch / launch_ros: which processes they start, with
which parameters, namespace and environment, and what they refuse.

launch, launch_ros, launch_xml and launch_yaml have no PyPI release, so this module is skipped
where they are not importable (CI); test_launch_static.py covers what it can without them. Each
launch file runs as `ros2 launch` runs it (ros2launch/api/api.py, launch_a_launch_file): a
LaunchService with the file in an IncludeLaunchDescription of the command line's arguments.

Faked, because no colcon install exists here: the install prefix. A prefix in tmp_path on
AMENT_PREFIX_PATH holds the ament index entry, share/maniskill_real/{launch,config} (links to the
repo's) and, as lib/maniskill_real/<node>, a stand-in executable that records its command line,
its --params-file contents and its Fast DDS profile variable, then exits. The launch files import
maniskill_real.launch_support from the maniskill_real on sys.path (this checkout), as they would
from a colcon or pip install. The launch code, the processes it starts and the parameter files it
writes are real. The nodes' own behaviour is
tested by the tests that start them (test_sim_robot.py and others); here only
test_the_real_node_takes_every_launch_argument starts the real mock_hardware and sim_robot, to
show that they accept what the launch files pass.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

SKIP = "launch/launch_ros are not installed (ROS 2 only, no PyPI release): launch files not run"
launch = pytest.importorskip("launch", reason=SKIP)
pytest.importorskip("launch_ros", reason=SKIP)

from launch import LaunchDescription, LaunchService  # noqa: E402
from launch.actions import IncludeLaunchDescription, OpaqueFunction  # noqa: E402
from launch.launch_description_sources import AnyLaunchDescriptionSource  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "maniskill_real"
PROFILE_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"

RECORDER = """#!{python}
import json, os, sys, uuid
import yaml
args = sys.argv[1:]
params = {{}}
for flag, value in zip(args, args[1:], strict=False):
    if flag == "--params-file":
        with open(value) as f:
            for entry in yaml.safe_load(f).values():
                params.update(entry["ros__parameters"])
record = {{
    "exe": os.path.basename(sys.argv[0]),
    "args": args,
    "params": params,
    "profile": os.environ.get("{profile_env}"),
}}
path = os.path.join(os.environ["LAUNCH_RECORDS"], uuid.uuid4().hex + ".json")
with open(path, "w") as f:
    json.dump(record, f)
"""


class Prefix:
    """The install prefix that `ros2 launch maniskill_real ...` would find."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.share = root / "share" / PACKAGE
        self.records = root / "records"
        self.recorder = root / "bin" / "record"

    def launch_file(self, name: str) -> Path:
        return self.share / "launch" / name

    def config(self, name: str) -> str:
        return str(self.share / "config" / name)

    def records_of(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.records.glob("*.json"))]


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Prefix:
    p = Prefix(tmp_path / "install")
    index = p.root / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / PACKAGE).touch()
    p.share.mkdir(parents=True)
    for folder in ("launch", "config"):
        (p.share / folder).symlink_to(REPO / folder)
    recorder = RECORDER.format(python=sys.executable, profile_env=PROFILE_ENV)
    lib = p.root / "lib" / PACKAGE
    lib.mkdir(parents=True)
    p.recorder.parent.mkdir()
    for exe in (lib / "mock_hardware", lib / "sim_robot", p.recorder):
        exe.write_text(recorder)
        exe.chmod(0o755)
    p.records.mkdir()
    # An overlay on the ROS install, as a sourced workspace is: launch finds its own files
    # (e.g. the frontend grammar) through the index too.
    monkeypatch.setenv(
        "AMENT_PREFIX_PATH",
        os.pathsep.join(filter(None, [str(p.root), os.environ.get("AMENT_PREFIX_PATH")])),
    )
    monkeypatch.setenv("LAUNCH_RECORDS", str(p.records))
    monkeypatch.setenv("RECORDER", str(p.recorder))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    # launch sets variables in os.environ itself; monkeypatch restores them afterwards.
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    return p


def run_launch(path: Path, *arguments: str, during: Callable[[], None] | None = None) -> int:
    """`ros2 launch <path> <arguments>`, in this process; the launch's return code. `during`
    runs on a thread once the launch runs, and the launch is shut down when it returns."""
    launch.logging.reset()  # its screen handler writes to the sys.stdout of its creation
    service = LaunchService(argv=list(arguments))
    parsed = [tuple(a.split(":=", 1)) for a in arguments]
    entities = [
        IncludeLaunchDescription(AnyLaunchDescriptionSource(str(path)), launch_arguments=parsed)
    ]
    errors: list[BaseException] = []

    def client() -> None:
        try:
            during()
        except BaseException as e:  # noqa: BLE001 - raised in the test's thread below
            errors.append(e)
        finally:
            service.shutdown()

    thread = threading.Thread(target=client)
    if during is not None:
        entities.append(OpaqueFunction(function=lambda context: thread.start()))
    service.include_launch_description(LaunchDescription(entities))
    rc = service.run()
    if thread.ident is not None:  # started
        thread.join()
    if errors:
        raise errors[0]
    return rc


def ros_args(record: dict) -> dict[str, str]:
    """The -r remaps of a node's command line: {"__node": ..., "__ns": ...}."""
    args = record["args"]
    remaps = [value for flag, value in zip(args, args[1:], strict=False) if flag == "-r"]
    return dict(r.split(":=", 1) for r in remaps)


def only(records: list[dict], exe: str) -> dict:
    assert [r["exe"] for r in records] == [exe], records
    return records[0]


# --------------------------------------------------------------------------------------------
# mock_hardware.launch.py / sim_robot.launch.py
# --------------------------------------------------------------------------------------------
# Each node's launch file and robot_config's default there.
DEFAULT_CONFIGS = {"mock_hardware": "panda.yaml", "sim_robot": "panda_sim.yaml"}


@pytest.mark.parametrize("node", sorted(DEFAULT_CONFIGS))
def test_node_launch_file_defaults(prefix: Prefix, node: str) -> None:
    assert run_launch(prefix.launch_file(f"{node}.launch.py")) == 0
    record = only(prefix.records_of(), node)
    # Only robot_config: every other parameter keeps the node's own default.
    assert record["params"] == {"robot_config": prefix.config(DEFAULT_CONFIGS[node])}
    assert ros_args(record)["__node"] == node
    assert ros_args(record).get("__ns", "/") == "/"
    # The profile is found through the package's share directory.
    assert record["profile"] == prefix.config("fastdds_shm.xml")
    assert Path(record["profile"]).resolve() == REPO / "config" / "fastdds_shm.xml"


# Every node argument as typed on the command line, and the parameter the node gets: the type
# it declares (a double from "250", an integer, a bool, a list of doubles), the YAML type too.
TYPED_ARGUMENTS = {
    "mock_hardware": {
        "joint_state_rate": ("250", 250.0),
        "time_constant": ("0", 0.0),
        "command_delay": ("0.02", 0.02),
        "initial_positions": ("[0.1, -0.5]", [0.1, -0.5]),
        "publish_camera": ("false", False),
        "camera_rate": ("30", 30.0),
        "camera_width": ("1280", 1280),
        "camera_height": ("720", 720),
        "camera_fov": ("1.2", 1.2),
    },
    "sim_robot": {
        "control_mode": ("pd_ee_delta_pose", "pd_ee_delta_pose"),
        "env_id": ("PushCube-v1", "PushCube-v1"),
        "robot_uid": ("panda_wristcam", "panda_wristcam"),
        "seed": ("7", 7),
        "joint_state_rate": ("200", 200.0),
        "use_sim_time": ("true", True),
        "camera_width": ("1280", 1280),
        "camera_height": ("720", 720),
        "camera_fov": ("1.6", 1.6),
        "camera_rate": ("5", 5.0),
        "publish_depth": ("false", False),
        "command_delay": ("0.05", 0.05),
        "joint_state_noise": ("0.001", 0.001),
    },
}


@pytest.mark.parametrize(
    "node, arguments, namespace",
    [
        # robot_config given, a relative namespace
        ("mock_hardware", {"robot_config": "/robots/arm.yaml", "namespace": "left"}, "/left"),
        # robot_config left to its default, an absolute namespace
        ("sim_robot", {"namespace": "/sim"}, "/sim"),
    ],
)
def test_node_launch_file_arguments_become_typed_parameters(
    prefix: Prefix, node: str, arguments: dict[str, str], namespace: str
) -> None:
    typed = TYPED_ARGUMENTS[node]
    given = {**arguments, **{name: text for name, (text, _) in typed.items()}}
    path = prefix.launch_file(f"{node}.launch.py")
    assert run_launch(path, *(f"{name}:={text}" for name, text in given.items())) == 0
    record = only(prefix.records_of(), node)
    params = record["params"]
    config = arguments.get("robot_config", prefix.config(DEFAULT_CONFIGS[node]))
    wanted = {"robot_config": config, **{name: value for name, (_, value) in typed.items()}}
    assert params == wanted
    assert {name: type(value) for name, value in params.items()} == {
        name: type(value) for name, value in wanted.items()
    }
    assert ros_args(record)["__ns"] == namespace


def test_a_profile_the_user_set_is_kept(prefix: Prefix, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "/etc/my_fastdds.xml")
    assert run_launch(prefix.launch_file("mock_hardware.launch.py")) == 0
    assert only(prefix.records_of(), "mock_hardware")["profile"] == "/etc/my_fastdds.xml"


# --------------------------------------------------------------------------------------------
# bringup.launch.py
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "node, arguments", [("mock_hardware", []), ("sim_robot", ["use_sim_robot:=true"])]
)
def test_bringup_robot_gets_its_own_default_config(
    prefix: Prefix, node: str, arguments: list[str]
) -> None:
    """The mock robot by default, the sim robot with use_sim_robot: each with the config that
    `maniskill-real demo --robot mock|sim` uses (its launch file's default), not one of
    bringup's."""
    assert run_launch(prefix.launch_file("bringup.launch.py"), *arguments) == 0
    record = only(prefix.records_of(), node)
    assert record["params"] == {"robot_config": prefix.config(DEFAULT_CONFIGS[node])}
    assert record["profile"] == prefix.config("fastdds_shm.xml")


def test_bringup_passes_the_nodes_arguments_through(prefix: Prefix) -> None:
    rc = run_launch(
        prefix.launch_file("bringup.launch.py"),
        "use_sim_robot:=true",
        "robot_config:=/robots/mine.yaml",
        "namespace:=sim",
        "camera_fov:=1.6",
    )
    assert rc == 0
    record = only(prefix.records_of(), "sim_robot")
    assert record["params"] == {"robot_config": "/robots/mine.yaml", "camera_fov": 1.6}
    assert ros_args(record)["__ns"] == "/sim"


def test_bringup_without_a_robot_fails_and_says_what_to_pass(
    prefix: Prefix, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run_launch(prefix.launch_file("bringup.launch.py"), "use_mock_hardware:=false")
    out = capsys.readouterr()
    assert rc != 0
    assert prefix.records_of() == []
    message = out.out + out.err
    assert "use_mock_hardware:=false starts no robot without robot_bringup:=" in message
    assert "use_sim_robot:=true" in message


def test_bringup_refuses_a_robot_bringup_it_would_ignore(
    prefix: Prefix, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    robot = write(tmp_path / "robot.launch.xml", ROBOT_XML)
    rc = run_launch(prefix.launch_file("bringup.launch.py"), f"robot_bringup:={robot}")
    out = capsys.readouterr()
    assert rc != 0
    assert "is only used with use_mock_hardware:=false" in out.out + out.err
    assert [r["exe"] for r in prefix.records_of()] == []


ROBOT_XML = """<launch>
  <arg name="robot_config"/>
  <executable cmd="$(env RECORDER) robot xml $(var robot_config)" output="screen"/>
</launch>
"""
ROBOT_YAML = """launch:
  - arg: {name: robot_config}
  - executable: {cmd: "$(env RECORDER) robot yaml $(var robot_config)", output: screen}
"""
# Three drivers that declare the same argument with their own defaults: each must get its own.
CAMERA_XML = """<launch>
  <arg name="camera_name" default="wrist"/>
  <executable cmd="$(env RECORDER) camera $(var camera_name)" output="screen"/>
</launch>
"""
CAMERA_YAML = """launch:
  - arg: {name: camera_name, default: scene}
  - executable: {cmd: "$(env RECORDER) camera $(var camera_name)", output: screen}
"""
CAMERA_PY = """from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import EnvironmentVariable, LaunchConfiguration


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("camera_name", default_value="top"),
        ExecuteProcess(
            cmd=[EnvironmentVariable("RECORDER"), "camera", LaunchConfiguration("camera_name")],
            output="screen",
        ),
    ])
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def labelled(records: list[dict]) -> list[tuple[str, ...]]:
    """The stand-in processes' arguments, e.g. ("camera", "wrist"), sorted."""
    return sorted(tuple(r["args"]) for r in records if r["exe"] == "record")


def test_bringup_real_robot_from_xml_with_cameras_from_xml_yaml_and_python(
    prefix: Prefix, tmp_path: Path
) -> None:
    pytest.importorskip("launch_xml", reason="launch_xml is not installed")
    pytest.importorskip("launch_yaml", reason="launch_yaml is not installed")
    robot = write(tmp_path / "robot.launch.xml", ROBOT_XML)
    cameras = [
        write(tmp_path / "wrist.launch.xml", CAMERA_XML),
        write(tmp_path / "scene.launch.yaml", CAMERA_YAML),
        write(tmp_path / "top.launch.py", CAMERA_PY),
    ]
    rc = run_launch(
        prefix.launch_file("bringup.launch.py"),
        "use_mock_hardware:=false",
        f"robot_bringup:={robot}",
        "camera_launch:=" + ", ".join(str(c) for c in cameras),
    )
    assert rc == 0
    records = prefix.records_of()
    assert labelled(records) == [
        ("camera", "scene"),
        ("camera", "top"),
        ("camera", "wrist"),
        ("robot", "xml", prefix.config("panda.yaml")),
    ]
    assert len(records) == 4, "no mock or sim robot alongside the real one"
    # The user's robot and camera drivers get the same transport as RealEnv.
    assert {r["profile"] for r in records} == {prefix.config("fastdds_shm.xml")}


def test_bringup_real_robot_from_yaml_gets_the_users_config(prefix: Prefix, tmp_path: Path) -> None:
    pytest.importorskip("launch_yaml", reason="launch_yaml is not installed")
    robot = write(tmp_path / "robot.launch.yaml", ROBOT_YAML)
    rc = run_launch(
        prefix.launch_file("bringup.launch.py"),
        "use_mock_hardware:=false",
        f"robot_bringup:={robot}",
        "robot_config:=/robots/mine.yaml",
    )
    assert rc == 0
    assert labelled(prefix.records_of()) == [("robot", "yaml", "/robots/mine.yaml")]


# --------------------------------------------------------------------------------------------
# the real node
# --------------------------------------------------------------------------------------------
# Every node argument, each with a value unlike the node's default (the scene's and robot's
# identity stay: they decide what sim_robot builds).
NODE_ARGUMENTS = {
    "mock_hardware": {
        "joint_state_rate": 50.0,
        "time_constant": 0.0,
        "command_delay": 0.01,
        "initial_positions": [0.25],
        "publish_camera": False,
        "camera_rate": 5.0,
        "camera_width": 320,
        "camera_height": 240,
        "camera_fov": 1.5,
    },
    "sim_robot": {
        "control_mode": "pd_ee_delta_pose",
        "env_id": "PickCube-v1",
        "robot_uid": "panda",
        "seed": 3,
        "joint_state_rate": 50.0,
        "use_sim_time": True,
        "camera_width": 320,
        "camera_height": 240,
        "camera_fov": 1.5,
        "camera_rate": 2.0,
        "publish_depth": False,
        "command_delay": 0.01,
        "joint_state_noise": 0.001,
    },
}


@pytest.mark.parametrize("node", sorted(NODE_ARGUMENTS))
def test_the_real_node_takes_every_launch_argument(
    prefix: Prefix, tmp_path: Path, node: str
) -> None:
    """The real node, started by its launch file with every argument set: it must accept each
    value with its type and report it back over its parameter service. sim_robot gets a config
    without cameras, so that no renderer starts."""
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python

    from maniskill_real.ros.node import RosNode

    exe = prefix.root / "lib" / PACKAGE / node
    exe.unlink()
    exe.symlink_to(Path(sys.executable).parent / node)
    config = tmp_path / "no_cameras.yaml"
    base = "panda_sim.yaml" if node == "sim_robot" else "panda.yaml"
    config.write_text(yaml.safe_dump({"base": str(REPO / "config" / base), "cameras": {}}))
    wanted = NODE_ARGUMENTS[node]
    reported: dict[str, object] = {}
    service = f"/launched/{node}/get_parameters"

    def read_back() -> None:
        """Polls until the node has declared them all: its parameter service answers before,
        with no values at all while one is undeclared (rclpy/parameter_service.py)."""
        ros = RosNode("launch_test_client")
        try:
            request = GetParameters.Request(names=list(wanted))
            deadline = time.monotonic() + 60.0
            while True:
                left = max(deadline - time.monotonic(), 0.1)
                response = ros.call(GetParameters, service, request, left)
                values = [parameter_value_to_python(v) for v in response.values]
                if len(values) == len(wanted) and None not in values:
                    break
                assert time.monotonic() < deadline, f"undeclared after 60 s: {values}"
                time.sleep(0.05)
        finally:
            ros.close()
        for name, value in zip(wanted, values, strict=True):
            reported[name] = list(value) if isinstance(wanted[name], list) else value

    arguments = [
        f"{name}:={value if isinstance(value, str) else json.dumps(value)}"
        for name, value in wanted.items()
    ]
    rc = run_launch(
        prefix.launch_file(f"{node}.launch.py"),
        "namespace:=launched",
        f"robot_config:={config}",
        *arguments,
        during=read_back,
    )
    assert rc == 0
    assert reported == wanted
