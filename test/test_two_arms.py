"""RealEnv on a two-arm robot: 14 joints, one joint_trajectory_controller per arm
(benchmarks/dual_panda.py and dual_panda.yaml), against mock_hardware over real DDS.

Faked, because they cannot exist here: the physical arms and ros2_control. mock_hardware, a
separate process, emulates both controllers and mirrors their commands to /joint_states. What
each controller received is read back by benchmarks/command_peer.py, one process per arm's
command topic, subscribed as a controller is.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import mani_skill.envs  # noqa: F401
import numpy as np
import pytest
from ros_helpers import wait_until

from maniskill_real.config import load_robot_config
from maniskill_real.env.real_env import RealEnv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from dual_panda import ARMS, ENV_ID, REST, UID, arm_joints, rest_positions  # noqa: E402

CONFIG = REPO / "benchmarks" / "dual_panda.yaml"
STEPS = 10
DELTA = 0.01  # rad per step on each left-arm joint: action 0.1 of pd_joint_delta_pos's 0.1 rad


class CommandPeer:
    """benchmarks/command_peer.py on one command topic, in its own process."""

    def __init__(self, topic: str, out: Path) -> None:
        self.out = out
        self.log = out.with_suffix(".log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "benchmarks" / "command_peer.py"), "--topic", topic]
                + ["--out", str(out)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: "listening" in self.log.read_text(), 30.0, f"command_peer on {topic}")

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        return json.loads(self.out.read_text())


@pytest.fixture
def peers(tmp_path: Path):
    started = {
        arm: CommandPeer(f"/{arm}_arm_controller/joint_trajectory", tmp_path / f"{arm}.json")
        for arm in ARMS
    }
    yield started
    for peer in started.values():
        if peer.proc.poll() is None:
            peer.proc.kill()


def test_each_arm_gets_its_own_targets(start_robot, peers: dict, tmp_path: Path) -> None:
    """SAPIEN orders the 14 sim joints breadth first (left 1, right 1, left 2, ...), the config
    one controller per arm. Each controller receives trajectories for exactly its own arm's
    joints, in its config order; the left arm follows the policy's delta step by step; the
    right arm, which the policy keeps still, is held where it was; the observation reads the
    left arm where its commands put it, and close() holds each arm where it was."""
    rest = rest_positions()
    cfg = load_robot_config(CONFIG)
    start_robot(
        "mock_hardware",
        robot_config=str(CONFIG),
        time_constant=0.0,
        command_delay=0.0,
        publish_camera=False,
        initial_positions=[rest[j] for j in reversed(cfg.controlled_joints())],
    )
    sim = gym.make(
        ENV_ID,
        robot_uids=UID,
        obs_mode="state",
        control_mode="pd_joint_delta_pos",
        reward_mode="none",
        sim_backend="physx_cpu",
    )
    env = RealEnv(sim, robot_config=CONFIG, scene_reset="none")
    try:
        env.reset(seed=0)
        commands = env.agent.commands.values()  # each: mock_hardware's controller, and a peer
        wait_until(lambda: all(c.subscriber_count >= 2 for c in commands), 30.0, "peers matched")
        env.reset(seed=0)  # (the wait above outlasts the watchdog: it held the robot)
        sim_joints = [j.name for j in env.twin.agent.robot.active_joints]
        assert sim_joints[:4] == [
            "left_panda_joint1",
            "right_panda_joint1",
            "left_panda_joint2",
            "right_panda_joint2",
        ]
        action = np.zeros(env.action_space.shape, np.float32)
        action[:7] = DELTA / 0.1  # the left_arm part comes first (the controllers' order)
        for _ in range(STEPS):
            obs, *_ = env.step(action)
        time.sleep(0.3)  # the last commands land
    finally:
        env.close()
        sim.close()
    measured = dict(zip(sim_joints, np.asarray(obs)[0, :14], strict=True))
    records = {arm: peer.stop() for arm, peer in peers.items()}
    for arm, record in records.items():
        assert record["joint_names"], f"{arm}: no command received"
        assert all(names == arm_joints(arm) for names in record["joint_names"]), arm
    *steps, hold = records["left"]["positions"][-(STEPS + 1) :]  # close() holds: the last
    left = np.array(steps) - REST
    assert np.all(np.diff(left, axis=0) > 0.5 * DELTA), left
    assert np.all((left[-1] > 0.5 * STEPS * DELTA) & (left[-1] < 1.01 * STEPS * DELTA)), left[-1]
    right = np.array(records["right"]["positions"])
    np.testing.assert_allclose(right, np.tile(REST, (len(right), 1)), atol=1e-5)
    for j, q, held in zip(arm_joints("left"), REST, hold, strict=True):
        assert measured[j] - q > 0.5 * STEPS * DELTA, (j, measured[j])
        assert held >= measured[j] - 1e-5, (j, held, measured[j])  # not back: where it was
    for j, q in zip(arm_joints("right"), REST, strict=True):
        assert abs(measured[j] - q) < 1e-4, (j, measured[j])
