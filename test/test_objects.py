"""Object poses from the robot's world (issue 11): config, the no-silent-beliefs check, and the
twin's actors synced from PoseStamped topics, over real DDS.

The robots are real processes: ``sim_robot`` (ManiSkill physics; its ``~/objects/<actor>`` topics
are a perfect perception node) or ``mock_hardware`` (joints only). Where a test needs a
perception node that sends NaN or falls silent on cue, this process publishes the PoseStamped
itself: that is the one thing faked, since no perception node exists here.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from geometry_msgs.msg import PoseStamped, TransformStamped
from ros_helpers import RECORD_QOS, policy_env, wait_until
from std_msgs.msg import Bool
from tf2_msgs.msg import TFMessage

from maniskill_real.config import load_robot_config
from maniskill_real.core.grasp import is_grasped
from maniskill_real.core.poses import compose, matrix_to_raw_pose, offset_pose, raw_pose
from maniskill_real.env import sim_bridge
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import ConfigError, InvalidInputError, StaleInputError
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import stamp_to_ns, time_msg
from maniskill_real.ros.tf import TF_QOS, TF_STATIC_QOS
from maniskill_real.tools.rollout import parity
from maniskill_real.tools.scripted import PHASES

REPO = Path(__file__).resolve().parent.parent
SCENE_RESET = "trigger:/sim_robot/reset_scene@/sim_robot/seed"
SEED = 0
NOISE = 0.002  # m: sim_robot's object_pose_noise in the pose test
PERCEPTION = "/perception/cube"


def write_config(tmp_path: Path, base: str, **keys: Any) -> Path:
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump({"base": str(REPO / "config" / base), **keys}))
    return path


def sim_config(tmp_path: Path, **keys: Any) -> Path:
    """panda_sim.yaml (cube from sim_robot's pose topic) without cameras: state observations
    need none, and rendering would compete with physics for the CPU."""
    return write_config(tmp_path, "panda_sim.yaml", cameras={}, **keys)


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objects", "key"),
    [
        ({"cube": {}}, "objects.cube"),
        ({"cube": {"topic": "a", "tf_frame": "b", "world_frame": "c"}}, "objects.cube"),
        ({"cube": {"topic": "a", "sim_belief": True}}, "objects.cube.sim_belief"),
        ({"cube": {"tf_frame": "cube"}}, "objects.cube.world_frame"),
        ({"cube": {"topic": "a", "offset": {"xyzw": [0, 0, 0, 2]}}}, "objects.cube.offset.xyzw"),
        ({"cube": {"topic": "a", "offset": {"xyz": [0, 0]}}}, "objects.cube.offset.xyz"),
        ({"cube": {"topic": "a", "max_age": 0}}, "objects.cube.max_age"),
        ({"cube": {"topic": "a", "colour": "red"}}, "objects.cube.colour"),
        ({"cube": {"topic": "no//pe"}}, "objects.cube.topic"),
    ],
)
def test_objects_config_is_validated(tmp_path: Path, objects: dict, key: str) -> None:
    path = write_config(tmp_path, "panda.yaml", objects=objects)
    with pytest.raises(ConfigError, match=f"robot.yaml: key '{key}'"):
        load_robot_config(path)


def test_grasp_estimator_config_and_rule(tmp_path: Path) -> None:
    fingers = ["panda_finger_joint1", "panda_finger_joint2"]
    good = {"joints": fingers, "opening": [0.005, 0.07], "min_effort": 5.0}
    config = load_robot_config(write_config(tmp_path, "panda.yaml", grasp_estimator=good))
    est = config.grasp_estimator
    assert est is not None and est.joints == tuple(fingers)
    squeeze = np.array([-20.0, -20.0])
    assert is_grasped(est.opening, est.min_effort, np.array([0.02, 0.02]), squeeze)
    assert not is_grasped(est.opening, est.min_effort, np.array([0.0, 0.001]), squeeze)  # empty
    assert not is_grasped(est.opening, est.min_effort, np.array([0.02, 0.02]), np.zeros(2))
    for bad, key in (
        ({**good, "joints": ["nope"]}, "grasp_estimator.joints"),
        ({**good, "opening": [0.07, 0.005]}, "grasp_estimator.opening"),
        ({**good, "min_effort": -1}, "grasp_estimator.min_effort"),
    ):
        with pytest.raises(ConfigError, match=f"key '{key}'"):
            load_robot_config(write_config(tmp_path, "panda.yaml", grasp_estimator=bad))
    with pytest.raises(ConfigError, match="key 'grasp_estimator'.*task_topics.is_grasped"):
        load_robot_config(
            write_config(
                tmp_path, "panda.yaml", grasp_estimator=good, task_topics={"is_grasped": "g"}
            )
        )


def test_pose_math_round_trips() -> None:
    """ROS xyzw -> ManiSkill wxyz, offsets composed, 4x4 -> raw pose."""
    half = math.sqrt(0.5)
    pose = raw_pose(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, half, half]))  # 90 deg z
    np.testing.assert_allclose(pose, [1, 2, 3, half, 0, 0, half])
    # a tag 2 cm above the cube centre, the cube turned 90 deg: the offset is in the tag frame
    moved = compose(pose, offset_pose((0.01, 0.0, -0.02, 0.0, 0.0, 0.0, 1.0)))
    np.testing.assert_allclose(moved[:3], [1.0, 2.01, 2.98], atol=1e-12)
    matrix = np.eye(4)
    matrix[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    matrix[:3, 3] = [1, 2, 3]
    np.testing.assert_allclose(matrix_to_raw_pose(matrix), pose, atol=1e-12)


# -- no silent beliefs ---------------------------------------------------------------------------
def test_state_env_without_a_pose_source_fails_before_anything_moves(tmp_path: Path) -> None:
    """panda.yaml maps no object: the state observation reads PickCube's cube from the twin, so
    RealEnv refuses to be built, naming the actor, the keys that read it and the config key.
    The check runs before the agent creates its node, so nothing reached any robot."""
    config = write_config(tmp_path, "panda.yaml")
    with pytest.raises(ConfigError, match=r"actor 'cube'.*key 'objects\.cube'") as err:
        RealEnv(policy_env(obs_mode="state"), robot_config=config, scene_reset="none")
    assert "obj_pose" in str(err.value) and "robot.yaml" in str(err.value)


def test_visual_env_needs_the_cube_only_for_unreported_evaluate_keys(tmp_path: Path) -> None:
    """An rgb observation doesn't read the cube, but evaluate() does (success, is_obj_placed):
    still an error, unless the robot side reports those keys itself (task topics)."""
    config = write_config(tmp_path, "panda.yaml")
    with pytest.raises(ConfigError, match=r"evaluate\(\) \(is_obj_placed, success\).*'cube'"):
        RealEnv(policy_env(obs_mode="rgb"), robot_config=config, scene_reset="none")
    topics = {"success": "world/success", "is_obj_placed": "world/placed"}
    config = write_config(tmp_path, "panda.yaml", task_topics=topics)
    env = RealEnv(policy_env(obs_mode="rgb"), robot_config=config, scene_reset="none")
    try:
        assert env.sim_belief == []
    finally:
        env.close()


def test_a_mapped_actor_the_sim_env_lacks_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, "panda.yaml", objects={"mug": {"topic": "mug"}})
    with pytest.raises(ConfigError, match=r"key 'objects\.mug'.*no non-static actor 'mug'.*cube"):
        RealEnv(policy_env(obs_mode="state"), robot_config=config, scene_reset="none")


def mock_params(config: Path) -> dict[str, object]:
    """mock_hardware as an ideal robot starting at PickCube's rest pose (seed 0), so resets
    are short; it orders initial positions as the config's controlled joints, reversed."""
    cfg = load_robot_config(config)
    env = policy_env()
    env.reset(seed=SEED)
    robot = env.unwrapped.agent.robot
    rest = dict(
        zip(
            [cfg.ros_joint(j.name) for j in robot.active_joints],
            robot.get_qpos()[0].tolist(),
            strict=True,
        )
    )
    env.close()
    return {
        "robot_config": str(config),
        "time_constant": 0.0,
        "publish_camera": False,
        "initial_positions": [rest[j] for j in reversed(cfg.controlled_joints())],
    }


def test_sim_belief_runs_and_info_flags_it(start_robot: Callable[..., Any], tmp_path: Path) -> None:
    """``objects.cube.sim_belief: true``: a state env runs on the twin's cube, and every info
    (reset and step) lists it under sim_belief."""
    config = write_config(
        tmp_path, "panda.yaml", cameras={}, objects={"cube": {"sim_belief": True}}
    )
    start_robot("mock_hardware", **mock_params(config))
    env = RealEnv(policy_env(obs_mode="state"), robot_config=config, scene_reset="none")
    try:
        _, info = env.reset(seed=SEED)
        assert info["sim_belief"] == ["cube"]
        for _ in range(3):
            *_, info = env.step(np.zeros(8, dtype=np.float32))
            assert info["sim_belief"] == ["cube"]
    finally:
        env.close()


# -- a perception node this process plays ------------------------------------------------------
class FakePerception:
    """Publishes ``pose`` (ROS position + xyzw) in ``frame`` on PERCEPTION at 50 Hz, stamped
    now plus ``ahead_s``, until ``silent``; any of them may be set wrong."""

    def __init__(self, pose: list[float]) -> None:
        self.ros = RosNode("fake_perception")
        self.pub = self.ros.publisher(PoseStamped, PERCEPTION, STATE_QOS)
        self.pose = pose
        self.frame = "world"
        self.ahead_s = 0.0
        self.silent = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            if self.silent.is_set():
                continue
            msg = PoseStamped()
            msg.header.stamp = time_msg(self.ros.now_ns() + int(self.ahead_s * 1e9))
            msg.header.frame_id = self.frame
            p, o = msg.pose.position, msg.pose.orientation
            p.x, p.y, p.z, o.x, o.y, o.z, o.w = (float(v) for v in self.pose)
            self.pub.publish(msg)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.ros.close()


@pytest.fixture
def perception() -> Iterator[FakePerception]:
    fake = FakePerception([0.05, -0.03, 0.02, 0.0, 0.0, 0.0, 1.0])
    yield fake
    fake.close()


def test_cube_pose_topic_syncs_the_twin_and_nan_or_silence_raise_naming_it(
    start_robot: Callable[..., Any], tmp_path: Path, perception: FakePerception
) -> None:
    """The cube's pose comes from PERCEPTION into obs and the twin, with its age in
    info["timing"]; a NaN pose, another frame or a stamp in the future raise InvalidInputError
    and a silent topic StaleInputError, each naming the topic."""
    config = write_config(
        tmp_path, "panda.yaml", cameras={}, objects={"cube": {"topic": PERCEPTION}}
    )
    start_robot("mock_hardware", **mock_params(config))
    env = RealEnv(policy_env(obs_mode="state_dict"), robot_config=config, scene_reset="none")
    zero = np.zeros(8, dtype=np.float32)
    try:
        obs, info = env.reset(seed=SEED)
        assert "sim_belief" not in info
        np.testing.assert_allclose(obs["extra"]["obj_pose"][0], [0.05, -0.03, 0.02, 1, 0, 0, 0])
        perception.pose = [0.1, 0.1, 0.02, 0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)]
        stamp = env.agent.snapshot.stamps_ns["object/cube"]
        while env.agent.snapshot.stamps_ns["object/cube"] == stamp:
            obs, _, _, _, info = env.step(zero)
        obs, _, _, _, info = env.step(zero)  # a message sent after the change, for sure
        half = math.sqrt(0.5)
        np.testing.assert_allclose(obs["extra"]["obj_pose"][0], [0.1, 0.1, 0.02, half, 0, 0, half])
        assert env.twin.cube.pose.p[0].tolist() == pytest.approx([0.1, 0.1, 0.02])
        assert 0 <= info["timing"]["ages"]["object/cube"] <= 0.25

        perception.pose = [math.nan, 0.1, 0.02, 0.0, 0.0, 0.0, 1.0]
        with pytest.raises(InvalidInputError, match=f"{PERCEPTION}: non-finite pose of 'cube'"):
            for _ in range(50):
                env.step(zero)

        latest = env.agent.inputs.objects.inputs[0].latest
        perception.pose = [0.05, -0.03, 0.02, 0.0, 0.0, 0.0, 1.0]
        perception.frame = "camera"
        wait_until(lambda: math.isfinite(latest.get()[0].pose.position.x), 5.0, "a finite pose")
        with pytest.raises(InvalidInputError, match=f"{PERCEPTION}: pose in frame 'camera'"):
            env.reset(seed=SEED)
        perception.frame, perception.ahead_s = "world", 1.0
        wait_until(lambda: latest.get()[0].header.frame_id == "world", 5.0, "frame world")
        with pytest.raises(InvalidInputError, match=f"{PERCEPTION}: stamped .* in the future"):
            env.reset(seed=SEED)
        perception.ahead_s = 0.0
        wait_until(lambda: latest.get()[2] >= 0, 5.0, "a stamp of now")
        env.reset(seed=SEED)
        perception.silent.set()
        with pytest.raises(StaleInputError, match=f"{PERCEPTION} is stale") as err:
            for _ in range(50):  # max_age 0.25 s = 5 steps at 20 Hz
                env.step(zero)
        assert err.value.topic == PERCEPTION
    finally:
        env.close()


