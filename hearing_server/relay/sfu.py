"""The node's relay: one :class:`Router` per hearing hosted here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .aiortc_hook import check_aiortc, restrict_host_addresses
from .frames import DelayHistogram
from .peer import PeerConfig
from .router import Router

HearingSignal = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


class Relay:
    def __init__(self, config: PeerConfig, signal: HearingSignal,
                 host_addresses: list[str] | None = None) -> None:
        check_aiortc()
        if host_addresses:
            restrict_host_addresses(host_addresses)
        self.config = config
        self._signal = signal
        self.routers: dict[str, Router] = {}

    def router(self, hearing_id: str) -> Router:
        router = self.routers.get(hearing_id)
        if router is None or router.closed:

            async def signal(pid: str, event: str, payload: dict[str, Any]) -> None:
                await self._signal_to(hearing_id, pid, event, payload)

            router = Router(hearing_id, self.config, signal)
            self.routers[hearing_id] = router
        return router

    async def _signal_to(self, hearing_id: str, pid: str, event: str,
                         payload: dict[str, Any]) -> None:
        await self._signal(hearing_id, pid, event, payload)

    def existing(self, hearing_id: str) -> Router | None:
        return self.routers.get(hearing_id)

    async def close_hearing(self, hearing_id: str) -> None:
        router = self.routers.pop(hearing_id, None)
        if router is not None:
            await router.close()

    async def close(self) -> None:
        await asyncio.gather(*(r.close() for r in list(self.routers.values())),
                             return_exceptions=True)
        self.routers.clear()

    def peer_count(self) -> int:
        return sum(len(r.peers) for r in self.routers.values())

    def forwarded_streams(self) -> int:
        return sum(
            1 for r in self.routers.values() for p in r.peers.values() for s in p.slots
            if s.producer is not None
        )

    def delay(self) -> dict[str, DelayHistogram]:
        out = {"audio": DelayHistogram(), "video": DelayHistogram()}
        for r in self.routers.values():
            for kind, hist in r.delay().items():
                out[kind].merge(hist)
        return out
