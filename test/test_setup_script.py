"""Every branch of scripts/setup.sh against a faked system.

Faked, because a test can't install or remove system packages: `dpkg-query`, `apt-get`, `id`,
`sudo`, `cmake` and the Python interpreter are stubs on PATH that log each call and answer from a
small state directory (installed Debian packages as files). The script itself, bash, `dpkg
--compare-versions` and the other tools are the real ones. Each test asserts what the script
would have installed and that it exits 0 or names the failed step and command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "scripts" / "setup.sh"

# The interpreter: `-m venv DIR` makes DIR/bin/python a copy of this stub; `-m pip` logs; the
# few `-c` snippets setup.sh and build_interfaces.sh run are answered from the state directory.
FAKE_PYTHON = r"""#!/usr/bin/env bash
echo "python $*" >> "$FAKE/log"
case "$1" in
  -V) echo "Python 3.11.7" ;;
  -m)
    case "$2" in
      venv) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
      pip)
        [ -e "$FAKE/pip_fails" ] && { echo "pip: no matching distribution" >&2; exit 1; }
        case " $* " in *" -e "*) touch "$FAKE/installed" ;; esac ;;
    esac ;;
  -c)
    case "$2" in
      *"import torch, mani_skill"*) echo "[setup] python: torch (fake)" ;;
      *version_info*) if [ -e "$FAKE/python_too_old" ]; then exit 1; fi ;;
      *"import pip"*) exit 0 ;;
      *"import rclpy"*) [ -e "$FAKE/rclpy" ] || exit 1 ;;
      *find_spec*) [ -e "$FAKE/installed" ] || exit 1 ;;
      *numpy*|*'["include"]'*) echo "$FAKE/include" ;;
      *purelib*) echo "lib/python3.11/site-packages" ;;
      *__import__*) exit 0 ;;
      *) echo "fake python: unexpected -c $2" >&2; exit 3 ;;
    esac ;;
  *) echo "fake python: unexpected $*" >&2; exit 3 ;;
esac
"""

FAKE_DPKG_QUERY = r"""#!/usr/bin/env bash
echo "dpkg-query $*" >> "$FAKE/log"
pkg="${!#}"
[ -e "$FAKE/dpkg/$pkg" ] || { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }
echo "install ok installed $(cat "$FAKE/dpkg/$pkg")"
"""

# Installs the packages it is asked for at the version in $FAKE/apt_mesa_version.
FAKE_APT_GET = r"""#!/usr/bin/env bash
echo "apt-get $*" >> "$FAKE/log"
[ -e "$FAKE/apt_fails" ] && { echo "E: Unable to locate package" >&2; exit 100; }
if [ "$1" = install ] || [[ " $* " == *" install "* ]]; then
  for pkg in "$@"; do
    case "$pkg" in
      mesa-vulkan-drivers) cp "$FAKE/apt_mesa_version" "$FAKE/dpkg/$pkg" ;;
      libvulkan1) echo "1.3.239.0-1" > "$FAKE/dpkg/$pkg" ;;
    esac
  done
