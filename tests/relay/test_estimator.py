"""The C bandwidth estimate gives aiortc's answer for every packet of a publisher's video.

Both estimators are fed the same streams, packet by packet: 30 frames a second in
bursts of packets, network jitter, a queue that builds up (overuse, the rate cut)
and drains (underuse), reordered and late packets, silences longer than the rate
window, the 24-bit abs-send-time wrapping every 64 s, the arrival clock stepping back
and forward, and several SSRCs. Every return value must be equal, and the filter's state after each packet too
(the bitrate answers alone would hide a small numerical difference)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiortc.rate import BandwidthUsage, RemoteBitrateEstimator

from hearing_server.relay.estimator import REMB_SSRCS, CEstimator, remote_bitrate_estimator


@dataclass(frozen=True)
class Packet:
    arrival_time_ms: int
    abs_send_time: int
    payload_size: int
    ssrc: int


def abs_send_time(seconds: float) -> int:
    """RFC abs-send-time: 6.18 fixed-point seconds, 24 bits (wraps every 64 s)."""
    return int(seconds * (1 << 18)) & 0xFFFFFF


def stream(seed: int, seconds: float, ssrcs: int = 1, clock_steps: bool = False,
           start_s: float = 0.0, quiet: bool = False) -> Iterator[Packet]:
    """A publisher's video as the relay sees it arrive."""
    rng = random.Random(seed)
    queue_ms = 0.0
    spread = 1.5
    stall_until = 0
    trend = 0.0  # queuing delay growth, ms per frame (overuse above 0)
    clock_offset = 0
    send = start_s
    pending: list[Packet] = []
    for frame in range(int(seconds * 30)):
        if frame % 45 == 0:  # a new network phase every 1.5 s
            trend = rng.choice([0.0, 0.0, 2.5, 6.0, -3.0, -8.0])
            spread = rng.choice([0.0, 0.2, 1.5, 4.0])  # the jitter's scale, ms
        if quiet:  # a wired link, a steady sender: no queue, no jitter
            trend = spread = 0.0
        if not quiet and rng.random() < 0.01:  # a silence longer than the rate window
            send += rng.uniform(1.2, 3.0)
        if clock_steps and rng.random() < 0.01:
            clock_offset += rng.choice([-4000, -700, 1500, 9000])
        queue_ms = max(0.0, queue_ms + trend + (0 if quiet else rng.gauss(0, 0.8)))
        ssrc = 1000 + rng.randrange(ssrcs)
        packets = rng.choice([1, 1, 2, 3, 5, 8]) if frame % 30 else rng.randint(8, 14)
        if quiet:
            packets = 1
        for i in range(packets):
            t = send + i * 0.0002  # a burst: the sender paces a frame's packets closely
            jitter = abs(rng.gauss(0, spread))
            arrival = int(t * 1000 + 30 + queue_ms + jitter) + clock_offset
            size = 1000 if quiet else rng.choice([rng.randint(900, 1200),
                                                   rng.randint(60, 400)])
            pending.append(Packet(arrival, abs_send_time(t), size, ssrc))
        if not quiet and len(pending) > 2 and rng.random() < 0.05:  # reordered
            i = rng.randrange(len(pending) - 1)
            pending[i], pending[i + 1] = pending[i + 1], pending[i]
        if not quiet and rng.random() < 0.02:  # a stall (Wi-Fi): the next frames arrive at once
            stall_until = pending[-1].arrival_time_ms + rng.randint(100, 400)
        if pending[-1].arrival_time_ms < stall_until:
            continue
        # what was held arrives bunched, a few milliseconds apart at most
        flush = [Packet(max(q.arrival_time_ms, stall_until + i // 4), q.abs_send_time,
                        q.payload_size, q.ssrc) for i, q in enumerate(pending)]
        yield from flush[:-1]
        pending = flush[-1:]
        stall_until = 0
        send += 1 / 30 + (0 if quiet else rng.gauss(0, 0.002))
    yield from pending


def aiortc_state(reference: RemoteBitrateEstimator) -> list[float]:
    """What :meth:`CEstimator.state` gives, read from aiortc's objects."""
    e = reference.estimator
    return [e._offset, e.slope, e.avg_noise, e.var_noise, e.E[0][0], e.E[1][1],
            reference.detector.threshold, reference.rate_control.current_bitrate]


@dataclass
class Seen:
    """What a stream took aiortc's estimator through."""
    count: int = 0
    states: set[BandwidthUsage] = field(default_factory=set)
    bitrates: list[int] = field(default_factory=list)
    least_noise: float = float("inf")


def compare(packets: Iterator[Packet]) -> Seen:
    """Feed both; assert every answer and state equal; say what the stream did."""
    reference, ours = RemoteBitrateEstimator(), CEstimator()
    seen = Seen()
    for seen.count, p in enumerate(packets, 1):
        expected = reference.add(arrival_time_ms=p.arrival_time_ms,
                                 abs_send_time=p.abs_send_time,
                                 payload_size=p.payload_size, ssrc=p.ssrc)
        got = ours.add(arrival_time_ms=p.arrival_time_ms, abs_send_time=p.abs_send_time,
                       payload_size=p.payload_size, ssrc=p.ssrc)
        assert got == expected, f"packet {seen.count}: {p}"
        assert ours.state() == aiortc_state(reference), f"packet {seen.count}: {p}"
        seen.states.add(reference.detector.state())
        seen.least_noise = min(seen.least_noise, reference.estimator.var_noise)
        if expected is not None:
            seen.bitrates.append(expected[0])
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_every_packet_of_a_congested_stream_gets_aiortcs_answer(seed: int) -> None:
    seen = compare(stream(seed, seconds=40))
    assert seen.count > 3000
    # the streams take the estimate through all its states, not only the easy one
    assert seen.states == {BandwidthUsage.NORMAL, BandwidthUsage.OVERUSING,
                      BandwidthUsage.UNDERUSING}
    rates = seen.bitrates
    assert len(rates) > 40
    assert any(b < a for a, b in itertools.pairwise(rates))  # a rate cut
    assert any(b > a for a, b in itertools.pairwise(rates))  # a rise


def test_the_abs_send_time_wrap_and_a_stepping_clock_get_aiortcs_answer() -> None:
    # starts 10 s before the 64 s wrap of abs-send-time and runs across it
    seen = compare(stream(11, seconds=30, clock_steps=True, start_s=54.0))
    assert seen.count > 2000 and seen.bitrates


def test_a_quiet_link_takes_the_noise_to_its_floor_as_aiortc_does() -> None:
    seen = compare(stream(14, seconds=40, quiet=True))
    assert seen.count == 1200 and seen.bitrates
    assert seen.least_noise == 1  # held at the floor


def boundary_values(seed: int, count: int) -> Iterator[Packet]:
    """Steps chosen at the computation's edges: half the 32-bit timestamp space (out
    of order or not), the 5 ms group length, a 62.5 ms and 187.5 ms timestamp delta
    (round half to even), a 5 ms burst, exactly the 1000 ms rate window, the clock
    standing still or stepping back."""
    rng = random.Random(seed)
    abs_steps = [0, 1, 255, 256, 1310, 1311, 8738, 16384, 49152, (1 << 23) - 1, 1 << 23,
                 (1 << 23) + 1, (1 << 24) - 1]
    arrival_steps = [0, 1, 4, 5, 6, 33, 62, 63, 500, 501, 999, 1000, 1001, -1, -5, -1000]
    send, arrival = 0, 10_000
    for _ in range(count):
        send = (send + (rng.choice(abs_steps) if rng.random() < 0.3
                        else rng.randint(0, 20000))) & 0xFFFFFF
        arrival += rng.choice(arrival_steps) if rng.random() < 0.3 else rng.randint(0, 40)
        yield Packet(arrival, send, rng.choice([1, 50, 1200, rng.randint(1, 1500)]),
                     rng.choice([7, 7, 7, 8]))


@pytest.mark.parametrize("seed", range(4))
def test_values_at_the_edges_of_the_computation_get_aiortcs_answer(seed: int) -> None:
    seen = compare(boundary_values(seed, 20000))
    assert seen.count == 20000 and seen.bitrates


def test_several_ssrcs_are_named_as_aiortc_names_them() -> None:
    seen = compare(stream(12, seconds=20, ssrcs=REMB_SSRCS))
    assert seen.count > 1000 and seen.bitrates


def test_a_remb_names_at_most_sixteen_ssrcs_the_first_seen() -> None:
    ours = CEstimator()
    last = None
    for i, p in enumerate(stream(13, seconds=20)):
        answer = ours.add(arrival_time_ms=p.arrival_time_ms, abs_send_time=p.abs_send_time,
                          payload_size=p.payload_size, ssrc=5000 + i % 40)
        last = answer or last
    assert last is not None
    assert last[1] == [5000 + i for i in range(REMB_SSRCS)]


def test_the_relays_receivers_take_the_c_estimator() -> None:
    assert isinstance(remote_bitrate_estimator(), CEstimator)
