"""The one place that reaches into aiortc's internals (pinned to aiortc 1.16.0).

aiortc's ``RTCRtpReceiver`` reassembles frames in a jitter buffer and hands
``(codec, JitterFrame)`` to a decoder thread through a queue; its
``RTCRtpSender`` packetises an object it does not recognise as a decoded
frame with ``encoder.pack``. The relay therefore:

* replaces a receiver's decoder queue with a tap and its ``receive`` with a
  copy that starts no decoder thread (:func:`tap_receiver`),
* replaces the jitter buffer with :class:`LowDelayJitterBuffer`, which
  releases a frame as soon as its last packet is in (audio: every packet),
  instead of waiting for the next frame (video, ~33 ms) or 4 packets (audio, 80 ms),
* gives a sender a pack-only :class:`Packer` as its "encoder" and routes the
  sender's keyframe requests (PLI/FIR from the subscriber) to the relay
  (:func:`install_packer`).
* hands SRTP from the socket's callback to the handlers (:func:`fast_ingest`) and
  receives a publisher's streams without ``RtpPacket`` or the router
  (:class:`LeanStream`).

``tests/relay/test_aiortc_hook.py`` fails loudly if aiortc changes underneath.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import importlib.metadata
import logging
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from types import MethodType
from typing import TYPE_CHECKING, Any

import aioice.ice
import aiortc
import aiortc.rtcdtlstransport
import pylibsrtp
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import depayload, is_rtx
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpsender import RTT_ALPHA
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)
from aiortc.stats import RTCRemoteInboundRtpStreamStats
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

from ..tasks import TaskSet
from . import gso as _gso
from . import ingest, sendpath
from .estimator import CEstimator, remote_bitrate_estimator
from .frames import EncodedFrame, is_keyframe
from .gso import GsoSender
from .ingest import (
    CNackGenerator,
    CStreamStatistics,
    CTimestampMapper,
    nack_generator,
    timestamp_mapper,
)
from .jitter import CJitterBuffer, LowDelayJitterBuffer, low_delay_buffer

PINNED_AIORTC_VERSION = "1.16.0"
PINNED_AIOICE_VERSION = "0.13.0"

_RX = "_RTCRtpReceiver__"
_TX = "_RTCRtpSender__"

FrameSink = Callable[[EncodedFrame | None], None]


class IncompatibleAiortc(RuntimeError):
    pass


def check_aiortc() -> None:
    """Refuse to run on an aiortc (or aioice) whose internals we have not checked."""
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        raise IncompatibleAiortc(
            f"the relay hooks aiortc {PINNED_AIORTC_VERSION}; found {aiortc.__version__}"
        )
    aioice_version = importlib.metadata.version("aioice")
    if aioice_version != PINNED_AIOICE_VERSION:
        raise IncompatibleAiortc(
            f"the relay hooks aioice {PINNED_AIOICE_VERSION}; found {aioice_version}"
        )
    if not hasattr(aioice.ice.Connection, "get_component_candidates"):
        raise IncompatibleAiortc("aioice.ice.Connection.get_component_candidates is missing")
    for name in ("_handle_rtp_packet", "_send_rtcp_pli", "_send_rtcp_nack", "_run_rtcp",
                 "receive"):
        if not hasattr(RTCRtpReceiver, name):
            raise IncompatibleAiortc(f"RTCRtpReceiver.{name} is missing")
    for name in ("_next_encoded_frame", "_send_keyframe", "_handle_rtcp_packet",
                 "_retransmit"):
        if not hasattr(RTCRtpSender, name):
            raise IncompatibleAiortc(f"RTCRtpSender.{name} is missing")


def restrict_host_addresses(addresses: list[str]) -> None:
    """Gather ICE host candidates only on ``addresses`` (for example loopback)."""
    if addresses:
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


# ---- host ports: a UDP range an operator can open ------------------------------------

_AIOICE_COMPONENT_CANDIDATES = aioice.ice.Connection.get_component_candidates

if TYPE_CHECKING:
    from .fanout import Membership

_logger = logging.getLogger(__name__)


def bind_host_ports(pc: RTCPeerConnection, low: int, high: int) -> None:
    """Bind the ICE host candidates of ``pc`` to UDP ports in ``low..high`` (both 0:
    ephemeral ports, aioice's own way). Call before each ``setLocalDescription``.

    aioice 0.13.0 binds each host socket to port 0 inside
    ``Connection.get_component_candidates``; this gives each of ``pc``'s ICE
    connections a copy of that method that binds in the range instead (only the
    relay's connections: other aioice users in the process keep ephemeral ports).
    """
    if (low, high) == (0, 0):
        return
    if not 1024 <= low <= high <= 65535:
        raise ValueError(f"UDP port range {low}-{high} is not within 1024-65535")
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport
        if dtls is None:
            continue
        connection: Any = dtls.transport.iceGatherer._connection
        if not getattr(connection, "_hearing_port_range", None):
            connection._hearing_port_range = (low, high)
            connection.get_component_candidates = MethodType(_in_range, connection)


async def _in_range(self: Any, component: int, addresses: list[str]) -> list[Candidate]:
    """``Connection.get_component_candidates`` of aioice 0.13.0, host ports in a range."""
    low, high = self._hearing_port_range
    host: list[Candidate] = []
    for address in addresses:
        protocol = await _bind_in_range(self, address, low, high)
        if protocol is None:
            continue
        host_address = protocol.transport.get_extra_info("sockname")
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", host_address[0]),
            component=component, transport="udp",
            priority=candidate_priority(component, "host"),
            host=host_address[0], port=host_address[1], type="host")
        host.append(protocol.local_candidate)
        self._protocols.append(protocol)
    # server-reflexive and relayed candidates: aioice's own code, with no host address
    # left for it to bind (the relay is given no STUN or TURN server)
    others: list[Candidate] = await _AIOICE_COMPONENT_CANDIDATES(self, component, [])
    return host + others


async def _bind_in_range(connection: aioice.ice.Connection, address: str, low: int,
                         high: int) -> Any:
    """A ``StunProtocol`` on a free port of the range at ``address`` (tried from a random
    start, each port once), or None when every port is taken."""
    loop = asyncio.get_running_loop()
    size = high - low + 1
    start = random.randrange(size)
    for i in range(size):
        port = low + (start + i) % size
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: aioice.ice.StunProtocol(connection), local_addr=(address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            _logger.info("could not bind %s:%d: %s", address, port, exc)
            return None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                            aioice.turn.UDP_SOCKET_BUFFER_SIZE)
        return protocol
    _logger.warning("no free UDP port in %d-%d at %s: no host candidate there",
                    low, high, address)
    return None


# ---- receive side --------------------------------------------------------------


class _NoDecoderThread:
    """Stands where aiortc keeps its decoder thread: truthy, nothing to join."""

    def join(self) -> None:
        return None


class _TapQueue:
    """Takes the place of the receiver's decoder queue and forwards frames."""

    def __init__(self, codec_name: Callable[[Any], str], sink: FrameSink,
                 buffer: JitterBuffer) -> None:
        self._codec_name = codec_name
        self._sink = sink
        self._buffer = buffer
        #: codec names by the codec object's id (the object is kept: its id stays its own)
        self._names: dict[int, tuple[Any, str]] = {}

    def put(self, item: tuple[Any, JitterFrame] | None) -> None:
        if item is None:
            self._sink(None)
            return
        codec, jf = item
        entry = self._names.get(id(codec))
        if entry is None or entry[0] is not codec:
            entry = self._names[id(codec)] = (codec, self._codec_name(codec))
        name = entry[1]
        keyframe = is_keyframe(name, jf.data)
        buffer = self._buffer
        if isinstance(buffer, LowDelayJitterBuffer) and buffer.awaiting_keyframe:
            if not keyframe:
                buffer.discarded_frames += 1  # undecodable without the frame given up
                return
            buffer.keyframe_arrived()
        arrived = getattr(buffer, "arrived_at", 0.0) or time.perf_counter()
        self._sink(EncodedFrame(jf.data, jf.timestamp, keyframe, arrived))


def _codec_name(codec: Any) -> str:
    return str(codec.mimeType).split("/", 1)[1].lower()


async def _receive_without_decoder(self: RTCRtpReceiver, parameters: Any) -> None:
    """``RTCRtpReceiver.receive`` of aiortc 1.16.0, minus the decoder thread."""
    if not getattr(self, _RX + "started"):
        codecs = getattr(self, _RX + "codecs")
        rtx_ssrc = getattr(self, _RX + "rtx_ssrc")
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        setattr(self, _RX + "decoder_thread", _NoDecoderThread())
        getattr(self, _RX + "transport")._register_rtp_receiver(self, parameters)
        setattr(self, _RX + "rtcp_task", asyncio.ensure_future(self._run_rtcp()))
        setattr(self, _RX + "started", True)


def tap_receiver(receiver: RTCRtpReceiver, kind: str, sink: FrameSink,
                 low_delay: bool = True) -> JitterBuffer:
    """Make ``receiver`` hand encoded frames to ``sink`` instead of decoding them.

    Must be called before the receiver starts (before the answer is applied).
    Returns the jitter buffer, whose ``media_ssrc`` is the publisher's SSRC.
    """
    if getattr(receiver, _RX + "started"):
        raise IncompatibleAiortc("tap_receiver must be called before the receiver starts")
    buffer: JitterBuffer
    if low_delay:
        buffer = low_delay_buffer(512 if kind == "video" else 16, kind == "video")
        setattr(receiver, _RX + "jitter_buffer", buffer)
        if getattr(receiver, _RX + "nack_generator") is not None:  # video: in C
            setattr(receiver, _RX + "nack_generator", nack_generator())
        setattr(receiver, _RX + "timestamp_mapper", timestamp_mapper())
    else:
        buffer = getattr(receiver, _RX + "jitter_buffer")
    setattr(receiver, _RX + "decoder_queue", _TapQueue(_codec_name, sink, buffer))
    if getattr(receiver, _RX + "remote_bitrate_estimator") is not None:  # video: in C
        setattr(receiver, _RX + "remote_bitrate_estimator", remote_bitrate_estimator())
    receiver._hearing_lean = True  # type: ignore[attr-defined]  # see LeanStream
    receiver.receive = MethodType(_receive_without_decoder, receiver)  # type: ignore[method-assign]
    return buffer


def publisher_ssrc(receiver: RTCRtpReceiver, buffer: JitterBuffer) -> int | None:
    """The publisher's media SSRC (not its retransmission SSRC), once known."""
    if isinstance(buffer, LowDelayJitterBuffer):
        return buffer.media_ssrc
    rtx = getattr(receiver, _RX + "rtx_ssrc")
    for ssrc in getattr(receiver, _RX + "remote_streams"):
        if ssrc not in rtx:
            return int(ssrc)
    return None


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await receiver._send_rtcp_pli(media_ssrc)


# ---- receive side: SRTP straight from the socket -----------------------------------

_DTLS = "_RTCDtlsTransport__"
#: libsrtp's error messages by status, as pylibsrtp raises them
_SRTP_ERRORS: list[str] = list(pylibsrtp.ERRORS)
#: ``hs_receive`` (receive.c), or None when the C module is not built: the Python read
_RECEIVE: Any = (getattr(sendpath.MODULE.lib, "hs_receive", None)
                 if sendpath.MODULE is not None else None)
_UNPROTECT = int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, "srtp_unprotect")))
#: its answers (receive.c)
_RX_OTHER, _RX_READ, _RX_DROPPED, _RX_TOO_LONG, _RX_SRTP_ERROR = 0, 1, 2, -1, -1000
_NULL: Any = sendpath.MODULE.ffi.NULL if sendpath.MODULE is not None else None
#: ``hs_ingest_packet`` (ingest.c): a packet received in one C call, when built
_INGEST: Any = sendpath.MODULE.lib.hs_ingest_packet if ingest.AVAILABLE else None
_HANDLED = ingest.HANDLED
#: codecs whose RTP payload is the frame's data as it is
_AS_IS = ("opus", "PCMU", "PCMA")


