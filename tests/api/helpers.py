"""Staff accounts signed in through the real API, and hearings scheduled by them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from hearing_server.app import STAFF, build_app
from hearing_server.settings import Settings
from tests.conftest import Running
from tests.when import soon

PASSWORD = "correct horse battery"


def hearing_body(kind: str = "hearing", **extra: Any) -> dict[str, Any]:
    host = "judge" if kind == "hearing" else "mediator"
    return {"case_number": "C-2026-7", "title": "A v. B", "kind": kind,
            "scheduled_at": soon(),
            "participants": [{"id": host, "name": f"The {host}", "role": host},
                             {"id": "party", "name": "Sam", "role": "party"}], **extra}


async def signed_in(running: Running, username: str, role: str,
                    password: str = PASSWORD) -> ClientSession:
    if await running.app[STAFF].find(username) is None:
        await running.app[STAFF].add(username, username, role, password)
    session = ClientSession(cookie_jar=CookieJar(unsafe=True))
    async with session.post(running.url + "/api/v1/session",
                            json={"username": username, "password": password}) as r:
        assert r.status == 200, await r.text()
    return session


async def create(s: ClientSession, running: Running, **body: Any) -> dict[str, Any]:
    async with s.post(running.url + "/api/v1/hearings", json=hearing_body(**body)) as r:
        assert r.status == 201, await r.text()
        created: dict[str, Any] = await r.json()
    return created


async def error_of(resp: Any) -> tuple[int, str]:
    return resp.status, (await resp.json())["error"]["code"]


@asynccontextmanager
async def server(tmp_path: Path, **settings: Any) -> AsyncIterator[Running]:
    """A real node like the ``running`` fixture, with some settings changed."""
    base = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0)
    app = build_app(base.replace(**settings))
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield Running(test_server, base.replace(**settings))
    finally:
        await test_server.close()
