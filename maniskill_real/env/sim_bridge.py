"""The one door to ManiSkill internals: everything RealEnv borrows from the sim env.

RealEnv runs the sim env class's own observation, info and reward code on real readings. That
code is written against ``BaseEnv``, so this module supplies what it reads: the borrowed
methods, an explicit allowlist of attributes read from the *sim twin* (the policy's sim env,
whose robot joints RealEnv syncs to the real readings), the swap of the user's wrapper chain
onto the real env, rendering from the robot's cameras, and the control-mode check.

Every ManiSkill internal the package uses (an underscore name, a protected hook, a borrowed
unbound method) is listed in ``INTERNALS`` with the ManiSkill version it was checked on;
test/test_sim_bridge.py pins each one against the installed ManiSkill, so an upgrade fails in
CI, not on a robot. Nothing else in the package touches ManiSkill underscore names.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import cv2
import gymnasium as gym
import numpy as np
import torch
from mani_skill.agents.controllers.pd_joint_pos import PDJointPosMimicController
from mani_skill.envs.sapien_env import BaseEnv
from mani_skill.utils.structs.pose import Pose
from mani_skill.utils.visualization.misc import tile_images

from maniskill_real.errors import ConfigError, ControlModeError, RenderModeError

if TYPE_CHECKING:
    from mani_skill.agents.base_agent import BaseAgent
    from mani_skill.utils.structs import Actor, Articulation

    from maniskill_real.config import RobotConfig

MANISKILL_CHECKED = "3.0.1"

# (owner, name, why): every ManiSkill internal the package relies on. Owners: BaseEnv (class or
# instance), BaseAgent (instance), Articulation (instance), BaseRealAgent (instance).
INTERNALS: tuple[tuple[str, str, str], ...] = (
    ("BaseEnv", "_orig_single_action_space", "the un-batched action space RealEnv validates"),
    ("BaseEnv", "_get_obs_agent", "borrowed: the agent part of the observation"),
    ("BaseEnv", "_get_obs_extra", "borrowed: the task's extra observation; object/grasp probes"),
    ("BaseEnv", "_get_obs_state_dict", "borrowed: state observations"),
    ("BaseEnv", "_get_obs_with_sensor_data", "borrowed: visual observations"),
    ("BaseEnv", "_get_obs_sensor_data", "overridden with real frames; the sim's for camera-check"),
    ("BaseEnv", "_flatten_raw_obs", "borrowed: flattening as the sim does"),
    ("BaseEnv", "_sensor_configs", "the sim cameras RealEnv aligns real cameras to"),
    ("BaseEnv", "_hidden_objects", "objects sim_robot hides from its cameras (goal markers)"),
    ("BaseEnv", "_episode_seed", "read by RecordEpisode through RealEnv (the twin's seed)"),
    ("BaseEnv", "_before_control_step", "sim_robot steps BaseEnv's hooks without its controller"),
    ("BaseEnv", "_after_control_step", "likewise"),
    ("BaseEnv", "_before_simulation_step", "likewise"),
    ("BaseEnv", "_after_simulation_step", "likewise"),
    ("BaseAgent", "_controller_configs", "the scripted demo's IK for pd_joint_delta_pos"),
    (
        "Articulation",
        "_objs",
        "the PhysX articulation (numpy API, microseconds/call): sim_robot, the TCP's kinematics",
    ),
    ("BaseRealAgent", "_sim_agent", "real agents fall through to the twin's agent"),
)

# BaseEnv attributes whose twin value is right on a robot (or is the twin's, by name), read by
# the sim env's own code, ManiSkill's wrappers (RecordEpisode, FlattenRGBDObservationWrapper) or
# gymnasium. Any other BaseEnv attribute raises instead of silently answering from the sim.
BASE_ENV_ALLOWED = frozenset(
    {
        "control_mode",
        "sim_freq",
        "single_action_space",
        "single_observation_space",
        "_orig_single_action_space",
        "_episode_seed",
        "_sensor_configs",
        "gpu_sim_enabled",
        "backend",
        "robot_uids",
        "get_state_dict",  # the twin's state: robot joints from the readings, objects as synced
        "get_wrapper_attr",
    }
)

# What RealEnv.render() can show; the twin's view only by this name, and labelled.
RENDER_MODES = ("sensors", "twin_rgb_array", "all")


# ---------------------------------------------------------------------------------------------
# The sim env RealEnv can run on
# ---------------------------------------------------------------------------------------------
def check_sim_env(base: BaseEnv) -> None:
    """One CPU env with a reward a robot can compute; ConfigError otherwise."""
    if base.backend.sim_backend != "physx_cpu" or base.num_envs != 1:
        raise ConfigError(
            "RealEnv needs a sim env with sim_backend='physx_cpu' and num_envs=1, got "
            f"{base.backend.sim_backend} with {base.num_envs} envs"
        )
    if base.reward_mode not in ("sparse", "none"):
        raise ConfigError(
            f"reward_mode '{base.reward_mode}' needs object states a real robot doesn't "
            "observe; make the sim env with reward_mode='sparse' or 'none'"
        )
    if base.reconfiguration_freq != 0:
        raise ConfigError(
            f"the sim env rebuilds its scene every {base.reconfiguration_freq} reset(s) "
            f"(reconfiguration_freq): {RECONFIGURE_WHY}; make it with reconfiguration_freq=0"
        )


RECONFIGURE_WHY = (
    "RealEnv binds the twin's robot, objects and kinematics once, and a rebuilt scene would "
    "leave the observation reading the old robot (its TCP frozen where it was)"
)


def check_reset_options(options: dict | None) -> None:
    """A reset that would rebuild the twin's scene (ManiSkill's ``reconfigure``, sapien_env.py
    ``BaseEnv.reset``) is refused before anything moves."""
    if options and options.get("reconfigure"):
        raise ConfigError(f"reset(options={{'reconfigure': True}}) refused: {RECONFIGURE_WHY}")


def single_action_space(base: BaseEnv) -> gym.Space:
    return base._orig_single_action_space


def _part_problem(part: str, controller_cls: type, config: Any, interface: str | None) -> str:
    """Why one part's controller can't run on a ros2_control controller ('' if it can)."""
    sets_qpos = bool(getattr(controller_cls, "sets_target_qpos", False))
    sets_qvel = bool(getattr(controller_cls, "sets_target_qvel", False))
    if getattr(config, "interpolate", False):
        return f"part '{part}' interpolates targets between sim steps"
    if sets_qpos and sets_qvel:
        return f"part '{part}' sets position and velocity targets ({controller_cls.__name__})"
    if not (sets_qpos or sets_qvel):
        return f"part '{part}' sets no drive targets ({controller_cls.__name__})"
    wants = "position" if sets_qpos else "velocity"
    if interface not in (None, wants):
        return f"part '{part}' sets {wants} targets but its controller takes {interface}"
    return ""


def _mode_problem(agent: BaseAgent, mode: str, config: RobotConfig | None) -> str:
    parts = agent._controller_configs[mode]
    if not isinstance(parts, dict):
        parts = {"all": parts}
    for part, cfg in parts.items():
        ctrl = config.controllers.get(part) if config else None
        interface = ctrl.interface if ctrl else None
        problem = _part_problem(part, cfg.controller_cls, cfg, interface)
        if problem:
            return problem
        if ctrl and ctrl.mimic and not issubclass(cfg.controller_cls, PDJointPosMimicController):
            # A GripperCommand goal carries one position: the others must follow it in the sim
            # too (mani_skill/agents/controllers/pd_joint_pos.py, PDJointPosMimicController).
            return (
                f"part '{part}' is a {ctrl.kind} with mimic joints in "
                f"{config.path}, but {cfg.controller_cls.__name__} drives them independently"
            )
    return ""


def supported_modes(agent: BaseAgent, config: RobotConfig | None) -> list[str]:
    """The robot's control modes whose every part sets exactly one kind of drive target."""
    return [m for m in agent._controller_configs if not _mode_problem(agent, m, config)]