def _srtp_error(status: int) -> pylibsrtp.Error:
    """libsrtp's ``status`` as pylibsrtp raises it."""
    return pylibsrtp.Error(_SRTP_ERRORS[status] if status < len(_SRTP_ERRORS)
                           else f"libsrtp error {status}")


def _drive(coro: Any, pending: TaskSet) -> None:
    """Run ``coro`` now, synchronously, as far as it goes. aiortc's RTP and RTCP
    handlers are coroutines that almost never wait (their sends end in a datagram
    transport's ``sendto``); one that does (through TURN, say) is finished by a task,
    as the event loop would: each time what it waits on is done, it is resumed."""
    try:
        waited = coro.send(None)
    except StopIteration:
        return
    except Exception:
        _logger.exception("handling a media packet failed")
        return
    pending.spawn(_resume(coro, waited))


async def _resume(coro: Any, waited: Any) -> None:
    try:
        while True:
            if waited is None:  # a bare yield: let the loop run once
                await asyncio.sleep(0)
            else:
                waited._asyncio_future_blocking = False
                await asyncio.wait([waited])
            try:
                waited = coro.send(None)
            except StopIteration:
                return
    except asyncio.CancelledError:
        coro.close()
        raise
    except Exception:  # aiortc's receive task would log it and stop; this one only logs
        _logger.exception("handling a media packet failed")


class Unprotector:
    """A session's ``unprotect`` and ``unprotect_rtcp``, calling libsrtp directly with
    the session's own buffer (what ``pylibsrtp.Session`` does per call, without its
    checks and allocation): the same bytes, the same errors."""

    __slots__ = (
        "_buffer",
        "_cdata",
        "_length",
        "_receive",
        "_rtcp",
        "_rtp",
        "_srtp",
        "direct",
        "out",
        "rx",
        "session",
        "view",
    )

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.session = session
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._srtp = session._srtp[0]
        self._length = _srtp_ffi.new("int *")
        self._rtp = _srtp_lib.srtp_unprotect
        self._rtcp = _srtp_lib.srtp_unprotect_rtcp
        #: the C receive (unprotect and read in one call), when the module is built
        self.rx: Any = None
        self._receive = _RECEIVE
        if _RECEIVE is not None:
            ffi, lib = sendpath.MODULE.ffi, sendpath.MODULE.lib
            self.rx = ffi.new("hs_rx *")
            self.rx.srtp = ffi.cast("void *", int(_srtp_ffi.cast("uintptr_t", self._srtp)))
            self.rx.unprotect = _UNPROTECT
            #: the last packet :meth:`receive` unprotected, and what it read of it
            self.view = ffi.buffer(lib.hs_rx_buffer(self.rx), lib.HS_RX_MAX)
            self.out = ffi.new("int64_t[]", lib.HS_RX_FIELDS)
        #: whether :meth:`receive` can be used
        self.direct = self.rx is not None

    def receive(self, stream: Any, data: bytes) -> int:
        """``hs_receive``: unprotect ``data`` into :attr:`view` (the same errors as
        :meth:`unprotect`) and read it as ``stream``'s (an ``hs_rx_stream``)."""
        assert self._receive is not None
        status: int = self._receive(self.rx, stream, data, len(data), self.out)
        if status < 0:
            if status == _RX_TOO_LONG:
                raise ValueError("packet is too long")
            raise _srtp_error(_RX_SRTP_ERROR - status)
        return status

    def plain(self) -> bytes:
        """The packet :meth:`receive` unprotected."""
        out: bytes = self.view[0:self.out[0]]
        return out

    def _run(self, data: bytes, function: Any) -> bytes:
        n = len(data)
        if n > 1500:
            raise ValueError("packet is too long")
        buffer = self._buffer
        buffer[0:n] = data
        self._length[0] = n
        status = function(self._srtp, self._cdata, self._length)
        if status:
            raise _srtp_error(status)
        out: bytes = buffer[0:self._length[0]]
        return out

    def unprotect(self, data: bytes) -> bytes:
        # _run's body, for the packet every publisher sends most
        n = len(data)
        if n > 1500:
            raise ValueError("packet is too long")
        buffer = self._buffer
        buffer[0:n] = data
        length = self._length
        length[0] = n
        status = self._rtp(self._srtp, self._cdata, length)
        if status:
            raise _srtp_error(status)
        out: bytes = buffer[0:length[0]]
        return out

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return self._run(data, self._rtcp)


