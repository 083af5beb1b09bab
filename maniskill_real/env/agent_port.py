"""How RealEnv talks to any real agent: ManiSkill's ``BaseRealAgent`` contract, plus the optional
hooks of ``RealAgent``.

A plain ``BaseRealAgent`` subclass (no ROS) works: RealEnv calls its ``capture_sensor_data()``
once per control tick, then reads ``get_qpos``/``get_qvel``/``get_sensor_data``, and sends what
the sim controller computes through ``set_target_qpos``/``set_target_qvel``. A ``RealAgent``
also reports its inputs' stamps and ages, task state the robot knows, and takes the horizon of
streamed targets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from mani_skill.agents.base_real_agent import BaseRealAgent

if TYPE_CHECKING:
    from mani_skill.envs.sapien_env import BaseEnv

JOINT_SOURCE = "the joint readings"
"""How errors name the joint readings of an agent that does not say where they come from."""


class RealAgent(BaseRealAgent):
    """``BaseRealAgent`` plus what RealEnv reports and checks; every hook has a default."""

    command_horizon: float = 0.0
    """s: how far ahead a streamed target is meant to be reached (RealEnv sets one period)."""
    gate: Callable[[np.ndarray, str], np.ndarray] | None = None
    """RealEnv's last check of every target (sim joint order, "position" or "velocity"): it
    returns the safe values or raises. The agent calls it right before publishing, so a
    subclass's ``_step_action`` that talks to the agent directly is checked too."""

    def bind(self, twin: BaseEnv, cameras: dict[str, tuple[bool, bool]]) -> None:
        """Attach the sim twin (kinematics fall through to its agent) and say which streams of
        which cameras RealEnv reads: ``{camera: (rgb, depth)}``. Called before ``start()``."""
        attach_sim_agent(self, twin)

    def input_timing(self) -> dict[str, tuple[int, float]]:
        """``{input: (stamp_ns, age_s)}`` of the readings the last capture took."""
        return {}

    def task_state(self) -> dict[str, bool]:
        """Task booleans the robot's world reports (e.g. success); they replace the twin's."""
        return {}

    def task_state_keys(self) -> set[str]:
        """The info keys :meth:`task_state` reports (they replace evaluate()'s)."""
        return set()

    def is_grasping(self, object: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The grasp the robot reports (``task_state()["is_grasped"]``: a task topic or the
        gripper's own readings), whichever object a task asks about; the twin's answer only
        when nothing reports it. ManiSkill's agents answer from contact forces
        (mani_skill/agents/robots/panda/panda.py ``is_grasping``), which the twin, never
        stepped, does not have: asking costs most of PickCube's evaluate() and tells nothing."""
        state = self.task_state()
        if "is_grasped" in state:
            return torch.tensor([state["is_grasped"]])
        return self._sim_agent.is_grasping(object, *args, **kwargs)

    def object_sources(self) -> dict[str, bool]:
        """Sim actor name -> True if the robot side reads its real pose, False if it is marked
        as the sim's belief (config ``objects.<actor>.sim_belief``)."""
        return {}

    def object_poses(self) -> dict[str, np.ndarray]:
        """Sim actor name -> its real pose (ManiSkill raw pose, sim world) from the last capture."""
        return {}

    def hold(self, reason: str) -> None:
        """Make the robot hold still now (a fault, a signal, the watchdog); may be called from
        another thread. Default: nothing can be done."""

    def joint_reading_age(self) -> float | None:
        """How old, now, the joint reading of the last capture is (None: unknown)."""
        return None

    @property
    def joint_source(self) -> str:
        """Where the joint readings come from, as errors name it."""
        return JOINT_SOURCE

    def refresh_joints(self) -> None:
        """Replace the last capture's joint reading with the newest one, or raise."""

    def newest_joints(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The newest valid, fresh joint reading now: positions and velocities (sim order,
        float64) and its age (s), or raise; None: the agent can't tell (the last capture's
        are used)."""
        return None

    def prepare_targets(self, qpos: Any, qvel: Any) -> Callable[[], None]:
        """Everything ``set_target_qpos``/``set_target_qvel`` do before they publish (either may
        be None: not set), gate included, now; returns the call that publishes. RealEnv
        prepares a scheduled release just before its deadline, so that only the publish runs
        at it. Default: nothing is prepared ahead (the gate runs at the publish)."""

        def send() -> None:
            if qpos is not None:
                self.set_target_qpos(qpos)
            if qvel is not None:
                self.set_target_qvel(qvel)

        return send


def attach_sim_agent(agent: BaseRealAgent, twin: BaseEnv) -> None:
    """``BaseRealAgent`` falls through to ``_sim_agent`` for kinematics (ManiSkill's contract)."""
    agent._sim_agent = twin.agent


class AgentPort:
    """RealEnv's side of the protocol: the hooks of a ``RealAgent``, defaults for any other."""

    def __init__(self, agent: BaseRealAgent) -> None:
        if not isinstance(agent, BaseRealAgent):
            raise TypeError(f"agent must be a mani_skill BaseRealAgent, got {type(agent).__name__}")
        self.agent = agent
        self.extended = isinstance(agent, RealAgent)

    def bind(
        self,
        twin: BaseEnv,
        cameras: dict[str, tuple[bool, bool]],
        horizon: float,
        gate: Callable[[np.ndarray, str], np.ndarray],
    ) -> None:
        if self.extended:
            self.agent.command_horizon = horizon
            self.agent.gate = gate
            self.agent.bind(twin, cameras)
        else:
            attach_sim_agent(self.agent, twin)

    def input_timing(self) -> dict[str, tuple[int, float]]:
        return self.agent.input_timing() if self.extended else {}

    def task_state(self) -> dict[str, bool]:
        return self.agent.task_state() if self.extended else {}

    def task_state_keys(self) -> set[str]:
        return self.agent.task_state_keys() if self.extended else set()

    def object_sources(self) -> dict[str, bool]:
        return self.agent.object_sources() if self.extended else {}

    def object_poses(self) -> dict[str, np.ndarray]:
        return self.agent.object_poses() if self.extended else {}

    def hold(self, reason: str) -> None:
        if self.extended:
            self.agent.hold(reason)

    def joint_reading_age(self) -> float | None:
        return self.agent.joint_reading_age() if self.extended else None

    @property
    def joint_source(self) -> str:
        return self.agent.joint_source if self.extended else JOINT_SOURCE

    def refresh_joints(self) -> None:
        if self.extended:
            self.agent.refresh_joints()

    def newest_joints(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        return self.agent.newest_joints() if self.extended else None

    def prepare_targets(
        self,
        qpos: torch.Tensor | None,
        qvel: torch.Tensor | None,
        gate: Callable[[np.ndarray, str], np.ndarray],
    ) -> Callable[[], None]:
        """A ``RealAgent`` gates its targets itself (its ``gate``); for any other agent the
        gate runs here, now, and the call returned sends the safe targets."""
        if self.extended:
            return self.agent.prepare_targets(qpos, qvel)
        safe = [
            (publish, gate(values.double().cpu().numpy(), interface))
            for values, interface, publish in (
                (qpos, "position", self.agent.set_target_qpos),
                (qvel, "velocity", self.agent.set_target_qvel),
            )
            if values is not None
        ]

        def send() -> None:
            for publish, values in safe:
                publish(values)

        return send
