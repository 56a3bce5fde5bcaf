"""Typed commands: one frozen type per client event, parsed once at the edge.

The socket.io namespace (and any REST route taking the same action) turns a raw
payload into one of these with :func:`parse`; services receive commands, never
raw dicts. Parsing checks types and sizes only; the rules (who may, in which
state) stay in the domain's session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from .errors import Code, InvalidInput, MediaError
from .exhibits import ExhibitStatus
from .ids import ParticipantId
from .policy import Source
from .session import MediaKind

MAX_REASON = 500
MAX_NAME = 80
MAX_ROOM = 40
MAX_ID = 64
MAX_TYPED_NAME = 200
MAX_CAUCUS_MEMBERS = 50
MAX_MINUTE = 2000

E = TypeVar("E", bound=StrEnum)


class ConductAction(StrEnum):
    START = "start"
    RECESS = "recess"
    RESUME = "resume"
    ADJOURN = "adjourn"


# ---- the commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    pass


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Admit:
    participant_id: ParticipantId


@dataclass(frozen=True)
class SendToLobby:
    participant_id: ParticipantId


@dataclass(frozen=True)
class Recall:
    participant_id: ParticipantId


@dataclass(frozen=True)
class AllowScreen:
    participant_id: ParticipantId
    allowed: bool


@dataclass(frozen=True)
class Deny:
    participant_id: ParticipantId
    reason: str


@dataclass(frozen=True)
class Remove:
    participant_id: ParticipantId
    reason: str


@dataclass(frozen=True)
class Mute:
    participant_id: ParticipantId
    kind: MediaKind
    force: bool


@dataclass(frozen=True)
class Unmute:
    participant_id: ParticipantId
    kind: MediaKind


@dataclass(frozen=True)
class SelfMute:
    kind: MediaKind
    muted: bool


@dataclass(frozen=True)
class Lock:
    locked: bool


@dataclass(frozen=True)
class Conduct:
    action: ConductAction


@dataclass(frozen=True)
class Recording:
    #: start, pause, resume or stop; the session refuses anything else
    action: str
    reason: str


@dataclass(frozen=True)
class MediaReady:
    #: the page lost its previous media connection and asks for a new one (the court
    #: sees the gap even when the server had not yet noticed the loss)
    retry: bool = False


@dataclass(frozen=True)
class MediaAnswer:
    sdp: str


@dataclass(frozen=True)
class MediaCandidate:
    candidate: Mapping[str, Any]


@dataclass(frozen=True)
class MediaPublish:
    source: Source
    #: BCP 47 tag, for (and only for) an interpretation channel
    language: str | None = None


@dataclass(frozen=True)
class MediaUnpublish:
    source: Source


@dataclass(frozen=True)
class CaucusOpen:
    name: str
    participant_ids: tuple[ParticipantId, ...]


@dataclass(frozen=True)
class CaucusMove:
    #: None: the sender moves themself
    participant_id: ParticipantId | None
    room: str


@dataclass(frozen=True)
class CaucusEnd:
    pass


@dataclass(frozen=True)
class SettlementDraft:
    text: str


@dataclass(frozen=True)
class SettlementConfirm:
    #: None: for the sender (the only one allowed)
    participant_id: str | None
    sha256: str
    typed_name: str


@dataclass(frozen=True)
class SettlementGet:
    pass


@dataclass(frozen=True)
class MinuteAdd:
    text: str


@dataclass(frozen=True)
class MinutesList:
    pass


@dataclass(frozen=True)
class ExhibitMark:
    exhibit_id: str
    status: ExhibitStatus


@dataclass(frozen=True)
class ExhibitShow:
    exhibit_id: str


@dataclass(frozen=True)
class ExhibitList:
    pass


Command = (Hello | Leave | Admit | SendToLobby | Recall | AllowScreen | Deny | Remove | Mute
           | Unmute | SelfMute | Lock | Conduct
           | Recording | MediaReady | MediaAnswer | MediaCandidate | MediaPublish
           | MediaUnpublish | CaucusOpen | CaucusMove | CaucusEnd | SettlementDraft
           | SettlementConfirm | SettlementGet | MinuteAdd | MinutesList
           | ExhibitMark | ExhibitShow | ExhibitList)


# ---- field parsers --------------------------------------------------------------------------


def text(args: Mapping[str, Any], name: str, max_len: int = MAX_REASON) -> str:
    value = args.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string")
    if len(value) > max_len:
        raise InvalidInput(f"'{name}' is longer than {max_len} characters")
    return value.strip()


def participant(value: Any) -> ParticipantId:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise InvalidInput("'participant_id' must be a participant id string")
    return ParticipantId(value)


def flag(args: Mapping[str, Any], name: str, default: bool | None = None) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be true or false")
    return value


def media_kind(value: Any) -> MediaKind:
    try:
        return MediaKind(value)
    except ValueError as exc:
        raise InvalidInput("'kind' must be 'audio' or 'video'") from exc


def source(value: Any) -> Source:
    try:
        return Source(value)
    except ValueError as exc:
        raise InvalidInput("'source' must be microphone, camera, screen or interpretation") \
            from exc


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")


def _media_publish(a: Args) -> MediaPublish:
    """An interpretation channel names its language (a BCP 47 tag such as ``zh-CN``);
    no other source has one."""
    src = source(a.get("source"))
    language = a.get("language")
    if src is not Source.INTERPRETATION:
        if language is not None:
            raise InvalidInput("only an interpretation channel has a 'language'")
        return MediaPublish(src)
    if not isinstance(language, str) or len(language) > 35 \
            or not _LANGUAGE.fullmatch(language):
        raise InvalidInput("'language' must be a language tag such as 'en' or 'zh-CN'")
    return MediaPublish(src, language)


def choice(enum: type[E], value: Any, name: str) -> E:
    try:
        return enum(value)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be one of " + ", ".join(e.value for e in enum)) \
            from exc


# ---- one parser per event -----------------------------------------------------------------

Args = Mapping[str, Any]


def _caucus_open(a: Args) -> CaucusOpen:
    name = text(a, "name", MAX_NAME)
    ids = a.get("participant_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) \
            or len(ids) > MAX_CAUCUS_MEMBERS:
        raise InvalidInput("'participant_ids' must be a list of participant ids")
    return CaucusOpen(name, tuple(ParticipantId(i) for i in ids))


def _caucus_move(a: Args) -> CaucusMove:
    pid = participant(a["participant_id"]) if a.get("participant_id") is not None else None
    room = a.get("room")
    if not isinstance(room, str) or not room or len(room) > MAX_ROOM:
        raise InvalidInput("'room' must be 'main' or a caucus id")
    return CaucusMove(pid, room)


def _settlement_draft(a: Args) -> SettlementDraft:
    value = a.get("text")
    if not isinstance(value, str):
        raise InvalidInput("'text' must be the terms as text")
    return SettlementDraft(value)


def _settlement_confirm(a: Args) -> SettlementConfirm:
    pid = a.get("participant_id")
    if pid is not None and not isinstance(pid, str):
        raise InvalidInput("'participant_id' must be a participant id string")
    if a.get("confirm") is not True:
        raise InvalidInput("tick the explicit confirmation ('confirm': true)",
                           code=Code.SETTLEMENT_NOT_CONFIRMED)
    sha, typed = a.get("sha256"), a.get("typed_name")
    if not isinstance(sha, str) or not isinstance(typed, str) or len(typed) > MAX_TYPED_NAME:
        raise InvalidInput("'sha256' and 'typed_name' are required")
    return SettlementConfirm(pid, sha, typed)


def exhibit_id(a: Args) -> str:
    value = a.get("exhibit_id")
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise InvalidInput("'exhibit_id' must be an exhibit id")
    return value


def _recording(a: Args) -> Recording:
    action = a.get("action")
    if not isinstance(action, str):
        raise InvalidInput("'action' must be start, pause, resume or stop")
    return Recording(action, text(a, "reason"))


def _answer(a: Args) -> MediaAnswer:
    sdp = a.get("sdp")
    if not isinstance(sdp, str):
        raise MediaError("the answer is not an SDP description", code=Code.SDP_INVALID)
    return MediaAnswer(sdp)


def _candidate(a: Args) -> MediaCandidate:
    candidate = a.get("candidate")
    if not isinstance(candidate, dict):
        raise MediaError("a candidate must be an object", code=Code.INPUT_INVALID)
    return MediaCandidate(candidate)


PARSERS: dict[str, Callable[[Args], Command]] = {
    "hello": lambda a: Hello(),
    "leave": lambda a: Leave(),
    "admit": lambda a: Admit(participant(a.get("participant_id"))),
    "send_to_lobby": lambda a: SendToLobby(participant(a.get("participant_id"))),
    "recall": lambda a: Recall(participant(a.get("participant_id"))),
    "screen.allow": lambda a: AllowScreen(participant(a.get("participant_id")),
                                          flag(a, "allowed", True)),
    "deny": lambda a: Deny(participant(a.get("participant_id")), text(a, "reason")),
    "remove": lambda a: Remove(participant(a.get("participant_id")), text(a, "reason")),
    "mute": lambda a: Mute(participant(a.get("participant_id")),
                           media_kind(a.get("kind", "audio")), flag(a, "force", False)),
    "unmute": lambda a: Unmute(participant(a.get("participant_id")),
                               media_kind(a.get("kind", "audio"))),
    "self_mute": lambda a: SelfMute(media_kind(a.get("kind")), flag(a, "muted")),
    "lock": lambda a: Lock(flag(a, "locked", True)),
    "conduct": lambda a: Conduct(choice(ConductAction, a.get("action"), "action")),
    "recording": _recording,
    "media.ready": lambda a: MediaReady(flag(a, "retry", False)),
    "media.answer": _answer,
    "media.candidate": _candidate,
    "media.publish": _media_publish,
    "media.unpublish": lambda a: MediaUnpublish(source(a.get("source"))),
    "caucus.open": _caucus_open,
    "caucus.move": _caucus_move,
    "caucus.end": lambda a: CaucusEnd(),
    "settlement.draft": _settlement_draft,
    "settlement.confirm": _settlement_confirm,
    "settlement.get": lambda a: SettlementGet(),
    "minutes.add": lambda a: MinuteAdd(text(a, "text", MAX_MINUTE)),
    "minutes.list": lambda a: MinutesList(),
    "exhibit.mark": lambda a: ExhibitMark(
        exhibit_id(a), choice(ExhibitStatus, a.get("status"), "status")),
    "exhibit.show": lambda a: ExhibitShow(exhibit_id(a)),
    "exhibit.list": lambda a: ExhibitList(),
}

#: every event a client may send; anything else is refused before it is looked at
CLIENT_EVENTS = frozenset(PARSERS)


def parse(event: str, args: Args) -> Command:
    parser = PARSERS.get(event)
    if parser is None:
        raise InvalidInput(f"unknown event {event[:60]!r}", code=Code.EVENT_UNKNOWN)
    return parser(args)
