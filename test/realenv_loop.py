"""The README's loop as a user writes it (no try/finally), for test_safety.py's signal and
watchdog tests: ``realenv_loop.py CONFIG STALL``. Prints "stepping" once the robot moves;
with STALL > 0 it stalls that long after 10 steps and prints the error the next step raises."""

import sys
import time

import numpy as np
from ros_helpers import policy_env

from maniskill_real.env.real_env import RealEnv
from maniskill_real.errors import RealEnvError

config, stall = sys.argv[1], float(sys.argv[2])
env = RealEnv(policy_env("pd_joint_vel"), robot_config=config, scene_reset="none")
env.reset(seed=0)
action = np.full(8, 0.3, dtype=np.float32)
for _ in range(10):
    env.step(action)
print("stepping", flush=True)
if stall > 0:
    time.sleep(stall)
    try:
        env.step(action)
    except RealEnvError as error:
        print(f"{type(error).__name__}: {error}", flush=True)
    env.close()
    sys.exit(0)
while True:
    env.step(action)
