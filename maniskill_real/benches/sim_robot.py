"""ManiSkill-in-the-loop robot: a ManiSkill env's physics and cameras behind the same ros2_control
topics as a real robot, so that RealEnv and its tools run against it unchanged.

A real robot executes what its ros2_control controllers command, not what ManiSkill's controller
would compute, so neither ``env.step`` nor ManiSkill's controller is used here: the
:class:`ControllerEmulator` turns the command topics and FollowJointTrajectory goals into joint
targets, which go straight into the PhysX joint drives before every ``scene.step()``. An emulated
``controller_manager`` (ros2_control cannot be installed here) lists and switches the
controllers: every controller of the robot config loaded and active, less
``inactive_controllers``; reset controllers loaded inactive. ``control_mode`` only makes
ManiSkill configure the drives (stiffness, damping, force limits) exactly as in the policy's sim
env: the robot's "firmware gains".

Physics runs on the main thread in real time at the env's ``sim_freq``: sim time is
``start + n / sim_freq``, and a loop that falls behind steps without sleeping until it has caught
up (with ``use_sim_time`` it just runs slower, since everyone follows ``/clock``).

Cameras render in a separate process, a camera driver of sorts, at lower CPU priority: SAPIEN
holds the GIL while it waits for a render (tens of ms on a CPU renderer), which in a thread of
this process would stall physics for as long. The camera process keeps its own copy of the scene
and sets it to physics' state (``get_state``: a short vector of poses and joint states)
before each frame.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import mani_skill.envs  # noqa: F401 - registers the ManiSkill envs with gymnasium
import numpy as np
import torch
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from maniskill_real.benches.camera_publisher import CameraPublisher
from maniskill_real.benches.controller_emulator import (
    CONTROLLER_PARAMETERS,
    ControllerEmulator,
    jtc_parameters,
)
from maniskill_real.benches.controller_manager import bringup
from maniskill_real.benches.object_truth import ObjectTruth
from maniskill_real.benches.parameters import ParameterError, Spec, declare
from maniskill_real.config import CameraTopics, ConfigError, load_robot_config
from maniskill_real.core.camera import Intrinsics, sim_intrinsics
from maniskill_real.env import sim_bridge
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg
from maniskill_real.task_state import task_booleans

PARAMETERS: dict[str, Spec] = {
    # fixed for the life of the process
    "robot_config": Spec("panda", "robot config: a YAML path or the name of a shipped one"),
    "env_id": Spec("PickCube-v1", "ManiSkill env whose scene is simulated"),
    "robot_uid": Spec("panda", "ManiSkill robot uid"),
    "control_mode": Spec(
        "pd_joint_delta_pos", "the policy env's control mode; only sets the joint drives' gains"
    ),
    "joint_state_rate": Spec(
        100.0, "Hz at which joint_states is published", positive=True, high=1000.0
    ),
    "camera_width": Spec(640, "px: the real camera's image width", positive=True, high=8192),
    "camera_height": Spec(480, "px: the real camera's image height", positive=True, high=8192),
    "camera_fov": Spec(
        0.0,
        "rad: the real camera's vertical FOV; 0 means each sim camera's + 0.2",
        low=0.0,
        high=3.0,
    ),
    "publish_depth": Spec(True, "publish 16UC1 depth in mm on each camera's depth_topic"),
    "reset_scene_service": Spec(
        False,
        "offer ~/reset_scene (std_srvs/Trigger), which teleports the robot and the scene: off "
        "unless asked for, so no other process can move the robot through it by accident",
    ),
    **CONTROLLER_PARAMETERS,
    # settable while running: fault and realism knobs, and the seed ~/reset_scene uses
    "seed": Spec(0, "seed of the scene that ~/reset_scene restores", runtime=True, low=0),
    "command_delay": Spec(
        0.0, "s that every command waits before it takes effect", runtime=True, low=0.0, high=10.0
    ),
    "joint_state_noise": Spec(
        0.0,
        "rad: std of gaussian noise on published joint positions",
        runtime=True,
        low=0.0,
        high=1.0,
    ),
    "camera_rate": Spec(
        10.0, "Hz: the most camera frames per second", runtime=True, positive=True, high=1000.0
    ),
    "object_pose_rate": Spec(
        30.0,
        "Hz at which every non-static actor's true pose is published on ~/objects/<actor> "
        "(geometry_msgs/PoseStamped, frame 'world'): a perfect perception node",
        positive=True,
        high=1000.0,
    ),
    "object_pose_noise": Spec(
        0.0,
        "m: std of gaussian noise on published object positions",
        runtime=True,
        low=0.0,
        high=1.0,
    ),
    "object_orientation_noise": Spec(
        0.0,
        "rad: std per axis of a random rotation applied to published object orientations",
        runtime=True,
        low=0.0,
        high=3.14,
    ),
    "object_pose_latency": Spec(
        0.0,
        "s from an object pose's measurement (its stamp) to its publication",
        runtime=True,
        low=0.0,
        high=10.0,
    ),
    "object_pose_dropout": Spec(
        0.0,
        "probability that an object pose measurement is never published",
        runtime=True,
        low=0.0,
        high=1.0,
    ),
    "drop_topics": Spec(
        [],
        "topics to stop publishing (names resolve as this node's own)",
        runtime=True,
        type_=Parameter.Type.STRING_ARRAY,
    ),
}
DEFAULT_FOV_MARGIN = 0.2
"""rad the real camera's vertical FOV exceeds the sim camera's unless ``camera_fov`` is set."""
CAMERA_NICENESS = 10
"""The camera process yields the CPU to physics: a late frame is better than a late step."""


# -- cameras (their own process) -------------------------------------------------------------
@dataclass(frozen=True)
class CameraSpec:
    """What the camera process needs to build the scene and publish its frames."""

    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    cameras: dict[str, CameraTopics]
    """Topic names as the physics node resolves them (its namespace and remapping rules)."""
    node_name: str
    namespace: str
    ros_args: list[str]
    """The physics node's ROS arguments minus remapping rules (:func:`camera_ros_args`)."""
    use_sim_time: bool
    width: int
    height: int
    fov: float
    """rad vertical; 0 means each sim camera's own + DEFAULT_FOV_MARGIN."""
    depth: bool


