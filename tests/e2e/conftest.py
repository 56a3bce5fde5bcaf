"""Browser tests: the real server in a subprocess, Debian's Chromium through Playwright.

One server and one browser per test module (each test uses its own browser contexts),
so at most one Chromium runs at a time on a small machine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.when import soon

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("HEARING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
STAFF_PASSWORD = "correct horse battery staple"


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("hearing-server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hearing-server")
    return [found] if found else [sys.executable, "-m", "hearing_server.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    #: extra environment for the CLI (for example the Redis URL of a multi-node setup)
    env: dict[str, str] = field(default_factory=dict)
    #: clerk accounts assigned to every hearing ``create_hearing`` schedules
    clerks: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> str:
        # the CLI builds join links from the public URL: point it at this server
        env = dict(os.environ, HEARING_PUBLIC_URL=self.url, **self.env)
        done = subprocess.run([*_cli(), "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, timeout=60, check=False, env=env)
        if done.returncode != 0:
            raise AssertionError(f"hearing-server {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def create_hearing(self, case_number: str = "C-1", title: str = "T",
                       kind: str = "hearing",
                       **people: str | list[str]) -> dict[str, Any]:
        """``hearing create``; keyword arguments are role=name or role=[names]."""
        args = ["hearing", "create", "--case-number", case_number, "--title", title,
                "--kind", kind, "--at", soon()]
        for role, names in people.items():
            for name in [names] if isinstance(names, str) else names:
                args += [f"--{role}", name]
        for clerk in self.clerks:
            args += ["--assign-clerk", clerk]
        data: dict[str, Any] = json.loads(self.cli(*args))
        return data

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start:\n{log.read_text(errors='replace')}")


def start_server(data_dir: Path, log_path: Path, port: int | None = None,
                 env: dict[str, str] | None = None) -> Server:
    """Start ``hearing-server serve`` on 127.0.0.1 and wait until it is healthy."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    extra = dict(env or {})
    full_env = dict(os.environ, HEARING_ICE_TIMEOUT="20", HEARING_PUBLIC_URL=url, **extra)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*_cli(), "--data-dir", str(data_dir), "--init", "serve", "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT))
    srv = Server(url, data_dir, log_path, process, extra)
    try:
        _wait_healthy(url, process, log_path)
    except Exception:
        stop_server(srv)
        raise
    return srv


def stop_server(srv: Server) -> None:
    if srv.process.poll() is not None:
        return
    srv.process.terminate()
    try:
        srv.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        srv.process.kill()
        srv.process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("e2e")
    srv = start_server(base / "data", base / "server.log")
    try:
        srv.cli("staff", "add", "clerk1", "--role", "clerk", "--name", "Clerk One",
                "--password", STAFF_PASSWORD)
        srv.clerks.append("clerk1")  # staff see their own hearings only
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():  # never skip: the test command installs it
        pytest.fail(f"no Chromium at {CHROMIUM}: run ./scripts/test.sh, which installs it")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_page(browser: Any, locale: str = "en-GB", width: int = 1280,
             height: int = 800, bypass_csp: bool = False) -> Any:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                  permissions=["camera", "microphone"], bypass_csp=bypass_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # a refused HTTP call (401 for a bad link or password) is expected, not a script error
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    page.js_errors = errors  # type: ignore[attr-defined]
    return page
