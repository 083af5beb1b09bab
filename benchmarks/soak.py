"""Soak: RealEnv at 50 Hz against mock_hardware (or sim_robot) for minutes, with faults injected
at random, judged by an independent recorder process.

    .venv/bin/python benchmarks/soak.py [--minutes 20] [--seed 0] [--robot mock|sim]

Three processes: the robot (``RobotProcess``), this one (RealEnv, the fault injector) and
``benchmarks/soak_recorder.py``, which records every command and /joint_states and judges each
command (joint limits from the URDF, change per step against the newest reading, reading age,
joint-state fault windows; see its docstring). Faults, one at a time, every ``--fault-interval``
seconds on average (exponential, seeded), each kind once per round in a seeded random order:

- ``js:<fault>``: mock_hardware's ``joint_state_fault`` (duplicate_name, nan, future_stamp,
  zero_stamp), or sim_robot's ``drop_topics: [joint_states]`` (``js:drop``), held
  for longer than joint_states.max_age while step() and one reset() must be refused;
- ``command_delay``: 0.1-0.5 s on the robot for 1-3 s of steps that sweep the arm back and
  forth (under the random policy's jitter alone a delay is invisible, and harmless);
- ``kill_restart``: SIGKILL of the robot's process group, 0.5-2 s down, a new process (the mock
  starts where the last reading had the arm);
- ``stall``: no step() for longer than safety.watchdog_timeout;
- ``action_out_of_space``: an action 1000x outside the action space, or NaN;
- ``action_extreme``: 10-50 steps of actions at the action space's bounds (clipped by the
  safety layer, reported in info["safety"]).

A ``RealEnvError`` is caught, the fault cleared and ``reset()`` called (scene_reset "none").
Prints steps, faults injected and handled per kind, unsafe commands (the recorder's verdict,
must be 0), and this process's RSS (after the first minute vs the end). Never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from maniskill_real.tools.isolation import isolate_ros_graph

isolate_ros_graph()
REPO = Path(__file__).resolve().parent.parent

JS_FAULTS = ("duplicate_name", "nan", "future_stamp", "zero_stamp")
COMMON_KINDS = ("command_delay", "kill_restart", "stall", "action_out_of_space", "action_extreme")
DETECT_STEPS = 100
"""Steps a fault may take to be refused before it counts as missed (2 s at 50 Hz)."""
PARAMETER_ATTEMPTS = 5
SWEEP_HZ = 0.5
"""Hz of the arm motion a command delay is injected under."""
RECOVER_S = 60.0
"""How long reset() is retried after a fault is cleared (a restarted sim_robot takes long)."""


class HarnessError(RuntimeError):
    """The soak itself could not inject or clear a fault (not RealEnv's doing)."""


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size from /proc (Linux), MB."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak_config(robot: str, folder: Path) -> Path:
    """The shipped config with reset.max_joint_speed 2.0, so resets after faults are short; the
    sim robot's without cameras (state observations need none, rendering competes for CPU)."""
    shipped = REPO / "config" / ("panda_sim.yaml" if robot == "sim" else "panda.yaml")
    raw = yaml.safe_load(shipped.read_text())
    if "base" in raw:
        raw["base"] = str(shipped.parent / raw["base"])
    if robot == "sim":
        raw["cameras"] = {}
    else:  # mock_hardware has no world: the cube stays the sim's belief (info says so)
        raw["objects"] = {"cube": {"sim_belief": True}}
    base_reset = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())["reset"]
    raw["reset"] = {**base_reset, **raw.get("reset", {}), "max_joint_speed": 2.0}
    path = folder / f"soak_{shipped.name}"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@dataclass
class KindStats:
    injected: int = 0
    handled: int = 0
    raised: Counter = field(default_factory=Counter)
    detect_steps: list[int] = field(default_factory=list)
    refused_steps: int = 0
    notes: Counter = field(default_factory=Counter)


