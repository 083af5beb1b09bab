"""``maniskill-real camera-check``: is each real camera aligned with the sim camera?

For every camera of the sim env it prints the real and sim intrinsics and fields of view, and
writes an overlay: the sim render (robot posed at the real joint positions) blended over the
real frame aligned to the sim camera. A person sees misalignment at a glance. With
``--publish`` the overlays are also published as ``/maniskill_real/overlay/<camera>`` Images.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

from maniskill_real.env import sim_bridge

SUMMARY = "real vs sim intrinsics and FOV per camera, and sim-over-real overlay images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--robot-config", default="panda", help="robot config path or shipped name")
    p.add_argument("--env-id", default="PickCube-v1")
    p.add_argument("--seed", type=int, default=0, help="sim scene seed for the render")
    p.add_argument("--out", type=Path, default=Path("outputs/camera_check"))
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the sim render")
    p.add_argument(
        "--publish",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also publish the overlays as Image topics for this long",
    )


def describe(name: str, aligner) -> str:
    real, sim = aligner.real, aligner.sim

    def fov(intr) -> str:
        return f"{math.degrees(intr.fov_x):5.1f} x {math.degrees(intr.fov_y):5.1f} deg"

    def k(intr) -> str:
        K = intr.K
        return f"fx {K[0, 0]:.1f} fy {K[1, 1]:.1f} cx {K[0, 2]:.1f} cy {K[1, 2]:.1f}"

    lines = [
        f"camera {name} ({aligner.mode})",
        f"  real  {real.width}x{real.height}  {k(real)}  FOV {fov(real)}"
        + (
            f"  {real.distortion_model} D={np.round(real.D, 4).tolist()}"
            if real.has_distortion
            else ""
        ),
        f"  sim   {sim.width}x{sim.height}  {k(sim)}  FOV {fov(sim)}",
        "  the sim view is inside the real one; aligned K = sim K"
        if aligner.mode == "intrinsics"
        else "  center crop: aligned K differs from the sim K",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import cv2
    import gymnasium as gym
    import mani_skill.envs  # noqa: F401 - registers the envs
    from sensor_msgs.msg import Image

    from maniskill_real.ros.agent import ROS2Agent
    from maniskill_real.ros.image import numpy_to_image

    sim = gym.make(args.env_id, obs_mode="rgb", sim_backend="physx_cpu")
    base = sim.unwrapped
    agent = ROS2Agent(args.robot_config, node_name="camera_check")
    try:
        agent.bind(base, {name: (True, False) for name in sim_bridge.sensor_configs(base)})
        agent.start()
        base.reset(seed=args.seed)
        agent.wait_for_inputs()
        snapshot = agent.sample()
        base.agent.robot.set_qpos(agent.get_qpos())  # pose the sim robot as the real one
        rendered = sim_bridge.render_sensor_data(base)
        args.out.mkdir(parents=True, exist_ok=True)
        overlays = {}
        for name, aligner in agent.camera_aligners().items():
            print(describe(name, aligner))
            real = snapshot.sensor_data[name]["rgb"][0].numpy()
            render = rendered[name]["rgb"][0].numpy()
            overlay = cv2.addWeighted(render, args.alpha, real, 1.0 - args.alpha, 0.0)
            side = np.concatenate([real, render, overlay], axis=1)
            path = args.out / f"{name}_overlay.png"
            cv2.imwrite(str(path), cv2.cvtColor(side, cv2.COLOR_RGB2BGR))
            print(f"  aligned real | sim render | overlay: {path}")
            overlays[name] = overlay
        if args.publish > 0:
            pubs = {n: agent.ros.publisher(Image, f"/maniskill_real/overlay/{n}") for n in overlays}
            end = time.monotonic() + args.publish
            while time.monotonic() < end:
                for name, overlay in overlays.items():
                    pubs[name].publish(numpy_to_image(overlay, "rgb8"))
                time.sleep(0.1)
        return 0
    finally:
        agent.stop()
        sim.close()