class CameraRenderer:
    """In the camera process: a copy of the scene whose cameras have the real cameras'
    resolution and FOV, at the sim cameras' poses, set to physics' state for every frame."""

    def __init__(self, ros: RosNode, spec: CameraSpec) -> None:
        log = ros.node.get_logger()
        probe = gym.make(spec.env_id, **spec.env_kwargs)
        sim_cameras = {name: s.config for name, s in probe.unwrapped.scene.sensors.items()}
        probe.close()
        for name in sorted(spec.cameras.keys() - sim_cameras.keys()):
            log.warning(f"{spec.env_id} has no camera '{name}' (has {sorted(sim_cameras)})")
        fovs = {
            name: spec.fov or sim_intrinsics(sim_cameras[name]).fov_y + DEFAULT_FOV_MARGIN
            for name in spec.cameras.keys() & sim_cameras.keys()
        }
        self.env = gym.make(
            spec.env_id,
            sensor_configs={
                name: dict(width=spec.width, height=spec.height, fov=fov, intrinsic=None)
                for name, fov in fovs.items()
            },
            **spec.env_kwargs,
        )
        self.unwrapped = self.env.unwrapped
        self.reset(spec.seed)
        self.cameras: list[CameraPublisher] = []
        for name, fov in fovs.items():
            K = Intrinsics.from_fov(spec.width, spec.height, fov).K
            intrinsics = Intrinsics(spec.width, spec.height, K, np.zeros(5), "plumb_bob")
            self.cameras.append(CameraPublisher(ros, spec.cameras[name], intrinsics, spec.depth))
        self._render()  # the first render allocates and compiles for seconds

    def reset(self, seed: int) -> None:
        """Rebuild the scene as physics' reset did, in case that reset reconfigured it."""
        self.env.reset(seed=seed)
        # e.g. goal markers: not seen by cameras
        for obj in sim_bridge.hidden_objects(self.unwrapped):
            obj.hide_visual()

    def _render(self) -> list[dict[str, torch.Tensor]]:
        self.unwrapped.scene.update_render(update_sensors=True, update_human_render_cameras=False)
        sensors = [self.unwrapped.scene.sensors[cam.topics.name] for cam in self.cameras]
        for sensor in sensors:
            sensor.capture()
        return [
            sensor.get_obs(rgb=True, depth=cam.has_depth, position=False, segmentation=False)
            for sensor, cam in zip(sensors, self.cameras, strict=True)
        ]

    def publish(self, stamp_ns: int, state: np.ndarray, dropped: frozenset[str]) -> None:
        """Render the scene in physics' ``state`` and publish every camera's frame."""
        self.unwrapped.set_state(torch.from_numpy(state))
        for cam, obs in zip(self.cameras, self._render(), strict=True):
            depth_mm = None
            if cam.has_depth:
                # ManiSkill's depth: int16 mm along the optical axis, 0 where nothing was hit.
                depth_mm = obs["depth"][0, ..., 0].numpy().clip(0).astype(np.uint16)
            cam.publish(stamp_ns, obs["rgb"][0].numpy(), depth_mm, dropped)


