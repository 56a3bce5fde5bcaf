from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from recording.errors import RecordingError
from recording.segment import Codec, SegmentInfo, TrackRecorder, sha256_file
from tests.recording.conftest import START, FakeClock
from tests.recording.media import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    Frame,
    decode,
    ffmpeg_decode_errors,
    ffprobe,
    h264_frames,
    opus_frames,
    retimed,
    vp8_frames,
)


def video_recorder(tmp_path: Path, clock: FakeClock, **kwargs: Any) -> TrackRecorder:
    return TrackRecorder(
        tmp_path, "p1-video", "video", "vp8", VIDEO_CLOCK, wall_clock=clock, **kwargs
    )


def feed(
    recorder: TrackRecorder,
    frames: list[Frame] | tuple[Frame, ...],
    clock: FakeClock | None = None,
) -> None:
    """Write ``frames``; with ``clock``, move it along with the frames (real time)."""
    origin = clock.now - frames[0].timestamp / recorder.clock_rate if clock and frames else 0.0
    for frame in frames:
        if clock is not None:
            clock.now = origin + frame.timestamp / recorder.clock_rate
        recorder.write(frame.data, frame.timestamp, frame.keyframe)


def assert_playable(path: Path, codec: str, duration: float, frames: int) -> None:
    probed = ffprobe(path)
    stream = probed["streams"][0]
    assert stream["codec_name"] == codec
    assert float(probed["format"]["duration"]) == pytest.approx(duration, abs=0.05)
    assert ffmpeg_decode_errors(path) == ""
    decoded = decode(path)
    assert decoded.first_packet_is_keyframe
    assert decoded.first_pts == pytest.approx(0.0, abs=0.001)
    assert decoded.decoded_frames == frames


def test_vp8_frames_are_muxed_byte_for_byte_into_a_playable_webm(
    tmp_path: Path, clock: FakeClock
) -> None:
    source = vp8_frames(90)
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, source)
    info = recorder.close()

    assert info is not None
    assert info.file_name == "p1-video-0001.webm"
    assert (info.kind, info.codec, info.frames, info.reason) == ("video", "vp8", 90, "closed")
    assert info.duration == pytest.approx(3.0, abs=0.001)
    assert info.start == START
    assert info.end == pytest.approx(START + 3.0)
    assert not info.recovered
    path = tmp_path / info.file_name
    assert_playable(path, "vp8", 3.0, 90)
    probed = ffprobe(path)["streams"][0]
    assert (probed["width"], probed["height"]) == (320, 240)
    assert decode(path).packets == [frame.data for frame in source]  # no transcoding


def test_opus_frames_are_muxed_into_a_playable_webm_with_an_opus_header(
    tmp_path: Path, clock: FakeClock
) -> None:
    source = opus_frames(150)
    recorder = TrackRecorder(tmp_path, "p1-audio", "audio", "opus", AUDIO_CLOCK, wall_clock=clock)
    feed(recorder, source)
    info = recorder.close()

    assert info is not None and info.file_name == "p1-audio-0001.webm"
    assert info.duration == pytest.approx(3.0, abs=0.001)
    path = tmp_path / info.file_name
    assert_playable(path, "opus", 3.0, 150)
    stream = ffprobe(path)["streams"][0]
    assert (stream["sample_rate"], stream["channels"]) == ("48000", 2)
    assert b"OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00" in path.read_bytes()[:4096]
    assert decode(path).packets == [frame.data for frame in source]


def test_h264_frames_are_muxed_into_a_playable_matroska_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    source = h264_frames(60)
    recorder = TrackRecorder(tmp_path, "p1-video", "video", "h264", VIDEO_CLOCK, wall_clock=clock)
    feed(recorder, source)
    info = recorder.close()

    assert info is not None and info.file_name == "p1-video-0001.mkv"
    path = tmp_path / info.file_name
    assert_playable(path, "h264", 2.0, 60)
    stream = ffprobe(path)["streams"][0]
    assert (stream["width"], stream["height"]) == (320, 240)


