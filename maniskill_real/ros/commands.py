"""The one place a command leaves the package: one publish helper per ros2_control controller kind.

``forward_command_controller`` takes ``Float64MultiArray`` on ``<ctrl>/commands`` in the
controller's ``joints`` order; ``joint_trajectory_controller`` takes ``JointTrajectory`` on
``<ctrl>/joint_trajectory`` (a zero header stamp means "start now"). A future safety layer wraps
``ControllerCommand.send``; nothing else publishes commands.
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import ControllerConfig
from maniskill_real.ros.node import RosNode


def duration_msg(seconds: float) -> Duration:
    ns = int(round(seconds * 1e9))
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def duration_to_s(d: Duration) -> float:
    return d.sec + d.nanosec * 1e-9


class ControllerCommand:
    """Publishes targets for one controller, in that controller's joint order, on ``topic``
    (its command topic, resolved where the controller runs)."""

    def __init__(self, ros: RosNode, controller: ControllerConfig, topic: str) -> None:
        self.controller = controller
        self.is_trajectory = controller.kind == "joint_trajectory_controller"
        msg_type = JointTrajectory if self.is_trajectory else Float64MultiArray
        self.topic = topic
        self.publisher = ros.publisher(msg_type, topic)
        self.sent = 0

    def send(self, targets: np.ndarray, time_from_start: float) -> None:
        """Command ``targets`` (controller joint order) to be reached ``time_from_start`` from now.

        A forward command controller applies targets at once, so ``time_from_start`` only
        shapes trajectories. Non-finite targets are refused here, before anything is published.
        """
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != (len(self.controller.joints),):
            raise ValueError(
                f"{self.topic}: expected {len(self.controller.joints)} targets, "
                f"got shape {targets.shape}"
            )
        if not np.all(np.isfinite(targets)):
            raise ValueError(f"{self.topic}: refusing to publish non-finite targets {targets}")
        if self.is_trajectory:
            msg = JointTrajectory(
                joint_names=list(self.controller.joints),
                points=[
                    JointTrajectoryPoint(
                        positions=targets.tolist(), time_from_start=duration_msg(time_from_start)
                    )
                ],
            )
        else:
            msg = Float64MultiArray(data=targets.tolist())
        self.publisher.publish(msg)
        self.sent += 1

    def hold(self, current: np.ndarray | None, time_from_start: float) -> None:
        """Make the controller hold still, as ros2_control holds (ros/motion.py): for a
        trajectory controller a one-point trajectory with all its joints at ``current``
        (controller order, measured); zero for a velocity forward controller; ``current`` for a
        position one. Without ``current``, only the velocity controller is told anything."""
        if self.controller.interface == "velocity":
            self.send(np.zeros(len(self.controller.joints)), 0.0)
        elif current is not None:
            self.send(current, time_from_start)

    @property
    def subscriber_count(self) -> int:
        return self.publisher.get_subscription_count()
