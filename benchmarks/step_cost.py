"""Step cost: what RealEnv.step adds to ManiSkill's own step, side by side in one run.

    .venv/bin/python benchmarks/step_cost.py [--quick] [--steps N] [--rate-steps N]
                                             [--rates 100 250 500] [--no-profile]
                                             [--step-priority N]

- overhead: the wall time of ``step()`` minus the wait for the control tick (``TickClock.waited``)
  for RealEnv against mock_hardware over DDS, and for ManiSkill's ``Sim2RealEnv`` with an
  instant fake ``BaseRealAgent`` (no transport; its own sleep never runs: its control frequency
  is set unreachable and the loop is paced outside the timed region), per case: state with
  pd_joint_delta_pos (evaluate() on the twin; then is_grasped from the gripper's readings,
  the rest on the twin; then every key from task topics that benchmarks/command_peer.py
  publishes as sim_robot does) and pd_ee_delta_pose; rgbd with the
  mock's 640x480 test camera -> 128x128; rgbd with two and four cameras (panda_wristcam);
  state with 9 joints (Panda) and 14 (two arms, benchmarks/dual_panda.py), no task, one
  joint_trajectory_controller per arm: the scaling in cameras and in joints. Sim2RealEnv's
  info carries only ``elapsed_steps`` (plus ``is_grasped``, which PickCube's observation
  reads): RealEnv's has every evaluate() key.
- rates: the highest control rate with zero overruns over ``--rate-steps`` steps (state obs),
  the policy moving every arm joint slowly (the safety layer's tracking fit runs); with normal
  scheduling and with ``RealEnv(step_priority=N)`` (SCHED_FIFO for the stepping thread; needs
  root or an rtprio limit), alternating per rate.
- arrival: when the command computed after tick k reaches a subscriber in another process
  (benchmarks/command_peer.py, its DDS receive time), after tick k, p50/p99, per case.
- CPU: the RealEnv process's CPU time over the overhead run's wall time (100%: one core), its
  ROS inputs included (read when a step samples them, not per message: ros/node.py ``Latest``).
- profile: cProfile's top 10 (self time) of RealEnv.step, the wait left out.
- this machine: ManiSkill's evaluate() alone, back to back and after a control period's sleep:
  how much slower code runs after the tick's wait here (see ``cold_factor``).

Never asserts on time: the machine it runs on decides the absolute figures; compare ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from maniskill_real.tools.isolation import isolate_ros_graph

isolate_ros_graph()
REPO = Path(__file__).resolve().parent.parent
ARM_TOPIC = "arm_controller/joint_trajectory"  # panda.yaml's arm: a joint_trajectory_controller
WARMUP = 20


@dataclass(frozen=True)
class Case:
    label: str
    control_mode: str
    obs_mode: str
    robot_uid: str = "panda"
    cameras: tuple[str, ...] = ()
    task_topics: bool = False
    """evaluate()'s keys from the peer's task topics (as sim_robot reports them), not the twin."""
    grasp_estimator: bool = False
    """is_grasped from the gripper's opening and effort (the rest of evaluate() on the twin)."""
    env_id: str = "PickCube-v1"
    reward_mode: str = "sparse"
    config: Path = REPO / "config" / "panda_mock.yaml"
    """The robot config the case's is based on."""
    gripper: bool = True
    """Its last action is Panda's gripper (the still policy keeps it open)."""


FOUR_CAMERAS = "PickCubeFourCameras-v1"
AT_REST = "EmptyAtRest-v1"  # benchmarks/dual_panda.py: no task, the robot at its rest pose
SIDE_CAMERAS = {"left_camera": [0.0, 0.5, 0.5], "right_camera": [0.0, -0.5, 0.5]}


