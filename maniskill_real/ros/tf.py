"""A small TF buffer: the newest transform of every edge on /tf and /tf_static, and lookups.

Enough to read a camera's extrinsics from the robot's TF tree without tf2_ros (which has no
PyPI wheel): no history or interpolation, so a lookup always composes the newest transforms.
Like tf2, a frame has one parent; the last message received for a child frame wins, so a
re-parented frame drops its old edge.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from geometry_msgs.msg import Transform
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from maniskill_real.errors import TfLookupError
from maniskill_real.ros.node import RosNode
from maniskill_real.ros.stamps import stamp_to_ns

# What tf2_ros listeners use: a deep queue, since one /tf message per frame may come in bursts,
# and transient_local on /tf_static so transforms published once before we joined still arrive.
TF_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
TF_STATIC_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=100,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def quaternion_to_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """3x3 rotation of a (possibly unnormalised) quaternion; ROS order x, y, z, w."""
    q = np.array([x, y, z, w], dtype=np.float64)
    norm = np.linalg.norm(q)
    if norm == 0.0:
        raise ValueError("zero quaternion is not a rotation")
    x, y, z, w = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def transform_to_matrix(t: Transform) -> np.ndarray:
    """4x4 homogeneous matrix of a geometry_msgs/Transform (parent_T_child)."""
    out = np.eye(4)
    r = t.rotation
    out[:3, :3] = quaternion_to_matrix(r.x, r.y, r.z, r.w)
    out[:3, 3] = (t.translation.x, t.translation.y, t.translation.z)
    return out


class TfBuffer:
    """Listens on /tf and /tf_static of ``ros`` and answers ``lookup``s from any thread."""

    def __init__(self, ros: RosNode) -> None:
        self._cond = threading.Condition()
        self._edges: dict[str, tuple[str, np.ndarray]] = {}
        """child frame -> (parent frame, parent_T_child)."""
        self._stamps: dict[str, int] = {}
        """child frame -> header stamp (ns) of its newest transform; 0 for a static one."""
        ros.subscribe(TFMessage, "/tf", self._on_msg, TF_QOS)
        ros.subscribe(TFMessage, "/tf_static", self._on_static, TF_STATIC_QOS)

    def _on_static(self, msg: TFMessage) -> None:
        self._on_msg(msg, static=True)

    def _on_msg(self, msg: TFMessage, static: bool = False) -> None:
        edges = {
            t.child_frame_id.lstrip("/"): (
                t.header.frame_id.lstrip("/"),
                transform_to_matrix(t.transform),
            )
            for t in msg.transforms
        }
        stamps = {
            t.child_frame_id.lstrip("/"): 0 if static else stamp_to_ns(t.header.stamp)
            for t in msg.transforms
        }
        with self._cond:
            self._edges.update(edges)
            self._stamps.update(stamps)
            self._cond.notify_all()

    def frames(self) -> list[str]:
        """Every frame some transform names, sorted."""
        with self._cond:
            return sorted(self._known())

    def _known(self) -> set[str]:
        return {f for child, (parent, _) in self._edges.items() for f in (child, parent)}

    def lookup(self, target_frame: str, source_frame: str, timeout: float = 0.0) -> np.ndarray:
        """target_T_source as a 4x4 matrix: maps points in ``source_frame`` to
        ``target_frame`` (tf2's lookupTransform order), so ``lookup(world, camera)`` is the
        camera's pose in the world. Waits up to ``timeout`` s for a path to appear, then raises
        TfLookupError naming both frames and the frames known."""
        target_frame, source_frame = target_frame.lstrip("/"), source_frame.lstrip("/")
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._compose(target_frame, source_frame)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    break
                self._cond.wait(left)
        if found is None:
            known = ", ".join(self.frames()) or "none: is anything publishing /tf or /tf_static?"
            raise TfLookupError(
                f"no TF path from frame '{source_frame}' to frame '{target_frame}' "
                f"after {timeout:.1f} s (known frames: {known})"
            )
        return found

    def lookup_stamped(self, target_frame: str, source_frame: str) -> tuple[np.ndarray, int] | None:
        """(target_T_source, the oldest stamp of a moving edge on the path, 0 if every edge is
        static) now, or None without a path: for an object tracked in TF, whose age counts."""
        target_frame, source_frame = target_frame.lstrip("/"), source_frame.lstrip("/")
        with self._cond:
            found = self._compose(target_frame, source_frame)
            if found is None:
                return None
            # the frames below the lowest common ancestor: each one's edge is on the path
            path = set(self._ancestors(target_frame)) ^ set(self._ancestors(source_frame))
            stamps = [self._stamps[f] for f in path if f in self._edges and self._stamps.get(f)]
        return found, min(stamps, default=0)

    def _ancestors(self, frame: str) -> dict[str, np.ndarray]:
        """Each ancestor of ``frame`` (itself included) -> ancestor_T_frame."""
        chain = {frame: np.eye(4)}
        pose = chain[frame]
        while frame in self._edges:
            parent, parent_T_frame = self._edges[frame]
            if parent in chain:  # a cycle: stop rather than loop forever
                break
            pose = parent_T_frame @ pose
            chain[parent] = pose
            frame = parent
        return chain

    def _compose(self, target: str, source: str) -> np.ndarray | None:
        """target_T_source through the lowest common ancestor, or None without a path."""
        known = self._known()
        if target not in known or source not in known:
            return None
        from_source = self._ancestors(source)
        from_target = self._ancestors(target)
        for frame, common_T_source in from_source.items():  # nearest ancestor first
            if frame in from_target:
                return np.linalg.inv(from_target[frame]) @ common_T_source
        return None
