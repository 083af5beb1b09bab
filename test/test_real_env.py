"""RealEnv end to end: a ManiSkill sim env's spaces, controller and observations on a robot
reached over real DDS.

Every integration test here starts ``mock_hardware`` as a separate process (the conftest
fixtures) and drives ``RealEnv`` in this process against it; a probe node in this process
listens on the same topics the robot does. Nothing is faked or patched: the mock hardware
process *is* the stand-in for the physical robot (it mirrors commands to /joint_states like
ros2_control's GenericSystem, publishes /joint_states in an order unlike the config's, and a
test camera). Expected values come from a second, independent copy of the same ManiSkill env.

Robots are shared by the tests of one class (``start_shared_robot``); each class stops its
robot before the next one starts, so two robots never publish on one topic. Tests outside a
class start their own robot, or none.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import mani_skill.envs  # noqa: F401  (registers PickCube-v1)
import numpy as np
import pytest
import torch
import yaml
from mani_skill.utils.wrappers.flatten import FlattenRGBDObservationWrapper
from mani_skill.utils.wrappers.gymnasium import CPUGymWrapper
from ros_helpers import RECORD_QOS, policy_env, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from maniskill_real.config import RobotConfig, load_robot_config
from maniskill_real.core.camera import CameraFovError
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import (
    ActionError,
    ConfigError,
    JointMismatchError,
    RealEnvError,
    TopicTimeoutError,
)
from maniskill_real.ros.commands import duration_to_s
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import stamp_to_ns

REPO = Path(__file__).resolve().parents[1]
ARM = [f"panda_joint{i}" for i in range(1, 8)]
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
SIM_JOINTS = ARM + FINGERS  # the sim panda's active joints, in its order
# PickCube's initial qpos (the panda "rest" keyframe; the env adds up to 0.02 rad of noise).
REST_QPOS = [0.0, np.pi / 8, 0.0, -5 * np.pi / 8, 0.0, 3 * np.pi / 4, np.pi / 4, 0.04, 0.04]
REST = dict(zip(SIM_JOINTS, REST_QPOS, strict=True))
POSITION_MODES = [
    "pd_joint_pos",
    "pd_joint_delta_pos",
    "pd_joint_target_delta_pos",
    "pd_ee_delta_pose",
    "pd_ee_pose",
]
TOL = 1e-5
# A new node can take ~3 s to discover a running one (Fast DDS's periodic announcements).
DISCOVERY_S = 10.0


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class Recorder:
    """Every message on one topic, in arrival order (a deep reliable queue drops none)."""

    def __init__(self, ros: RosNode, msg_type: type, topic: str, keep: int = 10_000) -> None:
        self.topic = topic
        self._lock = threading.Lock()
        self._msgs: deque[Any] = deque(maxlen=keep)
        self.count = 0
        ros.subscribe(msg_type, topic, self._on_msg, RECORD_QOS)

    def _on_msg(self, msg: Any) -> None:
        with self._lock:
            self._msgs.append(msg)
            self.count += 1

    def since(self, mark: int) -> list[Any]:
        """Messages that arrived after ``count`` was ``mark``."""
        with self._lock:
            new = self.count - mark
            return list(self._msgs)[len(self._msgs) - new :] if new else []

    def wait_since(self, mark: int, n: int, timeout: float = 5.0) -> list[Any]:
        wait_until(lambda: self.count - mark >= n, timeout, f"{n} message(s) on {self.topic}")
        return self.since(mark)

    def kept(self) -> list[Any]:
        """Every message still kept (the newest ``keep``)."""
        with self._lock:
            return list(self._msgs)


class Probe:
    """A node in the test process that records every command topic and /joint_states."""

    def __init__(self) -> None:
        self.ros = RosNode("test_probe")
        self.trajectory = Recorder(self.ros, JointTrajectory, "/arm_controller/joint_trajectory")
        self.arm_commands = Recorder(self.ros, Float64MultiArray, "/arm_controller/commands")
        self.gripper = Recorder(self.ros, Float64MultiArray, "/gripper_controller/commands")
        self.joint_states = Recorder(self.ros, JointState, "/joint_states", keep=2000)
        self.commands = (self.trajectory, self.arm_commands, self.gripper)

    def command_count(self) -> int:
        return sum(r.count for r in self.commands)

    def positions(self, timeout: float = DISCOVERY_S) -> dict[str, float]:
        """The robot's joint positions by ROS name, from a /joint_states published from now on."""
        mark = self.joint_states.count
        msg = self.joint_states.wait_since(mark, 1, timeout)[-1]
        return dict(zip(msg.name, msg.position, strict=True))

    def joint_state_at(self, stamp_ns: int) -> JointState:
        """The recorded /joint_states message with this header stamp."""

        def find() -> JointState | None:
            msgs = self.joint_states.kept()
            return next((m for m in msgs if stamp_to_ns(m.header.stamp) == stamp_ns), None)

        wait_until(lambda: find() is not None, DISCOVERY_S, f"/joint_states stamped {stamp_ns}")
        return find()

    def quiet(self, period: float = 0.15) -> None:
        """Wait until no command has arrived for ``period`` s (in-flight messages landed)."""
        last = -1
        while self.command_count() != last:
            last = self.command_count()
            time.sleep(period)

    def close(self) -> None:
        self.ros.close()


class Envs:
    """The sim and real envs a test makes; all closed at teardown, real ones first."""

    def __init__(self, default_config: Path) -> None:
        self.default_config = default_config
        self.sims: list[gym.Env] = []
        self.reals: list[RealEnv] = []

    def sim(self, mode: str = "pd_joint_delta_pos", obs_mode: str = "state") -> gym.Env:
        env = policy_env(mode, obs_mode)
        self.sims.append(env)
        return env

    def real(
        self,
        sim: gym.Env,
        config: Any = None,
        cls: type[RealEnv] = RealEnv,
        listeners: int = 0,
        **kwargs: Any,
    ) -> Any:
        """A RealEnv on ``sim``; with ``listeners``, wait until every command topic has that
        many subscribers (the robot and the probe), so the probe hears the first command too."""
        config = config or self.default_config
        env = cls(sim, robot_config=config, scene_reset="none", **kwargs)
        self.reals.append(env)
        for command in env.agent.commands.values():
            wait_until(
                lambda c=command: c.subscriber_count >= listeners, DISCOVERY_S, command.topic
            )
        return env

    def close(self) -> None:
        """Close every env, then raise the first error a close raised (leave no node behind)."""
        errors = []
        for env in [*self.reals, *self.sims]:
            try:
                env.close()
            except Exception as e:  # noqa: BLE001 - re-raised below
                errors.append(e)
        if errors:
            raise errors[0]


