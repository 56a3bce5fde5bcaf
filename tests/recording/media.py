"""Real encoded media for the recording tests, made once per process with PyAV encoders.

The recorder itself never encodes: these helpers play the part of a browser that
sends VP8 / H.264 / Opus frames.
"""

from __future__ import annotations

import array
import functools
import json
import math
import random
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
OPUS_SAMPLES = 960  # 20 ms


@dataclass(frozen=True)
class Frame:
    """One encoded frame as the relay hands it to the recorder."""

    data: bytes
    timestamp: int
    keyframe: bool


def _picture(index: int, width: int, height: int) -> Any:
    """A moving gradient with a moving noisy square, so the encoder has work to do."""
    shift = (index * 4) % width
    row = bytes(x * 255 // width for x in range(width))
    luma = bytearray((row[shift:] + row[:shift]) * height)
    rng = random.Random(index)
    side = min(64, width // 4, height // 4)
    left, top = (index * 5) % (width - side), (index * 3) % (height - side)
    noise = rng.randbytes(side * side)
    for line in range(side):
        start = (top + line) * width + left
        luma[start : start + side] = noise[line * side : (line + 1) * side]
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.planes[0].update(bytes(luma))
    chroma = bytes([(index * 2) % 256]) * ((width // 2) * (height // 2))
    frame.planes[1].update(chroma)
    frame.planes[2].update(bytes([128]) * ((width // 2) * (height // 2)))
    return frame


def _encode_video(
    codec: str, count: int, width: int, height: int, gop: int, bitrate: int
) -> list[Frame]:
    context: Any = av.CodecContext.create(codec, "w")
    context.width = width
    context.height = height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, VIDEO_CLOCK)
    context.framerate = Fraction(30)
    context.gop_size = gop
    context.bit_rate = bitrate
    if codec == "libvpx":
        context.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    else:
        context.options = {"preset": "ultrafast", "tune": "zerolatency"}
    frames: list[Frame] = []
    for index in range(count):
        picture = _picture(index, width, height)
        picture.pts = index * 3000
        picture.time_base = Fraction(1, VIDEO_CLOCK)
        for packet in context.encode(picture):
            frames.append(Frame(bytes(packet), packet.pts, bool(packet.is_keyframe)))
    for packet in context.encode(None):
        frames.append(Frame(bytes(packet), packet.pts, bool(packet.is_keyframe)))
    return frames


@functools.cache
def vp8_frames(
    count: int, width: int = 320, height: int = 240, gop: int = 30, bitrate: int = 600_000
) -> tuple[Frame, ...]:
    """``count`` VP8 frames at 30 fps (90 kHz timestamps from 0), a keyframe every
    ``gop`` frames."""
    return tuple(_encode_video("libvpx", count, width, height, gop, bitrate))


@functools.cache
def h264_frames(
    count: int, width: int = 320, height: int = 240, gop: int = 30
) -> tuple[Frame, ...]:
    """``count`` H.264 (Annex B) frames at 30 fps, a keyframe every ``gop`` frames."""
    return tuple(_encode_video("libx264", count, width, height, gop, 600_000))


@functools.cache
def opus_frames(count: int, frequency: float = 440.0) -> tuple[Frame, ...]:
    """``count`` Opus frames of 20 ms of a stereo sine (48 kHz timestamps from 0)."""
    context: Any = av.CodecContext.create("libopus", "w")
    context.sample_rate = AUDIO_CLOCK
    context.layout = "stereo"
    context.format = "s16"
    context.bit_rate = 32_000
    context.time_base = Fraction(1, AUDIO_CLOCK)
    frames: list[Frame] = []
    step = 2 * math.pi * frequency / AUDIO_CLOCK
    for index in range(count + 4):  # the encoder holds a few frames back
        samples = array.array("h")
        for n in range(index * OPUS_SAMPLES, (index + 1) * OPUS_SAMPLES):
            value = int(8000 * math.sin(step * n))
            samples.extend((value, value))
        audio = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_SAMPLES)
        audio.planes[0].update(samples.tobytes())
        audio.sample_rate = AUDIO_CLOCK
        audio.pts = index * OPUS_SAMPLES
        audio.time_base = Fraction(1, AUDIO_CLOCK)
        for packet in context.encode(audio):
            frames.append(Frame(bytes(packet), len(frames) * OPUS_SAMPLES, True))
    return tuple(frames[:count])


def retimed(frames: tuple[Frame, ...] | list[Frame], offset: int) -> list[Frame]:
    """The same frames with ``offset`` added to every timestamp."""
    return [Frame(f.data, f.timestamp + offset, f.keyframe) for f in frames]


def ffprobe(path: Path) -> dict[str, Any]:
    """``ffprobe`` of a file: its format and streams as JSON."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    )
    probed: dict[str, Any] = json.loads(result.stdout)
    return probed


def ffmpeg_decode_errors(path: Path) -> str:
    """Decode the whole file with the ``ffmpeg`` command; return its error output."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stderr + ("" if result.returncode == 0 else f"exit {result.returncode}")


@dataclass(frozen=True)
class Decoded:
    """What PyAV reads back from a file."""

    codec: str
    packets: list[bytes]
    decoded_frames: int
    first_packet_is_keyframe: bool
    first_pts: float | None
    duration: float


def decode(path: Path) -> Decoded:
    """Demux and decode every frame of a single-stream file with PyAV."""
    with av.open(str(path)) as container:
        stream: Any = container.streams[0]
        packets: list[bytes] = []
        decoded = 0
        first_key = False
        first_pts: float | None = None
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if not packets:
                first_key = bool(packet.is_keyframe)
            packets.append(bytes(packet))
            frame: Any
            for frame in packet.decode():
                if first_pts is None and frame.pts is not None:
                    first_pts = float(frame.pts * frame.time_base)
                decoded += 1
        decoded += len(stream.codec_context.decode(None))
        duration = float(container.duration or 0) / av.time_base
        return Decoded(stream.codec_context.name, packets, decoded, first_key, first_pts, duration)
