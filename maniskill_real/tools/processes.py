"""Start the robot nodes (mock_hardware, sim_robot) as separate OS processes, as a launch
file would; used by the demo, the benchmarks and the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def node_command(
    executable: str, params: dict[str, object], ros_args: Sequence[str] = ()
) -> list[str]:
    """This interpreter's console script, or a module (a dotted name, run with ``-m``), with
    ``ros_args`` (e.g. ``-r __ns:=/left``) and ROS parameters as ``-p name:=value``."""
    if "." in executable:
        args = [sys.executable, "-m", executable, "--ros-args", *ros_args]
    else:
        args = [str(Path(sys.executable).parent / executable), "--ros-args", *ros_args]
    for name, value in params.items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | tuple):
            value = "[" + ",".join(repr(v) if isinstance(v, str) else str(v) for v in value) + "]"
        args += ["-p", f"{name}:={value}"]
    return args


class RobotProcess:
    """A robot node running as its own process, its output in a log file."""

    def __init__(
        self, executable: str, log_path: Path, ros_args: Sequence[str] = (), **params: object
    ) -> None:
        self.executable = executable
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            node_command(executable, params, ros_args),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(0.2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"{executable} exited at once:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        """SIGINT (a clean shutdown), then SIGKILL after 5 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> RobotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
