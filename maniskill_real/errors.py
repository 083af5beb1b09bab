"""Every exception the package raises on purpose, under one root.

    ManiSkillRealError
    ├── ConfigError            a robot config, sim env or argument that can't be used (ValueError)
    │   ├── ControlModeError   a control mode whose targets a ros2_control controller can't take
    │   └── RenderModeError    a render mode with no real counterpart
    ├── ActionError            an action of the wrong shape or non-finite; nothing sent (ValueError)
    └── RealEnvError           the robot side refused or failed: no safe step (RuntimeError)
        ├── TopicTimeoutError, StaleInputError, JointMismatchError, ResetError, TfLookupError
        ├── InvalidInputError  a reading that can't be trusted (NaN, duplicate, future stamp)
        ├── SafetyError        a target or a measured state outside the safety limits
        ├── ControllerError    ros2_control's controllers not as configured, a refused switch or
        │                      trajectory goal (names the controller and what is wrong)
        ├── CameraFovError     a real camera narrower than the sim camera (also a ValueError)
        └── UnsupportedEncodingError   an image encoding the codec can't decode (also a ValueError)

A runner catches ``RealEnvError`` for "the robot side refused", ``ManiSkillRealError`` for
anything this package raised. No ROS or ManiSkill imports: anyone may raise them.
"""

from __future__ import annotations

import math
from typing import Any


class ManiSkillRealError(Exception):
    """Root of every exception maniskill_real raises on purpose."""


class ConfigError(ManiSkillRealError, ValueError):
    """A robot config (or env argument) that can't be used; the message names file and key."""


class ControlModeError(ConfigError):
    """A control mode whose targets the real side can't reproduce exactly."""


class RenderModeError(ConfigError):
    """A render mode that shows something the robot doesn't have."""


class ActionError(ManiSkillRealError, ValueError):
    """An action of the wrong shape or with non-finite values; nothing was published."""


class RealEnvError(ManiSkillRealError, RuntimeError):
    """Something on the real side prevents a safe step or reset."""


class TopicTimeoutError(RealEnvError):
    """A topic that never published within its timeout."""

    def __init__(self, topic: str, timeout: float) -> None:
        super().__init__(f"no message on {topic} after {timeout:.1f} s; is its publisher running?")
        self.topic = topic
        self.timeout = timeout


class StaleInputError(RealEnvError):
    """An input whose newest message is older than its configured max age."""

    def __init__(self, topic: str, age: float, max_age: float) -> None:
        super().__init__(
            f"{topic} is stale: its newest message is {age:.3f} s old (max_age {max_age:.3f} s)"
        )
        self.topic = topic
        self.age = age
        self.max_age = max_age


class InvalidInputError(RealEnvError):
    """A reading that can't be trusted: non-finite values, a joint named twice, a stamp that is
    zero, in the future or older than the previous one. Nothing was sent from it."""


class JointMismatchError(RealEnvError):
    """A joint named by the config that the sim robot or /joint_states lacks."""


class ResetError(RealEnvError):
    """The robot did not reach the reset pose within tolerance in time."""


class SafetyError(RealEnvError):
    """A target the safety layer refuses, or a robot out of distribution; nothing was sent."""


class ControllerError(RealEnvError):
    """The controller_manager or a controller is not as the config says (not loaded, not active,
    another type, other joints or interface), refused a switch, or refused or failed a goal.
    ``problems``: one line per thing that is wrong."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class TfLookupError(RealEnvError):
    """No chain of known transforms connects the two frames."""


class UnsupportedEncodingError(RealEnvError, ValueError):
    """An image encoding (or compressed format) the codec does not handle."""


class CameraFovError(RealEnvError, ValueError):
    """The sim camera sees beyond the real camera, so its image cannot be reproduced.

    ``real`` and ``sim`` are ``core.camera.Intrinsics`` (anything with width, height, fov_x,
    fov_y in radians).
    """

    def __init__(self, name: str, real: Any, sim: Any) -> None:
        self.name = name
        self.real_fov_deg = (math.degrees(real.fov_x), math.degrees(real.fov_y))
        self.sim_fov_deg = (math.degrees(sim.fov_x), math.degrees(sim.fov_y))
        super().__init__(
            f"camera {name!r}: the sim camera's view is not inside the real camera's. "
            f"Real FOV {self.real_fov_deg[0]:.1f} deg horizontal x "
            f"{self.real_fov_deg[1]:.1f} deg vertical ({real.width}x{real.height}); "
            f"sim FOV {self.sim_fov_deg[0]:.1f} deg horizontal x "
            f"{self.sim_fov_deg[1]:.1f} deg vertical ({sim.width}x{sim.height}). "
            "Use a wider real camera or lens, narrow the sim camera's fov, "
            "or use mode='center_crop'."
        )
