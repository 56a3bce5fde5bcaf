"""The minutes of a hearing: the clerk (or the judge / mediator) writes timestamped
lines while the hearing is open; they live in the event log (``minute`` events), are
pushed to every connected member who keeps minutes, and are sealed into the record
(``minutes.json``, see ``services/timeline.py``)."""

from __future__ import annotations

from typing import Any

from ..domain import commands as c
from ..domain.roles import Capability, can
from ..domain.session import Event
from .timeline import minutes
from .unit_of_work import UnitOfWork


class MinutesService:
    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    async def add(self, hearing_id: str, actor: str, cmd: c.MinuteAdd) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        event: Event = await self._work.change(hearing, lambda s: s.add_minute(actor, cmd.text))
        line = self._work.events.append(hearing_id, event)
        minute = {"ts": line["ts"], "at": line["at"], "by": actor, "text": line["text"]}
        session = await self._work.session(hearing)
        for member in session.members.values():
            if member.participant_id != actor and can(member.role, Capability.MINUTES):
                await self._work.notifier.to_participant(
                    hearing_id, member.participant_id, "minute", minute)
        return {"minute": minute}

    async def list(self, hearing_id: str, actor: str, cmd: c.MinutesList) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        await self._work.change(hearing, lambda s: s.may_keep_record(actor))
        return minutes(self._work.events.read(hearing_id))
