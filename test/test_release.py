"""core/release.py's Releaser: calls at absolute deadlines on a thread of its own. Real time and
a real thread; what is asserted is order and what ran, never how late (benchmarks/latency.py
measures that)."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from maniskill_real.core.realtime import SWITCH_INTERVAL_S
from maniskill_real.core.release import Releaser


class Calls:
    def __init__(self) -> None:
        self.ran: list[tuple[str, float, float]] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.prepared: list[tuple[str, float]] = []

    def make(self, name: str):
        """A prepare that notes when it ran, returning a send that notes when it ran."""

        def prepare(deadline: float):
            with self.lock:
                self.prepared.append((name, time.monotonic()))

            def send() -> None:
                with self.lock:
                    self.ran.append((name, deadline, time.monotonic()))

            return send

        return prepare


@pytest.fixture
def calls():
    return Calls()


@pytest.fixture
def releaser(calls: Calls):
    r = Releaser(calls.errors.append)
    yield r
    r.close()


def test_calls_run_in_deadline_order_never_early(releaser: Releaser, calls: Calls) -> None:
    now = time.monotonic()
    for name, at in (("c", 0.09), ("a", 0.03), ("b", 0.06)):
        releaser.schedule(now + at, calls.make(name))
    assert releaser.wait_done(now + 0.09, timeout=10.0)
    assert [name for name, _, _ in calls.ran] == ["a", "b", "c"]
    assert all(ran >= deadline for _, deadline, ran in calls.ran)
    assert releaser.pending() == 0 and calls.errors == []


def test_a_passed_deadline_runs_at_once(releaser: Releaser, calls: Calls) -> None:
    releaser.schedule(time.monotonic() - 1.0, calls.make("late"))
    assert releaser.wait_done(time.monotonic(), timeout=10.0)
    assert [name for name, _, _ in calls.ran] == ["late"]


def test_drop_forgets_every_queued_call(releaser: Releaser, calls: Calls) -> None:
    now = time.monotonic()
    releaser.schedule(now + 30.0, calls.make("a"))
    releaser.schedule(now + 31.0, calls.make("b"))
    assert releaser.pending() == 2
    assert releaser.drop() == 2
    assert releaser.pending() == 0
    assert releaser.wait_done(now + 31.0, timeout=1.0)
    assert calls.ran == []


def test_shift_moves_every_queued_deadline(releaser: Releaser, calls: Calls) -> None:
    now = time.monotonic()
    releaser.schedule(now + 0.05, calls.make("a"))
    releaser.schedule(now + 0.06, calls.make("b"))
    releaser.shift(0.1)
    assert releaser.wait_done(now + 1.0, timeout=10.0)
    (_, da, ra), (_, db, rb) = calls.ran
    assert da == pytest.approx(now + 0.15) and db == pytest.approx(now + 0.16)
    assert ra >= da and rb >= db


def test_a_failing_call_reports_and_drops_the_rest(releaser: Releaser, calls: Calls) -> None:
    """Nothing queued runs after a call that raised (RealEnv: a release the gate refused)."""
    now = time.monotonic()

    def refuse(deadline: float):
        raise RuntimeError("refused")

    releaser.schedule(now + 0.02, refuse)
    releaser.schedule(now + 0.04, calls.make("after"))
    releaser.schedule(now + 30.0, calls.make("later"))
    assert releaser.wait_done(now + 30.0, timeout=10.0)
    assert [str(e) for e in calls.errors] == ["refused"]
    assert calls.ran == [] and releaser.pending() == 0


def test_closed_releaser_takes_no_more(calls: Calls) -> None:
    r = Releaser(calls.errors.append)
    r.schedule(time.monotonic() + 30.0, calls.make("a"))
    r.close()
    assert calls.ran == []
    with pytest.raises(RuntimeError, match="closed"):
        r.schedule(time.monotonic(), calls.make("b"))


def test_prepared_at_most_the_lead_early_then_sent_at_the_deadline(
    releaser: Releaser, calls: Calls
) -> None:
    """RealEnv gates and builds a release in the prepare, so that only the publish runs at
    the deadline."""
    deadline = time.monotonic() + 0.05
    lead = releaser.lead()
    assert lead == releaser.spin_s  # no prepare yet
    releaser.schedule(deadline, calls.make("a"))
    assert releaser.wait_done(deadline, timeout=10.0)
    [(_, prepared)] = calls.prepared
    [(_, _, sent)] = calls.ran
    assert deadline - lead <= prepared <= sent and sent >= deadline


def test_the_lead_grows_with_slow_prepares_up_to_its_cap(calls: Calls) -> None:
    """A prepare that ran 4 ms (cold code after a long sleep) starts the next ones that much
    earlier than ``spin_s``, so their publish is still at the deadline; never earlier than
    ``max_lead_s``."""
    r = Releaser(calls.errors.append, spin_s=0.001, max_lead_s=0.02)
    try:
        started: list[float] = []
        for name, took in (("slow", 0.004), ("slower", 0.05)):

            def prepare(deadline: float, name: str = name, took: float = took):
                started.append(time.monotonic())
                time.sleep(took)
                return calls.make(name)(deadline)

            deadline = time.monotonic() + 0.1
            lead = r.lead()
            r.schedule(deadline, prepare)
            assert r.wait_done(deadline, timeout=10.0)
            assert started[-1] >= deadline - lead
            if name == "slow":
                assert 0.001 + 0.004 <= r.lead() < 0.02
            else:
                assert r.lead() == 0.02
        assert [name for name, _, _ in calls.ran] == ["slow", "slower"]
        assert all(sent >= deadline for _, deadline, sent in calls.ran)
    finally:
        r.close()


def test_a_drop_after_the_prepare_sends_nothing(releaser: Releaser, calls: Calls) -> None:
    """A fault's hold between the prepare and the deadline: the prepared command never goes."""
    prepare = calls.make("a")

    def prepare_then_fault(deadline: float):
        send = prepare(deadline)
        releaser.drop()  # as RealEnv's hold does, from any thread (the lock is re-entrant)
        return send

    deadline = time.monotonic() + 0.03
    releaser.schedule(deadline, prepare_then_fault)
    assert releaser.wait_done(deadline + 1.0, timeout=10.0)
    time.sleep(0.05)
    assert [name for name, _ in calls.prepared] == ["a"] and calls.ran == []


