"""sim_robot end to end: ManiSkill physics and renders behind the ros2_control surface.

One ``sim_robot`` process (PickCube-v1, the shipped panda config) serves every test of the first
class; this process talks to it over real DDS with a ``RosNode``, as RealEnv would. Nothing is
faked: expected joint positions, camera poses and the cube's position come from a separate copy
of the same ManiSkill env reset with the same seed (the policy's sim env). Tests run in file order
and the fault-knob tests restore the knobs they change. The later tests start their own
sim_robot (in a namespace on sim time, or on another task) and drive RealEnv against it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import mani_skill.envs  # noqa: F401 - registers PickCube-v1
import numpy as np
import pytest
import yaml
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from ros_helpers import RECORD_QOS, policy_env, wait_until
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import load_robot_config
from maniskill_real.core.camera import Intrinsics
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import StaleInputError
from maniskill_real.ros.commands import duration_msg
from maniskill_real.ros.image import depth_from_image, image_to_numpy
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import stamp_to_ns
from maniskill_real.tools.processes import RobotProcess
from maniskill_real.tools.rollout import SIM_ROBOT_SCENE_RESET

REPO = Path(__file__).resolve().parents[1]
CONFIG = load_robot_config("panda")
ARM = list(CONFIG.controllers["arm"].joints)
FINGERS = list(CONFIG.controllers["gripper"].joints)
CAMERA = CONFIG.cameras["base_camera"]
FOV = 1.8  # rad: wider than PickCube's pi/2 base camera, as a real camera must be
WIDTH, HEIGHT = 640, 480


def result(future: Any, timeout: float = 10.0) -> Any:
    wait_until(future.done, timeout, "a service response")
    return future.result()


class Recorder:
    """The last ``keep`` messages on one topic with their header stamps (ns), in arrival order;
    a message without a header (Bool, Clock) is stamped with its arrival time."""

    def __init__(self, ros: RosNode, msg_type: type, topic: str, keep: int = 1000) -> None:
        self.topic = topic
        self.msgs: deque[tuple[int, Any]] = deque(maxlen=keep)
        ros.subscribe(msg_type, topic, self._on_msg, RECORD_QOS)

    def _on_msg(self, msg: Any) -> None:
        stamp = stamp_to_ns(msg.header.stamp) if hasattr(msg, "header") else time.time_ns()
        self.msgs.append((stamp, msg))

    def after(self, t_ns: int) -> list[tuple[int, Any]]:
        return [(s, m) for s, m in list(self.msgs) if s > t_ns]

    def first_after(self, t_ns: int, timeout: float = 5.0) -> Any:
        wait_until(lambda: self.after(t_ns), timeout, f"a message on {self.topic}")
        return self.after(t_ns)[0][1]

    def count_over(self, seconds: float) -> list[tuple[int, Any]]:
        """The messages stamped during the next ``seconds`` (sim time is wall time here)."""
        start = time.time_ns()
        time.sleep(seconds)
        end = start + int(seconds * 1e9)
        return [(s, m) for s, m in self.after(start) if s <= end]


def positions(msg: JointState, names: list[str]) -> np.ndarray:
    by_name = dict(zip(msg.name, msg.position, strict=True))
    return np.array([by_name[n] for n in names])


class Sim:
    """This process's side of the test: a node that records what sim_robot publishes and sends
    it commands, parameters and reset requests, plus the policy's copy of the env."""

    def __init__(self, proc: RobotProcess) -> None:
        self.proc = proc
        self.ros = RosNode("test_sim_robot")
        self.joints = Recorder(self.ros, JointState, CONFIG.joint_states_topic)
        self.images = Recorder(self.ros, Image, CAMERA.image_topic, keep=40)
        self.infos = Recorder(self.ros, CameraInfo, CAMERA.info_topic)
        self.depths = Recorder(self.ros, Image, CAMERA.depth_topic, keep=40)
        self.success = Recorder(self.ros, Bool, "/sim_robot/task/success")
        self.arm = self.ros.publisher(JointTrajectory, CONFIG.controllers["arm"].command_topic)
        self.gripper = self.ros.publisher(
            Float64MultiArray, CONFIG.controllers["gripper"].command_topic
        )
        self.params = AsyncParameterClient(self.ros.node, "/sim_robot")
        self.reset = self.ros.node.create_client(Trigger, "/sim_robot/reset_scene")
        self.policy_env = gym.make(
            "PickCube-v1", robot_uids="panda", obs_mode="none", sim_backend="physx_cpu"
        )
        try:
            self.initial: JointState = self.joints.first_after(0, timeout=60.0)
            self.initial_depth = depth_from_image(self.depths.first_after(0, timeout=30.0)).copy()
            assert self.reset.wait_for_service(timeout_sec=10.0)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.policy_env.close()
        self.ros.close()

    def set(self, **values: Any) -> None:
        params = [
            Parameter(k, Parameter.Type.STRING_ARRAY, v)
            if isinstance(v, list)
            else Parameter(k, value=v)
            for k, v in values.items()
        ]
        for r in result(self.params.set_parameters(params)).results:
            assert r.successful, r.reason

    def reset_scene(self, seed: int) -> int:
        """Reset sim_robot's scene to ``seed``; returns the wall time (ns) it was done by."""
        self.set(seed=seed)
        response = result(self.reset.call_async(Trigger.Request()))
        assert response.success, response.message
        return time.time_ns()

    def latest(self, names: list[str]) -> np.ndarray:
        return positions(self.joints.msgs[-1][1], names)

    def expected_qpos(self, seed: int) -> np.ndarray:
        """The policy's sim env after ``reset(seed)``: the pose sim_robot must reset to."""
        self.policy_env.reset(seed=seed)
        return self.policy_env.unwrapped.agent.robot.get_qpos()[0].numpy()

    def send_arm(self, targets: np.ndarray, after: float) -> None:
        point = JointTrajectoryPoint(positions=list(targets), time_from_start=duration_msg(after))
        self.arm.publish(JointTrajectory(joint_names=ARM, points=[point]))