def fast_ingest(dtls: Any, pending: TaskSet) -> None:
    """Hand SRTP and SRTCP datagrams of ``dtls``'s connection to aiortc's handlers
    from the socket's callback, instead of through aioice's STUN parser (which
    tries, and fails, to parse every media packet), its queue and the DTLS
    transport's receive task (a task switch per packet). STUN and DTLS datagrams,
    and media while anything is still queued (order is kept), take aiortc's way.
    ``pending`` gets the tasks that finish a handler which had to wait. Once per
    transport (a second call does nothing)."""
    if getattr(dtls, "_hearing_fast_ingest", False):
        return
    dtls._hearing_fast_ingest = True
    connection = dtls.transport._connection
    queue = connection._queue
    handle_rtp, handle_rtcp = dtls._handle_rtp_data, dtls._handle_rtcp_data
    fields = dtls.__dict__
    rx_bytes, rx_packets = _DTLS + "rx_bytes", _DTLS + "rx_packets"
    if rx_bytes not in fields or rx_packets not in fields:
        raise IncompatibleAiortc("RTCDtlsTransport's receive counters are missing")
    queued = connection.data_received
    waiting = queue._queue  # asyncio.Queue's deque: what aioice still holds for aiortc

    unprotector: Unprotector | None = None
    #: the publisher's media streams the relay receives leanly, by SSRC (4 bytes)
    leans: dict[bytes, LeanStream] = {}

    def data_received(data: bytes, component: int) -> None:
        nonlocal unprotector
        srtp = dtls._rx_srtp
        if (srtp is None or len(data) < 2 or not 127 < data[0] < 192 or waiting
                or dtls._state is not _CONNECTED):
            queued(data, component)
            return
        if unprotector is None or unprotector.session is not srtp:
            unprotector = Unprotector(srtp)
        fields[rx_bytes] += len(data)
        fields[rx_packets] += 1
        try:
            if 191 < data[1] < 209:  # RTCP, as aiortc's is_rtcp() tells it
                data = unprotector.unprotect_rtcp(data)
                if not receiver_reports(dtls, data):
                    _drive(handle_rtcp(data), pending)
                return
            plain = receive_rtp(unprotector, leans, data, -1)
            if plain is not None:
                aiortc_way(plain)
        except (pylibsrtp.Error, ValueError) as exc:
            _logger.debug("SRTP unprotect failed: %s", exc)

    def aiortc_way(plain: bytes) -> None:
        # aiortc's clock.current_ms(), milliseconds since 1900, without datetime
        arrival_time_ms = int((time.time() + NTP_EPOCH_OFFSET) * 1000)
        _drive(handle_rtp(plain, arrival_time_ms=arrival_time_ms), pending)
        if len(leans) < _LEAN_STREAMS and plain[8:12] not in leans:
            _lean_route(dtls, plain, leans, pending)

    def skip_stun_parser(protocol: aioice.ice.StunProtocol) -> None:
        """Media (first byte 128-191, RFC 7983) is never STUN: pass it on unparsed,
        and a lean stream's packet straight into its C call (``data_received`` and
        ``receive_rtp`` in one, for the packet every publisher sends most)."""
        stun = protocol.datagram_received
        component = protocol.local_candidate.component

        def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
            if type(data) is not bytes or not data or not 127 < data[0] < 192:
                stun(data, addr)
                return
            lean = leans.get(data[8:12])  # the SSRC: SRTP leaves the header in the clear
            u = unprotector
            if (lean is None or u is None or not u.direct or lean.ingest is None
                    or 191 < data[1] < 209 or u.session is not dtls._rx_srtp or waiting
                    or dtls._state is not _CONNECTED
                    or lean.router.get(lean.ssrc) is not lean.receiver
                    or lean.receiver._enabled is not True):
                data_received(data, component)  # all that, checked again on its way
                return
            n = len(data)
            fields[rx_bytes] += n
            fields[rx_packets] += 1
            status = _INGEST(u.rx, lean.ingest, data, n, -1, lean.out)
            if status == _HANDLED:
                return
            try:
                plain = lean.follow(status, u.view)
            except (pylibsrtp.Error, ValueError) as exc:
                _logger.debug("SRTP unprotect failed: %s", exc)
                return
            if plain is not None:
                aiortc_way(plain)

        protocol.datagram_received = datagram_received  # type: ignore[method-assign]

    connection.data_received = data_received
    for protocol in connection._protocols:
        if type(protocol) is aioice.ice.StunProtocol:
            skip_stun_parser(protocol)


def receive_rtp(unprotector: Unprotector, leans: dict[bytes, LeanStream], data: bytes,
                arrival_time_ms: int) -> bytes | None:
    """One SRTP packet of a connection: handled by its stream's :class:`LeanStream`
    (None), or unprotected for aiortc's way (the plain packet). Raises the unprotect's
    errors. ``arrival_time_ms`` below 0: now."""
    lean = leans.get(data[8:12])  # the SSRC: SRTP leaves the header in the clear
    if lean is not None:
        receiver = lean.receiver
        if lean.router.get(lean.ssrc) is receiver and receiver._enabled is True:
            if lean.ingest is not None and unprotector.direct:  # all of it in one C call
                status = _INGEST(unprotector.rx, lean.ingest, data, len(data),
                                 arrival_time_ms, lean.out)
                if status == _HANDLED:
                    return None
                return lean.follow(status, unprotector.view)
            plain = unprotector.unprotect(data)
            if lean.receive(plain, arrival_time_ms):
                return None
            return plain
    return unprotector.unprotect(data)


