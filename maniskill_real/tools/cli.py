"""``maniskill-real <command>``: the package's command-line entry point."""

from __future__ import annotations

import sys

COMMANDS = {
    "demo": "maniskill_real.tools.demo",
    "camera-check": "maniskill_real.tools.camera_check",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    argv = [a for a in argv if not a.startswith("__")]  # ros2 run appends __node:= etc.
    if "--ros-args" in argv:
        argv = argv[: argv.index("--ros-args")]
    if not argv or argv[0] not in COMMANDS:
        print("usage: maniskill-real {" + ",".join(COMMANDS) + "} [options]", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
