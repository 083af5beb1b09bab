"""The soak's independent judge: a process of its own that records every command RealEnv
publishes and every /joint_states the robot publishes, and judges each command once the run
is over (SIGINT or SIGTERM ends the recording, then the report is written as JSON).

    python benchmarks/soak_recorder.py --robot-config CFG --windows FILE --out REPORT.json

A command is unsafe when
- limit: a position lies outside the sim robot's joint limits, read here from its URDF through
  ManiSkill's agent registry (``--target-range JOINT:LOW:HIGH`` widens one joint to a range the
  sim controller declares on purpose, e.g. the panda gripper's -0.01 m squeeze target);
- step: a joint with a velocity limit (the config's safety.max_joint_velocity, which defaults to
  robot_limits) would move faster than that limit from the newest valid /joint_states sent
  before the command: |target - measured| > v_max * horizon + ``--step-tolerance``, where the
  horizon is the trajectory point's time_from_start (segment by segment for several points) or
  one control period for a forward command controller;
- stale: the newest valid /joint_states sent before it was stamped more than the config's
  joint_states max_age (+ ``--age-tolerance``) before the command was sent (covers a killed
  robot);
- fault_window: it was sent while a joint_states fault had been active for more than max_age
  (the soak writes each fault window to ``--windows``, one JSON object per line:
  kind, start_ns, end_ns, judge_fresh; kind "reset" marks a reset() call). Commands are counted
  per window: a fault kind, "reset", or "policy" (a step outside both).
A /joint_states is valid when it names every configured joint once, is finite, and its stamp is
within ``--stamp-tolerance`` of its write time (a zero, future or backward stamp is not).
Times are the DDS source timestamps (the publisher's write time, system clock, ns; every process
runs on this host), so a recorder that the CPU starves still orders and ages messages as they were
sent. The domain is shared with anything else on it: the recorder polls the graph and reports
every other node that publishes on the soak's topics, and the commands judged while one did.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maniskill_real.config import RobotConfig, load_robot_config

EPS = 1e-9


def urdf_limits(robot_uid: str) -> dict[str, tuple[float, float]]:
    """Sim joint name -> (lower, upper) from the URDF ManiSkill registers for ``robot_uid``."""
    from mani_skill import format_path
    from mani_skill.agents.registration import REGISTERED_AGENTS

    urdf = format_path(str(REGISTERED_AGENTS[robot_uid].agent_cls.urdf_path))
    out = {}
    for joint in ET.parse(urdf).getroot().iter("joint"):
        limit = joint.find("limit")
        if joint.get("type") in ("revolute", "prismatic") and limit is not None:
            out[joint.get("name")] = (float(limit.get("lower")), float(limit.get("upper")))
    return out


class Recorder:
    def __init__(self, config: RobotConfig) -> None:
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Float64MultiArray
        from trajectory_msgs.msg import JointTrajectory

        from maniskill_real.ros.node import RosNode

        self.config = config
        self.events: list[tuple[int, str, Any]] = []
        self.last_js_ns = 0
        """Source time of the newest /joint_states (any), for the soak to wait on."""
        self.max_lag_ns = 0
        """Longest time between a message's write and its reception here."""
        self.foreign: dict[tuple[str, str], list[int]] = {}
        """(topic, node) -> [first, last] time (ns) seen publishing where it should not."""
        self.ros = RosNode("soak_recorder")
        qos = _record_qos()
        self.ros.subscribe(
            JointState,
            config.topic(config.joint_states_topic),
            self._on_joint_states,
            qos,
        )
        for part, ctrl in config.controllers.items():
            topic = config.topic(ctrl.command_topic)
            if ctrl.kind == "joint_trajectory_controller":
                self.ros.subscribe(
                    JointTrajectory,
                    topic,
                    lambda m, i, p=part: self.events.append((self._when(i), p, _trajectory(m))),
                    qos,
                )
            else:
                self.ros.subscribe(
                    Float64MultiArray,
                    topic,
                    lambda m, i, p=part, c=ctrl: self.events.append(
                        (self._when(i), p, _forward(m, c.joints))
                    ),
                    qos,
                )

    def _when(self, info: dict) -> int:
        """The message's source timestamp (its reception time where the RMW gives none)."""
        received = info["received_timestamp"]
        source = info["source_timestamp"] or received
        self.max_lag_ns = max(self.max_lag_ns, received - source)
        return source

    def _on_joint_states(self, msg: Any, info: dict) -> None:
        when = self._when(info)
        self.events.append((when, "js", _js(msg)))
        self.last_js_ns = when

    def watch(self, allowed: dict[str, set[str]]) -> None:
        """Note every node publishing on a watched topic that ``allowed`` doesn't name. The
        graph names a publisher "_NODE_NAME_UNKNOWN_" while its process's node list is not (or
        no longer) known: right after it starts, and until a killed process's participant
        lease expires (the restarted robot's predecessor); those are left out."""
        now = time.time_ns()
        for topic, names in allowed.items():
            for node in set(self.ros.other_publishers(topic)) - names:
                if "_NODE_NAME_UNKNOWN_" not in node:
                    self.foreign.setdefault((topic, node), [now, now])[1] = now

    def close(self) -> None:
        self.ros.close()