TASK_KEYS = ("success", "is_obj_placed", "is_robot_static", "is_grasped")  # PickCube's evaluate()
CASES = (
    Case("state, pd_joint_delta_pos", "pd_joint_delta_pos", "state"),
    Case("  + is_grasped from the gripper", "pd_joint_delta_pos", "state", grasp_estimator=True),
    Case("  + task topics", "pd_joint_delta_pos", "state", task_topics=True),
    Case("state, pd_ee_delta_pose", "pd_ee_delta_pose", "state"),
    Case("rgbd, 1 camera 640x480", "pd_joint_delta_pos", "rgbd", cameras=("base_camera",)),
    Case(
        "rgbd, 2 cameras (wristcam)",
        "pd_joint_delta_pos",
        "rgbd",
        "panda_wristcam",
        ("base_camera", "hand_camera"),
    ),
    Case(
        "rgbd, 4 cameras",
        "pd_joint_delta_pos",
        "rgbd",
        "panda_wristcam",
        ("base_camera", "hand_camera", *SIDE_CAMERAS),
        env_id=FOUR_CAMERAS,
    ),
    # scaling in joints: one arm and a gripper (9) against two arms (14), no task
    Case(
        "state, 9 joints (no task)",
        "pd_joint_delta_pos",
        "state",
        env_id=AT_REST,
        reward_mode="none",
        config=REPO / "config" / "panda.yaml",
    ),
    Case(
        "state, 14 joints (2 arms)",
        "pd_joint_delta_pos",
        "state",
        "dual_panda",
        env_id=AT_REST,
        reward_mode="none",
        config=REPO / "benchmarks" / "dual_panda.yaml",
        gripper=False,
    ),
)


def still_action(shape: tuple[int, ...], gripper: bool = True) -> np.ndarray:
    """The instant policy's action: no arm motion, Panda's gripper open as reset left it (an
    ideal mock would jump the fingers to a zero action's opening, a speed the gate refuses)."""
    action = np.zeros(shape, np.float32)
    if gripper:
        action[-1] = 1.0
    return action


def ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1e3


def register_four_cameras() -> None:
    """PickCube with two side cameras besides its own and panda_wristcam's hand camera."""
    from mani_skill.envs.tasks.tabletop.pick_cube import PickCubeEnv
    from mani_skill.sensors.camera import CameraConfig
    from mani_skill.utils import sapien_utils
    from mani_skill.utils.registration import register_env

    @register_env(FOUR_CAMERAS, max_episode_steps=50)
    class PickCubeFourCameras(PickCubeEnv):
        SUPPORTED_ROBOTS = ["panda_wristcam"]

        @property
        def _default_sensor_configs(self) -> list:
            side = [
                CameraConfig(name, sapien_utils.look_at(eye, [0.0, 0.0, 0.1]), 128, 128, np.pi / 2)
                for name, eye in SIDE_CAMERAS.items()
            ]
            return [*super()._default_sensor_configs, *side]


def sim_env(case: Case) -> Any:
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401

    if case.env_id == FOUR_CAMERAS and case.env_id not in gym.registry:
        register_four_cameras()
    if case.env_id == AT_REST:
        import dual_panda  # noqa: F401 - registers the env and the two-arm robot
    return gym.make(
        case.env_id,
        obs_mode=case.obs_mode,
        control_mode=case.control_mode,
        reward_mode=case.reward_mode,
        sim_backend="physx_cpu",
        robot_uids=case.robot_uid,
    )


def write_config(case: Case, folder: Path) -> Path:
    """The case's config (panda_mock.yaml) with its robot and cameras (each on topics of its own
    name)."""
    raw: dict[str, Any] = {"base": str(case.config)}
    raw["robot_uid"] = case.robot_uid
    if case.task_topics:
        raw["task_namespace"] = "task"
    if case.grasp_estimator:  # as test_objects.py's sim_robot grasp
        fingers = ["panda_finger_joint1", "panda_finger_joint2"]
        raw["grasp_estimator"] = {"joints": fingers, "opening": [0.005, 0.075], "min_effort": 5.0}
    if case.env_id == AT_REST:
        # both robots as dual_panda.yaml checks them: no TCP box (panda.yaml's is in PickCube's
        # frame, its robot 0.615 m behind the origin; the two-arm robot has no single TCP)
        dual = yaml.safe_load((REPO / "benchmarks" / "dual_panda.yaml").read_text())
        raw["safety"] = dual["safety"]
    raw["reset"] = {"max_joint_speed": 2.0, "tolerance": 0.02, "settle_timeout": 10.0}
    raw["cameras"] = {
        name: {
            "image_topic": f"{name}/color/image_raw",
            "info_topic": f"{name}/color/camera_info",
            "depth_topic": f"{name}/depth/image_rect_raw",
            "alignment": "intrinsics",
            "max_age": 0.5,
        }
        for name in case.cameras
    }
    task = "_task" if case.task_topics else "_grasp" if case.grasp_estimator else ""
    path = folder / f"{case.robot_uid}_{case.env_id}_{len(case.cameras)}cam{task}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def start_mock(config: Path, case: Case, logs: Path, joint_state_rate: float) -> Any:
    """mock_hardware as an ideal robot (no lag, no delay) at the sim's rest pose."""
    from maniskill_real.config import load_robot_config
    from maniskill_real.tools.processes import RobotProcess

    rest = rest_positions(case)
    cfg = load_robot_config(config)
    return RobotProcess(
        "mock_hardware",
        logs / f"mock_{config.stem}_{time.monotonic_ns()}.log",
        robot_config=str(config),
        time_constant=0.0,
        command_delay=0.0,
        joint_state_rate=joint_state_rate,
        publish_camera=bool(case.cameras),
        camera_fov=1.8,  # wider than PickCube's 90 deg cameras, as a real one must be
        initial_positions=[rest[j] for j in reversed(cfg.controlled_joints())],
    )


