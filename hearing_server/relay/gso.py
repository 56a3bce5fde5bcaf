"""One system call per frame per subscriber: UDP generic segmentation offload (GSO).

A video frame becomes several RTP packets of the same size (aiortc's VP8 packetiser
cuts equal pieces; only the last is shorter), and SRTP adds the same tag to each,
so the kernel can cut one buffer into the datagrams itself (``UDP_SEGMENT``,
Linux 4.18+). On loopback, where ``sendto`` also does the receiver's work, this
roughly halves the send cost per packet in a micro-benchmark; across a real
network interface the segmentation is done by the card or once in the kernel.

The event loop owns the socket: :class:`GsoSender` sends through a duplicate of
its descriptor (same socket, same port) and closes the duplicate when the loop's
transport goes. Anything it cannot send this way (uneven sizes, a full buffer, no
kernel support) falls back to the transport, packet by packet.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)
MAX_SEGMENTS = 64
_SIZE = struct.Struct("=H")


def _probe() -> bool:
    """Does this kernel segment UDP for us?"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            rx.bind(("127.0.0.1", 0))
            tx.sendmsg([b"\0" * 8, b"\0" * 8, b"\0" * 2],
                       [(socket.SOL_UDP, UDP_SEGMENT, _SIZE.pack(8))], 0, rx.getsockname())
            return len(rx.recv(64)) == 8
    except OSError:
        return False


SUPPORTED = hasattr(socket.socket, "sendmsg") and _probe()


class GsoSender:
    """Sends a frame's datagrams to one address in one system call when it can."""

    __slots__ = ("_cmsg", "_socket", "_users", "batches", "fallbacks", "transport")

    def __init__(self, transport: Any, protocol: Any) -> None:
        self.transport = transport
        #: the control message for each segment size seen (one per frame size class)
        self._cmsg: dict[int, list[tuple[int, int, bytes]]] = {}
        self._socket: socket.socket | None = None
        #: what else sends through the duplicate (the C send path's routes), told when it goes
        self._users: list[Any] = []
        self.batches = 0
        self.fallbacks = 0
        raw = transport.get_extra_info("socket")
        fileno = raw.fileno() if raw is not None else -1
        if fileno < 0:
            return
        self._socket = socket.socket(fileno=os.dup(fileno))
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            self.close()
            lost(exc)

        protocol.connection_lost = connection_lost

    @property
    def socket(self) -> socket.socket | None:
        """The duplicate of the loop's socket, while it is open."""
        return self._socket

    def share(self, user: Any) -> None:
        """``user.close()`` is called when the duplicate closes (it must stop using it).
        A connection's route is replaced now and then (a renegotiation): only the
        newest few can still be in use."""
        self._users.append(user)
        del self._users[:-8]

    def send(self, datagrams: Sequence[bytes], addr: tuple[str, int]) -> None:
        sock = self._socket
        n = len(datagrams)
        if sock is not None and SUPPORTED and 1 < n <= MAX_SEGMENTS:
            size = len(datagrams[0])
            if len(datagrams[-1]) <= size and (
                    n == 2 or all(len(d) == size for d in datagrams[1:-1])):
                if self.transport.is_closing():
                    self.close()
                else:
                    cmsg = self._cmsg.get(size)
                    if cmsg is None:
                        if len(self._cmsg) > 64:  # sizes of H.264 fragments vary
                            self._cmsg.clear()
                        cmsg = self._cmsg[size] = [(socket.SOL_UDP, UDP_SEGMENT,
                                                    _SIZE.pack(size))]
                    try:
                        sock.sendmsg(datagrams, cmsg, 0, addr)
                        self.batches += 1
                        return
                    except BlockingIOError:
                        pass  # the loop's transport queues them
                    except OSError as exc:  # e.g. EIO without checksum offload: stop trying
                        logger.info("UDP GSO disabled for this connection: %s", exc)
                        self.close()
        self.fallbacks += 1
        sendto = self.transport.sendto
        for d in datagrams:
            sendto(d, addr)

    def close(self) -> None:
        for user in self._users:
            user.close()
        self._users.clear()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
