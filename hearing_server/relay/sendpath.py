"""The relay's send path in C, for one frame and one subscriber (``sendpath.c``).

Per packet, in C: the RTP header and the connection's extension block in front of
the payload the producer cut once, SRTP protection with the connection's libsrtp
session, and the frame's packets written to the connection's socket in one system
call (UDP GSO when the packets are of one size, else ``sendmmsg``). Python keeps the
route (which socket, which address, which session), the sequence numbers and
timestamps, the retransmission history and the counters.

The module is built by :mod:`.sendpath_build` (``scripts/setup.sh``); without it
:data:`AVAILABLE` is False and :class:`~.aiortc_hook.FastSender` does the same work in
Python, packet by packet.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from collections.abc import Sequence
from typing import Any

from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

logger = logging.getLogger(__name__)

try:
    from . import _sendpath  # type: ignore[attr-defined]
except ImportError:  # not built: the Python send path
    _sendpath = None

AVAILABLE: bool = _sendpath is not None
#: the built module (its cffi ``ffi`` and ``lib``), or None
MODULE: Any = _sendpath
MAX_PACKETS = 64
#: what ``hs_send`` returns when nothing was protected (the Python path takes the frame)
NOT_PROTECTED = (-errno.EMSGSIZE, -errno.EINVAL)
#: below this, ``hs_send`` reports a libsrtp error (1000 + its status)
SRTP_ERROR = -1000
#: how many packets a route keeps for NACKs (aiortc's ``RTP_HISTORY_SIZE``)
HISTORY = 128
#: what ``hs_take`` writes, in this order (the delay in microseconds, then its buckets)
TAKE = ("packets", "octets", "rtp", "ntp", "frames", "bytes", "delay_us", "seq", "last_out",
        "last_pid")
TAKE_FIELDS = len(TAKE) + 18
#: ``hs_fanout``'s mark for a member it did not send the frame to (the Python way does)
PYTHON = -2000000

_PROTECT = int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, "srtp_protect")))


def wire(payloads: Sequence[bytes]) -> tuple[bytes, bytes, int, int]:
    """A frame's payloads as ``hs_send`` takes them: laid end to end, their sizes
    (16-bit, native order), their count and their octets."""
    n = len(payloads)
    data = b"".join(payloads)
    return data, struct.pack(f"={n}H", *map(len, payloads)), n, len(data)


class CRoute:
    """One connection's route for the C send path: its socket (``fd``, a duplicate
    the relay owns), the remote address, its SRTP session, and the header template
    (the first byte, payload type and SSRC; the extension block, with abs-send-time
    at ``abs_at`` or -1)."""

    __slots__ = ("_history", "_route", "_send", "_session", "_take_buffer")

    def __init__(self, session: Any, fd: int, family: int, addr: tuple[Any, ...],
                 header: bytes, abs_at: int, gso: bool) -> None:
        assert _sendpath is not None
        ffi, lib = _sendpath.ffi, _sendpath.lib
        route = ffi.new("hs_route *")
        route.srtp = ffi.cast("void *", int(_srtp_ffi.cast("uintptr_t", session._srtp[0])))
        route.protect = _PROTECT
        route.fd = fd
        route.gso = 1 if gso else 0
        if lib.hs_set_address(route, family, str(addr[0]).encode(), int(addr[1])) != 0:
            raise ValueError(f"not an address of family {family}: {addr[0]!r}")
        if lib.hs_route_header(route, header, len(header), abs_at) != 0:
            raise ValueError("header template too long")
        self._route = route
        self._session = session  # the srtp_t lives as long as its Session
        self._send = lib.hs_send
        #: the plain packets it sent through :func:`fanout` (for NACKs), once asked for
        self._history: Any = None
        self._take_buffer = ffi.new("int64_t[]", TAKE_FIELDS)

    @classmethod
    def for_socket(cls, session: Any, sock: socket.socket, addr: tuple[Any, ...],
                   header: bytes, abs_at: int, gso: bool) -> CRoute | None:
        """A route for ``sock``, or None when its family is not IPv4 or IPv6."""
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        host = addr[0]
        if sock.family == socket.AF_INET6 and ":" not in str(host):
            host = f"::ffff:{host}"  # an IPv4 peer on a dual-stack socket
        try:
            return cls(session, sock.fileno(), int(sock.family), (host, addr[1]),
                       header, abs_at, gso)
        except ValueError as exc:
            logger.info("C send path not used for %s: %s", addr, exc)
            return None

    def function(self) -> tuple[Any, Any]:
        """The route and ``hs_send`` itself, for a caller that calls it per frame
        (``hs_send(route, seq, timestamp, abs_send_time, data, sizes, n)``)."""
        return self._route, self._send

    @property
    def gso(self) -> bool:
        return bool(self._route.gso)

    def send(self, seq: int, timestamp: int, abs_send_time: int, data: bytes, sizes: bytes,
             n: int) -> int:
        """``hs_send``: the number of packets written, or a negative errno."""
        result: int = self._send(self._route, seq, timestamp, abs_send_time, data, sizes, n)
        return result

    @property
    def route(self) -> Any:
        """The ``hs_route *`` itself: its fan-out state and counters are its fields."""
        return self._route

    def take(self) -> list[int]:
        """``hs_take``: what the fan-out counted since the last call (then zeroed) and
        the member's state; see :data:`TAKE`."""
        assert _sendpath is not None
        out = self._take_buffer
        _sendpath.lib.hs_take(self._route, out)
        values: list[int] = _sendpath.ffi.unpack(out, TAKE_FIELDS)
        return values

    def keep_history(self, previous: CRoute | None = None) -> None:
        """Keep the plain packets :func:`fanout` sends (``HISTORY`` of them, by sequence
        number), in ``previous``'s history when given (the same sender's route before
        a renegotiation: its sequence numbers go on)."""
        if self._history is not None:
            return
        if previous is not None and previous._history is not None:
            self._history = previous._history
        else:
            assert _sendpath is not None
            self._history = _sendpath.ffi.new("hs_history *")
        self._route.hist = self._history

    def history(self, key: int) -> tuple[int, bytes] | None:
        """The sequence number and plain bytes of the packet kept for sequence numbers
        congruent to ``key`` modulo ``HISTORY``, or None."""
        if self._history is None:
            return None
        assert _sendpath is not None
        ffi, lib = _sendpath.ffi, _sendpath.lib
        seq, size = ffi.new("int *"), ffi.new("int *")
        pointer = lib.hs_history_get(self._route, key, seq, size)
        if pointer == ffi.NULL:
            return None
        return seq[0], bytes(ffi.buffer(pointer, size[0]))

    def close(self) -> None:
        """The socket is gone: any later send fails with EBADF instead of writing to
        a descriptor the process may have reused."""
        self._route.fd = -1


def fanout_function() -> tuple[Any, Any]:
    """``hs_fanout`` and cffi's ``new`` (for its arrays), or (None, None) when not built."""
    if _sendpath is None:
        return None, None
    return _sendpath.lib.hs_fanout, _sendpath.ffi.new


def packet(i: int) -> bytes:
    """The ``i``-th protected packet of the last ``hs_send``."""
    assert _sendpath is not None
    ffi, lib = _sendpath.ffi, _sendpath.lib
    size = ffi.new("int *")
    pointer = lib.hs_packet(i, size)
    return bytes(ffi.buffer(pointer, size[0]))
