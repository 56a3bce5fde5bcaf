"""The aiortc internals the relay relies on. These fail loudly if aiortc changes."""

from __future__ import annotations

import itertools

import aiortc
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from hearing_server.relay.aiortc_hook import (
    PINNED_AIORTC_VERSION,
    Packer,
    check_aiortc,
    tap_receiver,
)
from hearing_server.relay.frames import EncodedFrame, is_keyframe
from hearing_server.relay.jitter import CJitterBuffer, LowDelayJitterBuffer


@pytest.fixture(params=[LowDelayJitterBuffer, CJitterBuffer], ids=["python", "c"])
def buffer_type(request: pytest.FixtureRequest) -> type[LowDelayJitterBuffer]:
    """The relay's jitter buffer: the Python one and the C one (what the relay uses)."""
    cls: type[LowDelayJitterBuffer] = request.param
    return cls


def packet(seq: int, ts: int, marker: int, data: bytes = b"x") -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker, ssrc=1234)
    p._data = data  # type: ignore[attr-defined]
    return p


def test_aiortc_is_the_pinned_version_with_the_hooked_internals() -> None:
    assert aiortc.__version__ == PINNED_AIORTC_VERSION
    check_aiortc()


async def test_tapped_receiver_has_the_private_fields_the_hook_replaces() -> None:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    receiver: RTCRtpReceiver = transceiver.receiver
    for name in ("decoder_queue", "decoder_thread", "jitter_buffer", "started", "codecs",
                 "rtx_ssrc", "transport", "rtcp_task", "remote_streams"):
        assert hasattr(receiver, "_RTCRtpReceiver__" + name), name
    got: list[EncodedFrame | None] = []
    buffer = tap_receiver(receiver, "video", got.append)
    assert isinstance(buffer, LowDelayJitterBuffer)
    assert receiver._RTCRtpReceiver__jitter_buffer is buffer  # type: ignore[attr-defined]
    sender = transceiver.sender
    assert hasattr(sender, "_RTCRtpSender__encoder")
    await pc.close()


def test_audio_frames_are_released_the_moment_they_arrive(
        buffer_type: type[LowDelayJitterBuffer]) -> None:
    jb = buffer_type(capacity=16, is_video=False)
    _, frame = jb.add(packet(10, 960, 1, b"a"))
    assert frame is not None and frame.data == b"a"
    _, frame = jb.add(packet(11, 1920, 1, b"b"))
    assert frame is not None and frame.timestamp == 1920
    _, late = jb.add(packet(9, 0, 1, b"late"))
    assert late is not None and late.timestamp == 0  # reordered: forwarded all the same
    _, again = jb.add(packet(9, 0, 1, b"late"))
    assert again is None  # a duplicate is not
    _, stale = jb.add(packet(8, 1920 - 48000 - 960, 1, b"stale"))
    assert stale is None  # more than a second behind


def test_a_late_audio_packet_is_packed_with_its_own_timestamp() -> None:
    packer = Packer("opus", 960)
    _, t1 = packer.pack(EncodedFrame(b"a", 960, True, 0.0))
    _, t2 = packer.pack(EncodedFrame(b"b", 2880, True, 0.0))
    _, late = packer.pack(EncodedFrame(b"c", 1920, True, 0.0))
    _, t3 = packer.pack(EncodedFrame(b"d", 3840, True, 0.0))
    assert (t2 - t1, late - t1, t3 - t1) == (1920, 960, 2880)


def test_video_frame_is_released_on_its_last_packet_not_the_next_frame(
        buffer_type: type[LowDelayJitterBuffer]) -> None:
    jb = buffer_type(capacity=128, is_video=True, startup_wait=0)
    assert jb.add(packet(100, 3000, 0, b"A"))[1] is None
    assert jb.add(packet(101, 3000, 0, b"B"))[1] is None
    _, frame = jb.add(packet(102, 3000, 1, b"C"))
    assert frame is not None and frame.data == b"ABC" and frame.timestamp == 3000
    # out of order within the next frame: released when the gap fills
    assert jb.add(packet(104, 6000, 1, b"E"))[1] is None
    _, frame = jb.add(packet(103, 6000, 0, b"D"))
    assert frame is not None and frame.data == b"DE"
    assert jb.media_ssrc == 1234


def test_packer_keeps_timestamps_continuous_across_a_change_of_publisher() -> None:
    p = Packer("opus", 960)
    a, b = object(), object()
    p.set_source(a)
    _, t1 = p.pack(EncodedFrame(b"x", 5000, True, 0.0))
    _, t2 = p.pack(EncodedFrame(b"x", 5960, True, 0.0))
    p.set_source(b)
    _, t3 = p.pack(EncodedFrame(b"x", 500123, True, 0.0))
    assert t2 - t1 == 960 and t3 - t2 == 960
    # the clock jumps back (10 s: more than a reordered packet): still monotonic
    _, t4 = p.pack(EncodedFrame(b"x", 50, True, 0.0))
    assert t4 > t3


def test_vp8_and_h264_keyframes_are_recognised() -> None:
    assert is_keyframe("vp8", bytes([0x10, 0, 0])) is True
    assert is_keyframe("vp8", bytes([0x11, 0, 0])) is False
    assert is_keyframe("h264", b"\x00\x00\x00\x01\x67abc\x00\x00\x01\x65x") is True
    assert is_keyframe("h264", b"\x00\x00\x00\x01\x41abc") is False
    assert is_keyframe("opus", b"\x01") is True