class Soak:
    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        import gymnasium as gym
        import mani_skill.envs  # noqa: F401
        from rcl_interfaces.srv import SetParameters

        from maniskill_real.env.real_env import RealEnv
        from maniskill_real.ros.node import RosNode

        self.args = args
        self.out = out
        self.rng = np.random.default_rng(args.seed)
        self.config_path = soak_config(args.robot, out)
        self.windows = out / "fault_windows.jsonl"
        self.windows.write_text("")
        self.sim = gym.make(
            "PickCube-v1",
            obs_mode="state",
            control_mode=args.control_mode,
            reward_mode="sparse",
            sim_backend="physx_cpu",
            sim_config={"control_freq": args.rate},
        )
        twin = self.sim.unwrapped
        self.sim_joints = [j.name for j in twin.agent.robot.active_joints]
        rest = twin.agent.keyframes["rest"].qpos
        self.robot_number = 0
        self.robot = self._start_robot(dict(zip(self.sim_joints, rest, strict=True)))
        self.recorder = self._start_recorder(twin)
        self.rss = {"before RealEnv()": rss_mb()}
        try:
            self.env = RealEnv(self.sim, robot_config=self.config_path, scene_reset="none")
        except BaseException:  # leave no robot publishing behind (it would join the next run)
            self.robot.stop()
            self.recorder.kill()
            raise
        self.rss["after RealEnv()"] = rss_mb()
        self.faults = RosNode("soak_faults")
        robot_node = "/sim_robot" if args.robot == "sim" else "/mock_hardware"
        self.param_client = self.faults.node.create_client(
            SetParameters, f"{robot_node}/set_parameters"
        )
        self.parameter_retries = 0
        self.harness_errors: list[str] = []
        self.agent = self.env.agent
        self.watchdog = self.agent.config.safety.watchdog_timeout
        available = (
            [f"js:{f}" for f in JS_FAULTS] if args.robot == "mock" else ["js:drop"]
        ) + list(COMMON_KINDS)
        unknown = set(args.kinds or ()) - set(available)
        if unknown:
            raise SystemExit(f"--kinds: {sorted(unknown)} not among {available}")
        self.kinds = [k for k in available if not args.kinds or k in args.kinds]
        self.stats = {k: KindStats() for k in self.kinds}
        self.unprovoked: Counter = Counter()
        self.unprovoked_examples: list[str] = []
        self.steps = 0
        self.refused = 0
        self.resets = 0
        self.reset_failures = 0
        self.clips: Counter = Counter()
        self.episode = 0
        self.episode_steps = 0
        self.step_time = 0.0
        low, high = self.env.action_space.low, self.env.action_space.high
        self.low, self.high = low.reshape(-1), high.reshape(-1)

    # -- processes ------------------------------------------------------------------------
    def _start_robot(self, positions: dict[str, float]) -> Any:
        from maniskill_real.config import load_robot_config
        from maniskill_real.tools.processes import RobotProcess

        self.robot_number += 1
        log = self.out / f"{self.args.robot}-{self.robot_number}.log"
        if self.args.robot == "sim":
            return RobotProcess(
                "sim_robot",
                log,
                robot_config=str(self.config_path),
                control_mode=self.args.control_mode,
                publish_depth=False,
            )
        cfg = load_robot_config(self.config_path)
        by_ros = {cfg.ros_joint(n): float(v) for n, v in positions.items()}
        return RobotProcess(
            "mock_hardware",
            log,
            robot_config=str(self.config_path),
            publish_camera=False,
            # mock_hardware orders them as it publishes /joint_states: controlled joints reversed
            initial_positions=[by_ros[j] for j in reversed(cfg.controlled_joints())],
        )

    def _start_recorder(self, twin: Any) -> subprocess.Popen:
        from maniskill_real.config import load_robot_config

        cfg = load_robot_config(self.config_path)
        self.recorder_status = self.out / "recorder.status"
        self.recorder_status.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            str(REPO / "benchmarks" / "soak_recorder.py"),
            "--robot-config",
            str(self.config_path),
            "--windows",
            str(self.windows),
            "--out",
            str(self.out / "recorder.json"),
            "--status",
            str(self.recorder_status),
            "--control-dt",
            str(1.0 / self.args.rate),
            "--step-tolerance",
            str(self.args.step_tolerance),
            "--robot-node",
            "/sim_robot" if self.args.robot == "sim" else "/mock_hardware",
        ]
        # The sim controller's declared absolute-target ranges (the panda gripper squeezes at
        # -0.01 m, below its URDF limit of 0): not unsafe, counted apart by the recorder.
        controller = twin.agent.controller
        for sub in getattr(controller, "controllers", {"all": controller}).values():
            c = sub.config
            if getattr(c, "use_delta", True) or getattr(c, "lower", None) is None:
                continue
            for name in c.joint_names:
                cmd += ["--target-range", f"{cfg.ros_joint(name)}:{c.lower}:{c.upper}"]
        log = open(self.out / "recorder.log", "w")  # noqa: SIM115 - the process owns it
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.recorder = proc
        self.wait_for_recorder(time.time_ns(), 120.0)
        return proc

    def wait_for_recorder(self, since_ns: int, timeout: float) -> None:
        """Until the recorder has received a /joint_states after ``since_ns`` (it discovers a
        restarted robot on its own schedule; judging commands against the old robot's last
        reading would blame RealEnv for the recorder's late discovery)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.recorder.poll() is not None:
                log = (self.out / "recorder.log").read_text()
                raise RuntimeError(f"the recorder exited:\n{log}")
            try:
                if int(self.recorder_status.read_text() or 0) > since_ns:
                    return
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the recorder saw no /joint_states within {timeout:.0f} s")
            time.sleep(0.05)

    def wait_for_recorder_match(self) -> None:
        """Every command publisher sees two subscribers (the controller and the recorder)
        before the first command, so the recorder misses none."""
        deadline = time.monotonic() + 20
        for command in self.agent.commands.values():
            while command.subscriber_count < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the recorder never subscribed to {command.topic}")
                time.sleep(0.05)
        time.sleep(1.0)  # and has a few /joint_states before the first command

    # -- faults ---------------------------------------------------------------------------
    def set_robot(self, name: str, value: object) -> None:
        """Set a runtime parameter of the robot node through its parameter service (a list
        is a string array: rclpy would type an empty one as bytes). One client for the whole
        run, and the request sent again when no answer comes: setting a value twice changes
        nothing, and right after (re)discovery a server can drop a response
        (RosNode.call_until_answered says why)."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        if isinstance(value, list):
            param = Parameter(name, Parameter.Type.STRING_ARRAY, value)
        else:
            param = Parameter(name, value=value)
        request = SetParameters.Request(parameters=[param.to_parameter_msg()])
        service = self.param_client.srv_name
        for attempt in range(PARAMETER_ATTEMPTS):
            if attempt:
                self.parameter_retries += 1
            if not self.param_client.wait_for_service(timeout_sec=2.0):
                continue
            future = self.param_client.call_async(request)
            if self.faults.wait_for(future, 2.0) and future.result() is not None:
                result = future.result().results[0]
                if not result.successful:
                    raise HarnessError(f"{service}: {name}={value!r} refused: {result.reason}")
                return
        raise HarnessError(
            f"{service}: no answer to {name}={value!r} in {PARAMETER_ATTEMPTS} tries"
        )

    def window(self, kind: str, start_ns: int, judge_fresh: bool) -> None:
        with self.windows.open("a") as f:
            f.write(
                json.dumps(
                    {
                        "kind": kind,
                        "start_ns": start_ns,
                        "end_ns": time.time_ns(),
                        "judge_fresh": judge_fresh,
                    }
                )
                + "\n"
            )

    def action(self, scale: float = 0.3) -> np.ndarray:
        mid, half = (self.high + self.low) / 2, (self.high - self.low) / 2
        return (mid + half * self.rng.uniform(-scale, scale, self.low.shape)).astype(np.float32)

    def sweep(self, direction: np.ndarray, t: float) -> np.ndarray:
        """A policy that moves the arm (a delay is invisible under jitter alone): along
        ``direction`` (a unit action vector), back and forth at SWEEP_HZ, half the space."""
        mid, half = (self.high + self.low) / 2, (self.high - self.low) / 2
        wave = 0.5 * math.sin(2 * math.pi * SWEEP_HZ * t)
        return (mid + half * wave * direction).astype(np.float32)

    def step(self, action: np.ndarray) -> dict:
        t = time.monotonic()
        info = self.env.step(action)[4]
        self.step_time += time.monotonic() - t
        self.steps += 1
        self.episode_steps += 1
        for limit in info["safety"]["clipped"]:
            self.clips[limit] += 1
        return info

    def reset(self) -> None:
        self.episode += 1
        start = time.time_ns()
        try:
            self.env.reset(seed=self.args.seed * 100_000 + self.episode)
        finally:  # the recorder tells reset motions from policy steps
            self.window("reset", start, judge_fresh=False)
        self.resets += 1
        self.episode_steps = 0

    def recover(self) -> bool:
        """reset() until it succeeds (inputs may still be settling after a cleared fault)."""
        from maniskill_real.errors import RealEnvError

        deadline = time.monotonic() + RECOVER_S
        while True:
            try:
                self.reset()
                return True
            except RealEnvError as e:
                self.reset_failures += 1
                if time.monotonic() > deadline:
                    print(f"  reset still failing after {RECOVER_S:.0f} s: {e}", flush=True)
                    return False
                time.sleep(0.2)

    def detect(self, stats: KindStats) -> bool:
        """Step until RealEnv refuses (a RealEnvError); record after how many steps."""
        from maniskill_real.errors import RealEnvError

        for i in range(1, DETECT_STEPS + 1):
            try:
                self.step(self.action())
            except RealEnvError as e:
                stats.raised[type(e).__name__] += 1
                stats.detect_steps.append(i)
                return True
        stats.notes["missed"] += 1
        return False

    def refused_while(self, stats: KindStats, seconds: float, try_reset: bool) -> bool:
        """For ``seconds``, every step() (and one reset()) must be refused."""
        from maniskill_real.errors import RealEnvError

        ok = True
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.step(self.action())
                stats.notes["stepped during the fault"] += 1
                ok = False
            except RealEnvError:
                stats.refused_steps += 1
                self.refused += 1
            if try_reset:
                try_reset = False
                try:
                    self.reset()
                    stats.notes["reset succeeded during the fault"] += 1
                    ok = False
                except RealEnvError as e:
                    stats.notes[f"reset refused ({type(e).__name__})"] += 1
            time.sleep(0.05)
        return ok

    def inject(self, kind: str) -> None:
        from maniskill_real.errors import ActionError, RealEnvError

        stats = self.stats[kind]
        stats.injected += 1
        start = time.time_ns()
        if kind.startswith("js:"):
            fault = kind[3:]
            if fault == "drop":
                self.set_robot("drop_topics", ["joint_states"])
            else:
                self.set_robot("joint_state_fault", fault)
            detected = self.detect(stats)
            # longer than max_age, so the recorder's fault-window rule has something to judge
            refused = self.refused_while(stats, self.rng.uniform(0.3, 1.0), try_reset=True)
            if fault == "drop":
                self.set_robot("drop_topics", [])
            else:
                self.set_robot("joint_state_fault", "")
            self.window(kind, start, judge_fresh=True)
            time.sleep(0.05)
            stats.handled += detected and refused and self.recover()
        elif kind == "command_delay":
            self.set_robot("command_delay", float(self.rng.uniform(0.1, 0.5)))
            direction = np.sign(self.rng.uniform(-1, 1, self.low.shape))
            begin = time.monotonic()
            end = begin + self.rng.uniform(1.0, 3.0)
            raised = False
            while time.monotonic() < end and not raised:
                try:
                    self.step(self.sweep(direction, time.monotonic() - begin))
                except RealEnvError as e:
                    stats.raised[type(e).__name__] += 1
                    raised = True
            self.set_robot("command_delay", 0.0)
            self.window(kind, start, judge_fresh=False)
            if not raised:
                stats.notes["ran through (not detected)"] += 1
            stats.handled += (not raised) or self.recover()
        elif kind == "kill_restart":
            qpos = self.agent.snapshot.qpos.copy()  # sim order: where the arm was
            os.killpg(self.robot.proc.pid, signal.SIGKILL)
            self.robot.proc.wait()
            self.robot.stop()
            detected = self.detect(stats)
            refused = self.refused_while(stats, self.rng.uniform(0.5, 2.0), try_reset=True)
            self.window(kind, start, judge_fresh=True)
            restart = time.time_ns()
            self.robot = self._start_robot(dict(zip(self.sim_joints, qpos, strict=True)))
            self.wait_for_recorder(restart, RECOVER_S)
            stats.handled += detected and refused and self.recover()
        elif kind == "stall":
            time.sleep(self.watchdog + self.rng.uniform(0.1, 1.5))
            try:
                self.step(self.action())
                stats.notes["stepped after the stall"] += 1
                ok = False
            except RealEnvError as e:
                stats.raised[type(e).__name__] += 1
                ok = self.env.guard.fired is not None or "watchdog" in str(e)
            self.window(kind, start, judge_fresh=False)
            stats.handled += ok and self.recover()
        elif kind == "action_out_of_space":
            if self.rng.random() < 0.5:
                action = self.rng.uniform(-1, 1, self.low.shape) * 1e3 * (self.high - self.low)
            else:
                action = np.full(self.low.shape, np.nan)
            sent = sum(c.sent for c in self.agent.commands.values())
            try:
                info = self.step(action.astype(np.float32))
                clipped = ",".join(info["safety"]["clipped"]) or "nothing"
                stats.notes[f"accepted, safety clipped {clipped}"] += 1
                stats.handled += 1
            except ActionError:
                stats.raised["ActionError"] += 1
                nothing_sent = sum(c.sent for c in self.agent.commands.values()) == sent
                if not nothing_sent:
                    stats.notes["ActionError but a command went out"] += 1
                stats.handled += nothing_sent
            except RealEnvError as e:
                stats.raised[type(e).__name__] += 1
                stats.handled += self.recover()
            self.window(kind, start, judge_fresh=False)
        elif kind == "action_extreme":
            ok = True
            for _ in range(int(self.rng.integers(10, 51))):
                action = np.where(self.rng.random(self.low.shape) < 0.5, self.low, self.high)
                try:
                    info = self.step(action.astype(np.float32))
                    stats.notes[
                        "steps clipped" if info["safety"]["clipped"] else "steps unclipped"
                    ] += 1
                except RealEnvError as e:
                    stats.raised[type(e).__name__] += 1
                    ok = self.recover()
                    break
            self.window(kind, start, judge_fresh=False)
            stats.handled += ok

    # -- the run --------------------------------------------------------------------------
    def run(self) -> None:
        from maniskill_real.errors import RealEnvError

        self.wait_for_recorder_match()
        self.reset()
        self.rss["after the first reset"] = rss_mb()
        t0 = time.monotonic()
        duration = self.args.minutes * 60.0
        next_fault = t0 + self.rng.exponential(self.args.fault_interval)
        next_report = t0 + 60.0
        deck: list[str] = []
        while (now := time.monotonic()) - t0 < duration:
            if now >= next_report:
                self.rss[f"at {round((now - t0) / 60)} min"] = rss_mb()
                print(
                    f"  {(now - t0) / 60:4.1f} min: {self.steps} steps, "
                    f"{sum(s.injected for s in self.stats.values())} faults, "
                    f"RSS {rss_mb():.1f} MB",
                    flush=True,
                )
                next_report += 60.0
            try:
                if now >= next_fault:
                    if not deck:  # every kind once per round, in a seeded random order
                        deck = list(self.rng.permutation(self.kinds))
                    self.inject(str(deck.pop()))
                    next_fault = time.monotonic() + self.rng.exponential(self.args.fault_interval)
                elif self.episode_steps >= self.args.episode_steps:
                    self.reset()
                else:
                    self.step(self.action())
            except HarnessError as e:  # the soak's own fault injection failed, not RealEnv
                self.harness_errors.append(str(e))
                print(f"  harness: {e}", flush=True)
                if not self.recover():
                    print("  giving up: the robot side does not reset", flush=True)
                    break
            except RealEnvError as e:
                self.unprovoked[type(e).__name__] += 1
                if len(self.unprovoked_examples) < 5:
                    self.unprovoked_examples.append(f"{type(e).__name__}: {e}")
                if not self.recover():
                    print("  giving up: the robot side does not reset", flush=True)
                    break
        self.elapsed = time.monotonic() - t0
        self.rss["at the end"] = rss_mb()
        self.robot_rss = rss_mb(self.robot.proc.pid)
        self.recorder_rss = rss_mb(self.recorder.pid)

    def close(self) -> dict:
        """Close RealEnv (it holds), then let the recorder judge; its report."""
        try:
            self.env.close()
            self.sim.close()
            self.faults.close()
            time.sleep(0.5)
        finally:
            os.killpg(self.recorder.pid, signal.SIGINT)
            try:
                self.recorder.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(self.recorder.pid, signal.SIGKILL)
            self.robot.stop()
        return json.loads((self.out / "recorder.json").read_text())


