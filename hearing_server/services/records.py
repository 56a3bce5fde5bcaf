"""Retrieving case records (listing, manifests, files, export, verification, the composite
viewing copy) for the staff of the hearing only; every access is written to the keyed
audit log with its true outcome. File work runs in worker threads, never on the event
loop. Verification binds the record to its hearing and checks the seal registry."""

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
from recording.manifest import SEAL_FORMAT, SEAL_NAME, Manifest
from recording.seals import SealRegistry
from recording.verify import report_json, verify_folder

from ..auth.authz import Action, authorize
from ..auth.tokens import StaffClaims
from ..domain.errors import Code, Conflict, InvalidInput, NotFound, PermissionDenied
from ..domain.hearing import Hearing
from ..store.audit import DENIED, AuditLog
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
                 public_key_b64: str, seals: SealRegistry | None = None) -> None:
        self.records_dir = records_dir
        self._store = store
        self._audit = audit
        self.public_key = public_key_b64
        # Without the node's signer the registry is only read (seals are not adopted).
        self.seals = seals if seals is not None else SealRegistry(
            records_dir.parent / "seals.jsonl")
        self._jobs: dict[str, CompositeJob] = {}

    @property
    def audit_log(self) -> AuditLog:
        return self._audit

    # ---- access control -------------------------------------------------------------

    async def check_access(self, who: StaffClaims, action: str, hearing_id: str | None,
                           address: str = "", hearing: Hearing | None = None) -> None:
        """Allow ``who`` one access to the record of ``hearing`` (``hearing_id`` None: a
        listing, filtered afterwards) by the one policy; a refusal is logged as denied,
        the outcome of an allowed access by :meth:`outcome`."""
        try:
            authorize(who, Action.RECORDS_LIST if hearing_id is None else Action.RECORDS_READ,
                      hearing)
        except PermissionDenied as exc:
            await self._audit.record(who.username, action, hearing_id, DENIED, exc.message,
                                     address)
            raise

    async def outcome(self, actor: str, action: str, hearing_id: str | None, outcome: str,
                      detail: str = "", address: str = "") -> None:
        """Log the outcome (``allowed``, ``denied``, ``failed``) of an access."""
        await self._audit.record(actor, action, hearing_id, outcome, detail, address)

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
        for folder, manifest in await asyncio.to_thread(self._manifests, hearing_id):
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

    def _manifests(self, hearing_id: str | None) -> list[tuple[Path, Manifest]]:
        out: list[tuple[Path, Manifest]] = []
        if not self.records_dir.exists():
            return out
        registered = {line.get("hearing_id") for line in self.seals.lines()}
        for folder in sorted(self.records_dir.iterdir()):
            if hearing_id and folder.name != hearing_id:
                continue
            if folder.is_symlink() or not (folder / "manifest.json").is_file():
                continue
            try:
                manifest = Manifest.load(folder)
            except RecordingError:
                continue
            out.append((folder, manifest))
            if manifest.sealed and folder.name not in registered:
                self._adopt(folder, manifest)
        return out

    def _adopt(self, folder: Path, manifest: Manifest) -> None:
        """Register a sealed record the registry does not know yet (sealed by a node or
        version that did not register it), if its seal verifies for its folder."""
        if self.seals.signer is None or manifest.version < 2 or \
                manifest.hearing_id != folder.name:
            return
        report = verify_folder(folder, self.public_key, expected_hearing_id=folder.name)
        if not report.ok:
            logger.error("record %s does not verify; not registering its seal", folder.name)
            return
        try:
            seal = json.loads((folder / SEAL_NAME).read_bytes())
            if isinstance(seal, dict) and seal.get("format") == SEAL_FORMAT:
                self.seals.register(seal)
        except (OSError, ValueError, RecordingError) as exc:
            logger.error("could not register the seal of %s: %s", folder.name, exc)

    async def manifest(self, hearing_id: str) -> dict[str, Any]:
        folder = self.folder(hearing_id)

        def read() -> dict[str, Any]:
            data: dict[str, Any] = json.loads((folder / "manifest.json").read_bytes())
            return data

        return await asyncio.to_thread(read)

    async def attendance(self, hearing_id: str) -> dict[str, Any]:
        path = self.folder(hearing_id) / "attendance.json"

        def read() -> dict[str, Any]:
            if not path.is_file():
                raise NotFound("attendance is written when the hearing is adjourned",
                               code=Code.RECORDS_NOT_SEALED)
            data: dict[str, Any] = json.loads(path.read_bytes())
            return data

        return await asyncio.to_thread(read)

    async def file(self, hearing_id: str, relative: str) -> Path:
        """A file listed in the hearing's manifest — nothing else is ever served."""
        folder = self.folder(hearing_id)

        def find() -> Path:
            manifest = Manifest.load(folder)
            listed = {e.path for e in manifest.entries}
            if relative not in listed:
                raise NotFound("no such file in this record", code=Code.RECORDS_FILE_NOT_FOUND)
            path = folder / relative
            if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()) \
                    or not path.is_file():
                raise NotFound("no such file in this record", code=Code.RECORDS_FILE_NOT_FOUND)
            return path.resolve()

        return await asyncio.to_thread(find)

    async def export(self, hearing_id: str, dest_dir: Path) -> Path:
        folder = self.folder(hearing_id)
        def build() -> Path:
            dest_dir.mkdir(parents=True, exist_ok=True)
            return export_zip(folder, dest_dir / f"{hearing_id}.zip")

        return await asyncio.to_thread(build)

    async def verify(self, hearing_id: str) -> dict[str, Any]:
        """Verify the record offline-style, bound to ``hearing_id``, against the node's
        key and its seal registry. A valid seal the registry lacks is adopted."""
        folder = self.folder(hearing_id)
        return await asyncio.to_thread(self._verify, folder, hearing_id)

    def _verify(self, folder: Path, hearing_id: str) -> dict[str, Any]:
        registered = self.seals.lookup(hearing_id)
        report = verify_folder(folder, self.public_key, expected_hearing_id=hearing_id,
                               seal=registered)
        registry_problems = self.seals.verify(self.public_key)
        for problem in registry_problems:
            report.add("registry.invalid", None, f"seal registry: {problem}")
        if registered is None and report.ok and report.sealed:
            self._adopt(folder, Manifest.load(folder))
        out = report_json(report)
        out["source"] = hearing_id  # never the server's path
        out["registered"] = self.seals.lookup(hearing_id) is not None
        return out

    # ---- composite viewing copy -----------------------------------------------------------

    async def start_composite(self, hearing_id: str, out_dir: Path) -> CompositeJob:
        folder = self.folder(hearing_id)
        if not (await asyncio.to_thread(Manifest.load, folder)).sealed:
            raise Conflict("the composite is rendered after the hearing is adjourned",
                           code=Code.RECORDS_NOT_SEALED)
        job = self._jobs.get(hearing_id)
        if job is not None and job.state == "running":
            return job
        job = CompositeJob(hearing_id)
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
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
        await self._audit.aclose()