# -- sim_robot publishes the truth -------------------------------------------------------------
class PoseRecorder:
    """Every PoseStamped sim_robot publishes for the cube, by stamp."""

    def __init__(self, ros: RosNode, topic: str) -> None:
        self.by_stamp: dict[int, PoseStamped] = {}
        ros.subscribe(PoseStamped, topic, self._on_msg, RECORD_QOS)

    def _on_msg(self, msg: PoseStamped) -> None:
        self.by_stamp[stamp_to_ns(msg.header.stamp)] = msg


def as_raw(msg: PoseStamped) -> np.ndarray:
    p, o = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z, o.w, o.x, o.y, o.z])


def test_state_obs_is_sim_robots_cube(start_robot: Callable[..., Any], tmp_path: Path) -> None:
    """PickCube in a state mode through RealEnv -> sim_robot, cube from ~/objects/cube with
    position noise: obj_pose is exactly the message RealEnv sampled (float32), and within the
    noise knob (5 sigma per axis) of where the pure sim puts the cube for this seed. Then the
    latency knob makes every pose older than max_age: StaleInputError names the topic."""
    config = sim_config(tmp_path)
    start_robot(
        "sim_robot",
        robot_config=str(config),
        seed=SEED,
        reset_scene_service=True,
        object_pose_noise=NOISE,
    )
    reference = policy_env(obs_mode="state_dict")
    expected, _ = reference.reset(seed=SEED)
    reference.close()
    true_cube = expected["extra"]["obj_pose"][0].numpy()
    env = RealEnv(policy_env(obs_mode="state_dict"), robot_config=config, scene_reset=SCENE_RESET)
    recorder = PoseRecorder(env.agent.ros, "/sim_robot/objects/cube")
    try:
        env.reset(seed=SEED)
        for _ in range(5):
            obs, _, _, _, info = env.step(np.zeros(8, dtype=np.float32))
            sampled = recorder.by_stamp[env.agent.snapshot.stamps_ns["object/cube"]]
            obj_pose = obs["extra"]["obj_pose"][0].numpy()
            np.testing.assert_allclose(obj_pose, as_raw(sampled).astype(np.float32), atol=1e-6)
            assert np.all(np.abs(obj_pose[:3] - true_cube[:3]) < 5 * NOISE), (obj_pose, true_cube)
            assert "object/cube" in info["timing"]["ages"]
        env.agent.ros.set_parameter("/sim_robot", "object_pose_latency", 0.5, 5.0)
        with pytest.raises(StaleInputError, match="/sim_robot/objects/cube is stale"):
            for _ in range(40):
                env.step(np.zeros(8, dtype=np.float32))
    finally:
        env.close()