def camera_ros_args(argv: list[str]) -> list[str]:
    """The ROS arguments in ``argv`` (parameters, parameter files, log levels, enclave) without
    its remapping rules, for the camera node: the physics node resolves the camera topics with
    its own name, namespace and rules, so that each rule applies once, to the names it was meant
    for (rules may name the node: ``sim_robot:__ns:=/left``), and the camera node gets its name
    and namespace from the physics node."""
    out: list[str] = []
    in_ros = skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg == "--ros-args":
            in_ros = True
        elif arg == "--" and in_ros:
            in_ros = False
        elif in_ros and arg in ("-r", "--remap"):
            skip = True
        elif in_ros:
            out.append(arg)
    return ["--ros-args", *out] if out else []


def _camera_main(conn: Connection, spec: CameraSpec) -> None:
    """The camera process: renders on request until the physics process says stop or is gone.

    Requests are ``(stamp_ns, state, seed or None, dropped topics)``; each is answered once its
    frames are published, the first answer (the camera names) once the renderer is ready.
    """
    ros = RosNode(
        spec.node_name,
        namespace=spec.namespace,
        parameter_overrides=[Parameter("use_sim_time", value=spec.use_sim_time)],
        cli_args=[spec.node_name, *spec.ros_args],
    )
    # Undo rclpy's signal handlers: the parent stops this process through the pipe, and a
    # SIGTERM (a parent that exits without close()) just ends it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    renderer = None
    try:
        renderer = CameraRenderer(ros, spec)
        os.nice(CAMERA_NICENESS)  # after building, to be ready sooner
        conn.send([cam.topics.name for cam in renderer.cameras])
        while (request := conn.recv()) is not None:
            stamp_ns, state, seed, dropped = request
            if seed is not None:
                renderer.reset(seed)
            renderer.publish(stamp_ns, state, dropped)
            conn.send(None)
    except EOFError:  # the physics process is gone
        pass
    finally:
        if renderer is not None:
            renderer.env.close()
        ros.close()


