"""Media quality as the peers see it, sampled from aiortc's statistics every few seconds.

For every live connection: each receiving transceiver (a publisher's track) reports
packets received and lost and the interarrival jitter the relay measured; each
sending transceiver (a subscriber's slot) reports packets sent and, from the
subscriber's RTCP receiver reports, packets lost, jitter and the round-trip time.
aiortc's figures are cumulative per stream and die with the connection, so the
sampler adds the *increase* since its last look into process-lifetime counters
(a counter never goes down when someone leaves). Bitrates are the byte counters'
increase over the sampling interval. Read with ``getStats()`` (aiortc's public API)
off the forwarding path.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from .peer import Peer
from .sfu import Relay

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0
CLOCK_RATE = {"audio": 48000, "video": 90000}
RTT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0)
JITTER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


class QualitySampler:
    def __init__(self, relay: Relay, registry: CollectorRegistry) -> None:
        self._relay = relay
        #: (what, direction, kind) → process-lifetime count: what is received / lost / sent
        self.packets: Counter[tuple[str, str, str]] = Counter()
        #: last cumulative figures seen per stream (gone with the stream)
        self._last: weakref.WeakKeyDictionary[Any, dict[str, int]] = (
            weakref.WeakKeyDictionary())
        self._rtt = Histogram("hearing_relay_round_trip_time_seconds",
                              "Round-trip time to subscribers, from their RTCP receiver "
                              "reports (one observation per leg per sample)", ["kind"],
                              buckets=RTT_BUCKETS, registry=registry)
        self._jitter = Histogram("hearing_relay_jitter_seconds",
                                 "Interarrival jitter: of publishers' packets at the relay "
                                 "(direction=in), of the relay's packets at subscribers (out)",
                                 ["direction", "kind"], buckets=JITTER_BUCKETS,
                                 registry=registry)
        # the labelled series, looked up once (labels() is not free, and runs per stream)
        self._rtt_of = {kind: self._rtt.labels(kind) for kind in CLOCK_RATE}
        self._jitter_of = {(d, kind): self._jitter.labels(d, kind)
                           for d in ("in", "out") for kind in CLOCK_RATE}
        #: (direction, kind) → bytes per second over the last interval
        self.bitrate: dict[tuple[str, str], float] = {}
        self._bytes_at: tuple[float, Counter[tuple[str, str]]] | None = None

    def _peers(self) -> Iterable[Peer]:
        for router in list(self._relay.routers.values()):
            for peer in list(router.peers.values()):
                if not peer.closed and peer.connected.is_set():
                    yield peer

    def _add(self, stream: Any, name: str, value: Any, what: str, direction: str,
             kind: str) -> None:
        if not isinstance(value, int):
            return
        last = self._last.setdefault(stream, {})
        grew = value - last.get(name, 0)
        if grew > 0:
            self.packets[(what, direction, kind)] += grew
        last[name] = max(value, last.get(name, 0))

    async def sample(self) -> None:
        for peer in self._peers():
            for transceiver in peer.pc.getTransceivers():
                kind = transceiver.kind
                if kind not in CLOCK_RATE:
                    continue
                try:
                    if transceiver.direction == "recvonly":
                        await self._inbound(transceiver.receiver, kind)
                    elif transceiver.direction == "sendonly":
                        await self._outbound(transceiver.sender, kind)
                except Exception as exc:  # a connection closing under us
                    logger.debug("stats of %s failed: %s", peer.participant_id, exc)
        self._bitrates()

    async def _inbound(self, receiver: Any, kind: str) -> None:
        for stats in (await receiver.getStats()).values():
            if getattr(stats, "type", "") != "inbound-rtp":
                continue
            self._add(receiver, "received", stats.packetsReceived, "received", "in", kind)
            self._add(receiver, "lost", stats.packetsLost, "lost", "in", kind)
            if stats.packetsReceived and isinstance(stats.jitter, int):
                self._jitter_of["in", kind].observe(stats.jitter / CLOCK_RATE[kind])

    async def _outbound(self, sender: Any, kind: str) -> None:
        for stats in (await sender.getStats()).values():
            kind_of = getattr(stats, "type", "")
            if kind_of == "outbound-rtp":
                self._add(sender, "sent", stats.packetsSent, "sent", "out", kind)
            elif kind_of == "remote-inbound-rtp":
                self._add(sender, "lost", stats.packetsLost, "lost", "out", kind)
                if isinstance(stats.jitter, int):
                    self._jitter_of["out", kind].observe(stats.jitter / CLOCK_RATE[kind])
                if isinstance(stats.roundTripTime, float) and stats.roundTripTime >= 0:
                    self._rtt_of[kind].observe(stats.roundTripTime)

    def _bitrates(self) -> None:
        sums = self._relay.totals.sums()
        now = time.monotonic()
        current: Counter[tuple[str, str]] = Counter(
            {(d, k): v for (d, k, name), v in sums.items() if name == "bytes"})
        if self._bytes_at is not None:
            then, before = self._bytes_at
            elapsed = now - then
            if elapsed > 0:
                self.bitrate = {key: max(0, current[key] - before[key]) / elapsed
                                for key in set(current) | set(before)}
        self._bytes_at = (now, current)

    async def run(self, interval: float = SAMPLE_SECONDS) -> None:
        while True:
            try:
                await self.sample()
            except Exception:
                logger.exception("sampling the media quality failed")
            await asyncio.sleep(interval)
