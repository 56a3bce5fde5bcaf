"""Composition root: builds the aiohttp application bottom-up and wires every part.

Stores first, then the transport's registry and notifier, then the relay and the
recorder, then the services with their ports, then the edges (socket.io, REST).
Observers are connected by subscription once their objects exist; nothing is
bound late. Each resource has its own cleanup context, so a failure closing one
does not skip the others. No logic here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import socketio
from aiohttp import web

from recording.seals import SealRegistry
from recording.signing import load_or_create_key
from signaling.connections import Connections
from signaling.namespace import HearingNamespace, Limits, Services
from signaling.notifier import SocketNotifier
from signaling.server import HearingSocketServer

from .api.accounts import routes as account_routes
from .api.edge import cross_site_middleware, forwarded_middleware, security_headers
from .api.errors import error_middleware
from .api.exhibits import EXHIBITS
from .api.exhibits import routes as exhibit_routes
from .api.health import READINESS, Readiness
from .api.health import routes as health_routes
from .api.metrics import METRICS_REGISTRY, CountedRecordingEvents, NodeMetrics, metrics
from .api.reception import RECEPTION, RECEPTION_LOCK
from .api.reception import routes as reception_routes
from .api.records import EXPORTS, PLAYER, RECORDS
from .api.records import routes as record_routes
from .api.routes import (
    ACCESS,
    CLOSING,
    ENTRY,
    HEARINGS,
    NODE_ORIGINS,
    SESSION_COOKIE,
    STAFF,
    WEB_ROOT,
    add_pages,
    routes,
)
from .api.serving import SERVING
from .api.serving import routes as serving_routes
from .auth.tokens import TokenService
from .domain.commands import Conduct, ConductAction
from .domain.errors import HearingError
from .domain.reception import QueueLimits, ReceptionQueue, parse_hours
from .mail import SmtpMailer
from .relay.candidates import CandidatePolicy
from .relay.metrics import RelayCollector
from .relay.peer import PeerConfig
from .relay.quality import QualitySampler
from .relay.sfu import Relay
from .services.access import Access
from .services.closing import ClosingService
from .services.drain import DrainService
from .services.entry import EntryService
from .services.exhibits import ExhibitService
from .services.hearings import HearingService
from .services.ice import IceServers
from .services.media import MediaService
from .services.media_health import MediaHealthService
from .services.mediation import MediationService
from .services.minutes import MinutesService
from .services.moderation import ModerationService
from .services.player import PlayerService
from .services.reception import ReceptionService
from .services.recording import RecordingService
from .services.recording_events import RecordingAlerts
from .services.records import RecordsService
from .services.restore import RestoreService
from .services.serving import ServingService
from .services.staff import StaffService
from .services.unit_of_work import SessionObservers, UnitOfWork
from .settings import Settings
from .store.alive import AliveMarker
from .store.audit import AuditLog
from .store.base import Store
from .store.eventlog import EventLog
from .store.local import LocalStore
from .store.nodes import HEARTBEAT_SECONDS, LocalNodes, Nodes, RedisNodes
from .store.redis_store import RedisStore
from .store.service_store import ServiceStore
from .tasks import TaskSet

logger = logging.getLogger(__name__)

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
STORE: web.AppKey[Store] = web.AppKey("store", Store)
RELAY: web.AppKey[Relay] = web.AppKey("relay", Relay)
RECORDER: web.AppKey[RecordingService] = web.AppKey("recorder", RecordingService)
NODES: web.AppKey[Nodes] = web.AppKey("nodes", Nodes)
SIO: web.AppKey[HearingSocketServer] = web.AppKey("sio", HearingSocketServer)
DRAIN: web.AppKey[DrainService] = web.AppKey("drain", DrainService)

WEB_CLIENT = Path(__file__).resolve().parent.parent / "web_client"

Cleanup = Callable[[web.Application], AsyncIterator[None]]


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


class KnownOrigins:
    """This node's public origin and every live node's (a join may be sent on)."""

    def __init__(self, base_url: str) -> None:
        self._own = origin_of(base_url)
        self.origins = {self._own}

    def update(self, urls: list[str]) -> None:
        self.origins = {origin_of(u) for u in urls} | {self._own}

    def allow(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin, or any node's public origin. Clients without an Origin header
        (not browsers) are not subject to CORS."""
        if origin is None:
            return True
        request = environ["aiohttp.request"]  # as seen through a trusted proxy only
        return origin == f"{request.scheme}://{request.host}" or origin in self.origins