fi
"""

FAKE_SUDO = r"""#!/usr/bin/env bash
echo "sudo $*" >> "$FAKE/log"
exec "$@"
"""

FAKE_ID = "#!/usr/bin/env bash\necho 1000\n"
FAKE_CMAKE = '#!/usr/bin/env bash\necho "cmake $*" >> "$FAKE/log"\n'
FAILING_SHA256SUM = '#!/usr/bin/env bash\necho "sha256sum: read error" >&2\nexit 1\n'


@dataclass
class Result:
    rc: int
    out: str
    err: str
    calls: list[str]

    def called(self, prefix: str) -> list[str]:
        return [c for c in self.calls if c.startswith(prefix)]


class FakeSystem:
    """A temporary 'machine': stub commands on PATH, Debian package state, ICD, apt and os-release
    dirs, and a venv path, all under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state"
        self.bin = root / "bin"
        self.venv = root / "venv"
        self.icd = root / "icd.d"
        self.apt = root / "apt"
        for d in (
            self.state / "dpkg",
            self.state / "include",
            self.bin,
            self.icd,
            self.apt / "sources.list.d",
        ):
            d.mkdir(parents=True)
        (self.state / "include" / "Python.h").touch()
        (self.apt / "sources.list").write_text("deb http://deb.debian.org/debian bookworm main\n")
        self.os_release = root / "os-release"
        self.set_os("bookworm")
        self.apt_offers("25.0.7-2~bpo12+1")
        self.python = self.stub("python3", FAKE_PYTHON)
        for name, text in (
            ("dpkg-query", FAKE_DPKG_QUERY),
            ("apt-get", FAKE_APT_GET),
            ("cmake", FAKE_CMAKE),
        ):
            self.stub(name, text)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ROS_", "PYTHON"))}
        self.env.update(
            PATH=f"{self.bin}:{os.environ['PATH']}",
            FAKE=str(self.state),
            PYTHON=str(self.python),
            MANISKILL_REAL_VENV=str(self.venv),
            MANISKILL_REAL_ICD_DIRS=str(self.icd),
            MANISKILL_REAL_OS_RELEASE=str(self.os_release),
            MANISKILL_REAL_APT_ETC=str(self.apt),
        )
        self.env.pop("MANISKILL_REAL_SKIP_APT", None)
        self.env.pop("MANISKILL_REAL_FORCE", None)

    def stub(self, name: str, text: str) -> Path:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)
        return path

    def set_os(self, codename: str) -> None:
        self.os_release.write_text(f"ID=debian\nVERSION_CODENAME={codename}\n")

    def installed(self, package: str, version: str) -> None:
        (self.state / "dpkg" / package).write_text(version)

    def apt_offers(self, mesa_version: str) -> None:
        (self.state / "apt_mesa_version").write_text(mesa_version)

    def flag(self, name: str) -> None:
        (self.state / name).touch()

    def not_root(self, with_sudo: bool) -> None:
        self.stub("id", FAKE_ID)
        if with_sudo:
            self.stub("sudo", FAKE_SUDO)

    def run(self, **env: str) -> Result:
        log = self.state / "log"
        log.write_text("")
        proc = subprocess.run(
            ["bash", str(SETUP)],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, log.read_text().splitlines())


@pytest.fixture
def system(tmp_path: Path) -> FakeSystem:
    return FakeSystem(tmp_path)


APT_INSTALL = "apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1"


def assert_python_installed(result: Result, extras: str) -> None:
    pips = [c for c in result.called("python -m pip install") if "ros-jazzy-ament" not in c]
    assert pips == [
        "python -m pip install --progress-bar off torch==2.13.0",
        f"python -m pip install --progress-bar off -e {REPO}[{extras}]",
    ], result.calls


def assert_ok(result: Result) -> None:
    assert result.rc == 0, result.out + result.err
    assert "ERROR" not in result.err


def assert_names_failure(result: Result, step: str, *words: str) -> None:
    assert result.rc != 0, result.out
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(f"[setup] ERROR: {step}:"), result.err
    for word in words:
        assert word in last, last


def test_no_vulkan_driver_installs_lavapipe_from_backports(system: FakeSystem) -> None:
    """The defect: dpkg-query exits 1 for a package it has never seen, which killed the script
    silently. Now it installs Mesa from bookworm-backports and carries on."""
    result = system.run()
    assert_ok(result)
    assert result.called("apt-get") == ["apt-get update -qq", APT_INSTALL]
    backports = (system.apt / "sources.list.d" / "backports.list").read_text()
    assert "bookworm-backports main" in backports
    assert "installed mesa-vulkan-drivers 25.0.7" in result.out
    assert_python_installed(result, "sim,test,ros")
    assert result.called("cmake"), "the interface packages were not built"


def test_mesa_too_old_is_upgraded(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "22.3.6-1+deb12u1")
    system.installed("libvulkan1", "1.3.239.0-1")
    (system.apt / "sources.list.d" / "backports.list").write_text(
        "deb http://deb.debian.org/debian bookworm-backports main\n"
    )
    result = system.run()
    assert_ok(result)
    assert "'22.3.6-1+deb12u1' < 25" in result.out
    assert result.called("apt-get") == ["apt-get update -qq", APT_INSTALL]


