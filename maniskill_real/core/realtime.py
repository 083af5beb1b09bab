"""Real-time scheduling for the threads that send commands: SCHED_FIFO where the process may
(root, CAP_SYS_NICE or an rtprio limit, as ros2_control's own loop asks for its thread), and
CPython's GIL switch interval short while any such thread runs.

Linux only; elsewhere (or refused) the thread keeps normal scheduling and the caller is told.
"""

from __future__ import annotations

import os
import sys
import threading

SWITCH_INTERVAL_S = 2e-4
"""s: CPython's GIL switch interval while a real-time thread runs; CPython's default is 5 ms.
A SCHED_FIFO thread is woken on time, but Python in another thread (a policy computing across
the tick, the ROS executor) keeps the GIL until the interval passes.
``benchmarks/latency.py --policy-ms 15 --priority 50``, 50 Hz, d=1, two runs each: release
jitter p99 0.07 and 0.14 ms with this, 0.61 and 0.83 ms with the default. Without real-time
priority the OS scheduler decides when the thread runs, and the interval made no difference
there, so it is short only while a thread has asked for priority (granted or not)."""


class _SwitchInterval:
    """``SWITCH_INTERVAL_S`` while any user holds it; after, the interval found before."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a signal's close (env/guard.py) may release inside
        self._users = 0
        self._saved = 0.0

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, SWITCH_INTERVAL_S))
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)


fast_switching = _SwitchInterval()


def checked_priority(priority: int) -> int:
    """``priority`` if it is a SCHED_FIFO priority (1-99); ValueError otherwise."""
    if not 1 <= priority <= 99:
        raise ValueError(f"a SCHED_FIFO priority is 1-99, not {priority}")
    return priority


class ThreadPriority:
    """SCHED_FIFO at ``priority`` (1-99) for one thread, until :meth:`restore`.

    Threads and processes the thread starts afterwards get normal scheduling
    (SCHED_RESET_ON_FORK): a data loader a policy starts must not inherit real time.
    """

    def __init__(self, priority: int) -> None:
        self.priority = checked_priority(priority)
        self._tid: int | None = None
        self._before: tuple[int, int] | None = None
        """The thread's (policy, priority) before; None while not granted."""

    @property
    def thread(self) -> int | None:
        """The native id of the thread that has it, or None."""
        return self._tid

    def claim(self) -> bool:
        """For the calling thread (the previous one's is restored first). Returns whether the
        OS granted it; the GIL switch interval is short from here to :meth:`restore` either
        way."""
        tid = threading.get_native_id()
        if self._tid == tid:
            return self._before is not None
        self.restore()
        fast_switching.acquire()
        self._tid = tid
        try:
            before = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
            policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
            os.sched_setscheduler(0, policy, os.sched_param(self.priority))
        except (OSError, AttributeError):  # refused, or not Linux
            return False
        self._before = before
        return True

    def restore(self) -> None:
        """The thread's scheduling as it was before :meth:`claim` (from any thread)."""
        if self._tid is None:
            return
        tid, before = self._tid, self._before
        self._tid, self._before = None, None
        fast_switching.release()
        if before is not None:
            try:  # the thread may have ended: nothing to restore then
                os.sched_setscheduler(tid, before[0], os.sched_param(before[1]))
            except OSError:
                pass
