"""Shared fixtures: an isolated DDS domain per test run, and robots started as real processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from maniskill_real.tools.isolation import isolate_ros_graph
from maniskill_real.tools.processes import RobotProcess

# A DDS domain of its own per test run, on loopback only: parallel runs, a robot on this host
# and other graphs never mix (tools/isolation.py).
isolate_ros_graph()


@contextmanager
def _robot_starter(log_dir: Path) -> Iterator[Callable[..., RobotProcess]]:
    started: list[RobotProcess] = []

    def start(executable: str, ros_args: Sequence[str] = (), **params: object) -> RobotProcess:
        log = log_dir / f"{executable}-{len(started)}.log"
        proc = RobotProcess(executable, log, ros_args, **params)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture
def start_robot(tmp_path: Path) -> Iterator[Callable[..., RobotProcess]]:
    """Start robot processes; all are stopped (SIGINT, then SIGKILL) at teardown."""
    with _robot_starter(tmp_path) as start:
        yield start


@pytest.fixture(scope="class")
def start_shared_robot(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RobotProcess]]:
    """Like ``start_robot``, for robots that the tests of one class share (one process instead
    of one per test). They are stopped after the class's last test, before the next class
    starts, so robots of two classes never publish on the same topics at once."""
    with _robot_starter(tmp_path_factory.mktemp("robots")) as start:
        yield start
