"""Hearing definitions: what the clerk schedules. Plain values, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from .errors import Code, InvalidInput
from .ids import HearingId, ParticipantId, new_participant_id
from .roles import Role


class HearingKind(str, Enum):
    HEARING = "hearing"
    MEDIATION = "mediation"


#: The languages the web client speaks (its i18n dictionaries): a participant's language
#: and the court's default are one of these.
LANGUAGES = ("en", "zh-CN")


def parse_language(value: Any, key: str = "language") -> str:
    """A language the web client has, or "" (none given: the browser's, then the court's)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value not in LANGUAGES:
        raise InvalidInput(f"'{key}' must be one of {', '.join(LANGUAGES)}",
                           code=Code.INPUT_INVALID)
    return value


class HearingStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ParticipantSpec:
    id: ParticipantId
    name: str
    role: Role
    #: The language the clerk chose for this person's page ("": none chosen).
    language: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role.value,
                "language": self.language}


@dataclass(frozen=True)
class Hearing:
    id: HearingId
    case_number: str
    title: str
    kind: HearingKind
    scheduled_at: datetime
    duration_minutes: int
    participants: tuple[ParticipantSpec, ...]
    status: HearingStatus = HearingStatus.SCHEDULED
    created_by: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Username of the staff account that presides (the judge of a hearing, the mediator
    #: of a mediation); empty until one is assigned.
    presiding: str = ""
    #: Usernames (or ``api:<key name>``) of the clerks assigned to this hearing.
    clerks: tuple[str, ...] = ()
    #: When the hearing was last rescheduled (Unix time; 0: never): links issued before
    #: then follow the new schedule rather than the lifetime they were signed with.
    rescheduled_at: float = 0.0
    #: Whether the hearing may be recorded (a reception call only if the court says so).
    recorded: bool = True

    def participant(self, pid: str) -> ParticipantSpec | None:
        for p in self.participants:
            if p.id == pid:
                return p
        return None

    @property
    def ends_at(self) -> datetime:
        return self.scheduled_at + timedelta(minutes=self.duration_minutes)

    def links_valid_until(self, grace_seconds: float) -> float:
        """Until when this hearing's join links work: its scheduled end plus a grace,
        from the *current* schedule (a reschedule carries the links along)."""
        return self.ends_at.timestamp() + grace_seconds

    def rescheduled(self, when: datetime, at: float) -> Hearing:
        return replace(self, scheduled_at=when, rescheduled_at=at)

    def link_expired(self, issued_at: float, signed_until: float, now: float,
                     grace_seconds: float) -> bool:
        """Whether a link issued at ``issued_at`` and signed valid until ``signed_until`` no
        longer works: after the hearing's (current) end plus grace, or after its own
        lifetime unless the hearing was rescheduled since it was issued."""
        if now > self.links_valid_until(grace_seconds):
            return True
        return now > signed_until and self.rescheduled_at <= issued_at

    def cancelled(self) -> Hearing:
        return replace(self, status=HearingStatus.CANCELLED)

    def assigned(self, presiding: str, clerks: tuple[str, ...]) -> Hearing:
        return replace(self, presiding=presiding, clerks=tuple(dict.fromkeys(clerks)))

    @property
    def presiding_role(self) -> Role:
        """The hearing role the presiding staff member sits in."""
        return Role.JUDGE if self.kind is HearingKind.HEARING else Role.MEDIATOR

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_number": self.case_number,
            "title": self.title,
            "kind": self.kind.value,
            "scheduled_at": self.scheduled_at.isoformat(),
            "duration_minutes": self.duration_minutes,
            "status": self.status.value,
            "participants": [p.to_dict() for p in self.participants],
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "presiding": self.presiding,
            "clerks": list(self.clerks),
            "rescheduled_at": self.rescheduled_at,
            "recorded": self.recorded,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hearing:
        return cls(
            id=HearingId(d["id"]),
            case_number=d["case_number"],
            title=d["title"],
            kind=HearingKind(d["kind"]),
            scheduled_at=datetime.fromisoformat(d["scheduled_at"]),
            duration_minutes=int(d["duration_minutes"]),
            participants=tuple(
                ParticipantSpec(ParticipantId(p["id"]), p["name"], Role(p["role"]),
                                str(p.get("language") or ""))
                for p in d["participants"]
            ),
            status=HearingStatus(d["status"]),
            created_by=d.get("created_by", ""),
            created_at=datetime.fromisoformat(d["created_at"]),
            presiding=str(d.get("presiding") or ""),
            clerks=(tuple(str(c) for c in d["clerks"]) if "clerks" in d
                    else _legacy_clerks(d.get("created_by", ""))),
            rescheduled_at=float(d.get("rescheduled_at") or 0.0),
            recorded=bool(d.get("recorded", True)),
        )


def _legacy_clerks(created_by: str) -> tuple[str, ...]:
    """A hearing saved before assignments existed: whoever scheduled it (a clerk, a clerk
    API key) stays its clerk; the policy gives that seat to clerks only."""
    return (created_by,) if created_by and created_by != "cli" else ()


_CASE_RE = re.compile(r"^[\w\-/.() ]{1,64}$")
#: A staff username (accounts) or ``api:<name>`` (an API key acting as a clerk).
STAFF_NAME_RE = re.compile(r"^(api:)?[a-z0-9_.-]{2,40}$")
MAX_CLERKS = 20


def parse_staff_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not STAFF_NAME_RE.match(value):
        raise InvalidInput(f"'{key}' must be a staff username")
    return value


def parse_clerks(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_CLERKS:
        raise InvalidInput(f"'clerks' must be a list of at most {MAX_CLERKS} usernames")
    return tuple(dict.fromkeys(parse_staff_name(v, "clerks") for v in value))
MAX_PARTICIPANTS = 50


def _require_str(d: dict[str, Any], key: str, max_len: int) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{key}' must be a non-empty string", code=Code.INPUT_INVALID)
    if len(value) > max_len:
        raise InvalidInput(f"'{key}' is longer than {max_len} characters")
    return value.strip()


def parse_datetime(value: Any, key: str = "scheduled_at") -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"'{key}' must be an ISO 8601 date-time string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"'{key}' is not an ISO 8601 date-time: {value!r}") from exc
    if when.tzinfo is None:
        raise InvalidInput(f"'{key}' must include a time zone offset (for example 'Z')")
    return when.astimezone(UTC)


def parse_participants(raw: Any, kind: HearingKind) -> tuple[ParticipantSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("'participants' must be a non-empty list")
    if len(raw) > MAX_PARTICIPANTS:
        raise InvalidInput(f"a hearing has at most {MAX_PARTICIPANTS} participants")
    out: list[ParticipantSpec] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidInput("each participant must be an object with 'name' and 'role'")
        name = _require_str(item, "name", 120)
        try:
            role = Role(item.get("role"))
        except ValueError as exc:
            raise InvalidInput(
                f"unknown role {item.get('role')!r}; one of "
                + ", ".join(r.value for r in Role),
                code=Code.ROLE_UNKNOWN,
            ) from exc
        pid = item.get("id")
        if pid is not None and (not isinstance(pid, str) or not re.fullmatch(r"[\w-]{1,40}", pid)):
            raise InvalidInput("participant 'id' must be 1-40 letters, digits, '-' or '_'")
        out.append(ParticipantSpec(ParticipantId(pid) if pid else new_participant_id(), name, role,
                                   parse_language(item.get("language"))))
    if len({p.id for p in out}) != len(out):
        raise InvalidInput("participant ids must be unique")
    # a reception call is a hearing conducted by the reception staff member
    hosts = {Role.JUDGE, Role.RECEPTION} if kind is HearingKind.HEARING else {Role.MEDIATOR}
    if not any(p.role in hosts for p in out):
        host = "judge" if kind is HearingKind.HEARING else "mediator"
        raise InvalidInput(f"a {kind.value} needs a {host}", code=Code.HEARING_NO_HOST)
    return tuple(out)


def new_hearing(hid: HearingId, data: dict[str, Any], created_by: str,
                clerks: tuple[str, ...] = (), presiding: str = "") -> Hearing:
    """Validate a create request (from the API or the CLI) into a :class:`Hearing`.

    ``presiding`` and ``clerks`` are the assignments the creator brings (itself);
    ``data`` may name the presiding judge or mediator (``presiding``) and more clerks."""
    case_number = _require_str(data, "case_number", 64)
    if not _CASE_RE.match(case_number):
        raise InvalidInput("'case_number' may hold letters, digits, spaces and - / . ( )")
    title = _require_str(data, "title", 200)
    try:
        kind = HearingKind(data.get("kind", "hearing"))
    except ValueError as exc:
        raise InvalidInput("'kind' must be 'hearing' or 'mediation'") from exc
    duration = data.get("duration_minutes", 60)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 1440:
        raise InvalidInput("'duration_minutes' must be an integer from 1 to 1440")
    return Hearing(
        id=hid,
        case_number=case_number,
        title=title,
        kind=kind,
        scheduled_at=parse_datetime(data.get("scheduled_at")),
        duration_minutes=duration,
        participants=parse_participants(data.get("participants"), kind),
        created_by=created_by,
        presiding=(parse_staff_name(data["presiding"], "presiding")
                   if data.get("presiding") else presiding),
        clerks=tuple(dict.fromkeys((*clerks, *parse_clerks(data.get("clerks", []))))),
    )
