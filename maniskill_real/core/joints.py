"""Joint order is by name, never by position: sim active-joint order <-> ROS orders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from maniskill_real.config import RobotConfig
from maniskill_real.errors import InvalidInputError, JointMismatchError


class JointMap:
    """Maps between the sim robot's active joints and the config's controllers and /joint_states.

    Built once from the sim joint names; every later conversion is an index gather.
    """

    def __init__(self, config: RobotConfig, sim_joints: Sequence[str]) -> None:
        self.config = config
        self.sim_joints = list(sim_joints)
        self.ros_joints = [config.ros_joint(j) for j in self.sim_joints]
        index = {name: i for i, name in enumerate(self.ros_joints)}
        for sim_name in config.joints:
            if sim_name not in self.sim_joints:
                raise JointMismatchError(
                    f"{config.path}: key 'joints.{sim_name}': the sim robot "
                    f"'{config.robot_uid}' has no active joint '{sim_name}' "
                    f"(it has: {', '.join(self.sim_joints)})"
                )
        self.controller_index: dict[str, np.ndarray] = {}
        for part, ctrl in config.controllers.items():
            missing = [j for j in ctrl.joints if j not in index]
            if missing:
                raise JointMismatchError(
                    f"{config.path}: key 'controllers.{part}.joints': the sim robot "
                    f"'{config.robot_uid}' has no joint {', '.join(repr(m) for m in missing)} "
                    f"(ROS names of its joints: {', '.join(self.ros_joints)})"
                )
            self.controller_index[part] = np.array([index[j] for j in ctrl.joints])
        self._js_cache: tuple[tuple[str, ...], np.ndarray] | None = None

    def to_controller(self, part: str, sim_values: np.ndarray) -> np.ndarray:
        """Values in sim joint order -> the controller's joint order."""
        return np.asarray(sim_values, dtype=np.float64)[self.controller_index[part]]

    def joint_states_index(self, names: Sequence[str]) -> np.ndarray:
        """Indices that gather a /joint_states message (any order, extra joints) into sim order."""
        key = tuple(names)
        if self._js_cache is not None and self._js_cache[0] == key:
            return self._js_cache[1]
        where = {n: i for i, n in enumerate(key)}
        if len(where) != len(key):
            twice = sorted({n for n in key if key.count(n) > 1})
            raise InvalidInputError(
                f"/joint_states names joint {', '.join(repr(n) for n in twice)} more than once: "
                "which reading is the robot's is ambiguous"
            )
        missing = [j for j in self.ros_joints if j not in where]
        if missing:
            raise JointMismatchError(
                f"/joint_states lacks joint {', '.join(repr(m) for m in missing)} "
                f"(config {self.config.path}; it publishes: {', '.join(key)})"
            )
        idx = np.array([where[j] for j in self.ros_joints])
        self._js_cache = (key, idx)
        return idx
