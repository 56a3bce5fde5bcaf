"""The node's socket.io connections that have joined a hearing: one registry, shared by
the namespace (which adds and forgets them) and the notifier (which kicks them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hearing_server.domain.roles import Role

from .ratelimit import TokenBucket


@dataclass
class Connection:
    hearing_id: str
    participant_id: str
    role: Role
    bucket: TokenBucket
    welcome: dict[str, Any] = field(default_factory=dict)
    replaced: bool = False
    kicked: bool = False


class Connections:
    def __init__(self) -> None:
        self.by_sid: dict[str, Connection] = {}
        self._sids: dict[tuple[str, str], str] = {}

    def get(self, sid: str) -> Connection | None:
        return self.by_sid.get(sid)

    def sid_of(self, hearing_id: str, participant_id: str) -> str | None:
        return self._sids.get((hearing_id, participant_id))

    def add(self, sid: str, conn: Connection) -> None:
        self.by_sid[sid] = conn
        self._sids[(conn.hearing_id, conn.participant_id)] = sid

    def forget(self, sid: str) -> Connection | None:
        conn = self.by_sid.pop(sid, None)
        if conn is not None and self._sids.get((conn.hearing_id, conn.participant_id)) == sid:
            del self._sids[(conn.hearing_id, conn.participant_id)]
        return conn

    def hearings(self) -> set[str]:
        return {c.hearing_id for c in self.by_sid.values()}

    def __len__(self) -> int:
        return len(self.by_sid)
