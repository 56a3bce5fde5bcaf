"""A node that stops taking hearings (SIGTERM): let running ones finish, then hand
what is left to the other nodes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..domain.errors import HearingError
from ..domain.session import Event
from ..store.nodes import Nodes
from .ports import MediaPort
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)


class DrainService:
    def __init__(self, work: UnitOfWork, relay: MediaPort, nodes: Nodes | None = None) -> None:
        self._work = work
        self._relay = relay
        self._nodes = nodes

    async def drain(self, grace: float, stop: asyncio.Event) -> None:
        """Stop taking hearings; wait for running ones; then hand them over."""
        if self._nodes is not None:
            try:
                await self._nodes.set_draining(True)
            except HearingError as exc:
                logger.error("could not announce the drain: %s", exc.message)
        deadline = self._work.clock() + grace
        while self._relay.hosted() and self._work.clock() < deadline and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        for hearing_id in self._relay.hosted():
            participants = self._relay.participants(hearing_id)
            if self._nodes is not None:
                with contextlib.suppress(HearingError):
                    await self._nodes.release(hearing_id)
            self._work.events.append(hearing_id, Event("hearing_handed_over", None, None,
                                                       {"reason": "node draining"}))
            await self._relay.close_hearing(hearing_id)
            for pid in participants:
                await self._work.notifier.disconnect_participant(
                    hearing_id, pid, "node.moving",
                    {"code": "node.moving", "message": "the server is restarting; reconnecting"})