class Pusher:
    """Closed loop on the observation alone (pd_ee_delta_pose): above a point 5 cm behind the
    cube (seen from the goal), down to 3.5 cm (the cube is 4 cm high), then through the cube
    towards the goal, at most 2 cm per step."""

    def __init__(self) -> None:
        self.phase = "above"

    def act(self, extra: dict) -> np.ndarray:
        tcp = np.asarray(extra["tcp_pose"][0, :3], dtype=np.float64)
        cube = np.asarray(extra["obj_pose"][0, :3], dtype=np.float64)
        goal = np.asarray(extra["goal_pos"][0], dtype=np.float64)
        direction = (goal[:2] - cube[:2]) / np.linalg.norm(goal[:2] - cube[:2])
        behind = np.array([*(cube[:2] - direction * 0.05), 0.035])
        waypoint = np.array([*behind[:2], 0.1])
        if self.phase == "above" and np.linalg.norm(tcp - waypoint) < 0.01:
            self.phase = "down"
        if self.phase == "down":
            waypoint = behind
            if abs(tcp[2] - behind[2]) < 0.01:
                self.phase = "push"
        if self.phase == "push":
            waypoint = np.array([*(goal[:2] - direction * 0.01), 0.035])
        delta = np.clip(waypoint - tcp, -0.02, 0.02) / 0.1  # 0.1 m per unit action
        return np.concatenate([delta, np.zeros(3), [-1.0]]).astype(np.float32)


