"""The robot's inputs over ROS: subscriptions, and their sampling into one ``Snapshot`` per tick.

A snapshot holds joint states in sim order, aligned camera frames, their stamps and ages, so
one observation never mixes inputs read at different moments. Nothing is trusted blindly:
a reading that is stale, non-finite, names a joint twice, has a zero stamp, a stamp in the
future or one older than the previous reading raises before anything is computed from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, JointState
from std_msgs.msg import Bool

from maniskill_real.config import CameraTopics, RobotConfig
from maniskill_real.core.camera import CameraAligner, sim_intrinsics
from maniskill_real.core.joints import JointMap
from maniskill_real.errors import ConfigError, InvalidInputError, StaleInputError
from maniskill_real.ros.image import (
    compressed_to_numpy,
    depth_from_image,
    intrinsics_from_camera_info,
    rgb_from_image,
)
from maniskill_real.ros.node import Latest, RosNode
from maniskill_real.ros.objects import ObjectInputs

if TYPE_CHECKING:
    from maniskill_real.ros.tf import TfBuffer

FUTURE_TOLERANCE_S = 0.05
"""A stamp this far ahead of our clock is clock skew; further ahead, the reading's age can't be
told (a future stamp would pass every freshness check while the publisher is frozen)."""


@dataclass
class Snapshot:
    """Every input of one observation, read at one moment."""

    qpos: np.ndarray
    qvel: np.ndarray
    stamps_ns: dict[str, int] = field(default_factory=dict)
    ages: dict[str, float] = field(default_factory=dict)
    sensor_data: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    objects: dict[str, np.ndarray] = field(default_factory=dict)
    """sim actor name -> its real pose in the sim world (ManiSkill raw pose: p, q wxyz)."""
    effort: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Joint efforts, sim order (empty when /joint_states carries none)."""
    task: dict[str, bool] = field(default_factory=dict)
    """The newest task booleans from the configured topics (info key -> value)."""


@dataclass
class JointReading:
    """One validated /joint_states in sim joint order."""

    qpos: np.ndarray
    qvel: np.ndarray
    stamp_ns: int
    age: float
    effort: np.ndarray = field(default_factory=lambda: np.zeros(0))


