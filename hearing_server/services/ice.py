"""The ICE servers (STUN/TURN) a participant's page may use, handed out only to those
admitted (see ``entry`` and ``moderation``)."""

from __future__ import annotations

from typing import Any

from ..settings import IceServer


class IceServers:
    def __init__(self, servers: tuple[IceServer, ...]) -> None:
        self._servers = servers

    def for_participant(self, hearing_id: str, participant_id: str) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self._servers]