def test_pushing_the_cube_shows_through_the_pose_topic(
    start_robot: Callable[..., Any], tmp_path: Path
) -> None:
    """PushCube-v1 on sim_robot with no task topics at all: the cube the robot pushes moves in
    the observation, and success comes from the sim's evaluate() on the twin whose cube is
    the pose topic's."""
    config = sim_config(tmp_path, task_namespace=None)
    start_robot(
        "sim_robot",
        robot_config=str(config),
        env_id="PushCube-v1",
        control_mode="pd_ee_delta_pose",
        seed=SEED,
        reset_scene_service=True,
    )
    sim = gym.make(
        "PushCube-v1",
        obs_mode="state_dict",
        control_mode="pd_ee_delta_pose",
        reward_mode="sparse",
        sim_backend="physx_cpu",
    )
    env = RealEnv(sim, robot_config=config, scene_reset=SCENE_RESET)
    try:
        assert env.agent.task_topics == {}, "success must not come from a task topic here"
        obs, info = env.reset(seed=SEED)
        start = obs["extra"]["obj_pose"][0, :3].numpy().copy()
        assert not info["success"].item()
        pusher = Pusher()
        for _ in range(100):
            obs, _, terminated, _, info = env.step(pusher.act(obs["extra"]))
            if info["success"].item():
                break
        moved = obs["extra"]["obj_pose"][0, :3].numpy()
        assert info["success"].item() and terminated.item(), (pusher.phase, start, moved)
        assert np.linalg.norm(moved[:2] - start[:2]) > 0.05
        np.testing.assert_allclose(env.twin.obj.pose.p[0].numpy(), moved, atol=1e-6)
    finally:
        env.close()


