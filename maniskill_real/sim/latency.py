"""The robot's timing in the simulator: a ManiSkill wrapper that delays commands and observations.

RealEnv with ``latency_steps`` d releases the command computed from the observation of tick k at
tick k + d; a sensor pipeline may add its own age. ``LatencyWrapper`` gives a ManiSkill env the
same timing, so a policy can be trained or evaluated in sim under what was measured on the
robot (``info["timing"]`` of RealEnv: ``release_due_s`` - ``tick_s``, the inputs' ``ages``).

ManiSkill's public API only: ``agent.set_action``, the robot's drive targets, and
``BaseEnv.step(None)`` (physics for one control period, the controller untouched).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch
from mani_skill.envs.sapien_env import BaseEnv
from mani_skill.utils import common

from maniskill_real.config import checked_count

DELAYS = ("command", "action")


@dataclass(frozen=True)
class _Targets:
    """Drive targets of the robot's active joints, batched: what a command is on the wire."""

    qpos: torch.Tensor
    qvel: torch.Tensor


def _clone(tree: Any) -> Any:
    """A copy of an observation (tensors may share memory with buffers the sim reuses)."""
    if isinstance(tree, dict):
        return {k: _clone(v) for k, v in tree.items()}
    return tree.clone() if isinstance(tree, torch.Tensor) else tree


class LatencyWrapper(gym.Wrapper):
    """Delays what the policy commands by ``latency_steps`` control steps and what it observes
    by ``obs_latency_steps`` more.

    Args:
        env: a ManiSkill env (any wrappers; ``env.unwrapped`` is a ``BaseEnv``).
        latency_steps: d. Step k's command drives the robot during control period
            (k+d, k+d+1]: the observation step k returns (the state at tick k+1) has seen the
            commands of steps up to k-d, as RealEnv's with the same ``latency_steps``.
        obs_latency_steps: e, extra age of the observation: step k returns the observation of
            tick k+1-e (the reset's for the first e steps). Reward, terminated, truncated and
            info stay those of tick k+1 (the task's truth, not what the policy sees).
        delay: ``"command"`` (default): the controller runs when the policy acts, on the state
            of that tick, and its drive targets reach the robot d steps later; what RealEnv
            does (its controller runs on the twin, synced to the reading the action was
            computed from). ``"action"``: the action itself reaches the controller d steps
            later, which then runs on the state of that later tick (a controller on the robot
            side, behind the transport). The two differ for delta and end-effector modes.
        initial_action: what drives the robot during the first d control periods, when no
            command of this episode has arrived yet. None (default): hold, the drive targets
            at the qpos the reset left and zero velocity targets: what a real robot does that
            has received nothing since its reset move (RealEnv releases nothing before tick d).
            An action (unbatched or batched): in ``"action"`` mode, that action, each period;
            in ``"command"`` mode, the targets the controller computes for it from the reset
            state (the controller is reset again afterwards), each period.

    ``reset()`` clears both queues. ``delay="command"`` needs the CPU sim (physx_cpu, one
    env); ``"action"`` takes any ``num_envs`` but only whole resets. In ``"command"`` mode the
    inner env steps with ``None`` (ManiSkill: physics without a new action), so a reward that
    reads the action gets None, and controllers that interpolate within a control period
    (``interpolate=True``) are refused.
    """

    def __init__(
        self,
        env: gym.Env,
        latency_steps: int,
        obs_latency_steps: int = 0,
        delay: str = "command",
        initial_action: Any = None,
    ) -> None:
        super().__init__(env)
        base = env.unwrapped
        if not isinstance(base, BaseEnv):
            raise TypeError(f"LatencyWrapper wraps a ManiSkill env, got {type(base).__name__}")
        if delay not in DELAYS:
            raise ValueError(f"delay: expected one of {DELAYS}, got {delay!r}")
        try:
            self.latency_steps = checked_count(latency_steps)
            self.obs_latency_steps = checked_count(obs_latency_steps)
        except ValueError as e:
            raise ValueError(f"latency_steps/obs_latency_steps: {e}") from None
        self.delay = delay
        self.base: BaseEnv = base
        if delay == "command":
            if base.gpu_sim_enabled or base.num_envs != 1:
                raise ValueError(
                    "delay='command' sets drive targets on the CPU sim (physx_cpu, num_envs=1); "
                    "use delay='action' for batched GPU envs"
                )
            interpolating = [
                name
                for name, ctrl in _controllers(base.agent.controller).items()
                if getattr(ctrl.config, "interpolate", False)
            ]
            if interpolating:
                raise ValueError(
                    f"delay='command': controller(s) {interpolating} interpolate within a "
                    "control period, which drive targets set from outside would not follow"
                )
        self.initial_action = None if initial_action is None else self._batched(initial_action)
        self._commands: deque[_Targets | torch.Tensor] = deque()
        self._obs: deque[Any] = deque(maxlen=self.obs_latency_steps + 1)

    # -- gym API ----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if options and options.get("env_idx") is not None and self.base.num_envs > 1:
            raise NotImplementedError("LatencyWrapper: partial resets (options['env_idx'])")
        obs, info = self.env.reset(seed=seed, options=options)
        first: _Targets | torch.Tensor
        if self.initial_action is None:
            robot = self.base.agent.robot
            qpos = robot.get_qpos().clone()
            first = _Targets(qpos, torch.zeros_like(qpos))
        elif self.delay == "action":
            first = self.initial_action
        else:
            first = self._command(self.initial_action)
            self.base.agent.controller.reset()  # as after the reset: the action was never run
        self._commands.clear()
        self._commands.extend([first] * self.latency_steps)
        self._obs.clear()
        self._obs.extend([_clone(obs) if self.obs_latency_steps else obs] * (self._obs.maxlen))
        return obs, info

    def step(self, action: Any):
        if self.latency_steps == 0:
            out = self.env.step(action)
        else:
            action = self._batched(action)
            self._commands.append(self._command(action) if self.delay == "command" else action)
            due = self._commands.popleft()
            if isinstance(due, _Targets):
                robot = self.base.agent.robot
                robot.set_joint_drive_targets(due.qpos, robot.active_joints)
                robot.set_joint_drive_velocity_targets(due.qvel, robot.active_joints)
                out = self.env.step(None)
            else:
                out = self.env.step(due)
        obs, reward, terminated, truncated, info = out
        if self.obs_latency_steps:
            self._obs.append(_clone(obs))
            obs = self._obs[0]
        return obs, reward, terminated, truncated, info

    # -- helpers ----------------------------------------------------------------------------
    def _batched(self, action: Any) -> torch.Tensor:
        tensor = common.to_tensor(action, device=self.base.device)
        if tensor.shape == self.base.single_action_space.shape:
            tensor = tensor.unsqueeze(0)
        return tensor

    def _command(self, action: torch.Tensor) -> _Targets:
        """The drive targets the controller computes for ``action`` from the state now."""
        agent = self.base.agent
        agent.set_action(action)
        robot = agent.robot
        return _Targets(robot.get_drive_targets().clone(), robot.get_drive_velocities().clone())


def _controllers(controller: Any) -> dict[str, Any]:
    """A combined controller's parts by name (a single controller as itself)."""
    parts = getattr(controller, "controllers", None)
    return dict(parts) if isinstance(parts, dict) else {"controller": controller}
