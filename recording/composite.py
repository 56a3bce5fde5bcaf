"""The composite viewing copy of a hearing, rendered offline from its archive.

One file with every video track in a grid and every audio track mixed (the floor: an
interpretation channel is left out, it has its own track in the record), placed on
the hearing clock by the wall-clock starts in the manifest. It is built by one
``ffmpeg`` run (decode, ``overlay``/``xstack`` and ``amix``, encode), never during
the hearing; progress comes from ``ffmpeg -progress``.

The consecutive segments of a track form a *run* (a gap of more than
``RUN_GAP`` seconds starts a new one, e.g. after a reconnect); each run is one
ffmpeg input (concat demuxer) shifted to its place on the hearing clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from recording.errors import COMPOSITE_EMPTY, COMPOSITE_FAILED, RecordingError
from recording.manifest import Manifest

log = logging.getLogger(__name__)

RUN_GAP: Final = 1.0
#: Latin and CJK in one face (Debian fonts-wqy-microhei, installed by scripts/setup.sh)
FONT: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_STDERR_LIMIT: Final = 8192


@dataclass
class Run:
    """Back-to-back segments of one track: ``offset`` seconds after the hearing start."""

    track: str
    kind: str
    offset: float
    files: list[Path] = field(default_factory=list)
    end: float = 0.0


@dataclass(frozen=True)
class CompositePlan:
    """What the composite will show: the hearing clock origin, length and runs."""

    start: float
    duration: float
    video_tracks: list[str]
    runs: list[Run]
    #: track -> the tile's caption (name and role; a screen share says so)
    captions: dict[str, str] = field(default_factory=dict)


def plan_composite(folder: Path) -> CompositePlan:
    """Read the manifest of ``folder`` and lay its recordings on the hearing clock."""
    manifest = Manifest.load(folder)
    # the viewing copy carries the floor: an interpretation channel is in the record as
    # its own track (the record player plays it), never mixed into the floor here
    media = [entry for entry in manifest.entries if entry.media is not None
             and entry.media.source != "interpretation"]
    if not media:
        raise RecordingError(COMPOSITE_EMPTY, f"{folder} holds no recording")
    start = min(entry.media.start for entry in media if entry.media)
    end = max(entry.media.end for entry in media if entry.media)
    runs: list[Run] = []
    last_run: dict[str, Run] = {}
    video_tracks: list[str] = []
    captions: dict[str, str] = {}
    for entry in sorted(media, key=lambda e: e.media.start if e.media else 0.0):
        details = entry.media
        assert details is not None
        run = last_run.get(details.track)
        offset = details.start - start
        if run is None or offset - run.end > RUN_GAP:
            run = Run(details.track, details.kind, offset)
            runs.append(run)
            last_run[details.track] = run
            if details.kind == "video" and details.track not in video_tracks:
                video_tracks.append(details.track)
                shared = " · screen" if details.source == "screen" else ""
                captions[details.track] = (
                    f"{details.participant_name} ({details.role}){shared}")
        run.files.append((Path(folder) / entry.path).resolve())
        run.end = max(run.end, offset + details.duration)
    # a screen share is shown first (the largest cell of the grid's first row)
    video_tracks.sort(key=lambda t: 0 if captions.get(t, "").endswith("· screen") else 1)
    return CompositePlan(start, end - start, video_tracks, runs, captions)


def _text(work_dir: Path, name: str, text: str, size: int, x: str, y: str,
          box: str = "black@0.55") -> str:
    """A ``drawtext`` filter reading its text from a file (no escaping of user text)."""
    path = work_dir / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    font = f"fontfile={FONT}:" if FONT.is_file() else ""
    return (f"drawtext={font}textfile={path}:fontsize={size}:fontcolor=white:"
            f"box=1:boxcolor={box}:boxborderw=6:x={x}:y={y}")


def _grid(count: int) -> tuple[int, int]:
    columns = max(1, math.ceil(math.sqrt(count)))
    return columns, max(1, math.ceil(count / columns))


def _even(value: int) -> int:
    return max(2, value // 2 * 2)


def build_command(
    plan: CompositePlan,
    output: Path,
    work_dir: Path,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """The ``ffmpeg`` command line that renders ``plan`` into ``output`` (WebM with
    VP8 and Opus, or MP4 with H.264 and AAC, chosen by the suffix)."""
    total = f"{plan.duration:.3f}"
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for index, run in enumerate(plan.runs):
        listing = work_dir / f"run{index}.ffconcat"
        lines = ["ffconcat version 1.0"]
        lines += ["file '" + str(path).replace("'", "'\\''") + "'" for path in run.files]
        listing.write_text("\n".join(lines) + "\n")
        args += ["-f", "concat", "-safe", "0", "-i", str(listing)]

    columns, rows = _grid(len(plan.video_tracks))
    tile_w, tile_h = _even(width // columns), _even(height // rows)
    filters: list[str] = []
    tiles: list[str] = []
    for number, track in enumerate(plan.video_tracks):
        label = f"tile{number}"
        caption = plan.captions.get(track, track)
        card = _text(work_dir, f"card{number}", f"{caption}\ncamera off",
                     max(14, tile_h // 14), "(w-text_w)/2", "(h-text_h)/2", "0x303840@1")
        filters.append(f"color=c=0x1f2630:s={tile_w}x{tile_h}:r={fps}:d={total},{card}[{label}]")
        for index, run in enumerate(plan.runs):
            if run.track != track:
                continue
            filters.append(
                f"[{index}:v]setpts=PTS-STARTPTS+{run.offset:.3f}/TB,"
                f"scale={tile_w}:{tile_h}:force_original_aspect_ratio=decrease,"
                f"pad={tile_w}:{tile_h}:(ow-iw)/2:(oh-ih)/2,setsar=1[clip{index}]"
            )
            filters.append(
                f"[{label}][clip{index}]overlay=eof_action=pass:repeatlast=0[{label}x{index}]"
            )
            label = f"{label}x{index}"
        name = _text(work_dir, f"name{number}", caption, max(12, tile_h // 18), "8",
                     "h-text_h-10")
        filters.append(f"[{label}]{name}[{label}n]")
        tiles.append(f"{label}n")
    while len(tiles) < columns * rows:  # blank cells of an incomplete grid
        label = f"blank{len(tiles)}"
        filters.append(f"color=c=black:s={tile_w}x{tile_h}:r={fps}:d={total}[{label}]")
        tiles.append(label)
    # the hearing's real time (UTC), from the first recorded frame
    (work_dir / "clock.txt").write_text(
        f"%{{pts:gmtime:{plan.start:.3f}:%Y-%m-%d %H\\:%M\\:%S}} UTC", encoding="utf-8")
    font = f"fontfile={FONT}:" if FONT.is_file() else ""
    clock = (f"drawtext={font}textfile={work_dir / 'clock.txt'}:fontsize={max(14, height // 30)}:"
             "fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=w-text_w-10:y=10")
    if len(tiles) == 1:
        filters.append(f"[{tiles[0]}]format=yuv420p,{clock}[vout]")
    else:
        layout = "|".join(
            f"{(cell % columns) * tile_w}_{(cell // columns) * tile_h}"
            for cell in range(len(tiles))
        )
        inputs = "".join(f"[{label}]" for label in tiles)
        filters.append(f"{inputs}xstack=inputs={len(tiles)}:layout={layout},format=yuv420p,"
                       f"{clock}[vout]")

    voices = ["[silence]"]
    filters.append(f"anullsrc=r=48000:cl=stereo,atrim=0:{total}[silence]")
    for index, run in enumerate(plan.runs):
        if run.kind == "audio":
            filters.append(
                f"[{index}:a]asetpts=PTS-STARTPTS+{run.offset:.3f}/TB,"
                f"aresample=48000:async=1000:first_pts=0[voice{index}]"
            )
            voices.append(f"[voice{index}]")
    filters.append(f"{''.join(voices)}amix=inputs={len(voices)}:duration=first:normalize=0[aout]")

    args += ["-filter_complex", ";".join(filters), "-map", "[vout]", "-map", "[aout]"]
    if output.suffix.lower() == ".mp4":
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
        args += ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4"]
    else:
        args += ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1500k"]
        args += ["-c:a", "libopus", "-b:a", "96k", "-f", "webm"]
    args += ["-r", str(fps), "-t", total, "-progress", "pipe:1", "-stats_period", "0.25"]
    args += ["-nostats", str(output)]
    return args


async def render_composite(
    folder: Path,
    output: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    ffmpeg: str = "ffmpeg",
) -> Path:
    """Render the composite viewing copy of the hearing in ``folder`` into ``output``.

    ``on_progress`` receives the fraction done (0.0 to 1.0, non-decreasing).
    The file is written under a temporary name and renamed when complete;
    cancelling the task stops ffmpeg. Raises :class:`RecordingError`
    (``composite.empty``, ``composite.failed``).
    """
    plan = plan_composite(Path(folder))
    output = Path(output)
    temp = output.with_suffix(".part" + output.suffix)  # keeps the suffix ffmpeg goes by
    progress = _Progress(plan.duration, on_progress)
    with tempfile.TemporaryDirectory(prefix="composite-") as work:
        command = build_command(
            plan, temp, Path(work), width=width, height=height, fps=fps, ffmpeg=ffmpeg
        )
        log.info("composite of %s: %d inputs, %.1f s", folder, len(plan.runs), plan.duration)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        errors = bytearray()
        try:
            assert process.stdout is not None and process.stderr is not None
            await asyncio.gather(progress.follow(process.stdout), _collect(process.stderr, errors))
            code = await process.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            temp.unlink(missing_ok=True)
            raise
    if code != 0 or not temp.exists():
        temp.unlink(missing_ok=True)
        detail = errors.decode("utf-8", "replace").strip()[-2000:]
        raise RecordingError(COMPOSITE_FAILED, f"ffmpeg exited with {code}: {detail}")
    os.replace(temp, output)
    progress.report(1.0)
    return output


class _Progress:
    def __init__(self, duration: float, callback: Callable[[float], None] | None) -> None:
        self._duration = max(duration, 1e-3)
        self._callback = callback
        self._last = -1.0

    def report(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if fraction > self._last and self._callback is not None:
            self._last = fraction
            self._callback(fraction)

    async def follow(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key in ("out_time_us", "out_time_ms") and value.isdigit():
                self.report(int(value) / 1e6 / self._duration * 0.999)


async def _collect(stream: asyncio.StreamReader, sink: bytearray) -> None:
    async for line in stream:
        sink.extend(line)
        del sink[:-_STDERR_LIMIT]
