"""The one place a command leaves the package: one publish helper per ros2_control controller kind.

``forward_command_controller`` takes ``Float64MultiArray`` on ``<ctrl>/commands`` in the
controller's ``joints`` order; ``joint_trajectory_controller`` takes ``JointTrajectory`` on
``<ctrl>/joint_trajectory`` (a zero header stamp means "start now"); a
``gripper_action_controller`` takes ``control_msgs/GripperCommand`` goals on ``<ctrl>/gripper_cmd``
(``GripperGoalCommand``). RealEnv's gate runs before ``send``; nothing else commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import rclpy.duration
from builtin_interfaces.msg import Duration
from control_msgs.action import GripperCommand, ParallelGripperCommand
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from maniskill_real.config import ControllerConfig
from maniskill_real.errors import ControllerError
from maniskill_real.ros.controllers import GoalClient
from maniskill_real.ros.node import RosNode, poll_until

GRIPPER_DEADBAND = 1e-4
"""m or rad: a gripper target that moved less than this from the last goal sends no new goal
(each goal preempts the running one, which restarts the controller's stall timer)."""


def duration_msg(seconds: float) -> Duration:
    ns = int(round(seconds * 1e9))
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def duration_to_s(d: Duration) -> float:
    return d.sec + d.nanosec * 1e-9


def checked_targets(
    topic: str, controller: ControllerConfig, targets: np.ndarray, verb: str
) -> np.ndarray:
    """``targets`` as float64, one per controller joint and finite, or ValueError naming it."""
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape != (len(controller.joints),):
        raise ValueError(
            f"{topic}: expected {len(controller.joints)} targets, got shape {targets.shape}"
        )
    if not np.all(np.isfinite(targets)):
        raise ValueError(f"{topic}: refusing to {verb} non-finite targets {targets}")
    return targets


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
        self.prepare(targets, time_from_start)()

    def prepare(self, targets: np.ndarray, time_from_start: float) -> Callable[[], None]:
        """The message for :meth:`send`, checked and built now; returns its publish."""
        targets = checked_targets(self.topic, self.controller, targets, "publish")
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

        def publish() -> None:
            self.publisher.publish(msg)
            self.sent += 1

        return publish

    def hold(self, current: np.ndarray | None, time_from_start: float) -> None:
        """Make the controller hold still, as ros2_control holds (ros/motion.py): for a
        trajectory controller a one-point trajectory with all its joints at ``current``
        (controller order, measured); zero for a velocity forward controller; ``current`` for a
        position one. Without ``current``, only the velocity controller is told anything."""
        if self.controller.interface == "velocity":
            self.send(np.zeros(len(self.controller.joints)), 0.0)
        elif current is not None:
            self.send(current, time_from_start)

    def wait_ready(self, ros: RosNode, timeout: float) -> bool:
        """Until the controller listens (a command sent before discovery is lost)."""
        return ros.wait_for_subscribers(self.publisher, timeout)

    def delivered(self, timeout: float) -> bool:
        """Until every subscriber (the controller) acknowledged every message sent: a
        reliable writer resends a lost sample only while it exists, so the node must not go
        before (rclpy's ``Publisher.wait_for_all_acked``). False after ``timeout`` s."""
        return self.publisher.wait_for_all_acked(rclpy.duration.Duration(seconds=timeout))

    @property
    def subscriber_count(self) -> int:
        return self.publisher.get_subscription_count()


class GripperGoalCommand:
    """Sends targets to a ``gripper_action_controller`` as ``control_msgs/GripperCommand`` goals
    on ``<ctrl>/gripper_cmd`` (``parallel_gripper_action_controller``: ParallelGripperCommand,
    one joint name and position): the position of the controller's one joint (the first of
    ``joints``: the others mimic it) and the config's ``max_effort``.

    Upstream (ros-controls/ros2_controllers jazzy,
    ``gripper_controllers/include/gripper_controllers/gripper_action_controller_impl.hpp``):
    ``goal_callback`` accepts every goal, ``accepted_callback`` preempts the running one
    (``preempt_active_goal``: cancelled) and commands the new position; the goal ends when the
    joint is within ``goal_tolerance`` (reached) or has not moved for ``stall_timeout``
    (stalled: aborted unless ``allow_stalling``). So a policy step sends a goal only when the
    target moved more than ``GRIPPER_DEADBAND`` and never waits for its answer.
    """

    is_trajectory = False
    is_goal = True

    def __init__(self, ros: RosNode, controller: ControllerConfig, action: str) -> None:
        self.controller = controller
        self.topic = action
        self._ros = ros
        self.parallel = controller.kind == "parallel_gripper_action_controller"
        self.client = GoalClient(
            ros, ParallelGripperCommand if self.parallel else GripperCommand, action
        )
        self.last_goal: float | None = None
        self.sent = 0
        self._queued = 0
        self._requested = 0
        """Of the goals queued for the executor thread, those it handed to the action client."""

    def _goal(self, position: float) -> Any:
        effort = float(self.controller.max_effort)
        if self.parallel:  # position[0]; effort[0] if given, else the controller's max_effort
            joint = self.controller.joints[0]
            command = JointState(name=[joint], position=[float(position)])
            command.effort = [effort] if effort > 0 else []
            return ParallelGripperCommand.Goal(command=command)
        goal = GripperCommand.Goal()
        goal.command.position = float(position)
        goal.command.max_effort = effort
        return goal

    def _position(self, targets: np.ndarray) -> float:
        return float(checked_targets(self.topic, self.controller, targets, "send")[0])

    def send(self, targets: np.ndarray, time_from_start: float) -> None:
        """A goal at ``targets[0]`` if it moved more than the deadband since the last goal;
        sent from the executor thread, without waiting (``time_from_start`` is unused: the
        controller moves at the hardware's pace)."""
        self.prepare(targets, time_from_start)()

    def prepare(self, targets: np.ndarray, time_from_start: float) -> Callable[[], None]:
        """:meth:`send`'s check now; returns the send (the deadband is judged then)."""
        position = self._position(targets)

        def publish() -> None:
            if self.last_goal is None or abs(position - self.last_goal) > GRIPPER_DEADBAND:
                self._send_async(position)

        return publish

    def _send_async(self, position: float) -> None:
        if not self.client.reached:
            raise ControllerError(f"{self.topic}: no action server reached yet (reset() first)")
        goal = self._goal(position)

        def request() -> None:
            try:
                self.client.send_goal_async(goal)
            finally:
                self._requested += 1

        self._queued += 1
        self._ros.call_soon(request)
        self.last_goal = position
        self.sent += 1

    def hold(self, current: np.ndarray | None, time_from_start: float) -> None:
        """A goal at the measured position: what upstream's ``set_hold_position`` commands when
        a goal is cancelled (gripper_action_controller_impl.hpp, ``cancel_callback``), here
        also for a goal of another client, which this client could not cancel. Without a
        fresh reading the last goal stands."""
        if current is not None and self.client.reached:
            self._send_async(self._position(current))

    def start(self, targets: np.ndarray, timeout: float) -> object:
        """Send a goal at ``targets[0]`` and return its handle once accepted (reset()'s move;
        ``GoalClient.result`` tells how it ended)."""
        position = self._position(targets)
        handle = self.client.send(self._goal(position), timeout)
        self.last_goal = position
        self.sent += 1
        return handle

    def delivered(self, timeout: float) -> bool:
        """Until every goal queued has been requested from the action server (sent from the
        executor thread, so it must run before the node goes). False after ``timeout`` s."""
        return poll_until(lambda: self._requested >= self._queued, timeout)

    def wait_ready(self, ros: RosNode, timeout: float) -> bool:
        """Until the action server answers this process."""
        try:
            self.client.reach(timeout)
        except ControllerError:
            return False
        return True
