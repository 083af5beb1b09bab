"""LatencyWrapper: the robot's command and observation latency on a ManiSkill env (PickCube,
physx_cpu, one env). Expected values come from the actions themselves (pd_joint_pos: the arm's
targets are the action) or from an unwrapped copy of the same env, never from the wrapper."""

from __future__ import annotations

import gymnasium as gym
import mani_skill.envs  # noqa: F401 - registers PickCube-v1
import numpy as np
import pytest
import torch

from maniskill_real.sim.latency import LatencyWrapper

ARM = 7
DELTA_SCALE = 0.1  # rad per unit action: the panda's pd_joint_delta_pos limits (+-0.1)


def make(mode: str = "pd_joint_pos") -> gym.Env:
    return gym.make("PickCube-v1", obs_mode="state", control_mode=mode, sim_backend="physx_cpu")


def arm_actions(env: gym.Env, n: int, seed: int = 3) -> list[np.ndarray]:
    """Absolute arm targets near the reset pose (pd_joint_pos), the gripper open."""
    rng = np.random.default_rng(seed)
    rest = env.unwrapped.agent.robot.get_qpos()[0, :ARM].numpy()
    out = []
    for _ in range(n):
        a = np.zeros(env.action_space.shape, dtype=np.float32)
        a[:ARM] = rest + rng.uniform(-0.15, 0.15, ARM)
        a[ARM] = 1.0
        out.append(a)
    return out


def applied_arm_targets(env: gym.Env) -> np.ndarray:
    """The arm drive targets in force during the step just taken."""
    return env.unwrapped.agent.robot.get_drive_targets()[0, :ARM].numpy().copy()


def qpos(env: gym.Env) -> np.ndarray:
    return env.unwrapped.agent.robot.get_qpos()[0].numpy().copy()


def check_applied(env: gym.Env, actions: list[np.ndarray], d: int, first: np.ndarray) -> None:
    """Step through ``actions``: during step k the arm's drive targets are action k-d
    (pd_joint_pos), ``first`` before any."""
    for k, action in enumerate(actions):
        env.step(action)
        expected = first[:ARM] if k < d else actions[k - d][:ARM]
        np.testing.assert_allclose(applied_arm_targets(env), expected, atol=1e-6, err_msg=str(k))


@pytest.fixture
def envs():
    made: list[gym.Env] = []

    def new(mode: str = "pd_joint_pos") -> gym.Env:
        env = make(mode)
        made.append(env)
        return env

    yield new
    for env in made:
        env.close()


@pytest.mark.parametrize("delay", ["command", "action"])
def test_each_command_drives_the_robot_d_steps_later(envs, delay: str) -> None:
    """pd_joint_pos, d=2: during step k the arm's drive targets are action k-2; during the
    first two steps (no command yet) the robot holds the qpos the reset left."""
    env = LatencyWrapper(envs(), latency_steps=2, delay=delay)
    env.reset(seed=0)
    check_applied(env, arm_actions(env, 8), 2, qpos(env))


def test_zero_latency_is_the_plain_env(envs) -> None:
    """d=0, no observation delay: the same observations as the unwrapped env, step by step."""
    plain, wrapped = envs(), LatencyWrapper(envs(), latency_steps=0)
    actions = arm_actions(plain, 6)
    a, _ = plain.reset(seed=1)
    b, _ = wrapped.reset(seed=1)
    torch.testing.assert_close(a, b)
    for action in actions:
        torch.testing.assert_close(plain.step(action)[0], wrapped.step(action)[0])


def test_command_delay_runs_the_controller_on_the_state_it_acted_on(envs) -> None:
    """pd_joint_delta_pos, d=1, delay="command": the targets in force during step k are
    qpos(tick k-1) + 0.1 * action k-1 (RealEnv's controller runs on the reading the action
    was computed from), not the state at tick k plus the delta."""
    env = LatencyWrapper(envs("pd_joint_delta_pos"), latency_steps=1)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    before = qpos(env)
    previous = None
    for k in range(6):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        env.step(action)
        if previous is not None:
            q, a = previous
            expected = q[:ARM] + DELTA_SCALE * a[:ARM]
            np.testing.assert_allclose(applied_arm_targets(env), expected, atol=1e-5, err_msg=k)
        previous = (before, action)
        before = qpos(env)


def test_reset_clears_the_queues(envs) -> None:
    """Commands and observations of the last episode never reach the next one: after
    reset() the first d steps hold the new reset qpos and the first observations are the
    reset's."""
    env = LatencyWrapper(envs(), latency_steps=2, obs_latency_steps=1)
    env.reset(seed=0)
    for action in arm_actions(env, 5):
        env.step(action)
    obs0, _ = env.reset(seed=1)
    reset_qpos = qpos(env)
    for k, action in enumerate(arm_actions(env, 2, seed=9)):
        obs = env.step(action)[0]
        np.testing.assert_allclose(applied_arm_targets(env), reset_qpos[:ARM], atol=1e-6)
        if k == 0:
            torch.testing.assert_close(obs, obs0)


@pytest.mark.parametrize("delay", ["command", "action"])
def test_initial_action_repeats_for_the_first_d_steps(envs, delay: str) -> None:
    """initial_action: the first d control periods apply it (pd_joint_pos: its targets)."""
    probe = make()
    initial = arm_actions(probe, 1, seed=11)[0]
    probe.close()
    env = LatencyWrapper(envs(), latency_steps=3, delay=delay, initial_action=initial)
    env.reset(seed=0)
    check_applied(env, arm_actions(env, 5), 3, initial)


def test_observation_latency_returns_older_observations(envs) -> None:
    """obs_latency_steps=2: step k returns what the same rollout observed two steps earlier
    (the reset's observation first); reward and info stay the current tick's."""
    now, late = LatencyWrapper(envs(), 1), LatencyWrapper(envs(), 1, obs_latency_steps=2)
    actions = arm_actions(now, 6)
    seen = [now.reset(seed=2)[0]]
    first, _ = late.reset(seed=2)
    torch.testing.assert_close(first, seen[0])
    for k, action in enumerate(actions):
        obs, reward, _, _, info = now.step(action)
        seen.append(obs)
        obs_late, reward_late, _, _, info_late = late.step(action)
        torch.testing.assert_close(obs_late, seen[max(0, k + 1 - 2)], msg=str(k))
        torch.testing.assert_close(reward_late, reward)
        assert int(info_late["elapsed_steps"][0]) == int(info["elapsed_steps"][0]) == k + 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_steps": -1},
        {"latency_steps": 1.5},
        {"latency_steps": True},
        {"latency_steps": 1, "obs_latency_steps": -2},
        {"latency_steps": 1, "delay": "x"},
    ],
)
def test_bad_settings_raise(envs, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        LatencyWrapper(envs(), **kwargs)
