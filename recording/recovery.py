"""Recovery of segment files left under their temporary ``.part`` name by a crash."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any, Final

import av

from recording.segment import (
    KIND_OF_CODEC,
    PART_SUFFIX,
    TAG_TRACK,
    TAG_WALL_START,
    Codec,
    SegmentInfo,
    error_from_os,
    sha256_file,
)

log = logging.getLogger(__name__)

CORRUPT_SUFFIX: Final = ".corrupt"
_WORK_SUFFIX: Final = ".recovering"
# Errors of the disk we write to, as opposed to a damaged input file.
_WRITE_ERRNOS: Final = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO}
_CODECS: Final[dict[str, Codec]] = {"vp8": "vp8", "h264": "h264", "opus": "opus"}


def recover_partial(path: Path) -> SegmentInfo | None:
    """Remux the complete frames of a leftover ``<name>.part`` file into ``<name>``.

    Stream copy only (PyAV demux and mux, no decoding). The tags the recorder wrote
    in the file header give back the track name and the wall-clock start. Returns
    the recovered segment (``recovered=True``, ``reason="recovered"``), or ``None``
    when nothing playable is left: the file is then moved aside to
    ``<name>.part.corrupt`` (never deleted).
    """
    path = Path(path)
    if not path.name.endswith(PART_SUFFIX):
        raise ValueError(f"not a .part file: {path}")
    final = path.with_name(path.name[: -len(PART_SUFFIX)])
    work = path.with_name(final.name + _WORK_SUFFIX)
    if final.exists():
        log.warning("recovery: %s already exists, keeping %s aside", final, path)
        _set_aside(path)
        return None
    try:
        result = _remux(path, work)
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:  # our disk, not the file: leave it for a retry
            work.unlink(missing_ok=True)
            raise error_from_os(exc, f"recovering {path.name}") from exc
        log.warning("recovery: %s is unreadable", path, exc_info=True)
        result = None
    except Exception:
        log.warning("recovery: %s is unreadable", path, exc_info=True)
        result = None
    if result is None:
        work.unlink(missing_ok=True)
        _set_aside(path)
        return None
    frames, duration, tags, codec = result
    os.replace(work, final)
    path.unlink()
    size, digest = sha256_file(final)
    kind = KIND_OF_CODEC[codec]
    try:
        start = float(tags.get(TAG_WALL_START, ""))
    except ValueError:
        start = final.stat().st_mtime - duration
    info = SegmentInfo(
        file_name=final.name,
        track_name=tags.get(TAG_TRACK, final.stem.rsplit("-", 1)[0]),
        kind=kind,
        codec=codec,
        start=start,
        end=start + duration,
        duration=duration,
        size=size,
        sha256=digest,
        frames=frames,
        recovered=True,
        reason="recovered",
        metadata=tags,
    )
    log.info("recovery: %s recovered (%.2f s, %d frames)", final.name, duration, frames)
    return info


def _set_aside(path: Path) -> None:
    os.replace(path, path.with_name(path.name + CORRUPT_SUFFIX))


def _remux(source: Path, target: Path) -> tuple[int, float, dict[str, str], Codec] | None:
    """Copy every readable frame of ``source`` to ``target``.

    Returns ``(frames, duration seconds, tags, codec)`` or ``None`` if no frame was
    readable.
    """
    with av.open(str(source)) as reader:
        if len(reader.streams) != 1:
            return None
        in_stream = reader.streams[0]
        codec = _CODECS.get(in_stream.codec_context.name if in_stream.codec_context else "")
        if codec is None:
            return None
        tags = {k.upper(): v for k, v in reader.metadata.items() if k.upper() != "ENCODER"}
        packets = _readable_packets(reader, in_stream)
        if not packets:
            return None
        fmt = "matroska" if codec == "h264" else "webm"
        with av.open(str(target), "w", format=fmt) as writer:
            writer.metadata.update(tags)
            out_stream = writer.add_stream_from_template(in_stream)
            first = packets[0].pts
            if not packets[-1].duration and len(packets) > 1:
                packets[-1].duration = (packets[-1].pts - first) // (len(packets) - 1)
            end = first
            for packet in packets:
                end = max(end, packet.pts + (packet.duration or 0))
                packet.stream = out_stream
                writer.mux(packet)
        time_base = in_stream.time_base
        duration = float((end - first) * time_base) if time_base else 0.0
    return len(packets), duration, tags, codec


def _readable_packets(reader: Any, stream: Any) -> list[Any]:
    """The packets that demux cleanly, up to the first damaged one; video starts on a
    keyframe."""
    packets: list[Any] = []
    try:
        for packet in reader.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            if not packets and stream.type == "video" and not packet.is_keyframe:
                continue
            packets.append(packet)
    except av.FFmpegError:
        log.info("recovery: stopped at a damaged frame after %d frames", len(packets))
    return packets


def inspect_segment(path: Path) -> SegmentInfo | None:
    """Describe a finished segment file from its own header tags and frames.

    Used for a segment that was closed and renamed but not yet listed in the
    manifest when the process died. Returns ``None`` if the file is unreadable.
    """
    path = Path(path)
    try:
        with av.open(str(path)) as reader:
            if len(reader.streams) != 1:
                return None
            stream = reader.streams[0]
            codec = _CODECS.get(stream.codec_context.name if stream.codec_context else "")
            tags = {k.upper(): v for k, v in reader.metadata.items() if k.upper() != "ENCODER"}
            packets = _readable_packets(reader, stream)
            if codec is None or not packets or stream.time_base is None:
                return None
            first = packets[0].pts
            end = max(packet.pts + (packet.duration or 0) for packet in packets)
            duration = float((end - first) * stream.time_base)
    except (av.FFmpegError, OSError):
        log.warning("recovery: cannot read %s", path, exc_info=True)
        return None
    size, digest = sha256_file(path)
    try:
        start = float(tags.get(TAG_WALL_START, ""))
    except ValueError:
        start = path.stat().st_mtime - duration
    return SegmentInfo(
        file_name=path.name,
        track_name=tags.get(TAG_TRACK, path.stem.rsplit("-", 1)[0]),
        kind=KIND_OF_CODEC[codec],
        codec=codec,
        start=start,
        end=start + duration,
        duration=duration,
        size=size,
        sha256=digest,
        frames=len(packets),
        recovered=True,
        reason="recovered",
        metadata=tags,
    )
