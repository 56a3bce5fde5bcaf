"""The transport cannot be used to pin the node's memory or connections: binary
packets close the connection, a connection that never joins a hearing is closed, and
a reconnect storm with one link is refused."""

from __future__ import annotations

import asyncio

import aiohttp

from hearing_server.app import SIO
from tests.conftest import Running, connect, refused, schedule
from tests.relay.harness import wait_for


async def raw_engineio(running: Running) -> aiohttp.ClientWebSocketResponse:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(running.url + "/socket.io/?EIO=4&transport=websocket")
    ws._test_session = session  # type: ignore[attr-defined]
    opening = await ws.receive_str()
    assert opening.startswith("0{")
    return ws


async def closed(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> bool:
    try:
        while True:
            msg = await asyncio.wait_for(ws.receive(), timeout)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                return True
            if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "1":
                return True  # engine.io's close packet
            if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "2":
                await ws.send_str("3")  # answer engine.io pings
    except TimeoutError:
        return False
    finally:
        await ws._test_session.close()  # type: ignore[attr-defined]


async def test_a_binary_packet_closes_the_connection_and_others_are_served(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    ws = await raw_engineio(running)
    await ws.send_str('40/hearing,{"token":"' + h.tokens["party"] + '"}')
    await ws.receive_str()  # the namespace's connect answer
    # a BINARY_EVENT announcing a thousand attachments, then one attachment
    await ws.send_str('451000-/hearing,["hello",{"_placeholder":true,"num":0}]')
    await ws.send_bytes(b"\x04" + b"x" * 1000)
    assert await closed(ws, 5)
    assert not running.app[SIO]._binary_packet
    assert (await judge.call("hello"))["ok"]
    await judge.close()


async def test_a_connection_that_never_joins_a_hearing_is_closed(running: Running) -> None:
    sio = running.app[SIO]
    sio.join_timeout = 0.5
    ws = await raw_engineio(running)
    assert len(sio.pending) == 1
    assert await closed(ws, 5)
    await wait_for(lambda: not sio.pending, 5)


async def test_unjoined_connections_are_capped(running: Running) -> None:
    sio = running.app[SIO]
    sio.max_pending = 3
    sockets = [await raw_engineio(running) for _ in range(3)]
    session = aiohttp.ClientSession()
    try:
        refusedit = False
        try:
            ws = await session.ws_connect(
                running.url + "/socket.io/?EIO=4&transport=websocket")
            msg = await asyncio.wait_for(ws.receive(), 5)
            refusedit = msg.type is not aiohttp.WSMsgType.TEXT or not str(
                msg.data).startswith("0{")
        except aiohttp.WSServerHandshakeError:
            refusedit = True
        assert refusedit
    finally:
        await session.close()
        for ws in sockets:
            await ws._test_session.close()  # type: ignore[attr-defined]


async def test_a_reconnect_storm_with_one_link_is_refused(running: Running) -> None:
    h = await schedule(running)
    codes = []
    for _ in range(12):
        try:
            client = await connect(running, h.tokens["party"])
            codes.append("ok")
            await client.close()
        except Exception:
            codes.append((await refused(running, h.tokens["party"]))["code"])
            break
    assert codes[-1] == "rate.limited", codes
    # another participant of the same hearing is not affected
    judge = await connect(running, h.tokens["judge"])
    assert (await judge.call("hello"))["ok"]
    await judge.close()
