"""The safety layer's arithmetic, on plain arrays (the integration tests in test_safety.py check
what reaches the robot). Three joints, limits +-1 rad, 1 rad/s at 10 Hz: 0.1 rad per step."""

from __future__ import annotations

import numpy as np
import pytest

from maniskill_real.core.safety import SafetyConfig, SafetyFilter
from maniskill_real.core.tracking import MAX_SHIFTS, TrackingMonitor
from maniskill_real.errors import SafetyError

NAMES = ["a", "b", "c"]
LOWER, UPPER = -np.ones(3), np.ones(3)


def make(on_limit: str = "clip", **overrides: object) -> SafetyFilter:
    kwargs: dict = dict(max_joint_velocity=(1.0, 1.0, 1.0), blend_in_steps=1)
    kwargs.update(overrides)
    config = SafetyConfig(
        on_limit=dict.fromkeys(("position", "step", "velocity", "workspace"), on_limit), **kwargs
    )
    return SafetyFilter(config, LOWER, UPPER, NAMES, dt=0.1, tcp_position=lambda q: q.copy())


def test_targets_inside_every_limit_pass_unchanged() -> None:
    target, report = make().positions(np.array([0.05, -0.05, 0.0]), np.zeros(3))
    assert target.tolist() == [0.05, -0.05, 0.0] and report.clipped == {}


def test_position_limit_then_step_limit_clip_and_report() -> None:
    safety = make(position_margin=0.1)
    target, report = safety.positions(np.array([5.0, 0.0, -0.05]), np.array([0.85, 0.0, 0.0]))
    assert target == pytest.approx([0.9, 0.0, -0.05])  # 5.0 -> limit 0.9 (margin 0.1)
    assert report.as_info(NAMES)["clipped"] == {"position": ["a"]}
    target, report = safety.positions(np.array([0.5, 0.0, 0.0]), np.zeros(3))
    assert target == pytest.approx([0.1, 0.0, 0.0])  # 1 rad/s * 0.1 s
    assert report.as_info(NAMES)["clipped"] == {"step": ["a"]}


def test_refuse_raises_naming_joint_and_limit() -> None:
    with pytest.raises(SafetyError, match=r"step limit: joint b target 0\.5000"):
        make("refuse").positions(np.array([0.0, 0.5, 0.0]), np.zeros(3))
    with pytest.raises(SafetyError, match="non-finite"):
        make().positions(np.array([0.0, np.nan, 0.0]), np.zeros(3))


def test_blend_in_ramps_the_step_after_restart() -> None:
    safety = make(blend_in_steps=4)
    allowed = []
    for _ in range(5):
        target, report = safety.positions(np.full(3, 1.0), np.zeros(3))
        allowed.append(round(float(target[0]), 6))
    assert allowed == [0.025, 0.05, 0.075, 0.1, 0.1]
    safety.restart()
    assert safety.positions(np.full(3, 1.0), np.zeros(3))[0][0] == pytest.approx(0.025)


def test_out_of_distribution_measurements_refuse() -> None:
    safety = make(max_measured_velocity=2.0, max_tracking_error=0.2)
    with pytest.raises(SafetyError, match="joint c moves at 2.500 rad/s"):
        safety.check_measured(np.zeros(3), np.array([0.0, 0.0, -2.5]))
    safety.positions(np.array([0.1, 0.0, 0.0]), np.zeros(3))
    with pytest.raises(SafetyError, match=r"0.300 rad off the path .*joint a furthest"):
        safety.check_measured(np.array([-0.2, 0.0, 0.0]), np.zeros(3))


def follow(safety: SafetyFilter, delay: int, steps: int) -> list[float]:
    """Targets at full speed on joint a (0.1 rad per 0.1 s step), an arm that reaches each
    ``delay`` periods late; the lag seen at every step."""
    sent: list[np.ndarray] = []
    lags = []
    for _ in range(steps):
        measured = sent[-1 - delay] if len(sent) > delay else np.zeros(3)
        safety.check_measured(measured, np.zeros(3))
        lags.append(safety.tracking_lag)
        newest = sent[-1] if sent else np.zeros(3)
        wanted = newest + np.array([0.1, 0.0, 0.0])
        sent.append(safety.positions(wanted, newest)[0])
    return lags


def test_a_robot_on_its_targets_path_but_late_is_refused() -> None:
    """At 0.1 s per step (joint a reaches its limit after 10 steps): an arm one step behind
    is 0.1 s late, and on time is on time; three steps behind (a 0.3 s delay: far inside
    max_tracking_error, on the path), it is refused once the window of measurements shows it."""
    assert max(follow(make(max_tracking_lag=0.15), delay=0, steps=10)) == 0.0
    assert follow(make(max_tracking_lag=0.15), delay=1, steps=10)[-1] == pytest.approx(0.1)
    with pytest.raises(SafetyError, match=r"0.300 s late, above safety.max_tracking_lag 0.15"):
        follow(make(max_tracking_lag=0.15), delay=3, steps=10)


