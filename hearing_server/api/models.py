"""Typed bodies of the REST API: the routes parse request bodies into these frozen
dataclasses and build their answers from them, and the OpenAPI document
(:mod:`hearing_server.api.openapi`) describes them from the same classes.

A model field's type says what JSON it takes (``str``, ``bool``, ``int``, ``float``,
``list[str]``, ``dict[str, Any]``, another model, ``X | None``); a field without a
default is required. :func:`describe` adds a description, a length limit or an enum
for the document (and the parser checks the limit). Nested objects the domain already
serialises (a hearing, a record) are ``dict[str, Any]`` with a reference to their
component schema."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ..domain.errors import InvalidInput
from ..domain.hearing import LANGUAGES

M = TypeVar("M", bound="Model")


def describe(doc: str = "", *, max_length: int | None = None,
             enum: tuple[str, ...] | None = None, ref: str | None = None,
             items_ref: str | None = None) -> dict[str, Any]:
    """What the document says of a model field: ``field(metadata=describe(...))``."""
    return {"doc": doc, "max_length": max_length, "enum": enum, "ref": ref,
            "items_ref": items_ref}


class Model:
    """Base of every body. ``closed``: unknown keys are refused (otherwise ignored)."""

    closed: ClassVar[bool] = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _dump(getattr(self, f.name))
        return out


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _hints(model: type[Model]) -> dict[str, Any]:
    return typing.get_type_hints(model)


def _optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # noqa: UP007
    return tp, False


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model)


def _check(name: str, tp: Any, value: Any, meta: Mapping[str, Any]) -> Any:
    tp, nullable = _optional(tp)
    if value is None:
        if nullable:
            return None
        raise InvalidInput(f"'{name}' may not be null")
    if tp is Any:
        return value
    if tp is str:
        if not isinstance(value, str):
            raise InvalidInput(f"'{name}' must be a string")
        limit = meta.get("max_length")
        if limit is not None and len(value) > limit:
            raise InvalidInput(f"'{name}' is longer than {limit} characters")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"'{name}' must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"'{name}' must be a whole number")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"'{name}' must be a number")
        return float(value)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise InvalidInput(f"'{name}' must be a list")
        return [_check(name, item, v, {}) for v in value]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise InvalidInput(f"'{name}' must be an object")
        return value
    if _is_model(tp):
        if not isinstance(value, dict):
            raise InvalidInput(f"'{name}' must be an object")
        return parse(tp, value)
    raise TypeError(f"no rule for the type {tp!r} of {name!r}")


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` (a JSON object) as a ``model``, or :class:`InvalidInput` saying why not."""
    hints = _hints(model)
    fields = {f.name: f for f in dataclasses.fields(model)}  # type: ignore[arg-type]
    if model.closed:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(map(repr, unknown))}; give some of "
                               + ", ".join(repr(n) for n in fields))
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InvalidInput(f"'{name}' is required")
            continue
        values[name] = _check(name, hints[name], data[name], f.metadata)
    return model(**values)


def given(instance: Model, data: Mapping[str, Any]) -> set[str]:
    """Which of the model's fields the request named (a PATCH changes only those)."""
    return {f.name for f in dataclasses.fields(instance)  # type: ignore[arg-type]
            if f.name in data}


# ---- JSON Schema (OpenAPI 3.1) ------------------------------------------------------------

