"""Run ManiSkill 3 policies on ros2_control robots: the sim env is the spec.

``RealEnv`` and ``ROS2Agent`` import ManiSkill and rclpy, so they load on first use; the rest
of the package (config, align/) works without either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["RealEnv", "ROS2Agent", "load_robot_config"]

if TYPE_CHECKING:
    from maniskill_real.agent import ROS2Agent
    from maniskill_real.config import load_robot_config
    from maniskill_real.env.real_env import RealEnv


def __getattr__(name: str) -> Any:
    if name == "RealEnv":
        from maniskill_real.env.real_env import RealEnv

        return RealEnv
    if name == "ROS2Agent":
        from maniskill_real.agent import ROS2Agent

        return ROS2Agent
    if name == "load_robot_config":
        from maniskill_real.config import load_robot_config

        return load_robot_config
    raise AttributeError(f"module 'maniskill_real' has no attribute {name!r}")
