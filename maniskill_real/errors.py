"""The exceptions a RealEnv user catches. No ROS or ManiSkill imports: anyone may raise them."""

from __future__ import annotations


class RealEnvError(RuntimeError):
    """Base class: something on the real side prevents a safe step or reset."""


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


class JointMismatchError(RealEnvError):
    """A joint named by the config that the sim robot or /joint_states lacks."""


class ResetError(RealEnvError):
    """The robot did not reach the reset pose within tolerance in time."""


class ActionError(ValueError):
    """An action of the wrong shape or with non-finite values; nothing was published."""