class Reference:
    """A separate copy of the sim env: what ManiSkill's controller computes from a given qpos.

    ``targets(qpos, action)`` puts the robot at ``qpos`` (what RealEnv observed before the
    step) and runs ``agent.set_action``; the drive targets are read back by sim joint name.
    """

    def __init__(self, sim: gym.Env, seed: int = 0) -> None:
        sim.reset(seed=seed)
        self.env = sim.unwrapped
        self.robot = self.env.agent.robot
        self.names = [j.name for j in self.robot.active_joints]
        assert self.names == SIM_JOINTS

    def restart(self, qpos: torch.Tensor) -> None:
        """What RealEnv.reset leaves behind: the controller reset at the observed qpos."""
        self.robot.set_qpos(qpos.reshape(1, -1))
        self.env.agent.controller.reset()

    def targets(
        self, qpos: torch.Tensor, action: np.ndarray
    ) -> tuple[dict[str, float], dict[str, float]]:
        self.robot.set_qpos(qpos.reshape(1, -1))
        self.env.agent.set_action(torch.as_tensor(action, dtype=torch.float32).unsqueeze(0))
        pos = self.robot.get_drive_targets()[0].tolist()
        vel = self.robot.get_drive_velocities()[0].tolist()
        return dict(zip(self.names, pos, strict=True)), dict(zip(self.names, vel, strict=True))

    def initial_qpos(self, seed: int) -> dict[str, float]:
        """The sim's initial qpos for ``seed`` (PickCube samples it from the seed)."""
        self.env.reset(seed=seed)
        return dict(zip(self.names, self.robot.get_qpos()[0].tolist(), strict=True))


def observed_qpos(obs: torch.Tensor) -> torch.Tensor:
    """PickCube's flat state observation starts with the agent's 9 joint positions."""
    return obs[0, : len(SIM_JOINTS)]


def ros_names(config: RobotConfig) -> dict[str, str]:
    return {sim: config.ros_joint(sim) for sim in SIM_JOINTS}


def received_targets(msg: Any, config: RobotConfig, part: str) -> dict[str, float]:
    """A command message as {ROS joint name: value}, by the names it (or its config) carries."""
    if isinstance(msg, JointTrajectory):
        assert len(msg.points) == 1, f"expected a one-point trajectory, got {len(msg.points)}"
        return dict(zip(msg.joint_names, msg.points[0].positions, strict=True))
    joints = config.controllers[part].joints
    assert len(msg.data) == len(joints)
    return dict(zip(joints, msg.data, strict=True))


def assert_targets(
    got: dict[str, float], expected: dict[str, float], config: RobotConfig, part: str
) -> None:
    """``got`` (ROS names) names exactly the joints of the part's controller, and equals
    ``expected`` (sim names) joint by joint."""
    assert sorted(got) == sorted(config.controllers[part].joints), f"published {sorted(got)}"
    want = {ros: expected[sim] for sim, ros in ros_names(config).items() if ros in got}
    for joint, value in got.items():
        assert value == pytest.approx(want[joint], abs=TOL), f"{joint}: {got} != {want}"


def check_command(msg: Any, expected: dict[str, float], config: RobotConfig, part: str) -> None:
    """One command message for ``part`` carries ``expected`` (sim names), mapped by name."""
    assert_targets(received_targets(msg, config, part), expected, config, part)


def random_action(mode: str, space: gym.spaces.Box, rng: np.random.Generator) -> np.ndarray:
    """A random action of ``space``; absolute modes stay near PickCube's reachable workspace."""
    low, high = space.low.reshape(-1), space.high.reshape(-1)
    action = rng.uniform(low, high)
    if mode == "pd_joint_pos":
        action[:7] = [REST[j] + rng.uniform(-0.2, 0.2) for j in ARM]
    elif mode == "pd_ee_pose":  # tcp position and axis-angle in the robot's base frame
        action[:3] = np.array([0.55, 0.0, 0.2]) + rng.uniform(-0.08, 0.08, 3)
        action[3:6] = np.array([np.pi, 0.0, 0.0]) + rng.uniform(-0.2, 0.2, 3)
    return action.astype(np.float32)


def shapes(tree: Any) -> Any:
    """The structure of an observation: shapes and dtypes, by key."""
    if isinstance(tree, dict):
        return {k: shapes(v) for k, v in tree.items()}
    return tuple(tree.shape), str(tree.dtype).removeprefix("torch.")


def write_config(folder: Path, name: str, edit: Callable[[dict], None]) -> Path:
    """A copy of the shipped panda.yaml, edited, with the safety layer wide open: these tests
    check what the sim controller computes reaches the robot exactly (test_safety.py checks
    the limits), from random actions that the shipped limits would clip."""
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    raw.pop("robot_limits")
    raw["objects"] = {"cube": {"sim_belief": True}}  # mock_hardware has no world: panda_mock.yaml
    raw["safety"] = {
        "blend_in_steps": 1,
        "max_measured_velocity": 100.0,
        "max_tracking_error": 100.0,
        "watchdog_timeout": 0,
    }
    edit(raw)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def mock_params(config: str | Path, **overrides: object) -> dict[str, object]:
    """mock_hardware parameters: an ideal robot (no lag, no delay) starting at PickCube's rest
    pose, so resets are short. The mock orders ``initial_positions`` as it publishes
    /joint_states: the config's controlled joints, reversed."""
    cfg = load_robot_config(config)
    sim_of = {ros: sim for sim, ros in ros_names(cfg).items()}
    params: dict[str, object] = {
        "robot_config": str(config),
        "time_constant": 0.0,
        "command_delay": 0.0,
        "publish_camera": False,
        "initial_positions": [REST[sim_of[j]] for j in reversed(cfg.controlled_joints())],
    }
    params.update(overrides)
    return params


def _rename(joint: str) -> str:
    return joint.replace("panda_", "fr3_")


def _fr3_forward(raw: dict) -> None:
    """ROS names unlike the sim's (fr3_*), and forward position controllers whose ``joints``
    are in an order unlike the sim's."""
    raw["joints"] = {sim: _rename(sim) for sim in SIM_JOINTS}
    shuffled = [ARM[i] for i in (3, 1, 6, 0, 4, 2, 5)]
    raw["controllers"]["arm"].update(
        kind="forward_command_controller", joints=[_rename(j) for j in shuffled]
    )
    raw["controllers"]["gripper"]["joints"] = [_rename(j) for j in reversed(FINGERS)]
    raw["reset"]["max_joint_speed"] = 2.0


