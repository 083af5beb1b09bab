"""RealEnv: a ManiSkill sim env's spaces, controller and observation code, on a real robot.

The sim env is the spec. Actions go through the sim env's own controller, running on a sim
twin of the robot whose joints are synced to the real readings; the drive targets it computes
are what the robot receives. Observations come from the sim env class's own observation code,
called on this object, so ``self.agent`` is the real agent (real qpos/qvel, real frames) and
anything else (kinematics, goal sites) falls through to the synced sim twin.

Timing of ``step``: publish the command at tick k, wait for tick k+1 of the control frequency
(absolute deadlines, no drift), then sample every input. That is the sim's order (act, let
physics run for one control period, observe); Sim2RealEnv's sleep-then-send lags a step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from mani_skill.agents.base_real_agent import BaseRealAgent
from mani_skill.agents.controllers.pd_ee_pose import PDEEPosController
from mani_skill.agents.controllers.pd_joint_pos import PDJointPosController
from mani_skill.agents.controllers.pd_joint_vel import PDJointVelController
from mani_skill.envs.sapien_env import BaseEnv
from mani_skill.utils import common

from maniskill_real.agent import ROS2Agent
from maniskill_real.align.timing import TickClock
from maniskill_real.config import RobotConfig
from maniskill_real.errors import ActionError, RealEnvError
from maniskill_real.scene_reset import SceneReset, make_scene_reset

SUPPORTED_MODES = (
    "pd_joint_pos",
    "pd_joint_delta_pos",
    "pd_joint_target_delta_pos",
    "pd_joint_vel",
    "pd_ee_delta_pos",
    "pd_ee_delta_pose",
    "pd_ee_pose",
    "pd_ee_target_delta_pos",
    "pd_ee_target_delta_pose",
)
# Controllers whose one output per control step is a drive target (no interpolation, no
# position+velocity pairs a forward command controller can't carry).
POSITION_CONTROLLERS = (PDJointPosController, PDEEPosController)
VELOCITY_CONTROLLERS = (PDJointVelController,)


def check_control_mode(sim_env: BaseEnv, config: RobotConfig | None) -> tuple[bool, bool]:
    """Refuse control modes whose targets the real side can't reproduce exactly.

    Returns whether the mode sets position targets and whether it sets velocity targets.
    """
    agent = sim_env.agent
    mode = agent.control_mode
    controllers = getattr(agent.controller, "controllers", {"all": agent.controller})
    problem = None
    if mode not in SUPPORTED_MODES:
        problem = "it is not supported"
    for part, sub in controllers.items():
        interface = (
            config.controllers[part].interface if config and part in config.controllers else None
        )
        if getattr(sub.config, "interpolate", False):
            problem = f"part '{part}' interpolates targets between sim steps"
        elif isinstance(sub, VELOCITY_CONTROLLERS):
            if interface not in (None, "velocity"):
                problem = f"part '{part}' sets velocities but its controller takes {interface}"
        elif isinstance(sub, POSITION_CONTROLLERS):
            if interface not in (None, "position"):
                problem = f"part '{part}' sets positions but its controller takes {interface}"
        else:
            problem = f"part '{part}' uses {type(sub).__name__}"
    if problem:
        raise ValueError(
            f"control mode '{mode}' can't run on the real robot: {problem}. "
            f"Supported modes: {', '.join(SUPPORTED_MODES)}"
        )
    subs = controllers.values()
    return (
        any(isinstance(s, POSITION_CONTROLLERS) for s in subs),
        any(isinstance(s, VELOCITY_CONTROLLERS) for s in subs),
    )


class RealEnv(gym.Env):
    """A Gymnasium env on a real robot, with the action/observation spaces of ``sim_env``.

    Args:
        sim_env: the ManiSkill env the policy was trained on (physx_cpu, one env), with any
            wrappers already applied; they run on real data too.
        agent: the robot side. Default: ``ROS2Agent`` built from ``robot_config``.
        agent_cls: a ``BaseRealAgent`` subclass, built as ``agent_cls(robot_config)``.
        robot_config: a config path or shipped name; default: the sim robot's uid.
        scene_reset: after the robot reached its reset pose: ``"auto"`` (prompt the operator
            when a terminal is attached, else continue), ``"prompt"``, ``"none"``,
            ``"trigger:<service>"`` (a std_srvs/Trigger), or a callable ``(env, seed, options)``.
        control_freq: defaults to the sim env's.
    """

    metadata = {"render_modes": ["rgb_array", "sensors", "all"]}

    def __init__(
        self,
        sim_env: gym.Env,
        agent: BaseRealAgent | None = None,
        agent_cls: type[BaseRealAgent] | None = None,
        robot_config: RobotConfig | str | Path | None = None,
        scene_reset: str | SceneReset = "auto",
        control_freq: float | None = None,
    ) -> None:
        base: BaseEnv = sim_env.unwrapped
        if base.backend.sim_backend != "physx_cpu" or base.num_envs != 1:
            raise ValueError(
                "RealEnv needs a sim env with sim_backend='physx_cpu' and num_envs=1, got "
                f"{base.backend.sim_backend} with {base.num_envs} envs"
            )
        if base.reward_mode not in ("sparse", "none"):
            raise ValueError(
                f"reward_mode '{base.reward_mode}' needs object states a real robot doesn't "
                "observe; make the sim env with reward_mode='sparse' or 'none'"
            )
        self.sim_env = sim_env
        self.base_sim_env = base
        self.action_space = sim_env.action_space
        self.observation_space = sim_env.observation_space
        self.num_envs = 1
        self.device = base.device
        self.control_freq = float(control_freq or base.control_freq)
        self.control_dt = 1.0 / self.control_freq
        self.obs_mode = base.obs_mode
        self.reward_mode = base.reward_mode
        self.obs_mode_struct = base.obs_mode_struct
        self.render_mode = base.render_mode
        self._elapsed_steps = torch.zeros(1, dtype=torch.int32)

        if agent is None:
            config = robot_config if robot_config is not None else base.agent.uid
            agent = (agent_cls or ROS2Agent)(config)
        self.agent = agent
        self._sets_qpos, self._sets_qvel = check_control_mode(base, getattr(agent, "config", None))
        if isinstance(agent, ROS2Agent):
            agent.bind(base)
            agent.command_horizon = self.control_dt
        else:
            agent._sim_agent = base.agent
        self.scene_reset = make_scene_reset(scene_reset)
        self.clock = TickClock(self.control_dt)
        self._reset_done = False
        self._closed = False

        self._wrappers: list[gym.Wrapper] = []
        env = sim_env
        while isinstance(env, gym.Wrapper):
            self._wrappers.append(env)
            env = env.env
        self._core = _RealCore(self)
        agent.start()  # subscribes and advertises; never commands the robot

    # -- gym API: runs the user's wrapper chain on real step/reset -----------------------
    def _through_wrappers(self, call: Callable[[gym.Env], Any]) -> Any:
        if not self._wrappers:
            return call(self._core)
        innermost = self._wrappers[-1]
        original = innermost.env
        innermost.env = self._core
        try:
            return call(self._wrappers[0])
        finally:
            innermost.env = original

    def step(self, action: Any):
        return self._through_wrappers(lambda env: env.step(action))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        return self._through_wrappers(lambda env: env.reset(seed=seed, options=options))

    def close(self) -> None:
        """Leave the robot holding its position and leave the ROS graph."""
        if not self._closed:
            self._closed = True
            self.agent.stop()

    # -- the real step and reset --------------------------------------------------------
    def _check_action(self, action: Any) -> torch.Tensor:
        if isinstance(action, dict):
            raise ActionError("dict actions (control-mode switches) are not supported on robots")
        single = self.base_sim_env._orig_single_action_space
        tensor = common.to_tensor(action, device=self.device)
        if tensor.shape == single.shape:
            tensor = tensor.unsqueeze(0)
        if tuple(tensor.shape) != (1, *single.shape):
            raise ActionError(
                f"action shape {tuple(common.to_tensor(action).shape)} doesn't match the action "
                f"space {single.shape} (or batched (1, *{single.shape}))"
            )
        if not torch.isfinite(tensor).all():
            raise ActionError(f"action has non-finite values {tensor.tolist()}; nothing was sent")
        return tensor

    def _real_step(self, action: Any):
        if not self._reset_done:
            raise RealEnvError("call reset() before step()")
        action = self._check_action(action)
        self._sync_twin()
        action = self._step_action(action)
        self._elapsed_steps += 1
        overran, late = self.clock.wait_next()
        self._sample()
        info = self.get_info()
        info["timing"] = {**info["timing"], "overran": overran, "late_s": late}
        obs = self.get_obs(info, unflattened=True)
        reward = self.get_reward(obs=obs, action=action, info=info)
        obs = self._flatten_raw_obs(obs)
        terminated = torch.zeros(1, dtype=torch.bool)
        for key in ("success", "fail"):
            if key in info:
                terminated = terminated | torch.as_tensor(info[key]).bool().reshape(1)
        return obs, reward, terminated, torch.zeros(1, dtype=torch.bool), info

    def _step_action(self, action: torch.Tensor) -> torch.Tensor:
        """Run the sim controller on the twin and send the drive targets it computes."""
        sim_agent = self.base_sim_env.agent
        sim_agent.set_action(action)
        robot = sim_agent.robot
        if self._sets_qpos:
            self.agent.set_target_qpos(robot.get_drive_targets()[0])
        if self._sets_qvel:
            self.agent.set_target_qvel(robot.get_drive_velocities()[0])
        return action

    def _real_reset(self, seed: int | None, options: dict | None):
        """Sim reset (samples the initial qpos), robot to it, scene reset, first observation."""
        base = self.base_sim_env
        base.reset(seed=seed, options=options)
        self.agent.reset(base.agent.robot.get_qpos()[0])  # ROS2Agent waits for inputs first
        self.scene_reset(self, seed, options)
        self._elapsed_steps[:] = 0
        self._sample()
        base.agent.controller.reset()
        self.clock.restart()
        self._reset_done = True
        info = self.get_info()
        return self.get_obs(info), {**info, "reconfigure": False}

    def _sample(self) -> None:
        """Read every input at this tick, and sync the twin's joints to the readings."""
        if isinstance(self.agent, ROS2Agent):
            self.agent.sample()
        self._sync_twin()

    def _sync_twin(self) -> None:
        robot = self.base_sim_env.agent.robot
        robot.set_qpos(self.agent.get_qpos())
        try:
            robot.set_qvel(self.agent.get_qvel())
        except NotImplementedError:
            pass

    # -- the sim env's own observation, info and reward code, run on real readings ------
    def _sim(self, name: str) -> Callable[..., Any]:
        return getattr(type(self.base_sim_env), name).__get__(self)

    @property
    def elapsed_steps(self) -> torch.Tensor:
        return self._elapsed_steps

    def get_obs(self, info: dict | None = None, unflattened: bool = False):
        return self._sim("get_obs")(info, unflattened)

    def _flatten_raw_obs(self, obs: Any):
        return self._sim("_flatten_raw_obs")(obs)

    def _get_obs_state_dict(self, info: dict):
        return self._sim("_get_obs_state_dict")(info)

    def _get_obs_agent(self):
        return self._sim("_get_obs_agent")()

    def _get_obs_extra(self, info: dict):
        return self._sim("_get_obs_extra")(info)

    def _get_obs_with_sensor_data(self, info: dict, apply_texture_transforms: bool = True):
        return self._sim("_get_obs_with_sensor_data")(info, apply_texture_transforms)

    def _get_obs_sensor_data(self, apply_texture_transforms: bool = True) -> dict:
        return self.agent.get_sensor_data()

    def get_sensor_params(self) -> dict:
        return self.agent.get_sensor_params()

    def evaluate(self) -> dict:
        """The sim's evaluate() on the twin (real robot joints, the sim's belief about objects),
        overridden by every task state the robot config maps to a real topic."""
        info = self._sim("evaluate")()
        if isinstance(self.agent, ROS2Agent):
            for key, value in self.agent.task_state().items():
                info[key] = torch.tensor([value])
        return info

    def get_info(self) -> dict:
        info = {"elapsed_steps": self._elapsed_steps.clone(), **self.evaluate()}
        snapshot = getattr(self.agent, "snapshot", None)
        timing: dict[str, Any] = {"overruns": self.clock.overruns, "ticks": self.clock.ticks}
        if snapshot is not None:
            timing["ages"] = dict(snapshot.ages)
            js = snapshot.stamps_ns["joint_states"]
            timing["skew"] = {k: (v - js) * 1e-9 for k, v in snapshot.stamps_ns.items()}
        info["timing"] = timing
        return info

    def get_reward(self, obs: Any, action: Any, info: dict):
        if self.reward_mode == "none":
            return torch.zeros(1)
        return self._sim("compute_sparse_reward")(obs=obs, action=action, info=info)

    def render(self):
        return self._sim("render")()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes RealEnv lacks: task objects, goal sites, sensor configs.
        if name.startswith("__") or name in ("base_sim_env", "sim_env", "agent"):
            raise AttributeError(name)
        return getattr(self.base_sim_env, name)


class _RealCore(gym.Env):
    """What the innermost user wrapper sees in place of the sim env while RealEnv runs."""

    def __init__(self, env: RealEnv) -> None:
        self._env = env
        self.action_space = env.action_space
        self.observation_space = env.observation_space

    def step(self, action: Any):
        return self._env._real_step(action)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        return self._env._real_reset(seed, options)

    @property
    def unwrapped(self) -> RealEnv:  # type: ignore[override]
        return self._env

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_env":
            raise AttributeError(name)
        return getattr(self._env, name)