def print_report(soak: Soak, rec: dict) -> None:
    a = soak.args
    print(
        f"\nsoak: {soak.elapsed / 60:.1f} min at {a.rate:.0f} Hz, robot {a.robot}, "
        f"{a.control_mode}, seed {a.seed}"
    )
    stepping = soak.step_time
    print(
        f"steps            {soak.steps} ok ({soak.steps / stepping:.1f} Hz while stepping), "
        f"{soak.refused} refused during faults, control-tick overruns "
        f"{soak.env.clock.overruns} of {soak.env.clock.ticks}"
    )
    print(f"resets           {soak.resets} ok, {soak.reset_failures} refused (retried)")
    print(f"unprovoked       {dict(soak.unprovoked) or 'none'} (RealEnvErrors outside a fault)")
    for line in soak.unprovoked_examples:
        print(f"                 {line[:160]}")
    print(
        f"harness          {len(soak.harness_errors)} fault injections failed, "
        f"{soak.parameter_retries} parameter requests sent again"
    )
    for line in soak.harness_errors[:5]:
        print(f"                 {line[:160]}")
    print(
        "\nfaults (handled: refused by RealEnv where it must be, nothing stepped during the fault, "
        "reset() succeeded after)"
    )
    cmds = rec["commands_by_window"]
    bad = rec["unsafe_by_window"]
    print(
        f"  {'kind':<20} {'injected':>8} {'handled':>7} {'detect steps p50/max':>20} "
        f"{'cmds in window':>14} {'unsafe':>6}  raised / notes"
    )
    for kind, s in soak.stats.items():
        det = f"{np.median(s.detect_steps):.0f}/{max(s.detect_steps)}" if s.detect_steps else "-"
        raised = ", ".join(f"{k} x{v}" for k, v in s.raised.items())
        notes = ", ".join(f"{k} x{v}" for k, v in s.notes.items())
        print(
            f"  {kind:<20} {s.injected:>8} {s.handled:>7} {det:>20} {cmds.get(kind, 0):>14} "
            f"{bad.get(kind, 0):>6}  {'; '.join(x for x in (raised, notes) if x)}"
        )
    total = sum(s.injected for s in soak.stats.values())
    handled = sum(s.handled for s in soak.stats.values())
    print(f"  {'all faults':<20} {total:>8} {handled:>7}")
    for label, what in (("reset", "reset() calls"), ("policy", "policy steps")):
        print(
            f"  {what:<20} {'':>8} {'':>7} {'':>20} {cmds.get(label, 0):>14} {bad.get(label, 0):>6}"
        )
    sent = {c.topic: c.sent for c in soak.agent.commands.values()}
    print(
        f"\ncommands         published by RealEnv {sum(sent.values())} {sent}; received by the "
        f"recorder {rec['received']}"
    )
    print(
        f"unsafe commands  {rec['unsafe_commands']} (by rule {rec['unsafe_by_rule'] or '{}'}, "
        f"by window {bad or '{}'})"
    )
    for f in rec["foreign_publishers"]:
        seconds = (f["last_ns"] - f["first_ns"]) * 1e-9
        print(
            f"                 ANOTHER NODE on this domain: {f['node']} published on "
            f"{f['topic']} (seen for {seconds:.1f} s); unsafe commands within 1 s of such "
            f"nodes: {rec['unsafe_while_foreign_publishers']}"
        )
    for ex in rec["examples"][:10]:
        print(
            f"                 {ex['topic']} in {ex['window']}: {'; '.join(ex['problems'])[:200]}"
        )
    ratios = ", ".join(f"{k} {v:.2f}" for k, v in rec["worst_step_ratio"].items())
    print(
        f"margins          worst |target - newest reading| / (v_max * horizon): {ratios}; "
        f"oldest reading behind a command {rec['worst_reading_age_s'] * 1e3:.0f} ms; "
        f"longest delivery to the recorder {rec['max_delivery_lag_s'] * 1e3:.0f} ms"
    )
    if rec["beyond_urdf_inside_target_range"]:
        print(
            f"                 gripper squeeze targets below the URDF limit (sim controller's "
            f"range): {rec['beyond_urdf_inside_target_range']}"
        )
    print(f"safety clips     steps with a clip per limit: {dict(soak.clips)}")
    rss = soak.rss
    first = next((v for k, v in rss.items() if k == "at 1 min"), None)
    print("\nRSS of this process (RealEnv, its sim twin, the fault client), MB:")
    print(
        "  "
        + "  ".join(
            f"{k} {v:.1f}"
            for k, v in rss.items()
            if not k.startswith("at ") or k in ("at 1 min", "at the end")
        )
    )
    if first is not None:
        growth = rss["at the end"] - first
        minutes = max(soak.elapsed / 60 - 1, 1e-9)
        print(
            f"  growth from minute 1 to the end: {growth:+.1f} MB ({growth / minutes:+.2f} MB/min)"
            f"; reference: RealEnv() itself took "
            f"{rss['after RealEnv()'] - rss['before RealEnv()']:+.1f} MB"
        )
    print(
        f"  robot process at the end {soak.robot_rss:.1f} MB (restarted "
        f"{soak.robot_number - 1}x), recorder {soak.recorder_rss:.1f} MB"
    )
    timeline = [f"{k[3:]} {v:.0f}" for k, v in rss.items() if k.startswith("at ") and "min" in k]
    print(f"  per minute: {', '.join(timeline)}")
    print(f"logs, fault windows and the recorder's report: {soak.out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--robot", choices=("mock", "sim"), default="mock")
    p.add_argument("--rate", type=int, default=50, help="control frequency, Hz")
    p.add_argument("--control-mode", default="pd_joint_delta_pos")
    p.add_argument(
        "--fault-interval",
        type=float,
        default=5.0,
        help="mean seconds between faults (exponential)",
    )
    p.add_argument("--kinds", nargs="+", help="inject only these fault kinds (default: all)")
    p.add_argument("--episode-steps", type=int, default=250, help="steps between resets")
    p.add_argument(
        "--step-tolerance",
        type=float,
        default=0.01,
        help="rad the recorder allows above v_max * horizon",
    )
    p.add_argument("--out", type=Path, help="folder for logs (default: a new temp folder)")
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="soak_"))
    out.mkdir(parents=True, exist_ok=True)
    soak = Soak(args, out)
    try:
        soak.run()
    finally:
        rec = soak.close()
    print_report(soak, rec)


if __name__ == "__main__":
    main()
