#!/usr/bin/env bash
# Regenerates requirements.lock (the server) and requirements-dev.lock (plus the
# dev extra: tests, lint, types) from pyproject.toml, with a SHA-256 hash for every
# transitive dependency, pip and setuptools included (requirements/tools.in).
# Run after changing dependencies in pyproject.toml, then commit both locks.
# Versions already in the locks are kept; pass --upgrade to move everything, or
# --upgrade-package NAME for one.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
tool=${UV_TOOL_DIR:-/tmp/hearing-lock-tool}
if [[ ! -x "$tool/bin/uv" ]] || [[ "$("$tool/bin/uv" --version)" != "uv $UV_VERSION"* ]]; then
  python3 -m venv "$tool"
  "$tool/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
common=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
        --no-header --quiet "$@")
UV_NO_CONFIG=1 "$tool/bin/uv" pip compile pyproject.toml requirements/tools.in \
  "${common[@]}" -o requirements.lock
UV_NO_CONFIG=1 "$tool/bin/uv" pip compile pyproject.toml requirements/tools.in --extra dev \
  "${common[@]}" -o requirements-dev.lock
echo "lock: $(grep -c '^[A-Za-z]' requirements.lock) packages in requirements.lock," \
     "$(grep -c '^[A-Za-z]' requirements-dev.lock) in requirements-dev.lock"