def closing(close: Callable[[], Awaitable[None]]) -> Cleanup:
    """One cleanup context for one resource."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        try:
            await close()
        except Exception:
            logger.exception("closing %s failed", getattr(close, "__qualname__", close))

    return ctx


def heartbeat(nodes: Nodes, relay: Relay, connections: Connections,
              origins: KnownOrigins, alive: AliveMarker) -> Cleanup:
    """Announce this node (load, hosted hearings) and learn the others, every few seconds."""

    async def beat() -> None:
        healthy = True
        while True:
            try:
                await alive.beat(time.time())
            except OSError as exc:
                logger.error("could not write the node's alive marker: %s", exc)
            try:
                hosted = sorted(set(relay.hosted()) | connections.hearings())
                await nodes.heartbeat(relay.peer_count(), relay.forwarded_streams(), hosted)
                origins.update([n.url for n in await nodes.live_nodes()])
                if not healthy:
                    logger.warning("the shared store (Redis) is reachable again")
                healthy = True
            except HearingError as exc:
                if healthy:
                    logger.error("%s; running hearings keep their media", exc.message)
                healthy = False
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        tasks = TaskSet()
        tasks.spawn(beat())
        yield
        await tasks.aclose()

    return ctx


def recovery(recorder: RecordingService, restore: RestoreService | None,
             alive: AliveMarker) -> Cleanup:
    """At start-up: close what a crash left of the recordings, then bring every live
    hearing back as the court left it (single node; with several, a takeover does)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        recovered = recorder.recover()
        if recovered:
            logger.warning("recovered %d recording segment(s) after an unclean stop", recovered)
        if restore is not None:
            await restore.after_restart(alive.previous)
        yield

    return ctx


