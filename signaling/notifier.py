"""The services' :class:`~hearing_server.services.ports.Notifier`, implemented with
socket.io rooms (see :mod:`signaling.rooms`)."""

from __future__ import annotations

from typing import Any

import socketio

from hearing_server.domain.hearing import Hearing
from hearing_server.domain.roles import Role
from hearing_server.domain.session import Session

from .connections import Connections
from .rooms import NAMESPACE, hearing_room, participant_room


class SocketNotifier:
    def __init__(self, sio: socketio.AsyncServer, connections: Connections) -> None:
        self._sio = sio
        self._connections = connections

    async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                             payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=participant_room(hearing_id, participant_id),
                             namespace=NAMESPACE)

    async def session_changed(self, hearing: Hearing, session: Session) -> None:
        state = session.public_state()
        for sees_lobby, viewer in ((True, Role.JUDGE), (False, Role.PARTY)):
            await self._sio.emit(
                "state",
                {"state": state, "presence": session.presence_for(viewer)},
                to=hearing_room(hearing.id, sees_lobby), namespace=NAMESPACE,
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
