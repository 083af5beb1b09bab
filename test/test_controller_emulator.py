"""The ros2_control controller emulator (``surface.py`` on ``trajectory_rules.py``) is as strict
as ros2_controllers' joint_trajectory_controller and forward_command_controller (jazzy).

- ``trajectory_rules``: each rejection, with upstream's log message, and the start, fill and
  timeout rules (plain data; no ROS).
- ``ControllerEmulator`` in this process: its subscription callbacks are called with real messages,
  and its clock and measured positions are the test's (they stand in for a robot's, which has
  no other way to be set to exact values); no DDS traffic is needed for what it accepts.
- ``mock_hardware`` in its own process, over real DDS: rejected trajectories (empty, partial,
  ending in the past) are logged and leave the running trajectory running, as /joint_states
  recorded here shows; a one-point trajectory at the measured position holds the arm there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from builtin_interfaces.msg import Duration, Time
from ros_helpers import RECORD_QOS, wait_until
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.benches import trajectory_rules as rules
from maniskill_real.benches.trajectory_rules import JtcParameters, Point, Trajectory
from maniskill_real.config import load_robot_config
from maniskill_real.ros.commands import duration_msg
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import time_msg
from maniskill_real.tools.processes import RobotProcess

ARM = [f"panda_joint{i}" for i in range(1, 8)]
FINGERS = ["panda_finger_joint1", "panda_finger_joint2"]
S = 1_000_000_000  # ns
NOW = 100 * S
DEFAULT = JtcParameters()


def traj(
    names: list[str] = ARM,
    points: list[Point] | None = None,
    stamp_ns: int = 0,
) -> Trajectory:
    if points is None:
        points = [Point(S, [0.5] * len(names))]
    return Trajectory(names, points, stamp_ns // S, stamp_ns % S)


def reason(t: Trajectory, params: JtcParameters = DEFAULT, now_ns: int = NOW) -> str | None:
    return rules.trajectory_rejection(t, ARM, params, now_ns)


# ---------------------------------------------------------------------------------------------
# trajectory_rules: what joint_trajectory_controller's validate_trajectory_msg refuses
# ---------------------------------------------------------------------------------------------
JOINTS_MISMATCH = "Joints on incoming trajectory don't match the controller joints."
PARTIAL = JtcParameters(allow_partial_joints_goal=True)


def test_a_full_one_point_trajectory_is_accepted() -> None:
    assert reason(traj()) is None


def test_an_empty_joint_trajectory_is_rejected_not_a_hold() -> None:
    """``JointTrajectory()``: no joints, so not the controller's joints; with partial goals
    allowed it fails the empty-names check instead."""
    assert reason(Trajectory([], [])) == JOINTS_MISMATCH
    assert reason(Trajectory([], []), PARTIAL) == "Empty joint names on incoming trajectory."


def test_a_partial_trajectory_needs_allow_partial_joints_goal() -> None:
    partial = traj(ARM[:3])
    assert reason(partial) == JOINTS_MISMATCH
    assert reason(partial, PARTIAL) is None


def test_no_points() -> None:
    assert reason(traj(points=[])) == "Empty trajectory received."


def test_an_unknown_joint() -> None:
    names = [*ARM[:6], "elbow"]
    assert reason(traj(names)) == "Incoming joint elbow doesn't match the controller's joints."


def test_a_nonzero_end_velocity_needs_allow_nonzero_velocity_at_trajectory_end() -> None:
    velocities = [0.0] * 6 + [0.25]
    t = traj(points=[Point(S, [0.5] * 7, velocities)])
    assert reason(t) == (
        "Velocity of last trajectory point of joint panda_joint7 is not zero: 0.250000000000000"
    )
    assert reason(t, JtcParameters(allow_nonzero_velocity_at_trajectory_end=True)) is None
    # upstream compares with float epsilon, and only the last point
    tiny = [Point(S, [0.1] * 7, [0.3] * 7), Point(2 * S, [0.5] * 7, [1e-8] * 7)]
    assert reason(traj(points=tiny)) is None


def test_a_nonzero_stamp_that_ends_in_the_past() -> None:
    """A zero stamp means "start now"; a non-zero one is refused if stamp + the last
    time_from_start lies before the controller's clock."""
    past = traj(stamp_ns=NOW - 3 * S)  # one point at 1 s: ended 2 s ago
    assert reason(past) == (
        "Received trajectory with non-zero start time (97.000000) that ends in the past (98.000000)"
    )
    assert reason(traj(stamp_ns=0)) is None
    assert reason(traj(stamp_ns=NOW - S // 2)) is None  # started, still running


def test_times_must_strictly_increase() -> None:
    points = [Point(S, [0.1] * 7), Point(S, [0.2] * 7)]
    assert reason(traj(points=points)) == (
        "Time between points 0 and 1 is not strictly increasing, it is 1.000000 and 1.000000 "
        "respectively"
    )


def test_every_point_has_one_position_per_joint() -> None:
    points = [Point(S, [0.1] * 7), Point(2 * S, [0.2] * 6)]
    assert reason(traj(points=points)) == (
        "Mismatch between joint_names size (7) and positions (6) at point #1."
    )
    assert reason(traj(points=[Point(S, [])])) == (
        "Mismatch between joint_names size (7) and positions (0) at point #0."
    )
    bad_acc = [Point(S, [0.1] * 7, accelerations=[0.0] * 3)]
    assert reason(traj(points=bad_acc)) == (
        "Mismatch between joint_names size (7) and accelerations (3) at point #0."
    )


def test_effort_is_refused_without_an_effort_interface() -> None:
    t = traj(points=[Point(S, [0.1] * 7, effort=[0.0] * 7)])
    assert reason(t) == (
        "Trajectories with effort fields are only supported for controllers using the 'effort' "
        "command interface."
    )


def test_what_upstream_does_not_check_is_refused_too() -> None:
    """Duplicate names (upstream would leave one joint stale), NaN (upstream would command it)
    and a negative stamp (rclcpp::Time throws)."""
    dup = traj([*ARM[:6], ARM[0]])
    assert reason(dup).startswith("Duplicate joint names on incoming trajectory")
    nan = traj(points=[Point(S, [0.1] * 6 + [float("nan")])])
    assert reason(nan) == "Non-finite positions at point #0 (not checked upstream)"
    negative = Trajectory(ARM, [Point(S, [0.1] * 7)], stamp_sec=-1)
    assert reason(negative) == "cannot store a negative time point in rclcpp::Time"


# ---------------------------------------------------------------------------------------------
# trajectory_rules: how an accepted trajectory starts, and the command timeout
# ---------------------------------------------------------------------------------------------
def test_a_new_trajectory_starts_from_the_measured_state_unless_told_otherwise() -> None:
    measured, desired = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    assert rules.start_state(measured, desired, DEFAULT).tolist() == [0.1, 0.2]
    for params in (
        JtcParameters(open_loop_control=True),
        JtcParameters(interpolate_from_desired_state=True),
    ):
        assert rules.start_state(measured, desired, params).tolist() == [0.3, 0.4]


def test_knots_with_a_zero_stamp_start_now_from_the_start_state() -> None:
    t = Trajectory(["a", "b"], [Point(S, [1.0, 2.0]), Point(3 * S, [2.0, 3.0])])
    times, pos = rules.knots(t, ["a", "b"], np.array([0.0, 0.5]), np.zeros(2), now_s=10.0)
    assert times.tolist() == [10.0, 11.0, 13.0]
    assert pos.tolist() == [[0.0, 0.5], [1.0, 2.0], [2.0, 3.0]]


def test_knots_with_a_stamp_use_it_and_skip_the_start_once_the_first_point_passed() -> None:
    t = Trajectory(["a"], [Point(S, [1.0]), Point(3 * S, [2.0])], stamp_sec=8)
    times, pos = rules.knots(t, ["a"], np.array([0.0]), np.zeros(1), now_s=10.0)
    assert times.tolist() == [9.0, 11.0] and pos.tolist() == [[1.0], [2.0]]
    future = Trajectory(["a"], [Point(S, [1.0])], stamp_sec=12)
    times, pos = rules.knots(future, ["a"], np.array([0.5]), np.zeros(1), now_s=10.0)
    assert times.tolist() == [10.0, 13.0] and pos.tolist() == [[0.5], [1.0]]


def test_knots_of_a_partial_trajectory_hold_the_missing_joints_at_their_command() -> None:
    """fill_partial_goal: a joint the message leaves out keeps its position command."""
    t = Trajectory(["c", "a"], [Point(S, [3.0, 1.0])])
    before, commanded = np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8, 0.9])
    _, pos = rules.knots(t, ["a", "b", "c"], before, commanded, now_s=0.0)
    assert pos.tolist() == [[0.1, 0.2, 0.3], [1.0, 0.8, 3.0]]


