"""Deterministic latency: when RealEnv's commands reach another process, against their schedule.

    .venv/bin/python benchmarks/latency.py [--rates 20 50 100] [--latency 0 1 3] [--steps 400]

mock_hardware runs as its own process; a recorder, a third process, subscribes to the arm's
command topic and keeps each message's DDS reception time (the RMW's received_timestamp:
taken when the message arrived, not when Python ran the callback). RealEnv steps with an
instant policy (zero pd_joint_delta_pos actions) at each rate and ``latency_steps`` d.

Per row: the schedule of the command of step k is tick k + d (``info["timing"]
["release_due_s"]``); for d=0, with no schedule, tick k (the tick of the observation it was
computed from), so that row's latency is the step's own cost. latency = arrival - schedule;
jitter = |latency - median latency|; period = the time between two arrivals, against dt.
The goal for d >= 1 is jitter p99 < 0.5 ms. Never asserts: timing is a benchmark's job.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from maniskill_real.tools.isolation import isolate_ros_graph

isolate_ros_graph()
REPO = Path(__file__).resolve().parent.parent
CONFIG = "panda_mock"
SIM_ENV = {"obs_mode": "state", "control_mode": "pd_joint_delta_pos", "reward_mode": "sparse"}


def record(topic: str, out: Path, priority: int) -> None:
    """The recorder process: one line per message on ``topic``, its reception time (system
    clock, ns), until SIGINT/SIGTERM. With ``priority`` > 0, SCHED_FIFO for every thread
    (DDS's receive threads inherit it), as a real-time receiver would run."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from trajectory_msgs.msg import JointTrajectory

    from maniskill_real.ros.node import RosNode

    qos = QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1000,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )
    if priority > 0:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out, "w", buffering=1) as f:

        def on_msg(msg: object, info: dict) -> None:
            f.write(f"{info['received_timestamp']}\n")

        ros = RosNode("latency_recorder")
        ros.subscribe(JointTrajectory, topic, on_msg, qos)
        while not stop:
            time.sleep(0.05)
        ros.close()


def clock_offset() -> float:
    """time.time() - time.monotonic(), from the tightest of several paired reads."""
    best = (np.inf, 0.0)
    for _ in range(200):
        a = time.monotonic()
        wall = time.time()
        b = time.monotonic()
        best = min(best, (b - a, wall - (a + b) / 2))
    return best[1]


def arrivals(path: Path, offset: float, after: float) -> np.ndarray:
    """Reception times recorded since ``after`` (monotonic s)."""
    times = np.array([int(x) for x in path.read_text().split()], dtype=np.int64) * 1e-9 - offset
    return times[times > after]


