"""Camera extrinsics from TF over real DDS: the TF buffer's lookups, and RealEnv's sensor_param.

The test process plays the robot's TF publishers (robot_state_publisher and a static camera
mount) from a node of its own; the buffer and RealEnv read them through DDS like any other
subscriber. Expected poses are built with scipy, independently of the buffer's own maths.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import TransformStamped
from ros_helpers import policy_env
from scipy.spatial.transform import Rotation
from tf2_msgs.msg import TFMessage

from maniskill_real.config import ConfigError, load_robot_config
from maniskill_real.env.real_env import RealEnv
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.tf import TF_QOS, TF_STATIC_QOS, TfBuffer, TfLookupError

REPO = Path(__file__).resolve().parent.parent
NEAR_HOME = [0.04, 0.04, 0.7854, 2.3562, 0.0, -1.9635, 0.0, 0.3927, 0.0]
DISCOVERY_S = 5.0

# parent, child, translation, quaternion (x, y, z, w)
WORLD_BASE = ("world", "base", (0.5, -0.2, 0.1), (0.0, 0.0, 0.3826834, 0.9238795))
BASE_CAMERA = (
    "base",
    "camera_optical",
    (0.3, 0.1, 0.8),
    tuple(Rotation.from_euler("xyz", [-2.2, 0.1, 1.4]).as_quat()),
)


def pose(translation: tuple[float, ...], quat: tuple[float, ...]) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = Rotation.from_quat(quat).as_matrix()
    out[:3, 3] = translation
    return out


def stamped(
    ros: RosNode, parent: str, child: str, t: tuple[float, ...], q: tuple[float, ...]
) -> TransformStamped:
    msg = TransformStamped()
    msg.header.stamp = ros.node.get_clock().now().to_msg()
    msg.header.frame_id, msg.child_frame_id = parent, child
    msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = t
    r = msg.transform.rotation
    r.x, r.y, r.z, r.w = (float(v) for v in q)
    return msg


class TfPublisher:
    """The robot's TF: one latched /tf_static message (as tf2's static broadcaster sends) and
    /tf messages on demand."""

    def __init__(self) -> None:
        self.ros = RosNode("tf_publisher")
        self.static = self.ros.publisher(TFMessage, "/tf_static", TF_STATIC_QOS)
        self.dynamic = self.ros.publisher(TFMessage, "/tf", TF_QOS)

    def publish_static(self, *edges: tuple) -> None:
        self.static.publish(TFMessage(transforms=[stamped(self.ros, *e) for e in edges]))

    def publish(self, *edges: tuple) -> None:
        self.dynamic.publish(TFMessage(transforms=[stamped(self.ros, *e) for e in edges]))

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def tf_pub() -> Iterator[TfPublisher]:
    pub = TfPublisher()
    yield pub
    pub.close()


@pytest.fixture
def listener() -> Iterator[RosNode]:
    ros = RosNode("tf_listener")
    yield ros
    ros.close()


def wait_for_pose(buffer: TfBuffer, target: str, source: str, want: np.ndarray) -> np.ndarray:
    """The lookup once it matches ``want`` (a newer message may still be in flight)."""
    deadline = time.monotonic() + DISCOVERY_S
    got = buffer.lookup(target, source, timeout=DISCOVERY_S)
    while not np.allclose(got, want, atol=1e-6) and time.monotonic() < deadline:
        time.sleep(0.02)
        got = buffer.lookup(target, source)
    return got


def test_lookup_composes_static_and_dynamic_chains(tf_pub: TfPublisher, listener: RosNode) -> None:
    """Static edges published before the buffer existed still arrive (transient_local); a
    lookup composes the chain in either direction and through a common ancestor, and a moving
    edge always reads its newest transform."""
    tf_pub.publish_static(WORLD_BASE, BASE_CAMERA)
    buffer = TfBuffer(listener)
    world_T_cam = pose(*WORLD_BASE[2:]) @ pose(*BASE_CAMERA[2:])

    got = buffer.lookup("world", "camera_optical", timeout=DISCOVERY_S)
    np.testing.assert_allclose(got, world_T_cam, atol=1e-6)
    np.testing.assert_allclose(
        buffer.lookup("camera_optical", "world"), np.linalg.inv(world_T_cam), atol=1e-6
    )
    np.testing.assert_allclose(buffer.lookup("base", "base"), np.eye(4))

    # A moving tool under base: camera <- base -> tool meets at base, not at the root.
    assert tf_pub.ros.wait_for_subscribers(tf_pub.dynamic, DISCOVERY_S)  # /tf keeps nothing
    for step in range(3):
        quat = (0.0, np.sin(step / 4), 0.0, np.cos(step / 4))
        tool = ("base", "tool", (0.1 * step, 0.2, 0.3), quat)
        tf_pub.publish(tool)
        want = np.linalg.inv(pose(*BASE_CAMERA[2:])) @ pose(*tool[2:])
        np.testing.assert_allclose(
            wait_for_pose(buffer, "camera_optical", "tool", want), want, atol=1e-6
        )
    assert buffer.frames() == ["base", "camera_optical", "tool", "world"]


def test_lookup_without_path_names_the_frames(tf_pub: TfPublisher, listener: RosNode) -> None:
    """Two trees that do not connect, and a frame nobody publishes: the error names both
    frames of the lookup and every frame the buffer knows."""
    tf_pub.publish_static(WORLD_BASE, ("table", "marker", (0, 0, 0), (0, 0, 0, 1)))
    buffer = TfBuffer(listener)
    buffer.lookup("world", "base", timeout=DISCOVERY_S)
    buffer.lookup("table", "marker", timeout=DISCOVERY_S)
    with pytest.raises(TfLookupError) as err:
        buffer.lookup("world", "marker", timeout=0.2)
    for frame in ("'world'", "'marker'", "base", "table"):
        assert frame in str(err.value)
    with pytest.raises(TfLookupError, match="'camera_optical'"):
        buffer.lookup("camera_optical", "camera_optical", timeout=0.0)


def write_config(tmp_path: Path, base_camera: dict) -> Path:
    path = tmp_path / "robot.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": str(REPO / "config" / "panda_mock.yaml"),
                "cameras": {"base_camera": base_camera},
            }
        )
    )
    return path


CAMERA = {
    "image_topic": "/camera/color/image_raw",
    "info_topic": "/camera/color/camera_info",
}


def test_tf_frames_config_is_validated(tmp_path: Path) -> None:
    """tf_frames needs both frames and excludes cam2world; errors name the file and key."""
    frames = {"world": "world", "camera": "camera_optical"}
    cfg = load_robot_config(write_config(tmp_path, {**CAMERA, "tf_frames": frames}))
    assert cfg.cameras["base_camera"].tf_frames.camera == "camera_optical"
    bad = [
        ({"world": "world"}, "cameras.base_camera.tf_frames.camera"),
        ({**frames, "parent": "x"}, "cameras.base_camera.tf_frames.parent"),
        ("world", "cameras.base_camera.tf_frames"),
    ]
    for tf_frames, key in bad:
        path = write_config(tmp_path, {**CAMERA, "tf_frames": tf_frames})
        with pytest.raises(ConfigError, match=f"robot.yaml: key '{key}'"):
            load_robot_config(path)
    both = {**CAMERA, "tf_frames": frames, "cam2world": np.eye(4).tolist()}
    with pytest.raises(ConfigError, match="key 'cameras.base_camera.tf_frames'.*not both"):
        load_robot_config(write_config(tmp_path, both))


def test_real_env_extrinsics_from_tf(start_robot, tf_pub: TfPublisher, tmp_path: Path) -> None:
    """With tf_frames on base_camera, RealEnv's sensor_param carries the inverse of the camera
    pose that TF publishes (world <- base <- camera_optical), not the sim camera's."""
    config = write_config(
        tmp_path, {**CAMERA, "tf_frames": {"world": "world", "camera": "camera_optical"}}
    )
    start_robot("mock_hardware", robot_config=str(config), initial_positions=NEAR_HOME)
    tf_pub.publish_static(WORLD_BASE, BASE_CAMERA)
    env = RealEnv(policy_env(obs_mode="rgb"), robot_config=config, scene_reset="none")
    try:
        obs, _ = env.reset(seed=0)
        params = obs["sensor_param"]["base_camera"]
        world_T_cam = pose(*WORLD_BASE[2:]) @ pose(*BASE_CAMERA[2:])
        want = np.linalg.inv(world_T_cam)[:3]
        assert params["extrinsic_cv"].shape == (1, 3, 4)
        np.testing.assert_allclose(params["extrinsic_cv"][0].numpy(), want, atol=1e-5)
    finally:
        env.close()
