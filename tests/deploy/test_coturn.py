"""deploy/turnserver.conf starts coturn (moved onto loopback and free ports) and a
TURN client with the shipped credentials gets a relay, over UDP and over TLS; a
wrong password gets none."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun, turn

from tests.cli.helpers import free_port, stop
from tests.deploy.helpers import DEPLOY, self_signed

USERNAME, PASSWORD = "hearing", "change-me"


def free_udp_port() -> int:
    import socket
    from contextlib import closing

    with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, int, tuple[int, int]]]:
    cert, key = self_signed(tmp_path, "turn.localhost")
    udp, tls = free_udp_port(), free_port()
    low = 40000 + (udp % 200) * 100
    text = (DEPLOY / "turnserver.conf").read_text()
    shipped = dict(re.findall(r"^(user)=(\S+)$", text, re.M))
    assert shipped["user"] == f"{USERNAME}:{PASSWORD}"
    swaps = {"listening-port=3478": f"listening-port={udp}",
             "tls-listening-port=5349": f"tls-listening-port={tls}",
             "min-port=49160": f"min-port={low}", "max-port=49999": f"max-port={low + 99}",
             "cert=/etc/ssl/hearing-server/turn-fullchain.pem": f"cert={cert}",
             "pkey=/etc/ssl/hearing-server/turn-privkey.pem": f"pkey={key}"}
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new)
    text += f"\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\npidfile={tmp_path / 'turn.pid'}\n"
    conf = tmp_path / "turnserver.conf"
    conf.write_text(text)
    log = tmp_path / "turn.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(["turnserver", "-c", str(conf), "--db",
                                 str(tmp_path / "turndb")], stdout=fh, stderr=fh)
    try:
        yield udp, tls, (low, low + 99)
    finally:
        stop(proc)
        text = log.read_text()
        # every line of the shipped file is one coturn understands
        assert "Bad configuration" not in text and "CONFIG ERROR" not in text, text


async def allocate(port: int, password: str, tls: bool = False) -> tuple[str, int]:
    ctx = None
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        try:
            transport, _ = await turn.create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", port), USERNAME, password,
                ssl=ctx, transport="tcp" if tls else "udp")
            break
        except (ConnectionError, OSError, stun.TransactionTimeout):
            # coturn is still starting up
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
    relayed: tuple[str, int] = transport.get_extra_info("sockname")
    transport.close()
    return relayed


async def test_coturn_with_the_shipped_config_relays_for_the_shipped_credentials(
        coturn: tuple[int, int, tuple[int, int]]) -> None:
    udp, tls, (low, high) = coturn
    host, port = await allocate(udp, PASSWORD)
    assert host == "127.0.0.1" and low <= port <= high
    host, port = await allocate(tls, PASSWORD, tls=True)
    assert host == "127.0.0.1" and low <= port <= high
    with pytest.raises(stun.TransactionFailed):
        await allocate(udp, "wrong-password")
