"""Faults a real arm meets, injected between real processes: what RealEnv publishes, and what
it doesn't.

``mock_hardware`` runs as a separate process and stands in for the physical arm and its
ros2_control controllers (both cannot exist here); its ``joint_state_fault`` knob makes it
publish the broken /joint_states a faulty driver would, and ``command_delay`` a slow robot.
RealEnv runs in this process, or, for the signal tests, in a child process running the
README's loop (``realenv_loop.py``). A probe node records every command and /joint_states.
The robot config is the shipped panda.yaml and its safety limits (reset speed raised to 2
rad/s to keep resets short).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from ros_helpers import RECORD_QOS, policy_env, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from test_real_env import DISCOVERY_S, Probe, mock_params

from maniskill_real.config import load_robot_config
from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import (
    ConfigError,
    InvalidInputError,
    RealEnvError,
    SafetyError,
    StaleInputError,
)
from maniskill_real.ros.agent import WRITER_CHECK_PERIOD_S
from maniskill_real.ros.motion import RESET_COMMAND_RATE

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
ARM = [f"panda_joint{i}" for i in range(1, 8)]
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
REST_TCP = np.array([0.627, 0.038, 0.182, -3.106, 0.016, -0.009])
"""PickCube's rest TCP in pd_ee_pose's action frame: xyz (m, robot base), XYZ Euler (rad)."""


def shipped(tmp_path: Path, name: str = "panda", **edits: Any) -> Path:
    """The shipped panda.yaml, reset at 2 rad/s, with top-level keys replaced by ``edits``, and
    no watchdog unless ``edits`` bring one: a test that waits for its recorder between steps
    is a stalled policy to the watchdog (tested on its own below)."""
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    raw["reset"]["max_joint_speed"] = 2.0
    raw["safety"]["watchdog_timeout"] = 0
    raw["objects"] = {"cube": {"sim_belief": True}}  # mock_hardware has no world: panda_mock.yaml
    for key, value in edits.items():
        raw[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def safety(**overrides: Any) -> dict:
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())["safety"]
    return {**raw, "watchdog_timeout": 0, **overrides}


def velocity_arm(tmp_path: Path) -> Path:
    raw = yaml.safe_load((REPO / "config" / "panda.yaml").read_text())
    raw["reset"]["max_joint_speed"] = 2.0
    raw["objects"] = {"cube": {"sim_belief": True}}  # mock_hardware has no world: panda_mock.yaml
    raw["controllers"]["arm"].update(kind="forward_command_controller", interface="velocity")
    path = tmp_path / "velocity.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def probe() -> Any:
    p = Probe()
    yield p
    p.close()


@pytest.fixture
def envs() -> Any:
    made: list[Any] = []
    yield made
    for env in reversed(made):
        env.close()


def real_env(envs: list, config: Path, mode: str = "pd_joint_delta_pos") -> RealEnv:
    """A RealEnv whose command topics the robot and the probe both hear (volatile topics keep
    nothing for a late subscriber)."""
    env = RealEnv(policy_env(mode), robot_config=config, scene_reset="none")
    envs.append(env)
    for command in env.agent.commands.values():
        wait_until(lambda c=command: c.subscriber_count >= 2, DISCOVERY_S, command.topic)
    return env


def commands_since(probe: Probe, marks: tuple[int, ...]) -> list[Any]:
    probe.quiet()
    return [m for r, mark in zip(probe.commands, marks, strict=True) for m in r.since(mark)]


def marks(probe: Probe) -> tuple[int, ...]:
    return tuple(r.count for r in probe.commands)


def assert_only_holds(sent: list[Any], measured: dict[str, float]) -> None:
    """Every message is a hold at ``measured`` (joint name -> position): nothing moved."""
    for msg in sent:
        if hasattr(msg, "points"):
            (point,) = msg.points
            got = dict(zip(msg.joint_names, point.positions, strict=True))
        else:
            got = dict(zip(FINGERS, msg.data, strict=True))  # the gripper controller's order
        assert got == pytest.approx({j: measured[j] for j in got}, abs=1e-6)


def set_fault(probe: Probe, value: str) -> None:
    probe.ros.set_parameter("/mock_hardware", "joint_state_fault", value, DISCOVERY_S)


# ---------------------------------------------------------------------------------------------
# check, then send
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault, error, says",
    [
        ("duplicate_name", InvalidInputError, "more than once"),
        ("nan", InvalidInputError, "non-finite"),
        ("future_stamp", InvalidInputError, "in the future"),
        ("zero_stamp", InvalidInputError, "zero header stamp"),
    ],
)
def test_an_untrustworthy_reading_sends_nothing(
    tmp_path: Path,
    start_robot: Callable[..., Any],
    probe: Probe,
    envs: list,
    fault: str,
    error: type,
    says: str,
) -> None:
    """A broken /joint_states (after the observation the policy acted on has aged past its
    max age): step() raises naming the fault and publishes nothing; every later step refuses
    until reset(), which succeeds once the robot's readings are sound again."""
    config = shipped(tmp_path)
    start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config)
    env.reset(seed=0)
    env.step(np.zeros(8, dtype=np.float32))
    set_fault(probe, fault)
    time.sleep(0.4)  # the observation's reading is now older than max_age (0.25 s)
    before = marks(probe)
    with pytest.raises(error, match=says):
        env.step(np.full(8, 0.5, dtype=np.float32))
    with pytest.raises(RealEnvError, match="holding after"):
        env.step(np.full(8, 0.5, dtype=np.float32))
    assert commands_since(probe, before) == []
    set_fault(probe, "")
    time.sleep(0.3)  # sound readings again
    env.reset(seed=0)
    env.step(np.zeros(8, dtype=np.float32))


