"""Scheduling hearings and serving join links (the electronic service record)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..auth.tokens import TokenService
from ..domain.errors import Code, Conflict, InvalidInput, NotFound
from ..domain.hearing import (
    Hearing,
    HearingKind,
    HearingStatus,
    new_hearing,
    parse_clerks,
    parse_datetime,
    parse_participants,
    parse_staff_name,
)
from ..domain.ids import HearingId, ParticipantId, new_hearing_id, new_link_id
from ..domain.roles import StaffRole
from ..domain.session import Event
from ..store.base import LinkRecord, Store
from ..store.eventlog import EventLog
from .ports import Notifier


class HearingService:
    def __init__(self, store: Store, tokens: TokenService, events: EventLog,
                 base_url: str, link_grace: float = 12 * 3600,
                 notifier: Notifier | None = None) -> None:
        self._store = store
        self._notifier = notifier
        self._link_grace = link_grace
        self._tokens = tokens
        self._events = events
        self._base_url = base_url

    def prepare(self, data: dict[str, Any], actor: str, clerks: tuple[str, ...] = (),
                presiding: str = "") -> Hearing:
        """Validate a create request into a hearing (not saved yet: authorise it first)."""
        return new_hearing(new_hearing_id(), data, created_by=actor, clerks=clerks,
                           presiding=presiding)

    async def check_assignment(self, hearing: Hearing) -> None:
        """The presiding account exists and may preside this kind; clerks are clerks."""
        if hearing.presiding:
            account = await self._store.get_staff(hearing.presiding)
            wanted = StaffRole.JUDGE if hearing.kind is HearingKind.HEARING else StaffRole.MEDIATOR
            if account is None or account.role is not wanted:
                raise InvalidInput(f"{hearing.presiding!r} is not a {wanted.value}'s account",
                                   code=Code.HEARING_BAD_ASSIGNMENT)
        keys = None
        for clerk in hearing.clerks:
            if clerk.startswith("api:"):
                keys = keys if keys is not None else await self._store.list_api_keys()
                if not any(k.name == clerk[4:] and k.role is StaffRole.CLERK for k in keys):
                    raise InvalidInput(f"no clerk API key {clerk[4:]!r}",
                                       code=Code.HEARING_BAD_ASSIGNMENT)
                continue
            account = await self._store.get_staff(clerk)
            if account is None or account.role not in (StaffRole.CLERK, StaffRole.RECEPTION):
                raise InvalidInput(f"{clerk!r} is not a clerk's account",
                                   code=Code.HEARING_BAD_ASSIGNMENT)

    async def create(self, data: dict[str, Any], actor: str, clerks: tuple[str, ...] = (),
                     presiding: str = "") -> tuple[Hearing, dict[str, str]]:
        """Schedule a hearing and issue one join link per participant."""
        hearing = self.prepare(data, actor, clerks, presiding)
        await self.check_assignment(hearing)
        return await self.schedule(hearing, actor)

    def check_not_over(self, hearing: Hearing) -> None:
        """Refuse a time so far past that the links would be born expired (a mistyped
        year, say): the clerk hears it now rather than the parties on the day."""
        if hearing.links_valid_until(self._link_grace) <= time.time():
            raise InvalidInput(
                f"{hearing.scheduled_at.isoformat()} is over: the hearing's links would "
                "already have expired", code=Code.HEARING_ALREADY_OVER)

    async def schedule(self, hearing: Hearing, actor: str) -> tuple[Hearing, dict[str, str]]:
        self.check_not_over(hearing)
        await self._store.save_hearing(hearing)
        self._events.append(hearing.id, Event("scheduled", actor, None, {
            "case_number": hearing.case_number,
            "scheduled_at": hearing.scheduled_at.isoformat(),
            # who was summoned (with the page language the clerk chose), for the record
            "participants": [p.to_dict() for p in hearing.participants],
        }))
        links: dict[str, str] = {}
        for p in hearing.participants:
            links[p.id] = await self.issue_link(hearing.id, p.id, actor)
        return hearing, links

    async def get(self, hearing_id: str) -> Hearing:
        hearing = await self._store.get_hearing(hearing_id)
        if hearing is None:
            raise NotFound(f"no hearing {hearing_id!r}", code=Code.HEARING_NOT_FOUND)
        return hearing

    async def find_one(self, hearing_id: str) -> Hearing | None:
        return await self._store.get_hearing(hearing_id)

    async def assign(self, hearing: Hearing, data: dict[str, Any], actor: str) -> Hearing:
        """Change the presiding judge/mediator and/or the assigned clerks."""
        if not set(data) & {"presiding", "clerks"} or set(data) - {"presiding", "clerks"}:
            raise InvalidInput("give 'presiding' (a username or \"\") and/or 'clerks'")
        presiding = hearing.presiding
        if "presiding" in data:
            presiding = (parse_staff_name(data["presiding"], "presiding")
                         if data["presiding"] else "")
        clerks = parse_clerks(data["clerks"]) if "clerks" in data else hearing.clerks
        updated = hearing.assigned(presiding, clerks)
        await self.check_assignment(updated)
        await self._store.save_hearing(updated)
        self._events.append(hearing.id, Event("assigned", actor, None, {
            "presiding": updated.presiding, "clerks": list(updated.clerks)}))
        return updated

    async def find(self, case_number: str | None = None) -> list[Hearing]:
        hearings = await self._store.list_hearings()
        if case_number:
            hearings = [h for h in hearings if h.case_number == case_number]
        return hearings

    async def reschedule(self, hearing_id: str, when: Any, actor: str) -> Hearing:
        hearing = await self.get(hearing_id)
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("the hearing was cancelled", code=Code.HEARING_CANCELLED)
        updated = hearing.rescheduled(parse_datetime(when), time.time())
        self.check_not_over(updated)
        await self._store.save_hearing(updated)
        self._events.append(hearing.id, Event("rescheduled", actor, None, {
            "from": hearing.scheduled_at.isoformat(), "to": updated.scheduled_at.isoformat()}))
        return updated

    async def cancel(self, hearing_id: str, actor: str) -> Hearing:
        hearing = await self.get(hearing_id)
        session = await self._store.get_session(hearing_id)
        if session is not None and session.phase.value in ("in_session", "recess"):
            raise Conflict("the hearing is in session; adjourn it instead",
                           code=Code.HEARING_IN_SESSION)
        updated = hearing.cancelled()
        await self._store.save_hearing(updated)
        self._events.append(hearing.id, Event("cancelled", actor))
        return updated

    async def add_participant(self, hearing_id: str, data: dict[str, Any],
                              actor: str) -> tuple[Hearing, str, str]:
        """Add one person to a scheduled hearing and issue their link: (hearing, id, url)."""
        hearing = await self.get(hearing_id)
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("the hearing was cancelled", code=Code.HEARING_CANCELLED)
        self.check_not_over(hearing)
        roster = parse_participants([*(p.to_dict() for p in hearing.participants), data],
                                    hearing.kind)
        added = roster[-1]
        updated = replace(hearing, participants=roster)
        await self._store.save_hearing(updated)
        self._events.append(hearing.id, Event("participant_added", actor, added.id, {
            "name": added.name, "role": added.role.value, "language": added.language}))
        return updated, added.id, await self.issue_link(hearing.id, added.id, actor)

    async def issue_link(self, hearing_id: str, participant_id: str, actor: str) -> str:
        """Issue (or re-issue, revoking the older) the participant's join link."""
        hearing = await self.get(hearing_id)
        spec = hearing.participant(participant_id)
        if spec is None:
            raise NotFound(f"no participant {participant_id!r} in this hearing",
                           code=Code.PARTICIPANT_NOT_FOUND)
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("the hearing was cancelled", code=Code.HEARING_CANCELLED)
        now = time.time()
        link_id = new_link_id()
        # valid until the hearing is over (its end plus grace), however far ahead it is
        until = hearing.links_valid_until(self._link_grace)
        token = self._tokens.issue_join(hearing.id, ParticipantId(spec.id), spec.role, link_id,
                                        now=now, expires_at=until)
        await self._store.issue_link(LinkRecord(
            link_id=link_id, hearing_id=HearingId(hearing.id),
            participant_id=ParticipantId(spec.id), issued_at=now, issued_by=actor,
            expires_at=until,
        ))
        self._events.append(hearing.id, Event("link_issued", actor, spec.id,
                                              {"link_id": link_id}))
        if self._notifier is not None:
            # whoever is connected with the older link is connected no more
            await self._notifier.disconnect_participant(hearing.id, spec.id, "replaced", {
                "code": Code.TOKEN_REVOKED.value,
                "message": "the court issued a newer link; this one no longer works"})
        return self.join_url(token)

    async def current_links(self, hearing_id: str, actor: str) -> dict[str, str]:
        """Each participant's live (latest, unrevoked) join link, shown again to the court
        after a reload: the token is rebuilt from its link record (same link id, issue time
        and the current end), so no link is revoked. Every showing is audited."""
        hearing = await self.get(hearing_id)
        if hearing.status is HearingStatus.CANCELLED:
            return {}
        until = hearing.links_valid_until(self._link_grace)
        latest: dict[str, LinkRecord] = {}
        for link in await self._store.list_links(hearing_id):
            if not link.revoked and (link.participant_id not in latest
                                     or link.issued_at > latest[link.participant_id].issued_at):
                latest[link.participant_id] = link
        out: dict[str, str] = {}
        for p in hearing.participants:
            live = latest.get(p.id)
            if live is not None:
                out[p.id] = self.join_url(self._tokens.issue_join(
                    hearing.id, ParticipantId(p.id), p.role, live.link_id,
                    now=live.issued_at, expires_at=until))
        self._events.append(hearing.id, Event("links_shown", actor, None,
                                              {"participants": sorted(out)}))
        return out

    def join_url(self, token: str) -> str:
        return f"{self._base_url}/join#{token}"

    async def service_record(self, hearing_id: str) -> list[dict[str, Any]]:
        hearing = await self.get(hearing_id)
        names = {p.id: p for p in hearing.participants}
        out = []
        for link in await self._store.list_links(hearing_id):
            spec = names.get(link.participant_id)
            out.append({**link.to_dict(), "status": link.status,
                        # the current schedule decides (a reschedule carries links along)
                        "expires_at": hearing.links_valid_until(self._link_grace),
                        "name": spec.name if spec else None,
                        "role": spec.role.value if spec else None,
                        "language": spec.language if spec else None})
        return out

    def events(self, hearing_id: str) -> list[dict[str, Any]]:
        return self._events.read(hearing_id)
