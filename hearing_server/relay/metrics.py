"""Prometheus collector for the relay's per-track counters (read at scrape time)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .frames import DELAY_BUCKETS_MS
from .sfu import Relay


class RelayCollector(Collector):
    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def collect(self) -> Iterator[Metric]:
        relay = self._relay
        yield GaugeMetricFamily("hearing_relay_hearings", "Hearings with media on this node",
                                value=len(relay.routers))
        yield GaugeMetricFamily("hearing_relay_peers", "Peer connections on this node",
                                value=relay.peer_count())
        yield GaugeMetricFamily("hearing_relay_forwarded_streams",
                                "Outgoing tracks attached to a publisher",
                                value=relay.forwarded_streams())
        frames = CounterMetricFamily("hearing_relay_frames_forwarded",
                                     "Encoded frames sent to subscribers", labels=["kind"])
        sent = CounterMetricFamily("hearing_relay_bytes_forwarded",
                                   "Encoded bytes sent to subscribers", labels=["kind"])
        received = CounterMetricFamily("hearing_relay_frames_received",
                                       "Encoded frames received from publishers",
                                       labels=["kind"])
        plis = CounterMetricFamily("hearing_relay_keyframe_requests",
                                   "PLIs sent to publishers", labels=["kind"])
        totals = {k: [0, 0, 0, 0] for k in ("audio", "video")}
        for router in relay.routers.values():
            for peer in router.peers.values():
                for slot in peer.slots:
                    totals[slot.kind][0] += slot.counters.frames
                    totals[slot.kind][1] += slot.counters.bytes
            for producer in router.producers.values():
                totals[producer.kind][2] += producer.counters.frames
                totals[producer.kind][3] += producer.counters.keyframe_requests
        for kind, (f, b, r, k) in totals.items():
            frames.add_metric([kind], f)
            sent.add_metric([kind], b)
            received.add_metric([kind], r)
            plis.add_metric([kind], k)
        yield from (frames, sent, received, plis)
        delay = HistogramMetricFamily("hearing_relay_forward_delay_seconds",
                                      "Delay the relay adds, receive to send", labels=["kind"])
        for kind, hist in relay.delay().items():
            buckets = []
            running = 0
            for edge, count in zip(DELAY_BUCKETS_MS, hist.counts, strict=False):
                running += count
                buckets.append((str(edge / 1000.0), running))
            buckets.append(("+Inf", hist.total))
            delay.add_metric([kind], buckets, sum_value=hist.sum_ms / 1000.0)
        yield delay


def registry_for(relay: Relay) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RelayCollector(relay))
    return registry
