"""The sim bridge, pinned against the installed ManiSkill, and the pure parts under it.

- Every ManiSkill internal in ``sim_bridge.INTERNALS`` exists with the shape the package uses,
  on the ManiSkill version it was checked on: an upgrade fails here, not on a robot.
- The allowlist: the task's own attributes read from the twin, anything else raises naming it.
- The control-mode check, built on what each ManiSkill controller declares.
- A plain ``BaseRealAgent`` (no ROS: a stand-in for a user's own robot class, the API under
  test) runs through ``capture_sensor_data`` once per tick.
- The tick clock (fake time). The ros2_control controller emulator is tested in
  ``test_controller_emulator.py``.
"""

from __future__ import annotations

import inspect

import gymnasium as gym
import mani_skill
import mani_skill.envs  # noqa: F401 - registers the envs
import numpy as np
import pytest
import sapien
import torch
from mani_skill.agents.base_agent import BaseAgent
from mani_skill.agents.base_real_agent import BaseRealAgent
from mani_skill.envs.sapien_env import BaseEnv
from ros_helpers import policy_env

from maniskill_real.config import load_robot_config
from maniskill_real.core.clock import TickClock
from maniskill_real.env import sim_bridge
from maniskill_real.env.agent_port import RealAgent
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import (
    ConfigError,
    ControlModeError,
    ManiSkillRealError,
    RealEnvError,
    RenderModeError,
)


@pytest.fixture(scope="module")
def pick() -> gym.Env:
    env = policy_env("pd_joint_delta_pos")
    env.reset(seed=0)
    yield env
    env.close()


# ---------------------------------------------------------------------------------------------
# ManiSkill internals
# ---------------------------------------------------------------------------------------------
def test_maniskill_version_is_the_checked_one() -> None:
    """Each internal was checked on this version; an upgrade must re-check them (this file)."""
    assert mani_skill.__version__ == sim_bridge.MANISKILL_CHECKED


def test_every_internal_exists(pick: gym.Env) -> None:
    base = pick.unwrapped
    owners = {
        "BaseEnv": base,
        "BaseAgent": base.agent,
        "Articulation": base.agent.robot,
        "BaseRealAgent": BaseRealAgent(),
    }
    for owner, name, why in sim_bridge.INTERNALS:
        assert hasattr(owners[owner], name), f"{owner}.{name} is gone ({why})"


def test_borrowed_methods_keep_their_signatures() -> None:
    """RealEnv calls these BaseEnv methods with these arguments."""
    expected = {
        "get_obs": ["self", "info", "unflattened"],
        "_flatten_raw_obs": ["self", "obs"],
        "_get_obs_state_dict": ["self", "info"],
        "_get_obs_agent": ["self"],
        "_get_obs_extra": ["self", "info"],
        "_get_obs_with_sensor_data": ["self", "info", "apply_texture_transforms"],
        "_get_obs_sensor_data": ["self", "apply_texture_transforms"],
        "evaluate": ["self"],
        "compute_sparse_reward": ["self", "obs", "action", "info"],
        "render_rgb_array": ["self", "camera_name"],
    }
    for name, params in expected.items():
        assert list(inspect.signature(getattr(BaseEnv, name)).parameters) == params, name
    assert set(sim_bridge.BORROWED) <= set(expected)


def test_borrowed_code_reads_what_the_bridge_allows() -> None:
    """What BaseEnv's borrowed methods read of ``self`` today; a new read shows up here."""
    assert sim_bridge.borrowed_reads() == {
        "_flatten_raw_obs",
        "_get_obs_agent",
        "_get_obs_extra",
        "_get_obs_sensor_data",
        "_get_obs_state_dict",
        "_get_obs_with_sensor_data",
        "_obs_mode",
        "_sensors",
        "agent",
        "device",
        "get_info",
        "get_sensor_params",
        "num_envs",
        "obs_mode_struct",
    }


def test_physics_stepper_hooks_exist(pick: gym.Env) -> None:
    stepper = sim_bridge.PhysicsStepper(pick.unwrapped)
    stepper.before_control_step()
    stepper.simulation_step()
    stepper.after_control_step()
    assert sim_bridge.physx_articulation(pick.unwrapped.agent.robot).dof == 9