def _type_schema(tp: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    tp, nullable = _optional(tp)
    schema: dict[str, Any]
    if meta.get("ref"):
        schema = {"$ref": f"#/components/schemas/{meta['ref']}"}
    elif tp is Any:
        schema = {}
    elif tp is str:
        schema = {"type": "string"}
        if meta.get("max_length") is not None:
            schema["maxLength"] = meta["max_length"]
        if meta.get("enum"):
            schema["enum"] = list(meta["enum"])
    elif tp is bool:
        schema = {"type": "boolean"}
    elif tp is int:
        schema = {"type": "integer"}
    elif tp is float:
        schema = {"type": "number"}
    elif typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        items = ({"$ref": f"#/components/schemas/{meta['items_ref']}"} if meta.get("items_ref")
                 else _type_schema(item, {}))
        schema = {"type": "array", "items": items}
    elif typing.get_origin(tp) is dict or tp is dict:
        schema = {"type": "object"}
    elif _is_model(tp):
        schema = {"$ref": f"#/components/schemas/{tp.__name__}"}
    else:
        raise TypeError(f"no schema for {tp!r}")
    if nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    if meta.get("doc"):
        schema = {**schema, "description": meta["doc"]} if "$ref" not in schema else {
            "allOf": [schema], "description": meta["doc"]}
    return schema


def schema_of(model: type[Model]) -> dict[str, Any]:
    hints = _hints(model)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(model):  # type: ignore[arg-type]
        props[f.name] = _type_schema(hints[f.name], f.metadata)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if model.closed:
        out["additionalProperties"] = False
    doc = (model.__doc__ or "").strip()
    if doc:
        out["description"] = " ".join(doc.split())
    return out


def models_used(model: type[Model]) -> list[type[Model]]:
    """``model`` and every model its fields name, each once."""
    seen: list[type[Model]] = []

    def visit(tp: Any) -> None:
        tp, _ = _optional(tp)
        if _is_model(tp):
            if tp in seen:
                return
            seen.append(tp)
            for hint in _hints(tp).values():
                visit(hint)
        for arg in typing.get_args(tp):
            visit(arg)

    visit(model)
    return seen


# ---- the bodies -----------------------------------------------------------------------------

ROLES = ("judge", "clerk", "mediator", "party", "counsel", "witness", "interpreter", "observer",
         "reception", "visitor")
STAFF_ROLES = ("judge", "clerk", "mediator", "admin", "reception")


@dataclass(frozen=True)
class SignIn(Model):
    """A staff member's credentials."""

    username: str = field(metadata=describe("the account's username", max_length=1000))
    password: str = field(metadata=describe("its password", max_length=1000))


@dataclass(frozen=True)
class SignedIn(Model):
    """The staff member signed in (the session cookie ``hs_session`` is set)."""

    username: str
    role: str = field(metadata=describe("the staff role", enum=STAFF_ROLES))
    roles: dict[str, Any] = field(metadata=describe("what every participant role may do"))
    name: str | None = field(default=None, metadata=describe("the display name"))


@dataclass(frozen=True)
class SignedOut(Model):
    signed_out: bool


@dataclass(frozen=True)
class ParticipantIn(Model):
    """One person to serve a link to."""

    name: str = field(metadata=describe("shown to the court", max_length=120))
    role: str = field(metadata=describe("what they may do in the hearing", enum=ROLES))
    id: str | None = field(default=None, metadata=describe(
        "a stable participant id (1-40 letters, digits, - or _)", max_length=40))
    language: str | None = field(default=None, metadata=describe(
        "the language of the person's join page (otherwise their browser's, then the "
        "court's default_language)", enum=LANGUAGES))


@dataclass(frozen=True)
class ScheduleHearing(Model):
    """A hearing to schedule; one join link is issued per participant."""

    case_number: str = field(metadata=describe("the court's case number", max_length=64))
    title: str = field(metadata=describe(max_length=200))
    scheduled_at: str = field(metadata=describe("ISO 8601 date-time with a time zone offset"))
    participants: list[ParticipantIn] = field(metadata=describe(
        "who takes part (a judge or a mediator among them)"))
    kind: str = field(default="hearing", metadata=describe("hearing or mediation",
                         enum=("hearing", "mediation")))
    duration_minutes: int | None = field(default=None, metadata=describe("planned length"))
    presiding: str | None = field(default=None, metadata=describe(
        "the presiding judge's or mediator's username"))
    clerks: list[str] | None = field(default=None, metadata=describe(
        "usernames of the assigned clerks"))


@dataclass(frozen=True)
class Scheduled(Model):
    hearing: dict[str, Any] = field(metadata=describe(ref="Hearing"))
    links: dict[str, str] = field(metadata=describe("participant id → join link URL"))


@dataclass(frozen=True)
class HearingList(Model):
    hearings: list[dict[str, Any]] = field(metadata=describe(items_ref="Hearing"))


@dataclass(frozen=True)
class HearingOne(Model):
    hearing: dict[str, Any] = field(metadata=describe(ref="Hearing"))


@dataclass(frozen=True)
class HearingWithState(Model):
    hearing: dict[str, Any] = field(metadata=describe(ref="Hearing"))
    state: dict[str, Any] | None = field(metadata=describe("the live session, if one is open"))


@dataclass(frozen=True)
class Reschedule(Model):
    """Move a hearing (its links follow the new time)."""

    closed = True
    scheduled_at: str = field(metadata=describe("ISO 8601 date-time with a time zone offset"))


@dataclass(frozen=True)
class Assignment(Model):
    """Who presides and which clerks are assigned; give one or both."""

    closed = True
    presiding: str | None = field(default=None, metadata=describe(
        "a judge's or mediator's username, or \"\" for none"))
    clerks: list[str] | None = field(default=None, metadata=describe(
        "usernames, or api:<key name>"))


@dataclass(frozen=True)
class Link(Model):
    participant_id: str
    link: str = field(metadata=describe("the new join link URL (older links are revoked)"))


@dataclass(frozen=True)
class AddedParticipant(Model):
    hearing: dict[str, Any] = field(metadata=describe(ref="Hearing"))
    participant_id: str
    link: str = field(metadata=describe("the new participant's join link URL"))


@dataclass(frozen=True)
class CurrentLinks(Model):
    links: dict[str, str] = field(metadata=describe(
        "participant id -> that participant's live join link (none revoked by showing it)"))


@dataclass(frozen=True)
class ServiceRecord(Model):
    links: list[dict[str, Any]] = field(metadata=describe(items_ref="LinkRecord"))


@dataclass(frozen=True)
class EventLog(Model):
    events: list[dict[str, Any]] = field(metadata=describe("the hearing's events, oldest first"))


@dataclass(frozen=True)
class ExhibitList(Model):
    exhibits: list[dict[str, Any]] = field(metadata=describe(
        "the exhibit ledger the caller may see: exhibit_id, title, file_name, content_type, "
        "size, sha256, offered_by, role, offered_at, status, history, shown"))


@dataclass(frozen=True)
class Exhibit(Model):
    exhibit: dict[str, Any] = field(metadata=describe("one exhibit of the ledger"))


@dataclass(frozen=True)
class OpenLink(Model):
    """A join link's token, from the join page."""

    token: str | None = field(default=None, metadata=describe("the token of the join link",
                                 max_length=8192))


@dataclass(frozen=True)
class JoinInfo(Model):
    """What the join page shows before the participant connects."""

    court: str = field(metadata=describe("the court's name"))
    hearing: dict[str, Any] = field(metadata=describe(
        "id, case_number, title, kind, scheduled_at (ISO 8601, UTC), phase (scheduled, "
        "open, in_session, recess, adjourned)"))
    you: dict[str, Any] = field(metadata=describe(
        "participant_id, name, role, language (the clerk's choice for this person, or "
        "\"\")"))
    expires_at: float | None
    roles: dict[str, Any]
    court_contact: str = field(default="", metadata=describe(
        "how to reach the court (the clerk's office), for the page's refusals"))
    default_language: str = field(default="en", metadata=describe(
        "the court's language when neither the participant's nor the browser's is "
        "available", enum=LANGUAGES))


@dataclass(frozen=True)
class Court(Model):
    """The court this node serves: named on every page, also when a link is refused."""

    name: str
    contact: str = field(metadata=describe(
        "the court's contact line (the clerk's office, telephone, e-mail); may be empty"))
    default_language: str = field(metadata=describe(
        "the page's language when neither the participant's nor the browser's is "
        "available", enum=LANGUAGES))
    languages: list[str] = field(metadata=describe("the languages the pages speak"))


@dataclass(frozen=True)
class Me(Model):
    username: str
    role: str = field(metadata=describe(enum=STAFF_ROLES))
    name: str = field(metadata=describe("the person's name, for the console's top bar"))
    roles: dict[str, Any] = field(metadata=describe("what every participant role may do"))


@dataclass(frozen=True)
class Account(Model):
    username: str
    name: str
    role: str = field(metadata=describe(enum=STAFF_ROLES))
    disabled: bool


@dataclass(frozen=True)
class AccountList(Model):
    staff: list[Account]


@dataclass(frozen=True)
class NewAccount(Model):
    username: str = field(metadata=describe(max_length=1000))
    role: str = field(metadata=describe(enum=STAFF_ROLES, max_length=1000))
    password: str = field(metadata=describe(max_length=1000))
    name: str | None = field(default=None, metadata=describe("display name (default: the username)",
                                max_length=1000))


@dataclass(frozen=True)
class AccountChange(Model):
    """Give some of these; a role change, reset, disabling or ``end_sessions`` ends the
    account's sessions."""

    closed = True
    role: str | None = field(default=None, metadata=describe(enum=STAFF_ROLES, max_length=1000))
    password: str | None = field(default=None, metadata=describe(max_length=1000))
    disabled: bool | None = field(default=None, metadata=describe())
    end_sessions: bool | None = field(default=None, metadata=describe())


@dataclass(frozen=True)
class Removed(Model):
    removed: str


@dataclass(frozen=True)
class ApiKeyList(Model):
    api_keys: list[dict[str, Any]] = field(metadata=describe(items_ref="ApiKey"))


@dataclass(frozen=True)
class NewApiKey(Model):
    name: str = field(metadata=describe(max_length=1000))
    role: str = field(default="clerk", metadata=describe(enum=STAFF_ROLES, max_length=1000))
    scopes: list[str] = field(default_factory=lambda: ["hearings"], metadata=describe())
    ttl_days: float | None = field(default=365.0, metadata=describe(
        "lifetime in days; null: never expires"))


@dataclass(frozen=True)
class ApiKeyCreated(Model):
    name: str
    role: str
    scopes: list[str]
    api_key: str = field(metadata=describe(
        "the secret: shown once, give it as Authorization: Bearer"))


@dataclass(frozen=True)
class Revoked(Model):
    revoked: str
    keys: int = field(metadata=describe("how many keys of this name were revoked"))


@dataclass(frozen=True)
class RecordList(Model):
    recordings: list[dict[str, Any]]


@dataclass(frozen=True)
class CompositeJob(Model):
    hearing_id: str
    state: str = field(metadata=describe(enum=("queued", "running", "done", "failed")))
    progress: float
    error: str | None


@dataclass(frozen=True)
class Check(Model):
    ok: bool
    detail: str


@dataclass(frozen=True)
class Health(Model):
    status: str = field(metadata=describe(enum=("ok", "ready", "not_ready")))
    node_id: str
    checks: dict[str, Any] = field(metadata=describe("each check: ok, detail and its figures"))
    draining: bool | None = field(default=None, metadata=describe())


# ---- electronic service of documents (issue 16) ---------------------------------------

@dataclass(frozen=True)
class DocumentOne(Model):
    document: dict[str, Any] = field(metadata=describe(ref="ServedDocument"))


@dataclass(frozen=True)
class DocumentList(Model):
    documents: list[dict[str, Any]] = field(metadata=describe(items_ref="ServedDocument"))


@dataclass(frozen=True)
class Serve(Model):
    """Serve documents and/or the join link to one participant by e-mail."""

    closed = True
    participant_id: str = field(metadata=describe("the participant served", max_length=64))
    email: str = field(metadata=describe("the recipient's e-mail address", max_length=320))
    documents: list[str] = field(default_factory=list, metadata=describe(
        "SHA-256 ids of the hearing's uploaded documents"))
    include_link: bool = field(default=False, metadata=describe(
        "send a new join link too (the older one is revoked)"))


@dataclass(frozen=True)
class ServiceOne(Model):
    service: dict[str, Any] = field(metadata=describe(ref="Service"))


@dataclass(frozen=True)
class Services(Model):
    services: list[dict[str, Any]] = field(metadata=describe(items_ref="Service"))


@dataclass(frozen=True)
class ServiceToken(Model):
    closed = True
    token: str = field(metadata=describe("the part of the service link after #",
                                         max_length=200))


@dataclass(frozen=True)
class ServedInfo(Model):
    court: str
    case_number: str
    title: str
    scheduled_at: str
    name: str
    documents: list[dict[str, Any]]
    include_link: bool
    expires_at: float
    acknowledged: dict[str, Any] | None = field(metadata=describe("when and by whom"))


@dataclass(frozen=True)
class ServedDownload(Model):
    closed = True
    token: str = field(metadata=describe("the service token", max_length=200))
    document: str = field(metadata=describe("the document's SHA-256", max_length=64))


@dataclass(frozen=True)
class Acknowledge(Model):
    closed = True
    token: str = field(metadata=describe("the service token", max_length=200))
    name: str = field(metadata=describe("the recipient's name, typed", max_length=120))
    confirm: bool = field(metadata=describe("must be true: receipt is confirmed"))


@dataclass(frozen=True)
class Acknowledged(Model):
    acknowledged: dict[str, Any] = field(metadata=describe("at, from, typed_name"))


# ---- the remote reception desk (issue 16) -----------------------------------------------

@dataclass(frozen=True)
class ReceptionDesk(Model):
    open: bool
    topics: list[str]
    opens_at: str | None = field(metadata=describe("when the desk opens next (ISO 8601)"))
    waiting: int
    recorded: bool = field(default=False, metadata=describe(
        "the court records reception calls (the visitor is told before joining)"))


@dataclass(frozen=True)
class ReceptionJoin(Model):
    closed = True
    name: str = field(metadata=describe("the visitor's name", max_length=80))
    topic: str = field(metadata=describe("one of the desk's topics", max_length=80))
    case_number: str | None = field(default=None, metadata=describe(max_length=40))
    contact: str | None = field(default=None, metadata=describe(
        "a telephone number or e-mail address", max_length=120))


@dataclass(frozen=True)
class ReceptionMine(Model):
    closed = True
    visitor_id: str = field(metadata=describe(max_length=40))
    secret: str = field(metadata=describe("the secret the join answered", max_length=80))


@dataclass(frozen=True)
class ReceptionStatus(Model):
    visitor_id: str
    state: str = field(metadata=describe(enum=("waiting", "taken", "left", "expired", "ended")))
    place: int | None = field(default=None, metadata=describe("1: next to be taken"))
    estimated_wait: int | None = field(default=None, metadata=describe("seconds"))
    link: str | None = field(default=None, metadata=describe("the join link, once taken"))
    secret: str | None = field(default=None, metadata=describe("only in the join's answer"))
    transferred: bool | None = field(default=None, metadata=describe(
        "passed on to another staff member (keeping the place)"))


@dataclass(frozen=True)
class ReceptionQueueView(Model):
    waiting: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    staff_on_duty: int


@dataclass(frozen=True)
class ReceptionTake(Model):
    closed = True
    visitor_id: str | None = field(default=None, metadata=describe(
        "the chosen visitor; none: the next", max_length=40))


@dataclass(frozen=True)
class ReceptionTransfer(Model):
    closed = True
    to: str = field(metadata=describe("the username of a reception staff member or clerk",
                                      max_length=80))


@dataclass(frozen=True)
class ReceptionTaken(Model):
    visitor: dict[str, Any]
    hearing_id: str
    link: str = field(metadata=describe("the staff member's join link into the call"))


@dataclass(frozen=True)
class ReceptionEnd(Model):
    closed = True
    outcome: str = field(default="", metadata=describe(max_length=80))
    note: str = field(default="", metadata=describe(max_length=1000))


@dataclass(frozen=True)
class ReceptionVisitor(Model):
    visitor: dict[str, Any]


@dataclass(frozen=True)
class ReceptionLog(Model):
    date: str
    visitors: list[dict[str, Any]]
    summary: dict[str, Any]


#: component schemas of what the domain serialises itself
DOMAIN_SCHEMAS: dict[str, dict[str, Any]] = {
    "Hearing": {"type": "object", "required": ["id", "case_number", "kind", "status"],
                "properties": {
                    "id": {"type": "string"}, "case_number": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {"type": "string", "enum": ["hearing", "mediation"]},
                    "scheduled_at": {"type": "string", "format": "date-time"},
                    "duration_minutes": {"type": "integer"}, "status": {"type": "string"},
                    "participants": {"type": "array", "items": {
                        "type": "object", "properties": {
                            "id": {"type": "string"}, "name": {"type": "string"},
                            "role": {"type": "string"},
                            "language": {"type": "string", "description":
                                         "the page's language chosen by the clerk "
                                         "(\"\": none)"}}}},
                    "created_by": {"type": "string"}, "created_at": {"type": "string"},
                    "presiding": {"type": "string"},
                    "clerks": {"type": "array", "items": {"type": "string"}},
                    "rescheduled_at": {"type": "number"},
                    "recorded": {"type": "boolean", "description":
                                 "false: a reception call the court does not record"}}},
    "LinkRecord": {"type": "object", "properties": {
        "link_id": {"type": "string"}, "participant_id": {"type": "string"},
        "issued_at": {"type": "number"}, "expires_at": {"type": "number"},
        "revoked": {"type": "boolean"}, "status": {"type": "string"},
        "name": {"type": ["string", "null"]}, "role": {"type": ["string", "null"]},
        "language": {"type": ["string", "null"], "description":
                     "the participant's page language (\"\": their browser's)"}}},
    "ServedDocument": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "media_type": {"type": "string"}, "size": {"type": "integer"},
        "sha256": {"type": "string"}, "uploaded_at": {"type": "number"},
        "uploaded_by": {"type": "string"}, "kind": {"type": "string"}}},
    "Service": {"type": "object", "properties": {
        "id": {"type": "string"}, "participant_id": {"type": "string"},
        "name": {"type": "string"}, "address": {"type": "string"},
        "documents": {"type": "array", "items": {"type": "object"}},
        "include_link": {"type": "boolean"}, "status": {"type": "string", "enum": [
            "pending", "failed", "sent", "opened", "downloaded", "acknowledged"]},
        "attempts": {"type": "array", "items": {"type": "object"}},
        "sent_at": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "opened": {"type": "array", "items": {"type": "object"}},
        "downloads": {"type": "array", "items": {"type": "object"}},
        "acknowledged": {"anyOf": [{"type": "object"}, {"type": "null"}]}}},
    "ApiKey": {"type": "object", "properties": {
        "name": {"type": "string"}, "role": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "expires_at": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "revoked": {"type": "boolean"}, "created_at": {"type": "number"}}},
}
