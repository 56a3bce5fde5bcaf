"""The hearing's event log: JSON lines in the hearing's folder, fsynced per line.

Writes (and their fsync) run in one writer thread per log, in the order they were
appended, so the event loop never waits for the disk. ``read`` returns what is on
disk followed by what is still queued, so a reader always sees every appended line
exactly once, in order. Called outside an event loop, ``append`` writes before it
returns (the command line).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..domain.session import Event

logger = logging.getLogger(__name__)


class EventLog:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="eventlog-writer")
        # Lines appended but not yet in the file, per hearing (appended on the loop's
        # thread, removed by the writer once written; the lock keeps readers exact).
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._checked: set[str] = set()  # hearings whose file end was checked (writer)

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
        self._pending.setdefault(hearing_id, []).append(line)
        if self._closed:
            self._write(hearing_id, line)
            return line
        future = self._writer.submit(self._write, hearing_id, line)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            future.result()
        else:
            future.add_done_callback(_log_failure)
        return line

    def _write(self, hearing_id: str, line: dict[str, Any]) -> None:
        path = self.path(hearing_id)
        data = json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if hearing_id not in self._checked:
                data = _after_torn_tail(path) + data
                self._checked.add(hearing_id)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # private
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                with self._lock:
                    fh.write(data)
                    fh.flush()
                    self._drop_pending(hearing_id, line)
                os.fsync(fh.fileno())
        except BaseException:
            with self._lock:
                self._drop_pending(hearing_id, line)
            raise

    def _drop_pending(self, hearing_id: str, line: dict[str, Any]) -> None:
        pending = self._pending.get(hearing_id, [])
        for index, queued in enumerate(pending):
            if queued is line:
                del pending[index]
                break
        if not pending:
            self._pending.pop(hearing_id, None)

    async def flush(self) -> None:
        """Wait until every appended line is written and synced."""
        await asyncio.wrap_future(self._writer.submit(lambda: None))

    def close(self) -> None:
        """Write what is queued and stop the writer thread. Idempotent; later appends
        are written synchronously."""
        if not self._closed:
            self._closed = True
            self._writer.shutdown(wait=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def read(self, hearing_id: str) -> list[dict[str, Any]]:
        path = self.path(hearing_id)
        out: list[dict[str, Any]] = []
        with self._lock:
            queued = list(self._pending.get(hearing_id, []))
            try:
                with open(path, encoding="utf-8") as fh:
                    raws = fh.readlines()
            except FileNotFoundError:
                raws = []
        for raw in raws:
            raw = raw.strip()
            if raw:
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
        return out + [dict(line) for line in queued]


def _after_torn_tail(path: Path) -> str:
    """A newline to end a torn last line left by a crash (so the next line stays
    readable), or nothing."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return ""
            fh.seek(-1, os.SEEK_END)
            return "" if fh.read(1) == b"\n" else "\n"
    except FileNotFoundError:
        return ""


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("could not write the event log: %s", future.exception())
