"""Packaging and the command line, as a new user meets them.

Dependencies are read from the package's own imports and checked against package.xml (rosdep
users) and setup.py (pip users). A missing extra can't be uninstalled here, so a child Python
process refuses those imports (a sys.meta_path finder that raises ModuleNotFoundError, which is
what Python raises for a module that isn't installed); everything else in that process is real.
The CLI runs as the installed console script, in its own process.
"""

from __future__ import annotations

import ast
import re
import runpy
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "maniskill_real"
CLI = Path(sys.executable).parent / "maniskill-real"
# Imports that a rosdep key of another name provides (package.xml), or a pip distribution
# (setup.py): import name -> key / distribution.
ROSDEP_KEYS = {"numpy": "python3-numpy", "yaml": "python3-yaml", "cv2": "python3-opencv"}
DISTRIBUTIONS = {"numpy": "numpy", "yaml": "pyyaml", "cv2": "opencv-python"}
PIP_ONLY = {"gymnasium", "torch", "mani_skill"}
# What works with no extra installed (setup.py's install_requires only).
CORE_MODULES = [
    "maniskill_real.config",
    "maniskill_real.core.camera",
    "maniskill_real.core.clock",
    "maniskill_real.core.joints",
    "maniskill_real.core.safety",
    "maniskill_real.extras",
]
SIM_MODULES = ["mani_skill", "gymnasium", "torch", "sapien"]
ROS_MODULES = ["rclpy", "std_msgs", "sensor_msgs", "rcl_interfaces", "builtin_interfaces"]


def imports_of(paths: list[Path], optional: bool = True) -> set[str]:
    """Top-level names of every absolute import in ``paths``; without ``optional``, not those
    inside a ``try`` (the code copes with their absence) or ``if TYPE_CHECKING``."""

    def is_guard(node: ast.AST) -> bool:
        if isinstance(node, ast.If):
            return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        return isinstance(node, ast.Try)

    names = set()
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        guarded = {
            id(n)
            for t in ast.walk(tree)
            if not optional and is_guard(t)
            for stmt in t.body
            for n in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"maniskill_real"}


def setup_kwargs() -> dict:
    """What setup.py passes to setup(), by running it with setup() replaced."""
    captured: dict = {}
    with mock.patch("setuptools.setup", lambda **kw: captured.update(kw)):
        runpy.run_path(str(REPO / "setup.py"))
    return captured


def test_package_xml_declares_every_import() -> None:
    """Every third-party module the package imports is an exec_depend of package.xml (by its
    rosdep key), or one of the pip-only ones that a comment there names for rosdep users."""
    root = ET.parse(REPO / "package.xml").getroot()
    depends = {e.text for e in root.findall("exec_depend")}
    comments = " ".join(
        m.group(1) for m in re.finditer(r"<!--(.*?)-->", (REPO / "package.xml").read_text(), re.S)
    )
    for name in sorted(imports_of(sorted(PACKAGE.rglob("*.py")))):
        if name in PIP_ONLY:
            assert name in comments, f"package.xml: say in a comment that {name} comes from pip"
        else:
            key = ROSDEP_KEYS.get(name, name)
            assert key in depends, f"maniskill_real imports {name}: no <exec_depend>{key}"


def test_setup_py_requires_the_core_imports() -> None:
    """What the core modules import is in install_requires, so a plain pip install loads them."""
    requires = {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in setup_kwargs()["install_requires"]}
    paths = [PACKAGE / "config.py", *sorted((PACKAGE / "core").glob("*.py"))]
    for name in sorted(imports_of(paths, optional=False)):
        assert DISTRIBUTIONS.get(name, name) in requires, f"install_requires lacks {name}"


def run_without(modules: list[str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a child Python in which ``modules`` (and their submodules) are not
    installed."""
    blocker = f"""
        import sys
        BLOCKED = {modules!r}
        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None
        sys.meta_path.insert(0, NotInstalled())
    """
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(blocker) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_core_works_without_any_extra() -> None:
    """Configs load and cameras align with neither ManiSkill nor ROS installed."""
    out = run_without(
        SIM_MODULES + ROS_MODULES,
        f"""
        import importlib
        for name in {CORE_MODULES!r}:
            importlib.import_module(name)
        from maniskill_real import load_robot_config
        print(load_robot_config("panda").robot_uid)
        """,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "panda"


@pytest.mark.parametrize(
    "missing, name, says",
    [
        ("mani_skill", "RealEnv", "pip install 'maniskill_real[sim]'"),
        ("torch", "RealEnv", "pip install 'maniskill_real[sim]'"),
        ("rclpy", "ROS2Agent", "pip install 'maniskill_real[ros]'"),
    ],
)
def test_missing_extra_is_named(missing: str, name: str, says: str) -> None:
    """``from maniskill_real import <name>`` without an extra it needs raises
    ModuleNotFoundError naming the module and the install line. (RealEnv itself needs no ROS:
    a plain BaseRealAgent drives it; its default agent, ROS2Agent, does.)"""
    out = run_without(
        [missing],
        f"""
        try:
            from maniskill_real import {name}
        except ModuleNotFoundError as e:
            print(e)
        """,
    )
    assert out.returncode == 0, out.stderr
    assert f"No module named '{missing}'" in out.stdout and says in out.stdout, out.stdout


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_help_lists_the_commands() -> None:
    out = cli("--help")
    assert out.returncode == 0, out.stderr
    assert "demo" in out.stdout and "camera-check" in out.stdout
    assert "--version" in out.stdout


def test_version_is_the_packages() -> None:
    version = ET.parse(REPO / "package.xml").getroot().findtext("version")
    out = cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"maniskill-real {version}"


@pytest.mark.parametrize(
    "command, option", [("demo", "--robot"), ("camera-check", "--robot-config")]
)
def test_command_help(command: str, option: str) -> None:
    """Per-command help, also with the arguments ``ros2 run`` and launch files append."""
    for extra in ([], ["--ros-args", "-r", "__node:=maniskill_real"]):
        out = cli(command, "--help", *extra)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"usage: maniskill-real {command}") and option in out.stdout


def test_unknown_command_is_refused() -> None:
    out = cli("dmeo")
    assert out.returncode == 2
    assert "invalid choice: 'dmeo'" in out.stderr


def test_camera_check_without_a_robot_says_what_is_missing(tmp_path: Path) -> None:
    """No robot on this test's ROS domain: one message naming the silent topic and the
    timeout, a non-zero exit code, no traceback."""
    out = cli("camera-check", "--out", str(tmp_path), timeout=180)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert "maniskill-real camera-check: no message on /joint_states after 5.0 s" in out.stderr
