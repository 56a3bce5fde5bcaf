"""Child process of the crash test: records one video and one audio track in real time
until it is killed, printing how much media it has handed to the recorders."""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

from recording.segment import TrackRecorder
from tests.recording.media import AUDIO_CLOCK, VIDEO_CLOCK, Frame


def main(directory: Path, frames_file: Path) -> None:
    video: list[Frame]
    audio: list[Frame]
    video, audio = pickle.loads(frames_file.read_bytes())
    recorders = {
        "video": TrackRecorder(directory, "p1-video", "video", "vp8", VIDEO_CLOCK),
        "audio": TrackRecorder(directory, "p1-audio", "audio", "opus", AUDIO_CLOCK),
    }
    events = sorted(
        [(f.timestamp / VIDEO_CLOCK, "video", f) for f in video]
        + [(f.timestamp / AUDIO_CLOCK, "audio", f) for f in audio],
        key=lambda event: event[0],
    )
    started = time.monotonic()
    for media_time, kind, frame in events:
        delay = started + media_time - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        recorders[kind].write(frame.data, frame.timestamp, frame.keyframe)
        print(f"{kind} {media_time:.3f}", flush=True)
    print("done", flush=True)
    time.sleep(60)  # wait to be killed


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