#: at most this many streams of one connection are received leanly (a peer that
#: keeps changing SSRC takes aiortc's way for the rest)
_LEAN_STREAMS = 8
_RTP_HEADER = struct.Struct("!BBHII")
_RX_RTCP_SSRC = _RX + "rtcp_ssrc"
_REFRESH_MS = 100
#: how often a lean stream renews its source's last-seen time
_SEEN_MS = 1000
_EXTENSION_HEADER = struct.Struct("!HH")
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#: header extensions aiortc's parser decodes as text, and their encoding (a value that
#: does not decode makes it drop the packet)
_TEXT_EXTENSIONS = {"urn:ietf:params:rtp-hdrext:sdes:mid": "utf8",
                    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id": "ascii",
                    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id": "ascii"}
#: ... and those it unpacks as numbers of a fixed size (another size: it fails)
_SIZED_EXTENSIONS = {_ABS_SEND_TIME_URI: 3, "urn:ietf:params:rtp-hdrext:toffset": 3,
                     "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
                     "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-"
                     "extensions-01": 2}


class LeanPacket:
    """What a receiver, its statistics, NACK generator and jitter buffer read of an
    ``RtpPacket``, taken from the header without building aiortc's object."""

    __slots__ = ("_data", "marker", "payload", "payload_type", "sequence_number", "ssrc",
                 "timestamp")

    def __init__(self, marker: int, payload_type: int, sequence_number: int,
                 timestamp: int, ssrc: int, payload: bytes) -> None:
        self.marker = marker
        self.payload_type = payload_type
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
        self._data = b""


def _vp8_payload(payload: bytes) -> bytes:
    """The VP8 data after its payload descriptor (RFC 7741), as aiortc's
    ``vp8_depayload`` gives it; a truncated descriptor raises aiortc's own error."""
    n = len(payload)
    if n and payload[0] & 0x80:
        pos = 2
        if n > 1:
            x = payload[1]
            if x & 0x80:
                pos += 2 if n > 2 and payload[2] & 0x80 else 1
            if x & 0x40:
                pos += 1
            if x & 0x30:
                pos += 1
        if pos > n or (n > 1 and payload[1] & 0x80 and n < 3):
            return vp8_depayload(payload)  # raises the descriptor's ValueError
        return payload[pos:]
    if not n:
        return vp8_depayload(payload)
    return payload[1:]


class LeanStream:
    """One publisher stream (one SSRC, one media payload type) received without
    aiortc's ``RtpPacket.parse``, router and coroutine: the same work as
    ``RTCRtpReceiver._handle_rtp_packet`` of aiortc 1.16.0 in the same order (the
    bandwidth estimate and its REMB, the RTCP statistics, NACKs, depayloading, the
    jitter buffer and its PLI, the frame to the tap) on the receiver's own objects.
    With the C module built that is one C call per packet (``ingest.c``: the
    receiver's statistics, NACK generator and jitter buffer are its C objects) and
    Python only sends the feedback it asks for and hands the frame on.
    :meth:`receive` returns False for anything else (another payload type, header
    extensions it does not read, a malformed header, a receiver that was replaced or
    stopped), which then takes aiortc's way."""

    __slots__ = ("_abs_send_time", "_active", "_active_at", "_active_ms", "_buffer",
                 "_codec", "_depayload", "_dtls", "_estimator", "_extensions", "_fields",
                 "_frame_at", "_ids", "_jb", "_mapper", "_nack", "_pending", "_pt",
                 "_queue", "_read", "_seen_ms", "_sink", "_sizes", "_ssrcs", "_statistics",
                 "_texts", "_unpack", "ingest", "out", "receiver", "router", "ssrc")

    def __init__(self, dtls: Any, receiver: RTCRtpReceiver, ssrc: int, pt: int,
                 pending: TaskSet) -> None:
        fields = receiver.__dict__
        self._dtls = dtls
        self.receiver = receiver
        self.router = dtls._rtp_router.ssrc_table
        self._fields = fields
        self.ssrc = ssrc
        self._pt = pt
        self._pending = pending
        self._codec = fields[_RX + "codecs"][pt]
        name = self._codec.name
        self._depayload: Callable[[bytes], bytes] | None = (
            _vp8_payload if name == "VP8" else None if name in _AS_IS
            else functools.partial(depayload, self._codec))
        self._statistics = fields[_RX + "remote_streams"][ssrc]
        self._estimator = fields[_RX + "remote_bitrate_estimator"]
        self._nack = fields[_RX + "nack_generator"]
        self._buffer = fields[_RX + "jitter_buffer"]
        self._mapper = fields[_RX + "timestamp_mapper"]
        self._queue = fields[_RX + "decoder_queue"]
        self._active = fields[_RX + "active_ssrc"]
        self._active_ms = self._seen_ms = 0
        self._active_at = clock.current_datetime()
        self._ids = _map_ids(dtls)
        #: the stream's ``hs_ingest`` (ingest.c) when the C module is built and the
        #: receiver's parts are its C ones, and what a call of it writes
        self.ingest: Any = None
        self.out: Any = None
        #: how the C read reads this stream (an ``hs_rx_stream``)
        self._read: Any = None
        if (ingest.AVAILABLE and isinstance(self._buffer, CJitterBuffer)
                and (self._nack is None or isinstance(self._nack, CNackGenerator))
                and (self._estimator is None or isinstance(self._estimator, CEstimator))):
            self._in_c(fields)
        self._configure()

    def _in_c(self, fields: dict[str, Any]) -> None:
        """Put the stream's statistics in C and tie its C parts to one ``hs_ingest``."""
        ffi = sendpath.MODULE.ffi
        statistics = CStreamStatistics(self._codec.clockRate, like=self._statistics)
        fields[_RX + "remote_streams"][self.ssrc] = self._statistics = statistics
        g = self.ingest = ffi.new("hs_ingest *")
        g.stats = statistics.stats
        g.jb = self._buffer.jb
        g.nack = ffi.NULL if self._nack is None else self._nack.nack
        g.estimator = ffi.NULL if self._estimator is None else self._estimator.c
        name = self._codec.name
        g.depay = (ingest.DEPAY_VP8 if name == "VP8" else ingest.DEPAY_NONE
                   if name in _AS_IS else ingest.DEPAY_PYTHON)
        self._read = ffi.addressof(g, "read")
        self.out = ffi.new("int64_t[]", ingest.FIELDS)
        self._unpack = ffi.unpack
        self._ssrcs = (None if self._estimator is None
                       else sendpath.MODULE.lib.hs_estimator_ssrcs(self._estimator.c))
        queue = self._queue
        if (type(queue) is _TapQueue and queue._buffer is self._buffer
                and isinstance(self._mapper, CTimestampMapper)
                and g.depay != ingest.DEPAY_PYTHON):  # the tap's decision in C too
            g.tsmap = self._mapper.tsmap
            g.key = (ingest.KEY_VP8 if queue._codec_name(self._codec) == "vp8"
                     else ingest.KEY_ALWAYS)
            self._sink = queue._sink
            self._jb = g.jb
            self._frame_at = sendpath.MODULE.lib.hs_jb_frame(self._jb)

    @property
    def direct(self) -> bool:
        """Whether a packet is received in one C call, SRTP included."""
        return self.ingest is not None

    def _refresh(self, arrival_time_ms: int) -> bool:
        """Each 0.1 s: the extension ids again if a renegotiation changed them (then
        True); each second the source's last-seen time (``getSynchronizationSources``,
        which keeps a source for 10 s)."""
        self._active_ms = arrival_time_ms
        if arrival_time_ms - self._seen_ms >= _SEEN_MS:
            self._seen_ms = arrival_time_ms
            self._active_at = clock.current_datetime()
            self._active[self.ssrc] = self._active_at
        if self.ingest is not None:
            self.ingest.active_ms = arrival_time_ms
        if self._ids.__dict__ != self._extensions:
            self._configure()
            return True
        return False

    def _configure(self) -> None:
        """Read the connection's extension ids (again when a renegotiation changed them)."""
        self._extensions = dict(self._ids.__dict__)
        ids = _extension_ids(self._dtls)
        self._abs_send_time = next((i for i, uri in ids.items()
                                    if uri == _ABS_SEND_TIME_URI), None)
        self._texts = {i: _TEXT_EXTENSIONS[uri] for i, uri in ids.items()
                       if uri in _TEXT_EXTENSIONS}
        self._sizes = {i: _SIZED_EXTENSIONS[uri] for i, uri in ids.items()
                       if uri in _SIZED_EXTENSIONS}
        read = self._read
        if read is not None:
            read.pt = self._pt
            read.abs_id = -1 if self._abs_send_time is None else self._abs_send_time
            for i in range(16):  # one-byte ids (1-14; 0 and 15 are never given)
                read.ext[i] = self._sizes.get(i, -1 if i in self._texts else 0)

    def receive(self, data: bytes, arrival_time_ms: int) -> bool:
        """Handle one unprotected RTP packet of this stream; False: not handled.
        ``arrival_time_ms`` below 0: now."""
        if (self.router.get(self.ssrc) is not self.receiver
                or self.receiver._enabled is not True or len(data) < 12):
            return False
        g = self.ingest
        if g is not None:
            return self.follow(_INGEST(_NULL, g, data, len(data), arrival_time_ms, self.out),
                               data) is None
        if arrival_time_ms < 0:
            arrival_time_ms = int((time.time() + NTP_EPOCH_OFFSET) * 1000)
        if arrival_time_ms - self._active_ms >= _REFRESH_MS:
            self._refresh(arrival_time_ms)
        return self._read_python(data, arrival_time_ms)

    def follow(self, status: int, source: Any) -> bytes | None:
        """What an ``hs_ingest_packet`` answer other than a plain "handled" asks for
        (``source`` holds the plain packet): the RTCP feedback and the frame, or the
        packet's bytes when it is to take aiortc's way (else None). Raises the
        unprotect's errors."""
        out = self.out
        if status < 0:
            if status == _RX_TOO_LONG:
                raise ValueError("packet is too long")
            raise _srtp_error(_RX_SRTP_ERROR - status)
        if status & ingest.REFRESH:
            arrival: int = out[ingest.ARRIVAL]
            plain: bytes = source[0:out[0]]
            self._refresh(arrival)
            return None if self.receive(plain, arrival) else plain
        if status & ingest.OTHER:  # what the C read leaves (text beyond ASCII, ...)
            plain = source[0:out[0]]
            return None if self._read_python(plain, out[ingest.ARRIVAL]) else plain
        receiver, pending = self.receiver, self._pending
        ssrc: int = out[4]
        if status & ingest.REMB:
            rtcp_ssrc = self._fields[_RX_RTCP_SSRC]
            if rtcp_ssrc is not None:
                ssrcs = self._unpack(self._ssrcs, out[ingest.COUNT])
                _drive(receiver._send_rtcp(RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                    fci=pack_remb_fci(out[ingest.BITRATE], ssrcs))), pending)
        if status & ingest.NACK:
            _drive(receiver._send_rtcp_nack(ssrc, sorted(self._nack.missing)), pending)
        if status & ingest.DEPAY_ERROR:
            _logger.debug("RTP payload parsing failed: malformed VP8 descriptor")
            return None
        if status & ingest.DEPAY:  # a codec depayloaded in Python (H.264)
            _, marker, seq, ts, _, start, end = self._unpack(out, 7)
            packet = LeanPacket(marker, self._pt, seq, ts, ssrc, source[start:end])
            self._frame(packet)
            return None
        if status & ingest.TAPPED:  # the frame passed the tap in C: straight to its sink
            if status & (ingest.PLI | ingest.KEYFRAME):
                pli, _ = self._buffer.answer(status >> 3 & 5)
                if pli:
                    _drive(receiver._send_rtcp_pli(ssrc), pending)
            self._sink(EncodedFrame(self._unpack(self._frame_at, out[ingest.FRAME_LEN]),
                                    out[ingest.FRAME_TS],
                                    status & ingest.KEY != 0,
                                    self._jb.arrived_at or time.perf_counter()))
            return None
        pli, frame = self._buffer.answer(status >> 3 & 7)
        if pli:
            _drive(receiver._send_rtcp_pli(ssrc), pending)
        if frame is not None:
            frame.timestamp = self._mapper.map(frame.timestamp)
            self._queue.put((self._codec, frame))
        return None

    def _read_python(self, data: bytes, arrival_time_ms: int) -> bool:
        """The read in Python: what ``hs_receive`` leaves (text beyond ASCII, anything
        it does not read), and every packet when the C module is not built."""
        first, second, seq, ts, ssrc = _RTP_HEADER.unpack_from(data)
        if first >> 6 != 2 or second & 0x7F != self._pt:
            return False
        pos = 12 + 4 * (first & 0x0F)
        abs_send_time = None
        if first & 0x10:
            if len(data) < pos + 4:
                return False
            profile, length = _EXTENSION_HEADER.unpack_from(data, pos)
            pos += 4
            end = pos + 4 * length
            if profile != 0xBEDE or len(data) < end:
                return False
            while pos < end:  # one-byte header extensions (RFC 8285)
                octet = data[pos]
                if not octet:
                    pos += 1
                    continue
                x_id, x_length = octet >> 4, (octet & 0x0F) + 1
                pos += 1
                if pos + x_length > end:
                    return False
                if x_id in self._sizes:
                    if x_length != self._sizes[x_id]:
                        return True  # aiortc's parser fails on it: dropped (quietly)
                    if x_id == self._abs_send_time:
                        abs_send_time = int.from_bytes(data[pos:pos + 3], "big")
                elif x_id in self._texts:
                    try:
                        data[pos:pos + x_length].decode(self._texts[x_id])
                    except UnicodeDecodeError:
                        return False
                pos += x_length
        elif len(data) < pos:
            return False
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if not padding or padding > len(data) - pos:
                return False
        payload = data[pos:len(data) - padding]
        packet = LeanPacket(second >> 7, second & 0x7F, seq, ts, ssrc, payload)
        self._handle(packet, padding, abs_send_time, arrival_time_ms)
        return True

    def _handle(self, packet: LeanPacket, padding: int, abs_send_time: int | None,
                arrival_time_ms: int) -> None:
        receiver, fields, pending = self.receiver, self._fields, self._pending
        ssrc = packet.ssrc
        estimator = self._estimator
        if estimator is not None and abs_send_time is not None:
            remb = estimator.add(abs_send_time=abs_send_time,
                                 arrival_time_ms=arrival_time_ms,
                                 payload_size=len(packet.payload) + padding, ssrc=ssrc)
            rtcp_ssrc = fields[_RX_RTCP_SSRC]
            if rtcp_ssrc is not None and remb is not None:
                _drive(receiver._send_rtcp(RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                    fci=pack_remb_fci(*remb))), pending)
        self._active[ssrc] = self._active_at
        self._statistics.add(packet)
        nack = self._nack
        if nack is not None and nack.add(packet):
            _drive(receiver._send_rtcp_nack(ssrc, sorted(nack.missing)), pending)
        self._frame(packet)

    def _frame(self, packet: LeanPacket) -> None:
        """Depayload, the jitter buffer and its PLI, the frame to the tap."""
        if packet.payload:
            depay = self._depayload
            try:
                packet._data = packet.payload if depay is None else depay(packet.payload)
            except ValueError as exc:
                _logger.debug("RTP payload parsing failed: %s", exc)
                return
        pli, frame = self._buffer.add(packet)
        if pli:
            _drive(self.receiver._send_rtcp_pli(packet.ssrc), self._pending)
        if frame is not None:
            frame.timestamp = self._mapper.map(frame.timestamp)
            self._queue.put((self._codec, frame))