def _patient(raw: dict) -> None:
    raw["reset"]["max_joint_speed"] = 2.0
    raw["joint_states"]["max_age"] = 1.0


def _velocity_arm(raw: dict) -> None:
    raw["controllers"]["arm"].update(kind="forward_command_controller", interface="velocity")
    raw["reset"]["max_joint_speed"] = 2.0


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Robot configs for this module: shipped panda.yaml copies with one change each."""
    folder = tmp_path_factory.mktemp("configs")
    return SimpleNamespace(
        panda=write_config(folder, "panda", lambda r: None),
        fast=write_config(folder, "fast", lambda r: r["reset"].update(max_joint_speed=2.0)),
        # The observation's reading stays current for a second: the test's own waits between
        # steps must not make RealEnv re-read the joints (it computes from the observed qpos
        # only while that reading is younger than max_age).
        patient=write_config(folder, "patient", _patient),
        fr3=write_config(folder, "fr3_forward", _fr3_forward),
        velocity=write_config(folder, "velocity_arm", _velocity_arm),
        folder=folder,
    )


@pytest.fixture
def probe() -> Any:
    p = Probe()
    yield p
    p.close()


@pytest.fixture
def envs(configs: SimpleNamespace) -> Any:
    e = Envs(configs.panda)
    yield e
    e.close()


# Module-level tests must see no robot; keep every shared one inside a class.
# ---------------------------------------------------------------------------------------------
# A panda behind a joint_trajectory_controller arm and a forward-command gripper (panda.yaml)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def panda_robot(start_shared_robot: Callable[..., Any], configs: SimpleNamespace) -> Any:
    return start_shared_robot("mock_hardware", **mock_params(configs.panda))


@pytest.mark.usefixtures("panda_robot")
class TestPandaTrajectoryArm:
    def test_spaces_and_observations_equal_the_sims(self, envs: Envs, configs) -> None:
        """State obs mode: action/observation spaces are the sim's, and reset/step return the
        sim's observation shapes and dtypes, inside the observation space."""
        sim = envs.sim("pd_joint_delta_pos")
        sim_obs, _ = sim.reset(seed=0)
        sim_step = sim.step(np.zeros(8, np.float32))[0]
        env = envs.real(sim, configs.fast)
        assert env.action_space == sim.action_space
        assert env.observation_space == sim.observation_space
        obs, _ = env.reset(seed=0)
        assert shapes(obs) == shapes(sim_obs)
        assert env.observation_space.contains(obs.numpy())
        obs = env.step(env.action_space.sample())[0]
        assert shapes(obs) == shapes(sim_step)
        assert env.observation_space.contains(obs.numpy())

    @pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root here (CI runs as root)")
    def test_step_priority_runs_the_loop_thread_realtime_from_reset_to_close(
        self, envs: Envs, configs
    ) -> None:
        """step_priority: the thread that calls reset() steps under SCHED_FIFO at that
        priority until close(), then has its own scheduling back; a priority outside 1-99 is
        refused before anything starts."""
        with pytest.raises(ConfigError, match="1-99"):
            RealEnv(envs.sim(), robot_config=configs.fast, scene_reset="none", step_priority=0)

        def scheduling() -> tuple[int, int]:
            return os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(0)[0]

        before = scheduling()
        env = envs.real(envs.sim(), configs.fast, step_priority=40)
        assert env.step_realtime is None and scheduling() == before
        env.reset(seed=0)
        assert env.step_realtime is True and scheduling() == (os.SCHED_FIFO, 40)
        env.step(np.zeros(env.action_space.shape, np.float32))
        assert scheduling() == (os.SCHED_FIFO, 40)
        env.close()
        assert scheduling() == before

    @pytest.mark.parametrize("mode", POSITION_MODES)
    def test_published_targets_equal_the_sim_controllers(
        self, mode: str, envs: Envs, probe: Probe, configs
    ) -> None:
        """Each step publishes one JointTrajectory (arm) and one Float64MultiArray (gripper)
        whose values, mapped by joint name, equal the drive targets a separate copy of the sim
        controller computes from the qpos RealEnv observed before the step; the trajectory's
        single point is one control period ahead."""
        config = load_robot_config(configs.patient)
        env = envs.real(envs.sim(mode), configs.patient, listeners=2)
        ref = Reference(envs.sim(mode))
        obs, _ = env.reset(seed=0)
        ref.restart(observed_qpos(obs))
        probe.quiet()
        start = (probe.trajectory.count, probe.gripper.count)
        rng = np.random.default_rng(1)
        steps = 8
        for k in range(steps):
            action = random_action(mode, env.action_space, rng)
            expected, _ = ref.targets(observed_qpos(obs), action)
            obs = env.step(action)[0]
            trajectory = probe.trajectory.wait_since(start[0], k + 1)[k]
            gripper = probe.gripper.wait_since(start[1], k + 1)[k]
            point = trajectory.points[0]
            assert duration_to_s(point.time_from_start) == pytest.approx(env.control_dt, abs=1e-9)
            check_command(trajectory, expected, config, "arm")
            check_command(gripper, expected, config, "gripper")
        probe.quiet()
        assert probe.trajectory.count - start[0] == steps
        assert probe.gripper.count - start[1] == steps

    def test_reset_reaches_the_sims_initial_qpos_through_a_timed_trajectory(
        self, envs: Envs, probe: Probe, configs
    ) -> None:
        """After moving the arm away, reset sends the arm one JointTrajectory to the sim's
        initial qpos for the seed, timed at no more than reset.max_joint_speed, waits for it,
        and leaves /joint_states within reset.tolerance of that qpos."""
        config = load_robot_config(configs.panda)  # the shipped 0.5 rad/s
        env = envs.real(envs.sim("pd_joint_pos"), configs.panda, listeners=2)
        ref = Reference(envs.sim("pd_joint_pos"))
        env.reset(seed=0)
        away = np.array([REST[j] for j in ARM] + [-1.0], dtype=np.float32)  # gripper closed
        away[[0, 3, 5]] += [0.25, -0.2, 0.15]
        env.step(away)
        time.sleep(0.2)
        start = probe.positions()
        mark = probe.trajectory.count
        t0 = time.monotonic()
        env.reset(seed=7)
        took = time.monotonic() - t0
        initial = ref.initial_qpos(seed=7)

        trajectories = probe.trajectory.wait_since(mark, 1)
        assert len(trajectories) == 1
        target = received_targets(trajectories[0], config, "arm")
        assert_targets(target, initial, config, "arm")
        duration = duration_to_s(trajectories[0].points[0].time_from_start)
        distance = max(abs(initial[j] - start[j]) for j in SIM_JOINTS)
        assert distance > 0.2
        assert duration >= distance / config.reset.max_joint_speed - 1e-6
        assert took >= duration
        reached = probe.positions()
        for joint in SIM_JOINTS:
            assert abs(reached[joint] - initial[joint]) <= config.reset.tolerance, joint

    def test_200_steps_take_200_control_periods(self, envs: Envs, configs) -> None:
        """Step timing on an idle robot: 200 steps take 200 control periods (absolute ticks,
        no drift: within 2% + 50 ms), no step overruns, and info["timing"] reports the ticks
        and the age of the /joint_states each observation used."""
        config = load_robot_config(configs.fast)
        env = envs.real(envs.sim("pd_joint_delta_pos"), configs.fast)
        env.reset(seed=0)
        hold = np.zeros(8, np.float32)
        t0 = time.monotonic()
        for _ in range(200):
            info = env.step(hold)[4]
        elapsed = time.monotonic() - t0
        expected = 200 * env.control_dt
        assert env.control_dt == pytest.approx(1 / 20)  # PickCube's control_freq
        timing = info["timing"]
        assert timing["overruns"] == 0
        assert timing["ticks"] == 200
        assert timing["overran"] is False and timing["late_s"] == 0.0
        assert expected - 0.05 <= elapsed <= expected * 1.02 + 0.05, elapsed
        assert 0.0 <= timing["ages"]["joint_states"] <= config.joint_states_max_age
        assert timing["skew"] == {"joint_states": 0.0}

    def test_info_has_evaluate_keys_and_counts_overruns(self, envs: Envs) -> None:
        """info from reset and step carries every key of the sim's evaluate() (success is a
        bool of shape (1,)) and the timing dict; a step reached after more than one control
        period counts one overrun and reports its lateness; the next step is on time."""
        sim = envs.sim("pd_joint_delta_pos")
        sim.reset(seed=0)
        evaluate_keys = set(sim.unwrapped.evaluate())
        assert "success" in evaluate_keys
        env = envs.real(sim)
        hold = np.zeros(8, np.float32)
        _, info = env.reset(seed=0)
        assert evaluate_keys <= set(info)
        assert {"overruns", "ticks", "ages"} <= set(info["timing"])
        info = env.step(hold)[4]
        assert evaluate_keys <= set(info)
        assert info["success"].dtype == torch.bool and info["success"].shape == (1,)
        before = info["timing"]["overruns"]
        time.sleep(1.5 * env.control_dt)
        timing = env.step(hold)[4]["timing"]
        assert timing["overruns"] == before + 1
        assert timing["overran"] is True
        assert timing["late_s"] >= 0.4 * env.control_dt
        timing = env.step(hold)[4]["timing"]
        assert timing["overruns"] == before + 1 and timing["overran"] is False

    def test_constructor_never_commands_the_robot(self, envs: Envs, probe: Probe) -> None:
        """Building RealEnv (shipped config) publishes nothing: once its command publishers
        are matched to the robot and the probe, 0.5 s pass without a command, its publishers
        sent none, and /joint_states is unchanged."""
        time.sleep(0.1)
        before = probe.positions()
        env = envs.real(envs.sim("pd_joint_delta_pos"), listeners=2)
        time.sleep(0.5)
        assert probe.command_count() == 0
        assert all(command.sent == 0 for command in env.agent.commands.values())
        assert probe.positions() == before

    def test_close_leaves_the_robot_holding(self, envs: Envs, probe: Probe, configs) -> None:
        """close() sends the trajectory arm a one-point trajectory with all its joints at the
        measured position (an empty JointTrajectory is rejected by joint_trajectory_controller:
        not a hold) and the gripper its current position; the robot then stays where it was."""
        config = load_robot_config(configs.fast)
        env = envs.real(envs.sim("pd_joint_delta_pos"), configs.fast, listeners=2)
        env.reset(seed=0)
        rng = np.random.default_rng(2)
        for _ in range(3):
            env.step(random_action("pd_joint_delta_pos", env.action_space, rng))
        time.sleep(0.2)
        current = probe.positions()
        marks = probe.trajectory.count, probe.gripper.count
        env.close()
        trajectory = probe.trajectory.wait_since(marks[0], 1)
        gripper = probe.gripper.wait_since(marks[1], 1)
        time.sleep(0.3)
        assert len(probe.trajectory.since(marks[0])) == 1
        assert len(probe.gripper.since(marks[1])) == 1
        arm = config.controllers["arm"].joints
        assert list(trajectory[0].joint_names) == list(arm)
        (point,) = trajectory[0].points
        assert list(point.positions) == [current[j] for j in arm]
        assert list(gripper[0].data) == [current[j] for j in config.controllers["gripper"].joints]
        assert probe.positions() == current

    def test_bad_actions_raise_and_publish_nothing(self, envs: Envs, probe: Probe, configs):
        """NaN/inf values, wrong shapes and dict actions raise ActionError and publish no
        command; valid steps before and after do publish (the probe is listening)."""
        env = envs.real(envs.sim("pd_joint_delta_pos"), configs.fast, listeners=2)
        env.reset(seed=0)
        good = np.zeros(8, np.float32)
        probe.quiet()
        mark = probe.command_count()
        env.step(good)
        wait_until(lambda: probe.command_count() - mark >= 2, 5.0, "a valid step's commands")
        probe.quiet()
        assert probe.command_count() - mark == 2
        mark = probe.command_count()
        nan, inf, minus_inf = good.copy(), good.copy(), good.copy()
        nan[3], inf[0], minus_inf[7] = np.nan, np.inf, -np.inf
        bad: list[tuple[Any, str]] = [
            (nan, "non-finite"),
            (inf, "non-finite"),
            (minus_inf, "non-finite"),
            (np.zeros(7, np.float32), r"action shape \(7,\)"),
            (np.zeros((1, 9), np.float32), r"action shape \(1, 9\)"),
            (np.zeros((2, 8), np.float32), r"action shape \(2, 8\)"),
            ({"control_mode": "pd_joint_pos", "action": good}, "dict actions"),
        ]
        for action, message in bad:
            with pytest.raises(ActionError, match=message):
                env.step(action)
        time.sleep(0.3)
        assert probe.command_count() == mark
        env.step(good)
        wait_until(lambda: probe.command_count() - mark == 2, 5.0, "the next valid step")

    def test_subclass_overrides_take_effect(self, envs: Envs, probe: Probe, configs) -> None:
        """A RealEnv subclass's ``_step_action`` (here: replace every action by zero) decides
        what is published, and its ``get_obs`` (here: overwrite goal_pos) is what reset and
        step return. ``get_obs`` keeps BaseEnv's signature, as ManiSkill calls it."""

        class HoldStill(RealEnv):
            def _step_action(self, action: torch.Tensor) -> torch.Tensor:
                return super()._step_action(torch.zeros_like(action))

            def get_obs(self, info: dict | None = None, unflattened: bool = False):
                obs = super().get_obs(info, unflattened=True)
                obs["extra"]["goal_pos"] = torch.full_like(obs["extra"]["goal_pos"], 123.0)
                return obs if unflattened else self._flatten_raw_obs(obs)

        # patient: the test's waits must not make RealEnv re-read the joints (the expected
        # targets are computed from the observed qpos)
        config = load_robot_config(configs.patient)
        env = envs.real(envs.sim("pd_joint_delta_pos"), configs.patient, cls=HoldStill, listeners=2)
        ref = Reference(envs.sim("pd_joint_delta_pos"))
        obs, _ = env.reset(seed=0)
        assert int((obs == 123.0).sum()) == 3
        probe.quiet()
        marks = probe.trajectory.count, probe.gripper.count
        action = np.ones(8, np.float32)
        expected, _ = ref.targets(observed_qpos(obs), np.zeros(8, np.float32))
        obs = env.step(action)[0]
        assert int((obs == 123.0).sum()) == 3
        trajectory = probe.trajectory.wait_since(marks[0], 1)[0]
        gripper = probe.gripper.wait_since(marks[1], 1)[0]
        check_command(trajectory, expected, config, "arm")
        check_command(gripper, expected, config, "gripper")

    def test_user_observation_wrapper_runs_on_real_observations(self, envs: Envs, configs):
        """A user-defined gym.ObservationWrapper on the sim env transforms the real
        observations too (here: doubles them); shapes and dtypes stay the sim's."""

        class Doubled(gym.ObservationWrapper):
            def observation(self, observation: torch.Tensor) -> torch.Tensor:
                return observation * 2

        sim = Doubled(envs.sim("pd_joint_delta_pos"))
        sim_obs, _ = sim.reset(seed=0)
        env = envs.real(sim, configs.fast)
        obs, _ = env.reset(seed=0)
        assert shapes(obs) == shapes(sim_obs)
        torch.testing.assert_close(observed_qpos(obs), 2 * env.agent.get_qpos()[0])
        obs = env.step(np.zeros(8, np.float32))[0]
        torch.testing.assert_close(observed_qpos(obs), 2 * env.agent.get_qpos()[0])

    def test_cpu_gym_wrapper_returns_what_it_returns_in_sim(self, envs: Envs, configs) -> None:
        """ManiSkill's CPUGymWrapper on the sim env: reset/step return unbatched numpy
        observations and plain Python/numpy scalars, of the same types, shapes and dtypes as on
        the sim, and the spaces are the wrapper's single-env spaces."""
        sim = CPUGymWrapper(envs.sim("pd_joint_delta_pos"))
        sim_obs, sim_info = sim.reset(seed=0)
        sim_step = sim.step(np.zeros(8, np.float32))
        env = envs.real(sim, configs.fast)
        assert env.action_space == sim.action_space
        assert env.observation_space == sim.observation_space
        obs, info = env.reset(seed=0)
        assert isinstance(obs, np.ndarray) and shapes(obs) == shapes(sim_obs)
        assert env.observation_space.contains(obs)
        step = env.step(np.zeros(8, np.float32))
        assert shapes(step[0]) == shapes(sim_step[0])
        for real, simulated in zip(step[1:4], sim_step[1:4], strict=True):
            assert type(real) is type(simulated)
        assert isinstance(step[4]["success"], type(sim_step[4]["success"]))