def test_an_arm_that_smooths_a_jittery_policy_is_not_late() -> None:
    """A random-walk policy on joint b and an arm that low-passes it (it sits near the mean
    of recent targets, off the path and near older ones): fitted over a window, not late."""
    safety = make(max_tracking_lag=0.15, max_joint_velocity=(1.0, 5.0, 1.0))
    rng = np.random.default_rng(1)
    arm, lags = np.zeros(3), []
    for _ in range(60):
        safety.check_measured(arm, np.zeros(3))
        lags.append(safety.tracking_lag)
        target, _ = safety.positions(arm + np.array([0.0, rng.uniform(-0.3, 0.3), 0.0]), arm)
        arm = arm + 0.6 * (target - arm)  # a first-order lag: 60 % of the way per period
    assert max(lags) <= 0.1


@pytest.mark.parametrize("delay_s", [0.0, 0.1, 0.2])
def test_the_lag_at_500_hz_as_at_low_rates(delay_s: float) -> None:
    """At 500 Hz the fit tries at most MAX_SHIFTS shifts on MAX_FIT measurements (its cost
    would grow with the square of the rate): a delayed arm still reads its delay, within the
    coarser resolution (2 * max_lag / MAX_SHIFTS), and an arm on time reads 0."""
    dt, max_lag = 0.002, 0.15
    monitor = TrackingMonitor(dt, max_lag, np.ones(3, dtype=bool))
    delay, sent, lags = round(delay_s / dt), [], []
    for k in range(500):
        lags.append(monitor.observe(sent[-1 - delay] if len(sent) > delay else np.zeros(3))[1])
        target = 0.4 * np.sin(2 * np.pi * 0.4 * k * dt + np.arange(3))
        monitor.sent_target(target)
        sent.append(target)
    assert lags[-1] == pytest.approx(delay_s, abs=2 * max_lag / MAX_SHIFTS)


def test_standing_still_on_a_path_that_stands_still_is_on_time() -> None:
    safety = make(max_tracking_lag=0.15)
    for _ in range(6):
        safety.positions(np.zeros(3), np.zeros(3))
    safety.check_measured(np.array([0.005, 0.0, 0.0]), np.zeros(3))
    assert safety.tracking_lag == 0.0


def test_joints_without_a_speed_limit_are_not_tracked() -> None:
    """A gripper finger (no max_joint_velocity) that stops on the object it grasps is not a
    robot that fails to follow."""
    safety = make(max_joint_velocity=(1.0, 1.0, np.inf), max_tracking_error=0.05)
    safety.positions(np.array([0.0, 0.0, 0.9]), np.zeros(3))
    safety.check_measured(np.array([0.0, 0.0, 0.2]), np.zeros(3))


def test_reset_target_clipped_to_the_limits_or_refused() -> None:
    target, report = make(position_margin=0.1).reset_target(np.array([0.95, 0.0, -2.0]))
    assert target.tolist() == pytest.approx([0.9, 0.0, -0.9])
    assert report.as_info(NAMES)["clipped"] == {"position": ["a", "c"]}
    with pytest.raises(SafetyError, match="position limit: joint a target 0.9500"):
        make("refuse", position_margin=0.1).reset_target(np.array([0.95, 0.0, 0.0]))
    box = ((-0.5, -0.5, -0.5), (0.05, 0.5, 0.5))
    with pytest.raises(SafetyError, match="reset target puts the TCP at .* outside the box"):
        make(workspace=box).reset_target(np.array([0.1, 0.0, 0.0]))


def test_position_margin_tightens_revolute_joints_only() -> None:
    """position_margin is in radians: a prismatic joint (a finger, metres) keeps its range."""
    config = SafetyConfig(max_joint_velocity=(1.0, 1.0, 1.0), position_margin=0.1)
    revolute = np.array([True, True, False])
    safety = SafetyFilter(config, LOWER, UPPER, NAMES, dt=0.1, revolute=revolute)
    assert safety.lower.tolist() == pytest.approx([-0.9, -0.9, -1.0])
    assert safety.upper.tolist() == pytest.approx([0.9, 0.9, 1.0])


def test_velocities_capped_and_zeroed_at_a_limit() -> None:
    target, report = make().velocities(np.array([3.0, -0.5, -0.5]), np.array([0.0, 0.0, -1.0]))
    assert target.tolist() == [1.0, -0.5, 0.0]
    assert report.as_info(NAMES)["clipped"] == {"velocity": ["a"], "position": ["c"]}


def test_workspace_pulls_back_to_the_box_or_refuses() -> None:
    box = ((-0.5, -0.5, -0.5), (0.05, 0.5, 0.5))  # the "TCP" is q itself here
    target, report = make(workspace=box).positions(np.array([0.1, 0.0, 0.0]), np.zeros(3))
    assert 0.049 < target[0] <= 0.05 and "workspace" in report.clipped
    with pytest.raises(SafetyError, match="outside the box"):
        make("refuse", workspace=box).positions(np.array([0.1, 0.0, 0.0]), np.zeros(3))


def test_a_reversal_is_bounded_from_where_the_arm_will_be() -> None:
    """Joint a moves at +1 rad/s; its reading is 20 ms old when the target leaves: the
    controller will start 0.02 rad further on, so a reversed target is bounded from there
    (0.1 rad per step from 0.02), and a target ahead still from the reading (0.1)."""
    safety = make()
    moving = np.array([1.0, 1.0, 1.0]) * 0.02
    back, report = safety.positions(np.array([-0.5, 0.5, 0.0]), np.zeros(3), moving)
    assert back.tolist() == pytest.approx([-0.08, 0.1, 0.0])
    assert report.as_info(NAMES)["clipped"] == {"step": ["a", "b"]}
