"""The record player's data: one timeline for the whole hearing, one continuous lane
per person and source across segments, the markers (``timeline.json``), the periods not
recorded and the minutes; and one lane as one continuous file (remuxed, cached)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from recording.lanes import LaneSegment, concatenate, lanes
from recording.manifest import Manifest

from ..domain.errors import Code, NotFound
from .records import RecordsService


class PlayerService:
    def __init__(self, records: RecordsService, cache_dir: Path) -> None:
        self._records = records
        self._cache = cache_dir

    async def player(self, hearing_id: str) -> dict[str, Any]:
        folder = self._records.folder(hearing_id)
        return await asyncio.to_thread(_player, folder)

    async def lane_file(self, hearing_id: str, track: str) -> Path:
        folder = self._records.folder(hearing_id)
        cache = self._cache / hearing_id

        def build() -> Path:
            manifest = Manifest.load(folder)
            lane = next((x for x in lanes(manifest) if x["track"] == track), None)
            if lane is None:
                raise NotFound("no such track in this record",
                               code=Code.RECORDS_FILE_NOT_FOUND)
            suffix = ".mkv" if lane["codec"] == "h264" else ".webm"
            dest = cache / f"{track}-{manifest.head[:16]}{suffix}"
            if not dest.is_file():  # the head names the record's exact content
                concatenate(folder, [LaneSegment(**s) for s in lane["segments"]], dest)
            return dest

        return await asyncio.to_thread(build)


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def _player(folder: Path) -> dict[str, Any]:
    manifest = Manifest.load(folder)
    listed = {e.path for e in manifest.entries}
    line = _read(folder, "timeline.json") if "timeline.json" in listed else {}
    minutes = _read(folder, "minutes.json") if "minutes.json" in listed else {}
    tracks = lanes(manifest)
    starts = [lane["start"] for lane in tracks]
    ends = [lane["end"] for lane in tracks]
    marks = [float(m["ts"]) for m in line.get("markers", []) if m.get("ts") is not None]
    start = min([*starts, *marks], default=None)
    end = max([*ends, *marks], default=None)
    people: dict[str, dict[str, Any]] = {}
    for lane in tracks:
        person = people.setdefault(lane["participant_id"], {
            "participant_id": lane["participant_id"], "name": lane["participant_name"],
            "role": lane["role"], "tracks": []})
        person["tracks"].append(lane)
    return {"hearing_id": manifest.hearing_id, "case_number": manifest.case_number,
            "sealed": manifest.sealed, "start": start, "end": end,
            "people": list(people.values()), "markers": line.get("markers", []),
            "unrecorded": line.get("unrecorded", []),
            "minutes": minutes.get("minutes", [])}