# ---------------------------------------------------------------------------------------------
# latency_steps: each command released at tick k + d (forward arm, renamed joints)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def slow_fr3_robot(start_shared_robot: Callable[..., Any], configs: SimpleNamespace) -> Any:
    """Commands take effect half a period (20 Hz) after they arrive: the observation RealEnv
    samples right after tick k's release still shows the command released at tick k-1."""
    return start_shared_robot("mock_hardware", **mock_params(configs.fr3, command_delay=0.025))


def carries(msg: Any, expected: dict[str, float], config: RobotConfig, part: str) -> bool:
    """Whether a command message carries ``expected`` (sim names) for ``part``."""
    got = received_targets(msg, config, part)
    want = {ros: expected[sim] for sim, ros in ros_names(config).items() if ros in got}
    return all(abs(got[j] - want[j]) <= TOL for j in got)


@pytest.mark.usefixtures("slow_fr3_robot")
class TestLatencySteps:
    def test_command_of_step_n_is_released_d_ticks_later(self, envs: Envs, probe: Probe, configs):
        """latency_steps=2, pd_joint_pos: the commands arrive in step order, each carrying the
        targets the sim controller computes; step n reports the release of step n-1 (none for
        step 1), due at the tick it observes and never sent before it, sampled after it; the
        observation after step n shows step n-2's targets (before any, the reset pose the
        robot holds). A step that reaches its tick late (an overrun) observes the robot late,
        after releases that kept their schedule: its observation is not checked."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2, latency_steps=2)
        ref = Reference(envs.sim("pd_joint_pos"))
        reset = ref.initial_qpos(0)  # where the reset's last command leaves the robot
        reset_qpos = torch.tensor([reset[j] for j in SIM_JOINTS])
        obs, _ = env.reset(seed=0)
        # pd_joint_pos targets don't depend on the qpos: computed before the steps, which the
        # test's own work must not make late
        rng = np.random.default_rng(7)
        actions = [random_action("pd_joint_pos", env.action_space, rng) for _ in range(8)]
        targets = [ref.targets(observed_qpos(obs), a)[0] for a in actions]
        probe.quiet()
        mark = probe.arm_commands.count
        for n, action in enumerate(actions, start=1):
            obs, _, _, _, info = env.step(action)
            timing = info["timing"]
            assert timing["latency_steps"] == 2
            if n == 1:
                assert timing["released_step"] is None and timing["released_s"] is None
            else:
                assert timing["released_step"] == n - 1
                if not timing["overran"]:  # (an overrun re-anchors the schedule)
                    assert timing["release_due_s"] == timing["tick_s"]
                assert timing["release_due_s"] <= timing["released_s"] <= timing["sampled_s"]
                msgs = probe.arm_commands.wait_since(mark, n - 1)
                assert len(msgs) == n - 1 or len(msgs) == n  # (step n's may be out: 50 ms on)
                check_command(msgs[n - 2], targets[n - 2], config, "arm")
            if not timing["overran"]:
                shown = (
                    reset_qpos if n <= 2 else torch.tensor([targets[n - 3][j] for j in SIM_JOINTS])
                )
                torch.testing.assert_close(observed_qpos(obs), shown, atol=1e-6, rtol=0, msg=str(n))

    def test_reset_and_close_drop_queued_commands(self, envs: Envs, probe: Probe, configs):
        """latency_steps=3: after 4 steps the commands of steps 1 and 2 went out; those of steps
        3 and 4, still queued, never do: not after reset() (only its motion follows), not
        after close() (only the hold)."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2, latency_steps=3)
        ref = Reference(envs.sim("pd_joint_pos"))
        rng = np.random.default_rng(8)
        for end in (env.reset, env.close):
            obs, _ = env.reset(seed=0)
            actions = [random_action("pd_joint_pos", env.action_space, rng) for _ in range(4)]
            targets = [ref.targets(observed_qpos(obs), a)[0] for a in actions]  # (any qpos)
            probe.quiet()
            mark = probe.arm_commands.count
            for action in actions:
                env.step(action)
            assert env.queued_commands == 2
            end()
            probe.quiet()
            msgs = probe.arm_commands.since(mark)
            assert len(msgs) >= 3, "two policy commands and the reset's or the hold's"
            check_command(msgs[0], targets[0], config, "arm")
            check_command(msgs[1], targets[1], config, "arm")
            for msg in msgs[2:]:
                assert not any(carries(msg, t, config, "arm") for t in targets[2:]), msg.data
        assert env.queued_commands == 0

    def test_release_refuses_a_reading_that_aged_while_queued(
        self, envs: Envs, probe: Probe, configs
    ) -> None:
        """latency_steps=40 (2 s at 20 Hz): the policy stops stepping with two commands queued.
        At release the gate runs again: the reading RealEnv acts on is older than max_age by
        then, so it refuses and holds; the other queued command is dropped: the one command
        published is the hold, at the reset pose the robot never left, and the next step
        raises naming the release's refusal."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2, latency_steps=40)
        reset = Reference(envs.sim("pd_joint_pos")).initial_qpos(0)
        rng = np.random.default_rng(9)
        env.reset(seed=0)
        probe.quiet()
        mark = probe.arm_commands.count
        for _ in range(2):
            env.step(random_action("pd_joint_pos", env.action_space, rng))
        assert env.queued_commands == 2
        wait_until(lambda: env.queued_commands == 0, 10.0, "the first release")
        stale = r"holding after StaleInputError: /\S*joint_states \(the reading this command came"
        with pytest.raises(RealEnvError, match=stale):
            env.step(random_action("pd_joint_pos", env.action_space, rng))
        probe.quiet()
        msgs = probe.arm_commands.since(mark)
        assert len(msgs) == 1, [m.data for m in msgs]
        check_command(msgs[0], reset, config, "arm")

    def test_a_fault_between_steps_drops_the_queue(self, envs: Envs, probe: Probe, configs):
        """latency_steps=3, stepping on while the robot's /joint_states turn invalid (NaN):
        the step that samples the bad reading, or the release that checks it (whichever comes
        first), faults; the commands published are the first ones computed, in order, and none
        of those still queued then is ever published."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2, latency_steps=3)
        ref = Reference(envs.sim("pd_joint_pos"))
        rng = np.random.default_rng(10)
        obs, _ = env.reset(seed=0)
        actions = [random_action("pd_joint_pos", env.action_space, rng) for _ in range(60)]
        targets = [ref.targets(observed_qpos(obs), a)[0] for a in actions]  # (any qpos)
        probe.quiet()
        mark = probe.arm_commands.count
        ros = env.agent.ros
        stepped = 0
        try:
            for action in actions[:4]:
                env.step(action)
                stepped += 1
            ros.set_parameter("/mock_hardware", "joint_state_fault", "nan", 5.0)
            with pytest.raises(RealEnvError) as err:
                for action in actions[4:]:
                    env.step(action)
                    stepped += 1
        finally:
            ros.set_parameter("/mock_hardware", "joint_state_fault", "", 5.0)
        assert "InvalidInputError" in f"{type(err.value).__name__}: {err.value}"
        probe.quiet()
        msgs = probe.arm_commands.since(mark)
        assert 2 <= len(msgs) <= stepped, f"{len(msgs)} published of {stepped} computed"
        for msg, expected in zip(msgs, targets, strict=False):
            check_command(msg, expected, config, "arm")
        assert env.queued_commands == 0


