"""The unit of work every live use case goes through.

It loads the hearing, applies one domain change to its session atomically through
the store (the only copy of live state), appends the resulting events to the
hearing's log, then fans the new session out: to every :class:`SessionListener`
(the relay, the recorder) and to the participants through the :class:`Notifier`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..domain.errors import Code, NotFound
from ..domain.hearing import Hearing
from ..domain.session import Event, Session
from ..store.base import Store
from ..store.eventlog import EventLog
from .ports import Notifier, SessionListener

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SessionObservers:
    """The observers of live sessions, subscribed once by the composition root."""

    def __init__(self) -> None:
        self._listeners: list[SessionListener] = []

    def subscribe(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    def publish(self, hearing: Hearing, session: Session) -> None:
        for listener in self._listeners:
            try:
                listener.session_changed(hearing, session)
            except Exception:
                logger.exception("hearing %s: a session observer failed", hearing.id)


class UnitOfWork:
    def __init__(self, store: Store, events: EventLog, observers: SessionObservers,
                 notifier: Notifier, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.events = events
        self.notifier = notifier
        self.clock = clock
        self._observers = observers

    async def hearing(self, hearing_id: str) -> Hearing:
        hearing = await self.store.get_hearing(hearing_id)
        if hearing is None:
            raise NotFound("no such hearing", code=Code.HEARING_NOT_FOUND)
        return hearing

    async def session(self, hearing: Hearing) -> Session:
        session = await self.store.get_session(hearing.id)
        return session if session is not None else Session.for_hearing(hearing)

    async def change(self, hearing: Hearing, change: Callable[[Session], T]) -> T:
        """Apply one domain rule to the hearing's session, atomically, in the store."""
        return await self.store.update_session(hearing, change)

    def record(self, hearing_id: str, event: Event) -> None:
        self.events.append(hearing_id, event)
        logger.info("hearing %s: %s by %s on %s", hearing_id, event.type, event.actor,
                    event.subject)

    async def publish(self, hearing: Hearing, events: Iterable[Event | None] = ()) -> Session:
        """Log the events, then tell the observers and the participants the new state."""
        for event in events:
            if event is not None:
                self.record(hearing.id, event)
        session = await self.session(hearing)
        self._observers.publish(hearing, session)
        await self.notifier.session_changed(hearing, session)
        return session

    async def refresh(self, hearing: Hearing) -> Session:
        """Tell the observers (not the participants) the current session."""
        session = await self.session(hearing)
        self._observers.publish(hearing, session)
        return session

    async def apply(self, hearing: Hearing,
                    change: Callable[[Session], Event | list[Event] | None]) -> Session:
        """The common case: one change, its event(s), then publish."""
        result = await self.change(hearing, change)
        return await self.publish(hearing, result if isinstance(result, list) else [result])
