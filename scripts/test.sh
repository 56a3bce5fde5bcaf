#!/usr/bin/env bash
# Sets everything up (Debian packages, .venv) and runs the whole test suite:
# ruff, mypy --strict, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
HEARING_SETUP_TESTS=1 ./scripts/setup.sh
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy --strict" && .venv/bin/mypy
echo "== pytest"
mkdir -p artifacts
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest ran no test: that is a failure" >&2
  exit 1
fi
exit $status
