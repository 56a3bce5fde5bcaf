"""Composition root: builds the aiohttp application and wires every part. No logic here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import socketio
from aiohttp import web

from recording.signing import load_or_create_key
from signaling.namespace import HearingNamespace
from signaling.notifier import SocketNotifier

from .api.health import READINESS, Readiness
from .api.health import routes as health_routes
from .api.metrics import METRICS_REGISTRY, metrics
from .api.records import EXPORTS, RECORDS
from .api.records import routes as record_routes
from .api.routes import (
    COURTROOM,
    HEARINGS,
    NODE_ORIGINS,
    STAFF,
    WEB_ROOT,
    add_pages,
    error_middleware,
    routes,
)
from .auth.tokens import TokenService
from .domain.errors import HearingError
from .relay.metrics import registry_for
from .relay.peer import PeerConfig
from .relay.sfu import Relay
from .services.courtroom import CourtroomService
from .services.hearings import HearingService
from .services.recording import RecordingService
from .services.records import RecordsService
from .services.staff import StaffService
from .settings import Settings
from .store.audit import AuditLog
from .store.base import Store
from .store.eventlog import EventLog
from .store.local import LocalStore
from .store.nodes import HEARTBEAT_SECONDS, LocalNodes, Nodes, RedisNodes
from .store.redis_store import RedisStore

logger = logging.getLogger(__name__)

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store", Store)
RELAY: web.AppKey[Relay] = web.AppKey("relay", Relay)
RECORDER: web.AppKey[RecordingService] = web.AppKey("recorder", RecordingService)
NODES: web.AppKey[Nodes] = web.AppKey("nodes", Nodes)
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio", socketio.AsyncServer)

WEB_CLIENT = Path(__file__).resolve().parent.parent / "web_client"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def load_secret(data_dir: Path) -> bytes:
    """The node's token secret, created (mode 0600) in the data folder on first start."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(64))
    return path.read_bytes()


def build_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore(settings.redis_url)
    return LocalStore(settings.data_dir / "hearings.sqlite3")


def build_nodes(settings: Settings) -> Nodes:
    if settings.redis_url:
        return RedisNodes(settings.redis_url, settings.node_id, settings.base_url)
    return LocalNodes(settings.node_id, settings.base_url)


def build_tokens(settings: Settings) -> TokenService:
    return TokenService(load_secret(settings.data_dir), "hearing-server",
                        settings.join_link_ttl, settings.staff_session_ttl)


def ice_host_addresses(settings: Settings) -> list[str]:
    return ["127.0.0.1"] if settings.host in ("127.0.0.1", "localhost") else []


def build_app(settings: Settings) -> web.Application:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[error_middleware], client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[WEB_ROOT] = WEB_CLIENT
    store = build_store(settings)
    tokens = build_tokens(settings)
    events = EventLog(settings.data_dir / "hearings")
    nodes = build_nodes(settings)
    known_origins = {origin_of(settings.base_url)}

    def allow_origin(origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin, or any node's public origin (a join may be sent on to another node).
        Clients without an Origin header (not browsers) are not subject to CORS."""
        if origin is None:
            return True
        scheme = str(environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme")
                     or "http").split(",")[0].strip()
        host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST", "")
        return origin == f"{scheme}://{host}" or origin in known_origins

    manager = (socketio.AsyncRedisManager(settings.redis_url, channel="hearing-server")
               if settings.redis_url else None)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=allow_origin,
        max_http_buffer_size=4 * settings.max_message_bytes,
        logger=False,
        engineio_logger=False,
    )

    class LateNotifier:
        """Breaks the cycle relay -> notifier -> namespace -> courtroom -> relay."""

        target: SocketNotifier | None = None

        async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                                 payload: dict[str, Any]) -> None:
            if self.target is not None:
                await self.target.to_participant(hearing_id, participant_id, event, payload)

    late = LateNotifier()
    relay = Relay(
        PeerConfig(video_codec=settings.video_codec, ice_timeout=settings.ice_timeout,
                   public_ip=settings.public_ip),
        late.to_participant,
        host_addresses=ice_host_addresses(settings),
    )
    signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")

    async def recording_failed(hearing_id: str, code: str) -> None:
        await courtroom.recording_failed(hearing_id, code)

    async def recording_receiving(hearing_id: str) -> None:
        await courtroom.recording_receiving(hearing_id)

    recorder = RecordingService(settings.data_dir / "records", signer, events,
                                settings.recording_segment_seconds, recording_failed,
                                recording_receiving)
    hearings = HearingService(store, tokens, events, settings.base_url)
    staff = StaffService(store, tokens)
    courtroom = CourtroomService(store, tokens, events, relay, late,  # type: ignore[arg-type]
                                 settings, recorder=recorder, nodes=nodes)
    namespace = HearingNamespace(courtroom, settings.max_message_bytes,
                                 settings.events_per_second, settings.event_burst)
    sio.register_namespace(namespace)
    notifier = SocketNotifier(sio, namespace)
    late.target = notifier
    courtroom._notifier = notifier
    sio.attach(app)

    app[STORE] = store
    app[RELAY] = relay
    app[SIO] = sio
    app[HEARINGS] = hearings
    app[STAFF] = staff
    app[COURTROOM] = courtroom
    app[NODES] = nodes

    async def origins() -> list[str]:
        return [n.url for n in await nodes.live_nodes()]

    app[NODE_ORIGINS] = origins
    app[RECORDER] = recorder
    app[RECORDS] = RecordsService(settings.data_dir / "records", store,
                                  AuditLog(settings.data_dir / "audit.jsonl"),
                                  signer.public_key_b64)
    app[EXPORTS] = settings.data_dir / "exports"
    app[METRICS_REGISTRY] = registry_for(relay)
    app.router.add_get("/metrics", metrics)
    app[READINESS] = Readiness(store, settings.data_dir, settings.min_free_disk_mb * 2**20,
                               settings.node_id)
    app.add_routes(health_routes)
    app.add_routes(routes)
    app.add_routes(record_routes)
    add_pages(app)

    def hosted() -> list[str]:
        here = {r for r, router in relay.routers.items() if not router.closed}
        here.update(c.hearing_id for c in namespace.connections.values())
        return sorted(here)

    async def heartbeat() -> None:
        healthy = True
        while True:
            try:
                await nodes.heartbeat(relay.peer_count(), relay.forwarded_streams(), hosted())
                live = {origin_of(n.url) for n in await nodes.live_nodes()}
                known_origins.clear()
                known_origins.update(live | {origin_of(settings.base_url)})
                if not healthy:
                    logger.warning("the shared store (Redis) is reachable again")
                healthy = True
            except HearingError as exc:
                if healthy:
                    logger.error("%s; running hearings keep their media", exc.message)
                healthy = False
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        recovered = recorder.recover()
        if recovered:
            logger.warning("recovered %d recording segment(s) after an unclean stop", recovered)
        beat = asyncio.ensure_future(heartbeat())
        yield
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        await nodes.close()
        await relay.close()
        await recorder.close()
        await app[RECORDS].close()
        await store.close()

    app.cleanup_ctx.append(resources)
    return app
