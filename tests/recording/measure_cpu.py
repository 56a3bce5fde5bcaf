"""Measure the CPU cost of recording (not a test: run ``python -m tests.recording.measure_cpu``).

Pre-encoded 640x480 VP8 at 30 fps (~600 kbit/s) and 20 ms Opus packets are written
through ``TrackRecorder`` as fast as possible; the process CPU time spent, divided
by the media duration, is the fraction of one core that recording the track in
real time costs. Segment rotation (close, rename, SHA-256) is included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from recording.segment import Codec, Kind, TrackRecorder
from tests.recording.media import AUDIO_CLOCK, VIDEO_CLOCK, Frame, opus_frames, vp8_frames


def measure(kind: Kind, frames: list[Frame], seconds: float, folder: Path) -> dict[str, float]:
    clock_rate = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
    codec: Codec = "vp8" if kind == "video" else "opus"
    recorder = TrackRecorder(folder, f"bench-{kind}", kind, codec, clock_rate, segment_seconds=10.0)
    payload = sum(len(frame.data) for frame in frames)
    started = time.process_time()
    for frame in frames:
        recorder.write(frame.data, frame.timestamp, frame.keyframe)
    recorder.close()
    cpu = time.process_time() - started
    return {
        "media_seconds": seconds,
        "cpu_seconds": cpu,
        "core_fraction": cpu / seconds,
        "us_per_frame": cpu / len(frames) * 1e6,
        "kbit_per_s": payload * 8 / seconds / 1000,
        "segments": len(recorder.segments),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=30, help="media duration to record")
    args = parser.parse_args()
    period = 5  # seconds of distinct pre-encoded video, repeated
    clip = vp8_frames(30 * period, width=640, height=480, gop=30 * period, bitrate=600_000)
    video = [
        Frame(f.data, f.timestamp + loop * period * VIDEO_CLOCK, f.keyframe)
        for loop in range(args.seconds // period)
        for f in clip
    ]
    sound = opus_frames(50 * period)
    audio = [
        Frame(f.data, f.timestamp + loop * period * AUDIO_CLOCK, True)
        for loop in range(args.seconds // period)
        for f in sound
    ]
    seconds = float(args.seconds // period * period)
    with tempfile.TemporaryDirectory() as folder:
        runs: tuple[tuple[Kind, list[Frame]], ...] = (("video", video), ("audio", audio))
        for kind, frames in runs:
            result = measure(kind, frames, seconds, Path(folder))
            print(
                f"{kind}: {result['kbit_per_s']:.0f} kbit/s, {len(frames)} frames, "
                f"{result['segments']:.0f} segments: {result['cpu_seconds'] * 1000:.0f} ms CPU "
                f"for {seconds:.0f} s = {result['core_fraction'] * 100:.3f}% of a core "
                f"({result['us_per_frame']:.1f} us/frame)"
            )


if __name__ == "__main__":
    main()