# ---------------------------------------------------------------------------------------------
# ROS joint names unlike the sim's (fr3_*), and a forward position controller for the arm
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def fr3_robot(start_shared_robot: Callable[..., Any], configs: SimpleNamespace) -> Any:
    return start_shared_robot("mock_hardware", **mock_params(configs.fr3))


@pytest.mark.usefixtures("fr3_robot")
class TestRenamedJointsForwardArm:
    def test_joints_are_mapped_by_name(self, envs: Envs, probe: Probe, configs) -> None:
        """The robot publishes /joint_states under other names (fr3_*, mapped by the config's
        ``joints``) and in another order than the config's; the observed qpos equals, joint by
        joint, the /joint_states message it was sampled from (found by its header stamp)."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_delta_pos"), configs.fr3, listeners=2)
        names = ros_names(config)
        published = list(probe.joint_states.wait_since(0, 1, DISCOVERY_S)[-1].name)
        assert sorted(published) == sorted(names.values())
        assert published != [names[j] for j in SIM_JOINTS]
        assert published != config.controlled_joints()
        rng = np.random.default_rng(3)
        obs, _ = env.reset(seed=0)
        for k in range(4):
            msg = probe.joint_state_at(env.agent.snapshot.stamps_ns["joint_states"])
            real = dict(zip(msg.name, msg.position, strict=True))
            expected = torch.tensor([real[names[j]] for j in SIM_JOINTS], dtype=torch.float32)
            assert torch.equal(observed_qpos(obs), expected), k
            obs = env.step(random_action("pd_joint_delta_pos", env.action_space, rng))[0]

    def test_published_targets_equal_the_sim_controllers(
        self, envs: Envs, probe: Probe, configs
    ) -> None:
        """pd_joint_pos under renamed joints: each step's Float64MultiArray on the arm's and
        the gripper's forward controller, read in the controller's own (shuffled, fr3_*) joint
        order, equals the separate sim controller's drive targets mapped by name."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2)
        ref = Reference(envs.sim("pd_joint_pos"))
        obs, _ = env.reset(seed=0)
        ref.restart(observed_qpos(obs))
        probe.quiet()
        marks = probe.arm_commands.count, probe.gripper.count
        rng = np.random.default_rng(4)
        for k in range(5):
            action = random_action("pd_joint_pos", env.action_space, rng)
            expected, _ = ref.targets(observed_qpos(obs), action)
            obs = env.step(action)[0]
            arm = probe.arm_commands.wait_since(marks[0], k + 1)[k]
            gripper = probe.gripper.wait_since(marks[1], k + 1)[k]
            check_command(arm, expected, config, "arm")
            check_command(gripper, expected, config, "gripper")
        assert probe.trajectory.count == 0

    def test_observation_after_step_k_reflects_command_k(self, envs: Envs, configs) -> None:
        """Act, wait one period, observe: on a robot that applies commands at once (time
        constant 0, no delay, forward position controllers, as GenericSystem), the qpos
        observed after each pd_joint_pos step equals that step's targets (not the previous
        step's). A trajectory arm reaches its streamed point one period after it receives it,
        i.e. just after the observation, so this exact check needs forward controllers."""
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3)
        ref = Reference(envs.sim("pd_joint_pos"))
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(5)
        for k in range(6):
            action = random_action("pd_joint_pos", env.action_space, rng)
            expected, _ = ref.targets(observed_qpos(obs), action)
            previous = observed_qpos(obs).clone()
            obs = env.step(action)[0]
            target = torch.tensor([expected[j] for j in SIM_JOINTS])
            assert not torch.allclose(previous, target, atol=1e-3)
            torch.testing.assert_close(observed_qpos(obs), target, atol=1e-6, rtol=0, msg=str(k))

    def test_close_holds_the_forward_arm_at_its_position(
        self, envs: Envs, probe: Probe, configs
    ) -> None:
        """close() sends each forward position controller the current position, in its own
        joint order, and the robot stays there."""
        config = load_robot_config(configs.fr3)
        env = envs.real(envs.sim("pd_joint_pos"), configs.fr3, listeners=2)
        env.reset(seed=0)
        env.step(random_action("pd_joint_pos", env.action_space, np.random.default_rng(6)))
        time.sleep(0.1)
        current = probe.positions()
        marks = probe.arm_commands.count, probe.gripper.count
        env.close()
        arm = probe.arm_commands.wait_since(marks[0], 1)
        gripper = probe.gripper.wait_since(marks[1], 1)
        time.sleep(0.3)
        assert len(probe.arm_commands.since(marks[0])) == len(arm) == 1
        assert len(probe.gripper.since(marks[1])) == len(gripper) == 1
        assert list(arm[0].data) == [current[j] for j in config.controllers["arm"].joints]
        assert list(gripper[0].data) == [current[j] for j in config.controllers["gripper"].joints]
        assert probe.positions() == current