#: aiortc's ``HeaderExtensions`` field of each extension URI (its map keeps the ids there)
_EXTENSION_FIELDS = {
    "urn:ietf:params:rtp-hdrext:sdes:mid": "mid",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id": "repaired_rtp_stream_id",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id": "rtp_stream_id",
    _ABS_SEND_TIME_URI: "abs_send_time",
    "urn:ietf:params:rtp-hdrext:toffset": "transmission_offset",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level": "audio_level",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01":
        "transport_sequence_number",
}


def _map_ids(dtls: Any) -> Any:
    ids = dtls._rtp_header_extensions_map.__dict__.get("_HeaderExtensionsMap__ids")
    if ids is None:
        raise IncompatibleAiortc("HeaderExtensionsMap keeps no ids")
    return ids


def _extension_ids(dtls: Any) -> dict[int, str]:
    """The header extensions aiortc's parser reads on ``dtls``'s connection: id -> URI,
    from the connection's ``HeaderExtensionsMap`` (every receiver and sender configures
    that one map; the last id given for a URI is the one it parses)."""
    ids = _map_ids(dtls)
    out: dict[int, str] = {}
    for uri, field in _EXTENSION_FIELDS.items():
        value = getattr(ids, field)
        if value is not None:
            out.setdefault(value, uri)  # aiortc's parser tests the fields in this order
    return out


def _lean_route(dtls: Any, data: bytes, leans: dict[bytes, LeanStream],
                pending: TaskSet) -> None:
    """After aiortc's way handled the first packet of a stream: receive its next ones
    leanly when the stream is a tapped receiver's media (not its retransmissions)."""
    if len(data) < 12:
        return
    ssrc = int.from_bytes(data[8:12], "big")
    receiver = dtls._rtp_router.ssrc_table.get(ssrc)
    if receiver is None or not getattr(receiver, "_hearing_lean", False):
        return
    fields = receiver.__dict__
    pt = data[1] & 0x7F
    codec = fields[_RX + "codecs"].get(pt)
    if (codec is None or is_rtx(codec) or ssrc in fields[_RX + "rtx_ssrc"]
            or ssrc not in fields[_RX + "remote_streams"]):
        return
    leans[data[8:12]] = LeanStream(dtls, receiver, ssrc, pt, pending)


# ---- send side -----------------------------------------------------------------


class Packetiser:
    """Cuts a producer's frames into RTP payloads once for all its subscribers.

    Every subscriber of a stream receives the same payloads: VP8's payload descriptor
    carries the producer's picture id (a :class:`Packer` that changed publisher
    rewrites it to stay continuous), H.264 and Opus carry nothing per subscriber. The
    payloads of the last frame are kept, so the slots fed in one fan-out share them.
    """

    __slots__ = ("_frame", "abs_send_time", "codec", "last_payloads", "ntp", "picture_id",
                 "wire")

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.picture_id = random.randrange(1 << 15)
        self._frame: EncodedFrame | None = None
        #: the payloads of the last frame cut
        self.last_payloads: list[bytes] = []
        #: ... as the C send path takes them (:func:`.sendpath.wire`)
        self.wire: tuple[bytes, bytes, int, int] = (b"", b"", 0, 0)
        #: when the last frame is sent: NTP (32.32) and abs-send-time (6.18, 24 bits),
        #: the same for every subscriber of one fan-out
        self.ntp = 0
        self.abs_send_time = 0

    def payloads(self, frame: EncodedFrame) -> list[bytes]:
        if frame is self._frame:
            return self.last_payloads
        self.ntp = ntp = int((time.time() + NTP_EPOCH_OFFSET) * 4294967296)
        self.abs_send_time = (ntp >> 14) & 0xFFFFFF
        if self.codec == "vp8":
            self.picture_id = (self.picture_id + 1) & 0x7FFF
            payloads = Vp8Encoder._packetize(frame.data, self.picture_id)
        elif self.codec == "h264":
            payloads = H264Encoder._packetize(H264Encoder._split_bitstream(frame.data))
        else:
            payloads = [frame.data]
        self._frame = frame
        self.last_payloads = payloads
        self.wire = sendpath.wire(payloads)
        return payloads


_PICTURE_ID = struct.Struct("!H")


class Packer:
    """A sender's "encoder" that only packetises :class:`EncodedFrame` objects.

    Keeps the outgoing RTP timestamp (and VP8 picture id) continuous when the slot
    switches from one publisher to another. :meth:`shared` is the relay's own send
    path (the producer's :class:`Packetiser` cuts each frame once); :meth:`pack` is
    aiortc's encoder interface (``fast_send=False``), packetising per subscriber.
    """

    def __init__(self, codec: str, frame_step: int) -> None:
        self.codec = codec
        self._frame_step = frame_step
        self._audio = codec not in ("vp8", "h264")
        self._vp8 = Vp8Encoder() if codec == "vp8" else None
        self._h264 = H264Encoder() if codec == "h264" else None
        self._source: object | None = None
        self._offset = 0
        self._last_out = -frame_step
        #: VP8: what the producer's picture id is shifted by for this subscriber
        self._pid_offset = 0
        self._last_pid = -1
        self.on_packed: Callable[[EncodedFrame, int], None] | None = None
        self.remb: int | None = None
        self.remb_at = 0.0
        #: share of this sender's packets the subscriber last reported lost (RTCP RR)
        self.fraction_lost = 0.0
        self.loss_at = 0.0

    @property
    def target_bitrate(self) -> int | None:
        """The subscriber's last REMB (bit/s, for its whole connection); aiortc's sender
        sets it when a REMB for this sender's SSRC comes in."""
        return self.remb

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self.remb = bitrate
        self.remb_at = time.monotonic()

    def set_source(self, source: object) -> None:
        self._source = source
        self._offset = -1  # rebase at the next frame
        self._pid_offset = -1

    def _timestamp(self, frame: EncodedFrame) -> int:
        if self._offset == -1:
            self._offset = self._last_out + self._frame_step - frame.timestamp
        ts = frame.timestamp + self._offset
        last = self._last_out
        if ts > last:
            self._last_out = ts
        elif self._audio and last - self._frame_step * 50 < ts:
            pass  # a late (reordered) audio packet: sent with its own time, in its place
        else:  # a publisher's clock jumped back: keep it monotonic
            self._offset += last + self._frame_step - ts
            ts = self._last_out = last + self._frame_step
        return ts & 0xFFFFFFFF

    def shared(self, frame: EncodedFrame, packetiser: Packetiser) -> tuple[list[bytes], int]:
        """The frame's payloads cut once by the producer's ``packetiser``, and its
        timestamp for this subscriber."""
        ts = self._timestamp(frame)
        payloads = packetiser.payloads(frame)
        if self._vp8 is not None:
            pid = packetiser.picture_id
            offset = self._pid_offset
            if offset == -1:  # a new publisher: continue from the last picture id sent
                offset = self._pid_offset = (
                    (self._last_pid + 1 - pid) & 0x7FFF if self._last_pid >= 0 else 0)
            if offset:
                pid = (pid + offset) & 0x7FFF
                head = _PICTURE_ID.pack(0x8000 | pid)
                # aiortc writes a picture id below 128 in one byte (M bit clear)
                payloads = [p[:2] + head + p[4 if p[2] & 0x80 else 3:] for p in payloads]
            self._last_pid = pid
        return payloads, ts

    def pack(self, frame: EncodedFrame) -> tuple[list[bytes], int]:
        ts = self._timestamp(frame)
        if self._vp8 is not None:
            payloads = self._vp8._packetize(frame.data, self._vp8.picture_id)
            self._vp8.picture_id = (self._vp8.picture_id + 1) % (1 << 15)
        elif self._h264 is not None:
            payloads = self._h264._packetize(self._h264._split_bitstream(frame.data))
        else:
            payloads = [frame.data]
        if self.on_packed is not None:
            self.on_packed(frame, len(payloads))
        return payloads, ts

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("the relay never encodes")


def install_packer(sender: RTCRtpSender, packer: Packer,
                   on_keyframe_request: Callable[[], None]) -> FastSender:
    """Make ``sender`` packetise encoded frames and pass PLI/FIR to the relay; return the
    :class:`FastSender` that sends frames for it."""
    setattr(sender, _TX + "encoder", packer)
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
    return FastSender(sender, packer)


