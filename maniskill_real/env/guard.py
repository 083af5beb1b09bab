"""What makes a live RealEnv hold the robot when the code driving it doesn't: signals and a
watchdog.

- SIGINT and SIGTERM: the handler holds the robot and closes the env (node and executor thread
  gone, so the interpreter can exit cleanly), then raises ``KeyboardInterrupt`` or
  ``SystemExit(143)`` as the default handlers would (at the end of a step or reset that was
  running: see ``run``). The previous handlers come back on
  ``uninstall()``. Only the main thread can install handlers; elsewhere the guard says so once.
- A watchdog thread: while the env is live, no ``step()`` for longer than ``timeout`` (the
  policy stalled, a debugger stopped, an exception was swallowed) holds the robot, and the env
  then refuses to step until ``reset()``.

No ROS here: ``hold`` and ``close`` are callables the env passes in.
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class HoldGuard:
    def __init__(
        self,
        hold: Callable[[str], None],
        close: Callable[[], None],
        timeout: float,
    ) -> None:
        self._hold = hold
        self._close = close
        self.timeout = timeout
        self._previous: dict[int, Any] = {}
        # Reentrant: the signal handler runs on the main thread, possibly inside live()'s block,
        # and closing takes it again (idle()); a plain Lock deadlocked there, before the hold
        self._lock = threading.RLock()
        self._last_step = time.monotonic()
        self._live = False
        self.fired: str | None = None
        """Why the watchdog held the robot (None if it didn't)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = 0
        """Steps or resets running (``run``) on the main thread."""
        self._pending: int | None = None
        """A signal handled during one: raised when it ends."""

    # -- signals --------------------------------------------------------------------------
    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            warnings.warn(
                "RealEnv built outside the main thread: no SIGINT/SIGTERM hold handlers "
                "(Python delivers signals to the main thread only); close() it yourself",
                stacklevel=3,
            )
            return
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, handler)
        self._previous.clear()

    def run(self, call: Callable[[], Any]) -> Any:
        """Run a step or reset. A signal that arrives meanwhile holds the robot at once; its
        exception is raised when ``call`` returns or fails, not in the middle of it, where a C
        extension converting an argument would swallow it (pybind11 reports a TypeError)."""
        self._running += 1
        try:
            return call()
        finally:
            self._running -= 1
            if not self._running and self._pending is not None:
                signum, self._pending = self._pending, None
                _raise_for(signum)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        try:
            self._close()  # holds first, then leaves the graph
        finally:
            self.uninstall()
        if self._running:
            self._pending = signum
        else:
            _raise_for(signum)

    # -- watchdog -------------------------------------------------------------------------
    def start_watchdog(self) -> None:
        if self._thread is None and self.timeout > 0:
            self._thread = threading.Thread(
                target=self._watch, name="realenv-watchdog", daemon=True
            )
            self._thread.start()

    def live(self) -> None:
        """A step or reset just succeeded: the robot is being driven, and the clock restarts."""
        with self._lock:
            self._last_step = time.monotonic()
            self._live = True
            self.fired = None

    def idle(self) -> None:
        """The robot is holding on purpose (after a fault, before a reset): nothing to watch."""
        with self._lock:
            self._live = False

    def _watch(self) -> None:
        period = min(0.05, self.timeout / 4)
        while not self._stop.wait(period):
            with self._lock:
                late = time.monotonic() - self._last_step
                due = self._live and late > self.timeout
                if due:
                    self._live = False
                    self.fired = (
                        f"no step() for {late:.2f} s (safety.watchdog_timeout {self.timeout} s)"
                    )
                    why = self.fired
            if due:
                self._hold(why)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self.uninstall()


def _raise_for(signum: int) -> None:
    """What the default handlers do: KeyboardInterrupt for SIGINT, exit 128 + signum else."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)
