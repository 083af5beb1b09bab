"""The same action sequence two ways: pure ManiSkill, and RealEnv -> ROS -> robot.

What a sim-to-real user asks first is whether the robot moves as the simulator did for the same
actions. These functions record both rollouts and the numbers that answer it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from maniskill_real.core.clock import Stats
from maniskill_real.core.poses import pose_gap
from maniskill_real.env import sim_bridge

SIM_ROBOT_SCENE_RESET = "trigger:/sim_robot/reset_scene@/sim_robot/seed"
"""RealEnv's scene reset on sim_robot (run with reset_scene_service:=true): its ~/reset_scene
after the seed parameter, so the robot's world is the seed's."""


@contextmanager
def on_sim_robot(
    config: str | Path, mode: str, log: Path, latency_steps: int = 0, **robot_params: object
) -> Iterator[Any]:
    """A RealEnv on a PickCube-v1 state env in ``mode``, against sim_robot (its own process,
    scene resets through its service, ``robot_params`` as node parameters); both closed after."""
    import mani_skill.envs  # noqa: F401 - registers PickCube-v1

    from maniskill_real.env.real_env import RealEnv
    from maniskill_real.tools.processes import RobotProcess

    with RobotProcess(
        "sim_robot",
        log,
        robot_config=str(config),
        control_mode=mode,
        reset_scene_service=True,
        **robot_params,
    ):
        sim = gym.make(
            "PickCube-v1",
            obs_mode="state",
            control_mode=mode,
            reward_mode="sparse",
            sim_backend="physx_cpu",
        )
        env = RealEnv(
            sim,
            robot_config=config,
            scene_reset=SIM_ROBOT_SCENE_RESET,
            latency_steps=latency_steps,
        )
        try:
            yield env
        finally:
            env.close()
            sim.close()


@dataclass
class Rollout:
    qpos: list[np.ndarray] = field(default_factory=list)
    """Observed joint positions after each step (sim joint order)."""
    tcp: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    """Drive targets the controller computed at each step."""
    objects: list[dict[str, np.ndarray]] = field(default_factory=list)
    """Every non-static actor's pose after each step (RealEnv: the twin's, synced from the
    robot's pose sources where mapped)."""
    grasped: bool = False
    success: bool = False
    stats: Stats = field(default_factory=Stats)
    frames: list[np.ndarray] = field(default_factory=list)
    wall_s: float = 0.0
    overruns: int = 0


def _record(rollout: Rollout, base, info: dict) -> None:
    robot = base.agent.robot
    rollout.qpos.append(robot.get_qpos()[0].numpy().astype(np.float64))
    rollout.tcp.append(base.agent.tcp.pose.p[0].numpy().astype(np.float64))
    rollout.objects.append(sim_bridge.non_static_poses(base))
    rollout.grasped = bool(info.get("is_grasped", [False])[0])
    rollout.success = bool(info.get("success", [False])[0])


def pure_rollout(
    env_id: str,
    control_mode: str,
    seed: int,
    actions: Sequence[np.ndarray],
    wrap: Callable[[gym.Env], gym.Env] | None = None,
) -> Rollout:
    """Replay ``actions`` in a fresh pure-sim env (``wrap``ped, e.g. in a LatencyWrapper)."""
    env = gym.make(env_id, obs_mode="state", control_mode=control_mode, sim_backend="physx_cpu")
    if wrap is not None:
        env = wrap(env)
    try:
        env.reset(seed=seed)
        base = env.unwrapped
        out = Rollout()
        for action in actions:
            _, _, _, _, info = env.step(action)
            out.targets.append(base.agent.robot.get_drive_targets()[0].numpy().astype(np.float64))
            _record(out, base, info)
        return out
    finally:
        env.close()


def real_rollout(
    env,
    seed: int,
    actions: Sequence[np.ndarray],
    on_step: Callable[[int, dict], None] | None = None,
    frame_every: int = 0,
) -> Rollout:
    """Reset ``env`` (a RealEnv) with ``seed`` and replay ``actions``, recording what the
    policy observed through ROS, input ages and overruns."""
    base = env.twin
    out = Rollout()
    obs, info = env.reset(seed=seed)
    start = time.monotonic()
    for k, action in enumerate(actions):
        obs, _, _, _, info = env.step(action)
        out.targets.append(base.agent.robot.get_drive_targets()[0].numpy().astype(np.float64))
        _record(out, base, info)
        for name, age in info["timing"].get("ages", {}).items():
            out.stats.add(f"age/{name}", age)
        if frame_every and k % frame_every == 0 and isinstance(obs, dict) and "sensor_data" in obs:
            for cam in obs["sensor_data"].values():
                if "rgb" in cam:
                    out.frames.append(np.asarray(cam["rgb"][0]))
        if on_step:
            on_step(k, info)
    out.wall_s = time.monotonic() - start
    out.overruns = int(info["timing"]["overruns"])
    return out


def compare(pure: Rollout, real: Rollout) -> dict[str, float]:
    """Per-step gaps between the two rollouts, and joint tracking on the real side."""
    dq = np.array(real.qpos) - np.array(pure.qpos)
    rms_per_step = np.sqrt(np.mean(dq**2, axis=1))
    tcp = np.linalg.norm(np.array(real.tcp) - np.array(pure.tcp), axis=1)
    # Tracking: the target sent at step k against the position observed one step later.
    tracking = np.abs(np.array(real.qpos[1:]) - np.array(real.targets[:-1]))
    gaps = {}
    for name in real.objects[0] if real.objects else []:
        p = [pose_gap(r[name], s[name]) for r, s in zip(real.objects, pure.objects, strict=True)]
        dist, angle = np.array(p).T
        gaps |= {
            f"{name}_err_mean": float(dist.mean()),
            f"{name}_err_max": float(dist.max()),
            f"{name}_angle_max": float(angle.max()),
        }
    return gaps | {
        "qpos_rms_mean": float(rms_per_step.mean()),
        "qpos_rms_max": float(rms_per_step.max()),
        "qpos_abs_max": float(np.abs(dq).max()),
        "tcp_err_mean": float(tcp.mean()),
        "tcp_err_max": float(tcp.max()),
        "tracking_rms": float(np.sqrt(np.mean(tracking**2))),
        "tracking_max": float(tracking.max()),
    }


def parity(
    env,
    env_id: str,
    seed: int,
    wrap: Callable[[gym.Env], gym.Env] | None = None,
    **real_kwargs: Any,
) -> tuple[Rollout, Rollout, dict[str, float]]:
    """The scripted grasp for ``seed`` through pure ManiSkill (``wrap``ped) and through ``env``
    (a RealEnv in the same control mode): (pure, real, compare(pure, real))."""
    from maniskill_real.tools.scripted import scripted_actions

    mode = env.twin.agent.control_mode
    actions, _ = scripted_actions(env_id, mode, seed)
    pure = pure_rollout(env_id, mode, seed, actions, wrap)
    real = real_rollout(env, seed, actions, **real_kwargs)
    return pure, real, compare(pure, real)


def contact_sheet(frames: Sequence[np.ndarray], columns: int = 8) -> np.ndarray:
    """Tile RGB frames into one image (rows of ``columns``), for a person to look at."""
    h, w, _ = frames[0].shape
    rows = -(-len(frames) // columns)
    sheet = np.zeros((rows * h, columns * w, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, columns)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = frame
    return sheet
