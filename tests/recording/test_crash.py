from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from recording.archive import HearingArchive
from recording.recovery import inspect_segment, recover_partial
from recording.segment import TrackRecorder
from recording.signing import Signer
from recording.verify import verify_folder
from tests.recording.conftest import START, FakeClock
from tests.recording.media import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    decode,
    ffmpeg_decode_errors,
    ffprobe,
    opus_frames,
    vp8_frames,
)

ROOT = Path(__file__).resolve().parents[2]
KILL_AT = 3.5  # seconds of media handed to the recorders before SIGKILL


def test_sigkill_loses_at_most_two_seconds_and_the_rest_is_recovered(tmp_path: Path) -> None:
    frames_file = tmp_path / "frames.pickle"
    frames_file.write_bytes(pickle.dumps((list(vp8_frames(150)), list(opus_frames(250)))))
    media = tmp_path / "media"
    media.mkdir()
    written = {"video": 0.0, "audio": 0.0}
    with subprocess.Popen(
        [sys.executable, "-m", "tests.recording.crash_writer", str(media), str(frames_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            for line in child.stdout:
                kind, _, when = line.partition(" ")
                if kind in written:
                    written[kind] = float(when)
                if min(written.values()) >= KILL_AT:
                    break
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    parts = sorted(p.name for p in media.iterdir())
    assert parts == ["p1-audio-0001.webm.part", "p1-video-0001.webm.part"]
    for name, codec in (("p1-video-0001.webm", "vp8"), ("p1-audio-0001.webm", "opus")):
        info = recover_partial(media / (name + ".part"))
        assert info is not None
        assert (info.file_name, info.codec, info.recovered, info.reason) == (
            name,
            codec,
            True,
            "recovered",
        )
        kind = "video" if codec == "vp8" else "audio"
        lost = written[kind] - info.duration
        print(f"{kind}: written {written[kind]:.2f} s, recovered {info.duration:.2f} s")
        assert lost <= 2.0, f"{kind}: {lost:.2f} s lost"
        assert info.duration > 1.0
        path = media / name
        assert ffmpeg_decode_errors(path) == ""
        probed = ffprobe(path)
        assert float(probed["format"]["duration"]) == pytest.approx(info.duration, abs=0.05)
        decoded = decode(path)
        assert decoded.first_packet_is_keyframe
        assert decoded.decoded_frames == info.frames
    assert not list(media.glob("*.part"))


def test_truncated_partial_file_is_recovered_up_to_the_last_complete_frame(
    tmp_path: Path, clock: FakeClock
) -> None:
    recorder = TrackRecorder(tmp_path, "p1-video", "video", "vp8", VIDEO_CLOCK, wall_clock=clock)
    for frame in vp8_frames(150):
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    part = tmp_path / "p1-video-0001.webm.part"
    data = part.read_bytes()
    recorder.close()
    (tmp_path / "p1-video-0001.webm").unlink()
    part.write_bytes(data[: len(data) - 1234])  # cut inside the last flushed cluster

    info = recover_partial(part)
    assert info is not None
    assert info.start == START  # from the tags in the file header
    assert info.track_name == "p1-video"
    assert 3.0 <= info.duration < 5.0
    assert ffmpeg_decode_errors(tmp_path / info.file_name) == ""


@pytest.mark.parametrize("content", [b"", b"not a webm file at all" * 10])
def test_unreadable_partial_file_is_set_aside_as_corrupt(tmp_path: Path, content: bytes) -> None:
    part = tmp_path / "p1-video-0001.webm.part"
    part.write_bytes(content)
    assert recover_partial(part) is None
    assert [p.name for p in tmp_path.iterdir()] == ["p1-video-0001.webm.part.corrupt"]


def test_header_only_partial_file_is_set_aside_as_corrupt(tmp_path: Path, clock: FakeClock) -> None:
    recorder = TrackRecorder(tmp_path, "p1-audio", "audio", "opus", AUDIO_CLOCK, wall_clock=clock)
    for frame in opus_frames(10):  # less than one cluster: only the header reached the disk
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    part = tmp_path / "p1-audio-0001.webm.part"
    header = part.read_bytes()
    recorder.close()
    part.write_bytes(header)
    assert recover_partial(part) is None
    assert (tmp_path / "p1-audio-0001.webm.part.corrupt").exists()


def test_archive_recovery_lists_leftovers_with_their_participant(
    tmp_path: Path, clock: FakeClock, signer: Signer
) -> None:
    folder = tmp_path / "hearing"
    archive = HearingArchive(folder, "H-1", "2024-CV-7", signer, wall_clock=clock)
    video = archive.open_track("judge-1", "Judge Chen", "judge", "video", "vp8", VIDEO_CLOCK)
    audio = archive.open_track("judge-1", "Judge Chen", "judge", "audio", "opus", AUDIO_CLOCK)
    for frame in opus_frames(200):
        clock.now = START + frame.timestamp / AUDIO_CLOCK
        audio.write(frame.data, frame.timestamp, frame.keyframe)
    for frame in vp8_frames(150):
        clock.now = START + frame.timestamp / VIDEO_CLOCK
        if frame.timestamp == 2 * VIDEO_CLOCK:
            video.rotate()  # one closed, listed segment
        video.write(frame.data, frame.timestamp, frame.keyframe)
    # The process dies here: simulate it by keeping copies of the .part files.
    leftovers = {p.name: p.read_bytes() for p in (folder / "media").glob("*.part")}
    del archive, video, audio
    for name in list(leftovers):
        (folder / "media" / name.removesuffix(".part")).unlink(missing_ok=True)
        (folder / "media" / name).write_bytes(leftovers[name])
    (folder / "media" / "p9-video-0001.webm.part").write_bytes(b"garbage")

    restarted = HearingArchive(folder, "H-1", "2024-CV-7", signer, wall_clock=clock)
    recovered = restarted.recover()

    assert sorted(info.file_name for info in recovered) == [
        "judge-1-audio-0001.webm",
        "judge-1-video-0002.webm",
    ]
    entries = {e.path: e for e in restarted.manifest.entries}
    media = entries["media/judge-1-video-0002.webm"].media
    assert media is not None
    assert (media.participant_id, media.participant_name, media.role) == (
        "judge-1",
        "Judge Chen",
        "judge",
    )
    assert media.recovered and media.start == pytest.approx(START + 2.0, abs=0.001)
    assert not entries["media/judge-1-video-0001.webm"].media.recovered  # type: ignore[union-attr]
    assert "media/p9-video-0001.webm.part.corrupt" in entries
    report = verify_folder(folder)
    assert report.ok, report.render()
    assert not report.sealed


def test_segment_renamed_but_not_listed_before_the_crash_is_listed_by_recovery(
    tmp_path: Path, clock: FakeClock, signer: Signer
) -> None:
    folder = tmp_path / "hearing"
    archive = HearingArchive(folder, "H-1", "2024-CV-7", signer, wall_clock=clock)
    manifest_before = (folder / "manifest.json").read_bytes()
    video = archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK)
    for frame in vp8_frames(60):
        video.write(frame.data, frame.timestamp, frame.keyframe)
    video.close()
    (folder / "manifest.json").write_bytes(manifest_before)  # the save never happened

    restarted = HearingArchive(folder, "H-1", "2024-CV-7", signer, wall_clock=clock)
    (info,) = restarted.recover()
    assert info.file_name == "p1-video-0001.webm"
    assert info.duration == pytest.approx(2.0, abs=0.001)
    assert inspect_segment(folder / "media" / info.file_name) == info
    assert verify_folder(folder).ok
