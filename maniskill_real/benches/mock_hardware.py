"""Mock hardware: the ros2_control surface of ``mock_components/GenericSystem`` behind a
controller_manager, with no robot and no physics.

Commands on the controllers' topics become joint positions through an optional first-order lag
(``time_constant``) after an optional ``command_delay``; ``time_constant: 0`` mirrors commands
to states exactly as GenericSystem does. ``/joint_states`` is published in an order unlike the
config's, since joint_state_broadcaster guarantees none. A test camera publishes Image +
CameraInfo (and 16UC1 depth) for every camera in the robot config. An emulated
``controller_manager`` (``benches/controller_manager.py``; ros2_control cannot be installed
here) lists and switches the controllers and serves their FollowJointTrajectory actions:
every controller of the robot config is loaded and active, less ``inactive_controllers``; the
config's reset controllers are loaded inactive. ``command_delay``, ``time_constant`` and
``joint_state_fault`` can be set while it runs; every other parameter is read-only.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time

import numpy as np
from rclpy.parameter import Parameter

from maniskill_real.benches.camera_publisher import CameraPublisher
from maniskill_real.benches.controller_emulator import (
    CONTROLLER_PARAMETERS,
    ControllerEmulator,
    jtc_parameters,
)
from maniskill_real.benches.controller_manager import bringup
from maniskill_real.benches.parameters import ParameterError, Spec, declare
from maniskill_real.config import CameraTopics, ConfigError, load_robot_config
from maniskill_real.core.camera import Intrinsics
from maniskill_real.ros.node import RosNode

PARAMETERS: dict[str, Spec] = {
    "robot_config": Spec("panda", "robot config: a YAML path or the name of a shipped one"),
    "joint_state_rate": Spec(
        100.0, "Hz at which joint_states is published", positive=True, high=1000.0
    ),
    "time_constant": Spec(
        0.05,
        "s: first-order lag of each joint behind its command; 0 mirrors commands to states "
        "as mock_components/GenericSystem does",
        runtime=True,
        low=0.0,
        high=10.0,
    ),
    "command_delay": Spec(
        0.0, "s that every command waits before it takes effect", runtime=True, low=0.0, high=10.0
    ),
    "initial_positions": Spec(
        [0.0],
        "rad (m for prismatic joints) at start: one value for every joint, or one per joint in "
        "the order joint_states lists them (the config's controller joints, reversed)",
    ),
    "joint_state_fault": Spec(
        "",
        "a fault of the published joint_states, for tests of what RealEnv refuses: "
        "duplicate_name (the last joint named as the first), nan (first position NaN), "
        "future_stamp (5 s ahead), zero_stamp",
        runtime=True,
        choices=("", "duplicate_name", "nan", "future_stamp", "zero_stamp"),
    ),
    "publish_camera": Spec(True, "publish a test pattern on every configured camera's topics"),
    "camera_rate": Spec(15.0, "Hz of the test camera", positive=True, high=1000.0),
    "camera_width": Spec(640, "px: the test camera's image width", positive=True, high=8192),
    "camera_height": Spec(480, "px: the test camera's image height", positive=True, high=8192),
    # wider than PickCube's 90 deg camera, as a real camera must be
    "camera_fov": Spec(1.75, "rad: the test camera's vertical FOV", positive=True, high=3.0),
    **CONTROLLER_PARAMETERS,
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
        p = declare(node, PARAMETERS)
        self.config = load_robot_config(str(p["robot_config"]))
        # ROS joint names in a fixed order unlike the config's: reversed.
        self.joint_names = list(reversed(self.config.controlled_joints()))
        n = len(self.joint_names)
        initial = np.asarray(p["initial_positions"], dtype=np.float64)
        if initial.size == 1:
            initial = np.full(n, initial[0])
        if initial.shape != (n,):
            raise ParameterError(
                f"parameter 'initial_positions': needs 1 or {n} values, got {initial.size}"
            )
        self.position = initial.copy()
        self.velocity = np.zeros(n)
        self.rate = float(p["joint_state_rate"])
        self.time_constant = float(p["time_constant"])
        self.fault = str(p["joint_state_fault"])
        specs, active = bringup(self.config, inactive=p["inactive_controllers"])
        self.surface = ControllerEmulator(
            ros,
            self.config,
            self.joint_names,
            initial,
            self._now,
            lambda: self.position,
            float(p["command_delay"]),
            jtc_parameters(p, self.config),
            active,
            lambda: self.velocity,
        )
        self.surface.serve(specs, active, node.get_namespace())
        self.cameras = []
        if p["publish_camera"]:
            intr = Intrinsics.from_fov(
                int(p["camera_width"]), int(p["camera_height"]), float(p["camera_fov"])
            )
            self.cameras = [TestCamera(ros, t, intr) for t in self.config.cameras.values()]
        self.camera_period = 1.0 / float(p["camera_rate"])
        node.add_post_set_parameters_callback(self._apply)
        self._stop = threading.Event()

    def _now(self) -> float:
        return self.ros.now_ns() * 1e-9

    def _apply(self, params: list[Parameter]) -> None:
        """The runtime parameters, once set (checked and refused before, if need be)."""
        for param in params:
            if param.name == "command_delay":
                self.surface.command_delay = float(param.value)
            elif param.name == "time_constant":
                self.time_constant = float(param.value)
            elif param.name == "joint_state_fault":
                self.fault = str(param.value)

    def run(self) -> None:
        period = 1.0 / self.rate
        next_tick = time.monotonic()
        next_camera = next_tick
        last_ns = self.ros.now_ns() - int(period * 1e9)
        while not self._stop.is_set():
            now_ns = self.ros.now_ns()
            # The time since the last tick, not the nominal period: a late tick (a loaded
            # machine) must not read as a faster arm, as a real encoder's velocity would not.
            elapsed = max((now_ns - last_ns) * 1e-9, 1e-6)
            last_ns = now_ns
            target, target_vel, is_vel = self.surface.targets(now_ns * 1e-9)
            previous = self.position.copy()
            if self.time_constant > 0:
                alpha = 1.0 - math.exp(-elapsed / self.time_constant)
                self.position += alpha * (target - self.position)
            else:
                self.position[:] = target
            self.position[is_vel] = previous[is_vel] + target_vel[is_vel] * elapsed
            self.velocity = (self.position - previous) / elapsed
            self._publish_joint_states(now_ns)
            if self.cameras and time.monotonic() >= next_camera:
                for cam in self.cameras:
                    cam.publish(now_ns)
                next_camera += self.camera_period
            next_tick += period
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def _publish_joint_states(self, now_ns: int) -> None:
        """As GenericSystem's joint_state_broadcaster would, with the configured fault."""
        stamp, position, names = now_ns, self.position.copy(), None
        if self.fault == "duplicate_name":
            names = [*self.joint_names[:-1], self.joint_names[0]]
        elif self.fault == "nan":
            position[0] = math.nan
        elif self.fault == "future_stamp":
            stamp += 5_000_000_000
        elif self.fault == "zero_stamp":
            stamp = 0
        self.surface.publish_joint_states(
            stamp, position, self.velocity, np.zeros_like(position), names
        )

    def stop(self) -> None:
        self._stop.set()


def main(args: list[str] | None = None) -> int:
    ros = RosNode("mock_hardware", cli_args=sys.argv if args is None else args)
    try:  # a bad parameter or config raises here: close the node all the same
        try:
            robot = MockHardware(ros)
        except (ParameterError, ConfigError) as e:
            ros.node.get_logger().fatal(str(e))
            return 1
        signal.signal(signal.SIGINT, lambda *_: robot.stop())
        signal.signal(signal.SIGTERM, lambda *_: robot.stop())
        ros.node.get_logger().info(
            f"mock hardware for {robot.config.robot_uid}: joints {robot.joint_names}, "
            f"{robot.rate:.0f} Hz, time_constant {robot.time_constant} s"
        )
        robot.run()
        return 0
    finally:
        ros.close()


if __name__ == "__main__":
    sys.exit(main())
