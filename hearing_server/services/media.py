"""A participant's media connection: the server offers, the page answers, tracks are
published; the relay does the forwarding (``relay/``)."""

from __future__ import annotations

from ..domain import commands as c
from ..domain.errors import Code, PermissionDenied
from ..domain.policy import Source
from ..domain.session import Event
from .ports import MediaPort
from .unit_of_work import UnitOfWork


class MediaService:
    def __init__(self, work: UnitOfWork, relay: MediaPort) -> None:
        self._work = work
        self._relay = relay

    async def ready(self, hearing_id: str, actor: str, cmd: c.MediaReady) -> None:
        """The participant's page is ready: create its connection; the server offers."""
        hearing = await self._work.hearing(hearing_id)
        session = await self._work.session(hearing)
        if not session.is_admitted(actor):
            raise PermissionDenied("media starts once you are admitted",
                                   code=Code.MEDIA_NOT_ADMITTED)
        await self._relay.connect(hearing_id, actor, session.member(actor).role, session,
                                  cmd.retry)
        # the recorder and the relay see the session the connection was made in
        await self._work.refresh(hearing)

    async def answer(self, hearing_id: str, actor: str, cmd: c.MediaAnswer) -> None:
        await self._relay.answer(hearing_id, actor, cmd.sdp)

    async def candidate(self, hearing_id: str, actor: str, cmd: c.MediaCandidate) -> None:
        await self._relay.add_candidate(hearing_id, actor, cmd.candidate)

    async def publish(self, hearing_id: str, actor: str, cmd: c.MediaPublish) -> None:
        hearing = await self._work.hearing(hearing_id)
        if cmd.source is Source.SCREEN:
            session = await self._work.session(hearing)
            if not session.may_share_screen(actor):
                raise PermissionDenied("the court has not allowed you to share your screen",
                                       code=Code.SCREEN_NOT_ALLOWED)
        await self._relay.publish(hearing_id, actor, cmd.source, cmd.language)
        detail: dict[str, str] = {"source": cmd.source.value}
        if cmd.language is not None:
            detail["language"] = cmd.language
        self._work.events.append(hearing_id, Event("publish", actor, actor, detail))
        await self._work.publish(hearing)

    async def unpublish(self, hearing_id: str, actor: str, cmd: c.MediaUnpublish) -> None:
        await self._relay.unpublish(hearing_id, actor, cmd.source)
        self._work.events.append(hearing_id, Event("unpublish", actor, actor,
                                                   {"source": cmd.source.value}))
