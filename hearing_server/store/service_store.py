"""Served documents and the service events, on the node's disk (blocking: call off the loop).

``data/service/documents/<sha256>``  the bytes, written once (0400), never changed
``data/service/<hearing_id>/documents.jsonl``  one line per document of the hearing
``data/service/<hearing_id>/events.jsonl``     the service events, append-only

A document is named by its hash, so the bytes a recipient downloads are the bytes
that were hashed when the clerk uploaded them; a file whose hash no longer matches
is refused, not served.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..domain.errors import Code, HearingError, NotFound
from ..domain.service import Document

_SHA = re.compile(r"^[0-9a-f]{64}$")
_HID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ServiceStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _hearing(self, hearing_id: str) -> Path:
        if not _HID.match(hearing_id):
            raise NotFound("no such hearing", code=Code.HEARING_NOT_FOUND)
        return self.root / hearing_id

    def _blob(self, sha: str) -> Path:
        if not _SHA.match(sha):
            raise NotFound("no such document", code=Code.SERVICE_DOCUMENT_NOT_FOUND)
        return self.root / "documents" / sha

    # -- documents ---------------------------------------------------------------

    def add_document(self, doc: Document, content: bytes) -> Document:
        blob = self._blob(doc.id)
        with self._lock:
            blob.parent.mkdir(parents=True, exist_ok=True)
            if not blob.exists():
                tmp = blob.with_suffix(".tmp")
                with open(tmp, "wb") as fh:
                    fh.write(content)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o400)
                os.replace(tmp, blob)
            for old in self._lines(self._hearing(doc.hearing_id) / "documents.jsonl"):
                if old.get("id") == doc.id:
                    return Document.from_dict(old)  # the same bytes twice: one document
            self._append(self._hearing(doc.hearing_id) / "documents.jsonl", doc.to_dict())
        return doc

    def documents(self, hearing_id: str) -> list[Document]:
        return [Document.from_dict(d)
                for d in self._lines(self._hearing(hearing_id) / "documents.jsonl")]

    def document(self, hearing_id: str, doc_id: str) -> Document:
        for doc in self.documents(hearing_id):
            if doc.id == doc_id:
                return doc
        raise NotFound("no such document in this hearing", code=Code.SERVICE_DOCUMENT_NOT_FOUND)

    def content(self, doc: Document) -> bytes:
        """The document's bytes, checked against its hash."""
        try:
            data = self._blob(doc.id).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("the document's file is missing",
                           code=Code.SERVICE_DOCUMENT_NOT_FOUND) from exc
        if hashlib.sha256(data).hexdigest() != doc.id:
            raise HearingError("the stored document does not match its hash",
                               code=Code.ERROR_INTERNAL)
        return data

    def path(self, doc: Document) -> Path:
        return self._blob(doc.id)

    # -- events ------------------------------------------------------------------

    def append(self, hearing_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            self._append(self._hearing(hearing_id) / "events.jsonl", event)

    def events(self, hearing_id: str) -> list[dict[str, Any]]:
        return self._lines(self._hearing(hearing_id) / "events.jsonl")

    def hearings(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name != "documents")

    @staticmethod
    def _append(path: Path, obj: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.write(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    @staticmethod
    def _lines(path: Path) -> list[dict[str, Any]]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.split(b"\n"):
            if line.strip():
                try:
                    value = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if isinstance(value, dict):
                    out.append(value)
        return out
