"""A scripted PickCube-v1 grasp for panda, in end-effector or joint delta control.

It reads privileged sim state (cube and goal poses, TCP pose) from a pure sim env, so it is
used to *generate* an action sequence that is then replayed open-loop: once through pure
ManiSkill and once through RealEnv -> ROS -> robot. Same actions both ways is what makes the
two rollouts comparable.
"""

from __future__ import annotations

import numpy as np
import torch
from mani_skill.agents.controllers.utils.kinematics import Kinematics
from mani_skill.utils.structs.pose import Pose

from maniskill_real.env import sim_bridge

GRIPPER_OPEN, GRIPPER_CLOSED = 1.0, -1.0
# (phase, steps): move above the cube, descend, close, carry to the goal.
PHASES = (("above", 35), ("descend", 25), ("close", 12), ("carry", 48))
EE_STEP = 0.1  # m per unit action (pd_ee_delta_pose pos bound)
JOINT_STEP = 0.1  # rad per unit action (pd_joint_delta_pos bound)


class ScriptedPickCube:
    """Closed-loop on the sim env's true state; ``act`` returns one normalized action."""

    def __init__(self, sim_env) -> None:
        self.env = sim_env.unwrapped
        self.mode = self.env.agent.control_mode
        if self.mode not in ("pd_ee_delta_pose", "pd_joint_delta_pos"):
            raise ValueError(
                f"scripted grasp supports pd_ee_delta_pose, pd_joint_delta_pos; got {self.mode}"
            )
        self.step_count = 0
        self.kinematics = None
        if self.mode == "pd_joint_delta_pos":
            arm = sim_bridge.controller_configs(self.env.agent, "pd_ee_delta_pose")["arm"]
            robot = self.env.agent.robot
            names = [j.name for j in robot.active_joints]
            idx = torch.tensor([names.index(n) for n in arm.joint_names], dtype=torch.int32)
            self.kinematics = Kinematics(arm.urdf_path, arm.ee_link, robot, idx)
            self.arm_idx = idx.long()

    def phase(self) -> str:
        t = self.step_count
        for name, steps in PHASES:
            if t < steps:
                return name
            t -= steps
        return "carry"

    @property
    def horizon(self) -> int:
        return sum(steps for _, steps in PHASES)

    def act(self) -> np.ndarray:
        env = self.env
        tcp = env.agent.tcp.pose.p[0].numpy()
        cube = env.cube.pose.p[0].numpy()
        phase = self.phase()
        gripper = GRIPPER_OPEN if phase in ("above", "descend") else GRIPPER_CLOSED
        if phase == "above":
            waypoint = cube + np.array([0.0, 0.0, 0.08])
        elif phase == "descend":
            waypoint = cube.copy()
        elif phase == "close":
            waypoint = tcp
        else:
            waypoint = env.goal_site.pose.p[0].numpy()
        delta = np.clip(waypoint - tcp, -0.05, 0.05)
        self.step_count += 1
        if self.kinematics is None:
            return np.concatenate([delta / EE_STEP, np.zeros(3), [gripper]]).astype(np.float32)
        qpos = env.agent.robot.get_qpos()
        tcp_pose = env.agent.tcp.pose
        goal = Pose.create_from_pq(p=tcp_pose.p + torch.from_numpy(delta).float(), q=tcp_pose.q)
        # CPU IK (pinocchio) takes the pose in the robot's root frame.
        target = self.kinematics.compute_ik(env.agent.robot.pose.inv() * goal, qpos)
        if target is None:
            raise RuntimeError(f"scripted grasp: no IK solution at step {self.step_count}")
        dq = (target[0] - qpos[0, self.arm_idx]).numpy() / JOINT_STEP
        return np.concatenate([np.clip(dq, -1, 1), [gripper]]).astype(np.float32)


def scripted_actions(env_id: str, control_mode: str, seed: int) -> tuple[list[np.ndarray], bool]:
    """Roll the scripted grasp out in pure ManiSkill; return its actions and whether it
    picked the cube (success at the end)."""
    import gymnasium as gym

    env = gym.make(env_id, obs_mode="state", control_mode=control_mode, sim_backend="physx_cpu")
    try:
        env.reset(seed=seed)
        policy = ScriptedPickCube(env)
        actions = []
        info: dict = {}
        for _ in range(policy.horizon):
            action = policy.act()
            actions.append(action)
            _, _, _, _, info = env.step(action)
        return actions, bool(info["is_grasped"][0])
    finally:
        env.close()