PANDA_JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + [
    "panda_finger_joint1",
    "panda_finger_joint2",
]
PANDA_REST = [0.0, np.pi / 8, 0.0, -5 * np.pi / 8, 0.0, 3 * np.pi / 4, np.pi / 4, 0.04, 0.04]


def rest_positions(case: Case) -> dict[str, float]:
    """Joint -> the sim's rest position for the case's robot."""
    if case.robot_uid == "dual_panda":
        import dual_panda

        return dual_panda.rest_positions()
    return dict(zip(PANDA_JOINTS, PANDA_REST, strict=True))


# ---------------------------------------------------------------------------------------------
# The reference: ManiSkill's Sim2RealEnv with an agent that answers at once
# ---------------------------------------------------------------------------------------------
def reference_overheads(case: Case, steps: int, rate: float) -> list[float]:
    """Sim2RealEnv's step times, paced at ``rate`` outside the timed region."""
    import torch
    from mani_skill.agents.base_real_agent import BaseRealAgent
    from mani_skill.envs.sim2real_env import Sim2RealEnv

    from maniskill_real.core.clock import TickClock

    class InstantAgent(BaseRealAgent):
        """No transport: targets are stored, readings and 640x480 frames are ready at once."""

        def __init__(self, joints: int, cameras: tuple[str, ...]) -> None:
            super().__init__()
            self.reading = torch.zeros(1, joints)
            rgb = torch.zeros(1, 480, 640, 3, dtype=torch.uint8)
            depth = torch.full((1, 480, 640, 1), 1000, dtype=torch.int16)
            self.frames = {name: (rgb, depth) for name in cameras}

        def start(self) -> None: ...
        def stop(self) -> None: ...
        def capture_sensor_data(self, sensor_names: Any = None) -> None: ...

        def reset(self, qpos: Any) -> None:
            self.reading = torch.as_tensor(qpos, dtype=torch.float32).reshape(1, -1)

        def set_target_qpos(self, qpos: Any) -> None:
            self.target = qpos

        def get_qpos(self) -> torch.Tensor:
            return self.reading

        def get_qvel(self) -> torch.Tensor:
            return torch.zeros_like(self.reading)

        def get_sensor_data(self, sensor_names: Any = None) -> dict:
            # a new dict each call: Sim2RealEnv replaces the frames in it by resized ones
            return {n: {"rgb": rgb, "depth": d} for n, (rgb, d) in self.frames.items()}

    class Reference(Sim2RealEnv):
        def get_info(self) -> dict:
            # PickCube's observation reads is_grasped; a robot would report it (a task topic)
            return {**super().get_info(), "is_grasped": torch.zeros(1, dtype=torch.bool)}

    def real_reset(env: Any, seed: Any = None, options: Any = None) -> None:
        env.sim_env.reset(seed=seed, options=options)
        env.agent.reset(env.base_sim_env.agent.robot.qpos)

    sim = sim_env(case)
    agent = InstantAgent(len(rest_positions(case)), case.cameras)
    # An unreachable control frequency: Sim2RealEnv's own sleep never runs. It then warns every
    # step, within the timed region: silenced (its logger is "mani_skill ", with the space;
    # mani_skill/utils/logging_utils.py)
    from mani_skill.utils.logging_utils import logger as ms_logger

    level = ms_logger.level
    ms_logger.setLevel(logging.ERROR)
    try:
        env = Reference(sim, agent, real_reset, skip_data_checks=True, control_freq=10**9)
        env.reset(seed=0)
        action = still_action(env.action_space.shape, case.gripper)
        clock = TickClock(1.0 / rate)
        out = []
        for i in range(WARMUP + steps):
            clock.wait_next()
            start = time.perf_counter()
            env.step(action)
            if i >= WARMUP:
                out.append(time.perf_counter() - start)
        return out
    finally:
        ms_logger.setLevel(level)
        sim.close()


