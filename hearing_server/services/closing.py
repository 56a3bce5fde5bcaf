"""Closing a hearing nobody adjourned (issue 14): the clerk ends it for everyone and
its record is sealed, as at an adjournment."""

from __future__ import annotations

from typing import Any

from ..domain.errors import Code, Conflict
from ..domain.hearing import HearingStatus
from ..domain.session import Event
from .ports import MediaPort, RecorderPort
from .unit_of_work import UnitOfWork


class ClosingService:
    def __init__(self, work: UnitOfWork, relay: MediaPort,
                 recorder: RecorderPort | None = None) -> None:
        self._work = work
        self._relay = relay
        self._recorder = recorder

    async def close(self, hearing_id: str, actor: str) -> dict[str, Any]:
        """Close the hearing (refused while it sits before its scheduled end); returns
        the public state of its session, now adjourned."""
        hearing = await self._work.hearing(hearing_id)
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("the hearing was cancelled", code=Code.HEARING_CANCELLED)
        past_end = self._work.clock() >= hearing.ends_at.timestamp()
        event = await self._work.change(hearing, lambda s: s.close(actor, past_end))
        session = await self._work.publish(hearing, [event])
        await self._relay.close_hearing(hearing_id)
        if self._recorder is not None:
            sealed = await self._recorder.seal(hearing, session.settlement)
            if sealed is not None:
                self._work.record(hearing_id, Event("record_sealed", actor, None, sealed))
        return session.public_state()