def test_a_failing_send_reports_and_drops_the_rest(releaser: Releaser, calls: Calls) -> None:
    """The send re-checks (RealEnv: a fault, or a reading gone stale since the prepare)."""
    now = time.monotonic()

    def stale(deadline: float):
        def send() -> None:
            raise RuntimeError("stale at send time")

        return send

    releaser.schedule(now + 0.02, stale)
    releaser.schedule(now + 0.04, calls.make("after"))
    assert releaser.wait_done(now + 0.04, timeout=10.0)
    assert [str(e) for e in calls.errors] == ["stale at send time"]
    assert calls.ran == [] and releaser.pending() == 0


def test_the_gil_switch_interval_is_short_while_a_realtime_releaser_is_open(
    calls: Calls,
) -> None:
    """Another thread's Python holds the GIL up to the switch interval (CPython's default
    5 ms); a real-time release thread must get it sooner. Restored when the last one closes.
    (Whether SCHED_FIFO was granted does not matter here.)"""
    before = sys.getswitchinterval()
    plain = Releaser(calls.errors.append)
    assert sys.getswitchinterval() == before
    plain.close()
    a, b = (Releaser(calls.errors.append, priority=1) for _ in range(2))
    assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL_S))
    a.close()
    a.close()  # twice: counted once
    assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL_S))
    b.close()
    assert sys.getswitchinterval() == pytest.approx(before)
