"""Socket.io flows with real clients against a real server on loopback."""

from __future__ import annotations

import asyncio

from tests.conftest import Running, connect, schedule


async def test_party_waits_in_lobby_until_the_judge_admits_them(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    welcome = await judge.call("hello")
    assert welcome["ok"] and welcome["you"]["state"] == "admitted"
    assert welcome["you"]["role"] == "judge"
    assert welcome["state"]["phase"] == "open"

    party = await connect(running, h.tokens["party"])
    hello = await party.call("hello")
    assert hello["you"]["state"] == "lobby"
    # the judge sees the party in the lobby; the party sees only who is admitted
    seen = await judge.wait("state", predicate=lambda d: any(
        p["participant_id"] == "party" and p["state"] == "lobby" for p in d["presence"]))
    assert seen["state"]["phase"] == "open"
    assert all(p["state"] == "admitted" for p in hello["presence"])

    ack = await judge.call("admit", {"participant_id": "party"})
    assert ack == {"ok": True}
    await party.wait("admitted")
    await party.wait("state", predicate=lambda d: any(
        p["participant_id"] == "party" and p["state"] == "admitted" for p in d["presence"]))
    events = [e["type"] for e in running.app[__import__("hearing_server.api.routes",
              fromlist=["HEARINGS"]).HEARINGS].events(h.hearing_id)]
    assert "admitted" in events and "joined" in events
    await party.close()
    await judge.close()


async def test_denied_party_is_disconnected_and_cannot_return(running: Running) -> None:
    from tests.conftest import refused

    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    ack = await judge.call("deny", {"participant_id": "party", "reason": "not on the list"})
    assert ack["ok"]
    data = await party.wait("denied")
    assert data["reason"] == "not on the list"
    for _ in range(50):
        if not party.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not party.sio.connected
    err = await refused(running, h.tokens["party"])
    assert err["code"] == "participant.denied"
    await judge.close()


async def test_removed_participant_is_disconnected_and_refused_afterwards(
        running: Running) -> None:
    from tests.conftest import refused

    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    assert (await judge.call("admit", {"participant_id": "party"}))["ok"]
    ack = await judge.call("remove", {"participant_id": "party", "reason": "disruption"})
    assert ack["ok"]
    await party.wait("removed")
    err = await refused(running, h.tokens["party"])
    assert err["code"] == "participant.removed"
    await judge.close()


async def test_a_locked_hearing_holds_new_joiners_in_the_lobby_and_tells_the_court(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    await judge.call("hello")
    assert (await judge.call("lock", {"locked": True}))["ok"]
    party = await connect(running, h.tokens["party"])
    assert (await party.call("hello"))["you"]["state"] == "lobby"
    await judge.wait("state", predicate=lambda d: any(
        p["participant_id"] == "party" and p["state"] == "lobby" for p in d["presence"]))
    clerk = await connect(running, h.tokens["clerk"])  # staff still enter
    assert (await clerk.call("hello"))["you"]["state"] == "admitted"
    assert (await judge.call("admit", {"participant_id": "party"}))["ok"]
    await party.wait("admitted")
    for c in (party, clerk, judge):
        await c.close()


async def test_force_mute_reaches_the_party_and_shows_in_presence(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    await judge.call("admit", {"participant_id": "party"})
    ack = await judge.call("mute", {"participant_id": "party", "kind": "audio", "force": True})
    assert ack["ok"]
    muted = await party.wait("muted")
    assert muted == {"kind": "audio", "forced": True}
    await judge.wait("state", predicate=lambda d: any(
        p["participant_id"] == "party" and p["forced_audio_mute"] for p in d["presence"]))
    await party.close()
    await judge.close()


async def test_second_connection_replaces_the_first_which_is_told_why(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    first = await connect(running, h.tokens["party"])
    await judge.call("admit", {"participant_id": "party"})
    second = await connect(running, h.tokens["party"])
    data = await first.wait("replaced")
    assert data["code"] == "connection.replaced"
    hello = await second.call("hello")
    assert hello["you"]["state"] == "admitted"  # returns to the same place
    events = [e["type"] for e in running.app[__import__("hearing_server.api.routes",
              fromlist=["HEARINGS"]).HEARINGS].events(h.hearing_id)]
    assert "connection_replaced" in events
    for c in (second, judge):
        await c.close()


async def test_dropped_participant_returns_to_the_room_within_the_grace_period(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    await judge.call("admit", {"participant_id": "party"})
    await party.sio.disconnect()
    await judge.wait("state", predicate=lambda d: any(
        p["participant_id"] == "party" and not p["connected"] for p in d["presence"]))
    again = await connect(running, h.tokens["party"])
    assert (await again.call("hello"))["you"]["state"] == "admitted"
    await again.close()
    await judge.close()


async def test_adjourned_hearing_refuses_everyone(running: Running) -> None:
    from tests.conftest import refused

    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    assert (await judge.call("conduct", {"action": "start"}))["ok"]
    assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    await judge.wait("state", predicate=lambda d: d["state"]["phase"] == "adjourned")
    err = await refused(running, h.tokens["party"])
    assert err["code"] == "hearing.adjourned"
    await judge.close()
