from __future__ import annotations

import array
import asyncio
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pytest

from recording.composite import plan_composite, render_composite
from recording.errors import RecordingError
from recording.manifest import Manifest, MediaDetails
from recording.signing import Signer
from tests.recording.conftest import START
from tests.recording.hearing import Track, sealed_hearing
from tests.recording.media import ffmpeg_decode_errors, ffprobe


def luma_of_right_half(frame: Any) -> float:
    plane = frame.planes[0]
    data = bytes(plane)
    total = count = 0
    for row in range(0, frame.height, 4):
        line = data[row * plane.line_size + frame.width // 2 : row * plane.line_size + frame.width]
        total += sum(line)
        count += len(line)
    return total / count


def video_luma_at(path: Path, seconds: float) -> float:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return luma_of_right_half(frame)
    raise AssertionError(f"no frame at {seconds} s")


def audio_rms(path: Path, start: float, end: float) -> float:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    samples = array.array("h")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                samples.frombytes(bytes(mono.planes[0])[: mono.samples * 2])
    window = samples[int(start * 48000) : int(end * 48000)]
    return math.sqrt(sum(s * s for s in window) / len(window))


async def test_two_participants_render_into_one_aligned_grid_with_mixed_audio(
    tmp_path: Path, signer: Signer
) -> None:
    folder = await asyncio.to_thread(
        sealed_hearing,
        tmp_path / "H-1",
        signer,
        [
            Track("judge-1", "Judge Chen", "judge", "video", 0.0, 3.0),
            Track("judge-1", "Judge Chen", "judge", "audio", 0.0, 3.0),
            Track("p2", "Ann Lee", "party", "video", 1.0, 2.0),  # joins a second later
            Track("p2", "Ann Lee", "party", "audio", 1.0, 2.0, tone=660.0),
        ],
    )
    progress: list[float] = []
    output = await render_composite(
        folder, tmp_path / "composite.webm", on_progress=progress.append, width=640, height=360
    )

    assert output == tmp_path / "composite.webm"
    probed = ffprobe(output)
    codecs = {s["codec_type"]: s for s in probed["streams"]}
    assert codecs["video"]["codec_name"] == "vp8"
    assert (codecs["video"]["width"], codecs["video"]["height"]) == (640, 360)
    assert codecs["audio"]["codec_name"] == "opus"
    assert float(probed["format"]["duration"]) == pytest.approx(3.0, abs=0.1)
    assert ffmpeg_decode_errors(output) == ""
    # The party's tile (right half) is a dark "camera off" card with their name until
    # they join at 1 s (the card's text and the clock lift it above black).
    card, joined = video_luma_at(output, 0.5), video_luma_at(output, 2.0)
    assert 15 < card < 60 and joined > card + 30, (card, joined)
    # Two sines of equal loudness: from 1 s on the mix has twice the power.
    alone, together = audio_rms(output, 0.5, 0.95), audio_rms(output, 1.05, 2.5)
    assert together / alone == pytest.approx(math.sqrt(2), rel=0.1)
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) >= 2
    leftovers = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert leftovers == ["H-1", "composite.webm"]


@pytest.mark.parametrize(
    "tracks",
    [
        [
            Track("p1", "A", "party", "video", 0.0, 1.0),  # no audio
            Track("p2", "B", "party", "audio", 0.0, 1.0),  # no video
            Track("p3", "C", "counsel", "video", 0.2, 0.8),
            Track("p3", "C", "counsel", "audio", 0.2, 0.8),
        ],
        [Track("p1", "A", "party", "audio", 0.0, 1.0)],  # audio only: black picture
        [Track("p1", "A", "party", "video", 0.0, 1.0)],  # video only: silent sound
    ],
    ids=["mixed", "audio-only", "video-only"],
)
async def test_tracks_missing_audio_or_video_still_render(
    tmp_path: Path, signer: Signer, tracks: list[Track]
) -> None:
    folder = await asyncio.to_thread(sealed_hearing, tmp_path / "H-1", signer, tracks)
    output = await render_composite(folder, tmp_path / "composite.mp4", width=320, height=180)
    probed = ffprobe(output)
    assert sorted(s["codec_name"] for s in probed["streams"]) == ["aac", "h264"]
    assert float(probed["format"]["duration"]) == pytest.approx(1.0, abs=0.1)
    assert ffmpeg_decode_errors(output) == ""


async def test_nine_participants_fill_a_three_by_three_grid(tmp_path: Path, signer: Signer) -> None:
    tracks = [Track(f"p{n}", f"P{n}", "party", "video", n * 0.05, 0.5) for n in range(9)]
    folder = await asyncio.to_thread(sealed_hearing, tmp_path / "H-1", signer, tracks)
    output = await render_composite(folder, tmp_path / "grid.webm", width=480, height=270)
    stream = ffprobe(output)["streams"][0]
    assert (stream["width"], stream["height"]) == (480, 270)
    assert ffmpeg_decode_errors(output) == ""


def media(track: str, kind: str, start: float, duration: float) -> MediaDetails:
    return MediaDetails(
        participant_id=track.split("-")[0],
        participant_name="",
        role="party",
        track=track,
        kind=kind,
        codec="vp8" if kind == "video" else "opus",
        start=START + start,
        end=START + start + duration,
        duration=duration,
        frames=1,
        recovered=False,
        reason="duration",
    )


