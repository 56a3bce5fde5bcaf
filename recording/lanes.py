"""Lanes: every person's track as one continuous lane across its segments.

``lanes(manifest)`` groups the recording segments of a record by track (one lane per
participant and source, in time order) for a player; ``concatenate`` writes one
continuous file of a lane by **remuxing** its segments (packets copied, never decoded
or re-encoded), each segment's timestamps shifted to its wall-clock start, so a pause
or an interruption stays a gap of the right length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from recording.errors import ARCHIVE_FILE_MISSING, RecordingError
from recording.manifest import Manifest


@dataclass(frozen=True)
class LaneSegment:
    path: str
    start: float
    end: float
    duration: float


def lanes(manifest: Manifest) -> list[dict[str, Any]]:
    """One lane per track: who, what (kind, source, language, codec) and its segments."""
    out: dict[str, dict[str, Any]] = {}
    for entry in manifest.entries:
        m = entry.media
        if m is None or entry.path.endswith(".corrupt"):
            continue
        lane = out.setdefault(m.track, {
            "track": m.track, "participant_id": m.participant_id,
            "participant_name": m.participant_name, "role": m.role, "kind": m.kind,
            "source": m.source or ("microphone" if m.kind == "audio" else "camera"),
            "language": m.language, "codec": m.codec, "segments": []})
        lane["segments"].append({"path": entry.path, "start": m.start, "end": m.end,
                                 "duration": m.duration})
    for lane in out.values():
        lane["segments"].sort(key=lambda s: s["start"])
        lane["start"] = lane["segments"][0]["start"]
        lane["end"] = max(s["end"] for s in lane["segments"])
    return sorted(out.values(), key=lambda lane: (lane["participant_id"], lane["kind"],
                                                   lane["track"]))


def concatenate(folder: Path, segments: Sequence[LaneSegment], dest: Path) -> Path:
    """One continuous file of ``segments`` (same track, time order), remuxed to ``dest``."""
    if not segments:
        raise RecordingError(ARCHIVE_FILE_MISSING, "the lane has no segment")
    first = segments[0].start
    tmp = dest.with_name(dest.name + ".tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fmt = "matroska" if dest.suffix == ".mkv" else "webm"
    with av.open(str(tmp), "w", format=fmt) as out:
        out_stream: Any = None
        last_dts = -1
        for seg in segments:
            path = folder / seg.path
            if not path.is_file():
                raise RecordingError(ARCHIVE_FILE_MISSING, f"{seg.path} is missing")
            with av.open(str(path)) as source:
                stream = source.streams[0]
                if out_stream is None:
                    out_stream = out.add_stream_from_template(stream)
                base = stream.time_base
                shift = round((seg.start - first) / base) if base else 0
                lead: int | None = None
                for packet in source.demux(stream):
                    if packet.dts is None or packet.pts is None:
                        continue
                    if lead is None:
                        lead = packet.dts
                    packet.dts = packet.dts - lead + shift
                    packet.pts = packet.pts - lead + shift
                    if packet.dts <= last_dts:  # overlapping clocks: keep them increasing
                        delta = last_dts + 1 - packet.dts
                        packet.dts += delta
                        packet.pts += delta
                    last_dts = packet.dts
                    packet.stream = out_stream
                    out.mux(packet)
    tmp.replace(dest)
    return dest
