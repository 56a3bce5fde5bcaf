"""Participants that can only reach the relay through TURN (relay-only ICE, a real
coturn on loopback with credentials the node minted for them on admission) still
send and receive media, over TURN/UDP and TURN/TCP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import build_app
from hearing_server.services.ice import turn_credential
from hearing_server.settings import Settings
from tests.conftest import Running, schedule
from tests.relay.harness import wait_for
from tests.turn_server import Coturn, coturn, ready


@pytest.fixture
async def turn_server(tmp_path: Path) -> AsyncIterator[Coturn]:
    with coturn(tmp_path / "turn") as server:
        await ready(server)
        yield server


def _serve(tmp_path: Path, server: Coturn, transport: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                    events_per_second=50, event_burst=50, ice_timeout=15,
                    turn_secret=server.secret, turn_urls=server.urls(transport),
                    turn_ttl=600)


def selected_candidate_type(participant: Participant) -> str:
    """The type of our side of the nominated ICE pair (aioice internals, test only)."""
    for t in participant.media.pc.getTransceivers():
        ice = t.sender.transport.transport
        pair = ice._connection._nominated.get(1)
        if pair is not None:
            return str(pair.local_candidate.type)
    return ""


def relayed(participant: Participant) -> Iterator[dict[str, Any]]:
    for s in participant.ice_servers:
        if any(u.startswith("turn") for u in s["urls"]):
            yield s


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_relay_only_party_sends_and_receives_media_through_turn(
        tmp_path: Path, turn_server: Coturn, transport: str) -> None:
    settings = _serve(tmp_path, turn_server, transport)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    running = Running(server, settings)
    video, audio = cached_clips()
    h = await schedule(running)
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    party = Participant(running.url, h.tokens["party"], "party", video, audio,
                        relay_only=True)
    try:
        await judge.connect()
        welcome = await party.connect()
        assert welcome["ice_servers"] == [], "no TURN credential before admission"
        ack = await judge.call("admit", {"participant_id": "party"})
        assert ack["ok"], ack
        await wait_for(lambda: party.media.frames_from("judge", "camera") > 10
                       and judge.media.frames_from("party", "camera") > 10
                       and party.media.frames_from("judge", "microphone") > 10
                       and judge.media.frames_from("party", "microphone") > 10, 25)
        assert selected_candidate_type(party) == "relay"
        # the credential is the party's own, short-lived, and coturn's HMAC of it
        (server_entry,) = relayed(party)
        assert server_entry["urls"] == [f"turn:127.0.0.1:{turn_server.port}"
                                        f"?transport={transport}"]
        expiry, who = server_entry["username"].split(":", 1)
        assert who == "party" and 0 < int(expiry) - time.time() <= 600
        assert server_entry["credential"] == turn_credential(turn_server.secret,
                                                             server_entry["username"])
        assert not party.errors and not judge.errors
    finally:
        await party.close()
        await judge.close()
        await server.close()
