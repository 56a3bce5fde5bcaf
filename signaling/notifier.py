"""The services' :class:`~hearing_server.services.ports.Notifier`, implemented with
socket.io rooms (see :mod:`signaling.rooms`)."""

from __future__ import annotations

from typing import Any

import socketio

from hearing_server.domain.hearing import Hearing
from hearing_server.domain.session import Session

from .connections import Connections
from .rooms import NAMESPACE, participant_room


class SocketNotifier:
    def __init__(self, sio: socketio.AsyncServer, connections: Connections) -> None:
        self._sio = sio
        self._connections = connections

    async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                             payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=participant_room(hearing_id, participant_id),
                             namespace=NAMESPACE)

    async def session_changed(self, hearing: Hearing, session: Session) -> None:
        """Each connected participant gets the state and presence they may see (to their
        own room, so it reaches them on whichever node they are connected)."""
        for m in list(session.members.values()):
            if not m.connected:
                continue
            await self._sio.emit(
                "state",
                {"state": session.state_for(m.participant_id),
                 "presence": session.presence_for(m.role)},
                to=participant_room(hearing.id, m.participant_id), namespace=NAMESPACE,
            )

    async def disconnect_participant(self, hearing_id: str, participant_id: str, event: str,
                                     payload: dict[str, Any]) -> None:
        await self.to_participant(hearing_id, participant_id, event, payload)
        sid = self._connections.sid_of(hearing_id, participant_id)
        if sid is not None:
            conn = self._connections.get(sid)
            if conn is not None:
                conn.kicked = True
            await self._sio.disconnect(sid, namespace=NAMESPACE)
