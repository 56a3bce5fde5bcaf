"""The socket.io server of a node: python-socketio's, with one guard at the transport.

socket.io lets a client send an event *named* ``connect`` or ``disconnect``, and
python-socketio dispatches it to the same handlers the transport uses for the
real lifecycle. Here a client event with a reserved name is renamed before
dispatch, so only the transport can raise the lifecycle; the namespace then
refuses the renamed event like any unknown one (after the rate limit and the
size check). ``tests/signaling/test_lifecycle_events.py`` fails loudly if a
python-socketio upgrade changes this path.
"""

from __future__ import annotations

from typing import Any

import socketio

#: what a forged lifecycle event is called by the time the namespace sees it
FORGED = "\x00reserved"


class HearingSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: list[Any]) -> None:
        if not data or not isinstance(data[0], str) or data[0] in self.reserved_events:
            data = [FORGED, *data[1:]]
        await super()._handle_event(eio_sid, namespace, id, data)
