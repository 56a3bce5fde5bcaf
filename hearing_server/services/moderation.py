"""The court's control of the room: admission, removal, mutes, the lock, the phases and
the recording. The session decides who may (``domain.session``); these use cases
apply the decision and carry it out."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..domain import commands as c
from ..domain.errors import Code, Conflict
from ..domain.hearing import HearingKind
from ..domain.session import Event, Session
from .ice import IceServers
from .ports import MediaPort, RecorderPort
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

CONDUCT: dict[c.ConductAction, Callable[[str], Callable[[Session], Event | list[Event]]]] = {
    c.ConductAction.START: lambda actor: lambda s: s.start_session(actor),
    c.ConductAction.RECESS: lambda actor: lambda s: s.recess(actor),
    c.ConductAction.RESUME: lambda actor: lambda s: s.resume(actor),
    c.ConductAction.ADJOURN: lambda actor: lambda s: s.adjourn(actor),
}


class ModerationService:
    def __init__(self, work: UnitOfWork, relay: MediaPort, ice: IceServers,
                 recorder: RecorderPort | None = None) -> None:
        self._work = work
        self._ice = ice
        self._relay = relay
        self._recorder = recorder

    async def admit(self, hearing_id: str, actor: str, cmd: c.Admit) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.admit(actor, cmd.participant_id))
        await self._work.notifier.to_participant(
            hearing_id, cmd.participant_id, "admitted",
            {"ice_servers": self._ice.for_participant(hearing_id, cmd.participant_id)})

    async def send_to_lobby(self, hearing_id: str, actor: str, cmd: c.SendToLobby) -> None:
        """Back to the waiting room: their media connection is closed (as the court's
        decision, not as a loss) and they get a new one when admitted again."""
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.send_to_lobby(actor, cmd.participant_id))
        await self._relay.disconnect(hearing_id, cmd.participant_id, "lobby")
        await self._work.notifier.to_participant(hearing_id, cmd.participant_id,
                                                 "sent_to_lobby", {})

    async def recall(self, hearing_id: str, actor: str, cmd: c.Recall) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.recall(actor, cmd.participant_id))

    async def allow_screen(self, hearing_id: str, actor: str, cmd: c.AllowScreen) -> None:
        """Allow or stop a participant's screen share; the relay stops forwarding it as
        it sees the session, and the page stops sending."""
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(
            hearing, lambda s: s.allow_screen(actor, cmd.participant_id, cmd.allowed))
        await self._work.notifier.to_participant(
            hearing_id, cmd.participant_id,
            "screen.allowed" if cmd.allowed else "screen.stopped", {})

    async def deny(self, hearing_id: str, actor: str, cmd: c.Deny) -> None:
        hearing = await self._work.hearing(hearing_id)
        event = await self._work.change(hearing,
                                        lambda s: s.deny(actor, cmd.participant_id, cmd.reason))
        await self._work.notifier.disconnect_participant(hearing_id, cmd.participant_id,
                                                         "denied", {"reason": cmd.reason})
        await self._work.publish(hearing, [event])

    async def remove(self, hearing_id: str, actor: str, cmd: c.Remove) -> None:
        hearing = await self._work.hearing(hearing_id)
        event = await self._work.change(
            hearing, lambda s: s.remove(actor, cmd.participant_id, cmd.reason))
        await self._relay.disconnect(hearing_id, cmd.participant_id, "removed")
        await self._work.notifier.disconnect_participant(hearing_id, cmd.participant_id,
                                                         "removed", {"reason": cmd.reason})
        await self._work.publish(hearing, [event])

    async def mute(self, hearing_id: str, actor: str, cmd: c.Mute) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing,
                               lambda s: s.mute(actor, cmd.participant_id, cmd.kind, cmd.force))
        await self._work.notifier.to_participant(
            hearing_id, cmd.participant_id, "muted" if cmd.force else "mute.request",
            {"kind": cmd.kind.value, "forced": cmd.force})

    async def unmute(self, hearing_id: str, actor: str, cmd: c.Unmute) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.unmute(actor, cmd.participant_id, cmd.kind))
        await self._work.notifier.to_participant(hearing_id, cmd.participant_id, "unmuted",
                                                 {"kind": cmd.kind.value})

    async def self_mute(self, hearing_id: str, actor: str, cmd: c.SelfMute) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.self_mute(actor, cmd.kind, cmd.muted))

    async def lock(self, hearing_id: str, actor: str, cmd: c.Lock) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, lambda s: s.lock(actor, cmd.locked))

    async def conduct(self, hearing_id: str, actor: str, cmd: c.Conduct) -> None:
        hearing = await self._work.hearing(hearing_id)
        await self._work.apply(hearing, CONDUCT[cmd.action](actor))
        if (cmd.action is c.ConductAction.START and hearing.kind is HearingKind.HEARING
                and hearing.recorded):
            # a court hearing (a reception call if the court records them) is recorded
            # from the moment it opens
            await self._work.apply(hearing, lambda s: s.set_recording(actor, "start", ""))
        if cmd.action is c.ConductAction.ADJOURN:
            await self._relay.close_hearing(hearing_id)
            if self._recorder is not None:
                session = await self._work.session(hearing)
                sealed = await self._recorder.seal(hearing, session.settlement)
                if sealed is not None:
                    self._work.record(hearing_id, Event("record_sealed", actor, None, sealed))

    async def recording(self, hearing_id: str, actor: str, cmd: c.Recording) -> None:
        hearing = await self._work.hearing(hearing_id)
        if not hearing.recorded:
            raise Conflict("the court does not record these calls",
                           code=Code.RECEPTION_NOT_RECORDED)
        await self._work.apply(hearing,
                               lambda s: s.set_recording(actor, cmd.action, cmd.reason))
