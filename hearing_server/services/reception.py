"""The remote reception desk: the public queue (join, status with heartbeat, leave), the
staff's queue view, taking a visitor into a one-to-one call, ending it, and the log.

A call is a hearing of its own with the staff member (in-room role ``reception``, shown
as court staff: enters directly, admits, conducts), the visitor (``visitor``: waits in
the lobby until admitted) and a seat for a colleague or interpreter the staff member
brings in (``reception`` too; its link is
issued on demand), on the same relay as every hearing: media never leaves that hearing, so a
visitor sees and hears only the staff member in their call. The visitor's join link
exists only once they are taken and is given only to the holder of their queue secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from ..domain.errors import Code, HearingError, NotFound
from ..domain.reception import OpeningHours, ReceptionQueue, Visitor
from .hearings import HearingService
from .ports import Notifier


class ReceptionService:
    def __init__(self, queue: ReceptionQueue, hours: OpeningHours, hearings: HearingService,
                 clock: Callable[[], float] = time.time,
                 notifier: Notifier | None = None, recorded: bool = False,
                 adjourn: Callable[[str], Awaitable[Any]] | None = None) -> None:
        self.queue = queue
        self.hours = hours
        self._hearings = hearings
        self._clock = clock
        self._notifier = notifier
        self._adjourn = adjourn  # ends a started call for everyone and seals its record
        self.recorded = recorded  # the court's setting: calls go into a reception record
        self._secrets: dict[str, str] = {}
        self._links: dict[str, str] = {}     # visitor id -> the visitor's join link
        self._handed: dict[str, str] = {}    # visitor id -> the staff link of a transfer
        self._calls: dict[str, str] = {}     # visitor id -> hearing id
        self._on_duty: dict[str, float] = {}  # staff -> last seen at the queue view

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    def desk(self) -> dict[str, Any]:
        now = self._now()
        opens = self.hours.next_opening(now)
        return {"open": self.hours.is_open(now), "topics": list(self.queue.topics),
                "opens_at": opens.isoformat() if opens else None,
                "waiting": len(self.queue.waiting()), "recorded": self.recorded}

    # -- the visitor --------------------------------------------------------------

    def join(self, data: dict[str, Any], address: str) -> dict[str, Any]:
        self.hours.check_open(self._now())
        visitor = self.queue.join(data.get("name"), data.get("case_number"),
                                  data.get("contact"), data.get("topic"), address,
                                  self._clock())
        secret = secrets.token_urlsafe(24)
        self._secrets[visitor.id] = hashlib.sha256(secret.encode()).hexdigest()
        return {**self.status(visitor.id, secret), "secret": secret}

    def _mine(self, visitor_id: Any, secret: Any) -> Visitor:
        digest = self._secrets.get(str(visitor_id))
        given = hashlib.sha256(str(secret).encode()).hexdigest()
        if digest is None or not hmac.compare_digest(digest, given):
            raise NotFound("not in the queue", code=Code.RECEPTION_NOT_FOUND)
        return self.queue.get(str(visitor_id))

    def status(self, visitor_id: Any, secret: Any) -> dict[str, Any]:
        """The visitor's place and wait (a heartbeat too); their join link once taken."""
        visitor = self._mine(visitor_id, secret)
        self.queue.expire(self._clock())
        self.queue.heartbeat(visitor.id, self._clock())
        out: dict[str, Any] = {
            "visitor_id": visitor.id, "state": visitor.state,
            "place": self.queue.place(visitor.id), "transferred": visitor.transfers > 0,
            "estimated_wait": round(self.queue.estimated_wait(visitor.id,
                                                              self.staff_on_duty())),
        }
        if visitor.state == "taken":
            out["link"] = self._links.get(visitor.id)
        return out

    def leave(self, visitor_id: Any, secret: Any) -> dict[str, Any]:
        visitor = self.queue.leave(self._mine(visitor_id, secret).id, self._clock())
        return {"visitor_id": visitor.id, "state": visitor.state}

    # -- the staff ----------------------------------------------------------------

    def staff_on_duty(self) -> int:
        now = self._clock()
        return sum(now - seen < 120 for seen in self._on_duty.values())

    def view(self, staff: str) -> dict[str, Any]:
        self._on_duty[staff] = self._clock()
        now = self._clock()
        self.queue.expire(now)
        return {"waiting": [{**public(v), "waited": round(now - v.queued_at),
                             "place": n} for n, v in enumerate(self.queue.waiting(), 1)],
                "calls": [{**public(v), "hearing_id": self._calls.get(v.id),
                           "link": self._handed.get(v.id)}
                          for v in self.queue.visitors.values()
                          if v.state == "taken" and staff in v.staff],
                "staff_on_duty": self.staff_on_duty()}

    async def take(self, staff: str, staff_name: str, visitor_id: str | None) -> dict[str, Any]:
        visitor = self.queue.take(staff, visitor_id, self._clock())
        hearing = self._hearings.prepare({
            "case_number": f"RECEPTION-{self._now():%Y%m%d}",
            "title": f"Reception: {visitor.topic}", "kind": "hearing",
            "scheduled_at": self._now().isoformat(), "duration_minutes": 120,
            "participants": [{"id": "staff", "name": staff_name or staff, "role": "reception"},
                             {"id": "visitor", "name": visitor.name, "role": "visitor"},
                             # a colleague or interpreter the staff member brings in: its
                             # link is handed out by re-issuing it (nobody has it before)
                             {"id": "colleague", "name": "Colleague", "role": "reception"}],
        }, actor=staff, clerks=(staff,) if not staff.startswith("api:") else ())
        # recorded or not as the court says; a recorded call is sealed at its adjournment
        hearing = replace(hearing, recorded=self.recorded)
        await self._hearings.check_assignment(hearing)
        hearing, links = await self._hearings.schedule(hearing, staff)
        self._links[visitor.id] = links["visitor"]
        self._calls[visitor.id] = hearing.id
        return {"visitor": public(visitor), "hearing_id": hearing.id, "link": links["staff"]}

    async def transfer(self, staff: str, visitor_id: str, to: str) -> dict[str, Any]:
        """Pass a waiting visitor (keeping their place) or ``staff``'s call to ``to``: the
        call's staff seat gets a new link for ``to`` (shown at their desk; the older one
        stops), the visitor stays connected and is told."""
        visitor = self.queue.get(visitor_id)
        hearing_id = self._calls.get(visitor.id) if visitor.state == "taken" else None
        if hearing_id is not None and staff in visitor.staff:
            hearing = await self._hearings.get(hearing_id)
            await self._hearings.assign(hearing, {"clerks": [to]}, staff)
        self.queue.transfer(visitor_id, staff, to)
        if hearing_id is not None:
            self._handed[visitor.id] = await self._hearings.issue_link(hearing_id, "staff", staff)
            if self._notifier is not None:
                await self._notifier.to_participant(hearing_id, "visitor",
                                                    "reception.transferred", {})
        return public(visitor)

    async def end(self, staff: str, visitor_id: str, outcome: Any, note: Any) -> dict[str, Any]:
        visitor = self.queue.end(visitor_id, staff, outcome, note, self._clock())
        self._links.pop(visitor.id, None)
        self._handed.pop(visitor.id, None)
        hearing_id = self._calls.get(visitor.id)
        if hearing_id is not None:
            try:
                await self._hearings.cancel(hearing_id, staff)  # the links stop working
            except HearingError:  # started: adjourn it (a recorded call's record is sealed)
                if self._adjourn is not None:
                    try:
                        await self._adjourn(hearing_id)
                    except HearingError:  # nobody conducted it: it lapses with its links
                        pass
        return public(visitor)

    def log(self, day: str | None = None) -> dict[str, Any]:
        """Every visitor of ``day`` (UTC, YYYY-MM-DD; today by default) and a summary."""
        day = day or f"{self._now():%Y-%m-%d}"
        entries = [public(v) for v in self.queue.visitors.values()
                   if f"{dt.datetime.fromtimestamp(v.queued_at, dt.UTC):%Y-%m-%d}" == day]
        taken = [e for e in entries if e["taken_at"] is not None]
        waits = [e["taken_at"] - e["queued_at"] for e in taken]
        by_state: dict[str, int] = {}
        by_topic: dict[str, int] = {}
        for e in entries:
            by_state[e["state"]] = by_state.get(e["state"], 0) + 1
            by_topic[e["topic"]] = by_topic.get(e["topic"], 0) + 1
        return {"date": day, "visitors": entries, "summary": {
            "visitors": len(entries), "taken": len(taken), "by_state": by_state,
            "by_topic": by_topic,
            "mean_wait": round(sum(waits) / len(waits)) if waits else None}}


def public(v: Visitor) -> dict[str, Any]:
    return {"visitor_id": v.id, "name": v.name, "case_number": v.case_number,
            "contact": v.contact, "topic": v.topic, "state": v.state,
            "queued_at": v.queued_at, "taken_at": v.taken_at, "taken_by": v.taken_by,
            "ended_at": v.ended_at, "outcome": v.outcome, "note": v.note,
            "assigned_to": v.assigned_to, "transfers": v.transfers}
