#!/usr/bin/env bash
# Installs what Hearing Server needs on a Debian machine: system packages when
# missing (apt-get), then a virtual environment in .venv with the pinned packages.
set -euo pipefail
cd "$(dirname "$0")/.."

want_apt=()
command -v ffprobe >/dev/null 2>&1 || want_apt+=(ffmpeg)
if [[ "${HEARING_SETUP_TESTS:-0}" == "1" ]]; then
  [[ -x /usr/bin/chromium ]] || want_apt+=(chromium)
  command -v redis-server >/dev/null 2>&1 || want_apt+=(redis-server)
  [[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || want_apt+=(fonts-wqy-microhei)
fi
if (( ${#want_apt[@]} )); then
  echo "setup: installing ${want_apt[*]} with apt-get" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
if [[ "${HEARING_SETUP_TESTS:-0}" == "1" ]]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
