"""Object poses: ROS's (position, quaternion x y z w) <-> ManiSkill's raw pose (p, q w x y z),
validation, and the fixed offset between what a perception node tracks and the sim actor.

Pure numpy: no ROS, no ManiSkill. A pose here is a 7-vector in ManiSkill's ``raw_pose`` order
(x, y, z, qw, qx, qy, qz), so it goes into the twin as it is.
"""

from __future__ import annotations

import numpy as np

QUATERNION_TOLERANCE = 1e-3
"""|1 - norm| a reading's quaternion may be off by: float32 round trips stay far below it,
while a quaternion that isn't one (zeros, a wrong field) is far above it."""


def quaternion_problem(xyzw: np.ndarray) -> str | None:
    """Why ``xyzw`` is not a rotation (None if it is)."""
    norm = float(np.linalg.norm(xyzw))
    if abs(norm - 1.0) > QUATERNION_TOLERANCE:
        return f"quaternion {np.round(xyzw, 4).tolist()} (x, y, z, w) has norm {norm:.4f}, not 1"
    return None


def raw_pose(position: np.ndarray, xyzw: np.ndarray) -> np.ndarray:
    """ROS position + quaternion (x, y, z, w) -> ManiSkill raw pose (x, y, z, w, x, y, z)."""
    q = np.asarray(xyzw, dtype=np.float64)
    q = q / np.linalg.norm(q)
    return np.concatenate([np.asarray(position, dtype=np.float64), [q[3], q[0], q[1], q[2]]])


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of two (w, x, y, z) quaternions."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    qv = np.concatenate([[0.0], v])
    conj = q * np.array([1.0, -1.0, -1.0, -1.0])
    return _quat_mul(_quat_mul(q, qv), conj)[1:]


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b for raw poses: ``world_T_tracked * tracked_T_actor = world_T_actor``."""
    p = a[:3] + _rotate(a[3:], b[:3])
    q = _quat_mul(a[3:], b[3:])
    return np.concatenate([p, q / np.linalg.norm(q)])


def offset_pose(offset: tuple[float, ...]) -> np.ndarray:
    """A config offset (x, y, z, then x, y, z, w) as a raw pose."""
    return raw_pose(np.array(offset[:3]), np.array(offset[3:]))


def matrix_to_raw_pose(matrix: np.ndarray) -> np.ndarray:
    """A 4x4 homogeneous transform -> raw pose (Shepperd's method, stable for every angle)."""
    r = matrix[:3, :3]
    trace = np.trace(r)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q = [0.0] * 4
        q[0] = (r[k, j] - r[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (r[j, i] + r[i, j]) / s
        q[1 + k] = (r[k, i] + r[i, k]) / s
    quat = np.array(q)
    if quat[0] < 0:
        quat = -quat
    return np.concatenate([matrix[:3, 3], quat / np.linalg.norm(quat)])


def pose_gap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(position distance in m, rotation angle in rad) between two raw poses."""
    dot = abs(float(np.dot(a[3:] / np.linalg.norm(a[3:]), b[3:] / np.linalg.norm(b[3:]))))
    return float(np.linalg.norm(a[:3] - b[:3])), float(2.0 * np.arccos(min(1.0, dot)))
