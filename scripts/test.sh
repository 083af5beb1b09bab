#!/usr/bin/env bash
# Set up (idempotent), lint, and run the test suite. Extra arguments go to pytest:
#   ./scripts/test.sh -k launch -x
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 1

bash "$REPO/scripts/setup.sh" || { echo "[test] setup failed" >&2; exit 1; }

# Keep DDS discovery on this machine; tests pick their own ROS_DOMAIN_ID.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST

echo "[test] ruff check"
"$REPO/.venv/bin/ruff" check "$REPO" || { echo "[test] ruff check failed" >&2; exit 1; }

echo "[test] shellcheck"
"$REPO/.venv/bin/shellcheck" "$REPO"/scripts/*.sh "$REPO/.ci/run" \
    || { echo "[test] shellcheck failed" >&2; exit 1; }

echo "[test] pytest test/"
"$REPO/.venv/bin/python" -m pytest -p no:cacheprovider "$REPO/test" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "[test] pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