# ---------------------------------------------------------------------------------------------
# control modes
# ---------------------------------------------------------------------------------------------
def test_tcp_kinematics_match_the_posed_twin_and_leave_it_alone(pick: gym.Env) -> None:
    """The workspace check's forward kinematics (Pinocchio, base pose read per call) put the TCP
    where ManiSkill's own link pose does at the same joints (float32 there), and do not move
    the twin."""
    base = pick.unwrapped
    robot = base.agent.robot
    tcp = sim_bridge.tcp_position_at(base)
    start = robot.get_qpos().clone()
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = start[0].double().numpy() + rng.normal(0.0, 0.3, start.shape[1])
        position = tcp(q)
        assert torch.equal(robot.get_qpos(), start)
        robot.set_qpos(torch.as_tensor(q, dtype=start.dtype)[None])
        np.testing.assert_allclose(position, base.agent.tcp.pose.p[0].numpy(), atol=1e-5)
        robot.set_qpos(start)
    pose = robot.pose
    try:  # a task that places the robot per episode
        robot.set_pose(sapien.Pose([0.1, -0.2, 0.05], [0.9238795, 0.0, 0.0, 0.3826834]))
        q = start[0].double().numpy()
        np.testing.assert_allclose(tcp(q), base.agent.tcp.pose.p[0].numpy(), atol=1e-5)
    finally:
        robot.set_pose(pose)


def test_supported_modes_come_from_what_controllers_declare(pick: gym.Env) -> None:
    agent: BaseAgent = pick.unwrapped.agent
    supported = sim_bridge.supported_modes(agent, None)
    assert "pd_joint_pos_vel" not in supported  # sets position and velocity targets
    assert {"pd_joint_pos", "pd_joint_delta_pos", "pd_joint_vel", "pd_ee_delta_pose"} <= set(
        supported
    )
    panda = load_robot_config("panda")  # every controller takes position
    assert "pd_joint_vel" not in sim_bridge.supported_modes(agent, panda)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("pd_joint_delta_pos", (True, False)), ("pd_ee_pose", (True, False))],
)
def test_control_targets(mode: str, expected: tuple[bool, bool]) -> None:
    env = policy_env(mode)
    try:
        assert sim_bridge.control_targets(env.unwrapped, load_robot_config("panda")) == expected
    finally:
        env.close()


def test_control_mode_errors_name_mode_and_part() -> None:
    env = policy_env("pd_joint_pos_vel")
    try:
        with pytest.raises(ControlModeError, match="'pd_joint_pos_vel'.*part 'arm' sets position"):
            sim_bridge.control_targets(env.unwrapped, None)
    finally:
        env.close()
    env = policy_env("pd_joint_vel")
    try:
        with pytest.raises(ControlModeError, match="sets velocity targets but its controller"):
            sim_bridge.control_targets(env.unwrapped, load_robot_config("panda"))
    finally:
        env.close()


# ---------------------------------------------------------------------------------------------
# a plain BaseRealAgent: allowlist, spec, render modes, protocol
# ---------------------------------------------------------------------------------------------
class PlainAgent(BaseRealAgent):
    """A user's own robot class with no ROS: holds whatever it is told, counts captures."""

    def __init__(self) -> None:
        super().__init__()
        self.held = torch.zeros(1, 9)
        self.captures = 0
        self.targets: list[torch.Tensor] = []
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def reset(self, qpos) -> None:
        self.held = torch.as_tensor(qpos, dtype=torch.float32).reshape(1, 9).clone()

    def set_target_qpos(self, qpos) -> None:
        self.targets.append(torch.as_tensor(qpos).clone())
        self.held = torch.as_tensor(qpos, dtype=torch.float32).reshape(1, 9).clone()

    def capture_sensor_data(self, sensor_names=None) -> None:
        self.captures += 1

    def get_sensor_data(self, sensor_names=None) -> dict:
        return {}

    def get_qpos(self) -> torch.Tensor:
        return self.held

    def get_qvel(self) -> torch.Tensor:
        return torch.zeros(1, 9)


@pytest.fixture
def plain_env() -> RealEnv:
    env = RealEnv(
        policy_env("pd_joint_delta_pos"),
        agent=PlainAgent(),
        scene_reset="none",
        control_freq=200.0,
        sim_belief=["cube"],
    )
    yield env
    env.close()


