"""Objects through ROS: a state-mode PickCube rollout (the scripted grasp's actions, seeded)
through pure ManiSkill and through RealEnv -> ROS -> sim_robot, whose cube reaches the
observation only through its pose topic (/sim_robot/objects/cube), printed side by side.

    .venv/bin/python benchmarks/objects.py [--seeds 0 1] [--noise 0.0 0.002]

Per row: whether each side picked the cube, the qpos gap (mean over steps of the per-step RMS
over joints), and the cube gap (the twin's cube, synced from the topic, against the pure sim's
cube: mean and max distance, max angle) over the whole rollout. Never asserts:
test/test_objects.py holds the checks.
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


def run(config: Path, mode: str, noise: float, seeds: list[int], logs: Path) -> list[dict]:
    from maniskill_real.tools.rollout import on_sim_robot, parity

    rows = []
    log = logs / f"sim_robot_{mode}_{noise}.log"
    with on_sim_robot(config, mode, log, object_pose_noise=noise) as env:
        for seed in seeds:
            pure, real, gap = parity(env, "PickCube-v1", seed)
            rows.append({"seed": seed, "sim": pure.grasped, "real": real.grasped, **gap})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.002])
    args = p.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="objects_"))
    config = logs / "panda_sim.yaml"  # the cube from sim_robot's pose topic, no cameras
    base = str(REPO / "config" / "panda_sim.yaml")
    config.write_text(yaml.safe_dump({"base": base, "cameras": {}}))
    print(
        f"{'mode':<19} {'noise':>6} {'seed':>4} {'picked sim/real':>15} {'qpos rms':>9} "
        f"{'cube mean':>9} {'cube max':>9} {'angle max':>9}"
    )
    for mode in MODES:
        for noise in args.noise:
            for r in run(config, mode, noise, args.seeds, logs):
                print(
                    f"{mode:<19} {noise * 1e3:>4.1f}mm {r['seed']:>4} "
                    f"{str(r['sim']) + '/' + str(r['real']):>15} {r['qpos_rms_mean']:>8.4f}r "
                    f"{r['cube_err_mean'] * 1e3:>7.1f}mm {r['cube_err_max'] * 1e3:>7.1f}mm "
                    f"{r['cube_angle_max']:>8.3f}r"
                )
    print("qpos rms: mean over steps of the per-step RMS over joints (rad); cube: twin vs pure")


if __name__ == "__main__":
    main()
