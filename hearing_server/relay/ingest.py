"""A publisher's media packet received in one C call (``ingest.c``): SRTP, the RTP
read, the bandwidth estimate, the RTCP statistics, the NACK generator, the VP8
payload descriptor and the jitter buffer; Python only sends the RTCP feedback the
call asks for and hands the frame on (``aiortc_hook.LeanStream``).

aiortc's receiver keeps reading the state: its receiver reports read the statistics,
its way for retransmissions adds to the NACK generator and the jitter buffer. So each
part is a C object behind a facade in the receiver's place: :class:`CStreamStatistics`
(aiortc's ``StreamStatistics``), :class:`CNackGenerator` (``NackGenerator``) and
``jitter.CJitterBuffer``; ``tests/relay/test_ingest.py`` compares each with aiortc's,
packet by packet, and ``tests/relay/test_lean_receive.py`` the whole receive.
"""

from __future__ import annotations

import time
from typing import Any

from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics, TimestampMapper
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

from . import sendpath

#: whether the C ingest is built
AVAILABLE = sendpath.AVAILABLE and hasattr(sendpath.MODULE.lib, "hs_ingest_packet")
#: hs_ingest's answers (ingest.c)
HANDLED, REMB, NACK, PLI, FRAME, KEYFRAME, DEPAY_ERROR, OTHER, REFRESH, DEPAY = (
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: ... the frame passed the relay's tap in C (``hs_ingest.key``), and is a keyframe
TAPPED, KEY = 1024, 2048
#: ... the fields it writes after hs_receive's (receive.c)
ARRIVAL, BITRATE, COUNT, FRAME_LEN, FRAME_TS = 9, 10, 11, 12, 13
FIELDS = 14
#: how the C ingest strips a codec's payload descriptor (else: Python, ``DEPAY``)
DEPAY_NONE, DEPAY_VP8, DEPAY_PYTHON = 0, 1, 2
#: how the C ingest tells a keyframe for the relay's tap (``is_keyframe``; none: the
#: frame goes to the tap in Python)
KEY_NONE, KEY_VP8, KEY_ALWAYS = 0, 1, 2


def _module() -> Any:
    module: Any = sendpath.MODULE
    if module is None:
        raise RuntimeError("the C module is not built (scripts/setup.sh builds it)")
    return module


def set_fake_clock(now: float) -> None:
    """Tests: the C side's wall and monotonic clocks both read ``now`` (0: real)."""
    _module().lib.hs_set_fake_clock(now)


class CStreamStatistics(StreamStatistics):
    """aiortc's ``StreamStatistics`` of one SSRC with its counters in C (``hs_stats``):
    aiortc's receiver reports and ``getStats`` read them through these properties."""

    def __init__(self, clockrate: int, like: StreamStatistics | None = None) -> None:
        # no super().__init__(): the counters are the C struct's
        module = _module()
        self._add = module.lib.hs_stats_add
        #: the ``hs_stats *``
        self.stats = s = module.ffi.new("hs_stats *")
        s.clockrate = self._clockrate = clockrate
        self._expected_prior = 0
        self._received_prior = 0
        if like is not None:  # the state aiortc's own statistics reached
            self._expected_prior = like._expected_prior
            self._received_prior = like._received_prior
            s.packets_received = like.packets_received
            s.cycles = like.cycles
            s.jitter_q4 = like._jitter_q4
            if like.base_seq is not None:
                s.has_base, s.base_seq = 1, like.base_seq
            if like.max_seq is not None:
                s.has_max, s.max_seq = 1, like.max_seq
            if like._last_arrival is not None and like._last_timestamp is not None:
                s.has_last = 1
                s.last_arrival, s.last_timestamp = like._last_arrival, like._last_timestamp

    def add(self, packet: RtpPacket) -> None:
        self._add(self.stats, packet.sequence_number, packet.timestamp, time.time())

    @property
    def base_seq(self) -> int | None:  # type: ignore[override]
        s = self.stats
        value: int = s.base_seq
        return value if s.has_base else None

    @property
    def max_seq(self) -> int | None:  # type: ignore[override]
        s = self.stats
        value: int = s.max_seq
        return value if s.has_max else None

    @property
    def cycles(self) -> int:  # type: ignore[override]
        value: int = self.stats.cycles
        return value

    @property
    def packets_received(self) -> int:  # type: ignore[override]
        value: int = self.stats.packets_received
        return value

    @property
    def _jitter_q4(self) -> int:  # type: ignore[override]
        value: int = self.stats.jitter_q4
        return value

    @property
    def _last_arrival(self) -> int | None:  # type: ignore[override]
        s = self.stats
        value: int = s.last_arrival
        return value if s.has_last else None

    @property
    def _last_timestamp(self) -> int | None:  # type: ignore[override]
        s = self.stats
        value: int = s.last_timestamp
        return value if s.has_last else None


class CNackGenerator(NackGenerator):
    """aiortc's ``NackGenerator`` with its missing packets in C (``hs_nack``)."""

    def __init__(self) -> None:
        # no super().__init__(): the state is the C struct's
        module = _module()
        self._add = module.lib.hs_nack_add
        self._has = module.lib.hs_nack_has
        #: the ``hs_nack *``
        self.nack = module.ffi.new("hs_nack *")

    def add(self, packet: RtpPacket) -> bool:
        return bool(self._add(self.nack, packet.sequence_number))

    def truncate(self) -> None:
        """Nothing to do: the C generator never holds more than aiortc keeps."""

    @property
    def max_seq(self) -> int | None:  # type: ignore[override]
        n = self.nack
        value: int = n.max_seq
        return value if n.has_max else None

    @property
    def missing(self) -> set[int]:  # type: ignore[override]
        n = self.nack
        if not n.has_max:
            return set()
        top: int = n.max_seq
        seqs = ((top - RTP_HISTORY_SIZE + k) & 0xFFFF for k in range(RTP_HISTORY_SIZE))
        return {seq for seq in seqs if self._has(n, seq)}


class CTimestampMapper(TimestampMapper):
    """aiortc's ``TimestampMapper`` with its state in C (``hs_tsmap``): the C ingest
    maps the frames it releases, aiortc's way (retransmissions) calls :meth:`map`."""

    def __init__(self) -> None:
        # no super().__init__(): the state is the C struct's
        module = _module()
        self._map = module.lib.hs_tsmap_map
        #: the ``hs_tsmap *``
        self.tsmap = module.ffi.new("hs_tsmap *")

    def map(self, timestamp: int) -> int:
        mapped: int = self._map(self.tsmap, timestamp)
        return mapped

    @property
    def _origin(self) -> int | None:  # type: ignore[override]
        m = self.tsmap
        origin: int = m.origin
        return origin if m.has_origin else None

    @property
    def _last(self) -> int | None:  # type: ignore[override]
        m = self.tsmap
        last: int = m.last
        return last if m.has_origin else None


def timestamp_mapper() -> TimestampMapper:
    """The C mapper when the module is built, else aiortc's."""
    return CTimestampMapper() if AVAILABLE else TimestampMapper()


def nack_generator() -> NackGenerator:
    """The C generator when the module is built, else aiortc's."""
    return CNackGenerator() if AVAILABLE else NackGenerator()