def control_targets(base: BaseEnv, config: RobotConfig | None) -> tuple[bool, bool]:
    """Whether the active control mode sets position and/or velocity targets, from what each
    ManiSkill controller declares (``sets_target_qpos``/``sets_target_qvel``); raises
    ControlModeError for a mode the real side can't reproduce exactly."""
    agent = base.agent
    mode = agent.control_mode
    problem = _mode_problem(agent, mode, config)
    if problem:
        raise ControlModeError(
            f"control mode '{mode}' can't run on the real robot: {problem}. "
            f"Supported modes (given controllers of the matching interface): "
            f"{', '.join(supported_modes(agent, None))}"
        )
    controller = agent.controller
    return bool(controller.sets_target_qpos), bool(controller.sets_target_qvel)


def joint_limits(base: BaseEnv) -> tuple[np.ndarray, np.ndarray]:
    """The position targets the sim robot takes, sim joint order: its URDF's joint limits,
    widened where the active controller's absolute-position parts declare a wider range
    (ManiSkill's panda gripper targets -0.01 m, below its 0 m limit, to squeeze what it
    holds; a policy trained on it relies on that force)."""
    limits = base.agent.robot.get_qlimits()[0].cpu().numpy().astype(np.float64)
    lower, upper = limits[:, 0].copy(), limits[:, 1].copy()
    controller = base.agent.controller
    for sub in getattr(controller, "controllers", {"all": controller}).values():
        config = sub.config
        if getattr(config, "use_delta", True) or getattr(config, "lower", None) is None:
            continue
        idx = sub.active_joint_indices.cpu().numpy()
        lower[idx] = np.minimum(lower[idx], np.broadcast_to(config.lower, idx.shape))
        upper[idx] = np.maximum(upper[idx], np.broadcast_to(config.upper, idx.shape))
    return lower, upper


