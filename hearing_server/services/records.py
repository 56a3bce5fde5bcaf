"""Retrieving case records: listing, manifests, files, export, verification and the
composite viewing copy — only for staff allowed to read recordings, every access
(and every refusal) written to the hash-chained audit log."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recording.archive import export_zip
from recording.composite import render_composite
from recording.errors import RecordingError
from recording.manifest import Manifest
from recording.verify import verify_folder

from ..auth.authz import Action, authorize
from ..auth.tokens import StaffClaims
from ..domain.errors import Code, Conflict, InvalidInput, NotFound, PermissionDenied
from ..domain.hearing import Hearing
from ..store.audit import AuditLog
from ..store.base import Store

logger = logging.getLogger(__name__)


@dataclass
class CompositeJob:
    hearing_id: str
    state: str = "running"  # running | done | failed
    progress: float = 0.0
    error: str = ""
    path: Path | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"hearing_id": self.hearing_id, "state": self.state,
                "progress": round(self.progress, 3), "error": self.error}


class RecordsService:
    def __init__(self, records_dir: Path, store: Store, audit: AuditLog,
                 public_key_b64: str) -> None:
        self.records_dir = records_dir
        self._store = store
        self._audit = audit
        self.public_key = public_key_b64
        self._jobs: dict[str, CompositeJob] = {}

    # ---- access control -------------------------------------------------------------

    def authorise(self, who: StaffClaims, action: str, hearing_id: str | None,
                  address: str = "", detail: str = "", hearing: Hearing | None = None) -> None:
        """Allow ``who`` one access to the record of ``hearing`` (``hearing_id`` None:
        a listing, filtered afterwards), by the one policy; audit either way."""
        try:
            authorize(who, Action.RECORDS_LIST if hearing_id is None else Action.RECORDS_READ,
                      hearing)
        except PermissionDenied as exc:
            self._audit.append(who.username, action, hearing_id, "refused", exc.message,
                               address)
            raise
        self._audit.append(who.username, action, hearing_id, "allowed", detail, address)

    def refuse(self, who: str, action: str, hearing_id: str | None, why: str,
               address: str = "") -> None:
        self._audit.append(who, action, hearing_id, "refused", why, address)

    def folder(self, hearing_id: str) -> Path:
        if not hearing_id or "/" in hearing_id or "\\" in hearing_id or hearing_id.startswith("."):
            raise InvalidInput("not a hearing id", code=Code.RECORDS_BAD_ID)
        folder = self.records_dir / hearing_id
        if not (folder / "manifest.json").is_file():
            raise NotFound(f"no record for hearing {hearing_id!r}", code=Code.RECORDS_NOT_FOUND)
        return folder

    # ---- reading ----------------------------------------------------------------------

    async def find(self, case_number: str | None = None, date: str | None = None,
                   hearing_id: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.records_dir.exists():
            return out
        for folder in sorted(self.records_dir.iterdir()):
            if not (folder / "manifest.json").is_file():
                continue
            if hearing_id and folder.name != hearing_id:
                continue
            try:
                manifest = Manifest.load(folder)
            except RecordingError:
                continue
            if case_number and manifest.case_number != case_number:
                continue
            hearing = await self._store.get_hearing(folder.name)
            media = [e for e in manifest.entries if e.media is not None]
            starts = [e.media.start for e in media if e.media is not None]
            started = (datetime.fromtimestamp(min(starts), UTC).isoformat()
                       if starts else None)
            if date and not (started or "").startswith(date) and not (
                    hearing and hearing.scheduled_at.date().isoformat() == date):
                continue
            out.append({
                "hearing_id": folder.name, "case_number": manifest.case_number,
                "title": hearing.title if hearing else None,
                "scheduled_at": hearing.scheduled_at.isoformat() if hearing else None,
                "sealed": manifest.sealed, "files": len(manifest.entries),
                "media_files": len(media), "started_at": started,
            })
        return out

    def manifest(self, hearing_id: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder(hearing_id) / "manifest.json").read_text())
        return data

    def attendance(self, hearing_id: str) -> dict[str, Any]:
        path = self.folder(hearing_id) / "attendance.json"
        if not path.is_file():
            raise NotFound("attendance is written when the hearing is adjourned",
                           code=Code.RECORDS_NOT_SEALED)
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def file(self, hearing_id: str, relative: str) -> Path:
        """A file listed in the hearing's manifest — nothing else is ever served."""
        folder = self.folder(hearing_id)
        manifest = Manifest.load(folder)
        listed = {e.path for e in manifest.entries}
        if relative not in listed:
            raise NotFound("no such file in this record", code=Code.RECORDS_FILE_NOT_FOUND)
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            raise NotFound("no such file in this record", code=Code.RECORDS_FILE_NOT_FOUND)
        return path

    async def export(self, hearing_id: str, dest_dir: Path) -> Path:
        folder = self.folder(hearing_id)
        def build() -> Path:
            dest_dir.mkdir(parents=True, exist_ok=True)
            return export_zip(folder, dest_dir / f"{hearing_id}.zip")

        return await asyncio.to_thread(build)

    async def verify(self, hearing_id: str) -> dict[str, Any]:
        report = await asyncio.to_thread(verify_folder, self.folder(hearing_id), self.public_key)
        return {
            "ok": report.ok, "sealed": report.sealed,
            "problems": [{"code": p.code, "path": p.path, "detail": p.detail}
                         for p in report.problems],
        }

    # ---- composite viewing copy -----------------------------------------------------------

    def start_composite(self, hearing_id: str, out_dir: Path) -> CompositeJob:
        folder = self.folder(hearing_id)
        if not Manifest.load(folder).sealed:
            raise Conflict("the composite is rendered after the hearing is adjourned",
                           code=Code.RECORDS_NOT_SEALED)
        job = self._jobs.get(hearing_id)
        if job is not None and job.state == "running":
            return job
        job = CompositeJob(hearing_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{hearing_id}-composite.webm"

        def progress(fraction: float) -> None:
            job.progress = fraction

        async def run() -> None:
            try:
                job.path = await render_composite(folder, target, on_progress=progress)
                job.state, job.progress = "done", 1.0
            except (RecordingError, OSError) as exc:
                job.state, job.error = "failed", str(exc)
                logger.error("composite of %s failed: %s", hearing_id, exc)

        job.task = asyncio.ensure_future(run())
        self._jobs[hearing_id] = job
        return job

    def composite(self, hearing_id: str) -> CompositeJob:
        job = self._jobs.get(hearing_id)
        if job is None:
            raise NotFound("no composite was requested for this hearing",
                           code=Code.RECORDS_NO_COMPOSITE)
        return job

    async def close(self) -> None:
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
