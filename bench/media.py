"""Pre-encoded media for load and tests: VP8 and Opus made once with PyAV and cached.

Nothing here runs on the server: the relay never encodes. The load generator
sends these packets as they are, so it costs little CPU itself.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
CACHE_DIR = Path(os.environ.get("HEARING_MEDIA_CACHE", Path.home() / ".cache" / "hearing-server"))


@dataclass(frozen=True)
class Clip:
    """Encoded packets: (data, keyframe) in order, ``fps`` per second."""

    kind: str
    codec: str
    packets: tuple[tuple[bytes, bool], ...]
    fps: int

    @property
    def step(self) -> int:
        return (VIDEO_CLOCK if self.kind == "video" else AUDIO_CLOCK) // self.fps

    @property
    def bitrate(self) -> float:
        return sum(len(d) for d, _ in self.packets) * 8 * self.fps / len(self.packets)


def _pattern(width: int, height: int, i: int) -> np.ndarray:
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[..., 0] = ((x + i * 4) % 256).astype(np.uint8)
    img[..., 1] = ((y + i * 2) % 256).astype(np.uint8)
    img[..., 2] = ((x + y + i * 3) % 256).astype(np.uint8)
    # a moving box so the encoder has motion to code
    bx = (i * 7) % max(1, width - 80)
    img[height // 3: height // 3 + 80, bx: bx + 80] = (255, 255, 255)
    return img


def encode_video(width: int = 640, height: int = 480, fps: int = 30, seconds: float = 4.0,
                 bitrate: int = 600_000, gop: int = 60, codec: str = "vp8") -> Clip:
    ctx = av.CodecContext.create("libvpx" if codec == "vp8" else "libx264", "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = fractions.Fraction(1, fps)
    ctx.framerate = fractions.Fraction(fps, 1)
    ctx.bit_rate = bitrate
    ctx.gop_size = gop
    if codec == "vp8":
        ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                       "error-resilient": "1", "kf-max-dist": str(gop)}
    else:
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline"}
    packets: list[tuple[bytes, bool]] = []
    for i in range(int(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(_pattern(width, height, i), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        for pkt in ctx.encode(frame):
            packets.append((bytes(pkt), bool(pkt.is_keyframe)))
    for pkt in ctx.encode(None):
        packets.append((bytes(pkt), bool(pkt.is_keyframe)))
    return Clip("video", codec, tuple(packets), fps)


def encode_audio(seconds: float = 4.0, frequency: float = 440.0) -> Clip:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = AUDIO_CLOCK
    ctx.layout = "stereo"
    ctx.format = "s16"
    ctx.bit_rate = 48000
    ctx.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    samples = 960
    packets: list[tuple[bytes, bool]] = []
    for i in range(int(seconds * 50)):
        t = (np.arange(samples) + i * samples) / AUDIO_CLOCK
        tone = (np.sin(2 * math.pi * frequency * t) * 8000).astype(np.int16)
        data = np.repeat(tone, 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = i * samples
        for pkt in ctx.encode(frame):
            packets.append((bytes(pkt), True))
    for pkt in ctx.encode(None):
        packets.append((bytes(pkt), True))
    return Clip("audio", "opus", tuple(packets), 50)


def cached_clips(width: int = 640, height: int = 480, codec: str = "vp8") -> tuple[Clip, Clip]:
    """The standard load: 640x480 30 fps VP8 (~600 kbit/s) and 48 kHz Opus, cached on disk."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"clips-{codec}-{width}x{height}-v2.pickle"
    if path.exists():
        with open(path, "rb") as fh:
            video, audio = pickle.load(fh)
            return video, audio
    clips = (encode_video(width, height, codec=codec), encode_audio())
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(clips, fh)
    os.replace(tmp, path)
    return clips


class ClipTrack(MediaStreamTrack):
    """Sends a clip's encoded packets in real time, looping; restarts at its first
    keyframe when the relay asks for one (so a PLI is answered quickly)."""

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.kind = clip.kind
        self.clip = clip
        self._index = 0
        self._pts = 0
        self._start: float | None = None
        self._sent = 0
        self._keyframe_wanted = False
        self.time_base = fractions.Fraction(1, VIDEO_CLOCK if clip.kind == "video" else AUDIO_CLOCK)

    def request_keyframe(self) -> None:
        self._keyframe_wanted = True

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._sent / self.clip.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._keyframe_wanted or self._index >= len(self.clip.packets):
            self._keyframe_wanted = False
            self._index = 0
        data, _key = self.clip.packets[self._index]
        self._index += 1
        packet = av.Packet(data)
        packet.pts = self._pts
        packet.time_base = self.time_base
        self._pts += self.clip.step
        self._sent += 1
        return packet
