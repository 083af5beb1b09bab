"""Does the arm follow its position targets, and how late? Pure numpy; used by the safety layer.

A trajectory controller reaches each target one control period after it was sent, so a healthy
arm, measured at the start of a step, stands at (or just behind) the newest target: on the
path through the recent targets. Two things can go wrong:

- the arm is off that path (blocked, faulted, another writer): the distance from the newest
  measurement to the nearest point of the recent path;
- the arm is on the path but late (commands or readings delayed): the time shift that best
  aligns the recent measurements with the path, fitted over a window of steps. One
  measurement can't tell lag from smoothing: an arm that low-passes a jittery policy sits off
  the path near older targets; over a window only a real delay keeps the best shift large.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

SHIFT_RESOLUTION = 0.25
"""Control periods between the time shifts tried (coarser where that would be more than
``MAX_SHIFTS``)."""
MAX_SHIFTS = 48
"""Time shifts tried at most, and (``MAX_FIT``) measurements fitted at most, evenly spread:
the fit's cost grows with both, so at fine resolution it would grow with the square of the
control rate (benchmarks/safety_cost.py, max_lag 0.15 s: the safety layer took 3.56 ms a step
at 250 Hz with every shift and measurement, 0.17 ms with these bounds)."""
MAX_FIT = 24
MIN_MOTION = 0.01
"""rad: targets that move less than this over the window tell nothing about a lag (0 s)."""
TIE = 2.0
"""A shift whose mean squared error is within this factor of the best is as good, and the
smallest such shift is the lag: a slow path fits a range of shifts, and where a jittery policy
moves its targets more than the arm moves (delta actions on a smoothing arm), the error's
sampling noise over a window is tens of percent. A real delay on a moving path costs the
on-time shifts many times the best."""


class TrackingMonitor:
    """Position targets as sent and the arm as measured, for one episode (``restart()``)."""

    def __init__(self, dt: float, max_lag: float, tracked: np.ndarray) -> None:
        """``dt``: the control period (s); ``max_lag``: the lag (s) that must be measurable,
        twice over; ``tracked``: the joints judged (a mask over the full joint vector)."""
        self.dt = dt
        self.tracked = np.asarray(tracked, dtype=bool)
        self.max_shift = math.ceil(2 * max_lag / dt)
        """Control periods: the largest lag tried."""
        self.window = max(6, self.max_shift)
        """Measurements the fit uses."""
        self.targets: deque[tuple[int, np.ndarray]] = deque(maxlen=self.window + self.max_shift + 2)
        self.measured: deque[tuple[int, np.ndarray]] = deque(maxlen=self.window)
        self.sent = 0

    def restart(self) -> None:
        self.targets.clear()
        self.measured.clear()
        self.sent = 0

    def sent_target(self, target: np.ndarray) -> None:
        """One step's position targets (the full joint vector), as published."""
        self.targets.append((self.sent, np.asarray(target, dtype=np.float64)[self.tracked]))
        self.sent += 1

    def observe(self, qpos: np.ndarray) -> tuple[float, float, int]:
        """Record a measurement (the full joint vector) at the start of a step. Returns (rad
        off the recent path, lag in s, the tracked joint furthest from the newest target, as
        an index into the full vector); zeros before the first target."""
        if not self.targets or not np.any(self.tracked):
            return 0.0, 0.0, 0
        q = np.asarray(qpos, dtype=np.float64)[self.tracked]
        self.measured.append((self.sent, q))
        # (copies: a latency release thread may append a target meanwhile)
        targets = list(self.targets)
        newest = targets[-1][1]
        worst = int(np.flatnonzero(self.tracked)[np.argmax(np.abs(q - newest))])
        return self._off_path(q, targets), self._lag(targets, list(self.measured)), worst

    def _off_path(self, q: np.ndarray, targets: list[tuple[int, np.ndarray]]) -> float:
        """Max-abs distance from ``q`` to the nearest point of the path through the targets
        of the last ``max_shift`` periods (every segment at once: at 250 Hz there are 75)."""
        points = np.array([t for _, t in targets[-(self.max_shift + 1) :]])
        a, ab = points[:-1], np.diff(points, axis=0)
        length = np.einsum("ij,ij->i", ab, ab)
        along = np.einsum("ij,ij->i", q - a, ab)
        u = np.clip(np.divide(along, length, out=np.zeros_like(along), where=length > 0), 0, 1)
        nearest = np.abs(q - (a + u[:, None] * ab)).max(axis=1, initial=0.0)
        return float(min(np.abs(q - points[-1]).max(), nearest.min(initial=np.inf)))

    def _lag(
        self, targets: list[tuple[int, np.ndarray]], measured: list[tuple[int, np.ndarray]]
    ) -> float:
        """The smallest time shift of the path (s) that fits the measurements about as well
        as the best one; 0 while the history is too short or the path too still to tell."""
        first = targets[0][0]
        path = np.array([t for _, t in targets])
        counts = np.array([n for n, _ in measured], dtype=np.float64)
        # measurement taken after n targets: on time at path index n - 1, late by g periods
        # at n - 1 - g; only those that the largest shift still finds on the kept path
        usable = counts - 1 - self.max_shift >= first
        if usable.sum() < self.window // 2:
            return 0.0
        m = np.array([q for (_, q), ok in zip(measured, usable, strict=True) if ok])
        counts = counts[usable]
        span = path[int(counts[0] - 1 - self.max_shift - first) :]
        if float(np.max(np.ptp(span, axis=0))) < MIN_MOTION:
            return 0.0
        spread = np.linspace(0, len(counts) - 1, min(len(counts), MAX_FIT))
        keep = np.unique(spread.round()).astype(int)
        counts, m = counts[keep], m[keep]
        resolution = max(SHIFT_RESOLUTION, self.max_shift / MAX_SHIFTS)
        shifts = np.arange(0.0, self.max_shift + 1e-9, resolution)
        index = counts[None, :] - 1 - shifts[:, None] - first  # shifts x measurements
        lo = np.floor(index).astype(int)
        hi = np.minimum(lo + 1, len(path) - 1)
        frac = (index - lo)[..., None]
        expected = path[lo] + frac * (path[hi] - path[lo])
        cost = np.mean(np.sum((m[None] - expected) ** 2, axis=2), axis=1)
        good = np.flatnonzero(cost <= cost.min() * TIE + 1e-8)
        return float(shifts[good[0]] * self.dt)
