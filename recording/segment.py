"""Recording of one track into self-contained, hashed segment files, without transcoding.

A :class:`TrackRecorder` receives the encoded frames of one audio or video track
(VP8, H.264 or Opus) and muxes them with PyAV into WebM (VP8, Opus) or Matroska
(H.264) segment files. Nothing is decoded or encoded: each call to
:meth:`TrackRecorder.write` wraps the payload in an ``av.Packet`` and hands it to
the muxer, which costs a few microseconds.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import logging
import os
import re
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Literal

import av

from recording.bitstream import h264_idr_info, is_keyframe, vp8_keyframe_size
from recording.errors import BAD_TRACK, DISK_FULL, WRITE_FAILED, RecordingError

log = logging.getLogger(__name__)

Kind = Literal["audio", "video"]
Codec = Literal["vp8", "opus", "h264"]
CloseReason = Literal["duration", "closed", "rotated", "timestamp_jump", "recovered", "error"]

KIND_OF_CODEC: Final[Mapping[str, Kind]] = {"vp8": "video", "h264": "video", "opus": "audio"}
PART_SUFFIX: Final = ".part"

# Tags written into every segment header, so that a file left behind by a crash
# still says what it is (see recording.recovery).
TAG_TRACK: Final = "HEARING_TRACK"
TAG_KIND: Final = "HEARING_KIND"
TAG_CODEC: Final = "HEARING_CODEC"
TAG_WALL_START: Final = "HEARING_WALL_START"

_TRACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
_HASH_CHUNK: Final = 1 << 20
# RFC 7845 identification header: version 1, stereo, no pre-skip, 48 kHz, 0 dB, family 0
# (WebRTC always negotiates opus/48000/2).
_OPUS_HEAD: Final = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48000, 0, 0)


@dataclass(frozen=True)
class SegmentInfo:
    """A closed, renamed and hashed segment file.

    ``start`` and ``end`` are wall-clock epoch seconds on the hearing clock: ``start``
    is when the segment's first frame was captured and ``end = start + duration``.
    ``reason`` says why the segment was closed.
    """

    file_name: str
    track_name: str
    kind: Kind
    codec: Codec
    start: float
    end: float
    duration: float
    size: int
    sha256: str
    frames: int
    recovered: bool
    reason: CloseReason
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False)


def container_format(codec: Codec) -> tuple[str, str]:
    """``(ffmpeg format name, file extension)`` used for ``codec``."""
    return ("matroska", "mkv") if codec == "h264" else ("webm", "webm")


def sha256_file(path: Path) -> tuple[int, str]:
    """``(size, hex SHA-256)`` of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def error_from_os(exc: OSError, what: str) -> RecordingError:
    """Translate an ``OSError`` into a :class:`RecordingError` (disk full or write failed)."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    error = RecordingError(DISK_FULL if full else WRITE_FAILED, f"{what}: {exc}")
    error.__cause__ = exc
    return error


@functools.cache
def _opus_template() -> tuple[Any, Any]:
    """An Opus stream to copy codec parameters from (made once per process).

    PyAV's codec-less ``add_mux_stream`` cannot carry the Opus identification header
    (``OpusHead``) that WebM requires, but a stream copied with
    ``add_stream_from_template`` can. The template is read back from a tiny
    in-memory file, so it has no encoder delay (a Matroska ``CodecDelay`` would
    make consecutive segments overlap when concatenated).
    """
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as out:
        stream = out.add_mux_stream("opus", rate=48000)
        packet = av.Packet(b"\xfc\xff\xfe")  # 20 ms of stereo silence
        packet.pts = packet.dts = 0
        packet.duration = 960
        packet.time_base = Fraction(1, 48000)
        packet.stream = stream
        out.mux(packet)
    source = av.open(io.BytesIO(buffer.getvalue()))
    return source, source.streams.audio[0]


def open_output(
    path: Path,
    codec: Codec,
    size: tuple[int, int] | None,
    tags: Mapping[str, str],
    cluster_ms: int,
) -> tuple[Any, Any]:
    """Create a muxer writing ``path`` and its single stream (no encoder is opened).

    Matroska clusters are closed every ``cluster_ms`` and each is handed to the
    operating system at once (``flush_packets``), so a killed process loses at
    most about one cluster.
    """
    fmt, _ = container_format(codec)
    options = {"cluster_time_limit": str(cluster_ms), "flush_packets": "1"}
    container = av.open(str(path), "w", format=fmt, container_options=options)
    container.metadata.update(tags)
    if codec == "opus":
        stream = container.add_stream_from_template(_opus_template()[1])
        stream.codec_context.layout = "stereo"
        stream.codec_context.extradata = _OPUS_HEAD
    else:
        width, height = size or (0, 0)
        stream = container.add_mux_stream(codec, width=width, height=height)
    return container, stream


class _Segment:
    """One open segment file, written under ``<name>.part`` until finished."""

    def __init__(
        self,
        directory: Path,
        file_name: str,
        codec: Codec,
        clock_rate: int,
        first_ts: int,
        start: float,
        size: tuple[int, int] | None,
        tags: Mapping[str, str],
        cluster_ms: int,
    ) -> None:
        self.directory = directory
        self.file_name = file_name
        self.part_path = directory / (file_name + PART_SUFFIX)
        self.first_ts = first_ts
        self.end_ts = first_ts
        self.start = start
        self.frames = 0
        self._time_base = Fraction(1, clock_rate)
        self._clock_rate = clock_rate
        self._container, self._stream = open_output(self.part_path, codec, size, tags, cluster_ms)

    def mux(self, data: bytes, timestamp: int, duration: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        pts = timestamp - self.first_ts
        packet.pts = pts
        packet.dts = pts
        packet.duration = duration
        packet.time_base = self._time_base
        packet.is_keyframe = keyframe
        packet.stream = self._stream
        self._container.mux(packet)
        self.frames += 1
        self.end_ts = max(self.end_ts, timestamp + duration)

    @property
    def duration(self) -> float:
        return (self.end_ts - self.first_ts) / self._clock_rate

    def finish(self) -> tuple[Path, int, str]:
        """Write the trailer, rename to the final name; return ``(path, size, sha256)``."""
        container, self._container = self._container, None
        container.close()
        final = self.directory / self.file_name
        os.replace(self.part_path, final)
        size, digest = sha256_file(final)
        return final, size, digest

    def abandon(self) -> None:
        """Stop writing after an error; the ``.part`` file is left for recovery."""
        container, self._container = self._container, None
        if container is None:
            return
        try:
            container.close()
        except Exception:  # the file may be unwritable: recovery handles what is there
            log.debug("closing %s after an error failed", self.part_path, exc_info=True)
        if self.frames == 0:
            self.part_path.unlink(missing_ok=True)


def _next_sequence(directory: Path, track_name: str) -> int:
    pattern = re.compile(re.escape(track_name) + r"-(\d{4,})\.(?:webm|mkv)")
    numbers = [0]
    if directory.is_dir():
        for entry in os.scandir(directory):
            match = pattern.match(entry.name)
            if match:
                numbers.append(int(match.group(1)))
    return max(numbers) + 1


class TrackRecorder:
    """Records one encoded track of one participant into a series of segment files.

    Frames go in through :meth:`write` in arrival order; every closed segment is a
    complete, playable file (video segments start on a keyframe) reported through
    ``on_segment_closed``. A segment closes when it reaches ``segment_seconds`` (at
    the next keyframe for video, which is requested through ``request_keyframe``),
    when the timestamps jump backwards or forward by more than ``max_gap_seconds``,
    on :meth:`rotate` and on :meth:`close`.

    Write errors never propagate: the recorder marks itself failed, stops writing,
    and reports a :class:`RecordingError` (``recording.disk_full`` or
    ``recording.write_failed``) through ``on_error``. Whatever was written stays in
    the ``.part`` file for :func:`recording.recovery.recover_partial`.
    """

    def __init__(
        self,
        directory: Path,
        track_name: str,
        kind: Kind,
        codec: Codec,
        clock_rate: int,
        segment_seconds: float = 60.0,
        on_segment_closed: Callable[[SegmentInfo], None] | None = None,
        request_keyframe: Callable[[], None] | None = None,
        on_error: Callable[[RecordingError], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
        metadata: Mapping[str, str] | None = None,
        max_gap_seconds: float = 5.0,
        cluster_seconds: float = 1.0,
    ) -> None:
        if not _TRACK_NAME.fullmatch(track_name):
            raise RecordingError(BAD_TRACK, f"unsafe track name {track_name!r}")
        if KIND_OF_CODEC.get(codec) != kind:
            raise RecordingError(BAD_TRACK, f"codec {codec!r} is not a {kind} codec")
        if clock_rate <= 0 or segment_seconds <= 0 or max_gap_seconds <= 0:
            raise RecordingError(BAD_TRACK, "clock rate and durations must be positive")
        self.directory = Path(directory)
        self.track_name = track_name
        self.kind: Kind = kind
        self.codec: Codec = codec
        self.clock_rate = clock_rate
        self.segments: list[SegmentInfo] = []
        self.frames_dropped = 0
        self._segment_ticks = round(segment_seconds * clock_rate)
        self._max_gap = round(max_gap_seconds * clock_rate)
        self._cluster_ms = max(100, round(cluster_seconds * 1000))
        self._on_segment_closed = on_segment_closed
        self._request_keyframe = request_keyframe
        self._on_error = on_error
        self._wall_clock = wall_clock
        self._metadata = dict(metadata or {})
        self._extension = container_format(codec)[1]
        self._sequence = _next_sequence(self.directory, track_name)
        self._segment: _Segment | None = None
        self._pending: tuple[bytes, int, bool] | None = None
        self._interval = clock_rate // (50 if kind == "audio" else 30)
        self._keyframe_requested_at: int | None = None
        self._anchor: tuple[float, int] | None = None
        self._failed = False
        self._closed = False

    @property
    def failed(self) -> bool:
        """True once a write error stopped this recorder."""
        return self._failed

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def recording(self) -> bool:
        """True while a segment is open."""
        return self._segment is not None

    def write(self, data: bytes, rtp_timestamp: int, keyframe: bool) -> None:
        """Append one encoded frame (``rtp_timestamp`` in ``clock_rate`` units, unwrapped).

        ``keyframe`` is a hint: VP8 and H.264 keyframes are recognised from the
        payload itself. Never raises for bad timestamps, bad payloads or write errors.
        """
        if self._closed or self._failed or not data:
            return
        try:
            self._write(data, rtp_timestamp, keyframe)
        except OSError as exc:
            self._fail(exc)
        except Exception:  # a frame the muxer refuses must not stop the hearing
            log.exception("track %s: frame rejected by the muxer", self.track_name)
            self._pending = None
            self._finish("error")

    def rotate(self) -> SegmentInfo | None:
        """Close the current segment now; the next one starts at the next keyframe
        (video) or packet (audio)."""
        if self._closed or self._failed:
            return None
        return self._finish("rotated")

    def close(self) -> SegmentInfo | None:
        """Close the current segment and stop recording. Idempotent."""
        if self._closed:
            return None
        self._closed = True
        if self._failed:
            return None
        return self._finish("closed")

    # -- internals ---------------------------------------------------------------

    def _write(self, data: bytes, ts: int, keyframe: bool) -> None:
        # ``size`` is set when this frame can start a segment (a keyframe with its
        # picture size); keyframes are recognised from the payload itself, so the
        # caller's flag only matters for audio (where every packet is one).
        size: tuple[int, int] | None = None
        keyframe = is_keyframe(self.codec, data)
        if self.codec == "vp8" and keyframe:
            size = vp8_keyframe_size(data)
        elif self.codec == "h264" and keyframe:
            size = h264_idr_info(data)[1]
        startable = self.kind == "audio" or size is not None

        if self._pending is not None:
            gap = ts - self._pending[1]
            if gap < 0 or gap > self._max_gap:
                log.info("track %s: timestamp jump of %d ticks", self.track_name, gap)
                self._finish("timestamp_jump")
                self._anchor = None
            else:
                if 0 < gap <= self.clock_rate:
                    self._interval = gap
                self._flush_pending(gap)

        segment = self._segment
        if segment is not None and ts - segment.first_ts >= self._segment_ticks:
            if startable:
                self._finish("duration")
                segment = None
            else:
                self._ask_keyframe(ts)

        if segment is None:
            if not startable:
                self.frames_dropped += 1
                self._ask_keyframe(ts)
                return
            self._start(ts, size)
        self._pending = (data, ts, keyframe)

    def _start(self, ts: int, size: tuple[int, int] | None) -> None:
        now = self._wall_clock()
        anchor = self._anchor
        if anchor is None or abs(anchor[0] + (ts - anchor[1]) / self.clock_rate - now) > 1.0:
            anchor = self._anchor = (now, ts)
        start = anchor[0] + (ts - anchor[1]) / self.clock_rate
        file_name = f"{self.track_name}-{self._sequence:04d}.{self._extension}"
        self._sequence += 1
        tags = {
            **self._metadata,
            TAG_TRACK: self.track_name,
            TAG_KIND: self.kind,
            TAG_CODEC: self.codec,
            TAG_WALL_START: repr(start),
        }
        self._keyframe_requested_at = None
        self._segment = _Segment(
            self.directory,
            file_name,
            self.codec,
            self.clock_rate,
            ts,
            start,
            size,
            tags,
            self._cluster_ms,
        )

    def _flush_pending(self, duration: int) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and self._segment is not None:
            data, ts, keyframe = pending
            self._segment.mux(data, ts, duration, keyframe)

    def _ask_keyframe(self, ts: int) -> None:
        if self._request_keyframe is None:
            return
        last = self._keyframe_requested_at
        if last is not None and abs(ts - last) < self.clock_rate:
            return
        self._keyframe_requested_at = ts
        try:
            self._request_keyframe()
        except Exception:
            log.exception("track %s: request_keyframe failed", self.track_name)

    def _finish(self, reason: CloseReason) -> SegmentInfo | None:
        segment = self._segment
        if segment is None:
            return None
        try:
            self._flush_pending(self._interval)
        except OSError as exc:
            self._fail(exc)
            return None
        except Exception:
            log.exception("track %s: last frame rejected by the muxer", self.track_name)
        self._segment = None
        if segment.frames == 0:
            segment.abandon()
            return None
        try:
            _, size, digest = segment.finish()
        except OSError as exc:
            self._segment = segment
            self._fail(exc)
            return None
        info = SegmentInfo(
            file_name=segment.file_name,
            track_name=self.track_name,
            kind=self.kind,
            codec=self.codec,
            start=segment.start,
            end=segment.start + segment.duration,
            duration=segment.duration,
            size=size,
            sha256=digest,
            frames=segment.frames,
            recovered=False,
            reason=reason,
            metadata=dict(self._metadata),
        )
        self.segments.append(info)
        log.info(
            "track %s: segment %s closed (%s, %.2f s, %d frames)",
            self.track_name,
            info.file_name,
            reason,
            info.duration,
            info.frames,
        )
        if self._on_segment_closed is not None:
            try:
                self._on_segment_closed(info)
            except Exception:
                log.exception("track %s: on_segment_closed failed", self.track_name)
        return info

    def _fail(self, exc: OSError) -> None:
        self._failed = True
        self._pending = None
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.abandon()
        error = error_from_os(exc, f"track {self.track_name}")
        log.error("%s; recording of this track stopped", error)
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:
                log.exception("track %s: on_error failed", self.track_name)
