"""The ``/hearing`` socket.io namespace: parse, authorise, call a service, answer.

Identity and role come from the join token given when connecting, never from
a message. Every event is answered through its acknowledgement with
``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``;
HearingError codes are translated here and nowhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from hearing_server.domain.errors import HearingError
from hearing_server.domain.roles import Capability, Role, can
from hearing_server.services.courtroom import CourtroomService

from .ratelimit import TokenBucket

logger = logging.getLogger(__name__)

NAMESPACE = "/hearing"
#: A client that keeps flooding after this many refused events is disconnected.
FLOOD_DISCONNECT_AFTER = 200

Handler = Callable[[str, str, dict[str, Any]], Awaitable[Any]]


def hearing_room(hearing_id: str, sees_lobby: bool) -> str:
    return f"h:{hearing_id}:{'staff' if sees_lobby else 'public'}"


def participant_room(hearing_id: str, participant_id: str) -> str:
    return f"p:{hearing_id}:{participant_id}"


@dataclass
class Connection:
    hearing_id: str
    participant_id: str
    role: Role
    bucket: TokenBucket
    welcome: dict[str, Any] = field(default_factory=dict)
    replaced: bool = False
    kicked: bool = False


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class HearingNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, courtroom: CourtroomService, max_message_bytes: int,
                 events_per_second: float, event_burst: int) -> None:
        super().__init__(NAMESPACE)
        self.courtroom = courtroom
        self.max_message_bytes = max_message_bytes
        self.events_per_second = events_per_second
        self.event_burst = event_burst
        self.connections: dict[str, Connection] = {}
        self.sids: dict[tuple[str, str], str] = {}
        c = courtroom
        self.handlers: dict[str, Handler] = {
            "admit": c.admit, "deny": c.deny, "remove": c.remove, "mute": c.mute,
            "unmute": c.unmute, "self_mute": c.self_mute, "lock": c.lock,
            "conduct": c.conduct, "recording": c.recording,
            "media.ready": c.media_ready, "media.answer": c.media_answer,
            "media.candidate": c.media_candidate, "media.publish": c.media_publish,
            "media.unpublish": c.media_unpublish,
            "caucus.open": c.caucus_open, "caucus.move": c.caucus_move,
            "caucus.end": c.caucus_end, "settlement.draft": c.settlement_draft,
            "settlement.confirm": c.settlement_confirm, "settlement.get": c.settlement_get,
        }

    # ---- connecting ------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        hearing_id = auth.get("hearing_id") if isinstance(auth, dict) else None
        if hearing_id is not None and not isinstance(hearing_id, str):
            raise socketio.exceptions.ConnectionRefusedError(
                "hearing_id must be a string",
                {"code": "input.invalid", "message": "hearing_id must be a string"})
        try:
            hearing, claims = await self.courtroom.authenticate(token, hearing_id)
            await self.courtroom.place(hearing)
            key = (hearing.id, claims.participant_id)
            old_sid = self.sids.get(key)
            if old_sid is not None and old_sid in self.connections:
                old = self.connections[old_sid]
                old.replaced = True
                await self.emit("replaced", {
                    "code": "connection.replaced",
                    "message": "you joined from another window or device; this one is closed",
                }, to=old_sid)
                await self.courtroom.replaced(hearing.id, claims.participant_id)
                await self.disconnect(old_sid)
            conn = Connection(hearing.id, claims.participant_id, claims.role,
                              TokenBucket(self.events_per_second, self.event_burst))
            self.connections[sid] = conn
            self.sids[key] = sid
            await self.enter_room(sid, participant_room(hearing.id, claims.participant_id))
            await self.enter_room(sid, hearing_room(hearing.id,
                                                    can(claims.role, Capability.SEE_LOBBY)))
            conn.welcome = await self.courtroom.join(hearing, claims)
        except HearingError as exc:
            self._forget(sid)
            logger.info("connection refused: %s", exc.code)
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from exc

    def _forget(self, sid: str) -> Connection | None:
        conn = self.connections.pop(sid, None)
        if conn is not None and self.sids.get((conn.hearing_id, conn.participant_id)) == sid:
            del self.sids[(conn.hearing_id, conn.participant_id)]
        return conn

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._forget(sid)
        if conn is None or conn.replaced:
            return
        try:
            await self.courtroom.connection_lost(conn.hearing_id, conn.participant_id)
        except HearingError:
            pass

    # ---- events -----------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        conn = self.connections.get(sid)
        if conn is None:
            return error("connection.unknown", "this connection has not joined a hearing")
        if not conn.bucket.take():
            if conn.bucket.refused > FLOOD_DISCONNECT_AFTER:
                logger.warning("disconnecting %s in %s for flooding", conn.participant_id,
                               conn.hearing_id)
                await self.disconnect(sid)
            return error("rate.limited", "too many messages; slow down")
        if len(args) > 2:
            return error("input.invalid", "an event takes one object")
        try:
            size = len(json.dumps(data))
        except (TypeError, ValueError):
            return error("input.invalid", "the message is not JSON")
        if size > self.max_message_bytes:
            return error("event.too_large",
                         f"the message is larger than {self.max_message_bytes} bytes")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return error("input.invalid", "an event's payload must be an object")
        if event == "hello":
            session = await self.courtroom.session(conn.hearing_id)
            welcome = dict(conn.welcome)
            if session is not None:
                welcome["state"] = session.public_state()
                welcome["presence"] = session.presence_for(conn.role)
                me = session.members.get(conn.participant_id)
                if me is not None:
                    welcome["you"] = me.public()
            return {"ok": True, **welcome}
        if event == "leave":
            await self.courtroom.connection_lost(conn.hearing_id, conn.participant_id,
                                                 explicit=True)
            return {"ok": True}
        handler = self.handlers.get(event)
        if handler is None:
            return error("event.unknown", f"unknown event {event[:60]!r}")
        try:
            result = await handler(conn.hearing_id, conn.participant_id, data)
        except HearingError as exc:
            return {"ok": False, "error": exc.to_dict()}
        except Exception:
            logger.exception("event %s from %s failed", event, conn.participant_id)
            return error("error.internal", "the server could not handle this event")
        return {"ok": True, **(result or {})}