def cold_factor(rate: float, calls: int = 200) -> tuple[float, float]:
    """ManiSkill's own evaluate() (PickCube, no ROS at all), p50 s: back to back, and each after
    sleeping one control period, as a step's code runs after the tick's wait. On the 2-core VM
    code that slept runs several times slower (caches and predictors lost to other work):
    every per-step figure here is the slept kind."""
    env = sim_env(CASES[0])
    env.reset(seed=0)
    evaluate = env.unwrapped.evaluate
    out: dict[bool, list[float]] = {False: [], True: []}
    try:
        for slept in (False, True):
            for _ in range(calls):
                if slept:
                    time.sleep(1.0 / rate)
                start = time.perf_counter()
                evaluate()
                out[slept].append(time.perf_counter() - start)
    finally:
        env.close()
    return float(np.median(out[False])), float(np.median(out[True]))


# ---------------------------------------------------------------------------------------------
# RealEnv against mock_hardware
# ---------------------------------------------------------------------------------------------
@dataclass
class RealRun:
    overheads: list[float]
    ticks: list[float]
    """Monotonic time of the tick after which each next command was computed."""
    overruns: int
    cpu: float = 0.0
    """This process's CPU time over the run's wall time (1.0: one core busy)."""
    profile: pstats.Stats | None = None


def moving_action(shape: tuple[int, ...], k: int, rate: float, gripper: bool = True) -> np.ndarray:
    """A slow sine on every arm joint's delta (0.5 Hz, about 0.16 rad at 250 Hz), the gripper
    still: the safety layer's tracking fit runs as for a moving robot (a still path skips it)."""
    action = still_action(shape, gripper)
    action[: -1 if gripper else None] = 0.02 * np.sin(2 * np.pi * 0.5 * k / rate)
    return action


def real_run(
    case: Case,
    config: Path,
    steps: int,
    rate: float,
    profile_steps: int = 0,
    move: bool = False,
    step_priority: int | None = None,
) -> RealRun:
    """RealEnv's step overheads at ``rate`` (an instant policy, still or ``move``-ing), then
    ``profile_steps`` more under cProfile."""
    from maniskill_real.env.real_env import RealEnv

    sim = sim_env(case)
    env = RealEnv(
        sim,
        robot_config=config,
        scene_reset="none",
        control_freq=rate,
        step_priority=step_priority,
    )
    try:
        env.reset(seed=0)
        if step_priority is not None and not env.step_realtime:
            raise PermissionError(f"step_priority {step_priority}: SCHED_FIFO refused")
        action = still_action(env.action_space.shape, case.gripper)
        for _ in range(WARMUP):
            env.step(action)
        overruns = env.clock.overruns
        run = RealRun([], [], 0)
        cpu_start, wall_start = os.times(), time.monotonic()
        for k in range(steps):
            if move:
                action = moving_action(env.action_space.shape, k, rate, case.gripper)
            start = time.perf_counter()
            env.step(action)
            run.overheads.append(time.perf_counter() - start - env.clock.waited)
            run.ticks.append(env.clock.tick_time())
        run.overruns = env.clock.overruns - overruns
        cpu_end = os.times()
        cpu = cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system
        run.cpu = cpu / (time.monotonic() - wall_start)
        if profile_steps:
            profiler = cProfile.Profile()
            for _ in range(profile_steps):
                profiler.runcall(env.step, action)
            run.profile = pstats.Stats(profiler)
        return run
    finally:
        env.close()
        sim.close()