def busy(seconds: float) -> None:
    """A policy's compute as the release thread meets it: Python holding the GIL."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def run_case(
    rate: float,
    d: int,
    steps: int,
    topic: str,
    recorded: Path,
    priority: int | None,
    policy_s: float = 0.0,
) -> dict[str, float]:
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401

    from maniskill_real.env.real_env import RealEnv

    sim = gym.make("PickCube-v1", sim_backend="physx_cpu", **SIM_ENV)
    env = RealEnv(
        sim,
        robot_config=CONFIG,
        scene_reset="none",
        control_freq=rate,
        latency_steps=d,
        release_priority=priority,
        step_priority=priority,
    )
    try:
        command = env.agent.commands["arm"]
        deadline = time.monotonic() + 30
        while command.subscriber_count < 2:  # the robot and the recorder
            if time.monotonic() > deadline:
                raise RuntimeError(f"the recorder never subscribed to {topic}")
            time.sleep(0.05)
        env.reset(seed=0)
        start = time.monotonic()
        tick = env.clock.tick_time()
        action = np.zeros(env.action_space.shape, dtype=np.float32)
        action[-1] = 1.0  # the gripper open, as reset left it: no motion at all
        schedule, released = [], []
        for _ in range(steps):
            busy(policy_s)
            timing = env.step(action)[4]["timing"]
            if timing["released_s"] is not None:
                # d=0: the tick of the observation it was computed from (the step's start)
                schedule.append(timing["release_due_s"] or tick)
                released.append(timing["released_s"])
            tick = timing["tick_s"]
        overruns = timing["overruns"]
        time.sleep(0.5)  # the last messages land (and d-1 more releases: not counted)
        got = arrivals(recorded, clock_offset(), start)[: len(schedule)]
    finally:
        env.close()
    if len(got) != len(schedule):
        raise RuntimeError(f"{len(got)} command(s) arrived for {len(schedule)} released")
    latency = got - np.array(schedule)
    jitter = np.abs(latency - np.median(latency))
    period = np.abs(np.diff(got) - 1.0 / rate)
    in_process = np.array(released) - np.array(schedule)
    return {
        "n": len(got),
        "lat_p50": np.percentile(latency, 50),
        "lat_p99": np.percentile(latency, 99),
        "jit_p99": np.percentile(jitter, 99),
        "jit_max": jitter.max(),
        "period_p99": np.percentile(period, 99),
        "release_p99": np.percentile(np.abs(in_process - np.median(in_process)), 99),
        "overruns": overruns,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=float, nargs="+", default=[20.0, 50.0, 100.0])
    p.add_argument("--latency", type=int, nargs="+", default=[0, 1, 3])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument(
        "--priority",
        type=int,
        default=0,
        help="SCHED_FIFO priority for RealEnv's release thread, its stepping thread "
        "(step_priority: d=0 sends from it) and the recorder (0: normal)",
    )
    p.add_argument(
        "--policy-ms",
        type=float,
        default=0.0,
        help="the policy's compute per step, a busy Python loop (0: an instant policy)",
    )
    p.add_argument("--recorder", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.recorder:
        record(args.recorder[0], Path(args.recorder[1]), int(args.recorder[2]))
        return

    from maniskill_real.config import load_robot_config
    from maniskill_real.tools.processes import RobotProcess

    cfg = load_robot_config(CONFIG)
    topic = cfg.topic(cfg.controllers["arm"].command_topic)
    folder = Path(tempfile.mkdtemp(prefix="latency_"))
    recorded = folder / "arrivals.txt"
    recorder = subprocess.Popen(
        [sys.executable, __file__, "--recorder", topic, str(recorded), str(args.priority)],
        stdout=open(folder / "recorder.log", "w"),  # noqa: SIM115 - the process owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    params = {"robot_config": CONFIG, "time_constant": 0.0, "publish_camera": False}
    rows = []
    try:
        with RobotProcess("mock_hardware", folder / "mock_hardware.log", **params):
            for rate in args.rates:
                for d in args.latency:
                    priority = args.priority or None
                    case = run_case(
                        rate, d, args.steps, topic, recorded, priority, args.policy_ms / 1e3
                    )
                    rows.append((rate, d, case))
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=10)
    ms = 1e3
    print(
        f"{os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.2f}; {args.steps} steps per row; "
        f"release thread, stepping thread and recorder SCHED_FIFO priority "
        f"{args.priority or 'none'}"
    )
    print(
        f"{'Hz':>5} {'d':>2} {'n':>4} {'latency p50':>11} {'p99':>7} {'jitter p99':>10} "
        f"{'max':>7} {'vs d=0':>7} {'period p99':>10} {'rel. jit p99':>12} {'overruns':>8}"
    )
    base = {rate: r["jit_p99"] for rate, d, r in rows if d == 0}
    for rate, d, r in rows:
        ratio = r["jit_p99"] / base[rate] if rate in base else float("nan")
        print(
            f"{rate:>5.0f} {d:>2} {r['n']:>4} {r['lat_p50'] * ms:>8.3f} ms"
            f" {r['lat_p99'] * ms:>7.3f} {r['jit_p99'] * ms:>7.3f} ms {r['jit_max'] * ms:>7.3f}"
            f" {ratio:>6.2f}x {r['period_p99'] * ms:>7.3f} ms {r['release_p99'] * ms:>9.3f} ms"
            f" {r['overruns']:>8}"
        )
    print(
        "latency: arrival in the recorder process - schedule (d>=1: tick k+d; d=0: tick k);"
        " jitter: |latency - its median|; period: |arrival interval - dt|; rel. jit: the same"
        " jitter of the publish call's return in RealEnv (in-process). ms."
    )


if __name__ == "__main__":
    main()