def test_plain_agent_runs_through_capture_sensor_data(plain_env: RealEnv) -> None:
    agent = plain_env.agent
    assert agent.started
    obs, info = plain_env.reset(seed=0)
    assert agent.captures == 1
    reference = policy_env("pd_joint_delta_pos")
    reference.reset(seed=0)
    action = np.full(8, 0.5, dtype=np.float32)
    for k in range(3):
        expected_qpos = agent.held.clone()
        reference.unwrapped.agent.robot.set_qpos(expected_qpos)
        reference.unwrapped.agent.set_action(torch.as_tensor(action).unsqueeze(0))
        expected = reference.unwrapped.agent.robot.get_drive_targets()[0]
        plain_env.step(action)
        assert agent.captures == 2 + k
        assert torch.allclose(agent.targets[-1].float(), expected.float(), atol=1e-6)
    reference.close()
    assert info["timing"]["ticks"] == 0 and "ages" not in info["timing"]
    plain_env.close()
    assert agent.stopped


def test_a_reset_that_rebuilds_the_scene_is_refused_and_changes_nothing(plain_env: RealEnv) -> None:
    """ManiSkill's reconfigure replaces the twin's agent: the observation would go on reading
    the old robot, its TCP frozen where it was (seen in a scratch run: 9 cm off after 15
    steps). Refused before anything moves, and the episode goes on; a sim env that rebuilds
    its scene on its own (reconfiguration_freq) is refused at construction."""
    plain_env.reset(seed=0)
    twin_agent, targets = plain_env.twin.agent, len(plain_env.agent.targets)
    with pytest.raises(ConfigError, match="reconfigure"):
        plain_env.reset(seed=1, options={"reconfigure": True})
    assert plain_env.twin.agent is twin_agent and len(plain_env.agent.targets) == targets
    plain_env.step(np.zeros(8, dtype=np.float32))  # still live
    sim = gym.make(
        "PickCube-v1", sim_backend="physx_cpu", reward_mode="sparse", reconfiguration_freq=1
    )
    try:
        with pytest.raises(ConfigError, match="reconfiguration_freq"):
            RealEnv(sim, agent=PlainAgent(), scene_reset="none")
    finally:
        sim.close()


class ReportingAgent(PlainAgent, RealAgent):
    """A PlainAgent whose world reports task state, as task topics do; it gates its targets."""

    def __init__(self, state: dict[str, bool]) -> None:
        super().__init__()
        self.state = state

    def task_state(self) -> dict[str, bool]:
        return dict(self.state)

    def task_state_keys(self) -> set[str]:
        return set(self.state)

    def set_target_qpos(self, qpos) -> None:
        super().set_target_qpos(self.gate(np.asarray(qpos, np.float64), "position"))


class CountingEnv(RealEnv):
    evaluations = 0

    def sim_evaluate(self) -> dict:
        self.evaluations += 1
        return super().sim_evaluate()


PICK_CUBE_KEYS = ("success", "is_obj_placed", "is_robot_static", "is_grasped")


@pytest.mark.parametrize("reported", [PICK_CUBE_KEYS, PICK_CUBE_KEYS[:3]])
def test_the_twins_evaluate_runs_only_for_keys_nobody_reports(reported: tuple[str, ...]) -> None:
    """Every evaluate() key reported: the twin's evaluate() never runs; one missing: it runs
    once per reset and step. Either way info has every key, in evaluate()'s order."""
    sim = policy_env("pd_joint_delta_pos")
    assert list(sim.unwrapped.evaluate()) == list(PICK_CUBE_KEYS)
    agent = ReportingAgent(dict.fromkeys(reported, True))
    env = CountingEnv(sim, agent=agent, scene_reset="none", control_freq=200.0, sim_belief=["cube"])
    try:
        _, info = env.reset(seed=0)
        for _ in range(3):
            *_, terminated, _, info = env.step(np.zeros(8, dtype=np.float32))
        assert [key for key in info if key in PICK_CUBE_KEYS] == list(PICK_CUBE_KEYS)
        assert all(info[key].dtype == torch.bool and info[key].item() for key in reported)
        assert bool(terminated)  # the reported success
        assert env.evaluations == (0 if reported == PICK_CUBE_KEYS else 4)
    finally:
        env.close()


