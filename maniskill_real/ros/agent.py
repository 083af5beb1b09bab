"""The ROS 2 robot agent: ManiSkill's ``BaseRealAgent`` contract over ros2_control topics.

A thin adapter, as ManiSkill's own real agents are: the inputs and their sampling live in
``ros/inputs.py``, the reset move and the hold in ``ros/motion.py``, the publishers in
``ros/commands.py``, the controller_manager and action clients in ``ros/controllers.py``.
Kinematics (TCP pose, IK for end-effector control) come from the sim twin:
``BaseRealAgent.__getattr__`` falls through to the sim agent, which RealEnv keeps synced to the
real joint positions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from rclpy.parameter import Parameter
from std_msgs.msg import Bool
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import GRIPPER_KINDS, RobotConfig, load_robot_config
from maniskill_real.core.camera import CameraAligner, sensor_params
from maniskill_real.core.grasp import is_grasped
from maniskill_real.core.joints import JointMap
from maniskill_real.env import sim_bridge
from maniskill_real.env.agent_port import RealAgent
from maniskill_real.errors import (
    ActionError,
    ConfigError,
    ControllerError,
    InvalidInputError,
    RealEnvError,
    ResetError,
    SafetyError,
)
from maniskill_real.ros.commands import ControllerCommand, GripperGoalCommand, duration_msg
from maniskill_real.ros.controllers import TrajectoryClient, check_controllers, switch_controllers
from maniskill_real.ros.inputs import RobotInputs, Snapshot
from maniskill_real.ros.motion import Motion
from maniskill_real.ros.node import Latest, RosNode
from maniskill_real.task_state import task_booleans

if TYPE_CHECKING:
    from mani_skill.envs.sapien_env import BaseEnv

WRITER_CHECK_PERIOD_S = 0.5
"""s between two looks for another writer on a command topic while stepping: each is a query of
the DDS graph (~0.1 ms), and discovery itself takes longer to show a new publisher. reset()
always looks."""
DELIVERY_TIMEOUT_S = 1.0
"""s close() waits for the controllers to acknowledge its hold before the node goes."""


def _sim_vector(values: Any) -> np.ndarray:
    """A tensor or array of per-joint values (sim order, possibly batched) as a flat float64."""
    return np.asarray(torch.as_tensor(values).cpu(), dtype=np.float64).reshape(-1)


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
        self.inputs: RobotInputs | None = None
        self.motion: Motion | None = None
        self.commands: dict[str, ControllerCommand | GripperGoalCommand] = {}
        self.deadman: Latest[Bool] | None = None
        self.reset_clients: dict[str, TrajectoryClient] = {}
        """part -> FollowJointTrajectory client of its reset controller."""
        self._reset_goals: dict[str, Any] = {}
        """part -> goal handle of a reset move under way."""
        self._on_reset_controllers = False
        """Whether reset() switched to the reset controllers and has not switched back yet."""
        self._sim_env: BaseEnv | None = None
        self._streams: dict[str, tuple[bool, bool]] = {}
        self.task_topics: dict[str, str] = {}
        """info key -> resolved std_msgs/Bool topic that reports it (set by :meth:`bind`)."""
        self._writers_checked: dict[str, float] = {}
        """command topic -> monotonic time of the last look for another writer on it."""

    # -- wiring ---------------------------------------------------------------------------
    def bind(self, twin: BaseEnv, cameras: dict[str, tuple[bool, bool]]) -> None:
        """Check the config against the sim robot and remember which camera streams to read.

        Raises before any ROS entity exists, so a bad config never reaches the robot.
        """
        super().bind(twin, cameras)
        self._sim_env = twin
        self._streams = dict(cameras)
        sim_joints = [j.name for j in twin.agent.robot.active_joints]
        self.joint_map = JointMap(self.config, sim_joints)
        uncommanded = set(self.joint_map.ros_joints) - set(self.config.controlled_joints())
        if uncommanded:
            raise ConfigError(
                f"{self.config.path}: key 'controllers': no controller commands joint(s) "
                f"{', '.join(sorted(uncommanded))} of the sim robot"
            )
        cfg = self.config
        # ManiSkill envs evaluate() right after construction (BaseEnv.__init__ resets once).
        keys = task_booleans(twin.evaluate()) if cfg.task_namespace else {}
        if cfg.grasp_estimator is not None:  # the gripper's own readings report it instead
            keys = {k: v for k, v in keys.items() if k != "is_grasped"}
        self.task_topics = {key: cfg.topic(f"{cfg.task_namespace}/{key}") for key in keys} | {
            key: cfg.topic(topic) for key, topic in cfg.task_topics.items()
        }

    def start(self) -> None:
        """Create the node, subscriptions and publishers. Publishes nothing."""
        if self._sim_env is None or self.joint_map is None:
            raise RuntimeError("ROS2Agent.bind(sim_env) must run before start()")
        cfg = self.config
        sim_time = [Parameter("use_sim_time", value=True)] if cfg.use_sim_time else []
        self.ros = RosNode(
            self.node_name,
            namespace=cfg.namespace,
            parameter_overrides=sim_time,
            read_only=True,  # use_sim_time from outside would switch off stale detection
        )
        try:
            self.commands = {
                part: (GripperGoalCommand if ctrl.kind in GRIPPER_KINDS else ControllerCommand)(
                    self.ros, ctrl, cfg.topic(ctrl.command_topic)
                )
                for part, ctrl in cfg.controllers.items()
            }
            sim_cameras = sim_bridge.sensor_configs(self._sim_env)
            cameras = {n: (sim_cameras[n], rgb, d) for n, (rgb, d) in self._streams.items()}
            self.inputs = RobotInputs(self.ros, cfg, self.joint_map, cameras, self.task_topics)
            deadman = cfg.safety.deadman
            self.deadman = (
                None if deadman is None else self.ros.latest(Bool, cfg.topic(deadman.topic))
            )
            self.motion = Motion(
                self.commands, self.joint_map, cfg.reset, lambda: self.inputs.joints().qpos
            )
            self.reset_clients = {
                part: TrajectoryClient(self.ros, ctrl.name, cfg.namespace)
                for part, ctrl in cfg.reset_controllers().items()
            }
        except BaseException:  # e.g. a camera the config lacks: leave no node behind
            self.ros.close()
            self.ros = None
            raise

    def stop(self) -> None:
        """Leave every controller holding still, then leave the graph. Publishes nothing if
        nothing was ever commanded (a close after a failed reset)."""
        if self.ros is None:
            return
        try:
            self._leave_reset_controllers()
            if any(command.sent for command in self.commands.values()):
                self.hold("close()")
                self._await_delivery("the hold of close()")
        finally:
            self.ros.close()
            self.ros = None

    def _await_delivery(self, what: str) -> None:
        """Before the node goes: until every controller acknowledged what was sent, for at most
        ``DELIVERY_TIMEOUT_S``; an error in the log names those that did not (it may not have
        arrived)."""
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        late = [
            command.controller.name
            for command in self.commands.values()
            if not command.delivered(max(0.0, deadline - time.monotonic()))
        ]
        if late and self.ros is not None:
            self.ros.node.get_logger().error(
                f"{what} was not acknowledged by {', '.join(late)} within {DELIVERY_TIMEOUT_S} s: "
                "it may not have reached them; check that the robot stopped"
            )

    def hold(self, reason: str) -> None:
        """Every controller holds at the measured position (see ros/motion.py); nothing is
        sent to a robot this agent never commanded (no motion nobody asked for)."""
        if self.motion is None or self.inputs is None:
            return
        self._cancel_reset_goals()  # the reset controller then holds the measured position
        if not any(command.sent for command in self.commands.values()):
            return
        try:
            qpos = self.inputs.joints().qpos
        except RealEnvError:
            qpos = None  # stale or invalid: position controllers keep their last target
        self.motion.hold(qpos)
        if self.ros is not None:
            state = "at the measured position" if qpos is not None else "(no fresh reading)"
            self.ros.node.get_logger().warning(f"holding {state}: {reason}")

    def camera_aligners(self) -> dict[str, CameraAligner]:
        """Each camera's alignment, once its CameraInfo arrived (after the first reading)."""
        assert self.inputs is not None
        cams = self.inputs.cameras
        return {n: c.aligner for n, c in cams.items() if c.aligner is not None}

    def wait_for_inputs(self, timeout: float | None = None) -> Snapshot:
        """Block until every input has published once, then read them all."""
        assert self.inputs is not None
        timeout = self.config.input_timeout if timeout is None else timeout
        self.snapshot = self.inputs.wait(timeout)
        return self.snapshot

    def wait_for_controllers(self, timeout: float | None = None) -> None:
        """Block until every command topic has a subscriber, and refuse a second writer.

        A command published before discovery matched the controller is lost (volatile topics
        keep nothing for late subscribers), and a lost reset trajectory would surface only as
        a ResetError. Two processes commanding one controller take turns on the robot.
        """
        assert self.ros is not None
        timeout = self.config.input_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        for command in self.commands.values():
            left = max(0.0, deadline - time.monotonic())
            if not command.wait_ready(self.ros, left):
                raise RealEnvError(
                    f"nothing subscribes to {command.topic} after {timeout:.1f} s; is "
                    f"controller '{command.controller.name}' loaded and active?"
                )
            self._check_single_writer(command)

    def sample(self) -> Snapshot:
        """Read every input now; raise for one that is stale or invalid."""
        assert self.inputs is not None
        self.snapshot = self.inputs.sample()
        return self.snapshot

    def task_state(self) -> dict[str, bool]:
        """The snapshot's: read with the joints, so that evaluate() and every ``is_grasping``
        it asks see the same values."""
        if self.snapshot is None:
            return {}
        state = dict(self.snapshot.task)
        estimator = self.config.grasp_estimator
        if estimator is not None:
            state["is_grasped"] = self._grasped(estimator)
        return state

    def _grasped(self, estimator: Any) -> bool:
        """is_grasped from this snapshot's finger positions and efforts (config grasp_estimator)."""
        assert self.joint_map is not None and self.snapshot is not None
        snap = self.snapshot
        if snap.effort.size == 0:
            raise InvalidInputError(
                f"{self.inputs.joint_states.topic} carries no effort, which "
                f"{self.config.path}: grasp_estimator needs"
            )
        idx = [self.joint_map.ros_joints.index(j) for j in estimator.joints]
        return is_grasped(estimator.opening, estimator.min_effort, snap.qpos[idx], snap.effort[idx])

    def task_state_keys(self) -> set[str]:
        grasp = {"is_grasped"} if self.config.grasp_estimator is not None else set()
        return set(self.task_topics) | grasp

    def object_sources(self) -> dict[str, bool]:
        return {name: not s.sim_belief for name, s in self.config.objects.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        return {} if self.snapshot is None else self.snapshot.objects

    @property
    def joint_source(self) -> str:
        return self.config.topic(self.config.joint_states_topic)

    def joint_reading_age(self) -> float | None:
        """Seconds since the joint reading of the current snapshot was stamped, now."""
        if self.snapshot is None or self.ros is None:
            return None
        return (self.ros.now_ns() - self.snapshot.stamps_ns["joint_states"]) * 1e-9

    def newest_joints(self) -> tuple[np.ndarray, np.ndarray, float]:
        assert self.inputs is not None
        js = self.inputs.joints()
        return js.qpos, js.qvel, js.age

    def refresh_joints(self) -> None:
        """Replace the snapshot's joint reading with the newest one (validated, fresh)."""
        assert self.inputs is not None and self.snapshot is not None
        js = self.inputs.joints()
        self.snapshot.qpos, self.snapshot.qvel = js.qpos, js.qvel
        self.snapshot.stamps_ns["joint_states"] = js.stamp_ns
        self.snapshot.ages["joint_states"] = js.age

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
        assert self.inputs is not None
        names = sensor_names or list(self.inputs.cameras)
        sim_params = self._sim_env.get_sensor_params()
        out = {}
        for name in names:
            cam = self.inputs.cameras[name]
            frames = cam.config.tf_frames
            if frames is not None:
                assert self.inputs.tf is not None
                cam2world = self.inputs.tf.lookup(
                    frames.world, frames.camera, self.config.input_timeout
                )
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
        self.prepare_targets(qpos, None)()

    def set_target_qvel(self, qvel: Any) -> None:
        """Send velocity targets (sim joint order) to every velocity-interface controller."""
        self.prepare_targets(None, qvel)()

    def prepare_targets(self, qpos: Any, qvel: Any) -> Callable[[], None]:
        """The deadman, RealEnv's gate, the conversion to every controller's order and the
        messages, now (a bad value anywhere sends nothing at all); returns the publish, which
        checks the deadman again."""
        self._check_deadman()
        sends = [
            send
            for values, interface in ((qpos, "position"), (qvel, "velocity"))
            if values is not None
            for send in self._prepare(values, interface)
        ]

        def publish() -> None:
            self._check_deadman()
            for send in sends:
                send()

        return publish

    def _prepare(self, values: Any, interface: str) -> list[Callable[[], None]]:
        values = _sim_vector(values)
        if self.gate is not None:
            values = self.gate(values, interface)
        parts = [p for p, c in self.config.controllers.items() if c.interface == interface]
        per_part = {p: self.joint_map.to_controller(p, values) for p in parts}
        bad = [p for p, v in per_part.items() if not np.all(np.isfinite(v))]
        if bad:
            raise ActionError(f"non-finite {interface} targets for {', '.join(bad)}; sent nothing")
        now = time.monotonic()
        for part in per_part:
            command = self.commands[part]
            if now - self._writers_checked.get(command.topic, -np.inf) >= WRITER_CHECK_PERIOD_S:
                self._check_single_writer(command)
        return [
            self.commands[part].prepare(targets, self.command_horizon)
            for part, targets in per_part.items()
        ]

    def _check_single_writer(self, command: ControllerCommand | GripperGoalCommand) -> None:
        """One writer per robot: another publisher on a command topic (a second RealEnv, a
        teleop node) would take turns with this one on the robot."""
        assert self.ros is not None
        others = self.ros.other_publishers(command.topic)
        if others:
            raise RealEnvError(
                f"{', '.join(others)} also publish(es) on {command.topic}: one writer per "
                "robot; stop the other process first"
            )
        self._writers_checked[command.topic] = time.monotonic()

    def _check_deadman(self) -> None:
        """With safety.deadman configured, a true and fresh heartbeat or nothing goes out."""
        if self.deadman is None:
            return
        msg, _, age = self.deadman.get()
        max_age = self.config.safety.deadman.max_age
        if msg is None or age > max_age or not msg.data:
            state = "silent" if msg is None else f"{age:.3f} s old" if msg.data else "false"
            raise SafetyError(
                f"deadman {self.deadman.topic} is {state} (max_age {max_age} s): not sending"
            )

    def reset(self, qpos: Any) -> None:
        """Wait for every input, check the controllers through the controller_manager
        (ControllerError naming what is not as configured, before anything is sent), wait for
        their topics, then move to ``qpos`` (sim order) at no more than reset.max_joint_speed
        and wait until within reset.tolerance (or ResetError).

        A part with a reset controller moves through it: switched to it (STRICT, its policy
        controller deactivated), a FollowJointTrajectory goal with reset.tolerance as goal
        tolerance and reset.settle_timeout as goal time tolerance, and switched back (STRICT)
        before this returns; on any failure the goal is cancelled and the switch undone."""
        assert self.inputs is not None and self.motion is not None and self.ros is not None
        cfg = self.config
        self.inputs.restart()
        self.wait_for_inputs()
        if cfg.controller_manager is not None:
            check_controllers(self.ros, cfg, cfg.input_timeout)
        self.wait_for_controllers()
        target = _sim_vector(qpos)
        if not self.reset_clients:
            self.motion.reset_to(target)
            return
        self._switch_reset_controllers(True)
        try:
            self._reset_through_goals(target)
        except BaseException:
            self._leave_reset_controllers()
            raise
        self._switch_reset_controllers(False)

    def _switch_reset_controllers(self, on: bool) -> None:
        """STRICT: the reset controllers in place of their parts' controllers, or back."""
        assert self.ros is not None and self.config.controller_manager is not None
        cfg = self.config
        resets = cfg.reset_controllers()
        policy = [cfg.controllers[part].name for part in resets]
        reset = [c.name for c in resets.values()]
        activate, deactivate = (reset, policy) if on else (policy, reset)
        switch_controllers(
            self.ros, activate, deactivate, cfg.input_timeout, cfg.namespace, cfg.controller_manager
        )
        self._on_reset_controllers = on

    def _reset_through_goals(self, target: np.ndarray) -> None:
        """One FollowJointTrajectory goal per part with a reset controller (started first),
        the other parts through their topics, then every goal's result."""
        assert self.motion is not None and self.joint_map is not None
        cfg = self.config
        duration = self.motion.duration(self.motion.measured(), target)
        for part, client in self.reset_clients.items():
            joints = list(cfg.controllers[part].joints)
            point = JointTrajectoryPoint(
                positions=self.joint_map.to_controller(part, target).tolist(),
                time_from_start=duration_msg(duration),
            )
            self._reset_goals[part] = client.send_trajectory(
                JointTrajectory(joint_names=joints, points=[point]),
                goal_tolerance=dict.fromkeys(joints, cfg.reset.tolerance),
                goal_time_tolerance=cfg.reset.settle_timeout,
                timeout=cfg.input_timeout,
            )
        others = [part for part in cfg.controllers if part not in self.reset_clients]
        if others:
            self.motion.reset_to(target, others)
        for part, handle in list(self._reset_goals.items()):
            client = self.reset_clients[part]
            try:
                client.wait(handle, duration + cfg.reset.settle_timeout + cfg.input_timeout)
            except ControllerError as e:
                raise ResetError(f"controllers.{part}: reset through {e}") from e
            finally:  # (a signal's hold may have cancelled and dropped it already)
                self._reset_goals.pop(part, None)

    def _cancel_reset_goals(self) -> None:
        """Cancel every reset goal under way; failures are logged (called on the way out)."""
        for part in list(self._reset_goals):
            handle = self._reset_goals.pop(part, None)
            if handle is None or self.ros is None:
                continue
            try:
                self.reset_clients[part].cancel(handle, self.config.input_timeout)
            except ControllerError as e:
                self.ros.node.get_logger().error(f"controllers.{part}: {e}")

    def _leave_reset_controllers(self) -> None:
        """After a failed or interrupted reset: cancel its goals and switch back to the policy
        controllers, so that the next reset() finds the controllers as configured."""
        self._cancel_reset_goals()
        if not self._on_reset_controllers or self.ros is None:
            return
        try:
            self._switch_reset_controllers(False)
        except ControllerError as e:
            self.ros.node.get_logger().error(
                f"the reset controllers are still active, switch back by hand: {e}"
            )