def test_a_restarted_robot_is_not_commanded_from_the_old_reading(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """The robot process dies mid-episode and comes back elsewhere (joint 1 moved by 0.44 rad).
    Steps during the outage raise and publish nothing, and so do steps after the restart: the
    env holds until reset(), which then drives the robot from where it really is."""
    config = shipped(tmp_path, safety=safety(watchdog_timeout=0))  # staleness, not the watchdog
    params = mock_params(config)
    robot = start_robot("mock_hardware", **params)
    env = real_env(envs, config)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.zeros(8, dtype=np.float32))
    robot.stop()
    time.sleep(0.4)
    before = marks(probe)
    with pytest.raises(StaleInputError, match="joint_states"):
        env.step(np.zeros(8, dtype=np.float32))
    for _ in range(5):
        with pytest.raises(RealEnvError, match="holding after StaleInputError"):
            env.step(np.zeros(8, dtype=np.float32))
    assert commands_since(probe, before) == []

    moved = list(params["initial_positions"])
    moved[-1] += 0.44  # panda_joint1: the mock lists joints in reverse
    start_robot("mock_hardware", **{**params, "initial_positions": moved})
    probe.positions()
    with pytest.raises(RealEnvError, match="holding after"):
        env.step(np.zeros(8, dtype=np.float32))
    assert commands_since(probe, before) == []
    env.reset(seed=0)  # sound readings again: the robot is driven to the episode start


def test_a_failed_reset_blocks_step(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """reset() fails (the robot is gone): step() then raises and publishes nothing."""
    config = shipped(tmp_path, input_timeout=1.0)
    robot = start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config)
    env.reset(seed=0)
    robot.stop()
    time.sleep(0.4)
    before = marks(probe)
    with pytest.raises(RealEnvError):
        env.reset(seed=1)
    with pytest.raises(RealEnvError, match="holding after|call reset"):
        env.step(np.zeros(8, dtype=np.float32))
    assert commands_since(probe, before) == []


