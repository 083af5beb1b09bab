"""Cameras through RealEnv over real DDS: several cameras, depth, sync info, and the errors.

The robot is the mock hardware process (the stand-in for a physical robot and its camera
drivers). Where a test needs a camera that misbehaves (an unknown encoding, a driver that stops),
the test process itself plays that camera driver and publishes Image + CameraInfo; that is
the only thing faked, because no physical camera exists here.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from ros_helpers import policy_env
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.core.camera import CameraFovError, Intrinsics
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import StaleInputError
from maniskill_real.ros.image import (
    UnsupportedEncodingError,
    camera_info_from_intrinsics,
    numpy_to_image,
)
from maniskill_real.ros.node import STATE_QOS, RosNode

REPO = Path(__file__).resolve().parent.parent
# PickCube's initial qpos in the mock's joint order (the reversed config order), so resets are
# short.
NEAR_HOME = [0.04, 0.04, 0.7854, 2.3562, 0.0, -1.9635, 0.0, 0.3927, 0.0]


def write_config(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump({"base": str(REPO / "config" / "panda_mock.yaml"), **overrides}))
    return path


def make_env(config: Path, obs_mode: str = "rgb", robot_uid: str = "panda") -> RealEnv:
    sim = policy_env(obs_mode=obs_mode, robot_uids=robot_uid)
    return RealEnv(sim, robot_config=config, scene_reset="none")


class CommandSpy:
    """Counts every command message on the config's controller topics."""

    def __init__(self) -> None:
        self.ros = RosNode("command_spy")
        self.count = 0
        self.ros.subscribe(JointTrajectory, "arm_controller/joint_trajectory", self._on)
        self.ros.subscribe(Float64MultiArray, "gripper_controller/commands", self._on)

    def _on(self, _msg: object) -> None:
        self.count += 1

    def close(self) -> None:
        self.ros.close()


class FakeCameraDriver:
    """The test plays a camera driver: publishes until ``stop()``, then falls silent."""

    def __init__(self, encoding: str = "rgb8", rate: float = 20.0) -> None:
        """``encoding``: an Image encoding, or "jpeg" for image_transport's compressed topic."""
        self.ros = RosNode("fake_camera_driver")
        self.intr = Intrinsics.from_fov(640, 480, 1.75)
        if encoding == "jpeg":
            topic, msg_type = "/camera/color/image_raw/compressed", CompressedImage
        else:
            topic, msg_type = "/camera/color/image_raw", Image
        self.image = self.ros.publisher(msg_type, topic, STATE_QOS)
        self.info = self.ros.publisher(CameraInfo, "/camera/color/camera_info", STATE_QOS)
        channels = 2 if encoding == "yuv422" else 3
        self.frame = np.zeros((480, 640, channels), dtype=np.uint8)
        self.frame[:, 320:] = 200  # right half bright: an image whose alignment can be checked
        self.encoding = encoding
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(1.0 / rate,), daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            stamp = self.ros.node.get_clock().now().to_msg()
            if self.encoding == "jpeg":
                ok, data = cv2.imencode(".jpg", self.frame)
                msg = CompressedImage(format="rgb8; jpeg compressed bgr8", data=data.tobytes())
                msg.header.stamp = stamp
            elif self.encoding == "yuv422":  # not one numpy_to_image builds: assemble by hand
                msg = Image(height=480, width=640, encoding="yuv422", step=640 * 2)
                msg.data = self.frame.tobytes()
                msg.header.stamp = stamp
            else:
                msg = numpy_to_image(self.frame, self.encoding, stamp)
            self.image.publish(msg)
            self.info.publish(camera_info_from_intrinsics(self.intr, stamp))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        self.stop()
        self.ros.close()


