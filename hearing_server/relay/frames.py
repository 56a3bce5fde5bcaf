"""Encoded frames as they travel through the relay, and per-track counters."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from recording.bitstream import is_keyframe

__all__ = ["DelayHistogram", "EncodedFrame", "TrackCounters", "is_keyframe"]


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One reassembled, depayloaded frame, exactly as the publisher encoded it."""

    data: bytes
    #: RTP timestamp in the codec's clock, unwrapped and starting near 0.
    timestamp: int
    keyframe: bool
    #: ``time.perf_counter()`` when the packet completing the frame arrived.
    arrived_at: float


#: Bucket edges in milliseconds for the added-delay histogram.
DELAY_BUCKETS_MS: tuple[float, ...] = (
    0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 33, 50, 80, 120, 200, 500, 1000,
)


@dataclass
class DelayHistogram:
    """Fixed-bucket histogram of the delay the relay adds (receive to send)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(DELAY_BUCKETS_MS) + 1))
    total: int = 0
    sum_ms: float = 0.0

    def observe(self, ms: float) -> None:
        self.counts[bisect.bisect_left(DELAY_BUCKETS_MS, ms)] += 1
        self.total += 1
        self.sum_ms += ms

    def quantile(self, q: float) -> float:
        """Upper bucket edge below which a fraction ``q`` of observations fall."""
        if self.total == 0:
            return 0.0
        target = q * self.total
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= target:
                return DELAY_BUCKETS_MS[i] if i < len(DELAY_BUCKETS_MS) else float("inf")
        return float("inf")

    def merge(self, other: DelayHistogram) -> None:
        for i, c in enumerate(other.counts):
            self.counts[i] += c
        self.total += other.total
        self.sum_ms += other.sum_ms

    def summary(self) -> dict[str, float]:
        return {
            "count": self.total,
            "mean_ms": round(self.sum_ms / self.total, 3) if self.total else 0.0,
            "p50_ms": self.quantile(0.5),
            "p95_ms": self.quantile(0.95),
            "p99_ms": self.quantile(0.99),
        }


@dataclass
class TrackCounters:
    frames: int = 0
    bytes: int = 0
    keyframes: int = 0
    keyframe_requests: int = 0
    dropped: int = 0
    #: packets asked for again (NACKed): by the relay of a publisher, of the relay by a
    #: subscriber
    nacks: int = 0
    #: bytes handed to the recorder
    recorded_bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "frames": self.frames, "bytes": self.bytes, "keyframes": self.keyframes,
            "keyframe_requests": self.keyframe_requests, "dropped": self.dropped,
        }
