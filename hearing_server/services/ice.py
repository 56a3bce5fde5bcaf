"""The ICE servers (STUN/TURN) a participant's page may use, handed out only to those
admitted (see ``entry`` and ``moderation``).

TURN credentials are minted per participant with the TURN REST API scheme that
coturn's ``use-auth-secret`` / ``static-auth-secret`` implements: the username is
``<expiry unix time>:<participant id>``, the credential
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the credential from the
shared secret and refuses it once the expiry has passed, so nothing is stored and a
leaked credential is worth one participant's relay for at most ``ttl`` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..settings import IceServer, Settings


def turn_credential(secret: str, username: str) -> str:
    """coturn's ``static-auth-secret`` password for ``username``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class TurnRest:
    """Short-lived TURN credentials from a secret shared with the TURN server."""

    secret: str
    urls: tuple[str, ...]
    ttl: int

    def server_for(self, participant_id: str, now: float) -> dict[str, Any]:
        username = f"{int(now) + self.ttl}:{participant_id}"
        return {"urls": list(self.urls), "username": username,
                "credential": turn_credential(self.secret, username)}


class IceServers:
    def __init__(self, servers: tuple[IceServer, ...], turn: TurnRest | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._servers = servers
        self._turn = turn
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> IceServers:
        turn = (TurnRest(settings.turn_secret, settings.turn_urls, settings.turn_ttl)
                if settings.turn_secret and settings.turn_urls else None)
        return cls(settings.ice_servers, turn)

    def for_participant(self, hearing_id: str, participant_id: str) -> list[dict[str, Any]]:
        out = [s.to_dict() for s in self._servers]
        if self._turn is not None:
            out.append(self._turn.server_for(participant_id, self._clock()))
        return out