class CameraProcess:
    """The physics side of the camera process: hands it a frame request when it is idle."""

    def __init__(self, spec: CameraSpec, log: Any) -> None:
        self.log = log
        # spawn, not fork: this process already runs threads, DDS and PhysX.
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(
            target=_camera_main, args=(child_conn, spec), name="sim_robot_cameras", daemon=True
        )
        # Started with SIGINT ignored (kept across exec), so a Ctrl-C to the process group
        # during its imports can't kill it mid-way: it stops when this process says so.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._proc.start()
        finally:
            signal.signal(signal.SIGINT, handler)
        child_conn.close()
        self._busy = True  # until the renderer reports ready
        self._alive = True
        self.frames = 0

    def idle(self) -> bool:
        """Whether it can take a request now (the last frame is published); never blocks."""
        if self._busy and self._alive:
            try:
                if self._conn.poll():
                    reply = self._conn.recv()
                    self._busy = False
                    if reply is None:
                        self.frames += 1
                    else:
                        self.log.info(f"cameras ready: {reply}")
            except EOFError:
                self._alive = False
                self.log.error("the camera process exited; no more camera frames")
        return self._alive and not self._busy

    def request(
        self, stamp_ns: int, state: np.ndarray, seed: int | None, dropped: frozenset[str]
    ) -> None:
        self._conn.send((stamp_ns, state, seed, dropped))
        self._busy = True

    def close(self) -> None:
        if self._proc.is_alive():
            try:
                self._conn.send(None)
            except BrokenPipeError:
                pass
            self._proc.join(timeout=5.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()


# -- the robot (physics process) -------------------------------------------------------------
class SimRobot:
    """The env, the control surface and the publishers; :meth:`run` is the physics loop."""

    def __init__(self, ros: RosNode, stop: threading.Event) -> None:
        self.ros = ros
        self.stop = stop
        node = ros.node
        self.log = node.get_logger()
        p = declare(node, PARAMETERS)
        self.use_sim_time = bool(node.get_parameter("use_sim_time").value)
        self.config = load_robot_config(p["robot_config"])
        if self.config.robot_uid != p["robot_uid"]:
            self.log.warning(
                f"robot config {self.config.path} is for '{self.config.robot_uid}', "
                f"simulating '{p['robot_uid']}'"
            )
        seed = int(p["seed"])
        env_kwargs = dict(
            robot_uids=p["robot_uid"],
            sim_backend="physx_cpu",
            obs_mode="none",
            control_mode=p["control_mode"],
            num_envs=1,
        )
        # Start the cameras first: their process imports and builds in parallel.
        self.cameras = (
            CameraProcess(
                CameraSpec(
                    env_id=p["env_id"],
                    env_kwargs=env_kwargs,
                    seed=seed,
                    cameras={
                        name: cam.resolved(node.resolve_topic_name)
                        for name, cam in self.config.cameras.items()
                    },
                    node_name=f"{node.get_name()}_cameras",
                    namespace=node.get_namespace(),
                    ros_args=camera_ros_args(ros.cli_args),
                    use_sim_time=self.use_sim_time,
                    width=int(p["camera_width"]),
                    height=int(p["camera_height"]),
                    fov=float(p["camera_fov"]),
                    depth=bool(p["publish_depth"]),
                ),
                self.log,
            )
            if self.config.cameras
            else None
        )
        self.env = gym.make(p["env_id"], render_backend="none", **env_kwargs)
        self.unwrapped = self.env.unwrapped
        self.physics = sim_bridge.PhysicsStepper(self.unwrapped)
        self.sim_freq = int(self.unwrapped.sim_freq)
        self.steps_per_control = self.sim_freq // int(self.unwrapped.control_freq)
        self.env.reset(seed=seed)
        self._bind()

        self.joint_names = [self.config.ros_joint(n) for n in self._sim_joint_names]
        self._now_s = 0.0
        """Sim time in s: the surface's clock, set by :meth:`run` as physics advances."""
        specs, active = bringup(self.config, inactive=p["inactive_controllers"])
        self.surface = ControllerEmulator(
            ros,
            self.config,
            self.joint_names,
            self._art.get_qpos(),
            lambda: self._now_s,
            lambda: self._art.get_qpos(),
            jtc_parameters=jtc_parameters(p, self.config),
            active=active,
            measured_velocity=lambda: self._art.get_qvel(),
        )
        self.surface.serve(specs, active, node.get_namespace())
        self.objects = ObjectTruth(ros, self._publish)
        self._object_period_ns = int(1e9 / float(p["object_pose_rate"]))
        self._apply_runtime({n: v for n, v in p.items() if PARAMETERS[n].runtime})
        self._drive_targets = (self._art.get_qpos(), np.zeros(len(self.joint_names)))
        self._js_topic = node.resolve_topic_name(self.config.joint_states_topic)
        self._js_period_ns = int(1e9 / float(p["joint_state_rate"]))
        self._clock_pub = ros.publisher(Clock, "/clock", STATE_QOS)
        self._task_pubs: dict[str, Any] = {}
        self._rng = np.random.default_rng()
        self._reset_seed: int | None = None
        """The seed of a scene reset that the camera process has yet to hear of."""
        self.late_steps = 0
        self.max_lag = 0.0

        self._resets: queue.SimpleQueue[tuple[int, threading.Event]] = queue.SimpleQueue()
        if p["reset_scene_service"]:
            node.create_service(Trigger, "~/reset_scene", self._on_reset_scene)
        node.add_post_set_parameters_callback(
            lambda params: self._apply_runtime({q.name: q.value for q in params})
        )

    def _bind(self) -> None:
        """Look up the PhysX objects and drive gains again: a reset may rebuild the scene."""
        robot = self.unwrapped.agent.robot
        self._sim_joint_names = [j.name for j in robot.get_active_joints()]
        # The PhysX articulation under ManiSkill's batched wrapper (num_envs=1): its numpy API
        # costs microseconds per call, the wrapper's torch API tens of them.
        self._art = sim_bridge.physx_articulation(robot)
        self._joints = self._art.get_active_joints()
        self._stiffness = np.array([j.stiffness for j in self._joints])
        self._damping = np.array([j.damping for j in self._joints])
        self._force_limit = np.array([j.force_limit for j in self._joints])

    # -- parameters (executor thread) -----------------------------------------------------
    def _apply_runtime(self, values: dict[str, Any]) -> None:
        if "seed" in values:
            self.seed = int(values["seed"])
        if "command_delay" in values:
            self.surface.command_delay = float(values["command_delay"])
        if "joint_state_noise" in values:
            self.joint_state_noise = float(values["joint_state_noise"])
        if "camera_rate" in values:
            self.camera_period_ns = int(1e9 / float(values["camera_rate"]))
        for name, attr in (
            ("object_pose_noise", "noise"),
            ("object_orientation_noise", "orientation_noise"),
            ("object_pose_latency", "latency"),
            ("object_pose_dropout", "dropout"),
        ):
            if name in values:
                setattr(self.objects.knobs, attr, float(values[name]))
        if "drop_topics" in values:
            topics = values["drop_topics"]
            self.dropped = frozenset(self.ros.node.resolve_topic_name(t) for t in topics)

    def _publish(self, pub: Any, msg: Any) -> None:
        if pub.topic_name not in self.dropped:
            pub.publish(msg)

    # -- scene reset ------------------------------------------------------------------------
    def _on_reset_scene(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        """Hand the reset to the physics thread, which owns the env, and wait for it."""
        seed, done = self.seed, threading.Event()
        self._resets.put((seed, done))
        response.success = done.wait(timeout=10.0)
        response.message = (
            f"scene reset with seed {seed}"
            if response.success
            else "the physics loop did not reset the scene within 10 s"
        )
        return response

    def _serve_resets(self) -> None:
        while not self._resets.empty():
            seed, done = self._resets.get()
            self.env.reset(seed=seed)
            self._bind()
            qpos = self._art.get_qpos()
            self.surface.reset(qpos)
            self._drive_targets = (qpos, np.zeros(len(qpos)))
            self._reset_seed = seed
            self.log.info(f"scene reset with seed {seed}")
            done.set()

    # -- physics (main thread) ----------------------------------------------------------------
    def run(self) -> None:
        """Step physics in real time until ``stop`` is set."""
        period = 1.0 / self.sim_freq
        control_period = period * self.steps_per_control
        start_ns = 0 if self.use_sim_time else time.time_ns()
        self._now_s = start_ns * 1e-9
        next_js_ns = next_frame_ns = next_object_ns = start_ns
        n = 0
        t0 = anchor = time.monotonic()
        while not self.stop.is_set():
            self._serve_resets()
            # Step n takes the scene to time n + 1: due when the wall clock gets there.
            lag = time.monotonic() - (anchor + (n + 1) * period)
            if lag < 0:
                self.stop.wait(-lag)
                continue
            if lag > period:
                self.late_steps += 1
                self.max_lag = max(self.max_lag, lag)
                if self.use_sim_time:
                    anchor += lag  # no catch-up: sim time runs slower, /clock says so
                elif lag > control_period:
                    self.log.warning(
                        f"physics is {lag * 1e3:.0f} ms behind real time; catching up",
                        throttle_duration_sec=5.0,
                    )
            if n % self.steps_per_control == 0:
                self.physics.before_control_step()
            self._step(self._now_s)
            n += 1
            t_ns = start_ns + n * 1_000_000_000 // self.sim_freq
            self._now_s = t_ns * 1e-9
            self._publish(self._clock_pub, Clock(clock=time_msg(t_ns)))
            if n % self.steps_per_control == 0:
                self.physics.after_control_step()
                self._publish_task_state()
            if t_ns >= next_js_ns:
                self._publish_joint_states(t_ns)
                next_js_ns = max(next_js_ns + self._js_period_ns, t_ns)
            if t_ns >= next_object_ns:
                self.objects.sample(t_ns, sim_bridge.non_static_poses(self.unwrapped))
                next_object_ns = max(next_object_ns + self._object_period_ns, t_ns)
            self.objects.flush(t_ns)
            if self.cameras and t_ns >= next_frame_ns and self.cameras.idle():
                state = self.unwrapped.get_state().numpy()
                self.cameras.request(t_ns, state, self._reset_seed, self.dropped)
                self._reset_seed = None
                next_frame_ns = t_ns + self.camera_period_ns
        wall = time.monotonic() - t0
        frames = self.cameras.frames if self.cameras else 0
        self.log.info(
            f"ran {n * period:.1f} s of sim time in {wall:.1f} s (real-time factor "
            f"{n * period / max(wall, 1e-9):.3f}); {self.late_steps} steps started more than "
            f"one step late (max {self.max_lag * 1e3:.1f} ms); {frames} camera frames "
            f"({frames / max(wall, 1e-9):.1f} fps)"
        )

    def _step(self, now: float) -> None:
        """One physics step, as ``BaseEnv._step_action`` takes it minus ManiSkill's controller
        (``agent.before_simulation_step`` only advances that controller)."""
        position, velocity, is_velocity = self.surface.targets(now)
        # A velocity-commanded joint gets no position error: its drive tracks velocity alone.
        position = np.where(is_velocity, self._art.get_qpos(), position)
        for joint, p, v in zip(self._joints, position, velocity, strict=True):
            joint.set_drive_target(p)
            joint.set_drive_velocity_target(v)
        self._drive_targets = (position, velocity)
        self.physics.simulation_step()

    def _publish_joint_states(self, stamp_ns: int) -> None:
        """Positions (plus the configured noise), velocities, and as effort the force each
        PD drive exerts (SAPIEN's qf holds only externally applied forces, zero here)."""
        if self._js_topic in self.dropped:
            return
        qpos, qvel = self._art.get_qpos(), self._art.get_qvel()
        target_pos, target_vel = self._drive_targets
        effort = np.clip(
            self._stiffness * (target_pos - qpos) + self._damping * (target_vel - qvel),
            -self._force_limit,
            self._force_limit,
        )
        if self.joint_state_noise > 0:
            qpos = qpos + self._rng.normal(0.0, self.joint_state_noise, qpos.shape)
        self.surface.publish_joint_states(stamp_ns, qpos, qvel, effort)

    def _publish_task_state(self) -> None:
        """Every boolean that the env's ``evaluate()`` reports, on ``~/task/<key>``."""
        for key, value in task_booleans(self.unwrapped.evaluate()).items():
            if key not in self._task_pubs:
                self._task_pubs[key] = self.ros.publisher(Bool, f"~/task/{key}", STATE_QOS)
            self._publish(self._task_pubs[key], Bool(data=value))

    def close(self) -> None:
        if self.cameras:
            self.cameras.close()
        self.env.close()


def main(args: list[str] | None = None) -> int:
    ros = RosNode("sim_robot", cli_args=sys.argv if args is None else args)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        try:
            robot = SimRobot(ros, stop)
        except (ParameterError, ConfigError) as e:
            ros.node.get_logger().fatal(str(e))
            return 1
        ros.node.get_logger().info(
            f"simulating {robot.env.spec.id} at {robot.sim_freq} Hz, joints {robot.joint_names}"
        )
        try:
            robot.run()
        finally:
            robot.close()
        return 0
    finally:
        ros.close()


if __name__ == "__main__":
    sys.exit(main())
