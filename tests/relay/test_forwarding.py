"""The relay forwards encoded frames between real aiortc peers, never transcoding."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import av
import pytest
from aiortc.rtp import RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket

from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.relay import forwarding
from hearing_server.relay.aiortc_hook import Packer
from hearing_server.relay.forwarding import Producer, Slot
from hearing_server.relay.frames import EncodedFrame
from tests.relay.harness import Harness, wait_for


@pytest.fixture
def no_codecs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every codec context and decoder thread created while the test runs."""
    created: list[str] = []
    real_create = av.CodecContext.create

    def spy(*args: object, **kwargs: object) -> object:
        created.append(str(args[0]))
        return real_create(*args, **kwargs)

    monkeypatch.setattr(av.CodecContext, "create", spy)
    return created


def decoder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]


async def test_two_subscribers_receive_publisher_audio_and_video_at_source_rate(
    no_codecs: list[str],
) -> None:
    h = Harness()
    try:
        judge = await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        observer = await h.join("observer", Role.OBSERVER, publish=False)
        await wait_for(lambda: party.frames("video") > 5 and observer.frames("video") > 5, 15)
        start = {c: (c.frames_from("judge", "camera"), c.frames_from("judge", "microphone"))
                 for c in (party, observer)}
        await asyncio.sleep(3.0)
        for c in (party, observer):
            video = c.frames_from("judge", "camera") - start[c][0]
            audio = c.frames_from("judge", "microphone") - start[c][1]
            assert 80 <= video <= 100, f"{c.name} got {video} video frames in 3 s"
            assert 135 <= audio <= 165, f"{c.name} got {audio} audio frames in 3 s"
        assert judge.frames("video") == 0  # nobody else publishes
        assert h.errors == []
        # the server side created no codec and no decoder thread; the clients' own
        # publishing (Opus encoder for aiortc's packetiser) is on the client side
        server_codecs = [c for c in no_codecs if c not in ("libopus", "opus")]
        assert server_codecs == []
        assert decoder_threads() == []
        for peer in h.router.peers.values():
            for slot in peer.slots:
                assert slot.packer._vp8 is None or slot.packer._vp8.codec is None
    finally:
        await h.close()


async def test_h264_hearing_forwards_h264_without_transcoding(no_codecs: list[str]) -> None:
    from bench.client import MediaClient
    from bench.media import encode_audio, encode_video
    from hearing_server.relay.peer import PeerConfig

    h = Harness(PeerConfig(video_codec="h264", ice_timeout=10))
    video = encode_video(320, 240, seconds=2, codec="h264", gop=30)
    audio = encode_audio(seconds=2)
    created_before = len(no_codecs)
    try:
        h.member("judge", Role.JUDGE)
        h.clients["judge"] = MediaClient("judge", video, audio)
        await h.router.connect("judge", Role.JUDGE, h.session)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames_from("judge", "camera") > 20, 15)
        offers = [p for pid, e, p in h.signals if pid == "party" and e == "media.offer"]
        assert "H264/90000" in offers[0]["sdp"] and "VP8/90000" not in offers[0]["sdp"]
        video_rx = next(r for r in party.received.values() if r.kind == "video")
        assert video_rx.keyframes >= 1
        server_codecs = [c for c in no_codecs[created_before:] if c not in ("libopus", "opus")]
        assert server_codecs == []
        assert decoder_threads() == []
    finally:
        await h.close()


async def test_fast_path_keeps_nack_history_and_sender_report_counters() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10, 10)
        slot = next(s for s in h.router.peers["party"].slots if s.kind == "video")
        assert slot.fast is not None and slot.fast.packets > 10
        sender = slot.fast.sender
        history = sender._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        last_seq = (slot.fast._sequence - 1) & 0xFFFF
        assert history[last_seq % 128].sequence_number == last_seq
        # one entry per frame sent, no RtpPacket (nor anything else) per packet
        assert dict.get(history, last_seq % 128) is None
        assert 0 < len(history.frames) < slot.fast.packets
        # a NACK from the subscriber is answered from that history by aiortc itself
        before = sender.transport._RTCDtlsTransport__tx_packets  # type: ignore[attr-defined]
        await sender._retransmit(last_seq)
        assert sender.transport._RTCDtlsTransport__tx_packets == before + 1  # type: ignore[attr-defined]
        assert sender._RTCRtpSender__packet_count == slot.fast.packets  # type: ignore[attr-defined]
    finally:
        await h.close()


