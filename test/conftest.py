"""Shared fixtures: an isolated DDS domain per test run, and robots started as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# One DDS domain per test run, on loopback only, so parallel runs and other graphs never mix.
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_shm.xml"))


class RobotProcess:
    """A robot node (mock_hardware, sim_robot) running as its own OS process."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def node_command(executable: str, params: dict[str, object]) -> list[str]:
    """The console script of this venv, with ROS parameters as ``-p name:=value``."""
    exe = Path(sys.executable).parent / executable
    args = [str(exe), "--ros-args"]
    for name, value in params.items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | tuple):
            value = "[" + ",".join(repr(v) if isinstance(v, str) else str(v) for v in value) + "]"
        args += ["-p", f"{name}:={value}"]
    return args


@pytest.fixture
def start_robot(tmp_path: Path) -> Iterator[Callable[..., RobotProcess]]:
    """Start robot processes; all are stopped (SIGINT, then SIGKILL) at teardown."""
    started: list[RobotProcess] = []

    def start(executable: str, **params: object) -> RobotProcess:
        proc = RobotProcess(
            node_command(executable, params), tmp_path / f"{executable}-{len(started)}.log"
        )
        started.append(proc)
        time.sleep(0.2)
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{executable} exited at once:\n{proc.log()}")
        return proc

    yield start
    for proc in started:
        proc.stop()
