"""Releases at absolute times: a thread that runs each scheduled call at its deadline.

RealEnv's deterministic latency (``latency_steps`` d >= 1) hands the command computed at tick k
to a ``Releaser`` due at tick k + d. The thread sleeps until :meth:`Releaser.lead` before the
deadline (a sleep wakes up late by the scheduler's slack, more on a loaded machine),
*prepares* the call (RealEnv: the safety gate and the messages), spins on the monotonic clock
until the deadline and *sends* it: what happens at the deadline is only the publish, so its
time does not vary with the gate's. The lead is ``spin_s`` plus the longest of the recent
prepares: on the 2-core VM, code that slept a control period runs several times slower than
warm code (benchmarks/step_cost.py measures that "cold" factor): RealEnv's prepare took 1.0 ms
p50 and 1.7 ms p99 at 20 Hz, past a fixed 1 ms lead in most releases. Calls run one at a
time, in deadline order, each phase under ``lock``; :meth:`drop` takes the same lock, so after
it returns no dropped call is sent, and none is half-way through (a fault's hold is published
after any release in flight).

A prepare or send that raises is reported to ``on_error`` (on the release thread, with ``lock``
held) and the queue is dropped: nothing queued after a failed release goes out.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from maniskill_real.core.realtime import ThreadPriority

SPIN_S = 0.001
"""s: how long the release thread spins, at least, between a prepare and its deadline."""
MAX_LEAD_S = 0.005
"""s: the earliest a prepare runs before its deadline, however long the recent ones took."""
PREPARES_KEPT = 20
"""How many recent prepare durations the lead is taken from."""

Send = Callable[[], None]
Prepare = Callable[[float], Send]
"""``prepare(deadline)`` runs up to :meth:`Releaser.lead` before the deadline; the ``send``
it returns runs at the deadline."""


@dataclass(order=True)
class _Item:
    deadline: float
    seq: int
    prepare: Prepare = field(compare=False)


class Releaser:
    """Sends what ``schedule`` was given at its monotonic deadline, on a thread of its own."""

    def __init__(
        self,
        on_error: Callable[[BaseException], None],
        spin_s: float = SPIN_S,
        now: Callable[[], float] = time.monotonic,
        name: str = "release",
        priority: int | None = None,
        max_lead_s: float = MAX_LEAD_S,
    ) -> None:
        self.spin_s = spin_s
        self.max_lead_s = max(max_lead_s, spin_s)
        self._prepares: deque[float] = deque(maxlen=PREPARES_KEPT)
        """s: how long the recent prepares took (a wait for ``lock`` included)."""
        self._priority = ThreadPriority(priority) if priority is not None else None
        self.realtime: bool | None = None
        """Whether the thread got SCHED_FIFO ``priority`` (None: not asked, or not started)."""
        self._started = threading.Event()
        self.lock = threading.RLock()
        """Held while a call runs, and by :meth:`drop`."""
        self._now = now
        self._on_error = on_error
        # Reentrant: a signal's close (env/guard.py) runs on the main thread, possibly inside
        # one of this condition's blocks (schedule, wait_done)
        self._cond = threading.Condition(threading.RLock())
        self._queue: list[_Item] = []
        self._seq = itertools.count()
        self._running: _Item | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        self._started.wait(5.0)

    def schedule(self, deadline: float, prepare: Prepare) -> None:
        """Run ``prepare(deadline)`` up to :meth:`lead` before ``deadline`` (monotonic s; as
        moved by :meth:`shift`) and the call it returns at ``deadline``; both at once if that
        has passed."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the releaser is closed")
            heapq.heappush(self._queue, _Item(deadline, next(self._seq), prepare))
            self._cond.notify_all()

    def shift(self, seconds: float) -> None:
        """Move every queued deadline ``seconds`` later (the tick schedule re-anchored)."""
        with self._cond:
            for item in self._queue:
                item.deadline += seconds  # (the same shift for all: still a heap)
            self._cond.notify_all()

    def lead(self) -> float:
        """s before a deadline that its prepare starts: ``spin_s`` plus the longest of the
        recent prepares, at most ``max_lead_s``."""
        return min(self.max_lead_s, self.spin_s + max(self._prepares, default=0.0))

    def pending(self) -> int:
        """Calls queued or running."""
        with self._cond:
            return len(self._queue) + (self._running is not None)

    def drop(self) -> int:
        """Forget every queued call, after the one running (if any) has finished. Returns how
        many were dropped. Safe from a call itself (``lock`` is re-entrant)."""
        with self.lock, self._cond:
            dropped = len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
            return dropped

    def wait_done(self, deadline: float, timeout: float) -> bool:
        """Block until every call due at or before ``deadline`` has run (or was dropped).
        False on timeout."""
        end = self._now() + timeout
        with self._cond:
            while (self._queue and self._queue[0].deadline <= deadline) or (
                self._running is not None and self._running.deadline <= deadline
            ):
                left = end - self._now()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Drop what is queued (after the call running, if any) and tell the thread to end.
        Nothing goes out after this returns: a phase that starts later finds the queue empty
        (``_run``). The thread is not waited for: a signal's close (env/guard.py) may run inside
        one of this condition's blocks, which the thread needs in order to end (a join there
        held the hold back for its 5 s timeout)."""
        self.drop()
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._priority is not None:
            self._priority.restore()

    # -- the release thread ---------------------------------------------------------------
    def _next_due(self) -> _Item | None:
        """The head of the queue once it is due within :meth:`lead`; None when closed."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                if not self._queue:
                    self._cond.wait()
                    continue
                left = self._queue[0].deadline - self._now() - self.lead()
                if left <= 0:
                    return self._queue[0]
                self._cond.wait(left)

    def _loop(self) -> None:
        with self._cond:  # (a close() that came first: no priority to claim, nor to restore)
            closed = self._closed
            if self._priority is not None and not closed:
                self.realtime = self._priority.claim()
        self._started.set()
        if closed:
            return
        while True:
            head = self._next_due()
            if head is None:
                return
            start = self._now()
            send = self._run(head, partial(head.prepare, head.deadline))
            self._prepares.append(self._now() - start)
            if send is None:
                continue
            now = self._now
            while now() < head.deadline:  # the last stretch: spin, the sleep's slack is too big
                pass
            self._run(head, send, sending=True)

    def _run(self, head: _Item, phase: Callable[[], Send | None], sending: bool = False) -> Any:
        """One phase of ``head`` under ``lock``, if it is still the head of the queue (drop()
        or shift() may have run) and, to send, due. Returns what the phase returned, or None."""
        with self.lock:
            with self._cond:
                if not self._queue or self._queue[0] is not head:
                    return None
                if sending:
                    if head.deadline > self._now():  # shifted later: prepare again then
                        return None
                    heapq.heappop(self._queue)
                    self._running = head
            try:
                return phase()
            except BaseException as error:  # noqa: BLE001 - reported, then nothing more goes
                self.drop()
                self._on_error(error)
                return None
            finally:
                if sending:
                    with self._cond:
                        self._running = None
                        self._cond.notify_all()
