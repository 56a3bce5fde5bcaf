"""deploy/nginx.conf as shipped is a complete nginx.conf: ``nginx -t`` passes with a
throwaway certificate, and started on loopback in front of a real node it speaks
TLS 1.2/1.3 only, rate-limits sign-in, upgrades socket.io to a WebSocket and
passes the scheme and host the origin check needs."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio
from aiohttp import ClientSession, TCPConnector

from tests.cli.helpers import CLI, ROOT, free_port, run, stop, wait_healthy
from tests.conftest import token_of
from tests.deploy.helpers import DEPLOY, self_signed
from tests.when import soon


def rewritten(tmp_path: Path, https: int, http: int, node: int) -> Path:
    """The shipped file with its paths and ports moved into ``tmp_path`` and loopback."""
    cert, key = self_signed(tmp_path)
    for sub in ("logs", "temp"):
        (tmp_path / sub).mkdir(exist_ok=True)
    text = (DEPLOY / "nginx.conf").read_text()
    swaps = {
        "/etc/ssl/hearing-server/fullchain.pem": str(cert),
        "/etc/ssl/hearing-server/privkey.pem": str(key),
        "/run/nginx.pid": str(tmp_path / "nginx.pid"),
        "/var/log/nginx/": f"{tmp_path}/logs/",
        "/var/lib/nginx/": f"{tmp_path}/temp/",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{node};",
    }
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new)
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    return conf


def nginx(conf: Path, *args: str) -> list[str]:
    return ["nginx", "-e", "stderr", "-p", str(conf.parent), "-c", str(conf), *args]


def test_the_shipped_config_passes_nginx_t(tmp_path: Path) -> None:
    conf = rewritten(tmp_path, 8443, 8081, 8080)
    done = subprocess.run(nginx(conf, "-t"), capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr


def test_the_shipped_config_has_modern_tls_rate_limits_and_the_websocket_upgrade() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    for endpoint, zone in (("/api/v1/session", "signin"), ("/api/v1/join", "join")):
        block = re.search(r"location = " + re.escape(endpoint) + r" \{(.*?)\}", text, re.S)
        assert block is not None and f"limit_req zone={zone}" in block.group(1)
    sio = re.search(r"location /socket.io/ \{(.*?)\}", text, re.S)
    assert sio is not None
    for header in ("Upgrade $http_upgrade", "Connection $connection_upgrade", "Host $host",
                   "X-Forwarded-For $proxy_add_x_forwarded_for",
                   "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in sio.group(1), header


@dataclass
class Stack:
    url: str
    node: str
    data: Path
    log: Path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    node_port, https, http = free_port(), free_port(), free_port()
    data = tmp_path / "data"
    public = f"https://localhost:{https}"
    env = {"HEARING_PUBLIC_URL": public, "HEARING_TRUSTED_PROXIES": "127.0.0.1"}
    node_log = tmp_path / "node.log"
    with open(node_log, "wb") as fh:
        node = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--init", "--host",
                                 "127.0.0.1", "--port", str(node_port)], cwd=ROOT,
                                env={"PATH": "/usr/bin:/bin", **env}, stdout=fh, stderr=fh)
    conf = rewritten(tmp_path, https, http, node_port)
    with open(tmp_path / "nginx.stderr", "wb") as err:
        proxy = subprocess.Popen(nginx(conf, "-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                 stderr=err)
    try:
        wait_healthy(f"http://127.0.0.1:{node_port}", node)
        deadline = time.monotonic() + 20
        while not (tmp_path / "nginx.pid").exists():
            assert proxy.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "nginx.stderr").read_text()
            time.sleep(0.05)
        yield Stack(public, f"http://127.0.0.1:{node_port}", data, tmp_path / "logs")
    finally:
        stop(proxy)
        stop(node)


def client_tls(maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def negotiated(url: str, maximum: ssl.TLSVersion | None) -> str | None:
    ctx = client_tls(maximum)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        return tls.version()


async def test_tls_proxy_in_front_of_a_node_serves_rate_limits_and_upgrades(
        stack: Stack) -> None:
    # TLS 1.3 by default, TLS 1.2 still accepted; plain http is redirected
    async with ClientSession(connector=TCPConnector(ssl=client_tls())) as s:
        async with s.get(stack.url + "/readyz") as r:
            assert r.status == 200 and (await r.json())["status"] == "ready"
            assert "max-age" in r.headers["Strict-Transport-Security"]
    async with ClientSession(connector=TCPConnector(
            ssl=client_tls(ssl.TLSVersion.TLSv1_2))) as s, s.get(stack.url + "/healthz") as r:
        assert r.status == 200
    assert negotiated(stack.url, None) == "TLSv1.3"
    assert negotiated(stack.url, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"

    # sign-in is rate-limited per client address: a burst of guesses meets 429
    statuses = []
    async with ClientSession(connector=TCPConnector(ssl=client_tls())) as s:
        for _ in range(12):
            async with s.post(stack.url + "/api/v1/session",
                              json={"username": "x", "password": "guess"}) as r:
                statuses.append(r.status)
    assert 401 in statuses and 429 in statuses and statuses.index(429) > 0

    # socket.io: the WebSocket upgrade passes, and so do scheme and host for the
    # same-origin check (a foreign origin is still refused)
    created = json.loads(run("--data-dir", str(stack.data), "hearing", "create",
                             "--case-number", "N-1", "--title", "Proxy", "--at",
                             soon(), "--judge", "J",
                             env={"HEARING_PUBLIC_URL": stack.url}).stdout)
    token = token_of(created["participants"][0]["link"])
    same = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    await same.connect(stack.url, namespaces=["/hearing"], auth={"token": token},
                       transports=["websocket"], headers={"Origin": stack.url},
                       wait_timeout=10)
    assert same.connected and same.transport() == "websocket"
    await same.disconnect()
    foreign = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await foreign.connect(stack.url, namespaces=["/hearing"], auth={"token": token},
                              transports=["websocket"],
                              headers={"Origin": "https://evil.example"}, wait_timeout=10)
    http = getattr(foreign.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()
    await asyncio.sleep(0)
    access = (stack.log / "access.log").read_text()
    assert "/socket.io/" in access and "?" not in access  # no query strings logged
