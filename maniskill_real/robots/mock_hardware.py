"""Mock hardware: the ros2_control surface of ``mock_components/GenericSystem`` behind a
controller_manager, with no robot and no physics.

Commands on the controllers' topics become joint positions through an optional first-order lag
(``time_constant``) after an optional ``command_delay``; ``time_constant: 0`` mirrors commands
to states exactly as GenericSystem does. ``/joint_states`` is published in an order unlike the
config's, since joint_state_broadcaster guarantees none. A test camera publishes Image +
CameraInfo (and 16UC1 depth) for every camera in the robot config.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time

import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter

from maniskill_real.align.camera import Intrinsics
from maniskill_real.config import CameraTopics, load_robot_config
from maniskill_real.robots.camera_publisher import CameraPublisher
from maniskill_real.robots.surface import ControlSurface
from maniskill_real.ros.node import RosNode

PARAMETERS: dict[str, object] = {
    "robot_config": "panda",
    "joint_state_rate": 100.0,
    "time_constant": 0.05,
    "command_delay": 0.0,
    "initial_positions": [0.0],
    "publish_camera": True,
    "camera_rate": 15.0,
    "camera_width": 640,
    "camera_height": 480,
    "camera_fov": 1.75,  # rad, vertical: wider than PickCube's 90 deg camera
}


class TestCamera:
    """A moving test pattern with a flat depth plane, stamped like a camera driver would."""

    def __init__(self, ros: RosNode, topics: CameraTopics, intr: Intrinsics) -> None:
        self.out = CameraPublisher(ros, topics, intr, depth=True)
        v, u = np.mgrid[0 : intr.height, 0 : intr.width]
        self._u, self._v = u.astype(np.uint16), v.astype(np.uint16)
        self._depth = np.full((intr.height, intr.width), 1000, dtype=np.uint16)  # 1 m plane
        self.frame = 0

    def publish(self, stamp_ns: int) -> None:
        shift = self.frame * 4
        rgb = np.stack(
            [
                (self._u + shift) % 256,
                (self._v + shift) % 256,
                np.full_like(self._u, self.frame % 256),
            ],
            axis=-1,
        ).astype(np.uint8)
        self.out.publish(stamp_ns, rgb, self._depth)
        self.frame += 1


class MockHardware:
    def __init__(self, ros: RosNode) -> None:
        self.ros = ros
        node = ros.node
        for name, default in PARAMETERS.items():
            node.declare_parameter(name, default)
        p = {name: node.get_parameter(name).value for name in PARAMETERS}
        self.config = load_robot_config(str(p["robot_config"]))
        # ROS joint names in a fixed order unlike the config's: reversed.
        self.joint_names = list(reversed(self.config.controlled_joints()))
        n = len(self.joint_names)
        initial = np.asarray(p["initial_positions"], dtype=np.float64)
        if initial.size == 1:
            initial = np.full(n, initial[0])
        if initial.shape != (n,):
            raise ValueError(f"initial_positions needs 1 or {n} values, got {initial.size}")
        self.position = initial.copy()
        self.velocity = np.zeros(n)
        self.rate = float(p["joint_state_rate"])
        self.time_constant = float(p["time_constant"])
        self.surface = ControlSurface(
            ros, self.config, self.joint_names, initial, self._now,
            lambda: self.position, float(p["command_delay"]),
        )
        self.cameras = []
        if p["publish_camera"]:
            intr = Intrinsics.from_fov(
                int(p["camera_width"]), int(p["camera_height"]), float(p["camera_fov"])
            )
            self.cameras = [TestCamera(ros, t, intr) for t in self.config.cameras.values()]
        self.camera_period = 1.0 / float(p["camera_rate"])
        node.add_on_set_parameters_callback(self._on_set)
        self._stop = threading.Event()

    def _now(self) -> float:
        return self.ros.now_ns() * 1e-9

    def _on_set(self, params: list[Parameter]) -> SetParametersResult:
        for param in params:
            if param.name == "command_delay":
                self.surface.command_delay = float(param.value)
            elif param.name == "time_constant":
                self.time_constant = float(param.value)
        return SetParametersResult(successful=True)

    def run(self) -> None:
        period = 1.0 / self.rate
        next_tick = time.monotonic()
        next_camera = next_tick
        while not self._stop.is_set():
            now_ns = self.ros.now_ns()
            target, target_vel, is_vel = self.surface.targets(now_ns * 1e-9)
            previous = self.position.copy()
            if self.time_constant > 0:
                alpha = 1.0 - math.exp(-period / self.time_constant)
                self.position += alpha * (target - self.position)
            else:
                self.position[:] = target
            self.position[is_vel] = previous[is_vel] + target_vel[is_vel] * period
            self.velocity = (self.position - previous) / period
            self.surface.publish_joint_states(
                now_ns, self.position, self.velocity, np.zeros_like(self.position)
            )
            if self.cameras and time.monotonic() >= next_camera:
                for cam in self.cameras:
                    cam.publish(now_ns)
                next_camera += self.camera_period
            next_tick += period
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()


def main(args: list[str] | None = None) -> None:
    ros = RosNode("mock_hardware", cli_args=sys.argv if args is None else args)
    try:  # a bad parameter or config raises here: close the node all the same
        robot = MockHardware(ros)
        signal.signal(signal.SIGINT, lambda *_: robot.stop())
        signal.signal(signal.SIGTERM, lambda *_: robot.stop())
        ros.node.get_logger().info(
            f"mock hardware for {robot.config.robot_uid}: joints {robot.joint_names}, "
            f"{robot.rate:.0f} Hz, time_constant {robot.time_constant} s"
        )
        robot.run()
    finally:
        ros.close()


if __name__ == "__main__":
    main()