# ---------------------------------------------------------------------------------------------
# An arm behind a forward_command_controller with the velocity interface (pd_joint_vel)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def velocity_robot(start_shared_robot: Callable[..., Any], configs: SimpleNamespace) -> Any:
    return start_shared_robot("mock_hardware", **mock_params(configs.velocity))


@pytest.mark.usefixtures("velocity_robot")
class TestVelocityArm:
    def test_published_velocities_equal_the_sim_controllers(
        self, envs: Envs, probe: Probe, configs
    ) -> None:
        """pd_joint_vel: each step sends the velocity arm controller the sim controller's
        drive velocities and the position gripper controller its drive targets, by name;
        no trajectory is sent."""
        config = load_robot_config(configs.velocity)
        env = envs.real(envs.sim("pd_joint_vel"), configs.velocity, listeners=2)
        ref = Reference(envs.sim("pd_joint_vel"))
        obs, _ = env.reset(seed=0)
        ref.restart(observed_qpos(obs))
        probe.quiet()
        marks = probe.arm_commands.count, probe.gripper.count
        rng = np.random.default_rng(7)
        for k in range(6):
            action = random_action("pd_joint_vel", env.action_space, rng)
            positions, velocities = ref.targets(observed_qpos(obs), action)
            obs = env.step(action)[0]
            arm = probe.arm_commands.wait_since(marks[0], k + 1)[k]
            gripper = probe.gripper.wait_since(marks[1], k + 1)[k]
            check_command(arm, velocities, config, "arm")
            check_command(gripper, positions, config, "gripper")
        assert probe.trajectory.count == 0

    def test_close_stops_the_velocity_arm(self, envs: Envs, probe: Probe, configs) -> None:
        """close() sends the velocity controller zeros, and the arm stops."""
        env = envs.real(envs.sim("pd_joint_vel"), configs.velocity, listeners=2)
        env.reset(seed=0)
        env.step(np.full(8, 0.5, np.float32))
        probe.quiet()
        mark = probe.arm_commands.count
        env.close()
        probe.arm_commands.wait_since(mark, 1)
        probe.quiet()
        arm = probe.arm_commands.since(mark)
        assert [list(msg.data) for msg in arm] == [[0.0] * 7]
        time.sleep(0.1)
        stopped = probe.positions()
        time.sleep(0.2)
        assert probe.positions() == stopped


