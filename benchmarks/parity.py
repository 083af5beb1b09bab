"""Parity: one scripted action sequence through pure ManiSkill and through RealEnv -> ROS ->
sim_robot, per control mode and per arm controller kind, printed side by side.

    .venv/bin/python benchmarks/parity.py [--seeds 0 1] [--latency D]

With ``--latency D``, RealEnv releases each command D ticks late (``latency_steps``) and each
row also compares the robot with the pure sim wrapped in ``LatencyWrapper(D)``.

Never asserts: test/test_parity.py holds the bounds. This prints the figures the README quotes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from maniskill_real.tools.isolation import isolate_ros_graph

isolate_ros_graph()
REPO = Path(__file__).resolve().parent.parent

MODES = ("pd_joint_delta_pos", "pd_ee_delta_pose")


def parity_configs(folder: Path) -> dict[str, str]:
    """panda_sim without cameras (state observations need none, and rendering would compete
    with physics for the CPU), with its forward arm and with panda.yaml's trajectory arm."""
    base = str(REPO / "config" / "panda_sim.yaml")
    panda = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    variants = {
        "forward arm": {"base": base, "cameras": {}},
        "trajectory arm": {"base": base, "cameras": {}, "controllers": panda["controllers"]},
    }
    paths = {}
    for label, content in variants.items():
        path = folder / f"panda_sim_{label.split()[0]}.yaml"
        path.write_text(yaml.safe_dump(content))
        paths[label] = str(path)
    return paths


def run(config: str, mode: str, seeds: list[int], logs: Path, latency: int) -> list[dict]:
    from maniskill_real.sim.latency import LatencyWrapper
    from maniskill_real.tools.rollout import compare, on_sim_robot, parity, pure_rollout
    from maniskill_real.tools.scripted import scripted_actions

    rows = []
    log = logs / f"sim_robot_{mode}.log"
    with on_sim_robot(config, mode, log, latency, publish_depth=False) as env:
        for seed in seeds:
            pure, real, gap = parity(env, "PickCube-v1", seed)
            wrapped = float("nan")
            if latency:
                actions, _ = scripted_actions("PickCube-v1", mode, seed)
                wrap = lambda e: LatencyWrapper(e, latency)  # noqa: E731
                delayed = pure_rollout("PickCube-v1", mode, seed, actions, wrap)
                wrapped = compare(delayed, real)["qpos_rms_mean"]
            rows.append(
                {
                    "seed": seed,
                    "sim": pure.grasped,
                    "real": real.grasped,
                    "overruns": real.overruns,
                    "wrapped_rms": wrapped,
                    **gap,
                }
            )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--latency", type=int, default=0, help="RealEnv latency_steps")
    args = p.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="parity_"))
    configs = parity_configs(logs)
    print(
        f"{'arm controller':<15} {'mode':<19} {'seed':>4} {'picked sim/real':>15} "
        f"{'qpos rms':>9} {'qpos max':>9} {'tcp mean':>9} {'tcp max':>8} {'overruns':>8}"
        + (f" {'qpos rms, sim in LatencyWrapper':>31}" if args.latency else "")
    )
    for label, config in configs.items():
        for mode in MODES:
            for r in run(config, mode, args.seeds, logs, args.latency):
                print(
                    f"{label:<15} {mode:<19} {r['seed']:>4} "
                    f"{str(r['sim']) + '/' + str(r['real']):>15} "
                    f"{r['qpos_rms_mean']:>8.4f}r {r['qpos_abs_max']:>8.4f}r "
                    f"{r['tcp_err_mean'] * 1e3:>7.1f}mm {r['tcp_err_max'] * 1e3:>6.1f}mm "
                    f"{r['overruns']:>8}" + (f" {r['wrapped_rms']:>30.4f}r" if args.latency else "")
                )
    print(
        "qpos rms: mean over steps of the per-step RMS over joints (rad); tcp: mm"
        + (f"; RealEnv latency_steps={args.latency}" if args.latency else "")
    )


if __name__ == "__main__":
    main()