# ---------------------------------------------------------------------------------------------
# command limits
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["pd_joint_pos", "pd_ee_pose", "pd_joint_delta_pos"])
def test_extreme_actions_are_clipped_to_the_limits(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list, mode: str
) -> None:
    """The corners of the action space, in every mode: each published arm target stays within
    one control period at the robot's speed limit of the measured position, inside the joint
    limits and the margin, and info names the joints clipped."""
    config = shipped(tmp_path)
    start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config, mode)
    cfg = load_robot_config(config)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    lower, upper = env.safety.lower, env.safety.upper
    step = env.safety.max_velocity * env.control_dt
    clipped = 0
    index = [env.safety.names.index(j) for j in cfg.controllers["arm"].joints]
    # Until the probe has heard this env's arm topic once, a step's message may be lost to it
    # (volatile; an earlier test's robot, lingering in the graph, can make the subscriber
    # count look ready): step until one arrives (every step is bounded by the safety layer).
    mark = probe.trajectory.count
    for _ in range(100):
        env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        time.sleep(0.02)
        if probe.trajectory.count > mark:
            break
    for i in range(16):
        newest = probe.joint_states.kept()[-1]  # the arm may still move: the JTC ramps
        measured = dict(zip(newest.name, newest.position, strict=True))
        before = marks(probe)
        # corners, and actions inside the space (for pd_ee_pose, reachable poses near the
        # rest TCP, which IK turns into joint jumps of up to 1.4 rad; most corners aren't)
        low, high = env.action_space.low, env.action_space.high
        corner = np.where(rng.random(low.shape) < 0.5, low, high)
        if mode == "pd_ee_pose":
            inside = np.concatenate([REST_TCP + rng.uniform(-0.3, 0.3, 6), [1.0]])
        else:
            inside = rng.uniform(low, high)
        action = (corner if i % 2 else inside).astype(np.float32)
        _, _, _, _, info = env.step(action)
        clipped += bool(info["safety"]["clipped"])
        (msg,) = probe.trajectory.wait_since(before[0], 1)
        target = np.array(msg.points[0].positions)
        current = np.array([measured[j] for j in msg.joint_names])
        # RealEnv bounds the step against the newest reading it has when it sends; this
        # probe's newest may be one 10 ms robot tick older, in which the arm moves at most
        # its speed limit x 10 ms (2 ms margin for delivery)
        tick = env.safety.max_velocity[index] * 0.012
        assert np.all(np.abs(target - current) <= step[index] + tick)
        assert np.all((target >= lower[index] - 1e-6) & (target <= upper[index] + 1e-6))
    assert clipped > 0


def test_refuse_raises_and_sends_nothing(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """``on_limit: refuse`` for the step limit: a big action raises SafetyError naming the
    joint, nothing is published, and the robot holds (it was not moving)."""
    config = shipped(tmp_path, safety=safety(on_limit={"step": "refuse"}))
    start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config, "pd_joint_pos")
    env.reset(seed=0)
    held = probe.positions()
    before = marks(probe)
    with pytest.raises(SafetyError, match="step limit: joint panda_joint"):
        env.step(np.ones(8, dtype=np.float32))
    assert_only_holds(commands_since(probe, before), held)