def top10(stats: pstats.Stats, steps: int) -> str:
    """The 10 functions with the most self time per step, the tick's sleep left out."""
    rows = [
        (tt, ct, f"{Path(file).name}:{line}({name})")
        for (file, line, name), (_, _, tt, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
        if name != "<built-in method time.sleep>"
    ]
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    head = f"  {'self ms':>8} {'cum ms':>8}  function"
    lines = [f"{head}   (all self time: {total / steps * 1e3:.3f} ms per step)"]
    for tt, ct, where in rows[:10]:
        lines.append(f"  {tt / steps * 1e3:8.3f} {ct / steps * 1e3:8.3f}  {where}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The subscriber in another process
# ---------------------------------------------------------------------------------------------
class Peer:
    """benchmarks/command_peer.py: on the arm's command topic, publishing PickCube's task."""

    def __init__(self, out: Path, task_rate: float) -> None:
        self.out = out
        self.log = open(out.with_suffix(".log"), "w")  # noqa: SIM115 - closed in arrivals()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "benchmarks" / "command_peer.py"),
                "--topic",
                ARM_TOPIC,
                "--out",
                str(out),
                "--task-rate",
                str(task_rate),
                "--task",
                *TASK_KEYS,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60.0
        while "listening" not in out.with_suffix(".log").read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()  # its own session: nothing else would stop it
                raise RuntimeError(f"command_peer did not start: {out.with_suffix('.log')}")
            time.sleep(0.1)

    def arrivals_ns(self) -> np.ndarray:
        """Stop the peer; the system-clock receive times it recorded."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        self.log.close()
        return np.array(json.loads(self.out.read_text())["received_ns"], dtype=np.int64)


def arrival_latencies(ticks: list[float], arrivals_ns: np.ndarray, clock_offset_ns: int) -> list:
    """For each tick, the first arrival after it and before the next tick, minus the tick."""
    ticks_ns = np.array(ticks) * 1e9 + clock_offset_ns
    arrivals = np.sort(arrivals_ns)
    out = []
    for k in range(len(ticks_ns) - 1):
        i = np.searchsorted(arrivals, ticks_ns[k])
        if i < arrivals.size and arrivals[i] < ticks_ns[k + 1]:
            out.append((arrivals[i] - ticks_ns[k]) * 1e-9)
    return out


def arrivals_ms(latencies: list[float]) -> str:
    """p50/p99 ms, or a dash: the peer listens on Panda's arm topic only."""
    if not latencies:
        return "—"
    return f"{ms(latencies, 50):>9.3f}/{ms(latencies, 99):<9.3f}"


def scaling(runs: list[tuple[Case, RealRun, list[float]]]) -> str:
    """RealEnv's p50 overhead per camera count and per joint count, against the smallest."""
    groups = {
        "cameras": {len(c.cameras): r for c, r, _ in runs if c.cameras},
        "joints": {len(rest_positions(c)): r for c, r, _ in runs if c.env_id == AT_REST},
    }
    lines = [
        "scaling: RealEnv's p50 overhead against the smallest of its kind (linear: the count's)"
    ]
    for kind, by_count in groups.items():
        if len(by_count) < 2:
            continue
        first = min(by_count)
        base = ms(by_count[first].overheads, 50)
        cells = [
            f"{n} {kind}: {ms(r.overheads, 50):.3f} ms ({ms(r.overheads, 50) / base:.2f}x for "
            f"{n / first:.2f}x)"
            for n, r in sorted(by_count.items())
        ]
        lines.append("  " + "; ".join(cells))
    return "\n".join(lines) if len(lines) > 1 else ""


# ---------------------------------------------------------------------------------------------
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short runs: a first look, not figures")
    p.add_argument("--steps", type=int, help="steps per overhead case (default 600, quick 100)")
    p.add_argument("--rate", type=float, default=20.0, help="Hz of the overhead cases (PickCube's)")
    p.add_argument("--rates", type=float, nargs="*", default=[100, 150, 200, 250, 300, 400, 500])
    p.add_argument("--rate-steps", type=int, help="steps per rate (default 5000, quick 500)")
    p.add_argument("--rate-case", type=int, default=1, help="the case the rates run (1-based)")
    p.add_argument("--joint-state-rate", type=float, default=100.0, help="mock_hardware's, Hz")
    p.add_argument("--cases", type=int, nargs="+", help="case numbers to run (1-based)")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument(
        "--step-priority",
        type=int,
        default=50,
        help="the rates also run with RealEnv(step_priority=N), side by side; 0: not",
    )
    args = p.parse_args()
    # A timeout's SIGTERM unwinds through the finally blocks that stop the peer and the mock
    # (their own sessions: left running, they would load every later measurement).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    steps = args.steps or (100 if args.quick else 600)
    rate_steps = args.rate_steps or (500 if args.quick else 5000)
    profile_steps = 0 if args.no_profile else (50 if args.quick else 200)
    logs = Path(tempfile.mkdtemp(prefix="step_cost_"))
    cases = [CASES[i - 1] for i in args.cases] if args.cases else list(CASES)
    profiles: dict[str, str] = {}
    runs: list[tuple[Case, RealRun, list[float]]] = []
    peer = Peer(logs / "arrivals.json", args.rate)
    try:
        for case in cases:
            config = write_config(case, logs)
            reference = reference_overheads(case, steps, args.rate)
            with start_mock(config, case, logs, args.joint_state_rate):
                run = real_run(case, config, steps, args.rate, profile_steps)
            runs.append((case, run, reference))
            if run.profile is not None:
                profiles[case.label] = top10(run.profile, profile_steps)
        if args.rates:
            clean_rates(CASES[args.rate_case - 1], logs, args.rates, rate_steps, args)
    finally:
        offset = time.time_ns() - time.monotonic_ns()
        arrivals = peer.arrivals_ns()
    print(f"\noverhead = step wall time - tick wait, at {args.rate:g} Hz, {steps} steps per case;")
    print("arrival: the command computed after tick k reaches another process, after tick k")
    print(
        f"{'case':<28} {'RealEnv p50/p99 ms':>19} {'Sim2RealEnv p50/p99 ms':>23} "
        f"{'ratio p50':>9} {'p99':>6} {'overruns':>8} {'arrival p50/p99 ms':>19} {'CPU':>5}"
    )
    for case, run, ref in runs:
        real = run.overheads
        arrival = arrival_latencies(run.ticks, arrivals, offset)
        print(
            f"{case.label:<28} {ms(real, 50):>9.3f}/{ms(real, 99):<9.3f} "
            f"{ms(ref, 50):>11.3f}/{ms(ref, 99):<11.3f} {ms(real, 50) / ms(ref, 50):>8.2f}x "
            f"{ms(real, 99) / ms(ref, 99):>5.2f}x {run.overruns:>8} "
            f"{arrivals_ms(arrival):>19} {run.cpu:>5.0%}"
        )
    print(scaling(runs))
    for label, table in profiles.items():
        print(f"\nprofile of RealEnv.step ({label.strip()}, cProfile, per step):\n{table}")
    warm, cold = cold_factor(args.rate)
    print(
        f"\nthis machine: ManiSkill's evaluate() alone (PickCube, no ROS) {warm * 1e3:.3f} ms back "
        f"to back, {cold * 1e3:.3f} ms after sleeping one {args.rate:g} Hz period "
        f"({cold / warm:.1f}x): the step's code runs after the tick's wait"
    )
    print(f"\nlogs: {logs}")


def clean_rates(
    case: Case, logs: Path, rates: list[float], steps: int, args: argparse.Namespace
) -> None:
    """Overruns and overhead per control rate; the highest rate with none."""
    js_rate = args.joint_state_rate
    print(
        f"\ncontrol rates ({case.label}, a moving policy, {steps} steps each, "
        f"joint_states at {js_rate:g} Hz)"
    )
    priorities: list[int | None] = [None] + ([args.step_priority] if args.step_priority else [])
    head = f"{'Hz':>6}"
    for priority in priorities:
        label = f"step_priority {priority}" if priority else "normal scheduling"
        head += f"  {label + ': overruns, overhead p50/p99 ms':>46}"
    print(head)
    config = write_config(case, logs)
    clean: dict[int | None, float | None] = dict.fromkeys(priorities)
    with start_mock(config, case, logs, js_rate):
        for rate in rates:
            row = f"{rate:>6g}"
            for priority in priorities:  # alternating: the machine's hour is the same for both
                try:
                    run = real_run(case, config, steps, rate, move=True, step_priority=priority)
                except PermissionError as e:  # not root, no rtprio limit: that column is empty
                    row += f"  {str(e) + ' (not root?)':>46}"
                    continue
                o = run.overheads
                row += f"  {run.overruns:>28} {ms(o, 50):>7.3f}/{ms(o, 99):<9.3f}"
                if run.overruns == 0:
                    clean[priority] = rate
            print(row)
    for priority, rate in clean.items():
        how = f"step_priority {priority}" if priority else "normal scheduling"
        print(f"highest rate with zero overruns, {how}: {rate or 'none'} Hz")


if __name__ == "__main__":
    main()
