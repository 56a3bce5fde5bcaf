"""Logging setup: plain lines, or one JSON object a line (``log_json``) for collectors.

Hearing and participant ids travel with the code that handles them, not in every
call: wrap the work in :func:`log_context` (or call :func:`bind_log_context` at the
top of a request or event handler, which runs in its own task) and every record
logged inside carries ``hearing_id`` / ``participant_id``::

    with log_context(hearing_id=hearing.id, participant_id=pid):
        logger.info("admitted")        # -> {"message": "admitted", "hearing_id": ...}

This module imports nothing but the standard library, so every layer may use it.
The HTTP access log with structured fields is ``hearing_server.api.access_log``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType

#: Fields a record may carry (from :func:`log_context` or ``extra=``), in output order.
FIELDS = ("hearing_id", "participant_id", "node_id", "method", "path", "status",
          "latency_ms", "remote")
CONTEXT_FIELDS = ("hearing_id", "participant_id")

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "hearing_log_context", default=MappingProxyType({}))


def _clean(ids: Mapping[str, object | None]) -> dict[str, str]:
    unknown = set(ids) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"log context takes {CONTEXT_FIELDS}, not {sorted(unknown)}")
    return {k: str(v) for k, v in ids.items() if v is not None}


@contextmanager
def log_context(**ids: object | None) -> Iterator[None]:
    """Attach ``hearing_id`` / ``participant_id`` to every record logged inside."""
    token = _context.set({**_context.get(), **_clean(ids)})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**ids: object | None) -> None:
    """Attach ids for the rest of the current task (a request or event handler:
    asyncio copies the context into each task, so this never leaks to another)."""
    _context.set({**_context.get(), **_clean(ids)})


def current_log_context() -> dict[str, str]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the current log context (and the node id) onto each record."""

    def __init__(self, node_id: str | None = None) -> None:
        super().__init__()
        self.node_id = node_id

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        if self.node_id is not None and getattr(record, "node_id", None) is None:
            record.node_id = self.node_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS
               if getattr(record, k, None) is not None]
        return f"{text} [{' '.join(ids)}]" if ids else text


def configure(level: str, as_json: bool, node_id: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else PlainFormatter())
    handler.addFilter(ContextFilter(node_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aioice logs every ICE check at INFO: keep it for debugging only
    logging.getLogger("aioice").setLevel(max(logging.WARNING, root.level))
