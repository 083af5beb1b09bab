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

import numpy as np

SHIFT_RESOLUTION = 0.25
"""Control periods between the time shifts tried (coarser where that would be more than
``MAX_SHIFTS``)."""
MAX_SHIFTS = 48
"""Time shifts tried at most, and (``MAX_FIT``) measurements fitted at most, evenly spread:
the fit's cost grows with both, so at fine resolution it would grow with the square of the
control rate (benchmarks/safety_cost.py, max_lag 0.15 s: the safety layer took 3.56 ms a step
at 250 Hz with every shift and measurement, 0.17 ms with these bounds, 0.10 ms with the ring
buffers)."""
MAX_FIT = 24
MIN_MOTION = 0.01
"""rad: targets that move less than this over the window tell nothing about a lag (0 s)."""
TIE = 2.0
"""A shift whose mean squared error is within this factor of the best is as good, and the
smallest such shift is the lag: a slow path fits a range of shifts, and where a jittery policy
moves its targets more than the arm moves (delta actions on a smoothing arm), the error's
sampling noise over a window is tens of percent. A real delay on a moving path costs the
on-time shifts many times the best."""


class _Ring:
    """The newest ``size`` rows of a stream, readable as one contiguous array without
    copying: each row is written twice, ``size`` apart (a deque of arrays cost a Python loop
    over every kept row each step to make one; at 250 Hz the fit keeps 152)."""

    def __init__(self, size: int, width: int) -> None:
        self.size = size
        self.rows = np.zeros((2 * size, width))
        self.count = 0
        """Rows written since the last clear."""

    def append(self, row: np.ndarray) -> None:
        i = self.count % self.size
        self.rows[i] = self.rows[i + self.size] = row
        self.count += 1

    def clear(self) -> None:
        self.count = 0

    def kept(self) -> np.ndarray:
        """The kept rows (the newest ``size`` at most), oldest first: a view."""
        end = (self.count - 1) % self.size + self.size + 1
        return self.rows[end - min(self.count, self.size) : end]


class TrackingMonitor:
    """Position targets as sent and the arm as measured, for one episode (``restart()``)."""

    def __init__(self, dt: float, max_lag: float, tracked: np.ndarray) -> None:
        """``dt``: the control period (s); ``max_lag``: the lag (s) that must be measurable,
        twice over; ``tracked``: the joints judged (a mask over the full joint vector)."""
        self.dt = dt
        self.tracked = np.asarray(tracked, dtype=bool)
        self._tracked_index = np.flatnonzero(self.tracked)
        self.max_shift = math.ceil(2 * max_lag / dt)
        """Control periods: the largest lag tried."""
        self.window = max(6, self.max_shift)
        """Measurements the fit uses."""
        width = len(self._tracked_index)
        self.targets = _Ring(self.window + self.max_shift + 2, width)
        self.measured = _Ring(self.window, width + 1)
        """Each row: the targets sent before the measurement, then the tracked joints."""
        resolution = max(SHIFT_RESOLUTION, self.max_shift / MAX_SHIFTS)
        self._shifts = np.arange(0.0, self.max_shift + 1e-9, resolution)
        self._spreads: dict[int, np.ndarray] = {}

    @property
    def sent(self) -> int:
        return self.targets.count

    def restart(self) -> None:
        self.targets.clear()
        self.measured.clear()

    def sent_target(self, target: np.ndarray) -> None:
        """One step's position targets (the full joint vector), as published."""
        self.targets.append(np.asarray(target, dtype=np.float64)[self.tracked])

    def observe(self, qpos: np.ndarray) -> tuple[float, float, int]:
        """Record a measurement (the full joint vector) at the start of a step. Returns (rad
        off the recent path, lag in s, the tracked joint furthest from the newest target, as
        an index into the full vector); zeros before the first target."""
        sent = self.sent
        if not sent or not len(self._tracked_index):
            return 0.0, 0.0, 0
        q = np.asarray(qpos, dtype=np.float64)[self.tracked]
        self.measured.append(np.concatenate(([sent], q)))
        # (a copy: a latency release thread may append a target meanwhile)
        path = self.targets.kept().copy()
        worst = int(self._tracked_index[np.argmax(np.abs(q - path[-1]))])
        return self._off_path(q, path), self._lag(path, sent - len(path)), worst

    def _off_path(self, q: np.ndarray, path: np.ndarray) -> float:
        """Max-abs distance from ``q`` to the nearest point of the path through the targets
        of the last ``max_shift`` periods (every segment at once: at 250 Hz there are 75)."""
        points = path[-(self.max_shift + 1) :]
        a, ab = points[:-1], np.diff(points, axis=0)
        length = np.einsum("ij,ij->i", ab, ab)
        along = np.einsum("ij,ij->i", q - a, ab)
        u = np.clip(np.divide(along, length, out=np.zeros_like(along), where=length > 0), 0, 1)
        nearest = np.abs(q - (a + u[:, None] * ab)).max(axis=1, initial=0.0)
        return float(min(np.abs(q - points[-1]).max(), nearest.min(initial=np.inf)))

    def _lag(self, path: np.ndarray, first: int) -> float:
        """The smallest time shift of the path (s) that fits the measurements about as well
        as the best one; 0 while the history is too short or the path too still to tell.
        ``path``: the kept targets, the oldest sent as number ``first``."""
        rows = self.measured.kept()
        counts = rows[:, 0]
        # measurement taken after n targets: on time at path index n - 1, late by g periods
        # at n - 1 - g; only those that the largest shift still finds on the kept path (the
        # counts never decrease: a suffix)
        start = int(np.searchsorted(counts, first + 1 + self.max_shift))
        if len(counts) - start < self.window // 2:
            return 0.0
        counts, m = counts[start:], rows[start:, 1:]
        span = path[int(counts[0] - 1 - self.max_shift - first) :]
        if float(np.max(np.ptp(span, axis=0))) < MIN_MOTION:
            return 0.0
        keep = self._spread(len(counts))
        counts, m = counts[keep], m[keep]
        # the path at each shift and measurement, linear between targets (every index is on
        # the kept path, >= 0: truncation is the floor; the last target's step is 0)
        index = (counts - 1 - first)[None, :] - self._shifts[:, None]  # shifts x measurements
        lo = index.astype(np.intp)
        step = np.diff(path, axis=0, append=path[-1:])
        error = m[None] - path[lo] - (index - lo)[..., None] * step[lo]
        cost = np.einsum("smj,smj->s", error, error) / len(counts)  # mean squared, per shift
        good = np.flatnonzero(cost <= cost.min() * TIE + 1e-8)
        return float(self._shifts[good[0]] * self.dt)

    def _spread(self, n: int) -> np.ndarray:
        """Indices of at most ``MAX_FIT`` of ``n`` measurements, evenly spread (cached: the
        window is full after its first steps)."""
        if n not in self._spreads:
            spread = np.linspace(0, n - 1, min(n, MAX_FIT))
            self._spreads[n] = np.unique(spread.round()).astype(np.intp)
        return self._spreads[n]
