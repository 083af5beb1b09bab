"""step_cost.py's other process: when each command reaches it, and a world that reports the task.

    python benchmarks/command_peer.py --topic arm_controller/joint_trajectory --out ARRIVALS.json
                                      [--task KEY ...] [--task-rate HZ]

Subscribes to one command topic as a ros2_control controller does (reliable, depth 1) and
records, per message, the DDS receive time (``received_timestamp``: the system clock when the
middleware took the sample, before this process's Python executor ran), the callback's
monotonic time, and the joint names and the first point's positions (what the controller would
follow; test/test_two_arms.py reads them). SIGINT or SIGTERM ends the recording; the JSON is
written then. Prints "listening" once subscribed. Each ``--task`` key is published as
std_msgs/Bool false on ``task/<key>`` at ``--task-rate`` (the control rate: sim_robot publishes
its evaluate() after each control step; robot config ``task_namespace: task``).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

from std_msgs.msg import Bool
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.ros.node import STATE_QOS, RosNode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--topic", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--task", nargs="*", default=[], help="task booleans to publish")
    p.add_argument("--task-rate", type=float, default=20.0, help="Hz of the task booleans")
    args = p.parse_args()
    received: list[int] = []
    callback: list[int] = []
    names: list[list[str]] = []
    positions: list[list[float]] = []

    def on_msg(msg: Any, info: Any) -> None:
        callback.append(time.monotonic_ns())
        received.append(int(info["received_timestamp"]))
        names.append(list(msg.joint_names))
        positions.append(list(msg.points[0].positions) if msg.points else [])

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ros = RosNode("step_cost_peer", cli_args=[])
    try:
        ros.subscribe(JointTrajectory, args.topic, on_msg)
        task = [ros.publisher(Bool, f"task/{key}", STATE_QOS) for key in args.task]
        world = Bool(data=False)
        ros.node.create_timer(1.0 / args.task_rate, lambda: [p.publish(world) for p in task])
        print("listening", flush=True)
        stop.wait()
    finally:
        ros.close()
    record = {
        "received_ns": received,
        "callback_monotonic_ns": callback,
        "joint_names": names,
        "positions": positions,
    }
    args.out.write_text(json.dumps(record))


if __name__ == "__main__":
    main()
