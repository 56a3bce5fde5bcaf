"""What the services need from the parts around them, declared in one place.

Signaling implements :class:`Notifier`; the relay implements :class:`MediaPort`
and observes sessions as a :class:`SessionListener`; the recorder implements
:class:`RecorderPort` and is a listener too; the services implement
:class:`RecordingEvents` for the recorder. The composition root builds them
bottom-up and connects observers by subscription, never by late binding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..domain.hearing import Hearing
from ..domain.policy import Source
from ..domain.roles import Role
from ..domain.session import Session, Settlement


class Notifier(Protocol):
    """Pushes events to the participants' pages."""

    async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                             payload: dict[str, Any]) -> None: ...

    async def session_changed(self, hearing: Hearing, session: Session) -> None:
        """Send every connected participant the state and the presence list they may see."""
        ...

    async def disconnect_participant(self, hearing_id: str, participant_id: str, event: str,
                                     payload: dict[str, Any]) -> None: ...


class SessionListener(Protocol):
    """Observes every change of a hearing's live session (the store holds the truth)."""

    def session_changed(self, hearing: Hearing, session: Session) -> None: ...


class MediaPort(Protocol):
    """The relay, as the services use it (see ``relay/sfu.py``)."""

    def hosts(self, hearing_id: str) -> bool: ...

    def hosted(self) -> list[str]: ...

    def participants(self, hearing_id: str) -> list[str]: ...

    async def connect(self, hearing_id: str, participant_id: str, role: Role,
                      session: Session, retry: bool = False) -> None: ...

    async def answer(self, hearing_id: str, participant_id: str, sdp: str) -> None: ...

    async def add_candidate(self, hearing_id: str, participant_id: str,
                            candidate: Mapping[str, Any]) -> None: ...

    async def publish(self, hearing_id: str, participant_id: str, source: Source,
                      language: str | None = None) -> None: ...

    async def unpublish(self, hearing_id: str, participant_id: str, source: Source) -> None:
        ...

    async def disconnect(self, hearing_id: str, participant_id: str, reason: str) -> None: ...

    async def close_hearing(self, hearing_id: str) -> None: ...


class RecorderPort(Protocol):
    """The recorder, as the services use it (see ``services/recording.py``)."""

    async def seal(self, hearing: Hearing,
                   settlement: Settlement | None = None) -> dict[str, Any] | None: ...


class Counters(Protocol):
    """What the edges count for the operator's metrics (``api/metrics.py`` implements
    it; the composition root hands it over)."""

    def join_accepted(self) -> None: ...

    def join_refused(self, code: str) -> None: ...

    def rate_limited(self, scope: str) -> None: ...


class NoCounters:
    """Counts nothing (tests and tools that build an edge without metrics)."""

    def join_accepted(self) -> None:
        pass

    def join_refused(self, code: str) -> None:
        pass

    def rate_limited(self, scope: str) -> None:
        pass


class RecordingEvents(Protocol):
    """What the recorder tells the services."""

    async def recording_receiving(self, hearing_id: str) -> None: ...

    async def recording_failed(self, hearing_id: str, code: str) -> None: ...


@dataclass(frozen=True)
class Mail:
    """One e-mail to send (electronic service)."""

    to: str
    subject: str
    text: str
    html: str | None = None


class MailFailure(Exception):
    """The mail server was unreachable or refused; ``temporary``: worth another attempt."""

    def __init__(self, detail: str, temporary: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.temporary = temporary


class Mailer(Protocol):
    """Delivers e-mail through the court's SMTP server (``hearing_server.mail``). Other
    channels (SMS, a court's own gateway) implement the same port."""

    configured: bool

    async def send(self, mail: Mail) -> str:
        """Hand the mail over; returns the server's acceptance (or raises MailFailure)."""
        ...


class RecordContributor(Protocol):
    """Adds files to a hearing's record when it is sealed (the service record)."""

    async def record_files(self, hearing_id: str) -> dict[str, bytes | Path]: ...