# ---------------------------------------------------------------------------------------------
# Camera observations: the mock's 640x480 test camera, wide enough for PickCube's 128x128 view
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="class")
def camera_robot(start_shared_robot: Callable[..., Any], configs: SimpleNamespace) -> Any:
    # PickCube's camera sees fov pi/2 (square); 640x480 at a vertical fov of 1.8 rad covers it.
    return start_shared_robot(
        "mock_hardware", **mock_params(configs.panda, publish_camera=True, camera_fov=1.8)
    )


@pytest.mark.usefixtures("camera_robot")
class TestCamera:
    def test_rgb_spaces_and_observations_equal_the_sims(self, envs: Envs, configs) -> None:
        """obs_mode="rgb": the spaces are the sim's and reset/step observations have the sim's
        structure, shapes and dtypes (camera frames aligned to 128x128 uint8), with the frame
        age in info["timing"]."""
        sim = envs.sim("pd_joint_delta_pos", obs_mode="rgb")
        sim_obs, _ = sim.reset(seed=0)
        env = envs.real(sim, configs.fast)
        assert env.action_space == sim.action_space
        assert env.observation_space == sim.observation_space
        obs, _ = env.reset(seed=0)
        assert shapes(obs) == shapes(sim_obs)
        assert shapes(obs)["sensor_data"]["base_camera"]["rgb"] == ((1, 128, 128, 3), "uint8")
        obs, *_, info = env.step(np.zeros(8, np.float32))
        assert shapes(obs) == shapes(sim_obs)
        assert 0.0 <= info["timing"]["ages"]["base_camera/rgb"] <= 0.5

    def test_flatten_rgbd_and_cpu_gym_wrappers(self, envs: Envs, configs) -> None:
        """FlattenRGBDObservationWrapper then CPUGymWrapper on an rgb sim env: the real
        observations are the same {"state", "rgb"} numpy arrays as the sim's, and lie in the
        wrapped observation space."""
        sim = CPUGymWrapper(FlattenRGBDObservationWrapper(envs.sim("pd_joint_delta_pos", "rgb")))
        sim_obs, _ = sim.reset(seed=0)
        env = envs.real(sim, configs.fast)
        assert env.observation_space == sim.observation_space
        obs, _ = env.reset(seed=0)
        assert shapes(obs) == shapes(sim_obs)
        assert shapes(obs) == {"state": ((29,), "float32"), "rgb": ((128, 128, 3), "uint8")}
        assert env.observation_space.contains(obs)
        obs = env.step(np.zeros(8, np.float32))[0]
        assert shapes(obs) == shapes(sim_obs)
        assert env.observation_space.contains(obs)


