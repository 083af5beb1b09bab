"""A 14-joint two-arm robot that loads offline, for the benchmarks' scaling case.

ManiSkill 3.0.1 ships no two-arm single-agent robot whose assets are in the package (its
bimanual tasks are multi-agent; the G1 upper body has 25 joints, hands included). This builds
one from the packaged Panda: two 7-joint arms without fingers (``left_panda_joint1..7``,
``right_panda_joint1..7``) on one fixed base, 0.6 m apart, each arm a controller part of its
own (``left_arm``, ``right_arm``), as a bimanual ros2_control bringup runs one
joint_trajectory_controller per arm. benchmarks/dual_panda.yaml is its robot config.

Import it before ``gym.make(ENV_ID, robot_uids=UID)``: it registers the agent, and
``EmptyAtRest-v1``, ManiSkill's Empty-v1 with the robot at its ``rest`` keyframe at each reset
(Empty-v1 leaves every joint at 0, outside Panda's joint 4 limits), for any robot with one.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import sapien
import torch
from mani_skill import PACKAGE_ASSET_DIR
from mani_skill.agents.base_agent import BaseAgent, Keyframe
from mani_skill.agents.controllers import PDJointPosControllerConfig
from mani_skill.agents.registration import register_agent
from mani_skill.envs.tasks.empty_env import EmptyEnv
from mani_skill.utils.registration import register_env

UID = "dual_panda"
ARMS = {"left": 0.3, "right": -0.3}
"""Arm prefix -> the y of its base (m)."""
PANDA_URDF = Path(PACKAGE_ASSET_DIR) / "robots" / "panda" / "panda_v2.urdf"
ARM_PARTS = (
    *(f"panda_link{i}" for i in range(9)),
    "panda_hand",
    *(f"panda_joint{i}" for i in range(1, 9)),
    "panda_hand_joint",
)
"""What each arm keeps of Panda's URDF: the arm and the hand's body, not the fingers."""
REST = [0.0, np.pi / 8, 0.0, -5 * np.pi / 8, 0.0, 3 * np.pi / 4, np.pi / 4]
"""Panda's rest pose (its ``rest`` keyframe), for each arm."""
ENV_ID = "EmptyAtRest-v1"


def arm_joints(arm: str) -> list[str]:
    return [f"{arm}_panda_joint{i}" for i in range(1, 8)]


def rest_positions() -> dict[str, float]:
    """Joint -> its rest position, both arms."""
    return {j: q for arm in ARMS for j, q in zip(arm_joints(arm), REST, strict=True)}


def build_urdf() -> Path:
    """The two-arm URDF, in a temporary folder (its meshes stay in ManiSkill's package)."""
    panda = ET.parse(PANDA_URDF).getroot()
    robot = ET.Element("robot", name=UID)
    ET.SubElement(robot, "link", name="base")
    for arm, y in ARMS.items():
        mount = ET.SubElement(robot, "joint", name=f"{arm}_mount", type="fixed")
        ET.SubElement(mount, "origin", xyz=f"0 {y} 0", rpy="0 0 0")
        ET.SubElement(mount, "parent", link="base")
        ET.SubElement(mount, "child", link=f"{arm}_panda_link0")
        for element in panda:
            if element.get("name") not in ARM_PARTS:
                continue
            copy = ET.fromstring(ET.tostring(element))
            copy.set("name", f"{arm}_{copy.get('name')}")
            for ref in (*copy.iter("parent"), *copy.iter("child")):
                ref.set("link", f"{arm}_{ref.get('link')}")
            for mesh in copy.iter("mesh"):
                mesh.set("filename", str(PANDA_URDF.parent / mesh.get("filename", "")))
            robot.append(copy)
    path = Path(tempfile.mkdtemp(prefix="dual_panda_")) / f"{UID}.urdf"
    ET.ElementTree(robot).write(path)
    return path


@register_agent()
class DualPanda(BaseAgent):
    """Two fingerless Panda arms, joint position control only."""

    uid = UID
    urdf_path = str(build_urdf())
    fix_root_link = True
    # SAPIEN orders the joints breadth first: left_panda_joint1, right_panda_joint1, ...
    keyframes = dict(rest=Keyframe(qpos=np.repeat(REST, len(ARMS)), pose=sapien.Pose()))

    @property
    def _controller_configs(self) -> dict:
        def arms(**kwargs: object) -> dict:
            return {
                f"{arm}_arm": PDJointPosControllerConfig(
                    arm_joints(arm), stiffness=1e3, damping=1e2, force_limit=100, **kwargs
                )
                for arm in ARMS
            }

        return dict(
            pd_joint_pos=arms(lower=None, upper=None, normalize_action=False),
            pd_joint_delta_pos=arms(lower=-0.1, upper=0.1, use_delta=True),
        )


@register_env(ENV_ID, max_episode_steps=200000)
class EmptyAtRest(EmptyEnv):
    def _initialize_episode(self, env_idx: torch.Tensor, options: dict) -> None:
        self.agent.robot.set_qpos(self.agent.keyframes["rest"].qpos)
