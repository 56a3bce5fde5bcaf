"""Builds a real, sealed hearing folder for the archive, verify and composite tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from recording.archive import HearingArchive
from recording.seals import SealRegistry
from recording.signing import Signer
from tests.recording.conftest import START, FakeClock
from tests.recording.media import AUDIO_CLOCK, VIDEO_CLOCK, opus_frames, vp8_frames

RECORD_FILES = {
    "events.jsonl": b'{"event": "admitted", "participant": "p2"}\n',
    "attendance.json": b'{"present": ["judge-1", "p2"]}\n',
    "minutes.txt": "Hearing opened at 10:00. 法官宣布开庭。\n".encode(),
}


@dataclass(frozen=True)
class Track:
    participant_id: str
    name: str
    role: str
    kind: str  # "video" or "audio"
    offset: float  # seconds after the hearing start
    seconds: float
    tone: float = 440.0  # Hz, for audio tracks


def record_tracks(
    folder: Path,
    signer: Signer,
    tracks: list[Track],
    segment_seconds: float = 60.0,
    hearing_id: str = "H-1",
) -> HearingArchive:
    """Record ``tracks`` (frames interleaved in time order, wall clock following them)."""
    clock = FakeClock()
    archive = HearingArchive(
        folder, hearing_id, "2024-CV-7", signer, segment_seconds=segment_seconds,
        wall_clock=clock,
    )
    events = []
    for track in tracks:
        if track.kind == "video":
            recorder = archive.open_track(
                track.participant_id, track.name, track.role, "video", "vp8", VIDEO_CLOCK
            )
            for frame in vp8_frames(round(track.seconds * 30)):
                events.append((track.offset + frame.timestamp / VIDEO_CLOCK, recorder, frame))
        else:
            recorder = archive.open_track(
                track.participant_id, track.name, track.role, "audio", "opus", AUDIO_CLOCK
            )
            for frame in opus_frames(round(track.seconds * 50), track.tone):
                events.append((track.offset + frame.timestamp / AUDIO_CLOCK, recorder, frame))
    events.sort(key=lambda event: event[0])
    for when, recorder, frame in events:
        clock.now = START + when
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    return archive


def sealed_hearing(
    folder: Path,
    signer: Signer,
    tracks: list[Track] | None = None,
    hearing_id: str = "H-1",
    registry: SealRegistry | None = None,
) -> Path:
    """A sealed hearing folder: a judge and a party, audio and video, and record files."""
    tracks = tracks or [
        Track("judge-1", "Judge Chen", "judge", "video", 0.0, 2.0),
        Track("judge-1", "Judge Chen", "judge", "audio", 0.0, 2.0),
        Track("p2", "Ann Lee", "party", "video", 0.5, 1.0),
        Track("p2", "Ann Lee", "party", "audio", 0.5, 1.0),
    ]
    archive = record_tracks(folder, signer, tracks, segment_seconds=1.0, hearing_id=hearing_id)
    asyncio.run(archive.seal(dict(RECORD_FILES), registry=registry))
    return folder
