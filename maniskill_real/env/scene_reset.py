"""Scene-reset hooks: what happens after the robot reached its reset pose, before the episode.

A real scene (objects on the table) is reset by a person, a script, or a simulator. RealEnv
calls one hook ``(env, seed, options)``; these are the shipped ones.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maniskill_real.errors import ConfigError

if TYPE_CHECKING:
    from maniskill_real.env.real_env import RealEnv

SceneReset = Callable[["RealEnv", int | None, dict | None], None]


def prompt_operator(env: RealEnv, seed: int | None, options: dict | None) -> None:
    input(f"Reset the scene (seed {seed}), then press Enter to start the episode: ")


def no_scene_reset(env: RealEnv, seed: int | None, options: dict | None) -> None:
    """The scene needs no reset (or something else resets it)."""


def auto(env: RealEnv, seed: int | None, options: dict | None) -> None:
    """Prompt only when a person can answer: a terminal is attached to stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        prompt_operator(env, seed, options)


class TriggerSceneReset:
    """Call a ``std_srvs/Trigger`` service (e.g. the sim robot's ``/sim_robot/reset_scene``).

    With ``seed_parameter="<node>/<param>"`` the episode seed is first set as that node's
    integer parameter, so a simulated scene resets to the policy's sim scene.
    """

    def __init__(self, service: str, seed_parameter: str | None = None, timeout: float = 10.0):
        self.service = service
        self.seed_parameter = seed_parameter
        self.timeout = timeout

    def __call__(self, env: RealEnv, seed: int | None, options: dict | None) -> None:
        ros = env.agent.ros
        if self.seed_parameter is not None and seed is not None:
            node, _, name = self.seed_parameter.rpartition("/")
            ros.set_parameter(node, name, int(seed), self.timeout)
        ros.trigger(self.service, self.timeout)


def make_scene_reset(spec: Any) -> SceneReset:
    """``"auto" | "prompt" | "none" | "trigger:<service>[@<node>/<seed param>]"`` or a callable."""
    if callable(spec):
        return spec
    named = {"auto": auto, "prompt": prompt_operator, "none": no_scene_reset}
    if spec in named:
        return named[spec]
    if isinstance(spec, str) and spec.startswith("trigger:"):
        service, _, seed_parameter = spec.removeprefix("trigger:").partition("@")
        return TriggerSceneReset(service, seed_parameter or None)
    raise ConfigError(
        f"scene_reset {spec!r}: expected 'auto', 'prompt', 'none', 'trigger:<service>' "
        "(optionally '@<node>/<seed parameter>') or a callable (env, seed, options)"
    )