@pytest.mark.parametrize(
    ("env_id", "obs_mode", "obs_keys", "info_keys"),
    [
        # README "Objects": the keys each obs mode needs from the cube
        (
            "PickCube-v1",
            "state",
            ["obj_pose", "obj_to_goal_pos", "tcp_to_obj_pos"],
            ["is_obj_placed", "success"],
        ),
        ("PickCube-v1", "rgb", [], ["is_obj_placed", "success"]),
        ("PushCube-v1", "state", ["obj_pose"], ["success"]),
        ("PushCube-v1", "rgb", [], ["success"]),
    ],
)
def test_probe_finds_what_each_obs_mode_reads(
    env_id: str, obs_mode: str, obs_keys: list[str], info_keys: list[str]
) -> None:
    """The perturbation probe on the twin: only the cube is read (goal markers have no
    collision shapes, the table is never read), and the twin is left as it was."""
    env = gym.make(env_id, obs_mode=obs_mode, sim_backend="physx_cpu")
    base = env.unwrapped
    before = sim_bridge.non_static_poses(base)
    try:
        assert sim_bridge.actor_reads(base) == {"cube": (obs_keys, info_keys)}
        after = sim_bridge.non_static_poses(base)
        for name, pose in before.items():
            np.testing.assert_array_equal(after[name], pose)
    finally:
        env.close()


