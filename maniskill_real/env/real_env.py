"""RealEnv: a ManiSkill sim env's spaces, controller and observation code, on a real robot.

The sim env is the spec. Actions go through the sim env's own controller, running on a sim
twin of the robot whose joints are synced to the real readings; the drive targets it computes
are what the robot receives. Observations come from the sim env class's own observation code,
called on this object, so ``self.agent`` is the real agent (real qpos/qvel, real frames) and
anything else (kinematics, goal sites) falls through to the synced sim twin.

Timing of ``step``: publish the command at tick k, wait for tick k+1 of the control frequency
(absolute deadlines, no drift), then sample every input. That is the sim's order (act, let
physics run for one control period, observe); Sim2RealEnv's sleep-then-send lags a step.

With ``latency_steps`` d >= 1 the command computed from the observation of tick k is released
at tick k + d exactly, by a release thread (core/release.py), whatever the policy's compute
time; the step still observes at tick k+1, right after that tick's release. See ``RealEnv``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from mani_skill.agents.base_real_agent import BaseRealAgent
from mani_skill.utils import common

from maniskill_real.config import GRIPPER_KINDS, RobotConfig, SafetySettings, checked_count
from maniskill_real.core.clock import TickClock
from maniskill_real.core.realtime import ThreadPriority, checked_priority
from maniskill_real.core.release import Releaser
from maniskill_real.core.safety import SafetyConfig, SafetyFilter, SafetyLimits, SafetyReport
from maniskill_real.env import sim_bridge
from maniskill_real.env.agent_port import AgentPort
from maniskill_real.env.guard import HoldGuard
from maniskill_real.env.scene_reset import SceneReset, make_scene_reset
from maniskill_real.errors import ActionError, ConfigError, RealEnvError, StaleInputError
from maniskill_real.extras import missing_extra

_KEEP = object()
COMMAND_TRANSPORT_S = 0.005
"""s from publishing a target to the controller starting it from the state it reads, on top
of the reading's age and, for a scheduled release, the time from the gate to its deadline
(DDS on one host, a controller update at 500 Hz or faster)."""


class RealEnv(sim_bridge.SimEnvCode):
    """A Gymnasium env on a real robot, with the action/observation spaces of ``sim_env``.

    Args:
        sim_env: the ManiSkill env the policy was trained on (physx_cpu, one env), with any
            wrappers already applied; they run on real data too. Its unwrapped env is the
            *sim twin* (``self.twin``): its robot joints follow the real readings.
        agent: the robot side, any ManiSkill ``BaseRealAgent``. Default: ``ROS2Agent`` built
            from ``robot_config``.
        agent_cls: a ``BaseRealAgent`` subclass, built as ``agent_cls(robot_config)``.
        robot_config: a config path or shipped name; default: the sim robot's uid.
        scene_reset: after the robot reached its reset pose: ``"auto"`` (prompt the operator
            when a terminal is attached, else continue), ``"prompt"``, ``"none"``,
            ``"trigger:<service>"`` (a std_srvs/Trigger), or a callable ``(env, seed, options)``.
        control_freq: defaults to the sim env's.
        render_mode: ``"sensors"`` (the robot's camera frames, tiled as the sim tiles its
            sensors), ``"twin_rgb_array"`` (the sim twin's view, labelled) or ``"all"``;
            default: the sim env's, which must be one of these or None.
        safety: the limits every target passes before it is published; default: the robot
            config's ``safety`` (a plain ``BaseRealAgent`` without a config gets the sim
            robot's joint position limits only).
        sim_belief: sim actors (by name) that the observation or evaluate() may read from the
            twin as the sim placed them, besides the robot config's ``objects.<name>.sim_belief``;
            ``info["sim_belief"]`` lists them every step.
        latency_steps: d, control ticks between the observation a command is computed from
            and the command's release; default: the robot config's ``latency_steps`` (0 for
            an agent without one). 0: sent as soon as computed (inside ``step``, right after
            the policy's action reached it). d >= 1: see "Deterministic latency".
        release_priority: (d >= 1) the SCHED_FIFO priority (1-99) to ask for the release
            thread, where the process may (root, CAP_SYS_NICE or an rtprio limit, as
            ros2_control's own loop asks); ``self.release_realtime`` tells whether it got it.
            While set, CPython's GIL switch interval is 0.2 ms (core/realtime.py
            ``SWITCH_INTERVAL_S``), so the thread gets the GIL from a computing policy in time.
            None: normal scheduling.
        step_priority: the SCHED_FIFO priority (1-99) to ask for the thread that calls
            ``reset()``, the control loop's (for d=0, the thread whose step sends the
            commands), from each ``reset()`` to ``close()``, where it may as for
            ``release_priority``; ``self.step_realtime`` tells whether it got it. Threads and
            processes started from it afterwards get normal scheduling; the GIL switch
            interval is 0.2 ms meanwhile. At high rates it keeps the process's other threads
            and other processes from delaying a step past its tick (benchmarks/step_cost.py
            ``--step-priority``). None: the thread's scheduling is left alone.

    Deterministic latency (d >= 1): ``step(a_k)``, called with the observation of tick k, runs
    the sim controller on the reading of tick k and queues the targets; a release thread
    publishes them at the scheduled time of tick k + d. It wakes a little before (its
    ``Releaser.lead``), re-runs the check-then-send gate (the safety filter against the newest
    reading, its motion extrapolated to the tick) and builds the messages, spins to the tick,
    checks again that nothing faulted and the reading is still fresh, and publishes: only the
    publish runs at the tick. A failure holds the robot like any fault. The step still waits for
    tick k+1, lets that tick's release (the command of step k+1-d) go out first, then samples:
    so the observation it returns is the robot at tick k+1, having run the commands of steps up
    to k-d during the period (k, k+1] (for d=1: the previous step's command; the command of this
    step goes out at the tick the observation is taken). Until tick d nothing is released: the
    robot holds its reset pose. Commands still queued are dropped, never sent, on a fault, on
    ``reset()`` and on ``close()``. Releases run on the schedule even while the policy computes
    (a slow step does not delay them). A step past its tick counts an overrun and re-anchors the
    ticks as for d=0; the queued releases move with them, so the command of step k still goes
    out at (re-anchored) tick k + d. ``maniskill_real.sim.latency.LatencyWrapper`` gives the sim
    env the same timing.

    ``info["timing"]`` every step: ``tick_s`` (the tick of the observation, monotonic s),
    ``sampled_s`` (when its inputs were read), ``released_s`` (when the command released
    during this step was handed to the publishers, or None: nothing was released),
    ``release_due_s`` (its scheduled time; None for d=0: as soon as computed),
    ``released_step`` (the ``elapsed_steps`` of the step that computed it: this step for
    d <= 1, step n+1-d for d >= 2), ``latency_steps``; with ``overruns``, ``ticks``,
    ``overran``, ``late_s`` and the inputs' ``ages`` and ``skew``. ``info["safety"]`` is the
    safety filter's report on that released command.

    Objects: every tick the twin's mapped actors are set to their real poses (robot config
    ``objects``) before the observation, info and reward are computed. At construction, before
    anything moves, every physical actor that the observation (for its obs mode) or evaluate()
    reads must have a pose source or be a declared sim belief (ConfigError naming it otherwise).
    Task parameters the sim samples at reset (goal positions) stay the sim's.

    Safety: nothing is sent from a reading older than its max age (the step re-reads the
    joints first) or one that is invalid; after any error in ``step()``/``reset()`` the robot
    holds and nothing is sent until ``reset()`` succeeds. SIGINT/SIGTERM and a watchdog (no
    step within ``safety.watchdog_timeout`` while live) hold the robot too.
    """

    metadata = {"render_modes": list(sim_bridge.RENDER_MODES)}

    def __init__(
        self,
        sim_env: gym.Env,
        agent: BaseRealAgent | None = None,
        agent_cls: type[BaseRealAgent] | None = None,
        robot_config: RobotConfig | str | Path | None = None,
        scene_reset: str | SceneReset = "auto",
        control_freq: float | None = None,
        render_mode: Any = _KEEP,
        safety: SafetySettings | None = None,
        sim_belief: Iterable[str] = (),
        latency_steps: int | None = None,
        release_priority: int | None = None,
        step_priority: int | None = None,
    ) -> None:
        twin = sim_env.unwrapped
        sim_bridge.check_sim_env(twin)
        for name, priority in (("release", release_priority), ("step", step_priority)):
            try:  # (before anything starts: the release thread, the agent's node)
                if priority is not None:
                    checked_priority(priority)
            except ValueError as e:
                raise ConfigError(f"{name}_priority: {e}") from None
        self._step_priority = ThreadPriority(step_priority) if step_priority is not None else None
        self.render_mode = twin.render_mode if render_mode is _KEEP else render_mode
        sim_bridge.check_render_mode(self.render_mode)
        self.twin = twin
        self._allowed = sim_bridge.allowed_twin_attributes(twin)
        self.sim_env = sim_env
        self.spec = twin.spec  # RecordEpisode's env_info: the sim env a replay rebuilds
        self.action_space = sim_env.action_space
        self.observation_space = sim_env.observation_space
        self.num_envs = 1
        self.device = twin.device
        self.control_freq = float(control_freq or twin.control_freq)
        self.control_dt = 1.0 / self.control_freq
        self.obs_mode = twin.obs_mode
        self.reward_mode = twin.reward_mode
        self.obs_mode_struct = twin.obs_mode_struct
        self._elapsed_steps = torch.zeros(1, dtype=torch.int32)

        if agent is None:
            config = robot_config if robot_config is not None else twin.agent.uid
            if agent_cls is None:
                try:  # rclpy only where ROS is used: a plain BaseRealAgent needs none
                    from maniskill_real.ros.agent import ROS2Agent
                except ModuleNotFoundError as e:
                    raise missing_extra(e) from None
                agent_cls = ROS2Agent
            agent = agent_cls(config)
        self.agent = agent
        self.port = AgentPort(agent)
        self._sets_qpos, self._sets_qvel = sim_bridge.control_targets(
            twin, getattr(agent, "config", None)
        )
        config = getattr(agent, "config", None)
        settings = safety or (config.safety if isinstance(config, RobotConfig) else None)
        self.safety = self._safety_filter(settings or SafetySettings(blend_in_steps=1))
        self._safety_report = SafetyReport()
        self._gate_due: float | None = None
        """The deadline of the release being gated (monotonic s; None: sent as computed)."""
        self.port.bind(twin, self._camera_streams(), horizon=self.control_dt, gate=self._gate)
        sources = self.port.object_sources()
        reported = self.port.task_state_keys()
        self.sim_belief = sim_bridge.check_object_sources(
            twin,
            posed={name for name, posed in sources.items() if posed},
            believed={name for name, posed in sources.items() if not posed} | set(sim_belief),
            reported=reported,
            config_path=getattr(config, "path", None),
        )
        """Actors the observation or evaluate() read from the twin's belief, not the robot."""
        if "is_grasped" not in reported and sim_bridge.asks_grasp(twin):
            warnings.warn(
                f"{twin.spec.id if twin.spec else type(twin).__name__}'s evaluate() or "
                f"observation asks {type(twin.agent).__name__}.is_grasping, which reads contact "
                "forces: the twin never steps physics, so on the robot is_grasped would be its "
                "answer, which never changes. Report it from the robot: "
                f"'grasp_estimator' or 'task_topics.is_grasped' in "
                f"{getattr(config, 'path', None) or 'the robot config'}",
                stacklevel=2,
            )
        self._evaluate_keys = tuple(twin.evaluate())
        """The sim's evaluate() keys (a task's are fixed): when the robot side reports all of
        them, the twin's evaluate() is not run at all."""
        self.scene_reset = make_scene_reset(scene_reset)
        self.clock = TickClock(self.control_dt)
        if latency_steps is None:
            latency_steps = config.latency_steps if isinstance(config, RobotConfig) else 0
        try:
            self.latency_steps = checked_count(latency_steps)
        except ValueError as e:
            raise ConfigError(f"latency_steps: {e}") from None
        self._releases: dict[int, dict[str, Any]] = {}
        """step number -> timing and safety report of its command's release (d >= 1)."""
        self._release_error: BaseException | None = None
        self._releaser = (
            Releaser(self._on_release_error, name="real_env-release", priority=release_priority)
            if self.latency_steps
            else None
        )
        self.step_realtime: bool | None = None
        """Whether the thread that called ``reset()`` got ``step_priority`` (None: not asked)."""
        self.release_realtime = self._releaser.realtime if self._releaser else None
        if self._releaser is not None:  # an overrun moves the queued releases with the ticks
            self.clock.on_reanchor = self._releaser.shift
        self._reset_done = False
        self._fault: str | None = None
        self._closed = False
        self.wrappers = sim_bridge.WrapperChain(
            sim_env, sim_bridge.RealCore(self, self._real_step, self._real_reset)
        )
        watchdog = settings.watchdog_timeout if settings else 0.0
        self.guard = HoldGuard(self._watchdog_hold, self.close, watchdog)
        agent.start()  # subscribes and advertises; never commands the robot
        self.guard.install()
        self.guard.start_watchdog()

    def _safety_filter(self, settings: SafetySettings) -> SafetyFilter:
        names = [j.name for j in self.twin.agent.robot.active_joints]
        config = getattr(self.agent, "config", None)
        ros_name = config.ros_joint if isinstance(config, RobotConfig) else (lambda n: n)
        speeds = tuple(settings.max_joint_velocity.get(ros_name(n), np.inf) for n in names)
        tracked = None
        if isinstance(config, RobotConfig):  # the joints that take position trajectories
            moved = {
                j
                for c in config.controllers.values()
                if c.interface == "position" and c.kind not in GRIPPER_KINDS
                for j in c.joints
            }
            tracked = np.array([ros_name(n) in moved for n in names]) & np.isfinite(speeds)
        lower, upper = sim_bridge.joint_limits(self.twin)
        tcp = sim_bridge.tcp_position_at(self.twin) if settings.workspace else None
        return SafetyFilter(
            SafetyConfig(
                max_joint_velocity=speeds,
                **{f.name: getattr(settings, f.name) for f in fields(SafetyLimits)},
            ),
            lower,
            upper,
            [ros_name(n) for n in names],
            self.control_dt,
            tcp,
            sim_bridge.revolute_joints(self.twin),
            tracked,
        )

    def _camera_streams(self) -> dict[str, tuple[bool, bool]]:
        """Which streams of which sim camera the observation (and render mode) reads."""
        visual = self.obs_mode_struct.visual
        rgb = visual.rgb or self.render_mode in ("sensors", "all")
        if not (rgb or visual.depth):
            return {}
        return {name: (rgb, visual.depth) for name in sim_bridge.sensor_configs(self.twin)}

    # -- gym API: runs the user's wrapper chain on real step/reset -----------------------
    def step(self, action: Any):
        return self.guard.run(lambda: self.wrappers.call(lambda env: env.step(action)))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        sim_bridge.check_reset_options(options)  # before the wrappers act on the reset too
        if self._step_priority is not None and not self._closed:
            self.step_realtime = self._step_priority.claim()
        return self.guard.run(
            lambda: self.wrappers.call(lambda env: env.reset(seed=seed, options=options))
        )

    def close(self) -> None:
        """Leave the robot holding its position and the ROS graph, then close the wrappers
        applied to the sim env (a RecordEpisode inside writes its last episode) and the twin."""
        if self._closed:
            return
        self._closed = True
        self.guard.idle()
        if self._releaser is not None:
            self._releaser.close()  # nothing queued goes out after close()
        try:
            self.agent.stop()
        finally:
            if self._step_priority is not None:
                self._step_priority.restore()
            self.guard.stop()
            self.wrappers.close()

    @property
    def queued_commands(self) -> int:
        """Commands computed and not released yet (``latency_steps`` >= 1; else 0)."""
        return self._releaser.pending() if self._releaser is not None else 0

    # -- faults: hold, and send nothing until reset() -----------------------------------
    def _watchdog_hold(self, why: str) -> None:
        self._hold(f"the watchdog held the robot: {why}")

    def _on_fault(self, error: BaseException) -> None:
        if self._closed:
            return
        self.guard.idle()
        self._hold(f"{type(error).__name__}: {error}")

    def _hold(self, fault: str) -> None:
        """Fault: drop every queued command (after a release in flight), then hold."""
        with self._release_lock():
            self._fault = fault
            if self._releaser is not None:
                self._releaser.drop()
            self.port.hold(fault)

    def _on_release_error(self, error: BaseException) -> None:
        """A release refused (the gate) or failed: hold; the next step raises it."""
        self._release_error = error
        self._on_fault(error)

    def _require_ready(self) -> None:
        if self._closed:
            raise RealEnvError("this RealEnv is closed")
        if not self._reset_done:
            raise RealEnvError("call reset() before step()")
        if self._fault is not None:
            raise RealEnvError(
                f"not stepping: the robot is holding after {self._fault}; call reset()"
            )

    def _gate(self, values: np.ndarray, interface: str) -> np.ndarray:
        """The last check before a target reaches the agent's publishers (sim joint order):
        a fresh reading, then the safety limits against the newest reading there is (the
        robot may have moved since the observation's: found by benchmarks/soak.py's
        independent recorder). Raises instead of sending. With ``latency_steps`` >= 1 it runs
        at release time, on the release thread."""
        self._check_not_holding()
        newest = self.port.newest_joints()  # raises, naming the topic, if it fell silent
        self._check_reading_age()
        if newest is None:
            measured = self.agent.get_qpos()[0].double().numpy()
            velocity, lead = np.zeros_like(measured), 0.0
        else:
            measured, velocity, newest_age = newest
            due = self._gate_due
            ahead = 0.0 if due is None else max(0.0, due - time.monotonic())
            lead = newest_age + ahead + COMMAND_TRANSPORT_S
        if interface == "velocity":
            safe, report = self.safety.velocities(values, measured)
        else:
            safe, report = self.safety.positions(values, measured, velocity * lead)
        self._safety_report = report
        return safe

    def _check_not_holding(self) -> None:
        if self._fault is not None or self._closed:
            raise RealEnvError(f"not sending: the robot is holding after {self._fault}")

    def _check_reading_age(self) -> None:
        """The joint reading the command was computed from is still within its max age (a
        slow policy's step re-reads it first: ``_fresh_joints``)."""
        stale = self._stale_reading()
        if stale is not None:
            source = f"{self.port.joint_source} (the reading this command came from)"
            raise StaleInputError(source, *stale)

    def _stale_reading(self) -> tuple[float, float] | None:
        """(age, max age) of the last capture's joint reading if it is older than its max age
        now; None if it is not, or either is unknown."""
        age = self.port.joint_reading_age()
        max_age = self._joint_max_age()
        if age is not None and max_age is not None and age > max_age:
            return age, max_age
        return None

    def _joint_max_age(self) -> float | None:
        config = getattr(self.agent, "config", None)
        return config.joint_states_max_age if isinstance(config, RobotConfig) else None

    def _fresh_joints(self) -> bool:
        """Act on a reading that is fresh now: re-read the joints if the observation's reading
        has aged past its max age (a slow policy), then refuse anything out of distribution.
        Returns whether the joints were re-read."""
        refreshed = self._stale_reading() is not None
        if refreshed:
            self.port.refresh_joints()
        measured = self.agent.get_qpos()[0].double().numpy()
        self.safety.check_measured(measured, self.agent.get_qvel()[0].double().numpy())
        return refreshed

    # -- the real step and reset --------------------------------------------------------
    def _check_action(self, action: Any) -> torch.Tensor:
        if isinstance(action, dict):
            raise ActionError("dict actions (control-mode switches) are not supported on robots")
        single = sim_bridge.single_action_space(self.twin)
        tensor = common.to_tensor(action, device=self.device)
        if tensor.shape == single.shape:
            tensor = tensor.unsqueeze(0)
        if tuple(tensor.shape) != (1, *single.shape):
            raise ActionError(
                f"action shape {tuple(common.to_tensor(action).shape)} doesn't match the action "
                f"space {single.shape} (or batched (1, *{single.shape}))"
            )
        if not torch.isfinite(tensor).all():
            raise ActionError(f"action has non-finite values {tensor.tolist()}; nothing was sent")
        return tensor

    def _real_step(self, action: Any):
        self._require_ready()
        action = self._check_action(action)  # a bad action sends nothing and faults nothing
        try:
            with self._release_lock():
                # The twin holds the observation's readings (synced at the end of the last
                # step): again only if they were re-read, or if a plain BaseRealAgent (whose
                # get_qpos may read the robot live, not the last capture) answers.
                if self._fresh_joints() or not self.port.extended:
                    self._sync_twin()
                if self._releaser is None:
                    self._safety_report = SafetyReport()
                action = self._step_action(action)
            self._elapsed_steps += 1
            overran, late = self.clock.wait_next()
            release = self._await_release()
            with self._release_lock():
                self._sample()
            sampled = time.monotonic()
        except BaseException as error:
            self._on_fault(error)
            raise
        self.guard.live()
        with self._release_lock():
            info = self.get_info()
            info["timing"] = {
                **info["timing"],
                "overran": overran,
                "late_s": late,
                "tick_s": self.clock.tick_time(),
                "sampled_s": sampled,
                "latency_steps": self.latency_steps,
                **{k: release[k] for k in ("released_s", "release_due_s", "released_step")},
            }
            info["safety"] = release["safety"].as_info(self.safety.names)
            obs = self.get_obs(info, unflattened=True)
            reward = self.get_reward(obs=obs, action=action, info=info)
        obs = self._flatten_raw_obs(obs)
        terminated = torch.zeros(1, dtype=torch.bool)
        for key in ("success", "fail"):
            if key in info:
                terminated = terminated | torch.as_tensor(info[key]).bool().reshape(1)
        return obs, reward, terminated, torch.zeros(1, dtype=torch.bool), info

    def _release_lock(self) -> AbstractContextManager:
        """The lock a release (``latency_steps`` >= 1) runs under, on its own thread: held by a
        hold (nothing queued goes out after it), and while a step reads the robot or runs the
        safety layer (the gate reads the same capture, and shares the safety filter's tracking
        history and blend-in count)."""
        return self._releaser.lock if self._releaser is not None else nullcontext()

    def _step_action(self, action: torch.Tensor) -> torch.Tensor:
        """Run the sim controller on the twin and send the drive targets it computes (or, with
        ``latency_steps`` >= 1, queue them for their release)."""
        sim_agent = self.twin.agent
        sim_agent.set_action(action)
        robot = sim_agent.robot
        pos = robot.get_drive_targets()[0].clone() if self._sets_qpos else None
        vel = robot.get_drive_velocities()[0].clone() if self._sets_qvel else None
        step = int(self._elapsed_steps[0]) + 1  # this step's number, as info reports it
        if self._releaser is None:
            self._prepare_release(step, None, pos, vel)()
        else:
            self.clock.check_late()  # a late step: the ticks (and its release) re-anchor first
            due = self.clock.tick_time(self.latency_steps)
            self._releaser.schedule(due, lambda due: self._prepare_release(step, due, pos, vel))
        return action

    def _prepare_release(
        self, step: int, due: float | None, pos: torch.Tensor | None, vel: torch.Tensor | None
    ) -> Callable[[], None]:
        """One step's targets through the gate and into messages, now; returns the send, which
        checks again that nothing faulted and the reading is still fresh, publishes, and notes
        when. (With ``latency_steps`` >= 1 the release thread prepares a few ms before the
        tick, core/release.py's ``Releaser.lead``: the gate extrapolates the newest reading's
        motion to that deadline too.)"""
        self._safety_report = SafetyReport()
        self._gate_due = due
        try:
            publish = self.port.prepare_targets(pos, vel, self._gate)
        finally:
            self._gate_due = None
        report = self._safety_report

        def send() -> None:
            self._check_not_holding()
            self._check_reading_age()
            publish()
            self._releases[step] = {
                "released_s": time.monotonic(),
                "release_due_s": due,
                "released_step": step,
                "safety": report,
            }

        return send

    def _await_release(self) -> dict[str, Any]:
        """At the tick just reached: (d >= 1) wait for its release to go out; then this step's
        release record, or an empty one when nothing was released."""
        step = int(self._elapsed_steps[0])
        if self._releaser is not None:
            step += 1 - self.latency_steps
            timeout = max(1.0, 10 * self.control_dt)
            if not self._releaser.wait_done(self.clock.tick_time(), timeout):
                raise RealEnvError(f"the release due at this tick did not run within {timeout} s")
            if self._release_error is not None:
                raise self._release_error
        for old in [k for k in list(self._releases) if k < step]:  # (list: atomic copy)
            del self._releases[old]  # (after an overrun's re-anchoring)
        empty = {"released_s": None, "release_due_s": None, "released_step": None}
        # (a subclass's _step_action may send through the agent itself: its gate's report)
        report = SafetyReport() if self._releaser is not None else self._safety_report
        return self._releases.pop(step, None) or {**empty, "safety": report}

    def _real_reset(self, seed: int | None, options: dict | None):
        """Sim reset (samples the initial qpos), robot to it, scene reset, first observation."""
        if self._closed:
            raise RealEnvError("this RealEnv is closed")
        sim_bridge.check_reset_options(options)  # (a wrapper's options; the episode goes on)
        twin = self.twin
        self._reset_done = False
        if self._releaser is not None:
            self._releaser.drop()  # a command of the last episode never goes out
        self._releases.clear()
        self._release_error = None
        self._fault = None
        self.guard.idle()
        try:
            twin.reset(seed=seed, options=options)
            sampled = twin.agent.robot.get_qpos()[0]
            target, report = self.safety.reset_target(sampled.double().cpu().numpy())
            # ROS2Agent waits for its inputs before it moves
            self.agent.reset(torch.as_tensor(target, dtype=sampled.dtype))
            self.scene_reset(self, seed, options)
            self._elapsed_steps[:] = 0
            self._sample()
        except BaseException as error:
            self._on_fault(error)
            raise
        twin.agent.controller.reset()
        self.safety.restart()
        self.clock.restart()
        self._reset_done = True
        self.guard.live()
        info = self.get_info()
        info["safety"] = report.as_info(self.safety.names)
        return self.get_obs(info), {**info, "reconfigure": False}

    def _sample(self) -> None:
        """Read every input at this tick, and sync the twin's joints to the readings."""
        self.agent.capture_sensor_data()
        self._sync_twin()

    def _sync_twin(self) -> None:
        """The twin's robot joints and mapped objects := the readings."""
        robot = self.twin.agent.robot
        robot.set_qpos(self.agent.get_qpos())
        try:
            robot.set_qvel(self.agent.get_qvel())
        except NotImplementedError:
            pass
        sim_bridge.set_actor_poses(self.twin, self.port.object_poses())

    # -- info and reward: the sim env's code on real readings ---------------------------
    @property
    def elapsed_steps(self) -> torch.Tensor:
        return self._elapsed_steps

    def evaluate(self) -> dict:
        """The sim's evaluate() on the twin (real robot joints, mapped objects at their real
        poses, declared sim beliefs as the sim placed them), overridden by every task state the
        robot side reports; not run when the robot side reports every key (it costs as much as
        the rest of the step: Panda.is_grasping's contact queries)."""
        reported = self.port.task_state()
        if reported.keys() >= set(self._evaluate_keys):
            info = dict.fromkeys(self._evaluate_keys)
        else:
            info = self.sim_evaluate()
        for key, value in reported.items():
            info[key] = torch.tensor([value])
        return info

    def get_info(self) -> dict:
        info = {"elapsed_steps": self._elapsed_steps.clone(), **self.evaluate()}
        timing: dict[str, Any] = {"overruns": self.clock.overruns, "ticks": self.clock.ticks}
        inputs = self.port.input_timing()
        if inputs:
            timing["ages"] = {name: age for name, (_, age) in inputs.items()}
            js = inputs["joint_states"][0]
            timing["skew"] = {name: (stamp - js) * 1e-9 for name, (stamp, _) in inputs.items()}
        info["timing"] = timing
        if self.sim_belief:
            info["sim_belief"] = list(self.sim_belief)
        return info

    def get_reward(self, obs: Any, action: Any, info: dict):
        if self.reward_mode == "none":
            return torch.zeros(1)
        return self.sim_sparse_reward(obs=obs, action=action, info=info)