def sampling(quality: QualitySampler) -> Cleanup:
    """Sample the media quality (aiortc's statistics) every few seconds."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        tasks = TaskSet()
        tasks.spawn(quality.run())
        yield
        await tasks.aclose()

    return ctx


def build_app(settings: Settings) -> web.Application:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    node_metrics = NodeMetrics(settings.data_dir, settings.node_id)
    app = web.Application(middlewares=[
        node_metrics.middleware(),
        forwarded_middleware(settings.trusted_proxies), error_middleware,
        cross_site_middleware(settings.base_url, SESSION_COOKIE)], client_max_size=256 * 1024)
    app.on_response_prepare.append(security_headers)
    app[SETTINGS] = settings
    app[WEB_ROOT] = WEB_CLIENT

    # stores
    store = build_store(settings)
    nodes = build_nodes(settings)
    tokens = build_tokens(settings)
    events = EventLog(settings.data_dir / "hearings")
    alive = AliveMarker(settings.data_dir / "alive")
    signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")
    audit = AuditLog(settings.data_dir / "audit.jsonl", signer=signer)
    seals = SealRegistry(settings.data_dir / "seals.jsonl", signer)

    # the transport's registry and the notifier
    origins = KnownOrigins(settings.base_url)
    manager = (socketio.AsyncRedisManager(settings.redis_url, channel="hearing-server")
               if settings.redis_url else None)
    sio = HearingSocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=origins.allow,
        max_http_buffer_size=4 * settings.max_message_bytes,
        logger=False,
        engineio_logger=False,
    )
    connections = Connections()
    notifier = SocketNotifier(sio, connections)

    # media and the record
    relay = Relay(
        PeerConfig(video_codec=settings.video_codec, ice_timeout=settings.ice_timeout,
                   public_ip=settings.public_ip,
                   candidates=CandidatePolicy(allow_loopback=bool(ice_host_addresses(settings))),
                   port_range=(settings.ice_port_min, settings.ice_port_max)),
        notifier.to_participant,
        host_addresses=ice_host_addresses(settings),
    )
    observers = SessionObservers()
    observers.subscribe(relay)
    work = UnitOfWork(store, events, observers, notifier)
    hearings = HearingService(store, tokens, events, settings.base_url,
                              settings.join_link_grace, notifier)
    exhibits = ExhibitService(work, settings.data_dir / "exhibits")
    serving = ServingService(ServiceStore(settings.data_dir / "service"), hearings,
                             SmtpMailer(settings), settings.base_url, settings.court_name,
                             max_bytes=settings.service_max_document_bytes,
                             link_ttl=settings.service_link_ttl,
                             attempts=settings.smtp_attempts,
                             court_contact=settings.court_contact,
                             retry_delay=settings.smtp_retry_delay)
    recorder = RecordingService(settings.data_dir / "records", signer, events,
                                settings.recording_segment_seconds, relay,
                                CountedRecordingEvents(RecordingAlerts(work), node_metrics),
                                seals, contributors=(serving, exhibits))
    observers.subscribe(recorder)
    relay.subscribe(recorder)
    media_health = MediaHealthService(work)
    relay.watch_health(media_health)

    # use cases
    ice = IceServers.from_settings(settings)
    entry = EntryService(work, tokens, relay, settings, ice, nodes)
    services = Services(entry=entry, moderation=ModerationService(work, relay, ice, recorder),
                        mediation=MediationService(work), media=MediaService(work, relay),
                        minutes=MinutesService(work), exhibits=exhibits)
    records = RecordsService(settings.data_dir / "records", store, audit,
                             signer.public_key_b64, seals)

    # edges
    sio.register_namespace(HearingNamespace(services, connections, Limits(
        settings.max_message_bytes, settings.events_per_second, settings.event_burst),
        node_metrics))
    sio.attach(app)

    app[STORE] = store
    app[NODES] = nodes
    app[SIO] = sio
    app[RELAY] = relay
    app[RECORDER] = recorder
    app[CLOSING] = ClosingService(work, relay, recorder)
    app[RECORDS] = records
    app[EXHIBITS] = exhibits
    app[PLAYER] = PlayerService(records, settings.data_dir / "lanes")
    app[EXPORTS] = settings.data_dir / "exports"
    app[HEARINGS] = hearings
    app[SERVING] = serving
    app[RECEPTION] = ReceptionService(
        ReceptionQueue(settings.reception_topics, QueueLimits(
            settings.reception_queue_max, settings.reception_per_address,
            settings.reception_expire_after)),
        parse_hours(settings.reception_hours or "mon-sun 00:00-24:00",
                    settings.reception_holidays, ZoneInfo(settings.reception_timezone)),
        hearings, notifier=notifier, recorded=settings.reception_recorded,
        adjourn=lambda hid: services.moderation.conduct(
            hid, "staff", Conduct(ConductAction.ADJOURN)))
    app[RECEPTION_LOCK] = asyncio.Lock()
    app[STAFF] = StaffService(store, tokens,
                              attempts_per_account=settings.sign_in_attempts_per_account,
                              attempts_per_address=settings.sign_in_attempts_per_address,
                              attempt_window=settings.sign_in_window)
    app[ACCESS] = Access(audit)
    app[ENTRY] = entry
    app[DRAIN] = DrainService(work, relay, nodes)

    async def node_origins() -> list[str]:
        return [n.url for n in await nodes.live_nodes()]

    app[NODE_ORIGINS] = node_origins
    quality = QualitySampler(relay, node_metrics.registry)
    node_metrics.registry.register(RelayCollector(relay, quality))
    app[METRICS_REGISTRY] = node_metrics.registry
    app.router.add_get("/metrics", metrics)
    app[READINESS] = Readiness(store, settings.data_dir, settings.min_free_disk_mb * 2**20,
                               settings.node_id)
    app.add_routes(health_routes)
    app.add_routes(routes)
    app.add_routes(record_routes)
    app.add_routes(exhibit_routes)
    app.add_routes(account_routes)
    app.add_routes(serving_routes)
    app.add_routes(reception_routes)
    add_pages(app)

    # resources, closed in the reverse order: store last
    app.cleanup_ctx.extend([
        closing(store.close),
        closing(events.aclose),
        closing(records.close),
        closing(recorder.close),
        closing(media_health.aclose),
        closing(relay.close),
        closing(nodes.close),
        recovery(recorder, None if settings.redis_url else RestoreService(work), alive),
        heartbeat(nodes, relay, connections, origins, alive),
        node_metrics.lag_probe(),
        sampling(quality),
    ])
    return app