def test_two_cameras_with_depth_and_sync_info(start_robot, tmp_path: Path) -> None:
    """A fixed and a wrist camera (panda_wristcam), rgb + depth: each arrives with the sim's
    shape and dtype (depth int16 mm with its channel), the mock's flat 1 m depth plane reads
    1000 mm, and info carries every frame's age and its skew to the joint states. A step
    keeps each camera's aligner (its CameraInfo did not change)."""
    cameras = {
        name: {
            "image_topic": f"/{name}/color/image_raw",
            "info_topic": f"/{name}/color/camera_info",
            "depth_topic": f"/{name}/depth/image_rect_raw",
        }
        for name in ("base_camera", "hand_camera")
    }
    config = write_config(tmp_path, robot_uid="panda_wristcam", cameras=cameras)
    start_robot("mock_hardware", robot_config=str(config), initial_positions=NEAR_HOME)
    env = make_env(config, obs_mode="rgb+depth", robot_uid="panda_wristcam")
    try:
        obs, info = env.reset(seed=0)
        aligners = env.agent.camera_aligners()
        obs, _, _, _, info = env.step(np.zeros(8, dtype=np.float32))
        assert sorted(aligners) == sorted(cameras)
        assert all(env.agent.camera_aligners()[n] is a for n, a in aligners.items())
        sim_obs, _ = env.sim_env.reset(seed=0)
        for name in cameras:
            real, sim = obs["sensor_data"][name], sim_obs["sensor_data"][name]
            for kind in ("rgb", "depth"):
                assert real[kind].shape == sim[kind].shape
                assert real[kind].dtype == sim[kind].dtype
            assert (real["depth"] == 1000).all()
            for kind in ("rgb", "depth"):
                assert 0 <= info["timing"]["ages"][f"{name}/{kind}"] < 0.5
                assert abs(info["timing"]["skew"][f"{name}/{kind}"]) < 0.5
        params = obs["sensor_param"]["hand_camera"]
        assert params["intrinsic_cv"].shape == (1, 3, 3)
        assert params["cam2world_gl"].shape == (1, 4, 4)
    finally:
        env.close()


def test_narrow_real_camera_fails_before_motion(start_robot, tmp_path: Path) -> None:
    """A real camera narrower than the sim camera raises CameraFovError naming both fields of
    view, during reset and before any command is published; close() then publishes none
    either."""
    start_robot("mock_hardware", camera_fov=0.8, initial_positions=NEAR_HOME)
    spy = CommandSpy()
    env = make_env(write_config(tmp_path))
    try:
        with pytest.raises(CameraFovError) as err:
            env.reset(seed=0)
        assert "Real FOV" in str(err.value) and "sim FOV" in str(err.value)
        assert spy.count == 0
        env.close()
        time.sleep(0.3)
        assert spy.count == 0
    finally:
        env.close()
        spy.close()


def test_unknown_encoding_fails_before_motion(start_robot, tmp_path: Path) -> None:
    """An image in an encoding RealEnv can't decode (yuv422) raises a clear error naming it,
    before anything moves. The test process plays the camera driver."""
    start_robot("mock_hardware", publish_camera=False, initial_positions=NEAR_HOME)
    camera = FakeCameraDriver("yuv422")
    spy = CommandSpy()
    env = make_env(write_config(tmp_path))
    try:
        with pytest.raises(UnsupportedEncodingError, match="yuv422"):
            env.reset(seed=0)
        assert spy.count == 0
    finally:
        env.close()
        spy.close()
        camera.close()


def test_camera_that_stops_is_stale(start_robot, tmp_path: Path) -> None:
    """When the camera driver falls silent, the next step raises StaleInputError naming the
    image topic and its age. The test process plays the camera driver."""
    start_robot("mock_hardware", publish_camera=False, initial_positions=NEAR_HOME)
    camera = FakeCameraDriver("bgr8")
    env = make_env(write_config(tmp_path))
    try:
        env.reset(seed=0)
        env.step(np.zeros(8, dtype=np.float32))
        camera.stop()
        with pytest.raises(StaleInputError, match="/camera/color/image_raw") as err:
            for _ in range(30):  # max_age 0.5 s = 10 steps at 20 Hz
                env.step(np.zeros(8, dtype=np.float32))
        assert err.value.age > err.value.max_age
    finally:
        env.close()
        camera.close()


