"""What ros2_control's controllers accept on their command topics and how they act on it, as
plain functions (no rclpy), so that the emulator in :mod:`surface` and its tests share one copy.

Sources, read on the ``jazzy`` branch (``humble`` where noted):

- ros-controls/ros2_controllers ``joint_trajectory_controller/src/joint_trajectory_controller.cpp``
  (``validate_trajectory_msg``, ``topic_callback``, ``update``, ``fill_partial_goal``,
  ``set_hold_position``) and ``joint_trajectory_controller/src/trajectory.cpp``
  (``Trajectory::sample``);
- ros-controls/ros2_controllers ``forward_command_controller/src/forward_controllers_base.cpp``;
- ros-controls/ros2_control ``controller_manager/src/controller_manager.cpp`` (``update``).

Rejection reasons are upstream's log messages, word for word, where upstream has a check; where
it has none but would misbehave (duplicate joint names, non-finite values, a negative stamp) the
emulator rejects all the same and says so in the reason.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FLOAT_EPSILON = float(np.finfo(np.float32).eps)
"""``std::numeric_limits<float>::epsilon()``: the end-velocity check's threshold upstream."""


@dataclass(frozen=True)
class JtcParameters:
    """The joint_trajectory_controller parameters that change what the topic accepts and how a
    trajectory starts; defaults are upstream jazzy's
    (``joint_trajectory_controller_parameters.yaml``; humble defaults
    ``allow_nonzero_velocity_at_trajectory_end`` to true and lacks
    ``interpolate_from_desired_state``)."""

    allow_partial_joints_goal: bool = False
    open_loop_control: bool = False
    """Deprecated in jazzy in favour of ``interpolate_from_desired_state``; same effect here."""
    interpolate_from_desired_state: bool = False
    allow_nonzero_velocity_at_trajectory_end: bool = False
    cmd_timeout: float = 0.0
    """s; 0 = off. Upstream disables it (with a warning) unless it exceeds the goal time
    tolerance, which is 0 here, so any positive value is on."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cmd_timeout) and self.cmd_timeout >= 0):
            raise ValueError(f"cmd_timeout must be a finite number >= 0 s, got {self.cmd_timeout}")

    @property
    def from_desired_state(self) -> bool:
        """Whether a new trajectory starts from the last commanded state (else the measured
        one): ``update()`` calls ``set_point_before_trajectory_msg`` with
        ``last_commanded_state_`` if either flag is set, with ``state_current_`` otherwise."""
        return self.open_loop_control or self.interpolate_from_desired_state


@dataclass(frozen=True)
class Point:
    """One ``trajectory_msgs/JointTrajectoryPoint``."""

    time_from_start_ns: int
    positions: Sequence[float] = ()
    velocities: Sequence[float] = ()
    accelerations: Sequence[float] = ()
    effort: Sequence[float] = ()


@dataclass(frozen=True)
class Trajectory:
    """One ``trajectory_msgs/JointTrajectory``; the header stamp as its two fields, since
    ``rclcpp::Time`` refuses a negative ``sec`` whatever ``nanosec`` says."""

    joint_names: Sequence[str]
    points: Sequence[Point]
    stamp_sec: int = 0
    stamp_nanosec: int = 0

    @property
    def stamp_ns(self) -> int:
        return self.stamp_sec * 1_000_000_000 + self.stamp_nanosec

    @classmethod
    def from_msg(cls, msg: Any) -> Trajectory:
        """From a ``trajectory_msgs/JointTrajectory`` (any object with its fields)."""

        def ns(d: Any) -> int:
            return int(d.sec) * 1_000_000_000 + int(d.nanosec)

        return cls(
            joint_names=list(msg.joint_names),
            points=[
                Point(
                    time_from_start_ns=ns(p.time_from_start),
                    positions=list(p.positions),
                    velocities=list(p.velocities),
                    accelerations=list(p.accelerations),
                    effort=list(p.effort),
                )
                for p in msg.points
            ],
            stamp_sec=int(msg.header.stamp.sec),
            stamp_nanosec=int(msg.header.stamp.nanosec),
        )


def _s(ns: int) -> float:
    return ns * 1e-9


def trajectory_rejection(
    trajectory: Trajectory,
    controller_joints: Sequence[str],
    params: JtcParameters,
    now_ns: int,
) -> str | None:
    """Why joint_trajectory_controller drops this message (upstream's log message), or None
    if it takes it. ``now_ns``: the controller node's clock (wall or sim time).

    Checks run in upstream jazzy's order (``validate_trajectory_msg``; humble checks the
    past-ending stamp before the joint names and the end velocity, with the same messages).
    """
    names = list(trajectory.joint_names)
    points = list(trajectory.points)
    if not params.allow_partial_joints_goal and len(names) != len(controller_joints):
        return "Joints on incoming trajectory don't match the controller joints."
    if not names:
        return "Empty joint names on incoming trajectory."
    if not points:
        return "Empty trajectory received."
    for name in names:
        if name not in controller_joints:
            return f"Incoming joint {name} doesn't match the controller's joints."
    if not params.allow_nonzero_velocity_at_trajectory_end:
        for i, v in enumerate(points[-1].velocities):
            if abs(v) > FLOAT_EPSILON:
                if i >= len(names):  # upstream's joint_names.at(i) would throw here
                    return _size_mismatch(len(names), points[-1].velocities, "velocities", i)
                return (
                    f"Velocity of last trajectory point of joint {names[i]} is not zero: {v:.15f}"
                )
    if trajectory.stamp_sec < 0:  # not checked upstream: rclcpp::Time(stamp) throws
        return "cannot store a negative time point in rclcpp::Time"
    if trajectory.stamp_ns != 0:  # zero means "start now"
        end_ns = trajectory.stamp_ns + points[-1].time_from_start_ns
        if end_ns < now_ns:
            return (
                f"Received trajectory with non-zero start time ({_s(trajectory.stamp_ns):f}) "
                f"that ends in the past ({_s(end_ns):f})"
            )
    previous_ns = 0
    for i, point in enumerate(points):
        if i > 0 and point.time_from_start_ns <= previous_ns:
            return (
                f"Time between points {i - 1} and {i} is not strictly increasing, it is "
                f"{_s(previous_ns):f} and {_s(point.time_from_start_ns):f} respectively"
            )
        previous_ns = point.time_from_start_ns
        # allow_integration_in_goal_trajectories (default false) is not emulated: positions
        # are required, velocities and accelerations optional.
        for field, values, allow_empty in (
            ("positions", point.positions, False),
            ("velocities", point.velocities, True),
            ("accelerations", point.accelerations, True),
        ):
            if not (allow_empty and len(values) == 0) and len(values) != len(names):
                return _size_mismatch(len(names), values, field, i)
        if len(point.effort):  # only position and velocity command interfaces here
            return (
                "Trajectories with effort fields are only supported for controllers using the "
                "'effort' command interface."
            )
    # Not checked upstream, rejected here: with duplicates, sort_to_local_joint_order leaves a
    # controller joint with a stale value; NaN or inf reaches the command interfaces.
    if len(set(names)) != len(names):
        return f"Duplicate joint names on incoming trajectory: {names} (not checked upstream)"
    for i, point in enumerate(points):
        for field in ("positions", "velocities", "accelerations"):
            if not all(math.isfinite(v) for v in getattr(point, field)):
                return f"Non-finite {field} at point #{i} (not checked upstream)"
    return None


def _size_mismatch(joints: int, values: Sequence[float], field: str, i: int) -> str:
    return (
        f"Mismatch between joint_names size ({joints}) and {field} ({len(values)}) at point #{i}."
    )


def start_state(measured: np.ndarray, desired: np.ndarray, params: JtcParameters) -> np.ndarray:
    """The point a new trajectory interpolates from: the measured state, or the last
    commanded one with ``open_loop_control``/``interpolate_from_desired_state``."""
    return np.array(desired if params.from_desired_state else measured, dtype=np.float64)


def knots(
    trajectory: Trajectory,
    controller_joints: Sequence[str],
    before: np.ndarray,
    commanded: np.ndarray,
    now_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(times in s on the controller's clock, positions (knots, controller joints)) that a
    newly started trajectory interpolates between, for a message ``trajectory_rejection``
    accepted.

    ``before``: :func:`start_state` (controller order); ``commanded``: the position command
    interfaces' current values, which ``fill_partial_goal`` holds every joint a partial
    trajectory leaves out at. The trajectory starts at its stamp, or ``now_s`` for a zero
    stamp; ``Trajectory::sample`` goes from ``before`` (at ``now_s``) to the first point only
    while that point lies ahead, and from point to point after.
    """
    col = {name: k for k, name in enumerate(trajectory.joint_names)}
    positions = np.tile(np.asarray(commanded, dtype=np.float64), (len(trajectory.points), 1))
    for j, name in enumerate(controller_joints):
        if name in col:
            positions[:, j] = [p.positions[col[name]] for p in trajectory.points]
    start_s = _s(trajectory.stamp_ns) if trajectory.stamp_ns else now_s
    times = start_s + np.array([_s(p.time_from_start_ns) for p in trajectory.points])
    if times[0] > now_s:
        times = np.concatenate([[now_s], times])
        positions = np.vstack([np.asarray(before, dtype=np.float64), positions])
    return times, positions


