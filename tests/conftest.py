"""Shared fixtures: a real server on loopback, real socket.io clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from hearing_server.app import HEARINGS, STAFF, build_app
from hearing_server.settings import Settings
from tests.when import soon


@dataclass
class Running:
    server: TestServer
    settings: Settings

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def app(self) -> Any:
        return self.server.app


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                        events_per_second=50, event_burst=50, ice_timeout=10)
    app = build_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Running(server, settings)
    finally:
        await server.close()


@dataclass
class Client:
    sio: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace="/hearing", timeout=10)

    def last(self, name: str) -> Any:
        for event, data in reversed(self.events):
            if event == name:
                return data
        return None

    async def wait(self, name: str, timeout: float = 5.0, predicate: Any = None) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event, data in self.events:
                if event == name and (predicate is None or predicate(data)):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name!r} event; got {[e for e, _ in self.events]}")

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def connect(running: Running, token: str, **auth: Any) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio)

    @sio.on("*", namespace="/hearing")  # type: ignore[misc]
    async def any_event(event: str, data: Any = None) -> None:
        client.events.append((event, data))

    await sio.connect(running.url, namespaces=["/hearing"], auth={"token": token, **auth},
                      transports=["websocket"], wait_timeout=5)
    return client


async def refused(running: Running, token: Any, **auth: Any) -> dict[str, Any]:
    """Connect expecting a refusal; return the error body the server gave."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []

    @sio.on("connect_error", namespace="/hearing")  # type: ignore[misc]
    async def on_error(data: Any = None) -> None:
        errors.append(data)

    try:
        await sio.connect(running.url, namespaces=["/hearing"], auth={"token": token, **auth},
                          transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError as exc:
        if errors and isinstance(errors[0], dict):
            body = errors[0]
            data = body.get("data")
            assert isinstance(data, dict), body
            return data
        raise AssertionError(f"refused without a body: {exc.args} {errors}") from exc
    finally:
        if sio.connected:
            await sio.disconnect()
    raise AssertionError("the connection was accepted")


def token_of(link: str) -> str:
    return link.split("#", 1)[1]


@dataclass
class Scheduled:
    hearing_id: str
    ids: dict[str, str]
    tokens: dict[str, str]


async def schedule(running: Running, kind: str = "hearing",
                   people: list[tuple[str, str]] | None = None,
                   clerks: tuple[str, ...] = ()) -> Scheduled:
    people = people or [("Judge Ada", "judge"), ("Clerk Bo", "clerk"), ("Sam Party", "party"),
                        ("Cy Counsel", "counsel"), ("Obi Observer", "observer")]
    hearing, links = await running.app[HEARINGS].create({
        "case_number": "C-2026-001", "title": "Test v. Case", "kind": kind,
        "scheduled_at": soon(),
        "participants": [{"name": n, "role": r, "id": r} for n, r in people],
    }, actor="test", clerks=clerks)
    return Scheduled(hearing.id, {p.role.value: p.id for p in hearing.participants},
                     {pid: token_of(url) for pid, url in links.items()})


async def staff_session(running: Running, role: str = "clerk") -> ClientSession:
    await running.app[STAFF].add(f"{role}1", f"A {role}", role, "correct horse battery")
    session = ClientSession(cookie_jar=CookieJar(unsafe=True))
    async with session.post(running.url + "/api/v1/session",
                            json={"username": f"{role}1",
                                  "password": "correct horse battery"}) as resp:
        assert resp.status == 200, await resp.text()
    return session


async def admitted_pair(running: Running, h: Scheduled) -> tuple[Any, Any]:
    """The judge and the party of ``h`` with media, the party admitted and both seeing
    each other (real socket.io clients and aiortc peers with pre-encoded media)."""
    from bench.media import cached_clips
    from bench.participant import Participant
    from tests.relay.harness import wait_for

    video, audio = cached_clips()
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    party = Participant(running.url, h.tokens["party"], "party", video, audio)
    await judge.connect()
    await party.connect()
    ack = await judge.call("admit", {"participant_id": "party"})
    assert ack["ok"], ack
    await wait_for(lambda: judge.media.frames_from("party", "camera") > 5
                   and party.media.frames_from("judge", "camera") > 5, 15)
    return judge, party
