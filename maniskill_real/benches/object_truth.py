"""sim_robot's perception node: every non-static actor's true pose as geometry_msgs/PoseStamped
on ``~/objects/<actor>`` (:func:`topic_token`), in frame ``world`` (the sim's), stamped when it
was measured.

A perfect one unless asked otherwise: ``noise`` (position std in m, orientation std in rad per
axis), ``latency`` (s between the measurement and its publication; the stamp stays the
measurement's, as a tracker stamps with its camera frame) and ``dropout`` (the probability that
a measurement is never published).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped

from maniskill_real.core.poses import compose
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg

FRAME = "world"


@dataclass
class Knobs:
    noise: float = 0.0
    orientation_noise: float = 0.0
    latency: float = 0.0
    dropout: float = 0.0


def topic_token(actor: str) -> str:
    """An actor name as a ROS name token: other characters than letters, digits and underscores
    become underscores (ManiSkill's ``table-workspace`` -> ``table_workspace``)."""
    token = re.sub(r"[^A-Za-z0-9_]", "_", actor)
    return token if not token[:1].isdigit() else f"_{token}"


def _small_rotation(rng: np.random.Generator, std: float) -> np.ndarray:
    """A raw pose (no translation) rotated by a random axis-angle with ``std`` rad per axis."""
    rotvec = rng.normal(0.0, std, 3)
    angle = float(np.linalg.norm(rotvec))
    if angle == 0.0:
        return np.array([0, 0, 0, 1.0, 0, 0, 0])
    axis = rotvec / angle
    return np.concatenate([[0, 0, 0, np.cos(angle / 2)], np.sin(angle / 2) * axis])


class ObjectTruth:
    """Measures at ``sample``, publishes at ``flush`` once each measurement's latency is over."""

    def __init__(self, ros: RosNode, publish: Callable[[Any, Any], None]) -> None:
        self.ros = ros
        self.publish = publish
        self.knobs = Knobs()
        self._pubs: dict[str, Any] = {}
        self._pending: deque[tuple[int, Any, PoseStamped]] = deque()
        self._rng = np.random.default_rng()

    def sample(self, stamp_ns: int, poses: dict[str, np.ndarray]) -> None:
        """Measure ``poses`` (actor -> raw pose p, q wxyz) at ``stamp_ns``."""
        k = self.knobs
        due = stamp_ns + int(k.latency * 1e9)
        for name, pose in poses.items():
            if k.dropout > 0 and self._rng.random() < k.dropout:
                continue
            if k.orientation_noise > 0:
                pose = compose(pose, _small_rotation(self._rng, k.orientation_noise))
            if k.noise > 0:
                pose = pose.copy()
                pose[:3] += self._rng.normal(0.0, k.noise, 3)
            if name not in self._pubs:
                topic = f"~/objects/{topic_token(name)}"
                self._pubs[name] = self.ros.publisher(PoseStamped, topic, STATE_QOS)
            msg = PoseStamped()
            msg.header.stamp = time_msg(stamp_ns)
            msg.header.frame_id = FRAME
            p, o = msg.pose.position, msg.pose.orientation
            p.x, p.y, p.z = (float(v) for v in pose[:3])
            o.w, o.x, o.y, o.z = (float(v) for v in pose[3:])
            self._pending.append((due, self._pubs[name], msg))

    def flush(self, now_ns: int) -> None:
        while self._pending and self._pending[0][0] <= now_ns:
            _, pub, msg = self._pending.popleft()
            self.publish(pub, msg)
