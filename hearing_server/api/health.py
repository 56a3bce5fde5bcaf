"""``/healthz`` (the process is alive) and ``/readyz`` (the node can take new hearings).

A load balancer or orchestrator restarts a node whose ``/healthz`` fails and stops
sending new hearings to a node whose ``/readyz`` fails. The node is not ready while
its store (SQLite or Redis) does not answer, while it drains (SIGTERM), or while the
data folder's file system has less free space than ``min_free_disk_mb``. Both
answer JSON naming each check; ``/readyz`` answers 503 when any check fails.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ..domain.errors import HearingError
from ..store.base import Store
from .models import Health
from .openapi import operation

#: A store that takes longer than this to answer a read is not ready.
STORE_TIMEOUT = 2.0
PROBE_ID = "readyz-probe"


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, **self.data}


class Readiness:
    """What ``/readyz`` reports. The composition root makes one per node; the serve
    loop calls :meth:`start_draining` on SIGTERM. It reads the store and the disk,
    and owns nothing else."""

    def __init__(self, store: Store, data_dir: Path, min_free_bytes: int,
                 node_id: str = "") -> None:
        self._store = store
        self._data_dir = data_dir
        self._min_free_bytes = min_free_bytes
        self.node_id = node_id
        self._draining = False

    @property
    def draining(self) -> bool:
        return self._draining

    def start_draining(self) -> None:
        self._draining = True

    async def store_check(self) -> Check:
        try:
            await asyncio.wait_for(self._store.get_hearing(PROBE_ID), STORE_TIMEOUT)
        except TimeoutError:
            return Check(False, f"the store did not answer within {STORE_TIMEOUT:.0f} s", {})
        except HearingError as exc:
            return Check(False, exc.message, {"code": exc.code})
        except Exception as exc:  # a broken SQLite file, a closed connection, ...
            return Check(False, f"the store failed: {exc}", {})
        return Check(True, "reachable", {})

    def draining_check(self) -> Check:
        if self._draining:
            return Check(False, "draining: takes no new hearings", {})
        return Check(True, "not draining", {})

    async def disk_check(self) -> Check:
        try:
            usage = await asyncio.to_thread(shutil.disk_usage, self._data_dir)
        except OSError as exc:
            return Check(False, f"cannot read the data folder: {exc.strerror}", {})
        data = {"free_bytes": usage.free, "min_free_bytes": self._min_free_bytes}
        if usage.free < self._min_free_bytes:
            return Check(False, "too little free disk space in the data folder", data)
        return Check(True, "enough free disk space", data)

    async def checks(self) -> dict[str, Check]:
        store, disk = await asyncio.gather(self.store_check(), self.disk_check())
        return {"store": store, "draining": self.draining_check(), "disk": disk}


READINESS: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)

routes = web.RouteTableDef()


@routes.get("/healthz")
@operation("getHealth", "Alive: the process answers", response=Health, security=(),
           tag="operations")
async def healthz(request: web.Request) -> web.Response:
    """Alive: the event loop answers. Never depends on Redis or the disk."""
    readiness = request.app[READINESS]
    return web.json_response({
        "status": "ok", "node_id": readiness.node_id,
        "checks": {"event_loop": {"ok": True, "detail": "answering"}},
        "draining": readiness.draining,
    })


@routes.get("/readyz")
@operation("getReadiness", "Ready for new hearings (503 when not)", response=Health,
           security=(), tag="operations")
async def readyz(request: web.Request) -> web.Response:
    readiness = request.app[READINESS]
    checks = await readiness.checks()
    ready = all(c.ok for c in checks.values())
    return web.json_response({
        "status": "ready" if ready else "not_ready", "node_id": readiness.node_id,
        "checks": {name: c.to_dict() for name, c in checks.items()},
    }, status=200 if ready else 503, headers={"Cache-Control": "no-store"})
