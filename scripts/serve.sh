#!/usr/bin/env bash
# Sets everything up and starts one node on embedded defaults (no Redis, ./data).
# The default ./data folder is created on first start; a folder given with
# --data-dir or in a --config file must already exist (or add --init), so that a
# mistyped path never starts a new, empty store with new keys.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
init=(--init)
for arg in "$@"; do
  case "$arg" in
    --data-dir|--data-dir=*|--config|--config=*) init=() ;;
  esac
done
[[ -n "${HEARING_DATA_DIR:-}${HEARING_CONFIG:-}" ]] && init=()
exec .venv/bin/hearing-server serve ${init[@]+"${init[@]}"} "$@"
