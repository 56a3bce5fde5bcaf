#!/usr/bin/env bash
# Installs what Hearing Server needs on a Debian machine: system packages when
# missing (apt-get), then a virtual environment in .venv with every Python package
# pinned by hash (requirements.lock, or requirements-dev.lock for the tests;
# regenerate them as docs/operations.md says), then the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

want_apt=()
want_tools=()   # installed without recommends (prometheus would pull in much more)
command -v ffprobe >/dev/null 2>&1 || want_apt+=(ffmpeg)
if [[ "${HEARING_SETUP_TESTS:-0}" == "1" ]]; then
  [[ -x /usr/bin/chromium ]] || want_apt+=(chromium)
  # the Firefox party test (tests/e2e/test_firefox_in_browser.py), driven by node
  [[ -x /usr/bin/firefox-esr ]] || want_tools+=(firefox-esr)
  command -v npm >/dev/null 2>&1 || want_tools+=(npm)
  command -v redis-server >/dev/null 2>&1 || want_apt+=(redis-server)
  [[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || want_apt+=(fonts-wqy-microhei)
  # the deploy/ tests: nginx -t and a live proxy, coturn on loopback, promtool and
  # prometheus, systemd-analyze, openssl for throwaway certificates
  command -v nginx >/dev/null 2>&1 || want_tools+=(nginx-light)
  command -v turnserver >/dev/null 2>&1 || want_tools+=(coturn)
  command -v promtool >/dev/null 2>&1 || want_tools+=(prometheus)
  command -v systemd-analyze >/dev/null 2>&1 || want_tools+=(systemd)
  command -v openssl >/dev/null 2>&1 || want_tools+=(openssl)
  # the benchmark's peer (bench/janus.py; tests/bench)
  [[ -x /usr/bin/janus ]] || want_tools+=(janus)
fi
# the C compiler: the relay's send path (hearing_server/relay/sendpath.c) and the
# benchmark's loopback shim for Janus
command -v cc >/dev/null 2>&1 || want_tools+=(gcc libc6-dev)
if (( ${#want_apt[@]} + ${#want_tools[@]} )); then
  echo "setup: installing ${want_apt[*]} ${want_tools[*]} with apt-get" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  if (( ${#want_apt[@]} )); then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want_apt[@]}" >/dev/null
  fi
  if (( ${#want_tools[@]} )); then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${want_tools[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
lock=requirements.lock
[[ "${HEARING_SETUP_TESTS:-0}" == "1" ]] && lock=requirements-dev.lock
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r "$lock"
# the project itself: its dependencies all came from the lock above, and so did
# the build backend (setuptools), hence no build isolation
# (setuptools warns about editable installs on every run: show its output on failure only)
if ! out=$("${pip[@]}" --no-deps --no-build-isolation -e . 2>&1); then
  echo "$out" >&2
  exit 1
fi
# the relay's send path in C (hearing_server/relay/sendpath.c, built with cffi; it
# needs Python's headers, which a Debian python3 has in python3-dev)
if ! .venv/bin/python -m hearing_server.relay.sendpath_build; then
  if [[ "${HEARING_SETUP_TESTS:-0}" == "1" ]]; then
    echo "setup: the C send path did not build (the tests need it)" >&2
    exit 1
  fi
  echo "setup: the C send path did not build; the relay will use its slower Python path" >&2
fi
if ! problems=$(.venv/bin/python -m pip check 2>&1); then
  echo "$problems" >&2
  echo "setup: $lock does not match pyproject.toml: run ./scripts/lock.sh and commit the locks" >&2
  exit 1
fi
if [[ "${HEARING_SETUP_TESTS:-0}" == "1" ]]; then
  # puppeteer-core for the Firefox test, exactly as locked (no install scripts: it
  # drives Debian's firefox-esr and downloads no browser)
  lock_copy=tests/e2e/firefox/node_modules/.package-lock.json
  if [[ ! -e $lock_copy ]] || ! cmp -s <(grep -v '"name"' tests/e2e/firefox/package-lock.json | grep '"version"') \
      <(grep -v '"name"' "$lock_copy" | grep '"version"'); then
    npm ci --prefix tests/e2e/firefox --no-audit --no-fund --ignore-scripts --silent
  fi
fi
# the browser tests run axe-core (accessibility) in the pages: a pinned copy from npm
if [[ "${HEARING_SETUP_TESTS:-0}" == "1" && ! -f tests/e2e/vendor/node_modules/axe-core/axe.min.js ]]; then
  command -v npm >/dev/null 2>&1 || { echo "setup: npm is needed for axe-core (apt-get install npm)" >&2; exit 1; }
  npm install --prefix tests/e2e/vendor --no-save --no-audit --no-fund --silent axe-core@4.14.1
fi
