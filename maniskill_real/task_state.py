"""The task state a robot side can report: the booleans of a ManiSkill env's ``evaluate()``
(success, is_grasped, ...).

sim_robot publishes exactly these for the env it runs, and RealEnv (with ``task_namespace`` in
the robot config) subscribes to exactly these for the policy's env, so both sides agree on the
keys of any task without a list of them in the config.
"""

from __future__ import annotations

from typing import Any

import torch


def task_booleans(info: dict[str, Any]) -> dict[str, bool]:
    """The boolean entries of one (unbatched) env's ``evaluate()`` result."""
    return {
        key: bool(value.reshape(-1)[0])
        for key, value in info.items()
        if isinstance(value, torch.Tensor) and value.dtype == torch.bool
    }
