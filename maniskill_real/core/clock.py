"""Control-tick timing: absolute deadlines (no drift), counted overruns, percentile stats."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np


class TickClock:
    """Ticks at ``t0 + k * dt`` on the monotonic clock, so waiting never accumulates drift.

    An overrun (the caller reaches tick k+1 only after it has passed) is counted, and the
    schedule re-anchors on now instead of bursting to catch up: a robot must not receive
    several commands back to back because one step was slow. ``on_reanchor(shift)`` is told
    by how much every later tick moved (RealEnv moves the commands it has queued with them).
    """

    def __init__(
        self,
        dt: float,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dt = dt
        self._now = now
        self._sleep = sleep
        self.overruns = 0
        self.ticks = 0
        self.waited = 0.0
        """s the last ``wait_next`` slept, oversleep included (0 after an overrun): what a step's
        cost excludes."""
        self._t0 = now()
        self._k = 0
        self._late: float | None = None
        self.on_reanchor: Callable[[float], None] | None = None

    def restart(self) -> None:
        """Tick 0 is now (after a reset)."""
        self._t0 = self._now()
        self._k = 0
        self._late = None

    def check_late(self) -> float:
        """If the next tick has passed already: count the overrun (once per tick), re-anchor
        the schedule so that the next tick is now, and return the lateness; else 0.0."""
        if self._late is not None:
            return self._late
        late = self._now() - (self._t0 + (self._k + 1) * self.dt)
        if late <= 0:
            return 0.0
        self.overruns += 1
        self._t0 += late
        self._late = late
        if self.on_reanchor is not None:
            self.on_reanchor(late)
        return late

    def wait_next(self) -> tuple[bool, float]:
        """Sleep until the next tick. Returns (overran, lateness in seconds)."""
        late = self.check_late()
        self.waited = 0.0
        if not late:
            start = self._now()
            self._sleep(max(0.0, self._t0 + (self._k + 1) * self.dt - start))
            self.waited = self._now() - start
        self._k += 1
        self.ticks += 1
        self._late = None
        return late > 0, late

    def tick_time(self, ahead: int = 0) -> float:
        """The scheduled time of the tick ``ahead`` ticks after the last one reached (0: the
        last one; after an overrun, the time it was reached, on which the schedule re-anchored)."""
        return self._t0 + (self._k + ahead) * self.dt

    def elapsed(self) -> float:
        return self._now() - self._t0


class Stats:
    """Named series of samples with percentiles, for the summaries tools print."""

    def __init__(self) -> None:
        self.series: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, value: float) -> None:
        self.series[name].append(float(value))

    def percentile(self, name: str, q: float) -> float:
        values = self.series.get(name)
        return float(np.percentile(values, q)) if values else float("nan")

    def summary(self, name: str) -> str:
        return (
            f"p50 {self.percentile(name, 50) * 1e3:.1f} ms, "
            f"p99 {self.percentile(name, 99) * 1e3:.1f} ms"
        )