def test_mesa_present_installs_nothing(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    result = system.run()
    assert_ok(result)
    assert result.called("apt-get") == []
    assert "lavapipe present" in result.out


def test_gpu_icd_present_skips_mesa(system: FakeSystem) -> None:
    (system.icd / "nvidia_icd.json").write_text("{}")
    result = system.run()
    assert_ok(result)
    assert result.called("apt-get") == [] and result.called("dpkg-query") == []
    assert "GPU driver ICD found" in result.out


@pytest.mark.skipif(shutil.which("sudo") is not None, reason="this machine has a real sudo")
def test_no_root_and_no_sudo_names_the_failure(system: FakeSystem) -> None:
    system.not_root(with_sudo=False)
    result = system.run()
    assert_names_failure(result, "vulkan", "needs root", "MANISKILL_REAL_SKIP_APT=1")
    assert result.called("apt-get") == []


def test_no_root_uses_sudo_for_apt_only(system: FakeSystem) -> None:
    system.not_root(with_sudo=True)
    result = system.run()
    assert_ok(result)
    assert result.called("sudo") == [
        f"sudo tee {system.apt}/sources.list.d/backports.list",
        "sudo apt-get update -qq",
        f"sudo {APT_INSTALL}",
    ]


def test_no_root_with_mesa_present_needs_no_sudo(system: FakeSystem) -> None:
    system.not_root(with_sudo=False)
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    assert_ok(system.run())


def test_skip_apt_touches_no_system_package(system: FakeSystem) -> None:
    result = system.run(MANISKILL_REAL_SKIP_APT="1")
    assert_ok(result)
    assert result.called("apt-get") == []
    assert "MANISKILL_REAL_SKIP_APT=1: not installing" in result.out
    assert_python_installed(result, "sim,test,ros")


def test_apt_failure_names_the_command(system: FakeSystem) -> None:
    system.flag("apt_fails")
    result = system.run()
    assert_names_failure(result, "vulkan", "'apt-get update' failed")


def test_mesa_still_too_old_after_apt_is_an_error(system: FakeSystem) -> None:
    """A distribution without Mesa 25 (e.g. Ubuntu 22.04's 23.2): no silent 'may fail'."""
    system.set_os("jammy")
    system.apt_offers("23.2.1-1ubuntu3.1~22.04.2")
    result = system.run()
    assert result.called("apt-get") == [
        "apt-get update -qq",
        "apt-get install -y -qq mesa-vulkan-drivers libvulkan1",
    ]
    assert_names_failure(result, "vulkan", "'23.2.1-1ubuntu3.1~22.04.2', older than 25")


def test_ros_sourced_installs_no_ros_wheels(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.flag("rclpy")
    result = system.run(ROS_DISTRO="jazzy")
    assert_ok(result)
    assert_python_installed(result, "sim,test")
    assert result.called("cmake") == [], "interfaces come from rosdep when ROS is sourced"


def test_ros_sourced_with_wheels_in_venv_recreates_it(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.flag("rclpy")
    (system.venv / "bin").mkdir(parents=True)
    shutil.copy(system.python, system.venv / "bin" / "python")
    wheel = system.venv / "lib" / "python3.11" / "site-packages" / "ros_jazzy_rclpy-7.1.5.dist-info"
    wheel.mkdir(parents=True)
    result = system.run(ROS_DISTRO="jazzy")
    assert_ok(result)
    assert "holds ROS wheels but ROS jazzy is sourced; recreating" in result.out
    assert not wheel.exists()


def test_ros_sourced_without_rclpy_names_the_failure(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    result = system.run(ROS_DISTRO="jazzy")
    assert_names_failure(result, "python", "rclpy does not import")


def test_broken_venv_is_recreated(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.venv.mkdir()  # a venv dir without an interpreter
    result = system.run()
    assert_ok(result)
    assert "is broken; recreating" in result.out
    assert f"python -m venv {system.venv}" in result.calls


def test_pip_failure_names_the_command(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.flag("pip_fails")
    result = system.run()
    assert_names_failure(result, "python", "-m pip install torch==2.13.0' failed")


def test_python_too_old_names_the_failure(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.flag("python_too_old")
    assert_names_failure(system.run(), "venv", "need Python >= 3.10")


def test_unexpected_failure_names_step_and_command(system: FakeSystem) -> None:
    """Any command that fails without a message of its own still names step, command and line."""
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    system.stub("sha256sum", FAILING_SHA256SUM)
    result = system.run()
    assert_names_failure(result, "python", "command failed", "sha256sum")


def test_rerun_is_a_no_op(system: FakeSystem) -> None:
    system.installed("mesa-vulkan-drivers", "25.0.7-2~bpo12+1")
    system.installed("libvulkan1", "1.3.239.0-1")
    assert_ok(system.run())
    again = system.run()
    assert_ok(again)
    assert again.called("python -m pip") == [] and again.called("apt-get") == []
    assert "up to date" in again.out
