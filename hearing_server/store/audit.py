"""The access audit log: every read of a case record, and every refusal, as a
hash-chained JSON line (``hash = sha256(prev + canonical body)``)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._head = GENESIS
        if path.exists():
            entries = self.read()
            if entries:
                self._head = str(entries[-1]["hash"])

    def append(self, actor: str, action: str, hearing_id: str | None, outcome: str,
               detail: str = "", address: str = "") -> dict[str, Any]:
        now = time.time()
        body = {
            "at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            "actor": actor, "action": action, "hearing_id": hearing_id, "outcome": outcome,
            "detail": detail[:500], "address": address, "prev": self._head,
        }
        digest = hashlib.sha256(self._head.encode() + _canonical(body)).hexdigest()
        line = {**body, "hash": digest}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._head = digest
        return line

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(raw) for raw in fh if raw.strip()]

    def verify(self) -> tuple[bool, int | None]:
        """Check the chain; returns (intact, index of the first bad line)."""
        prev = GENESIS
        for i, line in enumerate(self.read()):
            body = {k: v for k, v in line.items() if k != "hash"}
            if body.get("prev") != prev:
                return False, i
            digest = hashlib.sha256(prev.encode() + _canonical(body)).hexdigest()
            if digest != line.get("hash"):
                return False, i
            prev = digest
        return True, None
