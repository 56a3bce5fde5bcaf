"""The socket.io server of a node: python-socketio's, with guards at the transport.

* socket.io lets a client send an event *named* ``connect`` or ``disconnect``, and
  python-socketio dispatches it to the same handlers the transport uses for the real
  lifecycle. Here a client event with a reserved (or non-string) name is renamed
  before dispatch, so only the transport can raise the lifecycle; the namespace then
  refuses the renamed event like any unknown one (after the rate limit and the size
  check).
* Binary packets (events with attachments) are not part of the protocol: buffering
  their attachments would let a client pin memory, so such a connection is closed.
* A connection that has not joined a hearing within ``join_timeout`` seconds is
  closed, and at most ``max_pending`` such connections are kept at once.

``tests/signaling/test_lifecycle_events.py`` and ``test_transport_limits.py`` fail
loudly if a python-socketio upgrade changes these paths (python-socketio is pinned).
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from .rooms import NAMESPACE

#: what a forged lifecycle event is called by the time the namespace sees it
FORGED = "\x00reserved"
#: socket.io packet types 5 and 6: BINARY_EVENT, BINARY_ACK
BINARY_TYPES = ("5", "6")


class HearingSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, join_timeout: float = 10.0, max_pending: int = 500,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.join_timeout = join_timeout
        self.max_pending = max_pending
        #: engine.io sessions that have not joined the hearing namespace yet
        self.pending: dict[str, asyncio.TimerHandle] = {}

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if len(self.pending) >= self.max_pending:
            return False  # engine.io refuses the connection
        loop = asyncio.get_running_loop()
        self.pending[eio_sid] = loop.call_later(
            self.join_timeout, lambda: self.start_background_task(self._expire, eio_sid))
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _expire(self, eio_sid: str) -> None:
        self.pending.pop(eio_sid, None)
        if self.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is None:
            await self.eio.disconnect(eio_sid)

    def joined(self, eio_sid: str) -> None:
        """The session joined a hearing: it is no longer pending."""
        timer = self.pending.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self.joined(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, (bytes, bytearray)) or (
                isinstance(data, str) and data[:1] in BINARY_TYPES):
            self._binary_packet.pop(eio_sid, None)
            await self.eio.disconnect(eio_sid)
            return
        await super()._handle_eio_message(eio_sid, data)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: list[Any]) -> None:
        if not data or not isinstance(data[0], str) or data[0] in self.reserved_events:
            data = [FORGED, *data[1:]]
        await super()._handle_event(eio_sid, namespace, id, data)
