"""Where a hearing's media lives: the node registry and hearing placement.

* :class:`LocalNodes` — one node, every hearing is here.
* :class:`RedisNodes` — nodes announce themselves (URL, load, draining) with a
  heartbeat key that expires; a hearing is pinned to one node by a key with a
  time-to-live that the owner renews. A joiner who reaches another node is sent
  to the owner's URL. A pin whose node stopped beating is free again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from . import keys
from .redis_store import connect, unavailable

HEARTBEAT_SECONDS = 2.0
NODE_TTL_SECONDS = 6
PIN_TTL_SECONDS = 10


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    url: str
    peers: int = 0
    streams: int = 0
    draining: bool = False
    at: float = 0.0

    @property
    def load(self) -> int:
        return self.peers + self.streams


@dataclass(frozen=True)
class Placement:
    """Where a hearing is: here, or at ``url`` (and ``moved_from`` if it was re-pinned)."""

    here: bool
    node_id: str
    url: str
    moved_from: str | None = None


class Nodes(Protocol):
    node_id: str

    async def place(self, hearing_id: str) -> Placement: ...
    async def heartbeat(self, peers: int, streams: int, hosted: list[str]) -> None: ...
    async def release(self, hearing_id: str) -> None: ...
    async def set_draining(self, draining: bool) -> None: ...
    async def live_nodes(self) -> list[NodeInfo]: ...
    async def close(self) -> None: ...


class LocalNodes:
    def __init__(self, node_id: str, url: str) -> None:
        self.node_id = node_id
        self.url = url
        self.draining = False

    async def place(self, hearing_id: str) -> Placement:
        return Placement(True, self.node_id, self.url)

    async def heartbeat(self, peers: int, streams: int, hosted: list[str]) -> None:
        return None

    async def release(self, hearing_id: str) -> None:
        return None

    async def set_draining(self, draining: bool) -> None:
        self.draining = draining

    async def live_nodes(self) -> list[NodeInfo]:
        return [NodeInfo(self.node_id, self.url, draining=self.draining, at=time.time())]

    async def close(self) -> None:
        return None


class RedisNodes:
    def __init__(self, redis_url: str, node_id: str, url: str) -> None:
        self.node_id = node_id
        self.url = url
        self.redis: aioredis.Redis = connect(redis_url)
        self._peers = 0
        self._streams = 0
        self._draining = False

    def _me(self) -> NodeInfo:
        return NodeInfo(self.node_id, self.url, self._peers, self._streams, self._draining,
                        time.time())

    async def heartbeat(self, peers: int, streams: int, hosted: list[str]) -> None:
        self._peers, self._streams = peers, streams
        me = self._me()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(keys.node(self.node_id), json.dumps(me.__dict__), ex=NODE_TTL_SECONDS)
                pipe.sadd(keys.NODES, self.node_id)
                for hid in hosted:
                    pipe.set(keys.pin(hid), self.node_id, ex=PIN_TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    async def live_nodes(self) -> list[NodeInfo]:
        try:
            ids = await self.redis.smembers(keys.NODES)
            out = []
            for nid in sorted(str(i) for i in ids):
                raw = await self.redis.get(keys.node(nid))
                if raw:
                    out.append(NodeInfo(**json.loads(raw)))
                else:
                    await self.redis.srem(keys.NODES, nid)
            return out
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    async def _node(self, node_id: str) -> NodeInfo | None:
        raw = await self.redis.get(keys.node(node_id))
        return NodeInfo(**json.loads(raw)) if raw else None

    async def place(self, hearing_id: str) -> Placement:
        """Find the hearing's node, pinning it (to the least loaded live node) if free."""
        key = keys.pin(hearing_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        raw_owner = await pipe.get(key)
                        owner = str(raw_owner) if raw_owner is not None else None
                        moved_from = None
                        if owner is not None:
                            info = await self._node(owner)
                            if info is not None:
                                await pipe.unwatch()  # type: ignore[no-untyped-call]
                                return Placement(owner == self.node_id, owner, info.url)
                            moved_from = owner  # its node stopped beating: the pin is free
                        target = await self._choose()
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.set(key, target.node_id, ex=PIN_TTL_SECONDS)
                        await pipe.execute()
                        return Placement(target.node_id == self.node_id, target.node_id,
                                         target.url, moved_from)
                    except WatchError:
                        continue
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    async def _choose(self) -> NodeInfo:
        if self._draining:
            candidates = [n for n in await self.live_nodes()
                          if not n.draining and n.node_id != self.node_id]
        else:
            candidates = [n for n in await self.live_nodes() if not n.draining]
        me = self._me()
        if not candidates:
            return me
        best = min(candidates, key=lambda n: (n.load, n.node_id != self.node_id))
        # prefer this node when it is as lightly loaded as the best one
        if not self._draining and me.load <= best.load:
            return me
        return best

    async def release(self, hearing_id: str) -> None:
        try:
            key = keys.pin(hearing_id)
            if await self.redis.get(key) == self.node_id:
                await self.redis.delete(key)
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    async def set_draining(self, draining: bool) -> None:
        self._draining = draining
        await self.heartbeat(self._peers, self._streams, [])

    async def close(self) -> None:
        try:
            await self.redis.delete(keys.node(self.node_id))
            await self.redis.srem(keys.NODES, self.node_id)
        except (RedisError, OSError):
            pass
        await self.redis.aclose()