class PacketHistory(dict[int, Any]):
    """A sender's retransmission history, kept per frame sent instead of per packet.

    aiortc's NACK handler reads ``history.get(seq % RTP_HISTORY_SIZE)`` and expects
    the ``RtpPacket`` last sent with that key. The relay's send path records one
    entry per frame (:meth:`record`: its first sequence number, its payloads, what
    the header held) and builds the packet only when a NACK asks for it; aiortc's
    own send loop (``fast_send=False``) still writes packets into the dict.
    """

    def __init__(self, packets: dict[int, Any]) -> None:
        super().__init__(packets)
        #: (first seq, count, pt, timestamp, ssrc, payloads, mid, abs-send-time), newest last
        self.frames: deque[tuple[Any, ...]] = deque(maxlen=RTP_HISTORY_SIZE)
        #: the packets the C fan-out sent (:meth:`FastSender.c_history`): key -> (seq, packet)
        self.c_lookup: Callable[[int], tuple[int, RtpPacket] | None] | None = None
        #: the sender's next sequence number (which of two candidates is the newer)
        self.next_seq: Callable[[], int] = lambda: 0

    def record(self, entry: tuple[Any, ...]) -> None:
        self.frames.append(entry)

    def get(self, key: int, default: Any = None) -> Any:
        packet = self._newest(key)
        if packet is not None:
            return packet
        return dict.get(self, key, default)

    def __getitem__(self, key: int) -> Any:
        packet = self._newest(key)
        return packet if packet is not None else dict.__getitem__(self, key)

    def _newest(self, key: int) -> RtpPacket | None:
        """The newest of what the Python send path and the C fan-out sent for ``key``."""
        packet = self._from_frames(key)
        found = self.c_lookup(key) if self.c_lookup is not None else None
        if found is None:
            return packet
        if packet is None:
            return found[1]
        last = self.next_seq() - 1
        if (last - found[0]) & 0xFFFF < (last - packet.sequence_number) & 0xFFFF:
            return found[1]
        return packet

    def _from_frames(self, key: int) -> RtpPacket | None:
        """The newest packet among the last ``RTP_HISTORY_SIZE`` sent whose sequence
        number is ``key`` modulo the history's size (2**16 is a multiple of it)."""
        seen = 0
        for first, count, pt, timestamp, ssrc, payloads, mid, abs_send_time in reversed(
                self.frames):
            back = (first + count - 1 - key) % RTP_HISTORY_SIZE  # steps back from the last
            if back < count:
                index = count - 1 - back
                packet = RtpPacket(payload_type=pt, marker=int(index == count - 1),
                                   sequence_number=(first + index) & 0xFFFF,
                                   timestamp=timestamp, ssrc=ssrc, payload=payloads[index])
                packet.extensions = HeaderExtensions(mid=mid, abs_send_time=abs_send_time)
                return packet
            seen += count
            if seen >= RTP_HISTORY_SIZE:
                break
        return None


NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
_RTP_HEADER = struct.Struct("!BBHLL")
#: an RTCP sender report without report blocks: header, SSRC, NTP, RTP time, counts
_SENDER_REPORT = struct.Struct("!BBHLLLLLL")
_CONNECTED = aiortc.rtcdtlstransport.State.CONNECTED
# the sender's own fields, written per frame (its RTCP sender reports and stats read them)
_TX_TRANSPORT = _TX + "transport"
_TX_NTP = _TX + "ntp_timestamp"
_TX_RTP = _TX + "rtp_timestamp"
_TX_OCTETS = _TX + "octet_count"
_TX_PACKETS = _TX + "packet_count"
#: the sender's report interval (seconds, varied by 0.5-1.5x): libwebrtc's defaults, video
#: 1 s and audio 5 s (aiortc reports every 0.5-1.5 s on every stream); the first comes
#: within 1.5 s, so a receiver can align audio and video early
RTCP_INTERVAL_VIDEO = 1.0
RTCP_INTERVAL_AUDIO = 5.0


class _Route:
    """What a frame needs to leave on one connection, worked out once per connection
    (DTLS transport, selected ICE pair) instead of once per frame."""

    __slots__ = (
        "addr",
        "after",
        "before",
        "c",
        "c_route",
        "c_send",
        "dtls",
        "first_byte",
        "gso",
        "nominated",
        "pair",
        "protect",
        "protocol",
        "pt",
        "ssrc",
        "timed",
        "transport",
    )

    def __init__(self, dtls: Any, pair: Any, nominated: dict[int, Any], ssrc: int, pt: int,
                 template: tuple[bytes, bytes, bool], gso: GsoSender | None) -> None:
        self.dtls = dtls
        self.pair = pair
        self.nominated = nominated
        self.protect: Callable[[bytes], bytes] = dtls._tx_srtp.protect
        protocol = pair.protocol
        transport = getattr(protocol, "transport", None)
        plain_udp = isinstance(protocol, aioice.ice.StunProtocol) and transport is not None
        #: the loop's datagram transport (None: e.g. a TURN allocation, which wraps the data)
        self.transport = transport if plain_udp else None
        self.protocol = protocol
        self.addr = pair.remote_addr
        if gso is None or gso.transport is not transport:
            gso = GsoSender(transport, protocol) if plain_udp else None
        self.gso = gso
        self.ssrc = ssrc
        self.pt = pt
        self.before, self.after, self.timed = template
        self.first_byte = 0x90 if self.before else 0x80  # version 2, extension bit
        #: the C send path (:mod:`.sendpath`) through the duplicate socket, when built
        self.c: sendpath.CRoute | None = None
        self.c_route: Any = None
        self.c_send: Callable[..., int] | None = None
        sock = gso.socket if gso is not None else None
        if sendpath.AVAILABLE and sock is not None and gso is not None:
            header = _RTP_HEADER.pack(self.first_byte, pt, 0, 0, ssrc) + self.before
            abs_at = len(header) if self.timed else -1
            if self.timed:
                header += b"\0\0\0" + self.after
            self.c = sendpath.CRoute.for_socket(dtls._tx_srtp, sock, self.addr, header,
                                                abs_at, _gso.SUPPORTED)
            if self.c is not None:
                gso.share(self.c)
                self.c_route, self.c_send = self.c.function()

    def valid(self, dtls: Any) -> bool:
        return (dtls is self.dtls and dtls._state is _CONNECTED
                and self.nominated.get(1) is self.pair)


