"""The remote reception desk's pure rules: opening hours with holidays, and the visitor
queue (join with limits, place and estimated wait, heartbeats and expiry of abandoned
entries, leave, take the next or a chosen visitor, transfer a waiting visitor or a
call to other staff, end with an outcome and a note).

No I/O and no clock: every rule is given ``now``. The edges (a public page and the
staff's queue view) and the one-to-one call on the relay are built on these rules.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .errors import Code, Conflict, InvalidInput, NotFound, RateLimited

MAX_NAME: Final = 80
MAX_CASE: Final = 40
MAX_CONTACT: Final = 120
MAX_NOTE: Final = 1000
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening periods (weekday 0 = Monday) in the court's time zone, and holidays."""

    weekly: tuple[tuple[tuple[dt.time, dt.time], ...], ...]
    holidays: frozenset[dt.date] = frozenset()
    tz: dt.tzinfo = dt.UTC

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        return any(a <= local.time() < b for a, b in self.weekly[local.weekday()])

    def check_open(self, now: dt.datetime) -> None:
        if not self.is_open(now):
            opens = self.next_opening(now)
            raise Conflict("the reception desk is closed", code=Code.RECEPTION_CLOSED,
                           extra={"opens_at": opens.isoformat() if opens else ""})

    def next_opening(self, now: dt.datetime) -> dt.datetime | None:
        """When the desk opens next (now, if it is open); ``None`` if never within a year."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.tz)
        for offset in range(0, 366):
            day = local.date() + dt.timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _ in self.weekly[day.weekday()]:
                opening = dt.datetime.combine(day, start, tzinfo=self.tz)
                if opening > local:
                    return opening
        return None


def parse_hours(text: str, holidays: Iterable[str] = (), tz: dt.tzinfo = dt.UTC) -> OpeningHours:
    """``"mon-fri 09:00-12:00,13:30-17:00; sat 09:00-12:00"`` and ISO dates of holidays."""
    weekly: list[list[tuple[dt.time, dt.time]]] = [[] for _ in _DAYS]
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, _, ranges = part.partition(" ")
        first, _, last = days.lower().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise InvalidInput(f"reception hours: {days!r} is not a day or a range of days")
        span = range(_DAYS.index(first), _DAYS.index(last or first) + 1)
        for item in filter(None, (r.strip() for r in ranges.split(","))):
            m = _RANGE.match(item)
            if not m:
                raise InvalidInput(f"reception hours: {item!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if not (0 <= h1 < 24 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
                raise InvalidInput(f"reception hours: {item!r} is not a time of day")
            start = dt.time(h1, m1)
            end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2, m2)
            if end <= start:
                raise InvalidInput(f"reception hours: {item!r} ends before it starts")
            for day in span:
                weekly[day].append((start, end))
    try:
        days_off = frozenset(dt.date.fromisoformat(d) for d in holidays)
    except ValueError as exc:
        raise InvalidInput(f"reception holidays: {exc}") from exc
    return OpeningHours(tuple(tuple(sorted(d)) for d in weekly), days_off, tz)


def clean_text(value: object, limit: int, what: str, required: bool = False) -> str:
    """One line of visitor text: no control characters, spaces collapsed, length-limited.
    (Pages render it as text, never as HTML.)"""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    text = " ".join("".join(" " if c.isspace() else c
                            for c in unicodedata.normalize("NFC", value)
                            if c.isspace() or unicodedata.category(c)[0] != "C").split())
    if len(text) > limit:
        raise InvalidInput(f"{what} may be at most {limit} characters")
    if required and not text:
        raise InvalidInput(f"give {what}")
    return text


@dataclass(frozen=True)
class QueueLimits:
    total: int = 50                 # visitors waiting at once
    per_address: int = 2            # waiting entries from one client address
    expire_after: float = 60.0      # seconds without a heartbeat: the entry is abandoned
    default_call_seconds: float = 300.0  # the wait estimate before any call has ended


@dataclass
class Visitor:
    id: str
    name: str
    case_number: str
    contact: str
    topic: str
    address: str
    queued_at: float
    last_seen: float
    state: str = "waiting"  # waiting, taken, left, expired, ended
    taken_by: str = ""
    taken_at: float | None = None
    ended_at: float | None = None
    outcome: str = ""
    note: str = ""
    staff: list[str] = field(default_factory=list)
    assigned_to: str = ""  # a waiting visitor passed on to this staff member
    transfers: int = 0


class ReceptionQueue:
    """The queue of one desk (one node); the staff on duty take visitors from it."""

    def __init__(self, topics: tuple[str, ...], limits: QueueLimits | None = None) -> None:
        self.topics = topics
        self.limits = limits or QueueLimits()
        self.visitors: dict[str, Visitor] = {}
        self._durations: list[float] = []

    def waiting(self) -> list[Visitor]:
        return sorted((v for v in self.visitors.values() if v.state == "waiting"),
                      key=lambda v: v.queued_at)

    def join(self, name: object, case_number: object, contact: object, topic: object,
             address: str, now: float) -> Visitor:
        self.expire(now)
        visitor = Visitor(
            id=f"v_{secrets.token_hex(8)}",
            name=clean_text(name, MAX_NAME, "your name", required=True),
            case_number=clean_text(case_number, MAX_CASE, "the case number"),
            contact=clean_text(contact, MAX_CONTACT, "a way to reach you"),
            topic=str(topic), address=address, queued_at=now, last_seen=now)
        if topic not in self.topics:
            raise InvalidInput("choose one of the court's topics",
                               code=Code.RECEPTION_TOPIC_UNKNOWN)
        waiting = self.waiting()
        if sum(v.address == address for v in waiting) >= self.limits.per_address:
            raise RateLimited("you are already in the queue", code=Code.RECEPTION_TOO_MANY)
        if len(waiting) >= self.limits.total:
            raise Conflict("the queue is full; try again later", code=Code.RECEPTION_QUEUE_FULL)
        self.visitors[visitor.id] = visitor
        return visitor

    def get(self, visitor_id: str) -> Visitor:
        visitor = self.visitors.get(visitor_id)
        if visitor is None:
            raise NotFound("not in the queue", code=Code.RECEPTION_NOT_FOUND)
        return visitor

    def place(self, visitor_id: str) -> int:
        """1 for the next visitor to be taken; 0 when not waiting."""
        for number, v in enumerate(self.waiting(), start=1):
            if v.id == visitor_id:
                return number
        return 0

    def estimated_wait(self, visitor_id: str, staff_on_duty: int) -> float:
        """Seconds: place times the mean of the last calls' lengths, shared by the staff."""
        recent = self._durations[-20:]
        call = sum(recent) / len(recent) if recent else self.limits.default_call_seconds
        return self.place(visitor_id) * call / max(1, staff_on_duty)

    def heartbeat(self, visitor_id: str, now: float) -> Visitor:
        visitor = self.get(visitor_id)
        if visitor.state == "waiting":
            visitor.last_seen = now
        return visitor

    def expire(self, now: float) -> list[Visitor]:
        """Waiting entries whose page stopped asking are abandoned."""
        gone = [v for v in self.waiting() if now - v.last_seen > self.limits.expire_after]
        for v in gone:
            v.state, v.ended_at = "expired", now
        return gone

    def leave(self, visitor_id: str, now: float) -> Visitor:
        visitor = self.get(visitor_id)
        if visitor.state == "waiting":
            visitor.state, visitor.ended_at = "left", now
        return visitor

    def take(self, staff: str, visitor_id: str | None, now: float) -> Visitor:
        """The next waiting visitor (or the chosen one) into ``staff``'s call."""
        self.expire(now)
        if visitor_id is None:
            waiting = self.waiting()
            if not waiting:
                raise Conflict("nobody is waiting", code=Code.RECEPTION_NOT_WAITING)
            # a visitor passed on to someone is theirs (they keep their place)
            mine = [v for v in waiting if v.assigned_to in ("", staff)]
            if not mine:
                raise Conflict("nobody is waiting for you", code=Code.RECEPTION_NOT_WAITING)
            visitor = mine[0]
        else:
            visitor = self.get(visitor_id)
            if visitor.state != "waiting":
                raise Conflict("this visitor is not waiting", code=Code.RECEPTION_NOT_WAITING)
        visitor.state, visitor.taken_by, visitor.taken_at = "taken", staff, now
        visitor.staff = [staff]
        return visitor

    def transfer(self, visitor_id: str, by: str, to: str) -> Visitor:
        """Pass a waiting visitor (they keep their place) or ``by``'s call to ``to``."""
        visitor = self.get(visitor_id)
        if visitor.state == "taken" and by not in visitor.staff:
            raise Conflict("this call is not yours to transfer", code=Code.RECEPTION_NOT_WAITING)
        if visitor.state not in ("waiting", "taken"):
            raise Conflict("this visitor is no longer here", code=Code.RECEPTION_NOT_WAITING)
        if to in (visitor.assigned_to, visitor.taken_by):
            raise Conflict(f"the visitor is already with {to}",
                           code=Code.RECEPTION_BAD_TRANSFER)
        visitor.assigned_to = to
        visitor.transfers += 1
        if visitor.state == "taken":
            visitor.taken_by, visitor.staff = to, [to]
        return visitor

    def end(self, visitor_id: str, staff: str, outcome: object, note: object,
            now: float) -> Visitor:
        visitor = self.get(visitor_id)
        if visitor.state != "taken" or staff not in visitor.staff:
            raise Conflict("this call is not yours to end", code=Code.RECEPTION_NOT_WAITING)
        visitor.outcome = clean_text(outcome, MAX_NAME, "the outcome")
        visitor.note = clean_text(note, MAX_NOTE, "the note")
        visitor.state, visitor.ended_at = "ended", now
        if visitor.taken_at is not None:
            self._durations.append(now - visitor.taken_at)
        return visitor
