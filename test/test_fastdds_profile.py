"""Every process that makes a RosNode (RealEnv's agent, mock_hardware, sim_robot) gets the shipped
shared-memory Fast DDS profile before rclpy.init: the transport that the tests measured, not
only when the tests or the demo set it. Each case runs in a fresh process, since Fast DDS reads
the variable once per process (conftest.py has already set it in this one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maniskill_real.config import fastdds_profile
from maniskill_real.ros.node import FASTDDS_PROFILES_ENV, use_shipped_fastdds_profile

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import os
from maniskill_real.ros.node import RosNode
node = RosNode("fastdds_profile_probe")
print(os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE"))
node.close()
"""


def _probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result


def _environment_without_profile() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in (FASTDDS_PROFILES_ENV, "RMW_IMPLEMENTATION")
    }


def test_the_profile_is_the_shipped_file() -> None:
    assert fastdds_profile().resolve() == REPO / "config" / "fastdds_shm.xml"


def test_a_node_process_gets_the_shipped_profile_and_says_so() -> None:
    result = _probe(_environment_without_profile())
    assert result.stdout.strip() == str(fastdds_profile())
    assert f"{FASTDDS_PROFILES_ENV} was unset: using {fastdds_profile()}" in result.stderr


def test_a_profile_the_user_set_is_kept(tmp_path: Path) -> None:
    mine = shutil.copy(fastdds_profile(), tmp_path / "mine.xml")
    result = _probe(_environment_without_profile() | {FASTDDS_PROFILES_ENV: str(mine)})
    assert result.stdout.strip() == str(mine)
    assert "was unset" not in result.stderr


def test_another_rmw_gets_no_fast_dds_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the variable is checked here: no other RMW is installed to init with."""
    monkeypatch.delenv(FASTDDS_PROFILES_ENV, raising=False)
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    use_shipped_fastdds_profile()
    assert FASTDDS_PROFILES_ENV not in os.environ