def test_video_before_the_first_keyframe_is_dropped_and_a_keyframe_is_requested(
    tmp_path: Path, clock: FakeClock
) -> None:
    requests: list[int] = []
    source = vp8_frames(90)
    recorder = video_recorder(tmp_path, clock, request_keyframe=lambda: requests.append(1))
    feed(recorder, source[5:])  # starts mid-GOP: the next keyframe is frame 30
    info = recorder.close()

    assert recorder.frames_dropped == 25
    assert requests  # asked once, not on every dropped frame
    assert len(requests) == 1
    assert info is not None and info.frames == 60
    assert_playable(tmp_path / info.file_name, "vp8", 2.0, 60)


def test_keyframe_flag_of_the_caller_is_not_trusted(tmp_path: Path, clock: FakeClock) -> None:
    cases: tuple[tuple[Codec, tuple[Frame, ...]], ...] = (
        ("vp8", vp8_frames(60)),
        ("h264", h264_frames(60)),
    )
    for codec, source in cases:
        recorder = TrackRecorder(
            tmp_path, f"p1-{codec}", "video", codec, VIDEO_CLOCK, wall_clock=clock
        )
        for frame in source[10:]:  # mid-GOP, every frame claimed to be a keyframe
            recorder.write(frame.data, frame.timestamp, True)
        info = recorder.close()
        assert recorder.frames_dropped == 20
        assert info is not None and info.frames == 30
        assert decode(tmp_path / info.file_name).first_packet_is_keyframe


def test_segments_rotate_at_the_keyframe_after_the_duration_and_follow_each_other(
    tmp_path: Path, clock: FakeClock
) -> None:
    closed: list[SegmentInfo] = []
    recorder = video_recorder(tmp_path, clock, segment_seconds=2.0, on_segment_closed=closed.append)
    feed(recorder, vp8_frames(180), clock)  # 6 s, keyframe every second
    recorder.close()

    assert [s.reason for s in closed] == ["duration", "duration", "closed"]
    assert [s.file_name for s in closed] == [f"p1-video-000{n}.webm" for n in (1, 2, 3)]
    for segment in closed:
        assert segment.duration == pytest.approx(2.0, abs=0.001)
        assert_playable(tmp_path / segment.file_name, "vp8", 2.0, 60)
    for before, after in itertools.pairwise(closed):
        assert after.start == pytest.approx(before.end, abs=0.001)
    assert recorder.segments == closed


def test_rotation_waits_for_a_keyframe_and_asks_for_one_every_second(
    tmp_path: Path, clock: FakeClock
) -> None:
    requests: list[float] = []
    frames = vp8_frames(180, gop=90)  # keyframes at 0 s and 3 s only
    recorder = video_recorder(
        tmp_path, clock, segment_seconds=1.0, request_keyframe=lambda: requests.append(clock.now)
    )
    for frame in frames:
        clock.now = START + frame.timestamp / VIDEO_CLOCK
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    recorder.close()

    assert [round(t - START, 2) for t in requests] == [1.0, 2.0, 4.0, 5.0]
    assert [s.duration for s in recorder.segments] == [pytest.approx(3.0), pytest.approx(3.0)]
    for segment in recorder.segments:
        assert decode(tmp_path / segment.file_name).first_packet_is_keyframe


def test_audio_segments_rotate_on_the_packet_that_reaches_the_duration(
    tmp_path: Path, clock: FakeClock
) -> None:
    recorder = TrackRecorder(
        tmp_path, "p1-audio", "audio", "opus", AUDIO_CLOCK, segment_seconds=1.0, wall_clock=clock
    )
    feed(recorder, opus_frames(125))  # 2.5 s
    recorder.close()

    assert [s.frames for s in recorder.segments] == [50, 50, 25]
    for segment in recorder.segments:
        assert_playable(tmp_path / segment.file_name, "opus", segment.duration, segment.frames)