def command_timed_out(end_s: float, now_s: float, params: JtcParameters) -> bool:
    """Whether the controller gives up on a finished trajectory and holds the measured
    position ("Aborted due to command timeout"): ``cmd_timeout`` s after its last point, if no
    newer command came and it is not holding already."""
    return params.cmd_timeout > 0.0 and now_s - end_s > params.cmd_timeout


class ForwardOutcome(enum.Enum):
    """What forward_command_controller (jazzy) does with a ``Float64MultiArray``."""

    APPLY = "apply"
    """Written to the command interfaces on every update until the next message."""
    DROPPED = "dropped"
    """Dropped in the subscription callback; the previous command stands."""
    NO_COMMAND = "no command"
    """Stored, but an all-NaN (here: empty) buffer means "no command": nothing is written."""
    SIZE_ERROR = "size error"
    """Stored; ``update()`` returns ERROR and the controller manager deactivates the
    controller, so nothing is written from then on and the hardware keeps its last value."""


def forward_command(data: Sequence[float], joints: int) -> tuple[ForwardOutcome, str | None]:
    """(outcome, upstream's log message) for a forward_command_controller command."""
    if not all(math.isfinite(v) for v in data):
        return ForwardOutcome.DROPPED, "Non-finite value received. Dropping message"
    if len(data) == 0:  # std::all_of(isnan) holds for an empty buffer
        return ForwardOutcome.NO_COMMAND, None
    if len(data) != joints:
        return (
            ForwardOutcome.SIZE_ERROR,
            f"command size ({len(data)}) does not match number of interfaces ({joints})",
        )
    return ForwardOutcome.APPLY, None


def deactivation_message(controller: str) -> str:
    """The controller manager's error when a controller's ``update()`` fails (jazzy; humble
    logs each failed update and keeps the controller active)."""
    return f"Deactivating controllers : [ {controller} ] as their update resulted in an error!"
