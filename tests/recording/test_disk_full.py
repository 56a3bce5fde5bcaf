from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import recording.segment
from recording.errors import RecordingError
from recording.segment import TrackRecorder
from tests.recording.conftest import FakeClock
from tests.recording.media import VIDEO_CLOCK, vp8_frames


@contextlib.contextmanager
def tiny_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmpfs: bool) -> Iterator[Path]:
    """A folder on a 256 KiB tmpfs, or a folder whose segment files are opened on
    /dev/full (every write fails: ENOSPC). Where this process may not mount a tmpfs
    (not root), the tmpfs case falls back to /dev/full rather than skipping."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = False
    if tmpfs:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
        mounted = result.returncode == 0
    if not mounted:
        real_open = recording.segment.open_output

        def open_on_full_disk(path: Path, *args: object, **kwargs: object) -> object:
            path.symlink_to("/dev/full")
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(recording.segment, "open_output", open_on_full_disk)
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("tmpfs", [True, False], ids=["tmpfs", "dev-full"])
def test_full_disk_stops_the_recorder_reports_disk_full_and_never_raises(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmpfs: bool
) -> None:
    errors: list[RecordingError] = []
    closed: list[object] = []
    with tiny_disk(tmp_path, monkeypatch, tmpfs) as folder:
        recorder = TrackRecorder(
            folder,
            "p1-video",
            "video",
            "vp8",
            VIDEO_CLOCK,
            wall_clock=clock,
            on_error=errors.append,
            on_segment_closed=closed.append,
        )
        frames = vp8_frames(300)  # about 10 s at 600 kbit/s: far more than 256 KiB
        for frame in frames:
            recorder.write(frame.data, frame.timestamp, frame.keyframe)
        assert recorder.failed
        assert recorder.close() is None
        recorder.write(frames[0].data, 10**9, True)  # still no exception

    assert len(errors) == 1
    assert errors[0].code == "recording.disk_full"
    assert "p1-video" in str(errors[0])
    assert closed == []


def test_unwritable_folder_reports_write_failed(tmp_path: Path, clock: FakeClock) -> None:
    errors: list[RecordingError] = []
    recorder = TrackRecorder(
        tmp_path / "does-not-exist",
        "p1-video",
        "video",
        "vp8",
        VIDEO_CLOCK,
        wall_clock=clock,
        on_error=errors.append,
    )
    for frame in vp8_frames(30):
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    assert recorder.failed
    assert [e.code for e in errors] == ["recording.write_failed"]
