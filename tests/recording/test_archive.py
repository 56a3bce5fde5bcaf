from __future__ import annotations

import errno
from pathlib import Path

import pytest

from recording.archive import HearingArchive
from recording.errors import RecordingError
from recording.manifest import Manifest
from recording.signing import Signer
from recording.verify import verify_folder
from tests.recording.conftest import START, FakeClock
from tests.recording.hearing import RECORD_FILES, sealed_hearing
from tests.recording.media import VIDEO_CLOCK, ffmpeg_decode_errors, ffprobe, vp8_frames


def test_two_participants_are_recorded_and_sealed_into_a_verifiable_record(
    tmp_path: Path, signer: Signer
) -> None:
    folder = sealed_hearing(tmp_path / "H-1", signer)
    manifest = Manifest.load(folder)

    assert manifest.sealed
    media = [e for e in manifest.entries if e.media is not None]
    assert [e.path for e in manifest.entries[len(media) :]] == list(RECORD_FILES)
    tracks = {e.media.track: [] for e in media if e.media}  # type: ignore[var-annotated]
    for entry in media:
        assert entry.media is not None
        tracks[entry.media.track].append(entry.media)
    assert sorted(tracks) == ["judge-1-audio", "judge-1-video", "p2-audio", "p2-video"]
    assert [m.duration for m in tracks["judge-1-video"]] == [1.0, 1.0]  # 1 s segments
    assert [m.reason for m in tracks["judge-1-video"]] == ["duration", "closed"]
    party = tracks["p2-video"][0]
    assert (party.participant_name, party.role, party.start) == ("Ann Lee", "party", START + 0.5)
    for entry in media:
        assert ffmpeg_decode_errors(folder / entry.path) == ""
        stream = ffprobe(folder / entry.path)["streams"][0]
        assert entry.media is not None and stream["codec_name"] == entry.media.codec
    assert (folder / "minutes.txt").read_bytes() == RECORD_FILES["minutes.txt"]
    assert verify_folder(folder, trusted_public_key=signer.public_key_b64).ok


async def test_each_live_track_gets_its_own_name(
    tmp_path: Path, signer: Signer, clock: FakeClock
) -> None:
    archive = HearingArchive(tmp_path, "H-1", "C-1", signer, wall_clock=clock)
    camera = archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK)
    second = archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK)
    screen = archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK, label="screen")
    odd = archive.open_track("../../etc", "X", "party", "video", "vp8", VIDEO_CLOCK)
    assert [r.track_name for r in (camera, second, screen, odd)] == [
        "p1-video",
        "p1-video-2",
        "p1-video-screen",
        "etc-video",
    ]
    camera.close()
    assert archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK).track_name == (
        "p1-video"
    )
    await archive.seal()


async def test_record_files_are_written_or_copied_once(tmp_path: Path, signer: Signer) -> None:
    archive = HearingArchive(tmp_path / "H-1", "H-1", "C-1", signer)
    source = tmp_path / "settlement-draft.txt"
    source.write_text("The parties agree.\n")
    archive.add_record_file("settlement.txt", source)
    archive.add_record_file("exhibits/a.txt", b"Exhibit A")
    with pytest.raises(RecordingError) as duplicate:
        archive.add_record_file("settlement.txt", b"The parties disagree.\n")
    assert duplicate.value.code == "archive.duplicate"
    again = archive.add_record_file("settlement.txt", b"The parties agree.\n")
    assert again == archive.manifest.entries[0]
    for bad in ("../outside.txt", "media/fake.webm", "manifest.json"):
        with pytest.raises(RecordingError) as caught:
            archive.add_record_file(bad, b"x")
        assert caught.value.code == "archive.bad_path"
    with pytest.raises(RecordingError) as missing:
        archive.add_record_file("ghost.txt", tmp_path / "ghost.txt")
    assert missing.value.code == "archive.file_missing"

    await archive.seal()
    assert (tmp_path / "H-1" / "settlement.txt").read_text() == "The parties agree.\n"
    assert verify_folder(tmp_path / "H-1").ok


