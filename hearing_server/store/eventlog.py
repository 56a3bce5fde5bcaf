"""The hearing's event log: JSON lines in the hearing's folder, flushed per line."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..domain.session import Event


class EventLog:
    def __init__(self, root: Path) -> None:
        self._root = root

    def folder(self, hearing_id: str) -> Path:
        return self._root / hearing_id

    def path(self, hearing_id: str) -> Path:
        return self.folder(hearing_id) / "events.jsonl"

    def append(self, hearing_id: str, event: Event, at: float | None = None) -> dict[str, Any]:
        at = time.time() if at is None else at
        line = {
            "at": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
            "ts": round(at, 3),
            **event.to_dict(),
        }
        path = self.path(hearing_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # private
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return line

    def read(self, hearing_id: str) -> list[dict[str, Any]]:
        path = self.path(hearing_id)
        if not path.exists():
            return []
        out = []
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                raw = raw.strip()
                if raw:
                    try:
                        out.append(json.loads(raw))
                    except json.JSONDecodeError:
                        continue  # a torn last line after a crash
        return out
