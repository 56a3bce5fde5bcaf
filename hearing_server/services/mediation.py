"""Mediation: caucus rooms and the settlement. Who hears whom in a caucus is the media
policy's rule (``domain.policy``); the relay and the recorder follow the session."""

from __future__ import annotations

import hashlib
from typing import Any

from ..domain import commands as c
from ..domain.errors import Code, NotFound, PermissionDenied
from .unit_of_work import UnitOfWork


class MediationService:
    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    async def caucus_open(self, hearing_id: str, actor: str, cmd: c.CaucusOpen) -> dict[
            str, Any]:
        hearing = await self._work.hearing(hearing_id)
        now = self._work.clock()
        events = await self._work.change(
            hearing, lambda s: s.open_caucus(actor, cmd.name, list(cmd.participant_ids), now))
        await self._work.publish(hearing, events)
        return {"caucus": events[0].data["caucus"]}

    async def caucus_move(self, hearing_id: str, actor: str, cmd: c.CaucusMove) -> None:
        pid = cmd.participant_id or actor
        hearing = await self._work.hearing(hearing_id)
        now = self._work.clock()
        await self._work.apply(hearing, lambda s: s.move(actor, pid, cmd.room, now))

    async def caucus_end(self, hearing_id: str, actor: str, cmd: c.CaucusEnd) -> None:
        hearing = await self._work.hearing(hearing_id)
        now = self._work.clock()
        events = await self._work.change(hearing, lambda s: s.end_caucuses(actor, now))
        await self._work.publish(hearing, events)

    async def settlement_draft(self, hearing_id: str, actor: str,
                               cmd: c.SettlementDraft) -> dict[str, Any]:
        digest = hashlib.sha256(cmd.text.encode()).hexdigest()
        hearing = await self._work.hearing(hearing_id)
        now = self._work.clock()
        await self._work.apply(hearing,
                               lambda s: s.draft_settlement(actor, cmd.text, digest, now))
        return {"sha256": digest}

    async def settlement_confirm(self, hearing_id: str, actor: str,
                                 cmd: c.SettlementConfirm) -> None:
        if cmd.participant_id is not None and cmd.participant_id != actor:
            raise PermissionDenied("you can confirm only for yourself")
        hearing = await self._work.hearing(hearing_id)
        now = self._work.clock()
        await self._work.apply(
            hearing, lambda s: s.confirm_settlement(actor, cmd.sha256, cmd.typed_name, now))

    async def settlement_get(self, hearing_id: str, actor: str,
                             cmd: c.SettlementGet) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        session = await self._work.session(hearing)
        if not session.is_admitted(actor) or session.settlement is None:
            raise NotFound("there are no terms yet", code=Code.SETTLEMENT_NONE)
        return {"settlement": session.settlement.public()}
