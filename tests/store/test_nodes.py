"""Hearing placement on Redis: pins, least loaded node, lost nodes, draining."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hearing_server.store import keys
from hearing_server.store.nodes import RedisNodes
from tests.redis_server import RedisServer


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_new_hearing_goes_to_the_least_loaded_node_and_stays_pinned(
        redis_url: str) -> None:
    a = RedisNodes(redis_url, "a", "http://a")
    b = RedisNodes(redis_url, "b", "http://b")
    try:
        await a.heartbeat(peers=10, streams=40, hosted=[])
        await b.heartbeat(peers=1, streams=2, hosted=[])
        placed = await a.place("h1")  # asked on the busy node: goes to the idle one
        assert (placed.here, placed.node_id, placed.url) == (False, "b", "http://b")
        again = await b.place("h1")
        assert again.here and again.node_id == "b"
        assert (await a.place("h1")).node_id == "b"  # pinned
    finally:
        await a.close()
        await b.close()


async def test_pin_of_a_lost_node_is_taken_over_and_marked_moved(redis_url: str) -> None:
    a = RedisNodes(redis_url, "a", "http://a")
    b = RedisNodes(redis_url, "b", "http://b")
    try:
        await a.heartbeat(0, 0, [])
        await b.heartbeat(5, 5, [])
        assert (await a.place("h1")).node_id == "a"
        await a.redis.delete(keys.node("a"))  # node a stops beating (its key expired)
        placed = await b.place("h1")
        assert placed.here and placed.moved_from == "a"
    finally:
        await a.close()
        await b.close()


async def test_draining_node_takes_no_new_hearing_and_two_nodes_never_both_win(
        redis_url: str) -> None:
    a = RedisNodes(redis_url, "a", "http://a")
    b = RedisNodes(redis_url, "b", "http://b")
    try:
        await a.heartbeat(0, 0, [])
        await b.heartbeat(0, 0, [])
        await a.set_draining(True)
        assert (await a.place("h2")).node_id == "b"
        results = await asyncio.gather(*(n.place(f"h{i}") for i in range(3, 13)
                                         for n in (a, b)))
        by_hearing: dict[str, set[str]] = {}
        for i, p in enumerate(results):
            by_hearing.setdefault(f"h{3 + i // 2}", set()).add(p.node_id)
        assert all(len(owners) == 1 for owners in by_hearing.values())
    finally:
        await a.close()
        await b.close()
