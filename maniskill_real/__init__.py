"""Run ManiSkill 3 policies on ros2_control robots: the sim env is the spec.

``RealEnv`` and ``ROS2Agent`` import ManiSkill and rclpy, so they load on first use, and a
missing one is named with the extra that brings it (``maniskill_real/extras.py``); the rest of
the package (config, align/) works without either.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from maniskill_real.extras import missing_extra

__all__ = ["RealEnv", "ROS2Agent", "load_robot_config"]

if TYPE_CHECKING:
    from maniskill_real.config import load_robot_config
    from maniskill_real.env.real_env import RealEnv
    from maniskill_real.ros.agent import ROS2Agent


_MODULES = {
    "RealEnv": "maniskill_real.env.real_env",
    "ROS2Agent": "maniskill_real.ros.agent",
    "load_robot_config": "maniskill_real.config",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'maniskill_real' has no attribute {name!r}")
    try:
        return getattr(import_module(_MODULES[name]), name)
    except ModuleNotFoundError as e:
        raise missing_extra(e) from None