async def test_the_subscribers_sender_reports_give_the_relay_a_round_trip_time() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        slot = next(s for s in h.router.peers["party"].slots if s.kind == "video")
        assert slot.fast is not None
        sender = slot.fast.sender

        rtts: list[float] = []

        async def sample() -> None:
            for stats in (await sender.getStats()).values():
                if (getattr(stats, "type", "") == "remote-inbound-rtp"
                        and stats.roundTripTime is not None):
                    rtts.append(float(stats.roundTripTime))

        # the relay's own sender reports (relay/aiortc_hook.py) reach the subscriber,
        # whose receiver reports then carry them back: a round-trip time
        for _ in range(50):
            await sample()
            if rtts:
                break
            await asyncio.sleep(0.2)
        assert rtts and 0 <= rtts[0] < 1.0, rtts
        assert party.frames("video") > 10
    finally:
        await h.close()


async def test_the_relays_sender_report_is_byte_for_byte_what_aiortc_would_write() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10, 10)
        slot = next(s for s in h.router.peers["party"].slots if s.kind == "video")
        assert slot.fast is not None
        sender = slot.fast.sender
        f = sender.__dict__
        assert slot.fast.member is not None  # its frames go through the C fan-out ...
        report = slot.fast._report()  # ... whose counters the report takes first
        assert f["_RTCRtpSender__packet_count"] > 10
        expected = bytes(RtcpSrPacket(ssrc=sender._ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=f["_RTCRtpSender__ntp_timestamp"],
            rtp_timestamp=f["_RTCRtpSender__rtp_timestamp"],
            packet_count=f["_RTCRtpSender__packet_count"],
            octet_count=f["_RTCRtpSender__octet_count"]))) + bytes(RtcpSdesPacket(
                chunks=[RtcpSourceInfo(ssrc=sender._ssrc, items=[
                    (1, f["_RTCRtpSender__cname"].encode())])]))
        assert report == expected
        assert f["_RTCRtpSender__lsr"] == (f["_RTCRtpSender__ntp_timestamp"] >> 16) & 0xFFFFFFFF
    finally:
        await h.close()


def test_a_slot_waiting_for_a_keyframe_asks_again_until_one_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A PLI (or the keyframe it brought) lost on the way, or a keyframe that came
    before the slot could send: the subscriber's picture must not stay black."""
    clock = SimpleNamespace(now=100.0)
    monkeypatch.setattr(forwarding, "time", SimpleNamespace(
        monotonic=lambda: clock.now, perf_counter=lambda: clock.now))
    producer = Producer("judge", Source.CAMERA, "vp8", None, lambda p: None)  # type: ignore[arg-type]
    asked: list[float] = []
    monkeypatch.setattr(producer, "request_keyframe", lambda: asked.append(clock.now))
    slot = Slot("video", Packer("vp8", 3000))
    slot.ready = True
    slot.attach(producer)
    assert asked == [100.0]  # attaching asks at once
    for i in range(1, 31):  # three seconds of inter frames at 10 fps
        clock.now = 100.0 + i / 10
        assert not slot.push(EncodedFrame(b"\x01inter", i * 9000, False, clock.now))
    assert [round(t, 1) for t in asked] == [100.0, 101.0, 102.0, 103.0]
    assert slot.counters.dropped == 30
    clock.now += 0.1
    slot.push(EncodedFrame(b"\x00key", 31 * 9000, True, clock.now))  # queued for the sender
    for i in range(32, 60):  # forwarded now: no more asking
        clock.now += 0.1
        slot.push(EncodedFrame(b"\x01inter", i * 9000, False, clock.now))
    assert len(asked) == 4
