"""A SIGINT/SIGTERM handler runs on the main thread between two bytecodes, possibly inside a
lock's block that the main thread holds; RealEnv's handler then closes (holds the robot), which
takes the same locks again. With plain locks that deadlocked before the hold was sent: found as
a hung ``test_safety.py::test_signals_hold_the_arm`` process (gdb: the main thread in the
handler, blocked on a lock acquire). Each case runs in a child process, so a deadlock fails the
test on its timeout instead of hanging the suite. No ROS needed: the locks are the package's own.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

CHILD = """
import os, signal, sys, time
from maniskill_real.core.release import Releaser
from maniskill_real.env.guard import HoldGuard

releaser = Releaser(on_error=print)

def close():
    guard.idle()        # what RealEnv.close() takes first
    releaser.close()    # and then (latency_steps >= 1)
    print("held", time.monotonic() - signalled, flush=True)

guard = HoldGuard(hold=print, close=close, timeout=0.0)
guard.install()
lock = {"guard": guard._lock, "releaser": releaser._cond}[sys.argv[1]]
with lock:              # e.g. inside guard.live() at the end of a step
    signalled = time.monotonic()
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(1.0)     # the handler runs here, at the next bytecode
print("not interrupted", flush=True)
"""


@pytest.mark.parametrize("held", ["guard", "releaser"])
def test_a_signal_inside_a_lock_still_holds_and_exits(held: str) -> None:
    """SIGTERM while the main thread holds the watchdog's lock, or the release queue's: the
    handler closes and the hold's turn comes at once (not after Releaser.close() waited 5 s
    for a thread that needs the lock the handler's frame holds), and the process exits with
    143."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, held], capture_output=True, text=True, timeout=30
    )
    assert child.returncode == 128 + signal.SIGTERM, child.stderr
    word, after = child.stdout.split()
    assert word == "held", child.stdout
    assert float(after) < 1.0, f"the hold's turn came {after} s after the signal"
