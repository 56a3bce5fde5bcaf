"""After a restart: every live hearing comes back exactly as the court left it (the
store holds each decision), with the interruption stated in its log and its record."""

from __future__ import annotations

import logging
from functools import partial

from ..domain.errors import HearingError
from ..domain.session import Session
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

CAUSE_RESTART = "node restart"
CAUSE_TAKEOVER = "node lost"


class RestoreService:
    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    async def after_restart(self, down_since: float | None) -> list[str]:
        """Mark each live hearing interrupted from ``down_since`` (the node's last sign of
        life; None: unknown, the hearing's last logged event) until now."""
        restored: list[str] = []
        try:
            sessions = await self._work.store.live_sessions()
        except HearingError as exc:
            logger.error("could not read the live hearings to restore them: %s", exc.message)
            return restored
        now = self._work.clock()
        for session in sessions:
            if not any(m.connected for m in session.members.values()):
                continue  # nobody was in it: nothing was interrupted
            hearing = await self._work.store.get_hearing(session.hearing_id)
            if hearing is None:
                continue
            since = down_since if down_since is not None else self._last_event(hearing.id, now)
            events = await self._work.change(hearing, partial(
                Session.interrupted, since=since, now=now, cause=CAUSE_RESTART))
            for event in events:
                self._work.record(hearing.id, event)
            restored.append(hearing.id)
            logger.warning("hearing %s restored after a restart (%.1f s down)", hearing.id,
                           now - since)
        return restored

    def _last_event(self, hearing_id: str, now: float) -> float:
        events = self._work.events.read(hearing_id)
        return float(events[-1]["ts"]) if events else now