def test_command_timeout() -> None:
    assert not rules.command_timed_out(end_s=1.0, now_s=100.0, params=DEFAULT)  # 0 = off
    params = JtcParameters(cmd_timeout=0.5)
    assert not rules.command_timed_out(end_s=1.0, now_s=1.5, params=params)
    assert rules.command_timed_out(end_s=1.0, now_s=1.6, params=params)
    with pytest.raises(ValueError, match="cmd_timeout"):
        JtcParameters(cmd_timeout=-1.0)


def test_forward_command_outcomes_are_jazzys() -> None:
    Out = rules.ForwardOutcome
    assert rules.forward_command([0.1, 0.2], 2) == (Out.APPLY, None)
    assert rules.forward_command([float("inf"), 0.2], 2) == (
        Out.DROPPED,
        "Non-finite value received. Dropping message",
    )
    assert rules.forward_command([], 2) == (Out.NO_COMMAND, None)
    assert rules.forward_command([0.1], 2) == (
        Out.SIZE_ERROR,
        "command size (1) does not match number of interfaces (2)",
    )


# ---------------------------------------------------------------------------------------------
# ControllerEmulator in this process: the test sets its clock and the measured positions
# ---------------------------------------------------------------------------------------------
class Surface:
    """A ControllerEmulator for panda.yaml (joints in config order), its clock and measurement."""

    def __init__(self, **jtc: JtcParameters) -> None:
        from maniskill_real.benches.controller_emulator import ControllerEmulator

        self.ros = RosNode("surface_unit_test")
        config = load_robot_config("panda")
        self.names = config.controlled_joints()
        self.now = 0.0
        self.measured = np.zeros(len(self.names))
        try:
            self.surface = ControllerEmulator(
                self.ros,
                config,
                self.names,
                np.zeros(len(self.names)),
                lambda: self.now,
                lambda: self.measured,
                jtc_parameters=jtc,
            )
        except Exception:
            self.ros.close()  # a refused configuration must not leave its subscribers behind
            raise
        self.callbacks = {s.topic_name: s.callback for s in self.ros.node.subscriptions}

    def arm(self, positions: list[float], after: float, names: list[str] = ARM) -> None:
        point = JointTrajectoryPoint(positions=positions, time_from_start=duration_msg(after))
        msg = JointTrajectory(joint_names=names, points=[point])
        self.callbacks["/arm_controller/joint_trajectory"](msg)

    def gripper(self, values: list[float]) -> None:
        self.callbacks["/gripper_controller/commands"](Float64MultiArray(data=values))

    def at(self, now: float) -> np.ndarray:
        self.now = now
        return self.surface.targets(now)[0]

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def surface() -> Iterator[Surface]:
    s = Surface()
    yield s
    s.close()


