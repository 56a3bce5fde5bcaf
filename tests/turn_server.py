"""A real coturn on loopback, started from the shipped ``deploy/turnserver.conf`` with
only ports, certificate, secret and (for tests that relay to a node on loopback) the
loopback peer allowance changed — those two lines are added here, never shipped."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aioice import stun, turn

from hearing_server.services.ice import TurnRest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SECRET = "test-turn-secret-0123456789abcdef"


def free_udp_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port free for both UDP and TCP (coturn listens on both)."""
    for _ in range(50):
        port = free_udp_port()
        try:
            with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free for both UDP and TCP")


@dataclass
class Coturn:
    port: int  # UDP and TCP
    tls_port: int
    relay_ports: tuple[int, int]
    secret: str
    log: Path
    process: subprocess.Popen[bytes]

    def urls(self, *transports: str) -> tuple[str, ...]:
        out = []
        for t in transports or ("udp", "tcp"):
            if t == "tls":
                out.append(f"turns:127.0.0.1:{self.tls_port}?transport=tcp")
            else:
                out.append(f"turn:127.0.0.1:{self.port}?transport={t}")
        return tuple(out)

    def credentials(self, participant_id: str = "p_test", ttl: int = 600,
                    now: float | None = None) -> tuple[str, str]:
        import time

        server = TurnRest(self.secret, self.urls(), ttl).server_for(
            participant_id, time.time() if now is None else now)
        return server["username"], server["credential"]

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def shipped_config() -> str:
    return (DEPLOY / "turnserver.conf").read_text()


@contextmanager
def coturn(tmp_path: Path, *, allow_loopback_peers: bool = True,
           secret: str = SECRET) -> Iterator[Coturn]:
    from tests.deploy.helpers import self_signed

    tmp_path.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(tmp_path, "turn.localhost")
    port, tls = free_port_pair(), free_tcp_port()
    low = 40000 + (port % 200) * 100
    text = shipped_config()
    shipped = dict(re.findall(r"^(static-auth-secret)=(\S+)$", text, re.M))
    assert "static-auth-secret" in shipped and re.search(r"^use-auth-secret$", text, re.M)
    swaps = {"listening-port=3478": f"listening-port={port}",
             "tls-listening-port=5349": f"tls-listening-port={tls}",
             "min-port=49160": f"min-port={low}", "max-port=49999": f"max-port={low + 99}",
             f"static-auth-secret={shipped['static-auth-secret']}":
                 f"static-auth-secret={secret}",
             "cert=/etc/ssl/hearing-server/turn-fullchain.pem": f"cert={cert}",
             "pkey=/etc/ssl/hearing-server/turn-privkey.pem": f"pkey={key}"}
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new)
    text += f"\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\npidfile={tmp_path / 'turn.pid'}\n"
    if allow_loopback_peers:
        # tests only: the node under test is on loopback
        text += "allow-loopback-peers\nallowed-peer-ip=127.0.0.1\n"
    conf = tmp_path / "turnserver.conf"
    conf.write_text(text)
    log = tmp_path / "turn.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(["turnserver", "-c", str(conf), "--db",
                                 str(tmp_path / "turndb")], stdout=fh, stderr=fh)
    server = Coturn(port, tls, (low, low + 99), secret, log, proc)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        out = server.text()
        # every line of the shipped file is one coturn understands
        assert "Bad configuration" not in out and "CONFIG ERROR" not in out, out


class _Closing(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.closed = asyncio.Event()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


async def allocate(port: int, username: str, password: str, transport: str = "udp",
                   tls: bool = False, timeout: float = 15) -> tuple[str, int]:
    """Allocate a relay (retrying while coturn starts); its relayed address."""
    ctx = None
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            endpoint, protocol = await turn.create_turn_endpoint(
                _Closing, ("127.0.0.1", port), username, password,
                ssl=ctx, transport="tcp" if tls else transport)
            break
        except (ConnectionError, OSError, stun.TransactionTimeout):
            # coturn is still starting up
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
    relayed: tuple[str, int] = endpoint.get_extra_info("sockname")
    endpoint.close()
    # the allocation is deleted, and its (TCP) socket closed, before we go on
    await asyncio.wait_for(protocol.closed.wait(), 5)
    await asyncio.sleep(0.05)
    return relayed


async def ready(server: Coturn) -> None:
    user, password = server.credentials()
    await allocate(server.port, user, password)