def test_allowlist_reads_task_attributes_and_names_the_rest(plain_env: RealEnv) -> None:
    assert plain_env.cube is plain_env.twin.cube  # the task's own attribute, read from the twin
    assert plain_env.goal_thresh == plain_env.twin.goal_thresh
    for name in ("scene", "_elapsed_steps_of_the_sim", "_viewer", "sim_config"):
        with pytest.raises(AttributeError, match=f"'{name}'.*BASE_ENV_ALLOWED"):
            getattr(plain_env, name)


def test_spec_mirrors_the_sim_env(plain_env: RealEnv) -> None:
    assert plain_env.spec.id == "PickCube-v1"
    assert plain_env.spec.kwargs["control_mode"] == "pd_joint_delta_pos"
    assert plain_env.unwrapped is plain_env


def test_render_modes_without_real_frames_raise_clearly() -> None:
    with pytest.raises(RenderModeError, match="'rgb_array' would show the simulation"):
        RealEnv(policy_env("pd_joint_delta_pos", render_mode="rgb_array"), agent=PlainAgent())
    env = RealEnv(
        policy_env("pd_joint_delta_pos"),
        agent=PlainAgent(),
        scene_reset="none",
        render_mode="sensors",
        sim_belief=["cube"],
    )
    try:
        env.reset(seed=0)
        with pytest.raises(RenderModeError, match="maps no camera"):
            env.render()  # the plain agent has no cameras
        env.render_mode = None
        with pytest.raises(RenderModeError, match="render_mode None"):
            env.render()
        env.render_mode = "twin_rgb_array"
        twin = env.render()
        assert twin.shape[0] == 1 and twin.shape[-1] == 3
    finally:
        env.close()


def test_every_public_exception_has_one_root() -> None:
    assert issubclass(RealEnvError, ManiSkillRealError)
    assert issubclass(ConfigError, ManiSkillRealError) and issubclass(ConfigError, ValueError)
    assert issubclass(RenderModeError, ConfigError)


# ---------------------------------------------------------------------------------------------
# the tick clock
# ---------------------------------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_clock_ticks_on_absolute_deadlines() -> None:
    fake = FakeTime()
    clock = TickClock(0.05, fake.now, fake.sleep)
    for _ in range(3):
        fake.t += 0.01  # work inside the period
        assert clock.wait_next() == (False, 0.0)
        assert clock.waited == pytest.approx(0.04)  # what a step's cost leaves out
    assert fake.t == pytest.approx(100.15)  # no drift from the work
    assert clock.tick_time() == pytest.approx(100.15)


def test_clock_counts_an_overrun_and_reanchors() -> None:
    fake = FakeTime()
    clock = TickClock(0.05, fake.now, fake.sleep)
    fake.t += 0.08  # a slow step
    overran, late = clock.wait_next()
    assert overran and late == pytest.approx(0.03) and clock.overruns == 1
    assert clock.waited == 0.0 and clock.tick_time() == pytest.approx(100.08)
    fake.t += 0.01
    assert clock.wait_next() == (False, 0.0)
    assert fake.t == pytest.approx(100.13)  # the next tick is one period after the overrun


def test_a_late_step_reanchors_once_and_reports_the_shift() -> None:
    """check_late() mid-step (RealEnv with latency_steps, before it schedules a release):
    the overrun is counted once, the ticks move by the lateness (on_reanchor is told by how
    much), and the wait that follows does not sleep or count it again."""
    fake = FakeTime()
    clock = TickClock(0.05, fake.now, fake.sleep)
    shifts: list[float] = []
    clock.on_reanchor = shifts.append
    assert clock.check_late() == 0.0 and clock.tick_time(2) == pytest.approx(100.1)
    fake.t += 0.07
    assert clock.check_late() == pytest.approx(0.02)
    assert clock.check_late() == pytest.approx(0.02) and shifts == [pytest.approx(0.02)]
    assert clock.tick_time(1) == pytest.approx(100.07)  # the next tick is now
    assert clock.wait_next() == (True, pytest.approx(0.02)) and fake.sleeps == []
    assert clock.overruns == 1
    assert clock.wait_next() == (False, 0.0) and fake.t == pytest.approx(100.12)