def test_segments_of_a_track_form_runs_split_at_gaps(tmp_path: Path) -> None:
    manifest = Manifest.create(tmp_path, "H-1", "C-1")
    layout = [
        ("p1-video", "video", 0.0, 60.0),
        ("p1-video", "video", 60.0, 60.0),
        ("p1-audio", "audio", 0.5, 30.0),
        ("p1-video", "video", 200.0, 10.0),  # back after a reconnect
    ]
    for number, (track, kind, start, duration) in enumerate(layout):
        manifest.append_file(
            f"media/{track}-{number}.webm",
            sha256="00" * 32,
            size=1,
            media=media(track, kind, start, duration),
        )
    manifest.append_file("minutes.txt", sha256="00" * 32, size=1)

    plan = plan_composite(tmp_path)
    assert (plan.start, plan.duration, plan.video_tracks) == (START, 210.0, ["p1-video"])
    assert [(r.track, r.offset, len(r.files), r.end) for r in plan.runs] == [
        ("p1-video", 0.0, 2, 120.0),
        ("p1-audio", 0.5, 1, 30.5),
        ("p1-video", 200.0, 1, 210.0),
    ]


def test_an_interpretation_channel_is_not_mixed_into_the_floor(tmp_path: Path) -> None:
    manifest = Manifest.create(tmp_path, "H-1", "C-1")
    for number, (track, kind) in enumerate([("p1-video", "video"), ("p1-audio", "audio"),
                                            ("i1-audio", "audio"),
                                            ("i1-audio-interpretation", "audio")]):
        details = media(track, kind, 0.0, 10.0)
        if track.endswith("interpretation"):
            details = replace(details, source="interpretation", language="fr")
        manifest.append_file(f"media/{track}-{number}.webm", sha256="00" * 32, size=1,
                             media=details)
    plan = plan_composite(tmp_path)
    assert [r.track for r in plan.runs] == ["p1-video", "p1-audio", "i1-audio"]


def test_hearing_without_recordings_has_no_composite(tmp_path: Path) -> None:
    Manifest.create(tmp_path, "H-1", "C-1")
    with pytest.raises(RecordingError) as caught:
        plan_composite(tmp_path)
    assert caught.value.code == "composite.empty"


def fake_ffmpeg(folder: Path, body: str) -> str:
    script = folder / "fake-ffmpeg"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


async def test_failed_render_raises_with_ffmpeg_s_message(tmp_path: Path, signer: Signer) -> None:
    tracks = [Track("p1", "A", "party", "audio", 0.0, 0.2)]
    folder = await asyncio.to_thread(sealed_hearing, tmp_path / "H-1", signer, tracks)
    ffmpeg = fake_ffmpeg(tmp_path, "echo 'Invalid argument' >&2\nexit 1\n")
    with pytest.raises(RecordingError) as caught:
        await render_composite(folder, tmp_path / "out.webm", ffmpeg=ffmpeg)
    assert caught.value.code == "composite.failed"
    assert "Invalid argument" in str(caught.value)


async def test_cancelled_render_stops_ffmpeg_and_leaves_no_file(
    tmp_path: Path, signer: Signer
) -> None:
    tracks = [Track("p1", "A", "party", "audio", 0.0, 0.2)]
    folder = await asyncio.to_thread(sealed_hearing, tmp_path / "H-1", signer, tracks)
    pid_file = tmp_path / "pid"
    ffmpeg = fake_ffmpeg(
        tmp_path,
        f'echo $$ > {pid_file}\nfor a in "$@"; do out=$a; done\n: > "$out"\n'
        "echo out_time_us=100000\nexec sleep 30\n",
    )
    started = asyncio.Event()
    task = asyncio.create_task(
        render_composite(
            folder, tmp_path / "out.webm", ffmpeg=ffmpeg, on_progress=lambda _: started.set()
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    leftovers = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert leftovers == ["H-1", "fake-ffmpeg", "pid"]


async def test_tiles_carry_names_in_a_cjk_font_a_camera_off_card_and_the_hearing_clock(
        tmp_path: Path, signer: Signer) -> None:
    from recording.composite import FONT, build_command

    folder = await asyncio.to_thread(sealed_hearing, tmp_path / "H-1", signer, [
        Track("j", "陈法官", "judge", "video", 0.0, 1.0),
        Track("p", "Ann Lee", "party", "video", 0.5, 0.5)])
    plan = plan_composite(folder)
    assert plan.captions == {"j-video": "陈法官 (judge)", "p-video": "Ann Lee (party)"}
    work = tmp_path / "work"
    work.mkdir()
    command = build_command(plan, tmp_path / "out.webm", work)
    graph = command[command.index("-filter_complex") + 1]
    assert FONT.is_file()  # installed by scripts/setup.sh (fonts-wqy-microhei)
    assert graph.count(f"drawtext=fontfile={FONT}") == 5  # 2 names, 2 cards, 1 clock
    assert (work / "name0.txt").read_text(encoding="utf-8") == "陈法官 (judge)"
    assert (work / "card1.txt").read_text(encoding="utf-8") == "Ann Lee (party)\ncamera off"
    assert "gmtime" in (work / "clock.txt").read_text()
    output = await render_composite(folder, tmp_path / "c.webm", width=640, height=360)
    assert ffmpeg_decode_errors(output) == ""
