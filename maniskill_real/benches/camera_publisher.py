"""What a ROS camera driver publishes for one camera: an rgb8 Image, its CameraInfo, and 16UC1
depth in mm, stamped alike in the frame ``<camera>_optical_frame``.

The mock hardware's test pattern and the sim robot's renders both leave through here, so the two
test benches show RealEnv the same camera topics.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from maniskill_real.config import CameraTopics
from maniskill_real.core.camera import Intrinsics
from maniskill_real.ros.image import camera_info_from_intrinsics, numpy_to_image
from maniskill_real.ros.node import STATE_QOS, RosNode
from maniskill_real.ros.stamps import time_msg


class CameraPublisher:
    """The publishers of one camera; depth only with ``depth`` and a configured depth topic."""

    def __init__(
        self, ros: RosNode, topics: CameraTopics, intrinsics: Intrinsics, depth: bool
    ) -> None:
        self.topics = topics
        self.intrinsics = intrinsics
        self.frame_id = f"{topics.name}_optical_frame"
        self._image = ros.publisher(Image, topics.image_topic, STATE_QOS)
        self._info = ros.publisher(CameraInfo, topics.info_topic, STATE_QOS)
        self._depth = (
            ros.publisher(Image, topics.depth_topic, STATE_QOS)
            if depth and topics.depth_topic
            else None
        )

    @property
    def has_depth(self) -> bool:
        return self._depth is not None

    def publish(
        self,
        stamp_ns: int,
        rgb: np.ndarray,
        depth_mm: np.ndarray | None = None,
        dropped: frozenset[str] = frozenset(),
    ) -> None:
        """One frame: ``rgb`` (H, W, 3) uint8, ``depth_mm`` (H, W) uint16 when ``has_depth``;
        nothing on the topics in ``dropped`` (resolved names)."""
        stamp = time_msg(stamp_ns)
        if self._image.topic_name not in dropped:
            self._image.publish(numpy_to_image(rgb, "rgb8", stamp, self.frame_id))
        if self._info.topic_name not in dropped:
            self._info.publish(camera_info_from_intrinsics(self.intrinsics, stamp, self.frame_id))
        if (
            self._depth is not None
            and depth_mm is not None
            and self._depth.topic_name not in dropped
        ):
            self._depth.publish(numpy_to_image(depth_mm, "16UC1", stamp, self.frame_id))