def revolute_joints(base: BaseEnv) -> np.ndarray:
    """Which of the sim robot's active joints turn (radians), sim joint order."""
    return np.array(
        [j.type[0] in ("revolute", "revolute_unwrapped") for j in base.agent.robot.active_joints]
    )


def tcp_position_at(base: BaseEnv) -> Callable[[np.ndarray], np.ndarray]:
    """Forward kinematics of the twin's robot: the TCP position (sim world frame) at a joint
    config (the robot's joint order).

    SAPIEN's Pinocchio model of the articulation, as ManiSkill's action conversion uses it
    (mani_skill/trajectory/utils/actions/conversion.py: the base pose times the link's pose
    from the model): the twin's joints stay as they are (posing the twin instead took 10x
    longer, and moved the twin under a release thread's feet); the base pose is read at each
    call (a task may place the robot per episode).
    """
    agent = base.agent
    if not hasattr(agent, "tcp"):
        raise ConfigError(
            f"safety.workspace needs a TCP, and the sim robot '{agent.uid}' declares none"
        )
    articulation = physx_articulation(agent.robot)
    model = articulation.create_pinocchio_model()
    tcp_index = int(agent.tcp.index[0])

    def tcp(qpos: np.ndarray) -> np.ndarray:
        model.compute_forward_kinematics(np.asarray(qpos, dtype=np.float64))
        pose = articulation.get_root_pose() * model.get_link_pose(tcp_index)
        return np.asarray(pose.p, dtype=np.float64)

    return tcp


# ---------------------------------------------------------------------------------------------
# Objects: the twin's actors set to the real world's poses, and which ones the task reads
# ---------------------------------------------------------------------------------------------
def physical_actors(base: BaseEnv) -> dict[str, Actor]:
    """The twin's non-static actors with collision shapes, by ManiSkill name: the objects a
    robot can touch. Non-static actors without any (PickCube's goal_site, PushCube's
    goal_region) are markers of task parameters the sim samples: they stay the sim's."""
    return {
        name: actor
        for name, actor in base.scene.actors.items()
        if actor.px_body_type != "static" and actor.has_collision_shapes
    }


