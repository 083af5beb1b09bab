"""``maniskill-real demo``: a scripted PickCube-v1 policy on a robot reached only over ROS.

It starts the robot node (the ManiSkill-in-the-loop ``sim_robot`` by default, or
``mock_hardware``), generates a seeded scripted grasp in pure ManiSkill, replays the same
actions through ``RealEnv`` -> ROS -> robot, and reports the control rate, overruns, input
ages, joint tracking, and the gap to the pure sim. It writes a contact sheet of the camera
frames the policy saw.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from maniskill_real.tools.isolation import isolate_ros_graph
from maniskill_real.tools.processes import RobotProcess

ROBOTS = {
    "sim": ("sim_robot", "panda_sim", "trigger:/sim_robot/reset_scene@/sim_robot/seed"),
    "mock": ("mock_hardware", "panda_mock", "none"),
}


SUMMARY = "the main job: a scripted PickCube grasp through RealEnv on a robot over ROS"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--robot", choices=sorted(ROBOTS), default="sim", help="robot node to start")
    p.add_argument("--no-start", action="store_true", help="use a robot that is already running")
    p.add_argument("--robot-config", help="robot config (default: per --robot)")
    p.add_argument(
        "--control-mode",
        default="pd_ee_delta_pose",
        choices=["pd_ee_delta_pose", "pd_joint_delta_pos"],
    )
    p.add_argument("--episodes", type=int, default=2, help="episodes of 120 steps each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--obs-mode", default="rgb", choices=["rgb", "state"])
    p.add_argument("--out", type=Path, default=Path("outputs/demo"), help="folder for images")


def run(args: argparse.Namespace) -> int:
    if args.no_start:
        os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    else:
        # Before the robot process starts: it inherits the domain and the profile. On a domain
        # shared with a robot already running here, the demo's commands would reach both.
        domain = isolate_ros_graph()
        print(f"ROS_DOMAIN_ID {domain}: no other process on this host uses it")

    import cv2
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401 - registers the envs

    from maniskill_real.env.real_env import RealEnv
    from maniskill_real.tools.rollout import contact_sheet, parity

    executable, default_config, scene_reset = ROBOTS[args.robot]
    config = args.robot_config or default_config
    robot = None
    if not args.no_start:
        log = Path(tempfile.mkdtemp(prefix="maniskill_real_demo_")) / f"{executable}.log"
        params: dict[str, object] = {"robot_config": config}
        if args.robot == "sim":
            params.update(seed=args.seed, control_mode=args.control_mode, reset_scene_service=True)
        print(f"starting {executable} (log: {log})")
        robot = RobotProcess(executable, log, **params)
    sim = gym.make(
        "PickCube-v1",
        obs_mode=args.obs_mode,
        control_mode=args.control_mode,
        reward_mode="sparse",
        sim_backend="physx_cpu",
    )
    env = None
    try:
        env = RealEnv(sim, robot_config=config, scene_reset=scene_reset)
        print(
            f"RealEnv: PickCube-v1, {args.control_mode}, obs_mode {args.obs_mode}, "
            f"{env.control_freq:.0f} Hz, robot '{args.robot}' via {env.agent.config.path.name}"
        )
        totals = []
        frames: list[np.ndarray] = []
        for episode in range(args.episodes):
            seed = args.seed + episode

            def progress(k: int, info: dict, ep: int = episode) -> None:
                if (k + 1) % 20 == 0:
                    ages = info["timing"].get("ages", {})
                    js = ages.get("joint_states", float("nan")) * 1e3
                    print(
                        f"  episode {ep} step {k + 1:3d}  joint_states age {js:5.1f} ms  "
                        f"tracking lag {info['safety']['tracking_lag'] * 1e3:5.1f} ms  "
                        f"overruns {info['timing']['overruns']}",
                        flush=True,
                    )

            pure, real, gap = parity(env, "PickCube-v1", seed, on_step=progress, frame_every=10)
            frames += real.frames
            totals.append((real, gap))
            robot_side = (
                real.grasped
                if "is_grasped" in env.agent.task_topics
                else "unknown (the robot config maps no topic to is_grasped)"
            )
            print(
                f"episode {episode} (seed {seed}): cube picked  "
                f"sim {pure.grasped}  robot {robot_side}"
            )
        report(totals, env.control_freq)
        if frames:
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / "contact_sheet.png"
            cv2.imwrite(str(path), cv2.cvtColor(contact_sheet(frames), cv2.COLOR_RGB2BGR))
            print(f"camera frames the policy saw: {path}")
        return 0
    finally:
        if env is not None:
            env.close()
        sim.close()
        if robot is not None:
            robot.stop()


def report(totals: list, control_freq: float) -> None:
    steps = sum(len(real.qpos) for real, _ in totals)
    wall = sum(real.wall_s for real, _ in totals)
    overruns = sum(real.overruns for real, _ in totals)
    print(f"\nsummary over {len(totals)} episodes, {steps} steps")
    print(f"  control rate     {steps / wall:.2f} Hz achieved (target {control_freq:.0f} Hz)")
    print(f"  step overruns    {overruns}")
    stats = totals[0][0].stats
    for real, _ in totals[1:]:
        for name, values in real.stats.series.items():
            stats.series[name] += values
    for name in sorted(stats.series):
        print(f"  {name:<24} {stats.summary(name)}")

    def mean(key: str) -> float:
        return float(np.mean([gap[key] for _, gap in totals]))

    def worst(key: str) -> float:
        return float(np.max([gap[key] for _, gap in totals]))

    print(
        f"  joint tracking   rms {mean('tracking_rms'):.4f} rad, "
        f"max {worst('tracking_max'):.4f} rad (target k vs qpos at k+1)"
    )
    print(
        f"  qpos gap to sim  rms {mean('qpos_rms_mean'):.4f} rad (mean per step), "
        f"max {worst('qpos_abs_max'):.4f} rad"
    )
    print(
        f"  TCP gap to sim   mean {mean('tcp_err_mean') * 1e3:.1f} mm, "
        f"max {worst('tcp_err_max') * 1e3:.1f} mm"
    )