def test_surface_starts_a_trajectory_from_the_measured_position(surface: Surface) -> None:
    surface.arm([1.0] * 7, after=1.0)
    surface.at(0.0)
    assert surface.at(1.0)[:7] == pytest.approx([1.0] * 7)  # the target; the arm lags
    surface.measured[:7] = 0.6
    surface.arm([1.0] * 7, after=1.0)
    surface.at(1.0)  # received: starts from 0.6, not from the target 1.0
    assert surface.at(1.5)[:7] == pytest.approx([0.8] * 7)


def test_surface_with_open_loop_control_starts_from_the_last_command() -> None:
    s = Surface(arm_controller=JtcParameters(open_loop_control=True))
    try:
        s.arm([1.0] * 7, after=1.0)
        s.at(0.0)
        s.at(1.0)
        s.measured[:7] = 0.6
        s.arm([2.0] * 7, after=1.0)
        s.at(1.0)
        assert s.at(1.5)[:7] == pytest.approx([1.5] * 7)
    finally:
        s.close()


def test_surface_ignores_a_rejected_trajectory_and_runs_on(surface: Surface) -> None:
    surface.arm([1.0] * 7, after=2.0)
    surface.at(0.0)
    surface.callbacks["/arm_controller/joint_trajectory"](JointTrajectory())
    surface.arm([-1.0] * 3, after=0.5, names=ARM[:3])  # partial
    point = JointTrajectoryPoint(positions=[-1.0] * 7, time_from_start=Duration(nanosec=S // 10))
    past = JointTrajectory(joint_names=ARM, points=[point])
    past.header.stamp = Time(sec=0, nanosec=1)  # non-zero: ended at 0.1 s
    surface.callbacks["/arm_controller/joint_trajectory"](past)
    assert surface.at(1.0)[:7] == pytest.approx([0.5] * 7)
    assert surface.at(2.0)[:7] == pytest.approx([1.0] * 7)


def test_surface_partial_goal_holds_the_joints_it_leaves_out() -> None:
    s = Surface(arm_controller=JtcParameters(allow_partial_joints_goal=True))
    try:
        s.arm([1.0] * 7, after=2.0)
        s.at(0.0)
        s.measured[:7] = 0.5
        s.arm([0.0], after=1.0, names=["panda_joint1"])
        s.at(1.0)  # received mid-way: the others stop at their command, 0.5
        pos = s.at(3.0)
        assert pos[0] == pytest.approx(0.0) and pos[1:7] == pytest.approx([0.5] * 6)
    finally:
        s.close()


def test_surface_cmd_timeout_holds_the_measured_position() -> None:
    s = Surface(arm_controller=JtcParameters(cmd_timeout=0.5))
    try:
        s.arm([1.0] * 7, after=1.0)
        s.at(0.0)
        s.measured[:7] = 0.9  # the arm lags its target
        assert s.at(1.5)[:7] == pytest.approx([1.0] * 7)  # not yet: 0.5 s after the end
        assert s.at(1.51)[:7] == pytest.approx([0.9] * 7)  # timed out: holds what it measures
        s.measured[:7] = 0.95
        assert s.at(5.0)[:7] == pytest.approx([0.9] * 7)  # holding: no second timeout
    finally:
        s.close()


def test_surface_without_cmd_timeout_keeps_the_last_target(surface: Surface) -> None:
    surface.arm([1.0] * 7, after=1.0)
    surface.at(0.0)
    surface.measured[:7] = 0.9
    assert surface.at(100.0)[:7] == pytest.approx([1.0] * 7)


def test_surface_forward_controller_drops_and_deactivates_like_jazzy(surface: Surface) -> None:
    """NaN is dropped and an empty command writes nothing (the last one stands); a wrong size
    deactivates the controller, so a later valid command is ignored too."""
    surface.gripper([0.01, 0.02])
    assert surface.at(0.0)[7:].tolist() == [0.01, 0.02]
    surface.gripper([float("nan"), 0.0])
    surface.gripper([])
    assert surface.at(0.1)[7:].tolist() == [0.01, 0.02]
    surface.gripper([0.03, 0.03])
    assert surface.at(0.2)[7:].tolist() == [0.03, 0.03]
    surface.gripper([0.04])
    surface.gripper([0.02, 0.02])
    assert surface.at(0.3)[7:].tolist() == [0.03, 0.03]


def test_surface_refuses_parameters_for_an_unknown_controller() -> None:
    with pytest.raises(ValueError, match="gripper_controller"):
        Surface(gripper_controller=JtcParameters())


# ---------------------------------------------------------------------------------------------
# mock_hardware in its own process, over DDS
# ---------------------------------------------------------------------------------------------
class JointStates:
    """Every /joint_states message as {name: position}, recorded in this process."""

    def __init__(self, ros: RosNode) -> None:
        self._lock = threading.Lock()
        self.msgs: list[dict[str, float]] = []
        ros.subscribe(JointState, "/joint_states", self._on_msg, RECORD_QOS)

    def _on_msg(self, msg: JointState) -> None:
        with self._lock:
            self.msgs.append(dict(zip(msg.name, msg.position, strict=True)))

    def since(self, mark: int) -> list[dict[str, float]]:
        with self._lock:
            return self.msgs[mark:]

    def latest(self) -> dict[str, float]:
        with self._lock:
            return self.msgs[-1]


class Mock:
    """mock_hardware (panda.yaml, all joints at 0, no lag) and a node here that commands it."""

    def __init__(self, start_robot: Callable[..., RobotProcess]) -> None:
        self.proc = start_robot(
            "mock_hardware",
            robot_config="panda",
            time_constant=0.0,
            command_delay=0.0,
            publish_camera=False,
        )
        self.ros = RosNode("emulator_test")
        self.states = JointStates(self.ros)
        self.pub = self.ros.publisher(JointTrajectory, "/arm_controller/joint_trajectory")
        wait_until(lambda: self.pub.get_subscription_count() > 0, 10.0, "mock_hardware")
        wait_until(lambda: len(self.states.msgs) > 0, 10.0, "/joint_states")

    def send(self, msg: JointTrajectory, logged: str | None = None) -> None:
        """Publish; with ``logged``, wait until the robot's log shows it once more."""
        before = self.proc.log().count(logged) if logged else 0
        self.pub.publish(msg)
        if logged:
            wait_until(lambda: self.proc.log().count(logged) > before, 10.0, repr(logged))

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def mock(start_robot: Callable[..., RobotProcess]) -> Iterator[Mock]:
    m = Mock(start_robot)
    yield m
    m.close()


def one_point(names: list[str], positions: list[float], after: float) -> JointTrajectory:
    point = JointTrajectoryPoint(positions=positions, time_from_start=duration_msg(after))
    return JointTrajectory(joint_names=names, points=[point])


def test_mock_ignores_rejected_trajectories_and_runs_on(mock: Mock) -> None:
    """While panda_joint1 runs from 0 to 1 rad over 5 s, an empty JointTrajectory, a partial
    one and one whose non-zero stamp ends in the past (both towards -1 rad) are rejected with
    upstream's messages; the arm never turns back and reaches 1 rad."""
    target = [1.0] + [0.0] * 6
    mark = len(mock.states.msgs)
    mock.send(one_point(ARM, target, after=5.0))
    wait_until(lambda: mock.states.latest()["panda_joint1"] > 0.01, 10.0, "the arm to move")
    mock.send(JointTrajectory(), logged=JOINTS_MISMATCH)
    mock.send(one_point(ARM[:1], [-1.0], after=0.5), logged=JOINTS_MISMATCH)
    past = one_point(ARM, [-1.0] * 7, after=0.5)
    past.header.stamp = time_msg(time.time_ns() - 10 * S)
    mock.send(past, logged="that ends in the past")
    assert mock.states.latest()["panda_joint1"] < 0.9, "the trajectory ended before the test"
    wait_until(
        lambda: mock.states.latest()["panda_joint1"] == pytest.approx(1.0, abs=1e-9),
        10.0,
        "panda_joint1 to reach 1 rad",
    )
    track = np.array([m["panda_joint1"] for m in mock.states.since(mark)])
    assert np.all(np.diff(track) >= -1e-12), "panda_joint1 turned back"
    others = np.array([[m[j] for j in ARM[1:] + FINGERS] for m in mock.states.since(mark)])
    assert np.all(others == 0.0)


def test_mock_one_point_at_the_measured_position_holds(mock: Mock) -> None:
    """A one-point trajectory with every arm joint at its measured position, sent mid-motion,
    brings the arm back to that position (it moved on while the message was on its way) and
    holds it there: the next 50 /joint_states all read it."""
    mock.send(one_point(ARM, [1.0] * 7, after=5.0))
    wait_until(lambda: mock.states.latest()["panda_joint1"] > 0.2, 10.0, "the arm to move")
    measured = mock.states.latest()
    held = [measured[j] for j in ARM]
    assert held[0] < 0.9, "the trajectory ended before the test"
    mark = len(mock.states.msgs)
    mock.send(one_point(ARM, held, after=0.1))

    def first_held() -> int | None:
        msgs = mock.states.since(mark)
        at = [i for i, m in enumerate(msgs) if [m[j] for j in ARM] == pytest.approx(held, abs=1e-9)]
        return mark + at[0] if at else None

    wait_until(lambda: first_held() is not None, 10.0, "the arm to return to where it was")
    start = first_held()
    wait_until(lambda: len(mock.states.msgs) - start >= 50, 10.0, "50 more /joint_states")
    for msg in mock.states.since(start):
        assert [msg[j] for j in ARM] == pytest.approx(held, abs=1e-9)