@pytest.fixture(scope="class")
def sim(start_shared_robot: Callable[..., RobotProcess]) -> Iterator[Sim]:
    client = Sim(
        start_shared_robot(
            "sim_robot",
            seed=0,
            camera_fov=FOV,
            camera_width=WIDTH,
            camera_height=HEIGHT,
            reset_scene_service=True,
        )
    )
    try:
        yield client
    finally:
        client.close()


class TestSimRobot:
    def test_joint_states_at_the_configured_rate(self, sim: Sim) -> None:
        """100 Hz /joint_states naming every config joint, stamped with sim time, which is
        wall time here (count_over counts by stamp within a wall-clock window)."""
        msgs = sim.joints.count_over(1.0)
        assert 85 <= len(msgs) <= 105
        assert all(set(m.name) == set(CONFIG.joints.values()) for _, m in msgs)
        assert np.all(np.diff([s for s, _ in msgs]) > 0)

    def test_clock_publishes_sim_time(self, sim: Sim) -> None:
        """/clock ticks once per physics step (PickCube: 100 Hz) with the sim time that stamps
        /joint_states; without use_sim_time that is the wall time."""
        clock = Recorder(sim.ros, Clock, "/clock")
        wait_until(lambda: len(clock.msgs) > 50, 5.0, "/clock")
        ticks = np.array([stamp_to_ns(m.clock) for _, m in list(clock.msgs)])
        steps = np.diff(ticks)
        assert np.median(steps) == 10_000_000 and np.all(steps % 10_000_000 == 0)
        assert abs(time.time_ns() - ticks[-1]) < 0.2e9
        assert stamp_to_ns(sim.joints.msgs[-1][1].header.stamp) in ticks

    def test_initial_pose_is_the_policy_envs(self, sim: Sim) -> None:
        """Before any command the robot holds the pose the policy's env resets to (seed 0)."""
        expected = sim.expected_qpos(0)
        joints = CONFIG.controlled_joints()  # the sim panda's order
        np.testing.assert_allclose(positions(sim.initial, joints), expected, atol=1e-3)
        np.testing.assert_allclose(sim.latest(joints), expected, atol=1e-3)

    def test_gripper_forward_command_moves_fingers(self, sim: Sim) -> None:
        """A gripper_controller Float64MultiArray closes both fingers to the commanded width."""
        sim.gripper.publish(Float64MultiArray(data=[0.01, 0.01]))
        wait_until(lambda: np.all(sim.latest(FINGERS) < 0.012), 2.0, "the fingers to close")
        sim.gripper.publish(Float64MultiArray(data=[0.04, 0.04]))
        wait_until(lambda: np.all(sim.latest(FINGERS) > 0.038), 2.0, "the fingers to open")

    def test_non_finite_forward_command_is_dropped(self, sim: Sim) -> None:
        """A command with a NaN is dropped (and logged) like forward_command_controller does:
        the fingers stay where they are, and the next valid command still works."""
        sim.gripper.publish(Float64MultiArray(data=[math.nan, 0.01]))
        time.sleep(0.5)
        np.testing.assert_allclose(sim.latest(FINGERS), 0.04, atol=2e-3)
        assert "Non-finite" in sim.proc.log()
        sim.gripper.publish(Float64MultiArray(data=[0.02, 0.02]))
        wait_until(lambda: np.all(sim.latest(FINGERS) < 0.022), 2.0, "the fingers to move")
        sim.gripper.publish(Float64MultiArray(data=[0.04, 0.04]))

    def test_trajectory_reaches_its_target_at_time_from_start(self, sim: Sim) -> None:
        """A one-point JointTrajectory is interpolated over time_from_start: joint 1 is about
        half-way after half the time and reaches the target at about time_from_start."""
        start = sim.latest(ARM)
        target = start.copy()
        target[0] += 0.3
        sent = time.time_ns()
        sim.send_arm(target, after=1.0)
        time.sleep(1.6)
        msgs = sim.joints.after(sent)
        track = np.array([(s - sent) * 1e-9 for s, _ in msgs])
        progress = np.array([(positions(m, ARM)[0] - start[0]) / 0.3 for _, m in msgs])
        assert 0.25 < np.interp(0.5, track, progress) < 0.7
        assert np.interp(0.8, track, progress) < 0.95
        reached = track[np.argmax(progress > 1 - 0.01 / 0.3)]  # within 0.01 rad
        assert 0.9 < reached < 1.5, reached
        np.testing.assert_allclose(sim.latest(ARM), target, atol=0.01)

    def test_empty_trajectory_is_rejected_and_the_arm_runs_on(self, sim: Sim) -> None:
        """An empty JointTrajectory is no hold: joint_trajectory_controller rejects it (its
        joints are not the controller's; logged) and the running trajectory reaches its target
        (validate_trajectory_msg, ros2_controllers' joint_trajectory_controller.cpp)."""
        rejected = "Joints on incoming trajectory don't match the controller joints."
        start = sim.latest(ARM)
        target = start.copy()
        target[0] -= 0.3
        sim.send_arm(target, after=2.0)
        wait_until(lambda: start[0] - sim.latest(ARM)[0] > 0.03, 5.0, "the arm to move")
        before = sim.proc.log().count(rejected)
        sim.arm.publish(JointTrajectory())
        wait_until(lambda: sim.proc.log().count(rejected) > before, 5.0, "the rejection")
        assert start[0] - sim.latest(ARM)[0] < 0.25, "the trajectory ended before the test"
        wait_until(
            lambda: np.allclose(sim.latest(ARM), target, atol=0.01), 10.0, "the arm's target"
        )

    def test_camera_frames_info_and_depth(self, sim: Sim) -> None:
        """rgb8 640x480 renders with a matching plumb_bob CameraInfo (K from the configured FOV,
        zero distortion), and 16UC1 depth in mm that sees the table plane and the cube where
        the policy env's camera pose and cube pose put them."""
        done = sim.reset_scene(0)
        image = sim.images.first_after(done)
        assert (image.encoding, image.width, image.height) == ("rgb8", WIDTH, HEIGHT)
        rgb = image_to_numpy(image)
        assert rgb.std() > 20 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100
        stamp = stamp_to_ns(image.header.stamp)
        info = next(m for s, m in sim.infos.after(done) if s == stamp)
        K = Intrinsics.from_fov(WIDTH, HEIGHT, FOV).K
        np.testing.assert_allclose(np.reshape(info.k, (3, 3)), K)
        np.testing.assert_allclose(np.reshape(info.p, (3, 4))[:, :3], K)
        assert info.distortion_model == "plumb_bob" and list(info.d) == [0.0] * 5
        assert (info.width, info.height) == (WIDTH, HEIGHT)

        depth_msg = sim.depths.first_after(done)
        assert depth_msg.encoding == "16UC1"
        depth = depth_from_image(depth_msg)
        sim.policy_env.reset(seed=0)
        env = sim.policy_env.unwrapped
        extrinsic = env.scene.sensors["base_camera"].get_params()["extrinsic_cv"][0].numpy()
        R, t = extrinsic[:, :3].astype(np.float64), extrinsic[:, 3].astype(np.float64)
        # The table top is the plane z = 0: the depth each pixel's ray meets it at.
        v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
        rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
        centre = -R.T @ t
        plane = -centre[2] / (rays @ R)[..., 2]  # world z of the ray direction, per pixel
        on_table = np.abs(depth - plane) < 0.01
        assert on_table.mean() > 0.4, f"only {on_table.mean():.0%} of pixels see the table"
        cube = R @ env.cube.pose.p[0].numpy() + t
        cu, cv = (K @ cube / cube[2])[:2].round().astype(int)
        assert cube[2] - 0.03 < depth[cv, cu] < cube[2] + 0.005
        assert depth[cv, cu] < plane[cv, cu] - 0.01

    def test_task_state_is_published(self, sim: Sim) -> None:
        """evaluate()'s booleans arrive on ~/task/<key> at the control rate (20 Hz)."""
        msgs = sim.success.count_over(1.0)
        assert 15 <= len(msgs) <= 22
        assert not msgs[-1][1].data

    def test_reset_restores_the_scene_of_a_seed(self, sim: Sim) -> None:
        """After moving the arm and gripper, ~/reset_scene puts the robot at the policy env's
        reset pose of the seed (and keeps it there: drives re-synced), and the scene renders
        as it did at start for the same seed but differently for another."""
        sim.send_arm(sim.latest(ARM) + 0.2, after=0.3)
        sim.gripper.publish(Float64MultiArray(data=[0.0, 0.0]))
        time.sleep(0.6)
        joints = CONFIG.controlled_joints()
        for seed in (1, 0):
            done = sim.reset_scene(seed)
            msg = sim.joints.first_after(done)
            np.testing.assert_allclose(positions(msg, joints), sim.expected_qpos(seed), atol=1e-3)
            time.sleep(0.5)
            np.testing.assert_allclose(sim.latest(joints), sim.expected_qpos(seed), atol=1e-3)
            depth = depth_from_image(sim.depths.first_after(time.time_ns()))
            changed = int((np.abs(depth - sim.initial_depth) > 0.002).sum())
            assert changed < 50 if seed == 0 else changed > 1000, changed  # seed 1: cube moved
        np.testing.assert_allclose(sim.latest(joints), positions(sim.initial, joints), atol=1e-3)

    def test_command_delay_delays_motion(self, sim: Sim) -> None:
        """With command_delay 0.5 s a gripper command takes effect only after 0.5 s."""
        sim.set(command_delay=0.5)
        try:
            sim.gripper.publish(Float64MultiArray(data=[0.01, 0.01]))
            time.sleep(0.4)
            np.testing.assert_allclose(sim.latest(FINGERS), 0.04, atol=2e-3)
            wait_until(lambda: np.all(sim.latest(FINGERS) < 0.012), 1.5, "the fingers to close")
        finally:
            sim.set(command_delay=0.0)
            sim.gripper.publish(Float64MultiArray(data=[0.04, 0.04]))

    def test_every_parameter_can_be_read(self, sim: Sim) -> None:
        """What `ros2 param dump /sim_robot` does: list every parameter, then get them all in
        one request; every one has a value (an unset one empties the whole answer) and a
        description, and only the runtime knobs (and rclpy's use_sim_time) are writable."""
        names = result(sim.params.list_parameters()).result.names
        assert "drop_topics" in names and "camera_rate" in names
        values = result(sim.params.get_parameters(names)).values
        assert len(values) == len(names)
        drop = values[names.index("drop_topics")]
        assert (
            drop.type == ParameterType.PARAMETER_STRING_ARRAY
            and list(drop.string_array_value) == []
        )
        writable = {
            "seed",
            "command_delay",
            "joint_state_noise",
            "camera_rate",
            "drop_topics",
            "object_pose_noise",
            "object_orientation_noise",
            "object_pose_latency",
            "object_pose_dropout",
        }
        for d in result(sim.params.describe_parameters(names)).descriptors:
            assert d.read_only == (d.name not in writable | {"use_sim_time"}), d.name
            assert d.description or d.name == "use_sim_time", d.name
        r = result(sim.params.set_parameters([Parameter("env_id", value="PushCube-v1")]))
        assert not r.results[0].successful and "read-only" in r.results[0].reason

    def test_drop_topics_stops_joint_states(self, sim: Sim) -> None:
        """drop_topics ['/joint_states'] silences /joint_states (cameras go on); [] restores."""
        sim.set(drop_topics=["/joint_states"])
        try:
            time.sleep(0.2)
            assert sim.joints.count_over(0.5) == []
            assert sim.infos.count_over(1.0) != []
        finally:
            sim.set(drop_topics=[])
        assert len(sim.joints.count_over(0.3)) > 20

    def test_joint_state_noise(self, sim: Sim) -> None:
        """joint_state_noise adds gaussian noise of that std to published positions only."""
        sim.set(joint_state_noise=0.01)
        try:
            noisy = np.array([positions(m, ARM) for _, m in sim.joints.count_over(0.8)])
        finally:
            sim.set(joint_state_noise=0.0)
        assert 0.006 < noisy.std(axis=0).mean() < 0.015
        still = np.array([positions(m, ARM) for _, m in sim.joints.count_over(0.5)])
        assert still.std(axis=0).max() < 1e-4

    def test_camera_rate_caps_frames(self, sim: Sim) -> None:
        """camera_rate caps rendered frames: about 10 fps by default, 2 fps when set to 2."""
        assert 6 <= len(sim.images.count_over(2.0)) <= 21
        sim.set(camera_rate=2.0)
        try:
            time.sleep(0.6)
            frames = sim.images.count_over(2.5)
        finally:
            sim.set(camera_rate=10.0)
        assert 3 <= len(frames) <= 6
        assert np.all(np.diff([s for s, _ in frames]) >= 0.49e9)

    def test_sigint_shuts_down_cleanly(self, sim: Sim) -> None:
        """SIGINT stops the node with exit code 0 and no traceback, after logging its timing."""
        sim.proc.stop()
        log = sim.proc.log()
        assert sim.proc.proc.returncode == 0, log
        assert "Traceback" not in log
        assert "real-time factor" in log