def test_backward_timestamp_jump_closes_the_segment_and_starts_a_new_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    frames = vp8_frames(90)
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, frames[:60])
    clock.now += 10
    feed(recorder, frames[:30])  # a restarted sender: timestamps from 0 again
    recorder.close()

    first, second = recorder.segments
    assert (first.reason, second.reason) == ("timestamp_jump", "closed")
    assert (first.frames, second.frames) == (60, 30)
    assert second.start == START + 10  # re-anchored on the wall clock
    assert_playable(tmp_path / first.file_name, "vp8", 2.0, 60)
    assert_playable(tmp_path / second.file_name, "vp8", 1.0, 30)


def test_forward_jump_beyond_the_gap_limit_starts_a_new_segment_but_a_short_gap_does_not(
    tmp_path: Path, clock: FakeClock
) -> None:
    frames = opus_frames(100)
    recorder = TrackRecorder(tmp_path, "p1-audio", "audio", "opus", AUDIO_CLOCK, wall_clock=clock)
    feed(recorder, frames[:40])
    feed(recorder, retimed(frames[40:60], 3 * AUDIO_CLOCK))  # 3 s of silence (DTX): same file
    clock.now += 60
    feed(recorder, retimed(frames[60:], 60 * AUDIO_CLOCK))  # a minute later: new file
    recorder.close()

    first, second = recorder.segments
    assert (first.reason, first.frames, second.frames) == ("timestamp_jump", 60, 40)
    assert first.duration == pytest.approx(4.2, abs=0.001)
    assert second.start == START + 60


def test_segment_is_written_under_a_temporary_name_until_closed(
    tmp_path: Path, clock: FakeClock
) -> None:
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, vp8_frames(60))
    assert [p.name for p in tmp_path.iterdir()] == ["p1-video-0001.webm.part"]
    info = recorder.close()
    assert info is not None
    assert [p.name for p in tmp_path.iterdir()] == ["p1-video-0001.webm"]
    assert sha256_file(tmp_path / info.file_name) == (info.size, info.sha256)


def test_close_is_idempotent_and_later_writes_are_ignored(tmp_path: Path, clock: FakeClock) -> None:
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, vp8_frames(30))
    assert recorder.close() is not None
    assert recorder.close() is None
    feed(recorder, vp8_frames(30))
    assert len(list(tmp_path.iterdir())) == 1


def test_rotate_closes_now_and_the_next_segment_waits_for_a_keyframe(
    tmp_path: Path, clock: FakeClock
) -> None:
    frames = vp8_frames(90)
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, frames[:45])
    rotated = recorder.rotate()
    feed(recorder, frames[45:])
    recorder.close()

    assert rotated is not None and rotated.reason == "rotated" and rotated.frames == 45
    assert recorder.segments[1].frames == 30  # frames 45..59 wait for the keyframe at 60
    assert recorder.frames_dropped == 15


def test_garbage_payloads_never_raise(tmp_path: Path, clock: FakeClock) -> None:
    recorder = video_recorder(tmp_path, clock)
    for index in range(50):
        recorder.write(bytes([index]) * (index % 7), index * 3000, True)
    feed(recorder, retimed(vp8_frames(30), 50 * 3000))
    info = recorder.close()
    assert info is not None and info.frames == 30
    audio = TrackRecorder(tmp_path, "p1-audio", "audio", "opus", AUDIO_CLOCK, wall_clock=clock)
    for index in range(50):
        audio.write(b"\xff\x00garbage" * index, index * 960, False)
    assert audio.close() is not None


def test_sequence_numbers_continue_after_existing_files(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "p1-video-0007.webm").write_bytes(b"")
    (tmp_path / "p1-video-0009.webm.part.corrupt").write_bytes(b"")
    recorder = video_recorder(tmp_path, clock)
    feed(recorder, vp8_frames(30))
    info = recorder.close()
    assert info is not None and info.file_name == "p1-video-0010.webm"


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 200, "naïve"])
def test_track_names_that_could_escape_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(RecordingError) as caught:
        TrackRecorder(tmp_path, name, "video", "vp8", VIDEO_CLOCK)
    assert caught.value.code == "recording.bad_track"


def test_codec_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordingError):
        TrackRecorder(tmp_path, "p1", "audio", "vp8", VIDEO_CLOCK)
