"""Bad tokens and bad events get a stable error code; the node keeps serving."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from hearing_server.app import HEARINGS, load_secret
from tests.conftest import Running, connect, refused, schedule, token_of


def forge(running: Running, claims: dict[str, object], alg: str = "HS256",
          key: bytes | None = None) -> str:
    secret = key if key is not None else load_secret(running.settings.data_dir)
    return jwt.encode(claims, secret, algorithm=alg)


def claims_of(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_missing_and_malformed_tokens_are_refused(running: Running) -> None:
    assert (await refused(running, None))["code"] == "token.missing"
    assert (await refused(running, "not-a-token"))["code"] == "token.malformed"
    assert (await refused(running, 12345))["code"] == "token.malformed"
    assert (await refused(running, "x" * 10000))["code"] == "token.malformed"


async def test_tampered_token_is_refused(running: Running) -> None:
    h = await schedule(running)
    head, _body, sig = h.tokens["party"].split(".")
    claims = claims_of(h.tokens["party"])
    claims["role"] = "judge"
    forged_body = jwt.encode(claims, "x" * 32, algorithm="HS256").split(".")[1]
    err = await refused(running, f"{head}.{forged_body}.{sig}")
    assert err["code"] == "token.bad_signature"


async def test_token_signed_with_another_key_is_refused(running: Running) -> None:
    h = await schedule(running)
    err = await refused(running, forge(running, claims_of(h.tokens["party"]), key=b"k" * 64))
    assert err["code"] == "token.bad_signature"


@pytest.mark.parametrize("alg", ["none", "HS512"])
async def test_token_with_another_algorithm_is_refused(running: Running, alg: str) -> None:
    h = await schedule(running)
    claims = claims_of(h.tokens["party"])
    if alg == "none":
        token = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    else:
        token = forge(running, claims, alg=alg)
    assert (await refused(running, token))["code"] == "token.algorithm"


async def test_expired_and_not_yet_valid_tokens_are_refused(running: Running) -> None:
    h = await schedule(running)
    claims = claims_of(h.tokens["party"])
    now = int(time.time())
    expired = forge(running, {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 60})
    assert (await refused(running, expired))["code"] == "token.expired"
    future = forge(running, {**claims, "iat": now, "nbf": now + 3600, "exp": now + 7200})
    assert (await refused(running, future))["code"] == "token.not_yet_valid"


async def test_reissued_link_revokes_the_older_one(running: Running) -> None:
    h = await schedule(running)
    new_link = await running.app[HEARINGS].issue_link(h.hearing_id, "party", "clerk")
    assert (await refused(running, h.tokens["party"]))["code"] == "token.revoked"
    party = await connect(running, token_of(new_link))
    assert (await party.call("hello"))["ok"]
    await party.close()


async def test_token_for_another_hearing_is_refused(running: Running) -> None:
    h1 = await schedule(running)
    h2 = await schedule(running)
    err = await refused(running, h1.tokens["party"], hearing_id=h2.hearing_id)
    assert err["code"] == "token.wrong_hearing"


async def test_token_with_forged_role_claim_of_a_known_link_is_refused(running: Running) -> None:
    h = await schedule(running)
    claims = claims_of(h.tokens["party"])
    err = await refused(running, forge(running, {**claims, "role": "judge"}))
    assert err["code"] == "token.invalid"


async def test_events_the_role_may_not_send_are_refused_and_change_nothing(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    counsel = await connect(running, h.tokens["counsel"])
    party = await connect(running, h.tokens["party"])
    await judge.call("admit", {"participant_id": "party"})
    ack = await party.call("admit", {"participant_id": "counsel"})
    assert ack["ok"] is False and ack["error"]["code"] == "permission.denied"
    ack = await party.call("mute", {"participant_id": "judge", "kind": "audio", "force": True})
    assert ack["error"]["code"] == "permission.denied"
    ack = await party.call("conduct", {"action": "adjourn"})
    assert ack["error"]["code"] == "permission.denied"
    ack = await counsel.call("lock", {"locked": True})  # still in the lobby
    assert ack["error"]["code"] == "permission.denied"
    hello = await judge.call("hello")
    assert hello["state"]["phase"] == "open" and hello["state"]["locked"] is False
    lobby = [p for p in hello["presence"] if p["state"] == "lobby"]
    assert [p["participant_id"] for p in lobby] == ["counsel"]
    assert party.sio.connected  # the sender stays connected
    for c in (party, counsel, judge):
        await c.close()


async def test_observer_cannot_unmute_others_or_publish(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    observer = await connect(running, h.tokens["observer"])
    await judge.call("admit", {"participant_id": "observer"})
    ack = await observer.call("unmute", {"participant_id": "judge", "kind": "audio"})
    assert ack["error"]["code"] == "permission.denied"
    await observer.call("media.ready")
    ack = await observer.call("media.publish", {"source": "camera"})
    assert ack["error"]["code"] == "permission.denied"
    for c in (observer, judge):
        await c.close()


async def test_malformed_unknown_and_oversized_events_get_clear_errors(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    assert (await judge.call("no.such.event", {}))["error"]["code"] == "event.unknown"
    assert (await judge.call("admit", "a string"))["error"]["code"] == "input.invalid"
    assert (await judge.call("admit", {}))["error"]["code"] == "input.invalid"
    assert (await judge.call("admit", {"participant_id": 7}))["error"]["code"] == "input.invalid"
    ack = await judge.call("admit", {"participant_id": "nobody"})
    assert ack["error"]["code"] == "participant.not_found"
    ack = await judge.call("mute", {"participant_id": "party", "kind": "smell"})
    assert ack["error"]["code"] == "input.invalid"
    big = {"participant_id": "x", "reason": "y" * (running.settings.max_message_bytes + 10)}
    assert (await judge.call("deny", big))["error"]["code"] == "event.too_large"
    ack = await judge.call("recording", {"action": "pause", "reason": ""})
    assert ack["error"]["code"] == "recording.bad_state"
    assert judge.sio.connected
    assert (await judge.call("hello"))["ok"]
    await judge.close()


async def test_a_flooding_client_is_rate_limited_and_others_are_served(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    clerk = await connect(running, h.tokens["clerk"])
    results = [await judge.call("self_mute", {"kind": "audio", "muted": True})
               for _ in range(80)]
    codes = {r["error"]["code"] for r in results if not r["ok"]}
    assert codes == {"rate.limited"}
    assert sum(1 for r in results if r["ok"]) >= 40
    assert (await clerk.call("hello"))["ok"]  # another participant is unaffected
    for c in (clerk, judge):
        await c.close()


async def test_browsers_from_foreign_origins_cannot_open_the_socket(running: Running) -> None:
    import socketio

    h = await schedule(running)
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(running.url, namespaces=["/hearing"], auth={"token": h.tokens["judge"]},
                          transports=["websocket"], headers={"Origin": "http://evil.example"},
                          wait_timeout=5)
    http = getattr(sio.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()
    same = socketio.AsyncClient(reconnection=False)
    await same.connect(running.url, namespaces=["/hearing"], auth={"token": h.tokens["judge"]},
                       transports=["websocket"], headers={"Origin": running.url},
                       wait_timeout=5)
    assert same.connected
    await same.disconnect()


async def test_reissuing_a_link_disconnects_whoever_is_connected_with_the_old_one(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    party = await connect(running, h.tokens["party"])
    await party.call("hello")
    await running.app[HEARINGS].issue_link(h.hearing_id, "party", "clerk")
    data = await party.wait("replaced")
    assert data["code"] == "token.revoked"
    for _ in range(100):
        if not party.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not party.sio.connected
    assert (await refused(running, h.tokens["party"]))["code"] == "token.revoked"
    await judge.close()
