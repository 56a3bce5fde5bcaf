"""Electronic service of documents: upload, notice of hearing, serve by e-mail (with
retries), the recipient's page (open, download, acknowledge), the service record, the
certificate of service, and the service's files in the sealed case record."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from ..domain.errors import Code, InvalidInput, NotFound, Unavailable
from ..domain.hearing import Hearing
from ..domain.service import (
    MAX_DOCUMENTS,
    Document,
    ServiceState,
    check_acknowledgement,
    check_address,
    check_document,
    check_usable,
    document_name,
    fold,
)
from ..store.service_store import ServiceStore
from .hearings import HearingService
from .ports import Mail, Mailer, MailFailure
from .printable import certificate_pdf, notice_pdf

logger = logging.getLogger(__name__)


class ServingService:
    def __init__(self, store: ServiceStore, hearings: HearingService, mailer: Mailer,
                 base_url: str, court_name: str, *, max_bytes: int, link_ttl: float,
                 attempts: int = 3, retry_delay: float = 2.0, court_contact: str = "") -> None:
        self._store = store
        self._hearings = hearings
        self._mailer = mailer
        self._base_url = base_url
        self._court = court_name
        self._contact = court_contact
        self._max_bytes = max_bytes
        self._link_ttl = link_ttl
        self._attempts = max(1, attempts)
        self._retry_delay = retry_delay
        self._ack_lock = asyncio.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    # -- documents (clerk) -------------------------------------------------------

    async def upload(self, hearing: Hearing, content: bytes, name: str, actor: str,
                     kind: str = "document") -> Document:
        sha, media_type, ext = check_document(content, self._max_bytes)
        doc = Document(sha, hearing.id, document_name(name, ext), media_type, len(content),
                       time.time(), actor, kind)
        return await asyncio.to_thread(self._store.add_document, doc, content)

    async def documents(self, hearing_id: str) -> list[Document]:
        return await asyncio.to_thread(self._store.documents, hearing_id)

    async def document(self, hearing_id: str, doc_id: str) -> tuple[Document, bytes]:
        doc = await asyncio.to_thread(self._store.document, hearing_id, doc_id)
        return doc, await asyncio.to_thread(self._store.content, doc)

    async def notice(self, hearing: Hearing, participant_id: str, actor: str) -> Document:
        """The participant's notice of hearing (a new join link in it, as a QR code too:
        issuing it revokes their older link)."""
        spec = hearing.participant(participant_id)
        if spec is None:
            raise NotFound(f"no participant {participant_id!r}", code=Code.PARTICIPANT_NOT_FOUND)
        link = await self._hearings.issue_link(hearing.id, spec.id, actor)
        pdf = await asyncio.to_thread(notice_pdf, self._court, hearing, spec.name,
                                      spec.role.value, link, self._contact)
        return await self.upload(hearing, pdf, f"notice-{hearing.case_number}-{spec.id}.pdf",
                                 actor, kind="notice")

    # -- serving (clerk) ---------------------------------------------------------

    async def serve(self, hearing: Hearing, participant_id: str, address: Any,
                    document_ids: list[str], include_link: bool, actor: str) -> dict[str, Any]:
        spec = hearing.participant(participant_id)
        if spec is None:
            raise NotFound(f"no participant {participant_id!r}", code=Code.PARTICIPANT_NOT_FOUND)
        to = check_address(address)
        if not document_ids and not include_link:
            raise InvalidInput("serve documents, the join link or both", code=Code.SERVICE_NOTHING)
        if len(document_ids) > MAX_DOCUMENTS or len(set(document_ids)) != len(document_ids):
            raise InvalidInput(f"at most {MAX_DOCUMENTS} different documents per service")
        docs = [await asyncio.to_thread(self._store.document, hearing.id, d)
                for d in document_ids]
        if not self._mailer.configured:
            raise Unavailable("set smtp_host to serve by e-mail",
                              code=Code.SERVICE_MAIL_NOT_CONFIGURED)
        join = await self._hearings.issue_link(hearing.id, spec.id, actor) \
            if include_link else None
        sid, secret, now = f"svc_{secrets.token_hex(8)}", secrets.token_urlsafe(32), time.time()
        await asyncio.to_thread(self._store.append, hearing.id, {
            "type": "served", "service_id": sid, "hearing_id": hearing.id,
            "participant_id": spec.id, "name": spec.name, "address": to,
            "documents": [{"id": d.id, "name": d.name, "sha256": d.id, "size": d.size,
                           "media_type": d.media_type, "kind": d.kind} for d in docs],
            "include_link": include_link, "by": actor, "at": now,
            "expires_at": now + self._link_ttl,
            "secret_sha256": hashlib.sha256(secret.encode()).hexdigest()})
        url = f"{self._base_url}/service#{hearing.id}.{sid}.{secret}"
        await self._deliver(hearing, sid, self._mail(hearing, spec.name, to, url, docs, join))
        return (await self._state(hearing.id, sid)).to_dict()

    def _mail(self, hearing: Hearing, name: str, to: str, url: str, docs: list[Document],
              join: str | None) -> Mail:
        lines = [self._court, *([self._contact] if self._contact else []), "",
                 f"Dear {name} / {name}: ", "",
                 f"The court serves you documents in case {hearing.case_number} "
                 f"({hearing.title}). / 法院向您送达案件 {hearing.case_number} 的文书。", "",
                 "Open this personal link to read and download them and to acknowledge "
                 "receipt: / 请打开以下个人链接查阅、下载并确认收到: ", url, ""]
        lines += [f"- {d.name} (SHA-256 {d.id})" for d in docs]
        if join:
            lines += ["", "Your link to join the hearing / 您参加庭审的链接: ", join]
        lines += ["", "Do not pass these links on. / 请勿转发上述链接。"]
        return Mail(to=to, subject=f"{hearing.case_number}: service of documents / 电子送达",
                    text="\n".join(lines))

    async def _deliver(self, hearing: Hearing, sid: str, mail: Mail) -> None:
        delay = self._retry_delay
        for attempt in range(1, self._attempts + 1):
            try:
                reply = await self._mailer.send(mail)
            except MailFailure as exc:
                logger.warning("hearing %s service %s: attempt %d failed: %s",
                               hearing.id, sid, attempt, exc.detail)
                await asyncio.to_thread(self._store.append, hearing.id, {
                    "type": "send_failed", "service_id": sid, "at": time.time(),
                    "detail": exc.detail[:300], "attempt": attempt})
                if not exc.temporary or attempt == self._attempts:
                    return
                await asyncio.sleep(delay)
                delay *= 2
                continue
            await asyncio.to_thread(self._store.append, hearing.id, {
                "type": "sent", "service_id": sid, "at": time.time(),
                "detail": str(reply)[:300], "attempt": attempt})
            return

    async def record(self, hearing_id: str) -> list[dict[str, Any]]:
        events = await asyncio.to_thread(self._store.events, hearing_id)
        return [s.to_dict() for s in fold(events).values()]

    async def certificate(self, hearing: Hearing) -> bytes:
        services = await self.record(hearing.id)
        return await asyncio.to_thread(certificate_pdf, self._court, hearing, services,
                                       time.time())

    async def record_files(self, hearing_id: str) -> dict[str, bytes | Path]:
        """``service/record.json``, ``service/certificate.pdf`` and every served
        document (``service/documents/<sha256>.<ext>``) for the sealed record."""
        services = await self.record(hearing_id)
        if not services:
            return {}
        hearing = await self._hearings.get(hearing_id)
        files: dict[str, bytes | Path] = {
            "service/record.json": json.dumps({"services": services}, indent=2,
                                              ensure_ascii=False).encode(),
            "service/certificate.pdf": await self.certificate(hearing),
        }
        ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
        for s in services:
            for d in s["documents"]:
                doc = await asyncio.to_thread(self._store.document, hearing_id, d["id"])
                files[f"service/documents/{doc.id}.{ext[doc.media_type]}"] = \
                    self._store.path(doc)
        return files

    # -- the recipient ----------------------------------------------------------

    async def _state(self, hearing_id: str, sid: str) -> ServiceState:
        state = fold(await asyncio.to_thread(self._store.events, hearing_id)).get(sid)
        if state is None:
            raise NotFound("no such service", code=Code.SERVICE_NOT_FOUND)
        return state

    async def _by_token(self, token: Any) -> ServiceState:
        parts = token.split(".") if isinstance(token, str) and len(token) < 200 else []
        if len(parts) != 3:
            raise NotFound("not a service link", code=Code.SERVICE_NOT_FOUND)
        hearing_id, sid, secret = parts
        events = await asyncio.to_thread(self._store.events, hearing_id)
        served = next((e for e in events if e.get("type") == "served"
                       and e.get("service_id") == sid), None)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if served is None or not hmac.compare_digest(digest, str(served["secret_sha256"])):
            raise NotFound("not a service link", code=Code.SERVICE_NOT_FOUND)
        state = fold(events)[sid]
        check_usable(state, time.time())
        return state

    async def open(self, token: Any, address: str, user_agent: str) -> dict[str, Any]:
        state = await self._by_token(token)
        await asyncio.to_thread(self._store.append, state.hearing_id, {
            "type": "opened", "service_id": state.id, "at": time.time(), "from": address,
            "user_agent": user_agent[:200]})
        hearing = await self._hearings.get(state.hearing_id)
        return {"court": self._court, "case_number": hearing.case_number,
                "title": hearing.title, "scheduled_at": hearing.scheduled_at.isoformat(),
                "name": state.name, "documents": state.documents,
                "include_link": state.include_link, "expires_at": state.expires_at,
                "acknowledged": state.acknowledged}

    async def download(self, token: Any, doc_id: Any, address: str) -> tuple[Document, bytes]:
        state = await self._by_token(token)
        if not any(d["id"] == doc_id for d in state.documents):
            raise NotFound("no such document in this service",
                           code=Code.SERVICE_DOCUMENT_NOT_FOUND)
        doc, content = await self.document(state.hearing_id, str(doc_id))
        await asyncio.to_thread(self._store.append, state.hearing_id, {
            "type": "downloaded", "service_id": state.id, "at": time.time(),
            "from": address, "document": doc.id})
        return doc, content

    async def acknowledge(self, token: Any, typed_name: Any, confirm: Any,
                          address: str) -> dict[str, Any]:
        async with self._ack_lock:  # one acknowledgement, however many clicks
            state = await self._by_token(token)
            name = check_acknowledgement(state, typed_name, confirm)
            await asyncio.to_thread(self._store.append, state.hearing_id, {
                "type": "acknowledged", "service_id": state.id, "at": time.time(),
                "from": address, "typed_name": name})
        ack = (await self._state(state.hearing_id, state.id)).acknowledged
        assert ack is not None
        return ack