# ---------------------------------------------------------------------------------------------
# Bad inputs: a clear exception, and nothing published
# ---------------------------------------------------------------------------------------------
def _no_command_publishers(probe: Probe) -> bool:
    return all(probe.ros.node.count_publishers(r.topic) == 0 for r in probe.commands)


@pytest.mark.parametrize(
    "edit, named",
    [
        (lambda r: r["joints"].update(panda_joint8="panda_joint8"), "joints.panda_joint8"),
        (
            lambda r: r["controllers"]["gripper"]["joints"].append("panda_finger_joint3"),
            "'panda_finger_joint3'",
        ),
    ],
    ids=["joints-map", "controller-joints"],
)
def test_config_joint_the_sim_robot_lacks(
    edit: Callable[[dict], None], named: str, envs: Envs, probe: Probe, tmp_path: Path
) -> None:
    """A config naming a joint the sim panda lacks (in ``joints`` or in a controller's joint
    list): the constructor raises JointMismatchError naming the file and the joint, before any
    command publisher exists (none appears on the graph)."""
    path = write_config(tmp_path, "extra_joint", edit)
    with pytest.raises(JointMismatchError) as err:
        envs.real(envs.sim(), path)
    assert str(path) in str(err.value) and named in str(err.value)
    time.sleep(0.3)
    assert _no_command_publishers(probe)
    assert probe.command_count() == 0


def test_joint_missing_from_joint_states(
    envs: Envs, probe: Probe, start_robot: Callable[..., Any], tmp_path: Path
) -> None:
    """A robot whose /joint_states lacks panda_finger_joint2 (its config omits it): reset
    raises JointMismatchError naming that joint, and publishes no command."""
    omits = write_config(
        tmp_path,
        "no_finger2",
        lambda r: r["controllers"]["gripper"].update(joints=["panda_finger_joint1"]),
    )
    start_robot("mock_hardware", **mock_params(omits))
    env = envs.real(envs.sim(), listeners=2)
    with pytest.raises(JointMismatchError, match="/joint_states lacks joint 'panda_finger_joint2'"):
        env.reset(seed=0)
    time.sleep(0.3)
    assert probe.command_count() == 0


def test_silent_joint_states_topic(envs: Envs, probe: Probe, tmp_path: Path) -> None:
    """No robot running: reset raises TopicTimeoutError naming /joint_states and the
    configured timeout (1 s here), and publishes no command."""
    time.sleep(0.2)
    assert probe.ros.node.count_publishers("/joint_states") == 0, "a robot is still running"
    path = write_config(tmp_path, "short_timeout", lambda r: r.update(input_timeout=1.0))
    env = envs.real(envs.sim(), path, listeners=1)
    t0 = time.monotonic()
    with pytest.raises(TopicTimeoutError, match=r"no message on /joint_states after 1\.0 s"):
        env.reset(seed=0)
    assert 1.0 <= time.monotonic() - t0 < 3.0
    time.sleep(0.2)
    assert probe.command_count() == 0


def test_unsupported_control_mode(envs: Envs, probe: Probe) -> None:
    """A control mode whose targets a ros2_control controller can't take (pd_joint_pos_vel:
    position and velocity per joint): ValueError naming it and listing the supported modes,
    before any command publisher exists."""
    with pytest.raises(ValueError) as err:
        envs.real(envs.sim("pd_joint_pos_vel"))
    message = str(err.value)
    assert "control mode 'pd_joint_pos_vel'" in message
    supported = (  # the panda's modes whose controllers each set one kind of drive target
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
    assert all(mode in message for mode in supported)
    time.sleep(0.3)
    assert _no_command_publishers(probe)


def test_camera_too_narrow_for_the_sim_camera(
    envs: Envs, probe: Probe, start_robot: Callable[..., Any], configs
) -> None:
    """A real camera whose view doesn't cover the sim camera's (640x480 at a vertical fov of
    1.2 rad against PickCube's 90 degree square view): reset raises CameraFovError naming the
    camera, before the robot is commanded."""
    params = mock_params(configs.panda, publish_camera=True, camera_fov=1.2)
    start_robot("mock_hardware", **params)
    env = envs.real(envs.sim(obs_mode="rgb"), configs.fast, listeners=2)
    with pytest.raises(CameraFovError, match="base_camera"):
        env.reset(seed=0)
    time.sleep(0.3)
    assert probe.command_count() == 0
