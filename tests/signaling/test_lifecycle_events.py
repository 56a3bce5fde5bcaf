"""Only the transport raises socket.io's lifecycle events; a client sending an event
*named* ``connect`` or ``disconnect`` gets a refusal like any unknown event, through
the same rate limit, and the server acts on nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from hearing_server.app import HEARINGS, SIO
from tests.conftest import Running, connect, schedule
from tests.relay.harness import wait_for


def event_types(running: Running, hearing_id: str) -> list[str]:
    return [e["type"] for e in running.app[HEARINGS].events(hearing_id)]


async def test_a_forged_disconnect_is_refused_and_the_participant_stays_present(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    await party.call("hello")
    ack = await party.call("disconnect", {})
    assert ack["ok"] is False and ack["error"]["code"] == "event.unknown"
    ack = await party.call("connect", {"HTTP_HOST": "x"}, )
    assert ack["error"]["code"] == "event.unknown"
    hello = await party.call("hello")
    assert hello["ok"] and hello["you"]["connected"] is True
    assert "disconnected" not in event_types(running, h.hearing_id)
    await party.close()
    await judge.close()


async def test_a_denied_participant_who_forged_a_disconnect_is_still_disconnected(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    await party.call("hello")
    await party.sio.emit("disconnect", {}, namespace="/hearing")
    await party.sio.emit("disconnect", None, namespace="/hearing")
    assert (await party.call("hello"))["ok"]
    ack = await judge.call("deny", {"participant_id": "party", "reason": "no"})
    assert ack["ok"], ack
    await wait_for(lambda: not party.sio.connected, 5)
    before = len([e for e, _ in party.events if e == "state"])
    await judge.call("lock", {"locked": True})
    await asyncio.sleep(0.2)  # a state update would arrive within this time on loopback
    assert len([e for e, _ in party.events if e == "state"]) == before
    await judge.close()


async def test_forged_lifecycle_events_are_rate_limited_and_never_logged(
        running: Running) -> None:
    h = await schedule(running)
    party = await connect(running, h.tokens["party"])
    await party.call("hello")
    logged = len(event_types(running, h.hearing_id))
    codes: list[str] = []
    for i in range(120):
        name = "connect" if i % 2 else "disconnect"
        ack: Any = await party.call(name, {"token": h.tokens["party"]})
        codes.append(ack["error"]["code"])
    assert set(codes) <= {"event.unknown", "rate.limited"}
    assert "rate.limited" in codes, "forged events count against the rate limit"
    assert len(event_types(running, h.hearing_id)) == logged
    await party.close()


async def test_odd_event_names_and_argument_shapes_never_reach_a_handler(
        running: Running) -> None:
    h = await schedule(running)
    party = await connect(running, h.tokens["party"])
    for name in ("connect_error", "*", "", "message", "x" * 300):
        ack = await party.call(name, {})
        assert ack["ok"] is False and ack["error"]["code"] == "event.unknown", name
    # the node keeps serving this client
    assert (await party.call("hello"))["ok"]
    assert len(running.app[SIO].manager.rooms) >= 1
    await party.close()
