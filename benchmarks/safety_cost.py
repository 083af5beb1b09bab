"""Safety layer cost per step against the control period, per control rate.

    .venv/bin/python benchmarks/safety_cost.py [--rates 20 100 250 500] [--seconds 4]

The safety layer runs twice a step: ``check_measured`` (speed in distribution, the arm on the
path of its recent targets and not late along it: core/tracking.py's fit) before the sim
controller, and ``positions`` (limits, change per step, blend-in) on its targets. Here both run
on plain arrays, no ROS, for a 7-joint arm moving a 0.4 rad sine per joint that it follows one
period late, with panda.yaml's limits (max_tracking_lag 0.15 s): the fit's window and shifts are
set by that lag, so they span more periods at higher rates. Printed: p50/p99 per step, back to
back (warm code: a step's code after the tick's wait runs slower, see step_cost.py) and as a
share of the control period. Never asserts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from maniskill_real.core.safety import SafetyConfig, SafetyFilter

JOINTS = 7
SPEED = 2.175  # rad/s: panda.yaml's robot_limits for joints 1-4


def step_costs(rate: float, seconds: float) -> np.ndarray:
    """Seconds per step of check_measured + positions over ``seconds`` of motion at ``rate``."""
    dt = 1.0 / rate
    config = SafetyConfig(max_joint_velocity=(SPEED,) * JOINTS, max_tracking_lag=0.15)
    names = [f"joint{i}" for i in range(1, JOINTS + 1)]
    safety = SafetyFilter(config, -np.full(JOINTS, 2.8), np.full(JOINTS, 2.8), names, dt)
    sent = [np.zeros(JOINTS)]
    costs = []
    for k in range(int(seconds * rate)):
        measured = sent[-2] if len(sent) > 1 else sent[-1]  # one period behind
        wanted = 0.4 * np.sin(2 * np.pi * 0.4 * k * dt + np.arange(JOINTS))
        start = time.perf_counter()
        safety.check_measured(measured, np.zeros(JOINTS))
        target, _ = safety.positions(wanted, measured)
        costs.append(time.perf_counter() - start)
        sent.append(target)
    return np.array(costs[len(costs) // 4 :])  # the window full


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=float, nargs="+", default=[20.0, 100.0, 250.0, 500.0])
    p.add_argument("--seconds", type=float, default=4.0, help="of motion per rate")
    args = p.parse_args()
    print(f"{'Hz':>6} {'p50 ms':>8} {'p99 ms':>8} {'period ms':>10} {'p50 / period':>13}")
    for rate in args.rates:
        c = step_costs(rate, args.seconds)
        p50, p99 = np.percentile(c, 50), np.percentile(c, 99)
        share = p50 * rate
        print(f"{rate:>6g} {p50 * 1e3:>8.3f} {p99 * 1e3:>8.3f} {1e3 / rate:>10.2f} {share:>12.1%}")


if __name__ == "__main__":
    main()
