"""Sign-in: throttled per account and per address (``rate.limited``, Retry-After), the
same work for unknown usernames, and argon2 kept off the event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from hearing_server.app import STAFF
from hearing_server.auth import passwords
from hearing_server.services import staff as staff_module
from tests.api.helpers import PASSWORD, error_of, server
from tests.conftest import Running


async def attempt(running: Running, username: str, password: str,
                  client: str | None = None) -> Any:
    headers = {"X-Forwarded-For": client} if client else {}
    async with ClientSession() as anon:
        async with anon.post(running.url + "/api/v1/session", headers=headers,
                             json={"username": username, "password": password}) as r:
            return r.status, (await r.json()), r.headers.get("Retry-After")


async def test_failed_sign_ins_of_an_account_are_throttled_with_retry_after(
        running: Running) -> None:
    await running.app[STAFF].add("bo", "Bo", "clerk", PASSWORD)
    for _ in range(5):
        status, body, _ = await attempt(running, "bo", "wrong password")
        assert (status, body["error"]["code"]) == (401, "auth.invalid_credentials")
    status, body, retry = await attempt(running, "bo", PASSWORD)  # even the right password
    assert (status, body["error"]["code"]) == (429, "rate.limited")
    assert retry is not None and 0 < int(retry) <= 300
    assert body["error"]["retry_after"] == retry
    status, body, _ = await attempt(running, "nobody", "wrong password")
    assert status == 401  # another account is not throttled by bo's failures


async def test_failed_sign_ins_from_one_address_are_throttled_across_usernames(
        tmp_path: Path) -> None:
    async with server(tmp_path, trusted_proxies=("127.0.0.1",),
                      sign_in_attempts_per_address=3) as running:
        for i in range(3):
            status, _, _ = await attempt(running, f"user{i}", "wrong password", "203.0.113.5")
            assert status == 401
        status, body, retry = await attempt(running, "user9", "wrong password", "203.0.113.5")
        assert (status, body["error"]["code"]) == (429, "rate.limited") and retry
        status, _, _ = await attempt(running, "user9", "wrong password", "203.0.113.6")
        assert status == 401


async def test_an_unknown_username_costs_the_same_password_verification(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    await running.app[STAFF].add("bo", "Bo", "clerk", PASSWORD)
    await running.app[STAFF].add("cy", "Cy", "clerk", PASSWORD)
    await running.app[STAFF].set_disabled("cy", True)
    checked: list[str] = []

    def counting(stored: str, password: str) -> bool:
        checked.append(stored[:9])
        return passwords.check_password(stored, password)

    monkeypatch.setattr(staff_module, "check_password", counting)
    for user in ("bo", "nobody", "cy"):
        checked.clear()
        status, body, _ = await attempt(running, user, "wrong password")
        assert (status, body["error"]["code"]) == (401, "auth.invalid_credentials")
        assert checked == ["$argon2id"], user  # one real argon2 verification each


async def test_a_burst_of_sign_ins_leaves_the_event_loop_responsive(
        running: Running) -> None:
    await running.app[STAFF].add("bo", "Bo", "clerk", PASSWORD)
    stored = (await running.app[STAFF].account("bo")).password_hash
    started = time.perf_counter()
    await asyncio.to_thread(passwords.check_password, stored, "wrong password")
    cost = time.perf_counter() - started  # one argon2 verification on this machine, now

    lags: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            lags.append(loop.time() - before - 0.005)

    prober = asyncio.ensure_future(probe())
    results = await asyncio.gather(*(attempt(running, f"user{i}", "wrong password")
                                     for i in range(6)),
                                   attempt(running, "bo", PASSWORD))
    stop.set()
    await prober
    assert sorted(r[0] for r in results) == [200] + [401] * 6
    # on the loop, six verifications would have held it for about 6 x cost; off the loop
    # the longest stall stays far below a single verification
    assert lags and max(lags) < cost / 2, (max(lags), cost)


async def test_a_flood_of_sign_ins_is_refused_rather_than_queued_without_bound(
        running: Running) -> None:
    work = staff_module.PasswordWork(workers=1, queue=1)
    release = asyncio.Event()
    entered = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(_: str) -> str:
        loop.call_soon_threadsafe(entered.set)
        while not release.is_set():
            time.sleep(0.01)
        return "done"

    first = asyncio.ensure_future(work.run(slow, "a"))
    await entered.wait()
    second = asyncio.ensure_future(work.run(slow, "b"))
    await asyncio.sleep(0)
    with pytest.raises(staff_module.RateLimited) as info:
        await work.run(slow, "c")
    assert info.value.code == "rate.limited"
    release.set()
    assert await asyncio.gather(first, second) == ["done", "done"]
    status, _ = await error_of_sign_in(running)
    assert status == 401


async def error_of_sign_in(running: Running) -> tuple[int, str]:
    async with ClientSession() as anon:
        async with anon.post(running.url + "/api/v1/session",
                             json={"username": "zz", "password": "wrong password"}) as r:
            return await error_of(r)