def test_compressed_colour_topic(start_robot, tmp_path: Path) -> None:
    """``compressed: true`` reads <image_topic>/compressed (image_transport's jpeg): the frame
    decodes and aligns like a raw one (the right half stays bright around the centre line). The
    test process plays the camera driver."""
    start_robot("mock_hardware", publish_camera=False, initial_positions=NEAR_HOME)
    camera = FakeCameraDriver("jpeg")
    cameras = {
        "base_camera": {
            "image_topic": "/camera/color/image_raw",
            "info_topic": "/camera/color/camera_info",
            "compressed": True,
        }
    }
    env = make_env(write_config(tmp_path, cameras=cameras))
    try:
        obs, _ = env.reset(seed=0)
        rgb = obs["sensor_data"]["base_camera"]["rgb"][0].numpy().astype(int)
        assert rgb.shape == (128, 128, 3)
        assert np.abs(rgb[:, 70:] - 200).max() <= 8  # jpeg's ringing stays small
        assert np.abs(rgb[:, :58]).max() <= 8
    finally:
        env.close()
        camera.close()


def test_camera_check_reports_and_writes_overlays(start_robot, tmp_path: Path) -> None:
    """``maniskill-real camera-check`` against the mock's camera prints both intrinsics and
    fields of view and writes the aligned | sim | overlay image."""
    start_robot("mock_hardware", initial_positions=NEAR_HOME)
    exe = Path(sys.executable).parent / "maniskill-real"
    out = subprocess.run(
        [str(exe), "camera-check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "real  640x480" in out.stdout and "sim   128x128" in out.stdout
    assert "FOV" in out.stdout
    overlay = cv2.imread(str(tmp_path / "base_camera_overlay.png"))
    assert overlay.shape == (128, 3 * 128, 3)


class FixedTopic:
    """A ``Latest`` that always holds one message (the test swaps it by hand)."""

    def __init__(self, msg: object, topic: str) -> None:
        self.msg, self.topic = msg, topic

    def get(self) -> tuple[object, int, float]:
        return self.msg, 1, 0.01


def test_a_frame_is_aligned_once_however_many_steps_read_it(monkeypatch) -> None:
    """A camera slower than the control rate hands several steps one message: it is decoded
    and aligned once; each step gets its own copy (changing one observation in place leaves
    the next alone); a new message is aligned anew."""
    from maniskill_real.config import load_robot_config
    from maniskill_real.env.sim_bridge import sensor_configs
    from maniskill_real.ros.inputs import CameraInput, Snapshot

    intr = Intrinsics.from_fov(640, 480, 1.75)
    rgb = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    msgs = {
        "image_raw": numpy_to_image(rgb, "rgb8"),
        "camera_info": camera_info_from_intrinsics(intr),
        "image_rect_raw": numpy_to_image(np.full((480, 640), 900, np.uint16), "16UC1"),
    }
    topics: dict[str, FixedTopic] = {}

    class Ros:
        def latest(self, msg_type: type, topic: str) -> FixedTopic:
            name = topic.rsplit("/", 1)[-1]
            topics[name] = FixedTopic(msgs[name], topic)
            return topics[name]

    config = load_robot_config("panda")
    sim = policy_env(obs_mode="rgbd")
    try:
        sim_camera = sensor_configs(sim.unwrapped)["base_camera"]
    finally:
        sim.close()
    camera = CameraInput(
        Ros(), config.cameras["base_camera"].resolved(config.topic), sim_camera, True, True
    )
    aligned: list[str] = []
    align = CameraInput._align
    monkeypatch.setattr(
        CameraInput, "_align", staticmethod(lambda k, i, a: aligned.append(k) or align(k, i, a))
    )
    first = camera.frames(Snapshot(np.zeros(9), np.zeros(9)))
    first["rgb"] += 1
    second = camera.frames(Snapshot(np.zeros(9), np.zeros(9)))
    assert aligned == ["rgb", "depth"]
    assert (second["depth"] == 900).all() and not torch.equal(first["rgb"], second["rgb"])
    topics["image_raw"].msg = numpy_to_image(rgb, "rgb8")
    camera.frames(Snapshot(np.zeros(9), np.zeros(9)))
    assert aligned == ["rgb", "depth", "rgb"]
