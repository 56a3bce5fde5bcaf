"""Recovery of segment files left behind by a crash.

A killed process leaves the segment it was writing under its temporary
``<name>.part`` name, without an index or duration; :func:`recover_partial` copies
its complete frames into a proper file. A segment renamed just before the crash
but not yet listed in the manifest is described by :func:`inspect_segment`. Both
read back the tags the recorder wrote in each file header (track, participant,
wall-clock start), and neither decodes anything.
"""

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
    container_format,
    error_from_os,
    sha256_file,
)

log = logging.getLogger(__name__)

CORRUPT_SUFFIX: Final = ".corrupt"
WORK_SUFFIX: Final = ".recovering"
# Errors of the disk we write to, as opposed to a damaged input file.
_WRITE_ERRNOS: Final = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO}
_CODECS: Final[dict[str, Codec]] = {"vp8": "vp8", "h264": "h264", "opus": "opus"}


def recover_partial(path: Path) -> SegmentInfo | None:
    """Remux the complete frames of a leftover ``<name>.part`` file into ``<name>``.

    Stream copy only (PyAV demux and mux). Returns the recovered segment
    (``recovered=True``, ``reason="recovered"``), or ``None`` when nothing playable
    is left: the file is then moved aside to ``<name>.part.corrupt``, never deleted.
    Raises :class:`~recording.errors.RecordingError` if the disk cannot be written.
    """
    path = Path(path)
    if not path.name.endswith(PART_SUFFIX):
        raise ValueError(f"not a .part file: {path}")
    final = path.with_name(path.name[: -len(PART_SUFFIX)])
    work = path.with_name(final.name + WORK_SUFFIX)
    if final.exists():
        log.warning("recovery: %s already exists, keeping %s aside", final, path)
        _set_aside(path)
        return None
    try:
        copied = _remux(path, work)
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:  # our disk, not the file: leave it for a retry
            work.unlink(missing_ok=True)
            raise error_from_os(exc, f"recovering {path.name}") from exc
        log.warning("recovery: %s is unreadable: %s", path, exc)
        copied = 0
    except Exception as exc:
        log.warning("recovery: %s is unreadable: %s", path, exc)
        copied = 0
    info = inspect_segment(work) if copied else None
    if info is None:
        work.unlink(missing_ok=True)
        _set_aside(path)
        return None
    os.replace(work, final)
    path.unlink()
    log.info("recovery: %s recovered (%.2f s, %d frames)", final.name, info.duration, copied)
    return info


def inspect_segment(path: Path) -> SegmentInfo | None:
    """Describe a segment file from its header tags and frames (``recovered=True``).

    Returns ``None`` if the file holds no readable frame.
    """
    path = Path(path)
    try:
        with av.open(str(path)) as reader:
            codec, tags = _describe(reader)
            if codec is None:
                return None
            stream = reader.streams[0]
            packets = _readable_packets(reader, stream)
            if not packets or stream.time_base is None:
                return None
            first = packets[0].pts
            end = max(packet.pts + (packet.duration or 0) for packet in packets)
            duration = float((end - first) * stream.time_base)
    except (av.FFmpegError, OSError) as exc:
        log.warning("recovery: cannot read %s: %s", path, exc)
        return None
    size, digest = sha256_file(path)
    try:
        start = float(tags.get(TAG_WALL_START, ""))
    except ValueError:
        start = path.stat().st_mtime - duration
    name = path.name.removesuffix(WORK_SUFFIX)
    return SegmentInfo(
        file_name=name,
        track_name=tags.get(TAG_TRACK, name.rsplit("-", 1)[0]),
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


def _set_aside(path: Path) -> None:
    os.replace(path, path.with_name(path.name + CORRUPT_SUFFIX))


def _describe(reader: Any) -> tuple[Codec | None, dict[str, str]]:
    if len(reader.streams) != 1:
        return None, {}
    context = reader.streams[0].codec_context
    codec = _CODECS.get(context.name if context is not None else "")
    tags = {k.upper(): v for k, v in reader.metadata.items() if k.upper() != "ENCODER"}
    return codec, tags


def _remux(source: Path, target: Path) -> int:
    """Copy every readable frame of ``source`` to ``target``; return how many."""
    with av.open(str(source)) as reader:
        codec, tags = _describe(reader)
        if codec is None:
            return 0
        in_stream = reader.streams[0]
        packets = _readable_packets(reader, in_stream)
        if not packets:
            return 0
        # Matroska does not store the last frame's duration: estimate it.
        if not packets[-1].duration and len(packets) > 1:
            packets[-1].duration = (packets[-1].pts - packets[0].pts) // (len(packets) - 1)
        with av.open(str(target), "w", format=container_format(codec)[0]) as writer:
            writer.metadata.update(tags)
            out_stream = writer.add_stream_from_template(in_stream)
            for packet in packets:
                packet.stream = out_stream
                writer.mux(packet)
    return len(packets)


def _readable_packets(reader: Any, stream: Any) -> list[Any]:
    """The frames that demux cleanly, up to the first damaged one; video starts on a
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
