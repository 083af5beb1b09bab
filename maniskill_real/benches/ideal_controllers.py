"""Ideal controllers over a kinematic joint model: what the standalone controller_manager
emulator (``python -m maniskill_real.benches.controller_manager``) executes goals with, when no
robot plugs its own controller emulation in.

Joints follow the commanded trajectory exactly, except "stuck" joints, which never move (a
blocked joint: how path and goal tolerances, and gripper stalls, are seen to fail). Trajectories
are validated as joint_trajectory_controller does with its default parameters
(``trajectory_rules.trajectory_rejection``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from trajectory_msgs.msg import JointTrajectory

from maniskill_real.benches import trajectory_rules as rules
from maniskill_real.benches.controller_manager import (
    Constraints,
    ControllerSpec,
    GripperParams,
    TrajectorySample,
)
from maniskill_real.ros.stamps import stamp_to_ns


def _ns(duration: object) -> int:
    return duration.sec * 1_000_000_000 + duration.nanosec  # type: ignore[attr-defined]


class IdealJoints:
    """Joint positions (rad or m) shared by the controllers that move them."""

    def __init__(self, joints: Iterable[str], stuck: Iterable[str] = ()) -> None:
        self.positions = dict.fromkeys(joints, 0.0)
        self.stuck = set(stuck)
        unknown = self.stuck - set(self.positions)
        if unknown:
            raise ValueError(f"stuck joints {sorted(unknown)} are not controlled joints")

    def move(self, joint: str, position: float) -> float:
        """Set a joint unless it is stuck; return where it is."""
        if joint not in self.stuck:
            self.positions[joint] = position
        return self.positions[joint]


class IdealTrajectoryController:
    """A joint_trajectory_controller whose joints track the trajectory exactly: linear
    interpolation between points, from the measured state when a trajectory starts."""

    def __init__(
        self,
        model: IdealJoints,
        joints: Sequence[str],
        clock_ns: Callable[[], int],
        constraints: Constraints | None = None,
    ) -> None:
        self.model = model
        self.joints = list(joints)
        self.constraints = constraints or Constraints()
        self._clock_ns = clock_ns
        self._times: list[float] = []
        self._knots: list[list[float]] = []
        self.hold()

    def validate(self, trajectory: JointTrajectory) -> str | None:
        """joint_trajectory_controller's own checks, with its default parameters."""
        return rules.trajectory_rejection(
            rules.Trajectory.from_msg(trajectory),
            self.joints,
            rules.JtcParameters(),
            self._clock_ns(),
        )

    def follow(self, trajectory: JointTrajectory) -> None:
        now = self._clock_ns() * 1e-9
        measured = [self.model.positions[j] for j in self.joints]
        col = {name: k for k, name in enumerate(trajectory.joint_names)}
        stamp = stamp_to_ns(trajectory.header.stamp)
        start = stamp * 1e-9 if stamp else now
        self._times = [start + _ns(p.time_from_start) * 1e-9 for p in trajectory.points]
        self._knots = [[p.positions[col[j]] for j in self.joints] for p in trajectory.points]
        if self._times[0] > now:
            self._times.insert(0, now)
            self._knots.insert(0, measured)

    def hold(self) -> None:
        now = self._clock_ns() * 1e-9
        self._times = [now]
        self._knots = [[self.model.positions[j] for j in self.joints]]

    def _desired(self, t: float) -> tuple[list[float], list[float]]:
        times, knots = self._times, self._knots
        if t <= times[0]:
            return list(knots[0]), [0.0] * len(self.joints)
        if t >= times[-1]:
            return list(knots[-1]), [0.0] * len(self.joints)
        k = next(i for i in range(1, len(times)) if t < times[i])
        a = (t - times[k - 1]) / (times[k] - times[k - 1])
        pos = [p0 + a * (p1 - p0) for p0, p1 in zip(knots[k - 1], knots[k], strict=True)]
        vel = [
            (p1 - p0) / (times[k] - times[k - 1])
            for p0, p1 in zip(knots[k - 1], knots[k], strict=True)
        ]
        return pos, vel

    def sample(self) -> TrajectorySample:
        now = self._clock_ns() * 1e-9
        desired, desired_vel = self._desired(now)
        actual = [self.model.move(j, p) for j, p in zip(self.joints, desired, strict=True)]
        actual_vel = [
            0.0 if j in self.model.stuck else v
            for j, v in zip(self.joints, desired_vel, strict=True)
        ]
        end = self._times[-1]
        return TrajectorySample(
            desired=desired,
            desired_velocities=desired_vel,
            actual=actual,
            actual_velocities=actual_vel,
            time_past_end=now - end if now >= end else None,
        )


class IdealGripper:
    """A gripper joint that moves toward its target at a constant speed (m/s or rad/s)."""

    def __init__(
        self,
        model: IdealJoints,
        joint: str,
        clock_ns: Callable[[], int],
        speed: float = 0.1,
        params: GripperParams | None = None,
    ) -> None:
        self.model = model
        self.joint = joint
        self.speed = speed
        self.params = params or GripperParams()
        self._clock_ns = clock_ns
        self.hold()

    def command(self, position: float, max_effort: float) -> None:
        self._advance()
        self._target = position

    def hold(self) -> None:
        self._t = self._clock_ns() * 1e-9
        self._target = self.model.positions[self.joint]

    def _advance(self) -> float:
        """Move toward the target for the time since the last call; return the velocity."""
        now = self._clock_ns() * 1e-9
        here = self.model.positions[self.joint]
        step = math.copysign(
            min(abs(self._target - here), self.speed * (now - self._t)), self._target - here
        )
        moved = self.model.move(self.joint, here + step) - here
        velocity = moved / (now - self._t) if now > self._t else 0.0
        self._t = now
        return velocity

    def sample(self) -> tuple[float, float, float]:
        velocity = self._advance()
        return self.model.positions[self.joint], velocity, 0.0


def ideal_executors(
    specs: Sequence[ControllerSpec], stuck: Iterable[str], clock_ns: Callable[[], int]
) -> tuple[dict[str, IdealTrajectoryController], dict[str, IdealGripper]]:
    """An ideal trajectory or gripper controller for every spec that needs one, all moving one
    joint model."""
    model = IdealJoints((j for s in specs for j in s.joints), stuck)
    trajectory: dict[str, IdealTrajectoryController] = {}
    gripper: dict[str, IdealGripper] = {}
    for spec in specs:
        if spec.role == "trajectory":
            trajectory[spec.name] = IdealTrajectoryController(model, spec.joints, clock_ns)
        elif spec.role in ("gripper", "parallel_gripper"):
            gripper[spec.name] = IdealGripper(model, spec.joints[0], clock_ns)
    return trajectory, gripper