class CameraInput:
    """One sim camera's real topics, aligned to the sim camera once CameraInfo arrives."""

    def __init__(
        self, ros: RosNode, config: CameraTopics, sim_camera_config: Any, rgb: bool, depth: bool
    ) -> None:
        self.config = config
        self.sim_config = sim_camera_config
        self.info: Latest[CameraInfo] = ros.latest(CameraInfo, config.info_topic)
        self.rgb: Latest[Image | CompressedImage] | None = None
        if rgb and config.compressed:
            self.rgb = ros.latest(CompressedImage, f"{config.image_topic}/compressed")
        elif rgb:
            self.rgb = ros.latest(Image, config.image_topic)
        self.depth: Latest[Image] | None = None
        if depth:
            if config.depth_topic is None:
                raise ConfigError(
                    f"the sim env observes depth from camera '{config.name}', but the robot "
                    f"config has no cameras.{config.name}.depth_topic"
                )
            self.depth = ros.latest(Image, config.depth_topic)
        self.aligner: CameraAligner | None = None
        self._info_key: tuple | None = None
        self._info_msg: CameraInfo | None = None
        self._aligned: dict[str, tuple[Any, CameraAligner, np.ndarray]] = {}
        """stream kind -> (the message last aligned, its aligner, the aligned frame): a camera
        slower than the control rate hands several steps the same message."""

    def streams(self) -> list[Latest]:
        return [s for s in (self.rgb, self.depth) if s is not None]

    def aligner_for(self, info: CameraInfo) -> CameraAligner:
        """The aligner for this CameraInfo, rebuilt only when the calibration changes: a new
        CameraInfo comes with every frame, and building an aligner takes milliseconds."""
        if info is self._info_msg and self.aligner is not None:
            return self.aligner
        self._info_msg = info
        key = (
            info.width,
            info.height,
            info.distortion_model,
            tuple(info.k),
            tuple(info.d),
            info.binning_x,
            info.binning_y,
            info.roi,
        )
        if self.aligner is None or key != self._info_key:
            # One bilinear sample per sim pixel, as SAPIEN renders: closer to what the policy
            # saw in training than area averaging (PSNR in test_camera_align.py).
            self.aligner = CameraAligner(
                intrinsics_from_camera_info(info),
                sim_intrinsics(self.sim_config),
                self.config.alignment,
                self.config.name,
                antialias=False,
            )
            self._info_key = key
        return self.aligner

    def frames(self, snap: Snapshot) -> dict[str, torch.Tensor]:
        """This camera's aligned frames, stamps and ages into ``snap``; stale -> raises."""
        info = self.info.get()[0]
        data: dict[str, torch.Tensor] = {}
        for kind, stream in (("rgb", self.rgb), ("depth", self.depth)):
            if stream is None:
                continue
            image, stamp, age = stream.get()
            if image is None or info is None or age > self.config.max_age:
                raise StaleInputError(stream.topic, age, self.config.max_age)
            aligner = self.aligner_for(info)
            last_image, last_aligner, frame = self._aligned.get(kind, (None, None, None))
            if image is not last_image or aligner is not last_aligner:
                frame = self._align(kind, image, aligner)
                self._aligned[kind] = (image, aligner, frame)
            # a copy: the caller may change its observation in place, never the next one
            data[kind] = torch.from_numpy(frame.copy()).unsqueeze(0)
            snap.stamps_ns[f"{self.config.name}/{kind}"] = stamp
            snap.ages[f"{self.config.name}/{kind}"] = age
        return data

    @staticmethod
    def _align(kind: str, image: Image | CompressedImage, aligner: CameraAligner) -> np.ndarray:
        """Decode one message and align it to the sim camera."""
        if kind == "depth":
            return aligner.align_depth(depth_from_image(image))
        if isinstance(image, CompressedImage):
            return aligner.align_rgb(compressed_to_numpy(image))
        return aligner.align_rgb(rgb_from_image(image))