class FastSender:
    """Sends a slot's frames the moment the relay has them, without a task per subscriber.

    aiortc's sender would await its track, then await three nested coroutines per
    packet (DTLS transport, ICE connection, datagram protocol). This does the same
    work synchronously — packetise, add the mid and abs-send-time extensions,
    keep the packet in the sender's history (so aiortc still answers NACKs with
    retransmissions), SRTP-protect, write to the selected ICE pair — and keeps
    the sender's counters so its RTCP sender reports stay right. aiortc's own send
    loop stays idle (the slot never hands it a frame).
    """

    def __init__(self, sender: RTCRtpSender, packer: Packer) -> None:
        self.sender = sender
        self.packer = packer
        self.payload_type: int | None = None
        self.mid: str | None = None
        self.packets = 0
        self._sequence = random.randint(0, 0xFFFF)
        self._timestamp_origin = random.randint(0, 0xFFFFFFFF)
        self._fields: dict[str, Any] = sender.__dict__
        self._history = PacketHistory(getattr(sender, _TX + "rtp_history"))
        setattr(sender, _TX + "rtp_history", self._history)
        self._extensions = getattr(sender, _TX + "rtp_header_extensions_map")
        self._pending = TaskSet()
        self._template: tuple[bytes, bytes, bool] | None = None
        self._template_mid: str | None = None
        self._route: _Route | None = None
        self._stale = False
        #: the SDES chunk (it only changes with the SSRC or CNAME)
        self._sdes: tuple[tuple[int, str], bytes] | None = None
        #: while its frames go through the producer's C fan-out (:mod:`.fanout`)
        self.member: Membership | None = None
        #: the C route whose history holds what the fan-out sent (NACKs)
        self._kept: sendpath.CRoute | None = None
        self._history.c_lookup = self.c_history
        self._history.next_seq = self._next_sequence
        original_send = sender.send

        async def send(parameters: Any) -> None:
            self.payload_type = parameters.codecs[0].payloadType
            self.mid = parameters.muxId
            self._stale = True
            if self.member is not None:
                self.member.leave()
            await original_send(parameters)

        sender.send = send  # type: ignore[method-assign]
        for name in ("cname", "rtcp_started", "rtcp_exited", "lsr", "lsr_time"):
            if _TX + name not in self._fields:
                raise IncompatibleAiortc(f"RTCRtpSender.__{name} is missing")
        sender._run_rtcp = self._run_rtcp  # type: ignore[method-assign]

    async def _run_rtcp(self) -> None:
        """aiortc's ``RTCRtpSender._run_rtcp`` (sender report and SDES, BYE at the end),
        at libwebrtc's intervals and sent straight to the connection's socket."""
        fields = self._fields
        fields[_TX + "rtcp_started"].set()
        interval = RTCP_INTERVAL_AUDIO if self.packer._audio else RTCP_INTERVAL_VIDEO
        delay = 0.5 + random.random()
        try:
            while True:
                await asyncio.sleep(delay)
                delay = interval * (0.5 + random.random())
                payload = self._report()
                route = self._route
                if (route is not None and route.transport is not None
                        and route.valid(fields[_TX_TRANSPORT])):
                    route.transport.sendto(route.dtls._tx_srtp.protect_rtcp(payload),
                                           route.addr)
                else:  # not connected yet, or through TURN: aiortc's own way
                    with contextlib.suppress(ConnectionError):
                        await fields[_TX_TRANSPORT]._send_rtp(payload)
        except asyncio.CancelledError:
            pass
        await self.sender._send_rtcp([RtcpByePacket(sources=[self.sender._ssrc])])
        fields[_TX + "rtcp_exited"].set()

    def _report(self) -> bytes:
        """A sender report and SDES, byte for byte as aiortc's sender would write them
        (``RtcpSrPacket`` and ``RtcpSdesPacket``), packed directly."""
        fields = self._fields
        if self.member is not None:
            self.member.take()  # what the fan-out counted first
        ssrc = self.sender._ssrc
        ntp = fields[_TX_NTP]
        payload = _SENDER_REPORT.pack(0x80, 200, 6, ssrc, ntp >> 32, ntp & 0xFFFFFFFF,
                                      fields[_TX_RTP], fields[_TX_PACKETS] & 0xFFFFFFFF,
                                      fields[_TX_OCTETS] & 0xFFFFFFFF)
        fields[_TX + "lsr"] = (ntp >> 16) & 0xFFFFFFFF  # for the round-trip time
        fields[_TX + "lsr_time"] = time.time()
        cname = fields[_TX + "cname"]
        if cname is not None:
            if self._sdes is None or self._sdes[0] != (ssrc, cname):
                self._sdes = ((ssrc, cname), bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(
                    ssrc=ssrc, items=[(1, cname.encode("utf8"))])])))
            payload += self._sdes[1]
        return payload

    def _extension_block(self, extensions: HeaderExtensions) -> bytes:
        """The RTP header extension bytes (profile, length, elements), encoded by aiortc."""
        profile, value = self._extensions.set(extensions)
        if not value:
            return b""
        block: bytes = struct.pack("!HH", profile, len(value) >> 2) + value
        return block

    def _extension_template(self) -> tuple[bytes, bytes, bool]:
        """The extension block around the abs-send-time value, worked out once per mid
        with aiortc's encoder: a frame only changes those three bytes (and when
        abs-send-time is not negotiated, as for audio, the block never changes)."""
        if self._template_mid == self.mid and self._template is not None:
            return self._template
        marker = 0x5A3C96
        block = self._extension_block(HeaderExtensions(mid=self.mid, abs_send_time=marker))
        zero = self._extension_block(HeaderExtensions(mid=self.mid, abs_send_time=0))
        at = block.find(marker.to_bytes(3, "big"))
        if block == zero:  # abs-send-time not negotiated: a constant block
            self._template = (block, b"", False)
        elif at >= 0 and zero == block[:at] + b"\0\0\0" + block[at + 3:]:
            self._template = (block[:at], block[at + 3:], True)
        else:
            raise IncompatibleAiortc("cannot locate abs-send-time in the extension block")
        self._template_mid = self.mid
        return self._template

    def _reroute(self, dtls: Any) -> _Route | None:
        """The connection's route, or None while it cannot carry media."""
        old = self._route
        self._route = None
        pt = self.payload_type
        if pt is None or dtls is None or dtls._state is not _CONNECTED:
            return None
        nominated = dtls.transport._connection._nominated
        pair = nominated.get(1)
        if pair is None:
            return None
        self._route = _Route(dtls, pair, nominated, self.sender._ssrc, pt,
                             self._extension_template(), old.gso if old else None)
        return self._route

    def send(self, frame: EncodedFrame, packetiser: Packetiser | None = None) -> bool:
        """Send one frame now; False when the connection cannot carry it yet.

        ``packetiser`` is the producer's (its payloads are cut once for every
        subscriber); without one the sender's packer cuts them itself. Per frame, not
        per packet: the route (:class:`_Route`), the header extension block (mid,
        abs-send-time) and the sender-report counters; the frame's packets go out in
        one system call (:mod:`.gso`) when the socket allows it, and the history keeps
        a tuple per packet, not an ``RtpPacket``.
        """
        if self.member is not None:  # called directly: the fan-out hands this sender back
            self.member.leave()
        fields = self._fields
        dtls = fields[_TX_TRANSPORT]
        route = self._route
        if (route is None or self._stale or dtls is not route.dtls
                or dtls._state is not _CONNECTED or route.nominated.get(1) is not route.pair):
            self._stale = False
            route = self._reroute(dtls)
            if route is None:
                return False
        if packetiser is not None:
            payloads, ts = self.packer.shared(frame, packetiser)
            ntp, abs_send_time = packetiser.ntp, packetiser.abs_send_time
            wire = packetiser.wire if payloads is packetiser.last_payloads else None
        else:
            payloads, ts = self.packer.pack(frame)
            ntp = int((time.time() + NTP_EPOCH_OFFSET) * 4294967296)  # 32.32 fixed point
            abs_send_time = (ntp >> 14) & 0xFFFFFF  # 6.18 fixed point
            wire = None
        timestamp = (self._timestamp_origin + ts) & 0xFFFFFFFF
        seq = self._sequence
        count = len(payloads)
        # what aiortc needs to answer a NACK for any of these packets (PacketHistory)
        self._history.frames.append((seq, count, route.pt, timestamp, route.ssrc, payloads,
                                     self.mid, abs_send_time))
        c_send = route.c_send
        if c_send is not None:
            data, sizes, n, octets = wire or sendpath.wire(payloads)
            sent = c_send(route.c_route, seq, timestamp, abs_send_time, data, sizes, n)
            if sent != n and not self._c_incomplete(route, sent, n):
                c_send = None  # nothing was protected: the Python path below sends it
        if c_send is None:
            octets = self._send_python(route, payloads, seq, timestamp, abs_send_time)
        self._sequence = (seq + count) & 0xFFFF
        self.packets += count
        fields[_TX_NTP] = ntp
        fields[_TX_RTP] = timestamp
        fields[_TX_OCTETS] += octets
        fields[_TX_PACKETS] += count
        return True

    # -- in its producer's fan-out (:class:`.fanout.FanOut`) --------------------------

    def c_member(self) -> sendpath.CRoute | None:
        """The C route through which the producer's fan-out can send this sender's
        frames: its connection carries media through a plain socket with the C path,
        and its timestamps (and VP8 picture ids) are already based on the current
        publisher. None: its frames go this sender's own way (:meth:`send`)."""
        route = self._route
        packer = self.packer
        if (route is None or self._stale or route.c is None
                or packer._offset == -1 or (packer._vp8 is not None and packer._pid_offset == -1)
                or not route.valid(self._fields[_TX_TRANSPORT])):
            return None
        return route.c

    def still_member(self, c: sendpath.CRoute) -> bool:
        """Can ``c`` (this sender's route when it joined) still carry its frames?"""
        route = self._route
        return (route is not None and route.c is c and not self._stale
                and route.valid(self._fields[_TX_TRANSPORT]))

    def load(self, c: sendpath.CRoute) -> None:
        """Hand the sequence number, timestamps and picture ids to ``c``: from now on the
        fan-out sends this sender's frames, until :meth:`take` takes them back."""
        r = c.route
        packer = self.packer
        r.seq = self._sequence
        r.origin = self._timestamp_origin
        r.offset = packer._offset
        r.last_out = packer._last_out
        r.vp8 = int(packer._vp8 is not None)
        r.pid_offset = packer._pid_offset if packer._vp8 is not None else 0
        r.last_pid = packer._last_pid
        r.packets = 0
        r.octets = 0
        c.keep_history(self._kept)
        self._kept = c

    def take(self, values: list[int]) -> None:
        """What the fan-out sent for this sender since it last took it
        (:meth:`.sendpath.CRoute.take`): the sequence number, timestamps and picture
        ids back to this sender, its counters to the sender's fields (its sender
        reports and ``getStats`` read them)."""
        packets, octets, rtp, ntp = values[0], values[1], values[2], values[3]
        packer = self.packer
        self._sequence = values[7]
        packer._last_out = values[8]
        if packer._vp8 is not None:
            packer._last_pid = values[9]
        if packets:
            fields = self._fields
            self.packets += packets
            fields[_TX_PACKETS] += packets
            fields[_TX_OCTETS] += octets
            fields[_TX_NTP] = ntp & 0xFFFFFFFFFFFFFFFF
            fields[_TX_RTP] = rtp

    def c_queue(self, sent: int, n: int) -> None:
        """The fan-out protected a frame's ``n`` packets for this sender but its socket
        took only ``sent`` (or refused them): the loop's transport sends the rest."""
        route = self._route
        if route is not None and route.transport is not None:
            for i in range(max(sent, 0), n):
                route.transport.sendto(sendpath.packet(i), route.addr)

    def c_history(self, key: int) -> tuple[int, RtpPacket] | None:
        """What the fan-out last sent for sequence numbers congruent to ``key``."""
        kept = self._kept
        found = kept.history(key) if kept is not None else None
        if found is None:
            return None
        return found[0], RtpPacket.parse(found[1], self._extensions)

    def _next_sequence(self) -> int:
        route = self._route
        if self.member is not None and route is not None and route.c is not None:
            return int(route.c.route.seq)
        return self._sequence

    def _c_incomplete(self, route: _Route, sent: int, n: int) -> bool:
        """The C send path wrote ``sent`` of a frame's ``n`` packets (or returned an
        error): queue the rest, already protected, on the loop's transport, which
        sends them when the socket can take them (or reports the error). False when
        nothing was protected, so the frame still has to be sent."""
        if sent in sendpath.NOT_PROTECTED:
            return False
        if sent <= sendpath.SRTP_ERROR:
            raise pylibsrtp.Error(f"srtp_protect failed ({sendpath.SRTP_ERROR - sent})")
        transport = route.transport
        assert transport is not None
        for i in range(max(sent, 0), n):
            transport.sendto(sendpath.packet(i), route.addr)
        return True

    def _send_python(self, route: _Route, payloads: list[bytes], seq: int, timestamp: int,
                     abs_send_time: int) -> int:
        """The send path without the C module: packet by packet. Returns the octets."""
        if route.timed:
            ext_block = route.before + abs_send_time.to_bytes(3, "big") + route.after
        else:
            ext_block = route.before
        protect = route.protect
        pack_header = _RTP_HEADER.pack
        first_byte, pt, ssrc = route.first_byte, route.pt, route.ssrc
        last = len(payloads) - 1
        octets = 0
        datagrams = []
        for i, payload in enumerate(payloads):
            marker = 1 if i == last else 0
            datagrams.append(protect(pack_header(first_byte, (marker << 7) | pt, seq,
                                                 timestamp, ssrc) + ext_block + payload))
            octets += len(payload)
            seq = (seq + 1) & 0xFFFF
        transport = route.transport
        if transport is None:  # e.g. a TURN allocation: its protocol wraps the data itself
            for data in datagrams:
                self._pending.spawn(route.protocol.send_data(data, route.addr))
        elif last == 0:  # audio: nothing to batch
            transport.sendto(datagrams[0], route.addr)
        else:
            route.gso.send(datagrams, route.addr)  # type: ignore[union-attr]
        return octets


