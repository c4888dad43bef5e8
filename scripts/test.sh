#!/usr/bin/env bash
# Installs everything the test suite needs (Debian and Python packages) and runs it.
# Arguments are passed to pytest, e.g. scripts/test.sh -k groups
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

scripts/install-system-packages.sh

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
"$VENV/bin/pip" install --quiet -e ".[test]"

"$VENV/bin/ruff" check .
"$VENV/bin/pytest" "$@"