class RobotInputs:
    """Every topic RealEnv reads from the robot, and the one place they are sampled."""

    def __init__(
        self,
        ros: RosNode,
        config: RobotConfig,
        joint_map: JointMap,
        cameras: dict[str, tuple[Any, bool, bool]],
        task_topics: dict[str, str],
    ) -> None:
        """``cameras``: sim camera name -> (its sim camera config, rgb, depth)."""
        self.ros = ros
        self.config = config
        self.joint_map = joint_map
        self.joint_states: Latest[JointState] = ros.latest(
            JointState, config.topic(config.joint_states_topic)
        )
        self.cameras: dict[str, CameraInput] = {}
        for name, (sim_camera, rgb, depth) in cameras.items():
            if name not in config.cameras:
                raise ConfigError(
                    f"{config.path}: key 'cameras': the sim env observes camera '{name}', "
                    f"which has no entry (configured: {', '.join(config.cameras) or 'none'})"
                )
            topics = config.cameras[name].resolved(config.topic)
            self.cameras[name] = CameraInput(ros, topics, sim_camera, rgb, depth)
        self.tf: TfBuffer | None = None
        if any(c.config.tf_frames is not None for c in self.cameras.values()):
            # Imported here: tf2_msgs is only needed (and only built) where TF is used.
            from maniskill_real.ros.tf import TfBuffer

            self.tf = TfBuffer(ros)
        self.objects = ObjectInputs(ros, config, None)
        if self.objects.needs_tf:
            from maniskill_real.ros.tf import TfBuffer

            self.tf = self.tf or TfBuffer(ros)
            self.objects.tf = self.tf
        self.task = {key: ros.latest(Bool, topic) for key, topic in task_topics.items()}
        self._last_stamp_ns = 0

    def streams(self) -> list[Latest]:
        streams: list[Latest] = [self.joint_states]
        for cam in self.cameras.values():
            streams += [cam.info, *cam.streams()]
        return streams + self.objects.streams() + list(self.task.values())

    def wait(self, timeout: float) -> Snapshot:
        """Block until every input has published once (naming the first silent topic), then
        read them all: unknown joints, a camera narrower than the sim camera, an unsupported
        encoding or a stale input raise here, before anything moves."""
        deadline = time.monotonic() + timeout
        self.ros.wait_for_clock(timeout)
        for latest in self.streams():
            latest.wait(max(0.0, deadline - time.monotonic()))
        while True:  # a robot that just came back: its first fresh messages are on their way
            try:
                return self.sample()
            except StaleInputError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def joints(self) -> JointReading:
        """The newest /joint_states, validated, in sim order. A reading past its max age gets
        one more max age to be replaced by a fresh one (a publisher's hiccup costs a late
        step, not an episode); still stale then, it raises. Nothing is computed meanwhile."""
        topic = self.joint_states.topic
        max_age = self.config.joint_states_max_age
        msg, stamp, age = self.joint_states.get()
        deadline = time.monotonic() + max_age
        while msg is not None and stamp != 0 and age > max_age and time.monotonic() < deadline:
            time.sleep(0.002)
            msg, stamp, age = self.joint_states.get()
        if msg is not None and stamp == 0:
            raise InvalidInputError(f"{topic}: a zero header stamp: its age can't be told")
        if msg is None or age > max_age:
            raise StaleInputError(topic, age, max_age)
        if age < -FUTURE_TOLERANCE_S:
            raise InvalidInputError(
                f"{topic}: stamped {-age:.3f} s in the future (tolerance {FUTURE_TOLERANCE_S} "
                "s): the publisher's clock is not ours, so its age can't be told"
            )
        if stamp < self._last_stamp_ns:
            raise InvalidInputError(
                f"{topic}: stamp went back {(self._last_stamp_ns - stamp) * 1e-9:.3f} s: two "
                "publishers, or a restarted robot with another clock"
            )
        idx = self.joint_map.joint_states_index(msg.name)
        names = self.joint_map.ros_joints
        qpos = np.asarray(msg.position, dtype=np.float64)
        qvel = np.asarray(msg.velocity, dtype=np.float64)
        if qpos.size != len(msg.name) or qvel.size not in (0, len(msg.name)):
            raise InvalidInputError(
                f"{topic}: {len(msg.name)} names but {qpos.size} positions, {qvel.size} velocities"
            )
        effort = np.asarray(msg.effort, dtype=np.float64)
        effort = effort[idx] if effort.size == len(msg.name) else np.zeros(0)
        qpos = qpos[idx]
        qvel = qvel[idx] if qvel.size else np.zeros(len(idx))
        bad = ~(np.isfinite(qpos) & np.isfinite(qvel))
        if np.any(bad):
            joints = [names[i] for i in np.flatnonzero(bad)]
            raise InvalidInputError(f"{topic}: non-finite position or velocity of {joints}")
        self._last_stamp_ns = stamp
        return JointReading(qpos, qvel, stamp, age, effort)

    def sample(self) -> Snapshot:
        """Read every input now; raise for one that is stale or invalid."""
        js = self.joints()
        snap = Snapshot(
            qpos=js.qpos,
            qvel=js.qvel,
            stamps_ns={"joint_states": js.stamp_ns},
            ages={"joint_states": js.age},
            effort=js.effort,
        )
        snap.objects, stamps, ages = self.objects.sample()
        snap.stamps_ns.update(stamps)
        snap.ages.update(ages)
        for name, cam in self.cameras.items():
            snap.sensor_data[name] = cam.frames(snap)
        snap.task = self.task_state()
        return snap

    def task_state(self) -> dict[str, bool]:
        """The newest real-world task booleans (e.g. success) from the configured topics."""
        out = {}
        for key, latest in self.task.items():
            msg = latest.get()[0]
            if msg is not None:
                out[key] = bool(msg.data)
        return out

    def restart(self) -> None:
        """Forget the previous stamps (a new episode may follow a restarted robot)."""
        self._last_stamp_ns = 0
        self.objects.restart()