def test_a_delayed_robot_is_out_of_distribution(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """A 0.2 s command delay (lag the policy never saw), at the shipped limits: the arm follows
    its targets' path, but late; SafetyError says by how much, and the robot holds."""
    config = shipped(tmp_path, safety=safety(blend_in_steps=1))
    start_robot("mock_hardware", **mock_params(config, command_delay=0.2))
    env = real_env(envs, config, "pd_joint_delta_pos")
    env.reset(seed=0)
    with pytest.raises(SafetyError, match=r"s late, above safety.max_tracking_lag 0.15"):
        for _ in range(40):
            env.step(np.full(8, 1.0, dtype=np.float32))


def test_an_undelayed_robot_is_on_time(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """The same motion without the delay, on an arm with a first-order lag (20 ms): every step's
    info reports a tracking lag far below the limit, and none raises."""
    config = shipped(tmp_path, safety=safety(blend_in_steps=1))
    start_robot("mock_hardware", **mock_params(config, time_constant=0.02))
    env = real_env(envs, config, "pd_joint_delta_pos")
    env.reset(seed=0)
    lags = [env.step(np.full(8, 1.0, dtype=np.float32))[4]["safety"]["tracking_lag"]]
    for _ in range(15):
        lags.append(env.step(np.full(8, 1.0, dtype=np.float32))[4]["safety"]["tracking_lag"])
    assert max(lags) < 0.15


def test_a_forward_reset_waits_for_a_lagging_arm(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """A forward position controller's reset on a sluggish arm (first-order lag 0.3 s), 0.6 rad
    from the reset pose: every reset command lies within one reset command period at
    reset.max_joint_speed of the newest /joint_states before it (an open-loop ramp ran up to
    0.15 rad ahead of such an arm). The probe hears both topics on one thread, in order."""
    raw = yaml.safe_load(shipped(tmp_path).read_text())
    raw["controllers"]["arm"].update(kind="forward_command_controller", interface="position")
    config = tmp_path / "forward.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    params = mock_params(config, time_constant=0.3)
    order = list(reversed(load_robot_config(config).controlled_joints()))
    params["initial_positions"][order.index("panda_joint1")] += 0.6
    start_robot("mock_hardware", **params)
    heard: list[tuple[str, Any]] = []
    for kind, msg_type, topic in (
        ("js", JointState, "/joint_states"),
        ("cmd", Float64MultiArray, "/arm_controller/commands"),
    ):
        probe.ros.subscribe(msg_type, topic, lambda m, k=kind: heard.append((k, m)), RECORD_QOS)
    env = real_env(envs, config, "pd_joint_delta_pos")
    env.reset(seed=0)
    lead = 2.0 / RESET_COMMAND_RATE  # reset.max_joint_speed 2 rad/s (shipped() sets it)
    arm = list(load_robot_config(config).controllers["arm"].joints)
    gaps, newest = [], None
    for kind, msg in list(heard):
        if kind == "js":
            newest = dict(zip(msg.name, msg.position, strict=True))
        elif newest is not None:
            gaps.append(max(abs(v - newest[j]) for j, v in zip(arm, msg.data, strict=True)))
    assert len(gaps) > 20, "the reset moved through the forward controller"
    assert max(gaps) <= lead + 0.01, f"a reset command {max(gaps):.3f} rad ahead of the arm"


# ---------------------------------------------------------------------------------------------
# closed by default
# ---------------------------------------------------------------------------------------------
def test_config_refuses_what_the_robot_cannot_do(tmp_path: Path) -> None:
    too_fast = shipped(tmp_path, "fast", reset={"max_joint_speed": 100.0})
    with pytest.raises(ConfigError, match="reset.max_joint_speed.*exceeds the robot's slowest"):
        load_robot_config(too_fast)
    over = shipped(tmp_path, "over", safety=safety(max_joint_velocity=5.0))
    with pytest.raises(ConfigError, match="robot_limits.max_joint_velocity.panda_joint1"):
        load_robot_config(over)
    twice = tmp_path / "twice.yaml"
    twice.write_text(shipped(tmp_path).read_text() + "\nnamespace: /left\n")
    with pytest.raises(ConfigError, match="duplicate key 'namespace'"):
        load_robot_config(twice)
    for bad in ({"namespace": 5}, {"joint_states": {"topic": "joint states"}}):
        with pytest.raises(ConfigError, match=str(tmp_path)):
            load_robot_config(shipped(tmp_path, "bad", **bad))


def test_a_second_writer_is_refused(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """Two RealEnvs on one robot: the second one's reset refuses, naming the first; the first
    one's steps refuse too within WRITER_CHECK_PERIOD_S (the gripper would otherwise be told
    open/close in turn)."""
    config = shipped(tmp_path, safety=safety(watchdog_timeout=0))  # the waits are discovery's
    start_robot("mock_hardware", **mock_params(config))
    first = real_env(envs, config)
    first.reset(seed=0)
    second = real_env(envs, config)
    topic = first.agent.commands["gripper"].topic
    # Refused once DDS discovery has shown each process the other's publisher (on one host
    # normally well under a second; until then neither can know).
    wait_until(lambda: second.agent.ros.other_publishers(topic), DISCOVERY_S, "discovery")
    with pytest.raises(RealEnvError, match="also publish"):
        second.reset(seed=0)
    wait_until(lambda: first.agent.ros.other_publishers(topic), DISCOVERY_S, "discovery")
    with pytest.raises(RealEnvError, match="also publish"):  # looked for at least every period
        deadline = time.monotonic() + 4 * WRITER_CHECK_PERIOD_S
        while time.monotonic() < deadline:
            first.step(np.zeros(8, dtype=np.float32))


def test_parameters_of_realenv_are_read_only(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    """Another process can't switch RealEnv's node to sim time (which would disable stale
    detection): the parameter service refuses."""
    config = shipped(tmp_path)
    start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config)
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="read-only"):
        probe.ros.set_parameter("/real_env", "use_sim_time", True, DISCOVERY_S)
    assert env.agent.ros.node.get_parameter("use_sim_time").value is False


def test_deadman_must_be_fresh_and_true(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe, envs: list
) -> None:
    from std_msgs.msg import Bool

    config = shipped(tmp_path, safety=safety(deadman={"topic": "deadman", "max_age": 0.3}))
    start_robot("mock_hardware", **mock_params(config))
    env = real_env(envs, config)
    heartbeat = probe.ros.publisher(Bool, "/deadman")
    stop = {"beat": True}

    def beat() -> None:
        while stop["beat"]:
            heartbeat.publish(Bool(data=True))
            time.sleep(0.05)

    import threading

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        wait_until(lambda: env.agent.deadman.get()[0] is not None, DISCOVERY_S, "a heartbeat")
        env.reset(seed=0)
        env.step(np.zeros(8, dtype=np.float32))
    finally:
        stop["beat"] = False
        thread.join()
    time.sleep(0.4)  # the heartbeat is stale (0.3 s); within the watchdog's 0.5 s
    held = probe.positions()
    before = marks(probe)
    with pytest.raises(SafetyError, match="deadman /deadman is .* old"):
        env.step(np.full(8, 1.0, dtype=np.float32))
    assert_only_holds(commands_since(probe, before), held)


# ---------------------------------------------------------------------------------------------
# signals and the watchdog: RealEnv in a child process
# ---------------------------------------------------------------------------------------------
def start_loop(config: Path, tmp_path: Path, stall: float = 0.0) -> subprocess.Popen:
    log = open(tmp_path / "loop.log", "w")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "realenv_loop.py"), str(config), str(stall)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=os.environ,
    )
    line = proc.stdout.readline()
    assert line.strip() == "stepping", (tmp_path / "loop.log").read_text()
    return proc


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, 143)])
def test_signals_hold_the_arm(
    tmp_path: Path,
    start_robot: Callable[..., Any],
    probe: Probe,
    signum: int,
    code: int,
) -> None:
    """SIGINT or SIGTERM while the README's loop (no try/finally) drives a velocity arm: the
    process sends zero velocity, exits as Python does for that signal (KeyboardInterrupt
    re-raised as SIGINT, SystemExit(143) for SIGTERM; not an abort), and the arm stops."""
    config = velocity_arm(tmp_path)
    start_robot("mock_hardware", **mock_params(config))
    proc = start_loop(config, tmp_path)
    # The probe hears the loop's commands before the signal: a probe that had not discovered
    # the loop's publisher yet (it takes up to seconds) heard no hold either (CI-like run).
    stepping = probe.arm_commands.count
    probe.arm_commands.wait_since(stepping, 1, DISCOVERY_S)
    before = marks(probe)
    proc.send_signal(signum)
    assert proc.wait(timeout=20) == code, (tmp_path / "loop.log").read_text()
    zeros = [m for m in commands_since(probe, before) if hasattr(m, "data") and len(m.data) == 7]
    assert zeros and list(zeros[-1].data) == [0.0] * 7
    a = probe.positions()
    time.sleep(0.5)
    b = probe.positions()
    assert [b[j] for j in ARM] == pytest.approx([a[j] for j in ARM], abs=1e-9)


