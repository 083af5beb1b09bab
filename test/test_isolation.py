"""tools/isolation.py: a run that starts its own robot gets a DDS domain no one here uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from maniskill_real.tools.isolation import domain_in_use, free_domain

NODE = """
import time
import rclpy
rclpy.init()
node = rclpy.create_node("isolation_probe")
print("up", flush=True)
time.sleep(60)
"""


@pytest.fixture(params=["LOCALHOST", "SUBNET"])
def occupied_domain(request: pytest.FixtureRequest) -> Iterator[int]:
    """A real rclpy node in another process on a free domain, discovering this host only or
    the subnet (a robot's bringup with ROS defaults)."""
    domain = free_domain(int(os.environ["ROS_DOMAIN_ID"]) + 1)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE=request.param)
    proc = subprocess.Popen(
        [sys.executable, "-c", NODE], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        deadline = time.monotonic() + 5.0
        while not domain_in_use(domain) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield domain
    finally:
        proc.kill()
        proc.wait()


def test_a_domain_with_a_node_on_this_host_is_in_use(occupied_domain: int) -> None:
    assert domain_in_use(occupied_domain)
    other = free_domain(occupied_domain)
    assert other != occupied_domain
    assert not domain_in_use(other)


def test_this_runs_domain_is_its_own() -> None:
    """conftest isolated the run before any node started: its domain is the one in the
    environment, and a free domain is kept as asked."""
    domain = int(os.environ["ROS_DOMAIN_ID"])
    assert 0 <= domain <= 101
    spare = free_domain(domain + 1)
    assert free_domain(spare) == spare
