"""The parts of the C ingest (``ingest.c``) against the Python they replace, packet by
packet: the RTCP statistics and the NACK generator against aiortc's, the C jitter
buffer against the relay's Python one, the VP8 descriptor against aiortc's
depayloader. Answers and state must be equal after every packet."""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aiortc.rtcrtpreceiver
import pytest
from aiortc.codecs.vpx import vp8_depayload
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics, TimestampMapper
from aiortc.rtp import RtpPacket

from hearing_server.relay import ingest, jitter, sendpath
from hearing_server.relay.aiortc_hook import _vp8_payload
from hearing_server.relay.ingest import CNackGenerator, CStreamStatistics, CTimestampMapper
from hearing_server.relay.jitter import CJitterBuffer, LowDelayJitterBuffer
from tests.relay.harness import impaired, vp8_descriptor_cases


@pytest.fixture(autouse=True)
def built() -> None:
    assert ingest.AVAILABLE  # scripts/setup.sh builds the C module: it is tested here


def packet(seq: int, ts: int, marker: int = 0, data: bytes = b"", ssrc: int = 1234) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=ts & 0xFFFFFFFF,
                  marker=marker, ssrc=ssrc)
    p._data = data  # type: ignore[attr-defined]
    return p


def field_sequence(rng: random.Random, n: int, start: int) -> Iterator[int]:
    """Sequence numbers as a field network delivers them: loss, reordering,
    duplicates, bursts of loss, an occasional jump (a restarted sender), the wrap."""
    seq = start
    held: list[int] = []
    for _ in range(n):
        r = rng.random()
        seq = (seq + 1) & 0xFFFF
        if r < 0.05:
            continue  # lost
        if r < 0.07:
            seq = (seq + rng.randrange(2, 40)) & 0xFFFF  # a burst lost
        elif r < 0.075:
            seq = (seq + rng.choice((200, 5000, 32767, 32768, 40000))) & 0xFFFF  # a jump
        if r > 0.95 and held:
            yield held.pop()  # late
        if 0.90 < r < 0.93:
            held.append(seq)
            continue
        yield seq
        if 0.2 < r < 0.22:
            yield seq  # duplicate
        if 0.3 < r < 0.31:
            yield (seq - rng.randrange(1, 300)) & 0xFFFF  # very late


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """One fake clock for aiortc, the Python buffer and the C side."""
    now = SimpleNamespace(t=1_700_000_000.25)
    fake = SimpleNamespace(time=lambda: now.t, perf_counter=lambda: now.t,
                           monotonic=lambda: now.t)
    for module in (aiortc.rtcrtpreceiver, ingest, jitter):
        monkeypatch.setattr(module, "time", fake)
    yield now
    ingest.set_fake_clock(0.0)


def stats_state(s: StreamStatistics) -> tuple[Any, ...]:
    return (s.base_seq, s.max_seq, s.cycles, s.packets_received, s._jitter_q4,
            s._last_arrival, s._last_timestamp, s.packets_expected, s.packets_lost, s.jitter)


@pytest.mark.parametrize("seed", range(6))
def test_the_c_statistics_count_as_aiortcs(seed: int, clock: SimpleNamespace) -> None:
    rng = random.Random(seed)
    clockrate = rng.choice((90000, 48000, 8000))
    ours, theirs = CStreamStatistics(clockrate), StreamStatistics(clockrate)
    ts = rng.randrange(1 << 32)
    for i, seq in enumerate(field_sequence(rng, 4000, rng.randrange(1 << 16))):
        clock.t += rng.choice((0.0, 0.001, 0.02, 0.033, 0.5, rng.random() * 3))
        ts = (ts + rng.choice((0, 0, 3000, 960, 1 << 31, -3000))) & 0xFFFFFFFF
        p = packet(seq, ts)
        ours.add(p)
        theirs.add(p)
        assert stats_state(ours) == stats_state(theirs), i
        if i % 97 == 0:  # a receiver report: reads (and moves) the fraction lost
            assert ours.fraction_lost == theirs.fraction_lost
    assert theirs.packets_lost > 0 and theirs.cycles > 0 and theirs.jitter > 0


def test_c_statistics_take_over_where_aiortcs_left_off(clock: SimpleNamespace) -> None:
    theirs = StreamStatistics(90000)
    for seq in (65530, 65531, 65533):
        clock.t += 0.03
        theirs.add(packet(seq, seq * 3000))
    theirs.fraction_lost  # noqa: B018  (a report was sent: the prior counts moved)
    ours = CStreamStatistics(90000, like=theirs)
    assert stats_state(ours) == stats_state(theirs)
    for seq in (65534, 2, 1, 3):
        clock.t += 0.03
        ours.add(packet(seq, seq * 3000))
        theirs.add(packet(seq, seq * 3000))
        assert stats_state(ours) == stats_state(theirs)
    assert ours.fraction_lost == theirs.fraction_lost


@pytest.mark.parametrize("seed", range(6))
def test_the_c_nack_generator_misses_what_aiortcs_misses(seed: int) -> None:
    rng = random.Random(100 + seed)
    ours, theirs = CNackGenerator(), NackGenerator()
    missed = 0
    for i, seq in enumerate(field_sequence(rng, 5000, rng.randrange(1 << 16))):
        p = packet(seq, 0)
        answer = ours.add(p)
        assert answer == theirs.add(p), i
        missed += answer
        assert ours.max_seq == theirs.max_seq
        assert ours.missing == theirs.missing, i
    assert missed > 100