def test_close_names_the_controllers_that_never_acknowledged_its_hold(
    tmp_path: Path, start_robot: Callable[..., Any], capfd: pytest.CaptureFixture
) -> None:
    """close() holds, then waits for the controllers' DDS acknowledgements before its node goes
    (a reliable writer resends a lost sample only while it exists). mock_hardware, standing in
    for ros2_control, is stopped with SIGSTOP after a step, like a controller process that hung:
    close() gives up after DELIVERY_TIMEOUT_S, not never, and logs an error naming each
    controller, instead of leaving as if the hold had arrived. With the mock running, the same
    close() logs none."""
    config = shipped(tmp_path)
    for stop in (False, True):
        robot = start_robot("mock_hardware", **mock_params(config))
        env = RealEnv(policy_env(), robot_config=config, scene_reset="none")
        try:
            env.reset(seed=0)
            env.step(np.zeros(8, dtype=np.float32))
            capfd.readouterr()
            if stop:
                os.kill(robot.proc.pid, signal.SIGSTOP)
            env.close()
        finally:
            os.kill(robot.proc.pid, signal.SIGCONT)
            env.close()
            robot.stop()
        err = capfd.readouterr().err
        assert "holding at the measured position: close()" in err
        unacked = "the hold of close() was not acknowledged by arm_controller, gripper_controller"
        assert (unacked in err) == stop, err


def test_the_watchdog_stops_a_stalled_policy(
    tmp_path: Path, start_robot: Callable[..., Any], probe: Probe
) -> None:
    """The policy stalls for 2 s between steps with a velocity arm moving: within the watchdog
    timeout (0.5 s) the arm gets zero velocity and stops; the next step raises, naming the
    watchdog."""
    config = velocity_arm(tmp_path)
    start_robot("mock_hardware", **mock_params(config))
    proc = start_loop(config, tmp_path, stall=2.0)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("RealEnvError") and "watchdog" in line, line
        wait_until(lambda: probe.arm_commands.count > 0, DISCOVERY_S, "arm commands")
        last = probe.arm_commands.kept()[-1]
        assert list(last.data) == [0.0] * 7
    finally:
        proc.kill()
        proc.wait()
