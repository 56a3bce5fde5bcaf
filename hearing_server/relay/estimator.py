"""A publisher's receive-side bandwidth estimate (abs-send-time), in C (``estimator.c``).

The relay's receivers answer each publisher's video with REMB: aiortc's
``RemoteBitrateEstimator`` (inter-arrival groups, a Kalman filter of the queuing delay,
an overuse detector and AIMD rate control) decides the bitrate. It runs for every
packet a publisher sends and was a quarter of the ingest's CPU in Python.
:class:`CEstimator` is the same computation in C, answer for answer (same floating
point order; ``tests/relay/test_estimator.py`` compares the two per packet);
:func:`remote_bitrate_estimator` gives it, or aiortc's when the C module is not built.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiortc.rate import RemoteBitrateEstimator

from . import sendpath

#: at most this many SSRCs named in one REMB (aiortc's list keeps every SSRC it saw)
REMB_SSRCS = 16
#: how many values :meth:`CEstimator.state` gives
STATE = 8


class BitrateEstimator(Protocol):
    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int,
            ssrc: int) -> tuple[int, list[int]] | None: ...


class CEstimator:
    """``RemoteBitrateEstimator.add`` of aiortc 1.16.0 in C: None, or the bitrate to
    announce and the SSRCs it covers."""

    __slots__ = ("_add", "_bitrate", "_count", "_ssrcs", "_unpack", "c")

    def __init__(self) -> None:
        module: Any = sendpath.MODULE
        if module is None:
            raise RuntimeError("the C module is not built (scripts/setup.sh builds it)")
        ffi, lib = module.ffi, module.lib
        #: the ``hs_estimator *`` (the C ingest adds to it directly)
        self.c = ffi.new("hs_estimator *")
        lib.hs_estimator_init(self.c)
        self._bitrate = ffi.new("int64_t *")
        self._count = ffi.new("int *")
        self._ssrcs = lib.hs_estimator_ssrcs(self.c)
        self._add = lib.hs_estimator_add
        self._unpack = ffi.unpack

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int,
            ssrc: int) -> tuple[int, list[int]] | None:
        if not self._add(self.c, arrival_time_ms, abs_send_time & 0xFFFFFF,
                         payload_size, ssrc, self._bitrate, self._count):
            return None
        ssrcs: list[int] = self._unpack(self._ssrcs, self._count[0])
        return int(self._bitrate[0]), ssrcs

    def state(self) -> list[float]:
        """The filter's state (offset, slope, noise mean and variance, the covariance's
        diagonal, the detector's threshold, the bitrate), for tests."""
        module: Any = sendpath.MODULE
        out = module.ffi.new("double[]", STATE)
        module.lib.hs_estimator_state(self.c, out)
        values: list[float] = self._unpack(out, STATE)
        return values


def remote_bitrate_estimator() -> BitrateEstimator:
    """The C estimator when the module is built, else aiortc's."""
    if sendpath.AVAILABLE and hasattr(sendpath.MODULE.lib, "hs_estimator_add"):
        return CEstimator()
    return RemoteBitrateEstimator()
