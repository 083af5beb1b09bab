"""Shared fixtures: an isolated DDS domain per test run, and robots started as real processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maniskill_real.tools.processes import RobotProcess

REPO = Path(__file__).resolve().parent.parent

# One DDS domain per test run, on loopback only, so parallel runs and other graphs never mix.
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_shm.xml"))


@pytest.fixture
def start_robot(tmp_path: Path) -> Iterator[Callable[..., RobotProcess]]:
    """Start robot processes; all are stopped (SIGINT, then SIGKILL) at teardown."""
    started: list[RobotProcess] = []

    def start(executable: str, **params: object) -> RobotProcess:
        proc = RobotProcess(executable, tmp_path / f"{executable}-{len(started)}.log", **params)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
