"""Electronic service of documents: the pure rules (no I/O).

A *document* is immutable bytes, named by its SHA-256, of a type told by its content
(never by its name or the sender's say-so). A *service* delivers documents and/or a
join link to one participant at one address; what happened to it is a list of
events (``served``, ``sent``, ``send_failed``, ``opened``, ``downloaded``,
``acknowledged``) folded by :func:`fold` into the service record.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import Code, Conflict, InvalidInput

#: What a served document may be, told by its first bytes.
SIGNATURES: Final = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
MAX_NAME: Final = 120
MAX_ACK_NAME: Final = 120
MAX_DOCUMENTS: Final = 20
_EMAIL = re.compile(r"^[^@\s<>\"',;:()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class Document:
    id: str  # the SHA-256 (hex) of the bytes
    hearing_id: str
    name: str
    media_type: str
    size: int
    uploaded_at: float
    uploaded_by: str
    kind: str = "document"  # or "notice" (a generated notice of hearing)

    @property
    def sha256(self) -> str:
        return self.id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "hearing_id": self.hearing_id, "name": self.name,
                "media_type": self.media_type, "size": self.size, "sha256": self.id,
                "uploaded_at": self.uploaded_at, "uploaded_by": self.uploaded_by,
                "kind": self.kind}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Document:
        return Document(str(d["id"]), str(d["hearing_id"]), str(d["name"]),
                        str(d["media_type"]), int(d["size"]), float(d["uploaded_at"]),
                        str(d["uploaded_by"]), str(d.get("kind", "document")))


def media_type_of(content: bytes) -> tuple[str, str]:
    """The (media type, extension) the content is, or ``service.document_type``."""
    for magic, media_type, ext in SIGNATURES:
        if content.startswith(magic):
            return media_type, ext
    raise InvalidInput("only PDF, PNG and JPEG documents can be served",
                       code=Code.SERVICE_DOCUMENT_TYPE)


def check_document(content: bytes, limit: int) -> tuple[str, str, str]:
    """(sha256, media type, extension) of acceptable content."""
    if len(content) > limit:
        raise InvalidInput(f"a document may be at most {limit} bytes",
                           code=Code.SERVICE_DOCUMENT_TOO_LARGE)
    if not content:
        raise InvalidInput("the document is empty", code=Code.SERVICE_DOCUMENT_TYPE)
    media_type, ext = media_type_of(content)
    return hashlib.sha256(content).hexdigest(), media_type, ext


def document_name(name: str, ext: str) -> str:
    """A safe display and download name (no path, no control characters)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>')
    name = name.strip(" .")[:MAX_NAME] or f"document.{ext}"
    if not name.lower().endswith("." + ext) and not (ext == "jpg" and
                                                     name.lower().endswith(".jpeg")):
        name = f"{name[:MAX_NAME - len(ext) - 1]}.{ext}"
    return name


def check_address(address: Any) -> str:
    if not isinstance(address, str) or not _EMAIL.match(address.strip()):
        raise InvalidInput("give the recipient's e-mail address",
                           code=Code.SERVICE_BAD_ADDRESS)
    return address.strip()


def same_name(typed: str, expected: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())
    return bool(norm(typed)) and norm(typed) == norm(expected)


@dataclass
class ServiceState:
    """One service as the record shows it (folded from its events)."""

    id: str
    hearing_id: str
    participant_id: str
    name: str
    address: str
    documents: list[dict[str, Any]]
    include_link: bool
    served_by: str
    served_at: float
    expires_at: float
    status: str = "pending"  # pending, sent, failed, opened, downloaded, acknowledged
    attempts: list[dict[str, Any]] = field(default_factory=list)
    sent_at: float | None = None
    opened: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "hearing_id": self.hearing_id,
            "participant_id": self.participant_id, "name": self.name,
            "address": self.address, "documents": self.documents,
            "include_link": self.include_link, "served_by": self.served_by,
            "served_at": self.served_at, "expires_at": self.expires_at,
            "status": self.status, "attempts": self.attempts, "sent_at": self.sent_at,
            "opened_at": self.opened[0]["at"] if self.opened else None,
            "opened": self.opened, "downloads": self.downloads,
            "acknowledged": self.acknowledged,
        }


_RANK: Final = {"pending": 0, "failed": 1, "sent": 2, "opened": 3, "downloaded": 4,
                "acknowledged": 5}


def _advance(state: ServiceState, status: str) -> None:
    if _RANK[status] > _RANK[state.status]:
        state.status = status


def fold(events: list[dict[str, Any]]) -> dict[str, ServiceState]:
    """The service record (service id → state) from the events, oldest first."""
    out: dict[str, ServiceState] = {}
    for e in events:
        sid, kind = str(e.get("service_id", "")), e.get("type")
        if kind == "served":
            out[sid] = ServiceState(
                sid, str(e["hearing_id"]), str(e["participant_id"]), str(e["name"]),
                str(e["address"]), list(e["documents"]), bool(e["include_link"]),
                str(e["by"]), float(e["at"]), float(e["expires_at"]))
            continue
        state = out.get(sid)
        if state is None:
            continue
        at = float(e.get("at", 0.0))
        if kind == "sent":
            state.attempts.append({"at": at, "ok": True, "detail": e.get("detail", "")})
            state.sent_at = state.sent_at or at
            _advance(state, "sent")
        elif kind == "send_failed":
            state.attempts.append({"at": at, "ok": False, "detail": e.get("detail", "")})
            _advance(state, "failed")
        elif kind == "opened":
            state.opened.append({"at": at, "from": e.get("from", ""),
                                 "user_agent": e.get("user_agent", "")})
            _advance(state, "opened")
        elif kind == "downloaded":
            state.downloads.append({"at": at, "from": e.get("from", ""),
                                    "document": e.get("document", "")})
            _advance(state, "downloaded")
        elif kind == "acknowledged":
            state.acknowledged = {"at": at, "from": e.get("from", ""),
                                  "typed_name": e.get("typed_name", "")}
            _advance(state, "acknowledged")
    return out


def check_usable(state: ServiceState, now: float) -> None:
    if now > state.expires_at:
        raise Conflict("this service has expired; ask the court", code=Code.SERVICE_EXPIRED)


def check_acknowledgement(state: ServiceState, typed_name: Any, confirm: Any) -> str:
    """The typed name, if it acknowledges this service."""
    if state.acknowledged is not None:
        raise Conflict("receipt was acknowledged already",
                       code=Code.SERVICE_ALREADY_ACKNOWLEDGED)
    if confirm is not True:
        raise InvalidInput("confirm that you received the documents",
                           code=Code.SERVICE_NOT_CONFIRMED)
    if not isinstance(typed_name, str) or len(typed_name) > MAX_ACK_NAME \
            or not same_name(typed_name, state.name):
        raise InvalidInput("type your name as the court has it",
                           code=Code.SERVICE_NAME_MISMATCH)
    return " ".join(typed_name.split())
