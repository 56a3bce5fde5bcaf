#!/usr/bin/env bash
# Sets everything up and starts one node on embedded defaults (no Redis, ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/hearing-server serve "$@"
