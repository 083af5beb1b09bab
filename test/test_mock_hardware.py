"""mock_hardware as a ROS node: its parameters through the real parameter services, and its
topics under a ROS namespace with RealEnv on the other side.

``mock_hardware`` runs as its own process; this process reaches it only over DDS, with the
parameter client ``ros2 param`` and rqt_reconfigure use. Nothing is faked.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from ros_helpers import RECORD_QOS, policy_env, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.env.real_env import RealEnv
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import stamp_to_ns
from maniskill_real.tools.processes import RobotProcess, node_command

REPO = Path(__file__).resolve().parents[1]
# use_sim_time: rclpy's own
RUNTIME = {"time_constant", "command_delay", "joint_state_fault", "use_sim_time"}
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
# PickCube's rest pose in the mock's joint order (the config's controller joints, reversed),
# so that RealEnv's reset is short.
REST = [0.04, 0.04, np.pi / 4, 3 * np.pi / 4, 0.0, -5 * np.pi / 8, 0.0, np.pi / 8, 0.0]


def result(future: Any, timeout: float = 10.0) -> Any:
    wait_until(future.done, timeout, "a parameter service response")
    return future.result()


class Client:
    """This process's node: mock_hardware's parameter services, its gripper command topic and
    its /joint_states."""

    def __init__(self) -> None:
        self.ros = RosNode("test_mock_hardware")
        self.params = AsyncParameterClient(self.ros.node, "/mock_hardware")
        assert self.params.wait_for_services(timeout_sec=10.0)
        self.gripper = self.ros.publisher(Float64MultiArray, "/gripper_controller/commands")
        self.joint_states: list[JointState] = []
        self.ros.subscribe(JointState, "/joint_states", self.joint_states.append, RECORD_QOS)

    def set(self, name: str, value: Any) -> Any:
        """The set_parameters result for one parameter."""
        return result(self.params.set_parameters([Parameter(name, value=value)])).results[0]

    def fingers(self, msg: JointState) -> np.ndarray:
        by_name = dict(zip(msg.name, msg.position, strict=True))
        return np.array([by_name[j] for j in FINGERS])

    def close(self) -> None:
        self.ros.close()


@pytest.fixture(scope="class")
def client(start_shared_robot: Callable[..., RobotProcess]) -> Iterator[Client]:
    start_shared_robot("mock_hardware", publish_camera=False)
    c = Client()
    try:
        yield c
    finally:
        c.close()


class TestParameters:
    def test_every_parameter_is_described(self, client: Client) -> None:
        """Every parameter has a description; only the two the node applies while running
        (and rclpy's use_sim_time) are writable; numbers carry their ranges."""
        names = result(client.params.list_parameters()).result.names
        assert {"time_constant", "command_delay", "joint_state_rate", "camera_fov"} <= set(names)
        descriptors = result(client.params.describe_parameters(names)).descriptors
        assert [d.name for d in descriptors] == names
        by_name = {d.name: d for d in descriptors}
        for name, d in by_name.items():
            assert d.read_only == (name not in RUNTIME), name
            if name != "use_sim_time":
                assert d.description, f"{name} has no description"
        time_constant = by_name["time_constant"].floating_point_range[0]
        assert (time_constant.from_value, time_constant.to_value) == (0.0, 10.0)
        assert by_name["joint_state_rate"].additional_constraints == "> 0"
        assert by_name["camera_width"].integer_range[0].from_value == 0
        values = result(client.params.get_parameters(names)).values
        assert len(values) == len(names)

    @pytest.mark.parametrize(
        "name, value, why",
        [
            ("publish_camera", True, "read-only"),
            ("joint_state_rate", 50.0, "read-only"),
            ("camera_rate", 5.0, "read-only"),
            ("initial_positions", [0.1], "read-only"),
            ("time_constant", -0.1, "out of range"),
            ("time_constant", "slow", "expected finite numbers"),
            ("command_delay", float("nan"), "out of range"),
            ("command_delay", 11, "must be <= 10.0"),
        ],
    )
    def test_what_it_cant_apply_is_refused(
        self, client: Client, name: str, value: Any, why: str
    ) -> None:
        """A parameter the node can't change while running, or a value outside its range, is
        refused with the reason, not accepted and ignored."""
        r = client.set(name, value)
        assert not r.successful and why in r.reason, r.reason

    def test_runtime_parameters_take_effect(self, client: Client) -> None:
        """time_constant 0 (an integer: float parameters take them) mirrors a gripper command
        into the next joint states exactly; command_delay holds a command back by its value
        (stamps: the first /joint_states that shows it is stamped at least that much later)."""
        assert client.set("time_constant", 0).successful
        client.gripper.publish(Float64MultiArray(data=[0.01, 0.01]))
        wait_until(
            lambda: np.all(client.fingers(client.joint_states[-1]) == 0.01), 5.0, "the mirror"
        )
        assert client.set("command_delay", 0.5).successful
        try:
            sent = time.time_ns()
            client.gripper.publish(Float64MultiArray(data=[0.03, 0.03]))

            def moved() -> list[JointState]:
                return [m for m in list(client.joint_states) if client.fingers(m)[0] == 0.03]

            wait_until(moved, 5.0, "the delayed command")
            assert stamp_to_ns(moved()[0].header.stamp) - sent >= 0.5e9
        finally:
            assert client.set("command_delay", 0.0).successful
            assert client.set("time_constant", 0.05).successful


@pytest.mark.parametrize(
    "param, named",
    [
        ("time_constant:=-1.0", "time_constant"),
        ("joint_state_rate:=0.0", "joint_state_rate"),
        ("camera_width:=0", "camera_width"),
        ("initial_positions:=[0.1,0.2]", "initial_positions"),
    ],
)
def test_bad_start_up_value_is_refused(param: str, named: str) -> None:
    """A value the node can't run with stops it at start-up with exit code 1 and one message
    naming the parameter, not a traceback."""
    out = subprocess.run(
        [*node_command("mock_hardware", {}), "-p", param],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"parameter '{named}'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr, out.stderr


# ---------------------------------------------------------------------------------------------
# A namespaced robot: mock_hardware under /left, and a config that says so
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def left_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped panda.yaml, with ``namespace: /left``."""
    path = tmp_path_factory.mktemp("left") / "left.yaml"
    path.write_text(
        yaml.safe_dump({"base": str(REPO / "config" / "panda_mock.yaml"), "namespace": "/left"})
    )
    return path


@pytest.fixture(scope="class")
def left_robot(start_shared_robot: Callable[..., RobotProcess], left_config: Path) -> RobotProcess:
    return start_shared_robot(
        "mock_hardware",
        ros_args=["-r", "__ns:=/left"],
        robot_config=str(left_config),
        time_constant=0.0,
        initial_positions=REST,
    )


@pytest.mark.usefixtures("left_robot")
class TestNamespace:
    def test_real_env_finds_every_topic_under_the_namespace(self, left_config: Path) -> None:
        """With the robot under /left (as a namespaced ros2_control bringup puts
        joint_states, the controllers and the camera driver) and ``namespace: /left`` in the
        config, RealEnv reads /left/joint_states and the /left camera, and commands the /left
        controllers; nothing is left at the root."""
        probe = RosNode("test_namespace_probe")
        trajectories: list[JointTrajectory] = []
        probe.subscribe(
            JointTrajectory, "/left/arm_controller/joint_trajectory", trajectories.append
        )
        env = RealEnv(policy_env(obs_mode="rgb"), robot_config=left_config, scene_reset="none")
        try:
            assert env.agent.inputs.joint_states.topic == "/left/joint_states"
            obs, _ = env.reset(seed=0)
            assert obs["sensor_data"]["base_camera"]["rgb"].shape == (1, 128, 128, 3)
            arm = env.agent.commands["arm"]
            # The controller and this probe: discovery done, so a missing message is a send's.
            wait_until(lambda: arm.subscriber_count == 2, 5.0, "the probe to be discovered")
            env.step(np.zeros(8, dtype=np.float32))
            wait_until(lambda: trajectories, 5.0, "a trajectory on /left/arm_controller")
            node = probe.node
            for topic in ("/joint_states", "/camera/color/image_raw"):
                assert node.count_publishers(topic) == 0, topic
            for topic in ("/left/joint_states", "/left/camera/color/image_raw"):
                assert node.count_publishers(topic) == 1, topic
        finally:
            env.close()
            probe.close()