def non_static_poses(base: BaseEnv) -> dict[str, np.ndarray]:
    """Every non-static actor's pose now (raw pose: p, q wxyz), by ManiSkill name."""
    return {
        name: actor.pose.raw_pose[0].cpu().numpy().astype(np.float64)
        for name, actor in base.scene.actors.items()
        if actor.px_body_type != "static"
    }


def set_actor_poses(base: BaseEnv, poses: dict[str, np.ndarray]) -> None:
    """Set each named actor of the twin to a raw pose (p, q wxyz) in the sim world, at rest."""
    actors = base.scene.actors
    for name, pose in poses.items():
        actor = actors[name]
        actor.set_pose(Pose.create(torch.as_tensor(pose, dtype=torch.float32).reshape(1, 7)))
        if actor.px_body_type == "dynamic":
            actor.set_linear_velocity(torch.zeros(1, 3))
            actor.set_angular_velocity(torch.zeros(1, 3))


def _changed(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The keys (dotted) of two nested dicts of tensors whose values differ."""
    if isinstance(before, dict):
        return [k for key in before for k in _changed(before[key], after[key], f"{prefix}{key}.")]
    a, b = torch.as_tensor(before).float(), torch.as_tensor(after).float()
    return [] if torch.allclose(a, b, atol=1e-7) else [prefix.rstrip(".")]


def actor_reads(base: BaseEnv) -> dict[str, tuple[list[str], list[str]]]:
    """Which physical actors the sim env's state observation (``_get_obs_extra`` in its obs
    mode) and ``evaluate()`` read: actor -> (observation keys, evaluate keys) that change when
    the actor moves. Camera images are not probed: on a robot they are the real ones.

    Each actor is moved on the twin, a few cm and turned, then onto every other non-static
    actor (goal markers included: a boolean such as "placed" flips only there) and onto the
    TCP, and put back where it was; nothing is stepped. A key that no such move changes (one
    that reads contact forces, say) is not found.
    """
    observes = base.obs_mode != "none"
    info = base.evaluate()
    obs = base._get_obs_extra(info) if observes else {}
    others = [a for a in base.scene.actors.values() if a.px_body_type != "static"]
    targets = [a.pose.raw_pose[0].clone() for a in others]
    if hasattr(base.agent, "tcp"):
        targets.append(base.agent.tcp.pose.raw_pose[0].clone())
    reads: dict[str, tuple[list[str], list[str]]] = {}
    for name, actor in physical_actors(base).items():
        before = actor.pose.raw_pose[0].clone()
        nudged = before.clone()
        nudged[:3] += torch.tensor([0.03, -0.02, 0.04])
        nudged[3:] = torch.tensor([0.9239, 0.0, 0.0, 0.3827])  # 45 deg about z
        obs_keys: set[str] = set()
        info_keys: set[str] = set()
        try:
            for pose in [nudged, *targets]:
                set_actor_poses(base, {name: pose.numpy()})
                info_keys |= set(_changed(info, base.evaluate()))
                if observes:
                    obs_keys |= set(_changed(obs, base._get_obs_extra(info)))
        finally:
            set_actor_poses(base, {name: before.numpy()})
        if obs_keys or info_keys:
            reads[name] = (sorted(obs_keys), sorted(info_keys))
    return reads


def check_object_sources(
    base: BaseEnv,
    posed: set[str],
    believed: set[str],
    reported: set[str],
    config_path: Any = None,
) -> list[str]:
    """Before anything moves: every physical actor the observation or evaluate() reads must have
    a pose source (``posed``) or be marked as the sim's belief (``believed``); evaluate() keys
    the robot side reports itself (``reported``: task topics, estimators) don't count. Returns
    the believed actors that are read; raises ConfigError naming the first unmapped one, and
    one for a mapped actor the sim env lacks."""
    movable = non_static_poses(base)
    unknown = sorted((posed | believed) - set(movable))
    if unknown:
        raise ConfigError(
            f"{config_path or 'RealEnv'}: key 'objects.{unknown[0]}': the sim env "
            f"{base.spec.id if base.spec else type(base).__name__} has no non-static actor "
            f"'{unknown[0]}' (it has: {', '.join(sorted(movable)) or 'none'})"
        )
    used: list[str] = []
    for name, (obs_keys, info_keys) in actor_reads(base).items():
        info_keys = [k for k in info_keys if k not in reported]
        if not (obs_keys or info_keys) or name in posed:
            continue
        if name in believed:
            used.append(name)
            continue
        read = []
        if obs_keys:
            read.append(f"the {base.obs_mode} observation ({', '.join(obs_keys)})")
        if info_keys:
            read.append(f"evaluate() ({', '.join(info_keys)})")
        where = f"in {config_path}" if config_path else "in the robot config"
        raise ConfigError(
            f"{' and '.join(read)} read(s) the pose of sim actor '{name}', which has no real "
            f"pose source: on a robot that is where the sim put it at reset, not where it is. "
            f"Map it {where} under key 'objects.{name}' ({{topic: <geometry_msgs/PoseStamped "
            f"topic>}} or {{tf_frame: <frame>, world_frame: <frame>}}), or set "
            f"'objects.{name}.sim_belief: true' (or RealEnv(sim_belief=['{name}'])) to run on "
            "the sim's belief, which info['sim_belief'] then lists every step"
        )
    return sorted(used)


def asks_grasp(base: BaseEnv) -> bool:
    """Whether the sim env's evaluate() or state observation asks its agent ``is_grasping``
    (PickCube's ``is_grasped``): the probe counts the calls on the twin's agent, then removes
    itself."""
    agent = base.agent
    if not hasattr(agent, "is_grasping"):
        return False
    asked: list[bool] = []
    answer = agent.is_grasping

    def probe(*args: Any, **kwargs: Any) -> Any:
        asked.append(True)
        return answer(*args, **kwargs)

    agent.is_grasping = probe
    try:
        info = base.evaluate()
        if base.obs_mode != "none":
            base._get_obs_extra(info)
    finally:
        del agent.is_grasping
    return bool(asked)


def controller_configs(agent: BaseAgent, mode: str) -> Any:
    return agent._controller_configs[mode]


# ---------------------------------------------------------------------------------------------
# Used by the test benches and tools on a plain sim env (and the TCP's kinematics)
# ---------------------------------------------------------------------------------------------
def physx_articulation(robot: Articulation) -> Any:
    """The PhysX articulation under ManiSkill's batched wrapper (num_envs=1)."""
    return robot._objs[0]


def hidden_objects(base: BaseEnv) -> list[Any]:
    return list(base._hidden_objects)


def sensor_configs(base: BaseEnv) -> dict[str, Any]:
    return dict(base._sensor_configs)


def render_sensor_data(base: BaseEnv) -> dict[str, dict[str, torch.Tensor]]:
    """What the sim's own cameras see now (camera-check's reference)."""
    return base._get_obs_sensor_data()


class PhysicsStepper:
    """BaseEnv's per-step hooks around a physics step, without ManiSkill's controller
    (``BaseEnv._step_action`` minus ``agent.before_simulation_step``)."""

    def __init__(self, base: BaseEnv) -> None:
        self.base = base

    def before_control_step(self) -> None:
        self.base._before_control_step()

    def after_control_step(self) -> None:
        self.base._after_control_step()

    def simulation_step(self) -> None:
        self.base._before_simulation_step()
        self.base.scene.step()
        self.base._after_simulation_step()


# ---------------------------------------------------------------------------------------------
# The allowlist
# ---------------------------------------------------------------------------------------------
# BaseEnv methods RealEnv borrows: what they read of ``self`` is read from the twin.
BORROWED = (
    "get_obs",
    "_flatten_raw_obs",
    "_get_obs_state_dict",
    "_get_obs_agent",
    "_get_obs_extra",
    "_get_obs_with_sensor_data",
    "evaluate",
    "compute_sparse_reward",
)


@cache
def task_attributes(task_cls: type) -> frozenset[str]:
    """What the task's own versions of the borrowed methods read as ``self.<name>`` (cube,
    goal_site, goal_thresh, ...), and the task classes' data attributes."""
    names: set[str] = set()
    for klass in task_cls.__mro__:
        if klass is BaseEnv or not issubclass(klass, BaseEnv):
            continue
        for name, value in vars(klass).items():
            if name in BORROWED and inspect.isfunction(value):
                names |= _self_attributes(value)
            elif not name.startswith("__") and not callable(value):
                names.add(name)
    return frozenset(names)


def _self_attributes(function: Callable[..., Any]) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return set()
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


@cache
def borrowed_reads() -> frozenset[str]:
    """Attributes BaseEnv's borrowed methods read as ``self.<name>`` (``_obs_mode``, ...)."""
    names: set[str] = set()
    for name in BORROWED:
        names |= _self_attributes(getattr(BaseEnv, name))
    return frozenset(names)


def allowed_twin_attributes(base: BaseEnv) -> frozenset[str]:
    return BASE_ENV_ALLOWED | borrowed_reads() | task_attributes(type(base))


# ---------------------------------------------------------------------------------------------
# The sim env's code, run on RealEnv
# ---------------------------------------------------------------------------------------------
def _borrowed(name: str) -> Callable[..., Any]:
    def method(self: SimEnvCode, *args: Any, **kwargs: Any) -> Any:
        return getattr(type(self.twin), name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"The sim env class's own ``{name}``, run on real readings."
    return method


class SimEnvCode(gym.Env):
    """The sim env class's observation, info, reward and render code, on the real env.

    A subclass sets ``twin`` (the sim env, unwrapped), ``agent`` (the real agent) and
    ``render_mode``. Attributes it lacks are read from the twin only when allowed (see
    ``BASE_ENV_ALLOWED`` and ``task_attributes``); anything else raises AttributeError naming it.
    """

    twin: BaseEnv
    agent: Any

    # One line per name in BORROWED (evaluate and the reward under their own names below).
    get_obs = _borrowed("get_obs")
    _flatten_raw_obs = _borrowed("_flatten_raw_obs")
    _get_obs_state_dict = _borrowed("_get_obs_state_dict")
    _get_obs_agent = _borrowed("_get_obs_agent")
    _get_obs_extra = _borrowed("_get_obs_extra")
    _get_obs_with_sensor_data = _borrowed("_get_obs_with_sensor_data")

    def _get_obs_sensor_data(self, apply_texture_transforms: bool = True) -> dict:
        return self.agent.get_sensor_data()

    def get_sensor_params(self) -> dict:
        return self.agent.get_sensor_params()

    def sim_evaluate(self) -> dict:
        """The sim's evaluate() on the twin (robot joints real, objects as RealEnv synced them)."""
        return type(self.twin).evaluate(self)

    def sim_sparse_reward(self, obs: Any, action: Any, info: dict) -> torch.Tensor:
        return type(self.twin).compute_sparse_reward(self, obs=obs, action=action, info=info)

    # -- rendering: the robot's cameras ---------------------------------------------------
    def get_sensor_images(self) -> dict[str, dict[str, torch.Tensor]]:
        """The real frames of this tick as the sim shows its sensors (depth colourised etc.)."""
        data = self.agent.get_sensor_data()
        sensors = self.twin.scene.sensors
        return {name: sensors[name].get_images(frames) for name, frames in data.items()}

    def render_sensors(self) -> torch.Tensor:
        images = [img for cam in self.get_sensor_images().values() for img in cam.values()]
        if not images:
            raise RenderModeError(
                "render_mode 'sensors' shows the robot's camera frames, and this robot config "
                "maps no camera of the sim env"
            )
        return tile_images(images)

    def render_twin(self) -> torch.Tensor:
        """The twin's human-render camera, labelled 'SIM TWIN': not what the robot sees."""
        image = self.twin.render_rgb_array()
        if image is None:
            raise RenderModeError("the sim env has no human render camera to show the twin")
        array = np.ascontiguousarray(image[0].cpu().numpy())
        cv2.putText(array, "SIM TWIN", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 0, 0), 2)
        return torch.from_numpy(array).unsqueeze(0)

    def render(self) -> torch.Tensor:
        mode = self.render_mode
        if mode == "sensors":
            return self.render_sensors()
        if mode == "twin_rgb_array":
            return self.render_twin()
        if mode == "all":
            return tile_images([self.render_sensors(), self.render_twin()])
        raise RenderModeError(
            f"render_mode {mode!r}: RealEnv renders {', '.join(map(repr, RENDER_MODES))}"
        )

    def __getattr__(self, name: str) -> Any:
        # Reached only for attributes the real env lacks.
        if name.startswith("__") or name in ("twin", "agent", "_allowed"):
            raise AttributeError(name)
        if name in self._allowed:
            return getattr(self.twin, name)
        raise AttributeError(
            f"RealEnv has no attribute {name!r}, and it is not read from the sim twin: only the "
            "task's own attributes and BASE_ENV_ALLOWED (maniskill_real/env/sim_bridge.py) are. "
            "Add it there if the twin's value is right on a robot."
        )


def check_render_mode(mode: str | None) -> None:
    """Before anything moves: a render mode RealEnv can honour with real data."""
    if mode is None or mode in RENDER_MODES:
        return
    raise RenderModeError(
        f"render_mode {mode!r} would show the simulation, not the robot: use "
        "RealEnv(..., render_mode='sensors') for the robot's camera frames, 'twin_rgb_array' for "
        "the sim twin's view (labelled), or 'all' for both"
    )


# ---------------------------------------------------------------------------------------------
# The user's wrappers, run on the real env
# ---------------------------------------------------------------------------------------------
class RealCore(gym.Env):
    """What the innermost user wrapper sees in place of the sim env while RealEnv runs."""

    def __init__(self, env: SimEnvCode, step: Callable[..., Any], reset: Callable[..., Any]):
        self._env = env
        self._step = step
        self._reset = reset
        self.action_space = env.action_space
        self.observation_space = env.observation_space

    def step(self, action: Any) -> Any:
        return self._step(action)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        return self._reset(seed, options)

    def render(self) -> Any:
        return self._env.render()

    def close(self) -> None:
        """RealEnv closes the robot side itself; a wrapper's close must not recurse into it."""

    @property
    def unwrapped(self) -> SimEnvCode:  # type: ignore[override]
        return self._env

    @property
    def spec(self) -> Any:  # type: ignore[override]
        return self._env.spec

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_env":
            raise AttributeError(name)
        return getattr(self._env, name)


class WrapperChain:
    """The wrappers applied to the sim env, re-pointed at the real env for each call."""

    def __init__(self, sim_env: gym.Env, core: RealCore) -> None:
        self.wrappers: list[gym.Wrapper] = []
        env = sim_env
        while isinstance(env, gym.Wrapper):
            self.wrappers.append(env)
            env = env.env
        self.twin_env = env
        self.core = core

    def call(self, fn: Callable[[gym.Env], Any]) -> Any:
        if not self.wrappers:
            return fn(self.core)
        innermost = self.wrappers[-1]
        original = innermost.env
        innermost.env = self.core
        try:
            return fn(self.wrappers[0])
        finally:
            innermost.env = original

    def close(self) -> None:
        """Close every wrapper on the real env (RecordEpisode flushes its last episode), then
        the sim env itself."""
        try:
            if self.wrappers:
                self.call(lambda env: env.close())
        finally:
            self.twin_env.close()
