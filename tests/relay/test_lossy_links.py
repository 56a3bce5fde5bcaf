"""Lossy legs, through the user-space impairing proxy (bench/impair.py, seeded): the
relay answers a lossy subscriber's NACKs from its send history, NACKs a lossy
publisher upstream and asks for a keyframe (rate-limited) when a frame cannot be
recovered, and a video gap never holds audio back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.client import MediaClient
from bench.impair import Impairment
from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.relay.aiortc_hook import LowDelayJitterBuffer
from hearing_server.relay.forwarding import KEYFRAME_REQUEST_INTERVAL
from tests.relay.harness import Harness, wait_for

FIELD = Impairment(loss=0.03, jitter=0.05)  # 3 % random loss, 0-50 ms jitter (reorders)


def video_buffer(client: MediaClient) -> LowDelayJitterBuffer:
    for t in client.pc.getTransceivers():
        if t.kind == "video" and t.receiver.track is not None:
            buffer = t.receiver._RTCRtpReceiver__jitter_buffer
            assert isinstance(buffer, LowDelayJitterBuffer)
            return buffer
    raise AssertionError("no video receiver")


class Gaps:
    """The longest wait between two frames of a client's receivers, from now on."""

    def __init__(self, client: MediaClient) -> None:
        self.client = client
        for r in client.received.values():
            r.max_gap = 0.0
        self.start = {mid: r.frames for mid, r in client.received.items()}

    def frames(self, kind: str) -> int:
        return sum(r.frames - self.start.get(mid, 0)
                   for mid, r in self.client.received.items() if r.kind == kind)

    def longest(self, kind: str) -> float:
        return max(r.max_gap for r in self.client.received.values() if r.kind == kind)

    def of(self, participant_id: str, kind: str) -> Stream:
        """The frames and the longest wait of what ``participant_id`` sends of ``kind``."""
        mids = [mid for mid, info in self.client.tracks.items()
                if info and info.get("participant_id") == participant_id]
        got = [(mid, r) for mid, r in self.client.received.items()
               if mid in mids and r.kind == kind]
        assert got, (participant_id, kind)
        return Stream(sum(r.frames - self.start.get(mid, 0) for mid, r in got),
                      max(r.max_gap for _, r in got))


@dataclass(frozen=True)
class Stream:
    frames: int
    longest: float


async def test_a_lossy_subscriber_leg_is_repaired_from_the_relays_send_history() -> None:
    h = Harness()
    h.impair("party", down=FIELD, seed=3)
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames_from("judge", "camera") > 10, 15)
        judge_video = h.router.peers["judge"].producers[Source.CAMERA].counters
        sent_before, gaps = judge_video.frames, Gaps(party)
        lost_before = h.proxies["party"].down.stats.lost
        await asyncio.sleep(6.0)
        sent = judge_video.frames - sent_before
        lost = h.proxies["party"].down.stats.lost - lost_before
        nacks = sum(s.counters.nacks for s in h.router.peers["party"].slots)
        assert lost > 10, "the leg really is lossy"
        # the party asked again for what was lost and the relay resent it (RTX) from
        # the history its FastSender keeps
        assert nacks >= lost // 2, (nacks, lost)
        assert h.proxies["party"].down.stats.retransmissions >= lost // 2
        assert gaps.frames("video") >= 0.95 * sent, (gaps.frames("video"), sent)
        assert gaps.longest("video") < 1.0
        assert gaps.longest("audio") < 0.3
        assert h.errors == []
    finally:
        await h.close()


async def test_a_frame_lost_on_the_publishers_leg_is_nacked_then_replaced_by_a_keyframe() -> None:
    h = Harness()
    # every lost packet stays lost: its retransmission is dropped too
    h.impair("judge", up=Impairment(loss=0.01, jitter=0.02, rtx_loss=1.0), seed=5)
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames_from("judge", "camera") > 10, 15)
        producer = h.router.peers["judge"].producers[Source.CAMERA]
        buffer = h.router.peers["judge"]._buffers[Source.CAMERA]
        assert isinstance(buffer, LowDelayJitterBuffer)
        requests_before, nacks_before = producer.counters.keyframe_requests, producer.counters.nacks
        started = time.monotonic()
        await wait_for(lambda: buffer.lost_frames >= 2, 20)
        elapsed = time.monotonic() - started
        await wait_for(lambda: not buffer.awaiting_keyframe, 5)
        assert producer.counters.nacks > nacks_before  # asked upstream first
        requests = producer.counters.keyframe_requests - requests_before
        assert requests >= 1
        assert requests <= elapsed / KEYFRAME_REQUEST_INTERVAL + 2  # rate-limited
        # what could not be decoded without the lost frame was not forwarded, and the
        # keyframe brought the picture back
        after = party.frames_from("judge", "camera")
        await wait_for(lambda: party.frames_from("judge", "camera") > after + 10, 5)
        assert h.errors == []
    finally:
        await h.close()


async def test_a_video_gap_on_the_publishers_leg_never_holds_its_audio_back() -> None:
    h = Harness()
    h.impair("judge", up=Impairment(loss=0.05, jitter=0.05, rtx_loss=1.0), seed=7)
    try:
        await h.join("judge", Role.JUDGE)
        # counsel's leg is clean: the same process, the same machine load, no video gaps
        await h.join("counsel", Role.COUNSEL)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames_from("judge", "microphone") > 10
                       and party.frames_from("counsel", "microphone") > 10, 15)
        buffer = h.router.peers["judge"]._buffers[Source.CAMERA]
        assert isinstance(buffer, LowDelayJitterBuffer)
        gaps = Gaps(party)
        lost_before = buffer.lost_frames
        await asyncio.sleep(5.0)
        assert buffer.lost_frames > lost_before  # video did have gaps
        # the judge's audio went on at its own pace, as counsel's did: 50 frames a
        # second less what the leg lost, and no wait longer than counsel's (whatever
        # the machine's load added to both) by more than a few lost packets
        judge, counsel = gaps.of("judge", "audio"), gaps.of("counsel", "audio")
        assert judge.frames >= 0.85 * counsel.frames, (judge, counsel)
        assert judge.longest < max(0.3, counsel.longest + 0.2), (judge, counsel)
    finally:
        await h.close()