# ---------------------------------------------------------------------------------------------
# sim_robot in a namespace, remapped, on sim time
# ---------------------------------------------------------------------------------------------
LEFT_ARGS = ["-r", "__ns:=/left", "-r", "/left/camera/depth/image_rect_raw:=/left/depth"]
HOUR_NS = 3600 * 10**9
"""Sim time starts at 0; the system clock is decades past it."""
CLOCK_STEP_S = 0.01
"""PickCube's physics step (sim_freq 100), and sim_robot's /clock period. sim_robot publishes
/clock for t before the joint states stamped t, but two topics are two DDS readers: a reading
may still arrive one /clock message ahead. Through rclpy's executor-driven clock it was up to
50 ms ahead (ros/node.py ``now_ns``)."""


@pytest.fixture(scope="class")
def left_robot(start_shared_robot: Callable[..., RobotProcess]) -> RobotProcess:
    """sim_robot as a namespaced bringup would start it, with a remapped depth topic, on the
    time it publishes on /clock."""
    return start_shared_robot(
        "sim_robot",
        ros_args=LEFT_ARGS,
        robot_config="panda_sim",
        seed=0,
        use_sim_time=True,
        reset_scene_service=True,
    )


@pytest.mark.usefixtures("left_robot")
class TestNamespacedOnSimTime:
    def test_camera_node_follows_namespace_remaps_and_sim_time(self) -> None:
        """The camera child process's node is /left/sim_robot_cameras on sim time, and it
        publishes where the parent's namespace and remapping rules put the camera topics."""
        ros = RosNode("test_left_cameras")
        try:
            images = Recorder(ros, Image, "/left/camera/color/image_raw", keep=5)
            depths = Recorder(ros, Image, "/left/depth", keep=5)
            image = images.first_after(0, timeout=60.0)
            depths.first_after(0, timeout=10.0)
            assert 0 < stamp_to_ns(image.header.stamp) < HOUR_NS
            node = ros.node
            publishers = node.get_publishers_info_by_topic("/left/camera/color/image_raw")
            assert [(p.node_name, p.node_namespace) for p in publishers] == [
                ("sim_robot_cameras", "/left")
            ]
            for topic in ("/camera/color/image_raw", "/left/camera/depth/image_rect_raw"):
                assert node.count_publishers(topic) == 0, topic
            params = AsyncParameterClient(node, "/left/sim_robot_cameras")
            assert params.wait_for_services(timeout_sec=10.0)
            value = result(params.get_parameters(["use_sim_time"])).values[0]
            assert value.bool_value
        finally:
            ros.close()

    def test_real_env_on_sim_time_in_the_namespace(self, tmp_path: Path) -> None:
        """``namespace: /left`` and ``use_sim_time: true`` in the config: RealEnv finds every
        topic and service under /left, and its input ages are on sim time (stamps and clock
        both under an hour), over 100 steps never ahead of the clock by more than one /clock
        message. Without use_sim_time the same stamps look decades old."""
        base = {"base": str(REPO / "config" / "panda_sim.yaml"), "namespace": "/left"}
        sim_time = tmp_path / "sim_time.yaml"
        sim_time.write_text(yaml.safe_dump({**base, "use_sim_time": True}))
        wall_time = tmp_path / "wall_time.yaml"
        wall_time.write_text(yaml.safe_dump(base))
        reset = "trigger:/left/sim_robot/reset_scene@/left/sim_robot/seed"

        env = RealEnv(policy_env(), robot_config=sim_time, scene_reset=reset)
        try:
            assert env.agent.task_topics["success"] == "/left/sim_robot/task/success"
            env.reset(seed=1)
            ages = []
            for _ in range(100):
                _, _, _, _, info = env.step(np.zeros(8, dtype=np.float32))
                ages.append(info["timing"]["ages"]["joint_states"])
            max_age = env.agent.config.joint_states_max_age
            assert -CLOCK_STEP_S <= min(ages) and max(ages) <= max_age, (min(ages), max(ages))
            assert 0 < env.agent.snapshot.stamps_ns["joint_states"] < HOUR_NS
            assert 0 < env.agent.ros.now_ns() < HOUR_NS
            assert not bool(info["success"][0])
        finally:
            env.close()

        env = RealEnv(policy_env(), robot_config=wall_time, scene_reset="none")
        try:
            with pytest.raises(StaleInputError, match="/left/joint_states"):
                env.reset(seed=1)
        finally:
            env.close()


def test_real_env_on_another_task(start_robot: Callable[..., RobotProcess]) -> None:
    """sim_robot running PushCube-v1 with the shipped panda_sim config, unedited: RealEnv on
    PushCube-v1 waits only for the task state PushCube reports (success), resets and steps."""
    start_robot(
        "sim_robot",
        env_id="PushCube-v1",
        robot_config="panda_sim",
        seed=0,
        reset_scene_service=True,
    )
    sim = gym.make(
        "PushCube-v1",
        obs_mode="state",
        control_mode="pd_joint_delta_pos",
        reward_mode="sparse",
        sim_backend="physx_cpu",
    )
    env = RealEnv(sim, robot_config="panda_sim", scene_reset=SIM_ROBOT_SCENE_RESET)
    try:
        obs, info = env.reset(seed=0)
        assert obs.shape == sim.observation_space.shape
        for _ in range(3):
            obs, reward, terminated, _, info = env.step(np.zeros(8, dtype=np.float32))
        assert not bool(info["success"][0]) and not bool(terminated[0])
        assert env.agent.task_topics == {"success": "/sim_robot/task/success"}
    finally:
        env.close()
        sim.close()