def test_fast_sender_writes_the_same_bytes_as_aiortc_serialize() -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap

    from hearing_server.relay.aiortc_hook import _RTP_HEADER, FastSender

    extmap = HeaderExtensionsMap()
    extmap.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
        RTCRtpHeaderExtensionParameters(
            id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    fake = FastSender.__new__(FastSender)
    fake._extensions = extmap
    ext = HeaderExtensions(mid="3", abs_send_time=0x123456)
    block = fake._extension_block(ext)
    for marker in (0, 1):
        packet = RtpPacket(payload_type=96, marker=marker, sequence_number=65535,
                           timestamp=0xFFFFFFF0, ssrc=0xDEADBEEF, payload=b"\x10vp8 data")
        packet.extensions = ext
        ours = _RTP_HEADER.pack(0x90, (marker << 7) | 96, 65535, 0xFFFFFFF0, 0xDEADBEEF) \
            + block + b"\x10vp8 data"
        assert ours == packet.serialize(extmap)


def test_a_new_video_streams_head_that_arrives_late_still_leads_its_first_frame(
        buffer_type: type[LowDelayJitterBuffer]) -> None:
    jb = buffer_type(capacity=128, is_video=True, startup_wait=10.0)
    assert jb.add(packet(201, 3000, 1, b"B"))[1] is None  # overtook its frame's head
    assert jb.add(packet(200, 3000, 0, b"A"))[1] is None  # held: the start-up wait
    jb._startup_wait = 0.0
    _, frame = jb.add(packet(202, 6000, 1, b"C"))
    assert frame is not None and frame.data == b"AB"


def test_a_frame_whose_packet_never_returns_is_given_up_for_a_keyframe(
        buffer_type: type[LowDelayJitterBuffer], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hearing_server.relay.jitter.RECOVERY_WAIT", 0.0)
    asked: list[int] = []
    jb = buffer_type(capacity=128, is_video=True, startup_wait=0)
    jb.on_unrecoverable = lambda: asked.append(1)
    assert jb.add(packet(300, 3000, 1, b"A"))[1] is not None
    # 301 (frame 6000's head) is lost for good; 302 ends that frame, 303 is a whole frame
    assert jb.add(packet(302, 6000, 1, b"y"))[1] is None
    _, frame = jb.add(packet(303, 9000, 1, b"Z"))
    assert frame is not None and frame.data == b"Z"  # skipped to the next whole frame
    assert jb.lost_frames == 1 and jb.awaiting_keyframe and asked == [1]
    jb.add(packet(304, 12000, 1, b"W"))
    assert asked == [1]  # not again at once (KEYFRAME_RETRY)


def test_every_subscriber_of_a_stream_shares_one_packetisation() -> None:
    from aiortc.codecs.vpx import Vp8Encoder

    from hearing_server.relay.aiortc_hook import Packetiser

    cut = Packetiser("vp8")
    first, second = Packer("vp8", 3000), Packer("vp8", 3000)
    for p in (first, second):
        p.set_source(cut)
    frame = EncodedFrame(bytes(range(256)) * 12, 3000, True, 0.0)
    a, _ = first.shared(frame, cut)
    b, _ = second.shared(frame, cut)
    assert a is b  # the same list of payloads: cut once
    assert a == Vp8Encoder._packetize(frame.data, cut.picture_id)  # as aiortc cuts it


def test_a_slot_that_changes_publisher_keeps_its_vp8_picture_ids_continuous() -> None:
    from aiortc.codecs.vpx import VpxPayloadDescriptor

    from hearing_server.relay.aiortc_hook import Packetiser

    def picture_id(payload: bytes) -> int:
        pid = VpxPayloadDescriptor.parse(payload)[0].picture_id
        assert pid is not None
        return pid

    one, two = Packetiser("vp8"), Packetiser("vp8")
    two.picture_id = (one.picture_id + 1000) & 0x7FFF
    packer = Packer("vp8", 3000)
    packer.set_source(one)
    seen = []
    for i in range(3):
        payloads, _ = packer.shared(EncodedFrame(b"\x10" + bytes(2000), 3000 * i, True, 0.0),
                                    one)
        seen.append(picture_id(payloads[0]))
        assert {picture_id(p) for p in payloads} == {seen[-1]}
    packer.set_source(two)
    for i in range(2):
        payloads, _ = packer.shared(EncodedFrame(b"\x10" + bytes(2000), 500 + 3000 * i, True,
                                                 0.0), two)
        seen.append(picture_id(payloads[-1]))
        assert b"".join(p[4:] for p in payloads) == b"\x10" + bytes(2000)  # only the id differs
    assert [(b - a) & 0x7FFF for a, b in itertools.pairwise(seen)] == [1, 1, 1, 1]


def test_a_changed_publisher_whose_picture_ids_are_small_keeps_its_payload_whole() -> None:
    """aiortc writes a picture id below 128 in one byte: the rewritten two-byte id must
    replace that byte, not the first byte of the VP8 payload."""
    from aiortc.codecs.vpx import VpxPayloadDescriptor

    from hearing_server.relay.aiortc_hook import Packetiser

    one, two = Packetiser("vp8"), Packetiser("vp8")
    one.picture_id, two.picture_id = 3000, 4  # the next frame of ``two`` has id 5
    packer = Packer("vp8", 3000)
    packer.set_source(one)
    packer.shared(EncodedFrame(b"\x10" + bytes(100), 0, True, 0.0), one)
    packer.set_source(two)
    data = bytes(range(1, 200)) * 10
    payloads, _ = packer.shared(EncodedFrame(data, 3000, True, 0.0), two)
    parsed = [VpxPayloadDescriptor.parse(p) for p in payloads]
    assert {d.picture_id for d, _ in parsed} == {3002}
    assert b"".join(rest for _, rest in parsed) == data
