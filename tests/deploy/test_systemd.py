"""The systemd unit: valid for systemd-analyze, sandboxed (exposure under 4), a stop
timeout that outlasts the drain and sealing, command lines the CLI accepts, and
SIGHUP that neither kills nor reloads a node."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from hearing_server.cli import parser
from hearing_server.settings import Settings
from tests.cli.helpers import CLI, free_port, stop, wait_healthy
from tests.deploy.helpers import DEPLOY, ROOT

UNIT = DEPLOY / "hearing-server@.service"
#: handing over what is left and sealing recordings after the drain
SEALING_MARGIN = 60.0


def directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def instance(tmp_path: Path) -> Path:
    """The unit as installed for port 8080, with its paths pointing at this checkout."""
    unit = tmp_path / "hearing-server@8080.service"
    unit.write_text(UNIT.read_text().replace("/opt/hearing-server", str(ROOT)))
    return unit


def test_the_unit_passes_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    unit = instance(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    mentions = [line for line in (done.stdout + done.stderr).splitlines()
                if unit.name in line]
    assert mentions == []


def test_the_unit_rates_under_4_in_systemd_analyze_security(tmp_path: Path) -> None:
    unit = instance(tmp_path)
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                           "--threshold=39", str(unit)], capture_output=True, text=True,
                          timeout=60, check=False)
    level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert level is not None, done.stdout + done.stderr
    assert float(level.group(1)) < 4.0 and done.returncode == 0, level.group(0)


def test_the_stop_timeout_outlasts_the_drain_and_sealing() -> None:
    found = directives()
    stop_after = float(found["TimeoutStopSec"][0])
    shipped = tomllib.loads((DEPLOY / "node.toml").read_text())
    drain = float(shipped.get("drain_timeout", Settings().drain_timeout))
    assert stop_after >= drain + SEALING_MARGIN
    assert found["KillMode"] == ["mixed"] and found["KillSignal"] == ["SIGTERM"]
    assert "MemoryDenyWriteExecute" not in found  # DTLS's cffi callbacks need W+X


def test_the_unit_command_lines_are_ones_the_cli_accepts() -> None:
    found = directives()
    for key in ("ExecStartPre", "ExecStart"):
        argv = shlex.split(found[key][0].replace("%i", "8080"))
        assert argv[0] == "/opt/hearing-server/.venv/bin/hearing-server"
        args = parser().parse_args(argv[1:])
        assert args.port == 8080 and args.config == "/etc/hearing-server/node.toml"
    assert found["ReadWritePaths"] == ["/var/lib/hearing-server"]
    shipped = tomllib.loads((DEPLOY / "node.toml").read_text())
    assert shipped["data_dir"] == "/var/lib/hearing-server"


def test_sighup_neither_stops_nor_reloads_a_node_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "node.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*CLI, "serve", "--data-dir", str(tmp_path / "d"), "--init",
                                 "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                                stdout=fh, stderr=fh)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "SIGHUP ignored" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        wait_healthy(url, proc)
        proc.send_signal(signal.SIGTERM)  # the drain, with no hearing: exits 0 at once
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)


W_XOR_X_PROBE = """
import ctypes, sys
from OpenSSL import SSL
if sys.argv[1] == "mdwe":  # what MemoryDenyWriteExecute=yes enforces
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(65, 1, 0, 0, 0) == 0, ctypes.get_errno()  # PR_SET_MDWE
context = SSL.Context(SSL.DTLS_METHOD)
try:
    context.set_verify(SSL.VERIFY_PEER, lambda *args: True)  # as aiortc's DTLS does
except MemoryError:
    print("refused")
else:
    print("allowed")
"""


def test_memory_deny_write_execute_would_break_dtls_so_the_unit_leaves_it_off() -> None:
    """If this starts printing "allowed" under W^X, MemoryDenyWriteExecute=yes can go
    into the unit (and the assertion above be turned round)."""
    outcomes = [subprocess.run([sys.executable, "-c", W_XOR_X_PROBE, mode],
                               capture_output=True, text=True, timeout=30, check=True
                               ).stdout.strip() for mode in ("plain", "mdwe")]
    assert outcomes == ["allowed", "refused"]
