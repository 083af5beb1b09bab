"""Helpers the integration tests share: a recording QoS, polling with a named timeout, and the
policy's sim env."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import mani_skill.envs  # noqa: F401 - registers PickCube-v1
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

# A deep reliable queue: a test that records a topic must not lose a message.
RECORD_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1000,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def wait_for_no_subscriber(node: Any, topic: str, timeout: float) -> None:
    """Wait until nothing in the DDS graph subscribes to ``topic``; on timeout, name the nodes
    that still do (a robot killed by an earlier test stays in the graph for its lease)."""
    try:
        wait_until(lambda: node.count_subscribers(topic) == 0, timeout, f"no subscriber on {topic}")
    except AssertionError as e:
        holders = [
            f"{i.node_namespace.rstrip('/')}/{i.node_name}"
            for i in node.get_subscriptions_info_by_topic(topic)
        ]
        raise AssertionError(f"{e}; still subscribed by {holders}") from None


def policy_env(
    control_mode: str = "pd_joint_delta_pos", obs_mode: str = "state", **kwargs: Any
) -> gym.Env:
    """The PickCube-v1 sim env a policy was trained on, as RealEnv takes it."""
    return gym.make(
        "PickCube-v1",
        obs_mode=obs_mode,
        control_mode=control_mode,
        reward_mode="sparse",
        sim_backend="physx_cpu",
        **kwargs,
    )
