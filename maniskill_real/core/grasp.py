"""``is_grasped`` from the gripper's measured opening and effort (no contact forces on a robot).

ManiSkill's PickCube notes that "in reality some people hack is_grasped into observations by
checking if the gripper can close fully or not" (mani_skill/envs/tasks/tabletop/pick_cube.py,
``_get_obs_extra``): fingers that stopped short of closed while still squeezing hold something.
"""

from __future__ import annotations

import numpy as np


def is_grasped(
    opening: tuple[float, float], min_effort: float, position: np.ndarray, effort: np.ndarray
) -> bool:
    """``position``/``effort``: the finger joints'. The opening is the sum of the finger
    positions; the effort the mean magnitude (a gripper may report either sign)."""
    low, high = opening
    width = float(np.sum(position))
    return bool(low <= width <= high and float(np.mean(np.abs(effort))) >= min_effort)