# ---- counting NACKs (for the metrics) ----------------------------------------------


def count_nacks_received(sender: RTCRtpSender, on_nack: Callable[[int], None]) -> None:
    """Call ``on_nack(1)`` for every packet a subscriber asks ``sender`` to retransmit."""
    retransmit = sender._retransmit

    async def counted(sequence_number: int) -> None:
        on_nack(1)
        await retransmit(sequence_number)

    sender._retransmit = counted  # type: ignore[method-assign]


def count_nacks_sent(receiver: RTCRtpReceiver, on_nack: Callable[[int], None]) -> None:
    """Call ``on_nack(n)`` for the ``n`` lost packets of every NACK ``receiver`` sends."""
    send_nack = receiver._send_rtcp_nack

    async def counted(media_ssrc: int, lost: list[int]) -> None:
        on_nack(len(lost))
        await send_nack(media_ssrc, lost)

    receiver._send_rtcp_nack = counted  # type: ignore[method-assign]


# ---- capping the publisher's bitrate (REMB) ---------------------------------------------


def cap_remb(receiver: RTCRtpReceiver, cap: Callable[[], int | None]) -> None:
    """Lower every REMB ``receiver`` sends its publisher to ``cap()`` bit/s (when set).

    aiortc's receiver estimates the publisher's leg itself and sends REMB; this keeps
    that estimate when it is lower, so the publisher sends no more than the slowest
    subscriber it serves can take (the relay does not transcode).
    """
    send_rtcp = receiver._send_rtcp

    async def capped(packet: Any) -> None:
        limit = cap()
        if (limit is not None and isinstance(packet, RtcpPsfbPacket)
                and packet.fmt == RTCP_PSFB_APP):
            with contextlib.suppress(ValueError):
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if bitrate > limit:
                    packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=packet.ssrc,
                                            media_ssrc=packet.media_ssrc,
                                            fci=pack_remb_fci(limit, ssrcs))
        await send_rtcp(packet)

    receiver._send_rtcp = capped  # type: ignore[method-assign]


def watch_loss(sender: RTCRtpSender, packer: Packer) -> None:
    """Keep the loss the subscriber reports for ``sender`` (receiver reports) on ``packer``."""
    handle = sender._handle_rtcp_packet

    async def watched(packet: Any) -> None:
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    packer.fraction_lost = report.fraction_lost / 256
                    packer.loss_at = time.monotonic()
        await handle(packet)

    sender._handle_rtcp_packet = watched  # type: ignore[method-assign]
    sender._hearing_packer = packer  # type: ignore[attr-defined]  # for receiver_reports


def receiver_reports(dtls: Any, data: bytes) -> bool:
    """Handle a subscriber's usual RTCP (receiver reports, SDES, REMB) without
    aiortc's parser, router and coroutines, doing what they would do: for each
    report block about one of the relay's senders the round-trip time, the
    ``remote-inbound-rtp`` statistics and the loss the packer keeps
    (:func:`watch_loss`); for a REMB the senders' target bitrate. False, with
    nothing done, when the compound packet holds anything else (a NACK, a keyframe
    request, a sender report, malformed data): aiortc's way then takes all of it."""
    size = len(data)
    pos = 0
    blocks: list[tuple[int, int, int]] = []  # RR: (at, count) of its blocks, its SSRC
    rembs: list[tuple[int, int]] = []  # (at, end) of REMB FCIs
    while pos < size:
        if size < pos + 4:
            return False
        first, kind, length = _RTCP_HEADER.unpack_from(data, pos)
        end = pos + 4 + length * 4
        if first >> 6 != 2 or first & 0x20 or end > size:  # version 2, no padding
            return False
        if kind == 201:  # RR: the reporter's SSRC, then 24-byte report blocks
            count = first & 0x1F
            if 8 + 24 * count > end - pos:
                return False
            blocks.append((pos + 8, count, _SSRC.unpack_from(data, pos + 4)[0]))
        elif kind == 206 and first & 0x1F == 15:  # PSFB, REMB ("APP" feedback)
            rembs.append((pos + 12, end))
        elif kind != 202:  # SDES says nothing to a sender
            return False
        pos = end
    senders = dtls._rtp_router.senders
    now = time.time()
    for at, count, reporter in blocks:
        for i in range(count):
            ssrc, lost_word, _, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(
                data, at + 24 * i)
            sender = senders.get(ssrc)
            if sender is not None:
                _on_report(sender, reporter, lost_word, jitter, lsr, dlsr, now)
    for at, end in rembs:
        try:
            bitrate, ssrcs = unpack_remb_fci(data[at:end])
        except ValueError:
            continue
        for ssrc in ssrcs:
            sender = senders.get(ssrc)
            if sender is not None:
                encoder = sender.__dict__.get(_TX + "encoder")
                if encoder is not None and hasattr(encoder, "target_bitrate"):
                    encoder.target_bitrate = bitrate
    return True


def _on_report(sender: Any, reporter: int, lost_word: int, jitter: int, lsr: int, dlsr: int,
               now: float) -> None:
    """aiortc's ``RTCRtpSender._handle_rtcp_packet`` for one report block (its
    statistics name the reporter's SSRC, as aiortc's do)."""
    fields = sender.__dict__
    fraction_lost = lost_word >> 24
    packets_lost = lost_word & 0xFFFFFF
    if packets_lost & 0x800000:  # 24-bit two's complement
        packets_lost -= 0x1000000
    if fields[_TX + "lsr"] == lsr and dlsr:
        rtt = now - fields[_TX + "lsr_time"] - dlsr / 65536
        last = fields[_TX + "rtt"]
        fields[_TX + "rtt"] = rtt if last is None else RTT_ALPHA * last + (1 - RTT_ALPHA) * rtt
    fields[_TX + "stats"].add(RTCRemoteInboundRtpStreamStats(
        timestamp=clock.current_datetime(), type="remote-inbound-rtp",
        id="remote-inbound-rtp_" + str(id(sender)), ssrc=reporter, kind=fields[_TX + "kind"],
        transportId=sender.transport._stats_id,
        packetsReceived=fields[_TX_PACKETS] - packets_lost, packetsLost=packets_lost,
        jitter=jitter, roundTripTime=fields[_TX + "rtt"], fractionLost=fraction_lost))
    packer = getattr(sender, "_hearing_packer", None)
    if packer is not None:
        packer.fraction_lost = fraction_lost / 256
        packer.loss_at = time.monotonic()


_RTCP_HEADER = struct.Struct("!BBH")
_SSRC = struct.Struct("!L")
#: SSRC, fraction lost and cumulative loss, highest sequence, jitter, LSR, DLSR
_REPORT_BLOCK = struct.Struct("!LLLLLL")


#: the same packet is retransmitted at most once in this time (seconds) ...
RETRANSMIT_INTERVAL = 0.1
#: ... and at most this many times
RETRANSMIT_TIMES = 2


def limit_retransmissions(sender: RTCRtpSender, active: Callable[[], bool]) -> None:
    """Answer a NACK only while ``active()`` (a slot held back or detached resends
    nothing), and resend one packet at most :data:`RETRANSMIT_TIMES` times, once per
    :data:`RETRANSMIT_INTERVAL`: a receiver that NACKs its whole missing list again at
    every new gap (aiortc does) would otherwise flood the very link that is losing
    packets (measured: retransmissions were 40 % of a congested leg's packets)."""
    retransmit = sender._retransmit
    sent: dict[int, tuple[float, int]] = {}

    async def limited(sequence_number: int) -> None:
        if not active():
            return
        now = time.monotonic()
        at, times = sent.get(sequence_number, (-1.0, 0))
        if times >= RETRANSMIT_TIMES or now - at < RETRANSMIT_INTERVAL:
            return
        if len(sent) > 4 * RTP_HISTORY_SIZE:
            sent.clear()
        sent[sequence_number] = (now, times + 1)
        await retransmit(sequence_number)

    sender._retransmit = limited  # type: ignore[method-assign]
