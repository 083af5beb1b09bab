"""ManiSkill's RecordEpisode around and inside RealEnv: every episode written on close(), with the
sim env's env_info, and videos made of the robot's camera frames.

``mock_hardware`` runs as a separate process and publishes a moving test pattern on the camera
topic (a stand-in for the physical camera, which cannot exist here); a subscriber in this test
process records every published frame. The expected video frame of each step is that recorded
frame (found by the stamp the step sampled), aligned to the sim camera; the twin's own render
of the same camera shows a table and a cube, nothing like the pattern.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import imageio_ffmpeg
import numpy as np
import pytest
import yaml
from mani_skill.utils.wrappers.record import RecordEpisode
from ros_helpers import RECORD_QOS, policy_env, wait_until
from sensor_msgs.msg import Image

from maniskill_real.env import sim_bridge
from maniskill_real.env.real_env import RealEnv
from maniskill_real.ros.image import rgb_from_image
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import stamp_to_ns

REPO = Path(__file__).resolve().parents[1]
STEPS = 4
SEEDS = (0, 1)
# PickCube's rest pose (joint_states order of the mock: the config's controlled joints, reversed)
REST = [0.04, 0.04, np.pi / 4, 3 * np.pi / 4, 0.0, -5 * np.pi / 8, 0.0, np.pi / 8, 0.0]


class Frames:
    """Every Image published on the camera topic, by stamp."""

    def __init__(self, ros: RosNode, topic: str) -> None:
        self._lock = threading.Lock()
        self.by_stamp: dict[int, Image] = {}
        ros.subscribe(Image, topic, self._on_msg, RECORD_QOS)

    def _on_msg(self, msg: Image) -> None:
        with self._lock:
            self.by_stamp[stamp_to_ns(msg.header.stamp)] = msg

    def get(self, stamp: int) -> Image:
        wait_until(lambda: stamp in self.by_stamp, 5.0, f"the camera frame stamped {stamp}")
        with self._lock:
            return self.by_stamp[stamp]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    raw["reset"]["max_joint_speed"] = 2.0
    raw["safety"]["watchdog_timeout"] = 0  # the checks between steps would look like a stall
    raw["objects"] = {"cube": {"sim_belief": True}}  # mock_hardware has no world: panda_mock.yaml
    path = tmp_path_factory.mktemp("configs") / "fast.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="class")
def robot(start_shared_robot: Callable[..., Any], config: Path) -> Any:
    return start_shared_robot(
        "mock_hardware",
        robot_config=str(config),
        time_constant=0.0,
        command_delay=0.0,
        publish_camera=True,
        camera_rate=30.0,
        initial_positions=REST,
    )


@pytest.fixture
def frames() -> Frames:
    ros = RosNode("test_frames")
    yield Frames(ros, "/camera/color/image_raw")
    ros.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_episodes(env: Any, real: RealEnv, frames: Frames) -> list[list[np.ndarray]]:
    """Two short episodes; per episode, the frame each render showed, checked against the
    aligned published frame it came from."""
    episodes = []
    for seed in SEEDS:
        env.reset(seed=seed)
        shown = [_check_render(real, frames)]
        for _ in range(STEPS):
            env.step(np.zeros(8, dtype=np.float32))
            shown.append(_check_render(real, frames))
        episodes.append(shown)
    return episodes


def _check_render(real: RealEnv, frames: Frames) -> np.ndarray:
    image = real.render()[0].numpy()
    stamp = real.agent.snapshot.stamps_ns["base_camera/rgb"]
    aligner = real.agent.camera_aligners()["base_camera"]
    expected = aligner.align_rgb(np.ascontiguousarray(rgb_from_image(frames.get(stamp))))
    np.testing.assert_array_equal(image, expected)
    return image


def check_outputs(folder: Path, episodes: list[list[np.ndarray]], twin_view: np.ndarray) -> None:
    data = json.loads((folder / "traj.json").read_text())
    assert data["env_info"]["env_id"] == "PickCube-v1"
    assert data["env_info"]["env_kwargs"]["obs_mode"] == "rgb"
    assert [e["episode_seed"] for e in data["episodes"]] == list(SEEDS)
    with h5py.File(folder / "traj.h5") as h5:
        assert sorted(h5) == ["traj_0", "traj_1"]
        assert all(h5[f"traj_{i}"]["actions"].shape == (STEPS, 8) for i in range(2))
    for i, shown in enumerate(episodes):
        video = read_video(folder / f"{i}.mp4")
        assert len(video) == len(shown)
        for got, want in zip(video, shown, strict=True):
            # The robot's frame through a lossy codec (the test pattern is all edges), and the
            # best match among every frame the episode showed: this step's, not a neighbour's.
            assert psnr(got, want) > 20.0
            assert psnr(got, want) == max(psnr(got, other) for other in shown)
            assert psnr(got, twin_view) < 15.0  # not the simulated scene


def read_video(path: Path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]


def twin_camera_view(sim: Any) -> np.ndarray:
    base = sim.unwrapped
    base.reset(seed=0)
    return sim_bridge.render_sensor_data(base)["base_camera"]["rgb"][0].numpy()


@pytest.mark.usefixtures("robot")
class TestRecordEpisode:
    def test_inside_realenv_writes_every_episode_of_real_frames(
        self, tmp_path: Path, config: Path, frames: Frames
    ) -> None:
        """RecordEpisode applied to the sim env, then RealEnv around it: close() writes both
        episodes (.h5, .json with env_info, .mp4) and the videos show the robot's camera."""
        sim = policy_env(obs_mode="rgb", render_mode="sensors")
        recorder = RecordEpisode(sim, str(tmp_path), trajectory_name="traj", save_video=True)
        real = RealEnv(recorder, robot_config=config, scene_reset="none")
        try:
            episodes = run_episodes(real, real, frames)
        finally:
            real.close()
        assert recorder._closed and not (tmp_path / "traj.h5").stat().st_size == 0
        check_outputs(tmp_path, episodes, twin_camera_view(policy_env(obs_mode="rgb")))

    def test_around_realenv_writes_every_episode_of_real_frames(
        self, tmp_path: Path, config: Path, frames: Frames
    ) -> None:
        """RecordEpisode around RealEnv: the same files, env_info from RealEnv.spec."""
        sim = policy_env(obs_mode="rgb")
        real = RealEnv(sim, robot_config=config, scene_reset="none", render_mode="sensors")
        recorder = RecordEpisode(real, str(tmp_path), trajectory_name="traj", save_video=True)
        try:
            episodes = run_episodes(recorder, real, frames)
        finally:
            recorder.close()
        check_outputs(tmp_path, episodes, twin_camera_view(policy_env(obs_mode="rgb")))

    def test_all_mode_tiles_real_frames_and_the_labelled_twin(
        self, config: Path, frames: Frames
    ) -> None:
        real = RealEnv(
            policy_env(obs_mode="rgb"), robot_config=config, scene_reset="none", render_mode="all"
        )
        try:
            real.reset(seed=0)
            tiled = real.render()[0].numpy()
            real.render_mode = "sensors"
            sensors = _check_render(real, frames)
            real.render_mode = "twin_rgb_array"
            twin = real.render()[0].numpy()
        finally:
            real.close()
        # ManiSkill's tile_images puts the tallest first: the twin, then the robot's camera.
        h, w = sensors.shape[:2]
        assert tiled.shape[1] == twin.shape[1] + w
        np.testing.assert_array_equal(tiled[:h, twin.shape[1] :], sensors)
        np.testing.assert_array_equal(tiled[:, : twin.shape[1]], twin)
