"""Exhibits: documents offered in a hearing, marked offered / admitted / refused.

Pure rules: which files are accepted (type by content, not by name; size), who may
offer, mark and see them, and the ledger folded from the hearing's event log
(``exhibit_offered``, ``exhibit_status``, ``exhibit_shown``), which is the only copy.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

from .errors import Code, InvalidInput, NotFound, PermissionDenied
from .roles import Capability, Role, can

MAX_EXHIBIT_BYTES: Final = 20 * 1024 * 1024
MAX_TITLE: Final = 200
#: accepted media types, the extension they are stored with and their magic bytes
TYPES: Final[dict[str, tuple[str, bytes]]] = {
    "application/pdf": (".pdf", b"%PDF-"),
    "image/png": (".png", b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": (".jpg", b"\xff\xd8\xff"),
    "text/plain": (".txt", b""),
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ExhibitStatus(StrEnum):
    OFFERED = "offered"
    ADMITTED = "admitted"
    REFUSED = "refused"


def check_type(content_type: str, head: bytes) -> str:
    """The accepted media type of a file whose first bytes are ``head``."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in TYPES:
        raise InvalidInput(f"{kind or 'this type'} is not accepted as an exhibit "
                           f"(PDF, PNG, JPEG or plain text)", code=Code.EXHIBIT_TYPE_REFUSED)
    magic = TYPES[kind][1]
    if not head.startswith(magic) or (kind == "text/plain" and b"\x00" in head):
        raise InvalidInput(f"the file's content is not {kind}", code=Code.EXHIBIT_TYPE_REFUSED)
    return kind


def check_size(size: int, limit: int = MAX_EXHIBIT_BYTES) -> None:
    if size > limit:
        raise InvalidInput(f"an exhibit may be at most {limit // (1024 * 1024)} MB",
                           code=Code.EXHIBIT_TOO_LARGE)
    if size == 0:
        raise InvalidInput("the file is empty", code=Code.INPUT_INVALID)


def check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"an exhibit needs a title of 1 to {MAX_TITLE} characters")
    return title


def safe_name(exhibit_id: str, content_type: str) -> str:
    """The file's name in the record: the id and the type's extension (never the
    uploader's file name, which is kept in the ledger only)."""
    return _SAFE.sub("-", exhibit_id) + TYPES[content_type][0]


def may_offer(role: Role) -> None:
    if role not in (Role.PARTY, Role.COUNSEL) and not can(role, Capability.MINUTES):
        raise PermissionDenied(f"a {role.value} may not offer exhibits",
                               code=Code.PERMISSION_DENIED)


def may_mark(role: Role) -> None:
    if not can(role, Capability.MINUTES):
        raise PermissionDenied(f"a {role.value} may not mark or show exhibits",
                               code=Code.PERMISSION_DENIED)


def ledger(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every exhibit offered, with its current status and history, in order."""
    items: dict[str, dict[str, Any]] = {}
    for e in events:
        t, eid = e.get("type"), e.get("exhibit_id")
        if not isinstance(eid, str):
            continue
        if t == "exhibit_offered":
            items[eid] = {k: e.get(k) for k in (
                "exhibit_id", "title", "file_name", "content_type", "size", "sha256")}
            items[eid].update({"offered_by": e.get("actor"), "role": e.get("role"),
                               "offered_at": e.get("at"), "offered_ts": e.get("ts"),
                               "status": ExhibitStatus.OFFERED.value, "history": [],
                               "shown": []})
        elif eid in items and t == "exhibit_status":
            items[eid]["status"] = e.get("status")
            items[eid]["history"].append({"status": e.get("status"), "by": e.get("actor"),
                                          "at": e.get("at"), "ts": e.get("ts")})
        elif eid in items and t == "exhibit_shown":
            items[eid]["shown"].append({"by": e.get("actor"), "at": e.get("at"),
                                        "ts": e.get("ts")})
    return list(items.values())


def find(events: list[dict[str, Any]], exhibit_id: str) -> dict[str, Any]:
    for item in ledger(events):
        if item["exhibit_id"] == exhibit_id:
            return item
    raise NotFound("no such exhibit in this hearing", code=Code.EXHIBIT_NOT_FOUND)


def may_read(role: Role, participant_id: str, item: dict[str, Any]) -> None:
    """Staff, the one who offered it, and anyone once it was shown to the hearing."""
    if can(role, Capability.MINUTES) or item.get("offered_by") == participant_id \
            or item.get("shown"):
        return
    raise PermissionDenied("this exhibit has not been shown to the hearing",
                           code=Code.PERMISSION_DENIED)
