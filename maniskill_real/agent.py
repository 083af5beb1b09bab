"""The ROS 2 robot agent: ManiSkill's ``BaseRealAgent`` contract over ros2_control topics.

Readings are sampled once per control tick into a ``Snapshot`` (joint states in sim order,
aligned camera frames, their stamps and ages), so one observation never mixes inputs read at
different moments. Kinematics (TCP pose, IK for end-effector control) come from the sim twin:
``BaseRealAgent.__getattr__`` falls through to the sim agent, which RealEnv keeps synced to
the real joint positions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, JointState
from std_msgs.msg import Bool

from maniskill_real.align.camera import CameraAligner, sensor_params, sim_intrinsics
from maniskill_real.align.joints import JointMap
from maniskill_real.config import RobotConfig, load_robot_config
from maniskill_real.env import sim_bridge
from maniskill_real.env.agent_port import RealAgent
from maniskill_real.errors import (
    ActionError,
    ConfigError,
    JointMismatchError,
    RealEnvError,
    ResetError,
    StaleInputError,
)
from maniskill_real.ros.commands import ControllerCommand
from maniskill_real.ros.image import (
    compressed_to_numpy,
    depth_from_image,
    intrinsics_from_camera_info,
    rgb_from_image,
)
from maniskill_real.ros.node import Latest, RosNode
from maniskill_real.task_state import task_booleans

if TYPE_CHECKING:
    from mani_skill.envs.sapien_env import BaseEnv

    from maniskill_real.ros.tf import TfBuffer

RESET_COMMAND_RATE = 50.0  # Hz, for parts reset through forward command controllers


def _sim_vector(values: Any) -> np.ndarray:
    """A tensor or array of per-joint values (sim order, possibly batched) as a flat float64."""
    return np.asarray(torch.as_tensor(values).cpu(), dtype=np.float64).reshape(-1)


@dataclass
class Snapshot:
    """Every input of one observation, read at one moment."""

    qpos: np.ndarray
    qvel: np.ndarray
    stamps_ns: dict[str, int] = field(default_factory=dict)
    ages: dict[str, float] = field(default_factory=dict)
    sensor_data: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)


class _Camera:
    """One sim camera's real topics (``config``: resolved names), aligned to the sim camera
    once CameraInfo arrives."""

    def __init__(self, ros: RosNode, config, sim_camera_config, rgb: bool, depth: bool) -> None:
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

    def streams(self) -> list[Latest]:
        return [s for s in (self.rgb, self.depth) if s is not None]

    def aligner_for(self, info: CameraInfo) -> CameraAligner:
        """The aligner for this CameraInfo, rebuilt only when the calibration changes: a new
        CameraInfo comes with every frame, and building an aligner takes milliseconds."""
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


class ROS2Agent(RealAgent):
    """A robot reached through ros2_control controllers, /joint_states and camera topics."""

    def __init__(self, config: RobotConfig | str | Path = "panda", node_name: str = "real_env"):
        super().__init__()
        self.config = config if isinstance(config, RobotConfig) else load_robot_config(config)
        self.node_name = node_name
        self.ros: RosNode | None = None
        self.joint_map: JointMap | None = None
        self.snapshot: Snapshot | None = None
        self.command_horizon = 0.05  # s: time_from_start of streamed trajectory points
        self._cameras: dict[str, _Camera] = {}
        self._tf: TfBuffer | None = None
        self._sim_env: BaseEnv | None = None
        self._streams: dict[str, tuple[bool, bool]] = {}
        self.task_topics: dict[str, str] = {}
        """info key -> resolved std_msgs/Bool topic that reports it (set by :meth:`bind`)."""

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, twin: BaseEnv, cameras: dict[str, tuple[bool, bool]]) -> None:
        """Check the config against the sim robot and remember which camera streams to read.

        Raises before any ROS entity exists, so a bad config never reaches the robot.
        """
        super().bind(twin, cameras)
        self._sim_env = twin
        self._streams = dict(cameras)
        sim_env = twin
        sim_joints = [j.name for j in sim_env.agent.robot.active_joints]
        self.joint_map = JointMap(self.config, sim_joints)
        uncommanded = set(self.joint_map.ros_joints) - set(self.config.controlled_joints())
        if uncommanded:
            raise ConfigError(
                f"{self.config.path}: key 'controllers': no controller commands joint(s) "
                f"{', '.join(sorted(uncommanded))} of the sim robot"
            )
        cfg = self.config
        # ManiSkill envs evaluate() right after construction (BaseEnv.__init__ resets once).
        keys = task_booleans(sim_env.evaluate()) if cfg.task_namespace else {}
        self.task_topics = {key: cfg.topic(f"{cfg.task_namespace}/{key}") for key in keys} | {
            key: cfg.topic(topic) for key, topic in cfg.task_topics.items()
        }

    def start(self) -> None:
        """Create the node, subscriptions and publishers. Publishes nothing."""
        if self._sim_env is None:
            raise RuntimeError("ROS2Agent.bind(sim_env) must run before start()")
        sim_time = [Parameter("use_sim_time", value=True)] if self.config.use_sim_time else []
        self.ros = RosNode(
            self.node_name, namespace=self.config.namespace, parameter_overrides=sim_time
        )
        try:
            self._subscribe_and_advertise()
        except BaseException:  # e.g. a camera the config lacks: leave no node behind
            self.ros.close()
            self.ros = None
            raise

    def _subscribe_and_advertise(self) -> None:
        assert self.ros is not None and self._sim_env is not None
        cfg = self.config
        self.joint_states: Latest[JointState] = self.ros.latest(
            JointState, cfg.topic(cfg.joint_states_topic)
        )
        self.commands = {
            part: ControllerCommand(self.ros, ctrl, cfg.topic(ctrl.command_topic))
            for part, ctrl in cfg.controllers.items()
        }
        sim_cameras = sim_bridge.sensor_configs(self._sim_env)
        for name, (rgb, depth) in self._streams.items():
            if name not in cfg.cameras:
                raise ConfigError(
                    f"{cfg.path}: key 'cameras': the sim env observes camera '{name}', "
                    f"which has no entry (configured: {', '.join(cfg.cameras) or 'none'})"
                )
            self._cameras[name] = _Camera(
                self.ros,
                cfg.cameras[name].resolved(cfg.topic),
                sim_cameras[name],
                rgb=rgb,
                depth=depth,
            )
        if any(c.config.tf_frames is not None for c in self._cameras.values()):
            # Imported here: tf2_msgs is only needed (and only built) where TF is used.
            from maniskill_real.ros.tf import TfBuffer

            self._tf = TfBuffer(self.ros)
        self.task = {key: self.ros.latest(Bool, topic) for key, topic in self.task_topics.items()}

    def stop(self) -> None:
        """Leave every controller holding still, then leave the graph.

        Publishes nothing if nothing was ever commanded (a close after a failed reset). A
        position forward controller is held at the measured position only if that reading is
        fresh: a stale one would pull the robot back; its last command stands instead.
        """
        if self.ros is None:
            return
        try:
            if any(command.sent for command in self.commands.values()):
                qpos = self._fresh_qpos()
                for part, command in self.commands.items():
                    command.hold(None if qpos is None else self.joint_map.to_controller(part, qpos))
                time.sleep(0.1)  # let the hold reach the controllers before the node goes
        finally:
            self.ros.close()
            self.ros = None

    def _fresh_qpos(self) -> np.ndarray | None:
        """The newest joint positions (sim order), or None if stale or not matching."""
        try:
            return self._latest_qpos()
        except (StaleInputError, JointMismatchError):
            return None

    def camera_aligners(self) -> dict[str, CameraAligner]:
        """Each camera's alignment, once its CameraInfo arrived (after wait_for_inputs)."""
        return {n: c.aligner for n, c in self._cameras.items() if c.aligner is not None}

    # -- inputs ---------------------------------------------------------------------------
    def inputs(self) -> list[Latest]:
        streams = [self.joint_states]
        for cam in self._cameras.values():
            streams += [cam.info, *cam.streams()]
        return streams + list(self.task.values())

    def wait_for_inputs(self, timeout: float | None = None) -> None:
        """Block until every input has published once; name the first silent topic."""
        timeout = self.config.input_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.ros.wait_for_clock(timeout)
        for latest in self.inputs():
            latest.wait(max(0.0, deadline - time.monotonic()))
        # One full read before anything moves: unknown joints, a camera narrower than the sim
        # camera, an unsupported encoding or a stale input all raise here.
        self.sample()

    def wait_for_controllers(self, timeout: float | None = None) -> None:
        """Block until every command topic has a subscriber: a command published before
        discovery matched the controller is lost (volatile topics keep nothing for late
        subscribers), and a lost reset trajectory would surface only as a ResetError."""
        timeout = self.config.input_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for command in self.commands.values():
            left = max(0.0, deadline - time.monotonic())
            if not self.ros.wait_for_subscribers(command.publisher, left):
                raise RealEnvError(
                    f"nothing subscribes to {command.topic} after {timeout:.1f} s; is "
                    f"controller '{command.controller.name}' loaded and active?"
                )

    def _qpos_from(self, msg: JointState) -> np.ndarray:
        idx = self.joint_map.joint_states_index(msg.name)
        return np.asarray(msg.position, dtype=np.float64)[idx]

    def _current_joint_states(self) -> tuple[JointState, int, float]:
        """The newest /joint_states with its stamp and age; StaleInputError when it is older
        than its max age, so neither a step nor a reset acts on an old reading."""
        msg, stamp, age = self.joint_states.get()
        if msg is None or age > self.config.joint_states_max_age:
            raise StaleInputError(self.joint_states.topic, age, self.config.joint_states_max_age)
        return msg, stamp, age

    def _latest_qpos(self) -> np.ndarray:
        """Joint positions (sim order) of the newest, fresh /joint_states."""
        return self._qpos_from(self._current_joint_states()[0])

    def sample(self) -> Snapshot:
        """Read every input now; raise StaleInputError for one older than its max age."""
        msg, stamp, age = self._current_joint_states()
        idx = self.joint_map.joint_states_index(msg.name)
        qvel = np.asarray(msg.velocity, dtype=np.float64)
        snap = Snapshot(
            qpos=np.asarray(msg.position, dtype=np.float64)[idx],
            qvel=qvel[idx] if qvel.size else np.zeros(len(idx)),
            stamps_ns={"joint_states": stamp},
            ages={"joint_states": age},
        )
        for name, cam in self._cameras.items():
            info = cam.info.get()[0]
            data: dict[str, torch.Tensor] = {}
            for kind, stream in (("rgb", cam.rgb), ("depth", cam.depth)):
                if stream is None:
                    continue
                image, stamp, age = stream.get()
                if image is None or info is None or age > cam.config.max_age:
                    raise StaleInputError(stream.topic, age, cam.config.max_age)
                aligner = cam.aligner_for(info)
                if kind == "depth":
                    frame = aligner.align_depth(depth_from_image(image))
                elif isinstance(image, CompressedImage):
                    frame = aligner.align_rgb(compressed_to_numpy(image))
                else:
                    frame = aligner.align_rgb(rgb_from_image(image))
                data[kind] = torch.from_numpy(frame).unsqueeze(0)
                snap.stamps_ns[f"{name}/{kind}"] = stamp
                snap.ages[f"{name}/{kind}"] = age
            snap.sensor_data[name] = data
        self.snapshot = snap
        return snap

    def task_state(self) -> dict[str, bool]:
        """The newest real-world task booleans (e.g. success) from the configured topics."""
        out = {}
        for key, latest in self.task.items():
            msg = latest.get()[0]
            if msg is not None:
                out[key] = bool(msg.data)
        return out

    # -- BaseRealAgent contract -----------------------------------------------------------
    def get_qpos(self) -> torch.Tensor:
        return torch.from_numpy(self._snap().qpos).float().unsqueeze(0)

    def get_qvel(self) -> torch.Tensor:
        return torch.from_numpy(self._snap().qvel).float().unsqueeze(0)

    def _snap(self) -> Snapshot:
        if self.snapshot is None:
            raise RuntimeError("no readings yet: RealEnv.reset() samples the first ones")
        return self.snapshot

    def capture_sensor_data(self, sensor_names: list[str] | None = None) -> None:
        """Read every input now (RealEnv calls this once per control tick)."""
        self.sample()

    def input_timing(self) -> dict[str, tuple[int, float]]:
        snap = self._snap()
        return {name: (stamp, snap.ages[name]) for name, stamp in snap.stamps_ns.items()}

    def get_sensor_data(self, sensor_names: list[str] | None = None) -> dict:
        data = self._snap().sensor_data
        return {n: data[n] for n in (sensor_names or list(data))}

    def get_sensor_params(self, sensor_names: list[str] | None = None) -> dict:
        """Intrinsics of the aligned images; extrinsics from the config or TF, else the sim
        camera's."""
        assert self._sim_env is not None
        names = sensor_names or list(self._cameras)
        sim_params = self._sim_env.get_sensor_params()
        out = {}
        for name in names:
            cam = self._cameras[name]
            frames = cam.config.tf_frames
            if frames is not None:
                assert self._tf is not None
                cam2world = self._tf.lookup(frames.world, frames.camera, self.config.input_timeout)
            elif cam.config.cam2world is not None:
                cam2world = np.array(cam.config.cam2world)
            else:
                out[name] = sim_params[name]
                continue
            assert cam.aligner is not None
            params = sensor_params(cam.aligner.intrinsic_cv, cam2world)
            out[name] = {k: torch.from_numpy(v).unsqueeze(0) for k, v in params.items()}
        return out

    def set_target_qpos(self, qpos: Any) -> None:
        """Send position targets (sim joint order) to every position-interface controller."""
        self._send(qpos, "position")

    def set_target_qvel(self, qvel: Any) -> None:
        """Send velocity targets (sim joint order) to every velocity-interface controller."""
        self._send(qvel, "velocity")

    def _send(self, values: Any, interface: str) -> None:
        values = _sim_vector(values)
        parts = [p for p, c in self.config.controllers.items() if c.interface == interface]
        # Convert every part before publishing any, so a bad value sends nothing at all.
        per_part = {p: self.joint_map.to_controller(p, values) for p in parts}
        bad = [p for p, v in per_part.items() if not np.all(np.isfinite(v))]
        if bad:
            raise ActionError(f"non-finite {interface} targets for {', '.join(bad)}; sent nothing")
        for part, targets in per_part.items():
            self.commands[part].send(targets, self.command_horizon)

    def reset(self, qpos: Any) -> None:
        """Move to ``qpos`` (sim order) at no more than reset.max_joint_speed, then wait until
        every joint is within reset.tolerance, or raise ResetError naming the worst joint."""
        cfg = self.config.reset
        target = _sim_vector(qpos)
        self.wait_for_inputs()
        self.wait_for_controllers()
        start = self._latest_qpos()
        duration = max(float(np.max(np.abs(target - start))) / cfg.max_joint_speed, 0.1)
        ramped = []
        for part, command in self.commands.items():
            goal = self.joint_map.to_controller(part, target)
            if command.is_trajectory:
                command.send(goal, duration)
            else:
                ramped.append(part)
        velocity = [p for p in ramped if self.commands[p].controller.interface == "velocity"]
        positional = [p for p in ramped if p not in velocity]
        t0 = time.monotonic()
        deadline = t0 + duration + cfg.settle_timeout
        try:
            while True:
                s = min(1.0, (time.monotonic() - t0) / duration)
                current = self._latest_qpos()
                for part in positional:
                    self._send_part(part, start + s * (target - start))
                for part in velocity:  # a speed-limited P loop for velocity controllers
                    speed = cfg.max_joint_speed
                    self._send_part(part, np.clip(5.0 * (target - current), -speed, speed))
                error = np.abs(current - target)
                if s >= 1.0 and np.all(error <= cfg.tolerance):
                    return
                if time.monotonic() > deadline:
                    worst = int(np.argmax(error))
                    raise ResetError(
                        f"reset did not converge within {duration + cfg.settle_timeout:.1f} s: "
                        f"joint {self.joint_map.ros_joints[worst]} is {error[worst]:.4f} from "
                        f"its target (tolerance {cfg.tolerance})"
                    )
                time.sleep(1.0 / RESET_COMMAND_RATE)
        finally:
            for part in velocity:
                self.commands[part].hold(None)

    def _send_part(self, part: str, sim_values: np.ndarray) -> None:
        self.commands[part].send(self.joint_map.to_controller(part, sim_values), 0.0)
