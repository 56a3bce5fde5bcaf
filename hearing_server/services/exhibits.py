"""Exhibits offered in a hearing: parties and counsel (and the court's staff) upload
them before or during the hearing; the clerk, judge or mediator marks each admitted or
refused and shows it to the hearing. Files are kept under the node's data folder and
hashed when received; the ledger lives in the event log and is sealed into the record
with the files (see ``services/recording.py``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from ..domain import commands as c
from ..domain import exhibits as x
from ..domain.errors import Code, Conflict, PermissionDenied
from ..domain.roles import Role
from ..domain.session import Event, Phase, Presence
from .unit_of_work import UnitOfWork


def _store(path: Path, data: bytes) -> str:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


class ExhibitService:
    def __init__(self, work: UnitOfWork, root: Path) -> None:
        self._work = work
        self._root = root

    def folder(self, hearing_id: str) -> Path:
        return self._root / hearing_id

    def ledger(self, hearing_id: str) -> list[dict[str, Any]]:
        return x.ledger(self._work.events.read(hearing_id))

    async def record_files(self, hearing_id: str) -> dict[str, bytes | Path]:
        """For the sealed record: the exhibit ledger (who, when, hash, status) and every
        exhibit's file."""
        items = self.ledger(hearing_id)
        if not items:
            return {}
        files: dict[str, bytes | Path] = {"exhibits.json": json.dumps(
            {"exhibits": items}, indent=2, ensure_ascii=False).encode()}
        for item in items:
            name = x.safe_name(item["exhibit_id"], item["content_type"])
            path = self.folder(hearing_id) / name
            if path.is_file():
                files["exhibits/" + name] = path
        return files

    async def offer(self, hearing_id: str, participant_id: str, role: Role, title: str,
                    file_name: str, content_type: str, data: bytes) -> dict[str, Any]:
        x.may_offer(role)
        title = x.check_title(title)
        x.check_size(len(data))
        kind = x.check_type(content_type, data[:16])
        hearing = await self._work.hearing(hearing_id)
        if (await self._work.session(hearing)).phase is Phase.ADJOURNED:
            raise Conflict("this hearing has been adjourned", code=Code.HEARING_ADJOURNED)
        exhibit_id = "X-" + secrets.token_hex(4)
        path = self.folder(hearing_id) / x.safe_name(exhibit_id, kind)
        sha = await asyncio.to_thread(_store, path, data)
        self._work.record(hearing_id, Event("exhibit_offered", participant_id, None, {
            "exhibit_id": exhibit_id, "title": title, "file_name": file_name[:200],
            "content_type": kind, "size": len(data), "sha256": sha, "role": role.value}))
        item = x.find(self._work.events.read(hearing_id), exhibit_id)
        await self._tell(hearing_id, "exhibit", item, staff_only=True)
        return item

    def file(self, hearing_id: str, participant_id: str, role: Role,
             exhibit_id: str) -> tuple[Path, dict[str, Any]]:
        item = x.find(self._work.events.read(hearing_id), exhibit_id)
        x.may_read(role, participant_id, item)
        return self.folder(hearing_id) / x.safe_name(exhibit_id, item["content_type"]), item

    async def mark(self, hearing_id: str, actor: str, cmd: c.ExhibitMark) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        await self._work.change(hearing, lambda s: s.may_keep_record(actor))
        x.find(self._work.events.read(hearing_id), cmd.exhibit_id)
        self._work.record(hearing_id, Event("exhibit_status", actor, None, {
            "exhibit_id": cmd.exhibit_id, "status": cmd.status.value}))
        item = x.find(self._work.events.read(hearing_id), cmd.exhibit_id)
        await self._tell(hearing_id, "exhibit", item, staff_only=False)
        return {"exhibit": item}

    async def show(self, hearing_id: str, actor: str, cmd: c.ExhibitShow) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        await self._work.change(hearing, lambda s: s.may_keep_record(actor))
        item = x.find(self._work.events.read(hearing_id), cmd.exhibit_id)
        if item["status"] == x.ExhibitStatus.REFUSED.value:
            raise Conflict("a refused exhibit is not shown", code=Code.STATE_CONFLICT)
        self._work.record(hearing_id, Event("exhibit_shown", actor, None, {
            "exhibit_id": cmd.exhibit_id, "title": item["title"]}))
        item = x.find(self._work.events.read(hearing_id), cmd.exhibit_id)
        await self._tell(hearing_id, "exhibit.shown", item, staff_only=False)
        return {"exhibit": item}

    async def list(self, hearing_id: str, actor: str, cmd: c.ExhibitList) -> dict[str, Any]:
        hearing = await self._work.hearing(hearing_id)
        session = await self._work.session(hearing)
        member = session.members.get(actor)
        role = member.role if member is not None else Role.OBSERVER
        items = []
        for item in self.ledger(hearing_id):
            try:
                x.may_read(role, actor, item)
            except PermissionDenied:
                continue
            items.append(item)
        return {"exhibits": items}

    async def _tell(self, hearing_id: str, event: str, item: dict[str, Any],
                    staff_only: bool) -> None:
        hearing = await self._work.hearing(hearing_id)
        session = await self._work.session(hearing)
        for member in session.members.values():
            if member.presence is not Presence.ADMITTED:
                continue
            try:
                x.may_read(member.role, member.participant_id, item)
                if staff_only:
                    x.may_mark(member.role)
            except PermissionDenied:
                if member.participant_id != item.get("offered_by"):
                    continue
            await self._work.notifier.to_participant(hearing_id, member.participant_id,
                                                     event, item)
