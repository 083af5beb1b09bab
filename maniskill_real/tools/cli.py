"""``maniskill-real <command>``: the package's command-line entry point.

Each command is a module with ``SUMMARY``, ``add_arguments(parser)`` and ``run(args)``. A
failure the user can act on (a silent topic, a bad config, a missing extra) ends in one line
on stderr naming it and exit code 1, not a traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module, metadata

from maniskill_real.config import ConfigError
from maniskill_real.core.camera import CameraFovError
from maniskill_real.errors import RealEnvError
from maniskill_real.extras import missing_extra

COMMANDS = {
    "demo": "maniskill_real.tools.demo",
    "camera-check": "maniskill_real.tools.camera_check",
}


def version() -> str:
    try:
        return metadata.version("maniskill_real")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maniskill-real",
        description="Run ManiSkill 3 policies on ros2_control robots. "
        "'maniskill-real COMMAND --help' shows a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    for name, module_name in COMMANDS.items():
        module = import_module(module_name)
        command = commands.add_parser(
            name,
            help=module.SUMMARY,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def without_ros_args(argv: list[str]) -> list[str]:
    """``argv`` minus what ``ros2 run`` and launch files append (``--ros-args ...``,
    ``__node:=...``)."""
    argv = [a for a in argv if not a.startswith("__")]
    if "--ros-args" in argv:
        argv = argv[: argv.index("--ros-args")]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(without_ros_args(sys.argv[1:] if argv is None else argv))
    try:
        return args.run(args)
    except ModuleNotFoundError as e:
        error = missing_extra(e)
        if error is e:  # not ours to explain
            raise
        message = str(error)
    except (RealEnvError, ConfigError, CameraFovError) as e:
        message = str(e)
    except KeyboardInterrupt:
        return 130
    print(f"maniskill-real {args.command}: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