def _record_qos() -> Any:
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    # A deep reliable queue: a recorder must not lose a message.
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=10000,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def _js(msg: Any) -> tuple[int, list[str], list[float], list[float]]:
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    return stamp, list(msg.name), list(msg.position), list(msg.velocity)


Command = tuple[int, list[tuple[float, dict[str, float]]], str | None]
"""Header stamp (ns, 0 without one), points (time_from_start, ROS joint -> position), and
why its shape is wrong (None if it is right)."""


def _forward(msg: Any, joints: tuple[str, ...]) -> Command:
    wrong = None if len(msg.data) == len(joints) else f"{len(msg.data)} values for {len(joints)}"
    return 0, [(0.0, dict(zip(joints, msg.data, strict=False)))], wrong


def _trajectory(msg: Any) -> Command:
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
    points, wrong = [], None
    for p in msg.points:
        if len(p.positions) != len(msg.joint_names):
            wrong = f"a point with {len(p.positions)} positions for {len(msg.joint_names)} joints"
        tfs = p.time_from_start.sec + p.time_from_start.nanosec * 1e-9
        points.append((tfs, dict(zip(msg.joint_names, p.positions, strict=False))))
    return stamp, points, wrong


def judge(
    config: RobotConfig,
    events: list[tuple[int, str, Any]],
    windows: list[dict],
    limits: dict[str, tuple[float, float]],
    squeeze: dict[str, tuple[float, float]],
    control_dt: float,
    step_tol: float,
    age_tol: float,
    stamp_tol: float,
    foreign: Sequence[tuple[int, int]] = (),
) -> dict[str, Any]:
    """Every command against the rules in the module docstring; counts, worst margins, and the
    first unsafe commands in detail."""
    max_age = config.joint_states_max_age
    vmax = dict(config.safety.max_joint_velocity)
    joints = set(config.controlled_joints())
    kinds = {part: ctrl.kind for part, ctrl in config.controllers.items()}
    events = sorted(events, key=lambda e: e[0])
    newest: tuple[int, int, dict[str, float]] | None = None  # stamp, sent, positions
    recent: deque[tuple[int, int, dict[str, float]]] = deque()  # valid readings, last max_age
    counts: Counter[str] = Counter()
    unsafe: Counter[str] = Counter()
    unsafe_by_window: Counter[str] = Counter()
    commands_by_window: Counter[str] = Counter()
    examples: list[dict] = []
    worst_ratio: dict[str, float] = defaultdict(float)
    worst_age = 0.0
    beyond_urdf = Counter()
    js_invalid = 0
    unsafe_while_foreign = 0
    step_older: list[float] = []  # ms: the older reading a flagged step is within the limit of
    for when, source, data in events:
        if source == "js":
            stamp, names, position, velocity = data
            ok = (
                len(names) == len(set(names))
                and joints <= set(names)
                and len(position) == len(names)
                and all(math.isfinite(v) for v in [*position, *velocity])
                and stamp != 0
                and abs(when - stamp) * 1e-9 <= stamp_tol
            )
            counts["joint_states"] += 1
            if ok:
                newest = (stamp, when, dict(zip(names, position, strict=True)))
                recent.append(newest)
                while recent and when - recent[0][1] > max_age * 1e9:
                    recent.popleft()
            else:
                js_invalid += 1
            continue
        counts[source] += 1
        stamp, points, wrong = data
        # a fault's window first (a reset tried during a fault is the fault's), then a reset's
        inside = [w["kind"] for w in windows if w["start_ns"] <= when <= w["end_ns"]]
        label = next((k for k in inside if k != "reset"), "reset" if inside else "policy")
        commands_by_window[label] += 1
        problems = [f"shape: {wrong}"] if wrong else []
        for _, targets in points:
            for name, value in targets.items():
                lo, hi = limits.get(name, (-math.inf, math.inf))
                if lo - EPS <= value <= hi + EPS:
                    continue
                slo, shi = squeeze.get(name, (lo, hi))
                if slo - EPS <= value <= shi + EPS:
                    beyond_urdf[name] += 1
                else:
                    problems.append(f"limit: {name}={value:.4f} outside [{lo:.4f}, {hi:.4f}]")
        if newest is None:
            problems.append("stale: no valid /joint_states sent before it")
        else:
            age = (when - newest[0]) * 1e-9
            worst_age = max(worst_age, age)
            if age > max_age + age_tol:
                problems.append(f"stale: newest valid /joint_states {age:.3f} s old")
            previous, t_prev = newest[2], 0.0
            stepped = len(problems)
            for tfs, targets in points:
                horizon = (
                    tfs - t_prev if kinds[source] == "joint_trajectory_controller" else control_dt
                )
                horizon = max(horizon, 0.0)
                for name, value in targets.items():
                    if name not in vmax or name not in previous:
                        continue
                    change = abs(value - previous[name])
                    allowed = vmax[name] * horizon
                    if allowed > 0:
                        key = f"{source} in {label}"
                        worst_ratio[key] = max(worst_ratio[key], change / allowed)
                    if change > allowed + step_tol:
                        problems.append(
                            f"step: {name} {previous[name]:.4f} -> {value:.4f} in "
                            f"{horizon:.3f} s ({change:.4f} rad > {vmax[name]} rad/s * "
                            f"{horizon:.3f} s + {step_tol})"
                        )
                previous, t_prev = {**previous, **targets}, tfs
            if len(problems) > stepped and len(points) == 1:
                older = _older_reading(recent, newest, points[0], vmax, horizon, step_tol)
                if older is None:
                    problems.append(f"note: outside the limit from every reading of {max_age} s")
                else:
                    step_older.append(older)
                    problems.append(f"note: within the limit from a reading {older:.0f} ms older")
        for w in windows:
            if w.get("judge_fresh") and w["start_ns"] + max_age * 1e9 < when <= w["end_ns"]:
                problems.append(
                    f"fault_window: {w['kind']} active for more than max_age {max_age} s"
                )
        if problems and any(a - 1e9 <= when <= b + 1e9 for a, b in foreign):
            unsafe_while_foreign += 1
        if problems:
            rules = {p.split(":")[0] for p in problems} - {"note"}
            first = any(unsafe[r] < 5 for r in rules)  # the first five of each rule in detail
            for r in rules:
                unsafe[r] += 1
            unsafe_by_window[label] += 1
            if first:
                examples.append(
                    {
                        "sent_ns": when,
                        "topic": source,
                        "window": label,
                        "problems": problems,
                    }
                )
    return {
        "received": dict(counts),
        "joint_states_invalid": js_invalid,
        "unsafe_commands": sum(unsafe_by_window.values()),
        "unsafe_by_rule": dict(unsafe),
        "unsafe_by_window": dict(unsafe_by_window),
        "unsafe_while_foreign_publishers": unsafe_while_foreign,
        "step_within_limit_of_older_reading_ms": step_older,
        "commands_by_window": dict(commands_by_window),
        "worst_step_ratio": dict(worst_ratio),
        "worst_reading_age_s": worst_age,
        "beyond_urdf_inside_target_range": dict(beyond_urdf),
        "examples": examples,
    }


