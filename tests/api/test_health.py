"""``/healthz`` says the process is alive; ``/readyz`` says whether it can take new
hearings (store reachable, not draining, enough free disk) and names each check."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from hearing_server.api.health import READINESS
from hearing_server.app import build_app
from hearing_server.settings import Settings
from tests.conftest import Running


def closed_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with ClientSession() as s, s.get(url) as r:
        return r.status, await r.json()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_a_healthy_node_is_alive_and_ready_and_names_each_check(running: Running) -> None:
    status, alive = await get(running.url + "/healthz")
    assert status == 200 and alive["status"] == "ok" and alive["draining"] is False
    status, ready = await get(running.url + "/readyz")
    assert status == 200 and ready["status"] == "ready"
    assert set(ready["checks"]) == {"store", "draining", "disk"}
    assert all(check["ok"] for check in ready["checks"].values())
    assert ready["checks"]["disk"]["free_bytes"] >= ready["checks"]["disk"]["min_free_bytes"]


async def test_a_draining_node_stays_alive_but_is_not_ready(running: Running) -> None:
    running.app[READINESS].start_draining()
    status, alive = await get(running.url + "/healthz")
    assert status == 200 and alive["draining"] is True
    status, ready = await get(running.url + "/readyz")
    assert status == 503 and ready["status"] == "not_ready"
    assert ready["checks"]["draining"]["ok"] is False
    assert ready["checks"]["store"]["ok"] is True


async def test_a_node_whose_redis_is_down_is_alive_but_not_ready(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                        redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    async with serving(settings) as url:
        status, alive = await get(url + "/healthz")
        assert status == 200 and alive["status"] == "ok"
        status, ready = await get(url + "/readyz")
    assert status == 503
    store = ready["checks"]["store"]
    assert store["ok"] is False and store["code"] == "store.unavailable"
    assert ready["checks"]["draining"]["ok"] is True


async def test_a_node_short_of_disk_space_is_not_ready(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                        min_free_disk_mb=2**40)  # more than any disk here
    async with serving(settings) as url:
        status, ready = await get(url + "/readyz")
    assert status == 503
    disk = ready["checks"]["disk"]
    assert disk["ok"] is False and disk["free_bytes"] < disk["min_free_bytes"]
    assert ready["checks"]["store"]["ok"] is True
