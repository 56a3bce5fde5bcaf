"""The ``/hearing`` socket.io namespace: parse, authorise, call a service, answer.

Identity and role come from the join token given when connecting, never from
a message. Only the transport raises ``connect`` and ``disconnect`` (see
:mod:`signaling.server`); every client event goes through the same rate limit,
size check and allow-list, is parsed once into a typed command
(:mod:`hearing_server.domain.commands`) and handed to its use case. Every event is
answered through its acknowledgement with ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``; errors are translated here and
nowhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio

from hearing_server.domain import commands as c
from hearing_server.domain.errors import Code, HearingError, RateLimited, spec
from hearing_server.services.entry import EntryService
from hearing_server.services.exhibits import ExhibitService
from hearing_server.services.media import MediaService
from hearing_server.services.mediation import MediationService
from hearing_server.services.minutes import MinutesService
from hearing_server.services.moderation import ModerationService
from hearing_server.services.ports import Counters, NoCounters

from .connections import Connection, Connections
from .ratelimit import TokenBucket
from .rooms import NAMESPACE, participant_room

logger = logging.getLogger(__name__)

#: A client that keeps flooding after this many refused events is disconnected.
FLOOD_DISCONNECT_AFTER = 200
#: One participant may (re)connect this many times in a burst, then once per 2 s.
CONNECT_BURST = 8
CONNECT_RATE = 0.5
MAX_CONNECT_BUCKETS = 10_000

Handler = Callable[[str, str, Any], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Services:
    """The use cases the namespace calls."""

    entry: EntryService
    moderation: ModerationService
    mediation: MediationService
    media: MediaService
    minutes: MinutesService
    exhibits: ExhibitService


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    events_per_second: float
    event_burst: int


def error(code: Code, message: str = "") -> dict[str, Any]:
    return {"ok": False, "error": {"code": code.value, "message": message or spec(code).meaning}}


def handlers(s: Services) -> dict[type[Any], Handler]:
    """Which use case handles which command."""
    m, d, v = s.moderation, s.mediation, s.media
    return {
        c.Admit: m.admit, c.SendToLobby: m.send_to_lobby, c.Recall: m.recall, c.Deny: m.deny,
        c.Remove: m.remove, c.Mute: m.mute, c.AllowScreen: m.allow_screen,
        c.Unmute: m.unmute, c.SelfMute: m.self_mute, c.Lock: m.lock, c.Conduct: m.conduct,
        c.Recording: m.recording,
        c.MediaReady: v.ready, c.MediaAnswer: v.answer, c.MediaCandidate: v.candidate,
        c.MediaPublish: v.publish, c.MediaUnpublish: v.unpublish,
        c.CaucusOpen: d.caucus_open, c.CaucusMove: d.caucus_move, c.CaucusEnd: d.caucus_end,
        c.SettlementDraft: d.settlement_draft, c.SettlementConfirm: d.settlement_confirm,
        c.SettlementGet: d.settlement_get,
        c.MinuteAdd: s.minutes.add, c.MinutesList: s.minutes.list,
        c.ExhibitMark: s.exhibits.mark, c.ExhibitShow: s.exhibits.show,
        c.ExhibitList: s.exhibits.list,
    }


class HearingNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, services: Services, connections: Connections, limits: Limits,
                 counters: Counters | None = None) -> None:
        super().__init__(NAMESPACE)
        self.counters: Counters = counters if counters is not None else NoCounters()
        self.services = services
        self.connections = connections
        self.limits = limits
        self.handlers = handlers(services)
        self._connects: dict[tuple[str, str], TokenBucket] = {}

    # ---- the transport's lifecycle ------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        entry = self.services.entry
        token = auth.get("token") if isinstance(auth, dict) else None
        hearing_id = auth.get("hearing_id") if isinstance(auth, dict) else None
        if hearing_id is not None and not isinstance(hearing_id, str):
            self.counters.join_refused(Code.INPUT_INVALID)
            raise socketio.exceptions.ConnectionRefusedError(
                "hearing_id must be a string",
                {"code": Code.INPUT_INVALID.value, "message": "hearing_id must be a string"})
        try:
            hearing, claims = await entry.authenticate(token, hearing_id)
            self._connect_allowed(hearing.id, claims.participant_id)
            await entry.place(hearing)
            old_sid = self.connections.sid_of(hearing.id, claims.participant_id)
            old = self.connections.get(old_sid) if old_sid is not None else None
            if old_sid is not None and old is not None:
                old.replaced = True
                await self.emit("replaced", {
                    "code": Code.CONNECTION_REPLACED.value,
                    "message": "you joined from another window or device; this one is closed",
                }, to=old_sid)
                await entry.replaced(hearing.id, claims.participant_id)
                await self.disconnect(old_sid)
            conn = Connection(hearing.id, claims.participant_id, claims.role,
                              TokenBucket(self.limits.events_per_second,
                                          self.limits.event_burst))
            self.connections.add(sid, conn)
            await self.enter_room(sid, participant_room(hearing.id, claims.participant_id))
            conn.welcome = await entry.join(hearing, claims)
            eio_sid = self.server.manager.eio_sid_from_sid(sid, NAMESPACE)
            if eio_sid is not None and hasattr(self.server, "joined"):
                self.server.joined(eio_sid)
            self.counters.join_accepted()
        except HearingError as exc:
            self.counters.join_refused(exc.code)
            self.connections.forget(sid)
            logger.info("connection refused: %s", exc.code)
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from exc

    def _connect_allowed(self, hearing_id: str, participant_id: str) -> None:
        """A reconnect storm with one link is refused, not served."""
        key = (hearing_id, participant_id)
        bucket = self._connects.get(key)
        if bucket is None:
            if len(self._connects) >= MAX_CONNECT_BUCKETS:
                self._connects.clear()
            bucket = self._connects[key] = TokenBucket(CONNECT_RATE, CONNECT_BURST)
        if not bucket.take():
            raise RateLimited("too many connections with this link; wait a moment")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.connections.forget(sid)
        if conn is None or conn.replaced:
            return
        try:
            await self.services.entry.connection_lost(conn.hearing_id, conn.participant_id)
        except HearingError:
            pass

    # ---- client events ------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            # only the transport gets here with these names (signaling.server)
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        conn = self.connections.get(sid)
        if conn is None:
            return error(Code.CONNECTION_UNKNOWN, "this connection has not joined a hearing")
        if not conn.bucket.take():
            self.counters.rate_limited("signaling")
            if conn.bucket.refused > FLOOD_DISCONNECT_AFTER:
                logger.warning("disconnecting %s in %s for flooding", conn.participant_id,
                               conn.hearing_id)
                await self.disconnect(sid)
            return error(Code.RATE_LIMITED, "too many messages; slow down")
        if len(args) > 2:
            return error(Code.INPUT_INVALID, "an event takes one object")
        try:
            size = len(json.dumps(data))
        except (TypeError, ValueError, RecursionError):
            return error(Code.INPUT_INVALID, "the message is not JSON")
        if size > self.limits.max_message_bytes:
            return error(Code.EVENT_TOO_LARGE,
                         f"the message is larger than {self.limits.max_message_bytes} bytes")
        if not isinstance(event, str) or event not in c.CLIENT_EVENTS:
            shown = event[:60] if isinstance(event, str) else type(event).__name__
            return error(Code.EVENT_UNKNOWN, f"unknown event {shown!r}")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return error(Code.INPUT_INVALID, "an event's payload must be an object")
        try:
            return await self._dispatch(conn, c.parse(event, data))
        except HearingError as exc:
            return {"ok": False, "error": exc.to_dict()}
        except Exception:
            logger.exception("event %s from %s failed", event, conn.participant_id)
            return error(Code.ERROR_INTERNAL, "the server could not handle this event")

    async def _dispatch(self, conn: Connection, cmd: c.Command) -> dict[str, Any]:
        entry = self.services.entry
        if isinstance(cmd, c.Hello):
            return {"ok": True, **await entry.hello(conn.hearing_id, conn.participant_id,
                                                    conn.welcome)}
        if isinstance(cmd, c.Leave):
            await entry.connection_lost(conn.hearing_id, conn.participant_id, explicit=True)
            return {"ok": True}
        result = await self.handlers[type(cmd)](conn.hearing_id, conn.participant_id, cmd)
        return {"ok": True, **(result or {})}
