"""The safety layer: every drive target passes here before anything is published.

Pure numpy (no ROS, no ManiSkill): RealEnv hands it the targets the sim controller computed, the
measured joint state they were computed from, and a forward-kinematics callable for the TCP
workspace check. Each limit either clips (and reports what it clipped) or refuses (raises
``SafetyError``, after which RealEnv holds and sends nothing until ``reset()``), per the robot
config's ``safety.on_limit``. What it checks, in order:

1. measured state out of distribution -> always refuse: joint speed above
   ``max_measured_velocity``; the measured position off the path of the recent targets by more
   than ``max_tracking_error`` (a blocked or faulted robot), or on it but further back than
   ``max_tracking_lag`` seconds (a delayed robot: lag the policy never saw);
2. joint position limits (the sim robot's, revolute joints tightened by ``position_margin``);
3. the change per step: ``max_joint_velocity * dt``, ramped up from zero over ``blend_in_steps``
   after each reset, so a policy starts gently;
4. commanded joint velocities (velocity interfaces) to ``max_joint_velocity``, and to zero
   where they push a joint past its limit;
5. the TCP inside the workspace box: a target outside is pulled back along the straight line
   to the measured configuration (clip) or refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from maniskill_real.core.tracking import TrackingMonitor
from maniskill_real.errors import SafetyError

LimitAction = Literal["clip", "refuse"]
LIMITS: tuple[str, ...] = ("position", "step", "velocity", "workspace")


@dataclass(frozen=True, kw_only=True)
class SafetyLimits:
    """The limits a robot config sets (config.SafetySettings) and the filter applies (SI units:
    rad, rad/s, m, s)."""

    position_margin: float = 0.0
    """rad: how far inside the sim robot's joint limits the targets of revolute joints stay."""
    blend_in_steps: int = 10
    """Steps after reset() over which the allowed change per step ramps from 1/n to full."""
    max_measured_velocity: float = 3.0
    """rad/s: a faster measured joint is out of distribution (the robot is not tracking)."""
    max_tracking_error: float = 0.3
    """rad: measured position off the path of the recent targets: the robot is not following."""
    max_tracking_lag: float = 0.15
    """s: how far back along the recent targets' path the measured position may lie."""
    workspace: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    """TCP box (min xyz, max xyz) in the sim world frame, metres; None: unchecked."""
    on_limit: dict[str, LimitAction] = field(default_factory=lambda: dict.fromkeys(LIMITS, "clip"))


@dataclass(frozen=True, kw_only=True)
class SafetyConfig(SafetyLimits):
    """The limits for one robot, per-joint values in sim joint order."""

    max_joint_velocity: tuple[float, ...]
    """rad/s per joint: caps commanded velocities and the position change per control step."""


@dataclass
class SafetyReport:
    """What one step's filter did: joints clipped per limit, the blend-in factor."""

    clipped: dict[str, list[int]] = field(default_factory=dict)
    blend: float = 1.0
    tracking_lag: float = 0.0
    """s: where the measured position lay on the recent targets' path (0: at the newest)."""

    def as_info(self, names: Sequence[str]) -> dict[str, object]:
        return {
            "clipped": {k: [names[i] for i in v] for k, v in self.clipped.items() if v},
            "blend": self.blend,
            "tracking_lag": self.tracking_lag,
        }