async def test_sealed_archive_refuses_new_tracks_and_files(tmp_path: Path, signer: Signer) -> None:
    archive = HearingArchive(tmp_path, "H-1", "C-1", signer)
    first = await archive.seal()
    assert await archive.seal() is first
    with pytest.raises(RecordingError) as track:
        archive.open_track("p1", "Ann", "party", "audio", "opus", 48000)
    with pytest.raises(RecordingError) as record:
        archive.add_record_file("late.txt", b"late")
    assert track.value.code == record.value.code == "archive.sealed"
    reopened = HearingArchive(tmp_path, "H-1", "C-1", signer)
    assert reopened.sealed
    with pytest.raises(RecordingError):
        reopened.add_record_file("late.txt", b"late")


async def test_failed_seal_can_be_retried(tmp_path: Path, signer: Signer) -> None:
    archive = HearingArchive(tmp_path / "H-1", "H-1", "C-1", signer)
    draft = tmp_path / "draft.txt"
    files: dict[str, bytes | Path] = {"minutes.txt": b"minutes", "late.txt": draft}
    with pytest.raises(RecordingError) as caught:
        await archive.seal(files)
    assert caught.value.code == "archive.file_missing"
    assert not archive.sealed
    draft.write_text("found")
    await archive.seal(files)
    assert archive.sealed
    assert [e.path for e in archive.manifest.entries] == ["minutes.txt", "late.txt"]
    assert verify_folder(tmp_path / "H-1").ok


async def test_recovery_refuses_to_run_while_tracks_are_recording(
    tmp_path: Path, signer: Signer
) -> None:
    archive = HearingArchive(tmp_path, "H-1", "C-1", signer)
    archive.open_track("p1", "Ann", "party", "audio", "opus", 48000)
    with pytest.raises(RecordingError) as caught:
        archive.recover()
    assert caught.value.code == "archive.busy"
    await archive.seal()


def test_folder_of_another_hearing_is_refused(tmp_path: Path, signer: Signer) -> None:
    HearingArchive(tmp_path, "H-1", "C-1", signer)
    with pytest.raises(RecordingError) as caught:
        HearingArchive(tmp_path, "H-2", "C-2", signer)
    assert caught.value.code == "archive.bad_path"


async def test_manifest_verifies_while_the_hearing_is_still_recording(
    tmp_path: Path, signer: Signer, clock: FakeClock
) -> None:
    archive = HearingArchive(tmp_path, "H-1", "C-1", signer, segment_seconds=1.0, wall_clock=clock)
    recorder = archive.open_track("p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK)
    for frame in vp8_frames(45):
        clock.now = START + frame.timestamp / VIDEO_CLOCK
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    report = verify_folder(tmp_path)
    # The closed segment is listed and signed; the open one is still a .part file.
    assert [(p.code, p.path) for p in report.problems] == [
        ("file.extra", "media/p1-video-0002.webm.part")
    ]
    assert not report.sealed
    await archive.seal()
    assert verify_folder(tmp_path).ok


async def test_manifest_write_failure_is_reported_and_caught_up_on_the_next_save(
    tmp_path: Path, signer: Signer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = HearingArchive(tmp_path, "H-1", "C-1", signer, segment_seconds=1.0, wall_clock=clock)
    errors: list[RecordingError] = []
    recorder = archive.open_track(
        "p1", "Ann", "party", "video", "vp8", VIDEO_CLOCK, on_error=errors.append
    )
    real_save = archive.manifest.save

    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive.manifest, "save", full_disk)
    frames = vp8_frames(90)
    for frame in frames[:45]:  # closes the first 1 s segment: the manifest save fails
        clock.now = START + frame.timestamp / VIDEO_CLOCK
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    assert [e.code for e in errors] == ["recording.disk_full"]
    assert not recorder.failed  # the media is fine: recording goes on
    monkeypatch.setattr(archive.manifest, "save", real_save)
    for frame in frames[45:]:
        clock.now = START + frame.timestamp / VIDEO_CLOCK
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    await archive.seal()
    assert len(Manifest.load(tmp_path).entries) == 3
    assert verify_folder(tmp_path).ok
