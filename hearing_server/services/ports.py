"""What the services need from the layers above them (implemented by signaling)."""

from __future__ import annotations

from typing import Any, Protocol

from ..domain.hearing import Hearing
from ..domain.session import Session


class Notifier(Protocol):
    async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                             payload: dict[str, Any]) -> None: ...

    async def session_changed(self, hearing: Hearing, session: Session) -> None:
        """Send every connected participant the state and the presence list they may see."""
        ...

    async def disconnect_participant(self, hearing_id: str, participant_id: str, event: str,
                                     payload: dict[str, Any]) -> None: ...
