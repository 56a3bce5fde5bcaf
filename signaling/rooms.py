"""socket.io room names. Rooms (not local sids) are used so that, with python-socketio's
Redis manager, an event raised on one node reaches clients connected to another."""

from __future__ import annotations

NAMESPACE = "/hearing"


def participant_room(hearing_id: str, participant_id: str) -> str:
    return f"p:{hearing_id}:{participant_id}"