def test_grasp_estimator_reports_is_grasped_from_the_gripper(
    start_robot: Callable[..., Any], tmp_path: Path
) -> None:
    """PickCube's scripted grasp on sim_robot, with is_grasped from the gripper's opening and
    effort (/joint_states) instead of sim_robot's task topic: false while the open gripper
    approaches, true while it carries the cube (the pure sim's contact forces say so too)."""
    fingers = ["panda_finger_joint1", "panda_finger_joint2"]
    estimator = {"joints": fingers, "opening": [0.005, 0.075], "min_effort": 5.0}
    config = sim_config(tmp_path, grasp_estimator=estimator)
    start_robot("sim_robot", robot_config=str(config), seed=SEED, reset_scene_service=True)
    env = RealEnv(policy_env("pd_ee_delta_pose"), robot_config=config, scene_reset=SCENE_RESET)
    grasped: list[bool] = []
    try:
        assert "is_grasped" not in env.agent.task_topics
        pure, real, _ = parity(
            env, "PickCube-v1", SEED, on_step=lambda _, info: grasped.append(info["is_grasped"])
        )
    finally:
        env.close()
    assert pure.grasped and real.grasped
    approach = PHASES[0][1] + PHASES[1][1]
    flags = [bool(g) for g in grasped]
    assert not any(flags[:approach]), flags
    assert all(flags[-PHASES[-1][1] // 2 :]), flags


def test_is_grasping_comes_from_the_robot_and_the_twins_contacts_are_not_asked(
    start_robot: Callable[..., Any], tmp_path: Path
) -> None:
    """Only is_grasped reported (a task topic, which this process plays as the robot's world),
    success and the rest still from the twin: PickCube's evaluate() asks the real agent
    ``is_grasping``, which answers the topic's value; the twin's contact forces are never
    queried by a step. info and the observation both follow the topic."""
    config = write_config(
        tmp_path,
        "panda.yaml",
        cameras={},
        objects={"cube": {"sim_belief": True}},
        task_topics={"is_grasped": "/world/grasped"},
    )
    start_robot("mock_hardware", **mock_params(config))
    world = RosNode("fake_world")
    pub = world.publisher(Bool, "/world/grasped", STATE_QOS)
    grasped = threading.Event()
    stop = threading.Event()

    def publish() -> None:
        while not stop.wait(0.02):
            pub.publish(Bool(data=grasped.is_set()))

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = RealEnv(policy_env(obs_mode="state_dict"), robot_config=config, scene_reset="none")
    assert not [w for w in caught if "is_grasping" in str(w.message)]
    asked: list[bool] = []
    twin_answer = env.twin.agent.is_grasping
    env.twin.agent.is_grasping = lambda *a, **k: asked.append(True) or twin_answer(*a, **k)
    try:
        obs, info = env.reset(seed=SEED)
        assert not info["is_grasped"].item() and not obs["extra"]["is_grasped"].item()
        asked.clear()  # (the twin's own reset evaluates the sim env once: ManiSkill's reset)
        *_, info = env.step(np.zeros(8, dtype=np.float32))
        assert not info["is_grasped"].item()
        grasped.set()
        steps: list[tuple[Any, dict]] = []

        def stepped_grasped() -> bool:
            obs, *_, info = env.step(np.zeros(8, dtype=np.float32))
            steps.append((obs, info))
            return bool(info["is_grasped"].item())

        wait_until(stepped_grasped, 5.0, "is_grasped")
        obs, info = steps[-1]
        assert info["is_grasped"].item() and obs["extra"]["is_grasped"].item()
        assert "success" in info and "is_robot_static" in info  # still the twin's evaluate()
        assert asked == [], "the twin's contact forces were queried"
    finally:
        stop.set()
        thread.join()
        env.close()
        world.close()


def test_an_unreported_grasp_is_warned_about_before_anything_moves(tmp_path: Path) -> None:
    """PickCube asks is_grasping and nothing reports it: RealEnv warns at construction, naming
    the config keys; the real agent then answers the twin's (unchanging) contacts. PushCube
    asks no grasp: no warning."""
    topics = {"success": "world/success", "is_obj_placed": "world/placed"}
    config = write_config(tmp_path, "panda.yaml", task_topics=topics)
    with pytest.warns(UserWarning, match=r"Panda\.is_grasping.*'grasp_estimator'.*robot\.yaml"):
        env = RealEnv(policy_env(obs_mode="rgb"), robot_config=config, scene_reset="none")
    try:
        cube = env.twin.cube
        assert env.agent.is_grasping(cube).tolist() == env.twin.agent.is_grasping(cube).tolist()
    finally:
        env.close()
    push = gym.make("PushCube-v1", obs_mode="rgb", reward_mode="sparse", sim_backend="physx_cpu")
    config = write_config(tmp_path, "panda.yaml", task_topics={"success": "world/success"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RealEnv(push, robot_config=config, scene_reset="none").close()
    assert not [w for w in caught if "is_grasping" in str(w.message)]


def test_cube_pose_from_tf_with_an_offset(start_robot: Callable[..., Any], tmp_path: Path) -> None:
    """The cube tracked in TF (this process plays the tracker: a static world -> table edge and
    a moving table -> cube_tag at 50 Hz), the tag 2 cm above the cube's centre: obj_pose is
    world_T_table * table_T_tag * the offset, and a tracker that stops raises StaleInputError
    naming the TF lookup."""
    source = {"tf_frame": "cube_tag", "world_frame": "world", "offset": {"xyz": [0, 0, -0.02]}}
    config = write_config(tmp_path, "panda.yaml", cameras={}, objects={"cube": source})
    start_robot("mock_hardware", **mock_params(config))
    ros = RosNode("fake_tracker")
    stop = threading.Event()

    def edge(parent: str, child: str, xyz: list[float], xyzw: list[float]) -> Any:
        msg = TransformStamped()
        msg.header.stamp = time_msg(ros.now_ns())
        msg.header.frame_id, msg.child_frame_id = parent, child
        t, r = msg.transform.translation, msg.transform.rotation
        t.x, t.y, t.z = xyz
        r.x, r.y, r.z, r.w = xyzw
        return msg

    half = math.sqrt(0.5)
    table = ("world", "table", [0.1, 0.0, 0.0], [0.0, 0.0, half, half])  # turned 90 deg
    tag = ("table", "cube_tag", [0.05, 0.0, 0.04], [0.0, 0.0, 0.0, 1.0])
    static = ros.publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
    static.publish(TFMessage(transforms=[edge(*table)]))
    dynamic = ros.publisher(TFMessage, "/tf", TF_QOS)

    def track() -> None:
        while not stop.wait(0.02):
            dynamic.publish(TFMessage(transforms=[edge(*tag)]))

    thread = threading.Thread(target=track, daemon=True)
    thread.start()
    env = None
    try:
        env = RealEnv(policy_env(obs_mode="state_dict"), robot_config=config, scene_reset="none")
        obs, info = env.reset(seed=SEED)
        # world_T_tag: (0.1, 0, 0) + Rz(90)(0.05, 0, 0.04) = (0.1, 0.05, 0.04), turned 90 deg;
        # the offset is in the tag frame: 2 cm down.
        np.testing.assert_allclose(
            obs["extra"]["obj_pose"][0].numpy(), [0.1, 0.05, 0.02, half, 0, 0, half], atol=1e-6
        )
        assert "object/cube" in info["timing"]["ages"]
        stop.set()
        thread.join()
        with pytest.raises(StaleInputError, match="TF world -> cube_tag is stale"):
            for _ in range(50):
                env.step(np.zeros(8, dtype=np.float32))
    finally:
        stop.set()
        if env is not None:
            env.close()
        ros.close()
