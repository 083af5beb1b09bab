"""Real-time scheduling for a command thread (core/realtime.py), on this machine's Linux
scheduler: nothing is faked. As root (CI) SCHED_FIFO is granted; a child process that drops
root shows the refusal."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from maniskill_real.core.realtime import SWITCH_INTERVAL_S, ThreadPriority

ROOT = os.geteuid() == 0


def policy(tid: int = 0) -> tuple[int, int]:
    """(policy without SCHED_RESET_ON_FORK, priority) of a thread."""
    return os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(tid)[0]


def in_thread(fn):
    """fn() on a new thread; its result."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


@pytest.mark.skipif(not ROOT, reason="SCHED_FIFO needs root here (CI runs as root)")
def test_claimed_for_the_calling_thread_only_and_restored_from_another() -> None:
    """The thread that claims runs SCHED_FIFO at the priority; a thread it starts afterwards
    does not (a policy's data loader must not inherit real time); restore() from another
    thread (close() may run on any) gives it back its scheduling, and the GIL switch interval
    is short exactly while it is held."""
    before_interval = sys.getswitchinterval()

    def claimant(claimed: threading.Event, restored: threading.Event, seen: dict) -> None:
        seen["granted"] = priority.claim()
        seen["tid"] = threading.get_native_id()
        seen["during"] = policy()
        seen["child"] = in_thread(policy)
        claimed.set()
        restored.wait(10)
        seen["after"] = policy()

    priority = ThreadPriority(30)
    claimed, restored, seen = threading.Event(), threading.Event(), {}
    thread = threading.Thread(target=claimant, args=(claimed, restored, seen))
    thread.start()
    assert claimed.wait(10)
    assert seen["granted"] and priority.thread == seen["tid"]
    assert seen["during"] == (os.SCHED_FIFO, 30)
    assert seen["child"] == (os.SCHED_OTHER, 0)
    assert policy() == (os.SCHED_OTHER, 0)  # this thread: untouched
    assert sys.getswitchinterval() == pytest.approx(min(before_interval, SWITCH_INTERVAL_S))
    priority.restore()
    priority.restore()  # twice: once
    restored.set()
    thread.join()
    assert seen["after"] == (os.SCHED_OTHER, 0)
    assert priority.thread is None
    assert sys.getswitchinterval() == pytest.approx(before_interval)


def test_refused_without_the_right_the_thread_keeps_its_scheduling() -> None:
    """A process that may not (here: root dropped to nobody, an rtprio limit of 0) is told so, and
    its thread's scheduling is unchanged."""
    code = (
        "import os, resource\n"
        "resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))\n"
        "from maniskill_real.core.realtime import ThreadPriority\n"
        "if os.geteuid() == 0:\n"
        "    os.setgid(65534); os.setuid(65534)\n"
        "p = ThreadPriority(50)\n"
        "print(p.claim(), p.claim(), os.sched_getscheduler(0) == os.SCHED_OTHER)\n"
        "p.restore()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["False", "False", "True"]  # (asked again: still refused)


@pytest.mark.parametrize("bad", [0, 100, -1])
def test_a_priority_outside_1_to_99_is_refused_at_once(bad: int) -> None:
    with pytest.raises(ValueError, match="1-99"):
        ThreadPriority(bad)
