"""Which pip extra brings which import, so that a missing one is named with its install line.

- no extra: config loading and camera alignment (``maniskill_real.config``, ``core/``);
- ``sim``: ManiSkill 3 (torch, gymnasium, SAPIEN): ``RealEnv``, ``ROS2Agent``, ``sim_robot``,
  ``maniskill-real demo`` and ``camera-check``;
- ``ros``: ROS 2 Jazzy's rclpy and messages as PyPI wheels, for a machine without a ROS 2
  install (with one, source it instead): everything that talks ROS (``RealEnv``, both robots,
  the command-line tools).

No ROS or ManiSkill imports here: this module explains their absence.
"""

from __future__ import annotations

SIM_MODULES = {"mani_skill", "gymnasium", "torch", "sapien"}
ROS_MODULES = {
    "rclpy",
    "rcl_interfaces",
    "builtin_interfaces",
    "std_msgs",
    "std_srvs",
    "sensor_msgs",
    "geometry_msgs",
    "trajectory_msgs",
    "rosgraph_msgs",
    "ament_index_python",
}


def missing_extra(error: ModuleNotFoundError) -> ModuleNotFoundError:
    """``error`` reworded to say which extra to install, or ``error`` itself when no extra of
    this package brings the missing module; raise it ``from None``: it quotes ``error``."""
    top = (error.name or "").split(".")[0]
    if top in SIM_MODULES:
        how = "pip install 'maniskill_real[sim]'"
    elif top in ROS_MODULES:
        how = "source a ROS 2 install, or pip install 'maniskill_real[ros]' (no ROS installed)"
    else:
        return error
    return ModuleNotFoundError(f"{error} (this needs {top}: {how})", name=error.name)
