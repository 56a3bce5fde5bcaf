"""The court sees each participant's media health: connecting, sending and receiving,
lost with a reason, and back again with the gap remembered until then."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.client import MediaClient
from bench.media import cached_clips
from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.relay.health import STALE, HealthWatch
from tests.relay.harness import Harness, wait_for


def last(h: Harness, pid: str) -> dict[str, Any] | None:
    return h.health[-1].get(pid) if h.health else None


async def test_a_connection_killed_on_the_participants_side_is_reported_lost_then_back(
) -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY)
        await wait_for(lambda: (last(h, "party") or {}).get("sending") == ["camera", "microphone"]
                       and (last(h, "party") or {}).get("receiving") is True, 20)
        assert last(h, "judge") is not None and last(h, "judge")["state"] == "connected"
        # the party's side of the media connection goes (its ICE and DTLS close)
        await party.pc.close()
        await wait_for(lambda: (last(h, "party") or {}).get("state") == "not_connected", 20)
        lost = last(h, "party")
        assert lost is not None and lost["reason"] == "media.connection_lost"
        assert lost["lost_at"] is not None
        # the page asks again (as join.js does after a loss): connecting, reason kept
        video, audio = cached_clips()
        h.clients["party"] = MediaClient("party", video, audio)
        await h.router.connect("party", Role.PARTY, h.session, retry=True)
        assert last(h, "party") is not None and last(h, "party")["state"] == "connecting"
        assert last(h, "party")["reason"] == "media.connection_lost"
        assert last(h, "party")["lost_at"] == lost["lost_at"]
        await wait_for(lambda: (last(h, "party") or {}).get("state") == "connected"
                       and "camera" in last(h, "party")["sending"], 20)
        back = last(h, "party")
        assert back["reason"] is None and back["lost_at"] is None
        assert back["since"] >= lost["lost_at"]
        assert h.errors == []
    finally:
        await h.close()


async def test_a_page_that_retries_before_the_node_noticed_still_leaves_a_gap() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        await h.join("party", Role.PARTY)
        await wait_for(lambda: (last(h, "party") or {}).get("state") == "connected", 20)
        video, audio = cached_clips()
        h.clients["party"] = MediaClient("party", video, audio)
        await h.router.connect("party", Role.PARTY, h.session, retry=True)
        again = last(h, "party")
        assert again is not None and again["state"] == "connecting"
        assert again["reason"] == "media.connection_lost" and again["lost_at"] is not None
        await wait_for(lambda: (last(h, "party") or {}).get("state") == "connected", 20)
        # a replacement that is not a retry (another window) is not a gap
        h.clients["party"] = MediaClient("party", video, audio)
        await h.router.connect("party", Role.PARTY, h.session)
        assert last(h, "party") is not None and last(h, "party")["reason"] is None
    finally:
        await h.close()


async def test_a_participant_who_leaves_is_forgotten_not_reported_lost() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        await h.join("party", Role.PARTY)
        await wait_for(lambda: (last(h, "party") or {}).get("state") == "connected", 20)
        await h.router.disconnect("party", "left")
        assert "party" not in h.health[-1]
        assert "judge" in h.health[-1]
    finally:
        await h.close()


def fake_peer(pid: str, connected: bool, sent: dict[str, int], received: int) -> Any:
    event = SimpleNamespace(is_set=lambda: connected)
    producers = {Source(s): SimpleNamespace(source=Source(s), counters=SimpleNamespace(bytes=n))
                 for s, n in sent.items()}
    slots = [SimpleNamespace(counters=SimpleNamespace(bytes=received))]
    return SimpleNamespace(participant_id=pid, closed=False, connected=event,
                           producers=producers, slots=slots)


def test_media_that_stops_moving_is_no_longer_sending_or_receiving() -> None:
    watch = HealthWatch()
    peer = fake_peer("party", True, {"microphone": 100, "camera": 1000}, 500)
    assert watch.assess([peer], {}, now=10.0, wall=1000.0)
    assert watch.health["party"].sending == ("camera", "microphone")
    assert watch.health["party"].receiving
    # the camera goes on, the microphone and what it receives stand still
    peer = fake_peer("party", True, {"microphone": 100, "camera": 2000}, 500)
    assert not watch.assess([peer], {}, now=10.0 + STALE / 2, wall=1001.0)
    peer = fake_peer("party", True, {"microphone": 100, "camera": 3000}, 500)
    assert watch.assess([peer], {"party": 2}, now=10.0 + STALE + 0.1, wall=1004.0)
    health = watch.health["party"]
    assert health.sending == ("camera",) and not health.receiving and health.held_back == 2
    assert health.since == 1000.0  # still connected: the state has not changed


def test_a_connection_that_never_connected_is_reported_with_its_reason() -> None:
    watch = HealthWatch()
    assert watch.assess([fake_peer("witness", False, {}, 0)], {}, now=1.0, wall=100.0)
    assert watch.health["witness"].state == "connecting"
    assert watch.closed("witness", "media.ice_timeout", wall=130.0)
    h = watch.health["witness"]
    assert (h.state, h.reason, h.lost_at, h.since) == ("not_connected", "media.ice_timeout",
                                                       130.0, 130.0)
    assert watch.closed("witness", "removed")
    assert watch.snapshot() == {}
