"""The safety layer's arithmetic, on plain arrays (the integration tests in test_safety.py check
what reaches the robot). Three joints, limits +-1 rad, 1 rad/s at 10 Hz: 0.1 rad per step."""

from __future__ import annotations

import numpy as np
import pytest

from maniskill_real.core.safety import SafetyConfig, SafetyFilter
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
    with pytest.raises(SafetyError, match="joint a is 0.300 rad from its last target"):
        safety.check_measured(np.array([-0.2, 0.0, 0.0]), np.zeros(3))


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