class SafetyFilter:
    """Applies ``SafetyConfig`` to one robot; ``restart()`` after every reset."""

    def __init__(
        self,
        config: SafetyConfig,
        lower: np.ndarray,
        upper: np.ndarray,
        joint_names: Sequence[str],
        dt: float,
        tcp_position: Callable[[np.ndarray], np.ndarray] | None = None,
        revolute: np.ndarray | None = None,
        tracked: np.ndarray | None = None,
    ) -> None:
        """``revolute``: which joints ``position_margin`` (rad) applies to (default: all); a
        prismatic finger's few centimetres of range are not tightened by radians.
        ``tracked``: the joints whose tracking of position targets is judged (default: those
        with a speed limit); not a velocity-commanded joint, nor a gripper finger, which stops
        on what it grasps."""
        self.config = config
        self.names = list(joint_names)
        margin = config.position_margin * (
            np.ones(len(self.names)) if revolute is None else np.asarray(revolute, dtype=float)
        )
        self.lower = np.asarray(lower, dtype=np.float64) + margin
        self.upper = np.asarray(upper, dtype=np.float64) - margin
        if np.any(self.lower > self.upper):
            bad = [self.names[i] for i in np.flatnonzero(self.lower > self.upper)]
            raise SafetyError(f"safety.position_margin leaves no range for joint(s) {bad}")
        self.max_velocity = np.asarray(config.max_joint_velocity, dtype=np.float64)
        if self.max_velocity.shape != (len(self.names),):
            raise SafetyError(
                f"safety: {len(config.max_joint_velocity)} max_joint_velocity values for "
                f"{len(self.names)} joints"
            )
        self.dt = dt
        self.tcp_position = tcp_position
        self.steps = 0
        self.tracked = np.isfinite(self.max_velocity) if tracked is None else np.asarray(tracked)
        self.tracking = TrackingMonitor(dt, config.max_tracking_lag, self.tracked)
        self.tracking_lag = 0.0

    def restart(self) -> None:
        """A new episode: the blend-in starts again, and no target is outstanding."""
        self.steps = 0
        self.tracking.restart()
        self.tracking_lag = 0.0

    def check_measured(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Refuse to act on a robot that is out of distribution (before computing a target):
        too fast, off the path of its recent targets, or late along it (core/tracking.py)."""
        speed = np.abs(qvel)
        if np.any(speed > self.config.max_measured_velocity):
            i = int(np.argmax(speed))
            raise SafetyError(
                f"joint {self.names[i]} moves at {speed[i]:.3f} rad/s, above "
                f"safety.max_measured_velocity {self.config.max_measured_velocity}"
            )
        off, lag, worst = self.tracking.observe(qpos)
        self.tracking_lag = lag
        if off > self.config.max_tracking_error:
            raise SafetyError(
                f"the arm is {off:.3f} rad off the path of its recent targets (joint "
                f"{self.names[worst]} furthest from the last), above safety.max_tracking_error "
                f"{self.config.max_tracking_error}: the robot is not following (blocked, "
                "delayed or faulted)"
            )
        if lag > self.config.max_tracking_lag:
            raise SafetyError(
                f"the arm follows its targets {lag:.3f} s late, above safety.max_tracking_lag "
                f"{self.config.max_tracking_lag} s: the robot is not following in time "
                "(delayed commands or readings)"
            )

    def _limit(
        self, name: str, value: np.ndarray, low: np.ndarray, high: np.ndarray, report: SafetyReport
    ) -> np.ndarray:
        over = (value < low) | (value > high)
        if not np.any(over):
            return value
        joints = [int(i) for i in np.flatnonzero(over)]
        if self.config.on_limit.get(name, "refuse") == "refuse":
            i = joints[0]
            raise SafetyError(
                f"{name} limit: joint {self.names[i]} target {value[i]:.4f} outside "
                f"[{low[i]:.4f}, {high[i]:.4f}] (safety.on_limit.{name}: refuse)"
            )
        report.clipped[name] = joints
        return np.clip(value, low, high)

    def positions(
        self, target: np.ndarray, measured: np.ndarray, moving: np.ndarray | None = None
    ) -> tuple[np.ndarray, SafetyReport]:
        """Position targets (sim joint order) made safe against the measured positions.

        ``moving``: how far the joints go, at their measured velocity, between the reading and
        the controller starting the target (a trajectory controller interpolates from the
        state it then reads: an arm still moving away from a reversed target would otherwise
        be sent back faster than its limit). The change per step is bounded from both the
        reading and that later place."""
        target, report = self._begin(target, "position targets")
        target = self._limit("position", target, self.lower, self.upper, report)
        step = self.max_velocity * self.dt * report.blend
        later = measured if moving is None else measured + np.where(self.tracked, moving, 0.0)
        low = np.maximum(measured, later) - step
        high = np.minimum(measured, later) + step
        target = self._limit("step", target, np.minimum(low, high), np.maximum(low, high), report)
        target = self._workspace(target, measured, report)
        self.steps += 1
        self.tracking.sent_target(target)
        report.tracking_lag = self.tracking_lag
        return target, report

    def reset_target(self, target: np.ndarray) -> tuple[np.ndarray, SafetyReport]:
        """The configuration a reset moves to, against the position limits (clip or refuse)
        and the workspace (refused: there is no measured point to pull it back to)."""
        report = SafetyReport()
        target = np.asarray(target, dtype=np.float64)
        if not np.all(np.isfinite(target)):
            raise SafetyError(f"non-finite reset target {target.tolist()}")
        target = self._limit("position", target, self.lower, self.upper, report)
        outside = self._tcp_outside(target)
        if outside is not None:
            raise self._workspace_error("the reset target", outside)
        return target, report

    def _begin(self, target: np.ndarray, what: str) -> tuple[np.ndarray, SafetyReport]:
        """A step's targets as float64, refused if not finite, and its report with the
        blend-in factor of this step."""
        target = np.asarray(target, dtype=np.float64)
        if not np.all(np.isfinite(target)):
            raise SafetyError(f"non-finite {what} {target.tolist()}")
        blend = min(1.0, (self.steps + 1) / max(1, self.config.blend_in_steps))
        return target, SafetyReport(blend=blend)

    def velocities(
        self, target: np.ndarray, measured: np.ndarray
    ) -> tuple[np.ndarray, SafetyReport]:
        """Velocity targets capped, ramped in, and zeroed where they push past a limit."""
        target, report = self._begin(target, "velocity targets")
        cap = self.max_velocity * report.blend
        target = self._limit("velocity", target, -cap, cap, report)
        outward = ((measured <= self.lower) & (target < 0)) | (
            (measured >= self.upper) & (target > 0)
        )
        if np.any(outward):
            target = np.where(outward, 0.0, target)
            report.clipped.setdefault("position", []).extend(
                int(i) for i in np.flatnonzero(outward)
            )
        self.steps += 1
        return target, report

    def _workspace(
        self, target: np.ndarray, measured: np.ndarray, report: SafetyReport
    ) -> np.ndarray:
        """Inside the box, or pulled back towards the measured configuration (clip)."""
        outside = self._tcp_outside(target)
        if outside is None:
            return target
        if (
            self.config.on_limit.get("workspace", "refuse") == "refuse"
            or self._tcp_outside(measured) is not None
        ):
            raise self._workspace_error("the target", outside)
        lo, hi = 0.0, 1.0  # fraction of the way from measured to target; lo is inside
        for _ in range(12):
            mid = 0.5 * (lo + hi)
            if self._tcp_outside(measured + mid * (target - measured)) is None:
                lo = mid
            else:
                hi = mid
        report.clipped["workspace"] = list(range(len(target)))
        return measured + lo * (target - measured)

    def _tcp_outside(self, q: np.ndarray) -> np.ndarray | None:
        """The TCP position at ``q`` if it lies outside the workspace box; None if inside, or
        if no box (or no kinematics) is configured."""
        box = self.config.workspace
        if box is None or self.tcp_position is None:
            return None
        p = self.tcp_position(q)
        return p if np.any(p < box[0]) or np.any(p > box[1]) else None

    def _workspace_error(self, what: str, tcp: np.ndarray) -> SafetyError:
        low, high = (np.asarray(b, dtype=np.float64).tolist() for b in self.config.workspace)
        return SafetyError(
            f"workspace limit: {what} puts the TCP at {np.round(tcp, 4).tolist()}, outside the "
            f"box {low} .. {high} (safety.workspace)"
        )