def test_the_c_timestamp_mapper_unwraps_as_aiortcs() -> None:
    rng = random.Random(5)
    ours, theirs = CTimestampMapper(), TimestampMapper()
    assert ours._origin is None and ours._last is None
    ts = (1 << 32) - 3000 * 40  # wraps 40 frames in
    for _ in range(300):
        step = rng.choice((3000, 3000, 3000, 6000, -3000))  # late frames too
        ts = (ts + step) & 0xFFFFFFFF
        assert ours.map(ts) == theirs.map(ts)
        assert (ours._origin, ours._last) == (theirs._origin, theirs._last)
    assert ours._origin is not None and ours._origin < 0  # it did wrap


Buffer = LowDelayJitterBuffer


def buffer_state(b: Buffer) -> tuple[Any, ...]:
    return (b._origin, b.media_ssrc, b.arrived_at, b.awaiting_keyframe, b.lost_frames,
            b.discarded_frames)


def video_stream(rng: random.Random, frames: int) -> Iterator[tuple[int, int, int, bytes]]:
    """(seq, ts, marker, data) of VP8-like frames of 1-6 packets."""
    seq, ts = rng.randrange(1 << 16), rng.randrange(1 << 32)
    for _ in range(frames):
        n = rng.choice((1, 1, 2, 3, 6))
        for i in range(n):
            yield seq, ts, int(i == n - 1), rng.randbytes(rng.randrange(0, 1200))
            seq = (seq + 1) & 0xFFFF
        ts = (ts + 3000) & 0xFFFFFFFF
        if rng.random() < 0.01:
            seq = (seq + rng.choice((150, 600, 40000))) & 0xFFFF  # a sender that jumped


def run_buffers(clock: SimpleNamespace, rng: random.Random, is_video: bool,
                items: list[tuple[int, int, int, bytes]], capacity: int,
                startup_wait: float) -> tuple[int, int]:
    ours = CJitterBuffer(capacity, is_video, startup_wait=startup_wait)
    theirs = LowDelayJitterBuffer(capacity, is_video, startup_wait=startup_wait)
    asks: dict[str, int] = {"ours": 0, "theirs": 0}
    if rng.random() < 0.5:  # the relay's keyframe request, else the buffer's own PLI
        ours.on_unrecoverable = lambda: asks.__setitem__("ours", asks["ours"] + 1)
        theirs.on_unrecoverable = lambda: asks.__setitem__("theirs", asks["theirs"] + 1)
    frames = plis = 0
    for i, (seq, ts, marker, data) in enumerate(items):
        clock.t += rng.choice((0.0, 0.002, 0.01, 0.033, 0.3, 1.2)) if is_video else 0.02
        p = packet(seq, ts, marker, data, ssrc=4321)
        a, b = ours.add(p), theirs.add(p)
        assert a[0] == b[0], i
        assert (a[1] is None) == (b[1] is None), i
        if a[1] is not None and b[1] is not None:
            assert (a[1].data, a[1].timestamp) == (b[1].data, b[1].timestamp), i
            frames += 1
        plis += a[0]
        assert asks["ours"] == asks["theirs"]
        if rng.random() < 0.02 and theirs.awaiting_keyframe:  # the tap saw a keyframe
            ours.keyframe_arrived()
            theirs.keyframe_arrived()
        if rng.random() < 0.02:  # the tap dropped a frame
            ours.discarded_frames += 1
            theirs.discarded_frames += 1
        assert buffer_state(ours) == buffer_state(theirs), i
    return frames, plis + asks["ours"]


@pytest.mark.parametrize("seed", range(8))
def test_the_c_jitter_buffer_releases_the_frames_the_python_one_releases(
        seed: int, clock: SimpleNamespace) -> None:
    rng = random.Random(200 + seed)
    items = impaired(rng, list(video_stream(rng, 1500)))
    frames, asked = run_buffers(clock, rng, True, items, rng.choice((64, 128, 512)),
                                rng.choice((0.0, 0.06)))
    assert frames > 500 and asked > 0


@pytest.mark.parametrize("seed", range(4))
def test_the_c_jitter_buffer_passes_audio_as_the_python_one_does(
        seed: int, clock: SimpleNamespace) -> None:
    rng = random.Random(300 + seed)
    ts = rng.randrange(1 << 32)
    items = [(i & 0xFFFF, (ts + 960 * i) & 0xFFFFFFFF, 1, rng.randbytes(rng.randrange(1, 200)))
             for i in range(3000)]
    items = impaired(rng, items)
    for k in range(0, len(items), 400):  # far behind: more than a second late
        seq, ts, marker, data = items[k]
        items.insert(k + 1, (seq, (ts - 48000 - rng.randrange(2)) & 0xFFFFFFFF, marker, data))
    frames, _ = run_buffers(clock, rng, False, items, 16, 0.06)
    assert frames > 2500


def test_the_c_jitter_buffer_refuses_a_capacity_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValueError):
        CJitterBuffer(100, True)


def test_the_c_vp8_descriptor_is_stripped_as_aiortc_strips_it() -> None:
    lib = sendpath.MODULE.lib
    for payload in vp8_descriptor_cases(random.Random(9)):
        try:
            expected: bytes | None = vp8_depayload(payload)
        except ValueError:
            expected = None
        start = lib.hs_vp8_start(payload, len(payload))
        assert (None if start < 0 else payload[start:]) == expected, payload.hex()
        assert _vp8_payload(payload) == expected if expected is not None else True
