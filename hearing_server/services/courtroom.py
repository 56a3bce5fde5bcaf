"""The live hearing: joining through a link, the lobby, moderation, conduct and media.

Each use case loads the hearing, applies one domain rule atomically through
the store, appends the resulting event to the hearing's log, then tells the
participants (through the :class:`Notifier`) and the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..auth.tokens import JoinClaims, TokenService
from ..domain.errors import (
    Conflict,
    HearingError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TokenError,
)
from ..domain.hearing import Hearing, HearingKind, HearingStatus
from ..domain.ids import ParticipantId
from ..domain.policy import Source
from ..domain.roles import Capability, can
from ..domain.session import Event, MediaKind, Presence, Session
from ..relay.sfu import Relay
from ..settings import Settings
from ..store.base import Store
from ..store.eventlog import EventLog
from ..store.nodes import Nodes
from .ports import Notifier
from .recording import RecordingService

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_REASON = 500


def _text(value: Any, name: str, max_len: int = MAX_REASON) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string")
    if len(value) > max_len:
        raise InvalidInput(f"'{name}' is longer than {max_len} characters")
    return value.strip()


def _pid(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput("'participant_id' must be a participant id string")
    return value


def _kind(value: Any) -> MediaKind:
    try:
        return MediaKind(value)
    except ValueError as exc:
        raise InvalidInput("'kind' must be 'audio' or 'video'") from exc


class CourtroomService:
    def __init__(self, store: Store, tokens: TokenService, events: EventLog, relay: Relay,
                 notifier: Notifier, settings: Settings,
                 recorder: RecordingService | None = None,
                 nodes: Nodes | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._tokens = tokens
        self._events = events
        self._relay = relay
        self._notifier = notifier
        self._settings = settings
        self._clock = clock
        self._recorder = recorder
        self._nodes = nodes

    # ---- entering -------------------------------------------------------------------------

    async def authenticate(self, token: Any, hearing_id: str | None = None) -> tuple[
            Hearing, JoinClaims]:
        """Check a join token fully: signature, times, revocation, hearing."""
        claims = self._tokens.verify_join(token)
        if hearing_id is not None and hearing_id != claims.hearing_id:
            raise TokenError("this link is for another hearing", code="token.wrong_hearing")
        link = await self._store.get_link(claims.link_id)
        if link is None or link.hearing_id != claims.hearing_id or \
                link.participant_id != claims.participant_id:
            raise TokenError("this link is not known to the court", code="token.invalid")
        if link.revoked:
            raise TokenError("this link was replaced by a newer one; use the latest link",
                             code="token.revoked")
        hearing = await self._store.get_hearing(claims.hearing_id)
        if hearing is None:
            raise NotFound("the hearing no longer exists", code="hearing.not_found")
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("this hearing was cancelled", code="hearing.cancelled")
        spec = hearing.participant(claims.participant_id)
        if spec is None or spec.role is not claims.role:
            raise TokenError("this link does not match the hearing's participants",
                             code="token.invalid")
        return hearing, claims

    async def place(self, hearing: Hearing) -> None:
        """Make sure the hearing's media lives on this node, or send the joiner on."""
        if self._nodes is None:
            return
        placement = await self._nodes.place(hearing.id)
        if not placement.here:
            raise HearingError("this hearing is hosted by another node",
                               code="node.redirect", status=307,
                               extra={"url": placement.url, "node": placement.node_id})
        if placement.moved_from is not None:
            now = self._clock()
            lost = placement.moved_from

            def adopt(s: Session) -> Event:
                for m in s.members.values():
                    if m.connected:
                        m.connected = False
                        m.last_seen = now
                return Event("hearing_moved", None, None, {"from": lost, "to": placement.node_id})

            event = await self._change(hearing, adopt)
            self._events.append(hearing.id, event)
            logger.warning("hearing %s moved from lost node %s to %s", hearing.id, lost,
                           placement.node_id)

    async def open_link(self, token: Any, address: str, user_agent: str) -> dict[str, Any]:
        """The join page opened a link: record the first opening and describe the hearing."""
        hearing, claims = await self.authenticate(token)
        first = await self._store.mark_link_opened(claims.link_id, self._clock(), address,
                                                   user_agent)
        if first:
            self._events.append(hearing.id, Event(
                "link_opened", claims.participant_id, claims.participant_id,
                {"link_id": claims.link_id, "address": address, "user_agent": user_agent[:300]}))
        spec = hearing.participant(claims.participant_id)
        assert spec is not None
        return {
            "court": self._settings.court_name,
            "hearing": {
                "id": hearing.id, "case_number": hearing.case_number, "title": hearing.title,
                "kind": hearing.kind.value, "scheduled_at": hearing.scheduled_at.isoformat(),
            },
            "you": {"participant_id": spec.id, "name": spec.name, "role": spec.role.value},
            "expires_at": claims.expires_at,
        }

    async def join(self, hearing: Hearing, claims: JoinClaims) -> dict[str, Any]:
        spec = hearing.participant(claims.participant_id)
        assert spec is not None
        now = self._clock()
        event = await self._change(hearing, lambda s: s.join(
            ParticipantId(spec.id), spec.name, spec.role, now, self._settings.rejoin_grace))
        await self._store.mark_link_joined(claims.link_id, now)
        session = await self._after(hearing, event)
        me = session.member(spec.id)
        return {
            "hearing": {"id": hearing.id, "case_number": hearing.case_number,
                        "title": hearing.title, "kind": hearing.kind.value},
            "you": me.public(),
            "state": session.public_state(),
            "presence": session.presence_for(spec.role),
            "ice_servers": [s.to_dict() for s in self._settings.ice_servers],
            "codec": {"video": self._settings.video_codec, "audio": "opus"},
        }

    async def connection_lost(self, hearing_id: str, participant_id: str,
                              explicit: bool = False) -> None:
        hearing = await self._store.get_hearing(hearing_id)
        if hearing is None:
            return
        now = self._clock()
        if explicit:
            event = await self._change(hearing, lambda s: s.leave(participant_id, now))
        else:
            event = await self._change(hearing, lambda s: s.disconnect(participant_id, now))
        router = self._relay.existing(hearing_id)
        if router is not None:
            await router.disconnect(participant_id, "left")
        if event is not None:
            await self._after(hearing, event)

    async def replaced(self, hearing_id: str, participant_id: str) -> None:
        """A newer connection took over: close the old one's media quietly."""
        router = self._relay.existing(hearing_id)
        if router is not None:
            await router.disconnect(participant_id, "replaced")
        self._events.append(hearing_id, Event("connection_replaced", participant_id,
                                              participant_id))

    # ---- moderation and conduct ------------------------------------------------------------

    async def admit(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id"))
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.admit(actor, pid))
        await self._after(hearing, event)
        await self._notifier.to_participant(hearing_id, pid, "admitted", {})

    async def deny(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id"))
        reason = _text(args.get("reason"), "reason")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.deny(actor, pid, reason))
        await self._notifier.disconnect_participant(hearing_id, pid, "denied",
                                                    {"reason": reason})
        await self._after(hearing, event)

    async def remove(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id"))
        reason = _text(args.get("reason"), "reason")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.remove(actor, pid, reason))
        router = self._relay.existing(hearing_id)
        if router is not None:
            await router.disconnect(pid, "removed")
        await self._notifier.disconnect_participant(hearing_id, pid, "removed",
                                                    {"reason": reason})
        await self._after(hearing, event)

    async def mute(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id"))
        kind = _kind(args.get("kind", "audio"))
        force = args.get("force", False)
        if not isinstance(force, bool):
            raise InvalidInput("'force' must be true or false")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.mute(actor, pid, kind, force))
        await self._after(hearing, event)
        await self._notifier.to_participant(hearing_id, pid, "mute.request" if not force
                                            else "muted", {"kind": kind.value, "forced": force})

    async def unmute(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id"))
        kind = _kind(args.get("kind", "audio"))
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.unmute(actor, pid, kind))
        await self._after(hearing, event)
        await self._notifier.to_participant(hearing_id, pid, "unmuted", {"kind": kind.value})

    async def self_mute(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        kind = _kind(args.get("kind"))
        muted = args.get("muted")
        if not isinstance(muted, bool):
            raise InvalidInput("'muted' must be true or false")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.self_mute(actor, kind, muted))
        await self._after(hearing, event)

    async def lock(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        locked = args.get("locked", True)
        if not isinstance(locked, bool):
            raise InvalidInput("'locked' must be true or false")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.lock(actor, locked))
        await self._after(hearing, event)

    async def conduct(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        action = args.get("action")
        hearing = await self._hearing(hearing_id)
        rules: dict[str, Callable[[Session], Event]] = {
            "start": lambda s: s.start_session(actor),
            "recess": lambda s: s.recess(actor),
            "resume": lambda s: s.resume(actor),
            "adjourn": lambda s: s.adjourn(actor),
        }
        if not isinstance(action, str) or action not in rules:
            raise InvalidInput("'action' must be one of " + ", ".join(rules))
        event = await self._change(hearing, rules[action])
        await self._after(hearing, event)
        if action == "start" and hearing.kind is HearingKind.HEARING:
            # recording first: a court hearing is recorded from the moment it opens
            started = await self._change(hearing, lambda s: s.set_recording(actor, "start", ""))
            await self._after(hearing, started)
        if action == "adjourn":
            await self._relay.close_hearing(hearing_id)
            if self._recorder is not None:
                session = await self._session(hearing)
                sealed = await self._recorder.seal(hearing, session.settlement)
                if sealed is not None:
                    self._events.append(hearing_id, Event("record_sealed", actor, None, sealed))

    async def recording(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        action = args.get("action")
        if not isinstance(action, str):
            raise InvalidInput("'action' must be start, pause, resume or stop")
        reason = _text(args.get("reason"), "reason")
        hearing = await self._hearing(hearing_id)
        event = await self._change(hearing, lambda s: s.set_recording(actor, action, reason))
        await self._after(hearing, event)

    # ---- mediation -----------------------------------------------------------------------

    async def _many(self, hearing: Hearing, events: list[Event]) -> None:
        for event in events[:-1]:
            self._events.append(hearing.id, event)
        await self._after(hearing, events[-1] if events else None)

    async def caucus_open(self, hearing_id: str, actor: str, args: dict[str, Any]) -> dict[
            str, Any]:
        name = _text(args.get("name"), "name", 80)
        ids = args.get("participant_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 50:
            raise InvalidInput("'participant_ids' must be a list of participant ids")
        hearing = await self._hearing(hearing_id)
        now = self._clock()
        events = await self._change(hearing, lambda s: s.open_caucus(actor, name, ids, now))
        await self._many(hearing, events)
        return {"caucus": events[0].data["caucus"]}

    async def caucus_move(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        pid = _pid(args.get("participant_id", actor))
        room = args.get("room")
        if not isinstance(room, str) or not room or len(room) > 40:
            raise InvalidInput("'room' must be 'main' or a caucus id")
        hearing = await self._hearing(hearing_id)
        now = self._clock()
        event = await self._change(hearing, lambda s: s.move(actor, pid, room, now))
        await self._after(hearing, event)

    async def caucus_end(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        hearing = await self._hearing(hearing_id)
        now = self._clock()
        events = await self._change(hearing, lambda s: s.end_caucuses(actor, now))
        await self._many(hearing, events)

    async def settlement_draft(self, hearing_id: str, actor: str, args: dict[str, Any]) -> dict[
            str, Any]:
        text = args.get("text")
        if not isinstance(text, str):
            raise InvalidInput("'text' must be the terms as text")
        digest = hashlib.sha256(text.encode()).hexdigest()
        hearing = await self._hearing(hearing_id)
        now = self._clock()
        event = await self._change(hearing, lambda s: s.draft_settlement(actor, text, digest,
                                                                         now))
        await self._after(hearing, event)
        return {"sha256": digest}

    async def settlement_confirm(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        if args.get("participant_id", actor) != actor:
            raise PermissionDenied("you can confirm only for yourself", code="permission.denied")
        if args.get("confirm") is not True:
            raise InvalidInput("tick the explicit confirmation ('confirm': true)",
                               code="settlement.not_confirmed")
        sha = args.get("sha256")
        typed = args.get("typed_name")
        if not isinstance(sha, str) or not isinstance(typed, str) or len(typed) > 200:
            raise InvalidInput("'sha256' and 'typed_name' are required")
        hearing = await self._hearing(hearing_id)
        now = self._clock()
        event = await self._change(hearing, lambda s: s.confirm_settlement(actor, sha, typed,
                                                                           now))
        await self._after(hearing, event)

    async def settlement_get(self, hearing_id: str, actor: str, args: dict[str, Any]) -> dict[
            str, Any]:
        hearing = await self._hearing(hearing_id)
        session = await self._session(hearing)
        if not session.is_admitted(actor) or session.settlement is None:
            raise NotFound("there are no terms yet", code="settlement.none")
        return {"settlement": session.settlement.public()}

    # ---- media ------------------------------------------------------------------------------

    async def media_ready(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        """The participant's page is ready: create its connection; the server offers."""
        hearing = await self._hearing(hearing_id)
        session = await self._session(hearing)
        if not session.is_admitted(actor):
            raise PermissionDenied("media starts once you are admitted",
                                   code="media.not_admitted")
        member = session.member(actor)
        router = self._relay.router(hearing_id)
        if self._recorder is not None:
            self._recorder.watch(hearing, router)
            self._recorder.apply(hearing, session)
        await router.connect(actor, member.role, session)

    async def media_answer(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        peer = self._peer(hearing_id, actor)
        peer.handle_answer(args.get("sdp"))

    async def media_candidate(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        await self._peer(hearing_id, actor).add_candidate(args.get("candidate"))

    async def media_publish(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        source = self._source(args)
        router = self._relay.existing(hearing_id)
        if router is None:
            raise Conflict("you have no media connection", code="media.not_connected")
        await router.publish(actor, source)
        hearing = await self._hearing(hearing_id)
        self._events.append(hearing_id, Event("publish", actor, actor,
                                              {"source": source.value}))
        await self._after(hearing, None)

    async def media_unpublish(self, hearing_id: str, actor: str, args: dict[str, Any]) -> None:
        source = self._source(args)
        router = self._relay.existing(hearing_id)
        if router is not None:
            await router.unpublish(actor, source)
        self._events.append(hearing_id, Event("unpublish", actor, actor,
                                              {"source": source.value}))

    @staticmethod
    def _source(args: dict[str, Any]) -> Source:
        try:
            return Source(args.get("source"))
        except ValueError as exc:
            raise InvalidInput("'source' must be microphone, camera or screen") from exc

    def _peer(self, hearing_id: str, actor: str) -> Any:
        router = self._relay.existing(hearing_id)
        peer = router.peers.get(actor) if router is not None else None
        if peer is None:
            raise Conflict("you have no media connection; send media.ready first",
                           code="media.not_connected")
        return peer

    # ---- plumbing -----------------------------------------------------------------------------

    async def _hearing(self, hearing_id: str) -> Hearing:
        hearing = await self._store.get_hearing(hearing_id)
        if hearing is None:
            raise NotFound("no such hearing", code="hearing.not_found")
        return hearing

    async def _session(self, hearing: Hearing) -> Session:
        session = await self._store.get_session(hearing.id)
        return session if session is not None else Session.for_hearing(hearing)

    async def _change(self, hearing: Hearing, change: Callable[[Session], T]) -> T:
        return await self._store.update_session(hearing, change)

    async def _after(self, hearing: Hearing, event: Event | None) -> Session:
        if event is not None:
            self._events.append(hearing.id, event)
            logger.info("hearing %s: %s by %s on %s", hearing.id, event.type, event.actor,
                        event.subject)
        session = await self._session(hearing)
        router = self._relay.existing(hearing.id)
        if router is not None:
            router.apply(session)
        if self._recorder is not None:
            self._recorder.apply(hearing, session)
        await self._notifier.session_changed(hearing, session)
        return session

    async def drain(self, grace: float, stop: asyncio.Event) -> None:
        """Stop taking hearings; wait for running ones; then hand them over."""
        if self._nodes is not None:
            try:
                await self._nodes.set_draining(True)
            except HearingError as exc:
                logger.error("could not announce the drain: %s", exc.message)
        deadline = self._clock() + grace
        while self._relay.routers and self._clock() < deadline and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        for hearing_id in list(self._relay.routers):
            router = self._relay.routers[hearing_id]
            participants = list(router.peers)
            if self._nodes is not None:
                with contextlib.suppress(HearingError):
                    await self._nodes.release(hearing_id)
            self._events.append(hearing_id, Event("hearing_handed_over", None, None,
                                                  {"reason": "node draining"}))
            await self._relay.close_hearing(hearing_id)
            for pid in participants:
                await self._notifier.disconnect_participant(
                    hearing_id, pid, "node.moving",
                    {"code": "node.moving", "message": "the server is restarting; reconnecting"})

    async def recording_receiving(self, hearing_id: str) -> None:
        """The recorder receives media: show the hearing as recorded."""
        hearing = await self._store.get_hearing(hearing_id)
        if hearing is None:
            return
        try:
            event = await self._change(hearing, lambda s: s.recording_receiving())
        except HearingError as exc:
            logger.error("could not mark the recording active: %s", exc.message)
            return
        if event is not None:
            await self._after(hearing, event)

    async def recording_failed(self, hearing_id: str, code: str) -> None:
        """Tell everyone who may record, at once, that the recording failed."""
        session = await self._store.get_session(hearing_id)
        if session is None:
            return
        for m in session.members.values():
            if can(m.role, Capability.RECORD) and m.connected:
                await self._notifier.to_participant(hearing_id, m.participant_id,
                                                    "recording.failed", {"code": code})

    async def session(self, hearing_id: str) -> Session | None:
        return await self._store.get_session(hearing_id)

    def presence_state(self, session: Session, pid: str) -> Presence | None:
        m = session.members.get(pid)
        return m.presence if m else None
