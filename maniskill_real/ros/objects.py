"""The real poses of the sim env's objects: one source per mapped actor (a PoseStamped topic from
a perception node, tag tracker or motion capture, or a TF frame), validated like joint states.

A reading is refused (raised, naming its topic or frame) when it is stale, has a zero stamp or
one in the future, went back in time, is non-finite, carries a quaternion that isn't a unit one,
or is in another frame than the configured one. What passes is the actor's pose in the sim's
world frame (the configured offset applied), in ManiSkill's raw-pose order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from geometry_msgs.msg import PoseStamped

from maniskill_real.config import ObjectSource, RobotConfig
from maniskill_real.core.poses import (
    compose,
    matrix_to_raw_pose,
    offset_pose,
    quaternion_problem,
    raw_pose,
)
from maniskill_real.errors import InvalidInputError, StaleInputError
from maniskill_real.ros.node import Latest, RosNode

if TYPE_CHECKING:
    from maniskill_real.ros.tf import TfBuffer

FUTURE_TOLERANCE_S = 0.05
"""As for joint states (ros/inputs.py): more than this ahead of our clock, an age can't be told."""


def timing_key(actor: str) -> str:
    """The name of an object's reading in stamps, ages and info["timing"]."""
    return f"object/{actor}"


class ObjectInput:
    """One actor's pose source."""

    def __init__(self, ros: RosNode, config: RobotConfig, source: ObjectSource) -> None:
        self.source = source
        self.offset = offset_pose(source.offset)
        self.latest: Latest[PoseStamped] | None = None
        if source.topic is not None:
            self.latest = ros.latest(PoseStamped, config.topic(source.topic))
            self.name = self.latest.topic
        else:
            self.name = f"TF {source.world_frame} -> {source.tf_frame}"
        self._last_stamp_ns = 0

    def _newest(
        self, tf: TfBuffer | None, now_ns: int
    ) -> tuple[np.ndarray, np.ndarray, int, float] | None:
        """(position, quaternion xyzw, stamp ns, age s) of the newest reading, None before one."""
        source = self.source
        if self.latest is None:
            assert tf is not None and source.world_frame and source.tf_frame
            found = tf.lookup_stamped(source.world_frame, source.tf_frame)
            if found is None:
                return None
            matrix, stamp = found
            age = (now_ns - stamp) * 1e-9 if stamp else 0.0  # 0: static transforms only
            return matrix[:3, 3], _xyzw(matrix), stamp, age
        msg, stamp, age = self.latest.get()
        if msg is None:
            return None
        if msg.header.frame_id.lstrip("/") != source.frame.lstrip("/"):
            raise InvalidInputError(
                f"{self.name}: pose in frame '{msg.header.frame_id}', expected "
                f"'{source.frame}' (objects.{source.actor}.frame: the sim world's frame)"
            )
        if stamp == 0:
            raise InvalidInputError(f"{self.name}: a zero header stamp: its age can't be told")
        p, o = msg.pose.position, msg.pose.orientation
        return np.array([p.x, p.y, p.z]), np.array([o.x, o.y, o.z, o.w]), stamp, age

    def read(self, tf: TfBuffer | None, now_ns: int) -> tuple[np.ndarray, int, float]:
        """(the actor's raw pose in the sim world, stamp ns, age s); raises if untrustworthy."""
        source = self.source
        newest = self._newest(tf, now_ns)
        if newest is None or newest[3] > source.max_age:
            raise StaleInputError(
                self.name, float("inf") if newest is None else newest[3], source.max_age
            )
        position, xyzw, stamp, age = newest
        if age < -FUTURE_TOLERANCE_S:
            raise InvalidInputError(
                f"{self.name}: stamped {-age:.3f} s in the future (tolerance "
                f"{FUTURE_TOLERANCE_S} s): the publisher's clock is not ours"
            )
        if stamp < self._last_stamp_ns:
            raise InvalidInputError(
                f"{self.name}: stamp went back {(self._last_stamp_ns - stamp) * 1e-9:.3f} s: two "
                "publishers, or a restarted one with another clock"
            )
        if not (np.all(np.isfinite(position)) and np.all(np.isfinite(xyzw))):
            raise InvalidInputError(
                f"{self.name}: non-finite pose of '{source.actor}': position "
                f"{position.tolist()}, quaternion {xyzw.tolist()}"
            )
        problem = quaternion_problem(xyzw)
        if problem:
            raise InvalidInputError(f"{self.name}: pose of '{source.actor}': {problem}")
        self._last_stamp_ns = stamp
        return compose(raw_pose(position, xyzw), self.offset), stamp, age


def _xyzw(matrix: np.ndarray) -> np.ndarray:
    q = matrix_to_raw_pose(matrix)[3:]
    return np.array([q[1], q[2], q[3], q[0]])


class ObjectInputs:
    """Every mapped actor's source; ``sample`` reads them all at once."""

    def __init__(self, ros: RosNode, config: RobotConfig, tf: TfBuffer | None) -> None:
        self.ros = ros
        self.tf = tf
        self.inputs = [
            ObjectInput(ros, config, s) for s in config.objects.values() if not s.sim_belief
        ]

    @property
    def needs_tf(self) -> bool:
        return any(i.latest is None for i in self.inputs)

    def streams(self) -> list[Latest]:
        return [i.latest for i in self.inputs if i.latest is not None]

    def sample(self) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, float]]:
        """(actor -> raw pose, timing key -> stamp ns, timing key -> age s)."""
        poses, stamps, ages = {}, {}, {}
        now = self.ros.now_ns()
        for item in self.inputs:
            pose, stamp, age = item.read(self.tf, now)
            key = timing_key(item.source.actor)
            poses[item.source.actor], stamps[key], ages[key] = pose, stamp, age
        return poses, stamps, ages

    def restart(self) -> None:
        for item in self.inputs:
            item._last_stamp_ns = 0
