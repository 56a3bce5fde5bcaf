"""The relay's media ports come from the UDP range the operator opened
(``ice_port_min``/``ice_port_max``): every host candidate it offers and every socket
it binds is in the range, media flows through them, and a taken port is skipped."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCPeerConnection

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import RELAY, build_app
from hearing_server.domain.roles import Role
from hearing_server.relay.aiortc_hook import bind_host_ports
from hearing_server.relay.peer import PeerConfig
from hearing_server.settings import Settings, load_settings
from tests.conftest import Running, schedule
from tests.relay.harness import Harness, wait_for


def free_range(size: int) -> tuple[int, int]:
    """``size`` consecutive UDP ports free on loopback right now (bounded search)."""
    for low in range(41000, 60000, size):
        socks: list[socket.socket] = []
        try:
            for port in range(low, low + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return low, low + size - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free UDP port range on loopback")


def offered_ports(sdp: str) -> list[int]:
    return [int(line.split()[5]) for line in sdp.splitlines()
            if line.startswith("a=candidate:") and " typ host" in line]


def bound_ports(peers: list[object]) -> list[int]:
    """The local ports of every ICE connection of ``peers`` (one per peer: bundled)."""
    connections = {id(c): c for peer in peers for t in peer.pc.getTransceivers()  # type: ignore[attr-defined]
                   for c in (t.sender.transport.transport._connection,)}
    return [p.local_candidate.port for c in connections.values() for p in c._protocols]


async def test_every_offered_candidate_and_bound_socket_is_in_the_configured_range(
        tmp_path: Path) -> None:
    low, high = free_range(8)
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                        events_per_second=50, event_burst=50, ice_timeout=15,
                        ice_port_min=low, ice_port_max=high)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    running = Running(server, settings)
    video, audio = cached_clips()
    h = await schedule(running)
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    party = Participant(running.url, h.tokens["party"], "party", video, audio)
    try:
        await judge.connect()
        await party.connect()
        assert (await judge.call("admit", {"participant_id": "party"}))["ok"]
        await wait_for(lambda: party.media.frames_from("judge", "camera") > 10
                       and judge.media.frames_from("party", "camera") > 10
                       and party.media.frames_from("judge", "microphone") > 10
                       and judge.media.frames_from("party", "microphone") > 10, 25)
        offers = [d["sdp"] for p in (judge, party) for e, d in p.events if e == "media.offer"]
        ports = [port for sdp in offers for port in offered_ports(sdp)]
        assert offers and ports
        assert all(low <= port <= high for port in ports), (ports, low, high)
        peers = [peer for router in running.app[RELAY].routers.values()
                 for peer in router.peers.values()]
        bound = bound_ports(peers)
        assert len(bound) == 2 and len(set(bound)) == 2  # one per connection (bundled)
        assert all(low <= port <= high for port in bound)
    finally:
        for p in (party, judge):
            await p.close()
        await server.close()


async def test_a_taken_port_in_the_range_is_skipped() -> None:
    low, high = free_range(3)
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", low + 1))
    h = Harness(PeerConfig(ice_timeout=10, port_range=(low, high)))
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames_from("judge", "camera") > 5, 15)
        ports = sorted(bound_ports(list(h.router.peers.values())))
        assert ports == [low, high]
    finally:
        await h.close()
        taken.close()


async def test_no_free_port_in_the_range_means_no_host_candidate() -> None:
    low, high = free_range(1)
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", low))
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendonly")
    bind_host_ports(pc, low, high)
    other = RTCPeerConnection()
    other.addTransceiver("audio", direction="sendonly")
    try:
        await pc.setLocalDescription(await pc.createOffer())
        assert offered_ports(pc.localDescription.sdp) == []
        # another aiortc user in the process keeps aioice's ephemeral ports
        await other.setLocalDescription(await other.createOffer())
        assert offered_ports(other.localDescription.sdp)
    finally:
        await pc.close()
        await other.close()
        taken.close()


def test_the_range_setting_must_be_unprivileged_and_ordered() -> None:
    assert load_settings(env={"HEARING_ICE_PORT_MIN": "40000",
                              "HEARING_ICE_PORT_MAX": "40099"}).ice_port_max == 40099
    for low, high in (("80", "100"), ("40100", "40000"), ("0", "40000"), ("40000", "70000")):
        with pytest.raises(ValueError, match="ice_port_min"):
            load_settings(env={"HEARING_ICE_PORT_MIN": low, "HEARING_ICE_PORT_MAX": high})