def _older_reading(
    recent: Sequence[tuple[int, int, dict[str, float]]],
    newest: tuple[int, int, dict[str, float]],
    point: tuple[float, dict[str, float]],
    vmax: dict[str, float],
    horizon: float,
    step_tol: float,
) -> float | None:
    """How much older (ms) the newest reading is that the step stays within the limit of, if
    any: RealEnv computes a target from the reading it sampled, which can be a few of the
    robot's ticks older than the newest one published before the command."""
    for stamp, _, positions in reversed(recent):
        if all(
            abs(v - positions[n]) <= vmax[n] * horizon + step_tol
            for n, v in point[1].items()
            if n in vmax and n in positions
        ):
            return (newest[0] - stamp) * 1e-6
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--robot-config", required=True)
    p.add_argument("--windows", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--status",
        type=Path,
        help="rewritten every 0.1 s with the reception time (ns) of the newest /joint_states, "
        "so the soak can wait until the recorder sees a (restarted) robot",
    )
    p.add_argument(
        "--robot-node", default="/mock_hardware", help="the node that publishes /joint_states"
    )
    p.add_argument("--control-dt", type=float, default=0.02, help="s, forward commands' horizon")
    p.add_argument("--step-tolerance", type=float, default=0.01, help="rad")
    p.add_argument("--age-tolerance", type=float, default=0.02, help="s")
    p.add_argument("--stamp-tolerance", type=float, default=0.1, help="s")
    p.add_argument(
        "--target-range",
        action="append",
        default=[],
        metavar="JOINT:LOW:HIGH",
        help="ROS joint whose targets may leave its URDF limits within this range",
    )
    args = p.parse_args()
    config = load_robot_config(args.robot_config)
    limits = {config.ros_joint(n): v for n, v in urdf_limits(config.robot_uid).items()}
    squeeze = {}
    for item in args.target_range:
        name, low, high = item.rsplit(":", 2)
        squeeze[name] = (float(low), float(high))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    recorder = Recorder(config)
    real_env = f"{config.namespace.rstrip('/')}/real_env"
    allowed = {config.topic(c.command_topic): {real_env} for c in config.controllers.values()}
    allowed[config.topic(config.joint_states_topic)] = {args.robot_node}
    while not stop.wait(0.1):
        recorder.watch(allowed)
        if args.status:
            tmp = args.status.with_suffix(".tmp")
            tmp.write_text(str(recorder.last_js_ns))
            tmp.replace(args.status)
    time.sleep(0.2)  # what was in flight
    recorder.close()
    windows = []
    if args.windows.exists():
        windows = [json.loads(line) for line in args.windows.read_text().splitlines() if line]
    report = judge(
        config,
        recorder.events,
        windows,
        limits,
        squeeze,
        args.control_dt,
        args.step_tolerance,
        args.age_tolerance,
        args.stamp_tolerance,
        [tuple(v) for v in recorder.foreign.values()],
    )
    report["foreign_publishers"] = [
        {"topic": t, "node": n, "first_ns": a, "last_ns": b}
        for (t, n), (a, b) in recorder.foreign.items()
    ]
    report["max_delivery_lag_s"] = recorder.max_lag_ns * 1e-9
    report["limits"] = limits
    report["max_joint_velocity"] = dict(config.safety.max_joint_velocity)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"recorder: {report['received']}, unsafe {report['unsafe_commands']}", flush=True)


if __name__ == "__main__":
    main()
