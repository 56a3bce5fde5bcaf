"""deploy/turnserver.conf starts coturn (moved onto loopback and free ports) and a
TURN client with a credential the node minted from the shared secret gets a relay,
over UDP, TCP and TLS; a wrong, forged or expired credential gets none; the shipped
file refuses old TLS and relaying into private, link-local and CGNAT ranges."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun

from tests.turn_server import Coturn, allocate, coturn, shipped_config


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[Coturn]:
    with coturn(tmp_path, allow_loopback_peers=False) as server:
        yield server


async def test_coturn_with_the_shipped_config_relays_for_a_minted_credential(
        turn_server: Coturn) -> None:
    low, high = turn_server.relay_ports
    user, password = turn_server.credentials("p_party")
    for transport, tls, port in (("udp", False, turn_server.port),
                                 ("tcp", False, turn_server.port),
                                 ("tcp", True, turn_server.tls_port)):
        host, relayed = await allocate(port, user, password, transport=transport, tls=tls)
        assert host == "127.0.0.1" and low <= relayed <= high


async def test_coturn_refuses_a_wrong_forged_or_expired_credential(
        turn_server: Coturn) -> None:
    user, password = turn_server.credentials("p_party")
    await allocate(turn_server.port, user, password)  # it is up
    with pytest.raises(stun.TransactionFailed):
        await allocate(turn_server.port, user, "d3JvbmcgcGFzc3dvcmQ=")
    forged_user = user.split(":")[0] + ":p_someone_else"
    with pytest.raises(stun.TransactionFailed):
        await allocate(turn_server.port, forged_user, password)
    expired_user, expired_password = turn_server.credentials("p_party", ttl=60,
                                                            now=time.time() - 120)
    with pytest.raises(stun.TransactionFailed):
        await allocate(turn_server.port, expired_user, expired_password)


def test_shipped_turn_config_refuses_old_tls_and_private_peer_ranges() -> None:
    text = shipped_config()
    lines = set(text.splitlines())
    assert {"no-tlsv1", "no-tlsv1_1", "use-auth-secret", "fingerprint"} <= lines
    assert not re.search(r"^(lt-cred-mech|user=|allow-loopback-peers|allowed-peer-ip)",
                         text, re.M), "no static users and no peer allowances in the shipped file"
    denied = []
    for low, high in re.findall(r"^denied-peer-ip=(\S+)-(\S+)$", text, re.M):
        denied.append((ipaddress.ip_address(low), ipaddress.ip_address(high)))

    def refused(address: str) -> bool:
        a = ipaddress.ip_address(address)
        return any(lo.version == a.version and lo <= a <= hi for lo, hi in denied)

    for address in ("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                    "100.127.255.254", "169.254.169.254", "0.0.0.1", "fd00::1", "fe80::1",
                    "::ffff:10.0.0.1"):
        assert refused(address), address
    for address in ("203.0.113.20", "8.8.8.8", "100.128.0.1", "172.32.0.1", "2001:db8::1"):
        assert not refused(address), address
