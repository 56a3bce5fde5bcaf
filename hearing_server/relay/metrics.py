"""Prometheus collector of the relay, read at scrape time.

Gauges are what is live now; every counter is a process-lifetime total kept by
:class:`~hearing_server.relay.totals.NodeTotals` (and the quality sampler), so it
never goes down when a participant leaves or a hearing ends.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .frames import DELAY_BUCKETS_MS
from .quality import QualitySampler
from .sfu import Relay
from .totals import KINDS


def _counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels or [])


class RelayCollector(Collector):
    def __init__(self, relay: Relay, quality: QualitySampler | None = None) -> None:
        self._relay = relay
        self._quality = quality

    def collect(self) -> Iterator[Metric]:
        relay = self._relay
        totals = relay.totals
        yield GaugeMetricFamily("hearing_relay_hearings", "Hearings with media on this node",
                                value=len(relay.hosted()))
        yield GaugeMetricFamily("hearing_relay_peers", "Peer connections on this node",
                                value=relay.peer_count())
        yield GaugeMetricFamily("hearing_relay_forwarded_streams",
                                "Outgoing tracks attached to a publisher",
                                value=relay.forwarded_streams())
        sums = totals.sums()
        per_kind = [
            ("hearing_relay_received_frames", "Encoded frames received from publishers",
             "in", "frames"),
            ("hearing_relay_received_bytes", "Encoded bytes received from publishers",
             "in", "bytes"),
            ("hearing_relay_forwarded_frames", "Encoded frames sent to subscribers",
             "out", "frames"),
            ("hearing_relay_forwarded_bytes", "Encoded bytes sent to subscribers",
             "out", "bytes"),
            ("hearing_relay_dropped_frames", "Frames not sent to a subscriber (waiting for "
             "a keyframe, or a leg that could not keep up)", "out", "dropped"),
            ("hearing_recording_media_bytes", "Encoded bytes handed to the recorder",
             "in", "recorded_bytes"),
        ]
        for name, doc, direction, field in per_kind:
            family = _counter(name, doc, ["kind"])
            for kind in KINDS:
                family.add_metric([kind], sums[(direction, kind, field)])
            yield family
        # video only: audio has no keyframes and aiortc NACKs video only
        plis = _counter("hearing_relay_keyframe_requests",
                        "Keyframe requests (PLI) the relay sent to publishers")
        plis.add_metric([], sums[("in", "video", "keyframe_requests")])
        asked = _counter("hearing_relay_subscriber_keyframe_requests",
                         "Keyframe requests for subscribers' slots (their PLI/FIR, a new "
                         "subscriber, a slot resynchronising)")
        asked.add_metric([], sums[("out", "video", "keyframe_requests")])
        nacks_out = _counter("hearing_relay_nacked_packets_sent",
                             "Lost packets the relay asked publishers to resend (NACK)")
        nacks_out.add_metric([], sums[("in", "video", "nacks")])
        nacks_in = _counter("hearing_relay_nacked_packets_received",
                            "Packets subscribers asked the relay to resend (NACK)")
        nacks_in.add_metric([], sum(sums[("out", k, "nacks")] for k in KINDS))
        yield from (plis, asked, nacks_out, nacks_in)
        opened = _counter("hearing_relay_peer_connections_opened",
                          "Media connections the relay opened")
        opened.add_metric([], totals.peers_opened)
        closed = _counter("hearing_relay_peer_connections_closed",
                          "Media connections closed, by close code (media.ice_failed: "
                          "ICE or DTLS never completed; media.ice_timeout; "
                          "media.connection_lost; left, removed, replaced, closed: normal)",
                          ["code"])
        for code, count in sorted(totals.peers_closed.items()):
            closed.add_metric([code], count)
        yield from (opened, closed)
        delay = HistogramMetricFamily("hearing_relay_forward_delay_seconds",
                                      "Delay the relay adds, receive to send", labels=["kind"])
        for kind, hist in totals.delay().items():
            buckets = []
            running = 0
            for edge, count in zip(DELAY_BUCKETS_MS, hist.counts, strict=False):
                running += count
                buckets.append((str(edge / 1000.0), running))
            buckets.append(("+Inf", hist.total))
            delay.add_metric([kind], buckets, sum_value=hist.sum_ms / 1000.0)
        yield delay
        if self._quality is not None:
            yield from self._quality_metrics(self._quality)

    @staticmethod
    def _quality_metrics(quality: QualitySampler) -> Iterator[Metric]:
        packets = quality.packets
        received = _counter("hearing_relay_rtp_packets_received",
                            "RTP packets received from publishers", ["kind"])
        sent = _counter("hearing_relay_rtp_packets_sent", "RTP packets sent to subscribers",
                        ["kind"])
        lost = _counter("hearing_relay_rtp_packets_lost",
                        "RTP packets lost: from publishers to the relay (direction=in, "
                        "measured here), from the relay to subscribers (out, from their "
                        "receiver reports)", ["direction", "kind"])
        for kind in KINDS:
            received.add_metric([kind], packets[("received", "in", kind)])
            sent.add_metric([kind], packets[("sent", "out", kind)])
            for direction in ("in", "out"):
                lost.add_metric([direction, kind], packets[("lost", direction, kind)])
        yield from (received, sent, lost)
        bitrate = GaugeMetricFamily("hearing_relay_bitrate_bytes_per_second",
                                    "Encoded media rate over the last sampling interval (x8: bits)",
                                    labels=["direction", "kind"])
        for direction in ("in", "out"):
            for kind in KINDS:
                bitrate.add_metric([direction, kind],
                                   quality.bitrate.get((direction, kind), 0.0))
        yield bitrate
