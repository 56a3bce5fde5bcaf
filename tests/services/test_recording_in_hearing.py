"""A hearing in session is recorded from the relay's encoded frames into a signed,
verifiable case record."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import RECORDER
from recording.verify import verify_folder
from tests.conftest import Running, admitted_pair, schedule
from tests.relay.harness import wait_for


def probe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)], capture_output=True, text=True, check=True)
    data: dict[str, object] = json.loads(out.stdout)
    return data


async def test_hearing_is_recorded_per_track_without_transcoding_and_sealed_at_adjournment(
        running: Running) -> None:
    h = await schedule(running)
    judge, party = await admitted_pair(running, h)
    try:
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        hello = await judge.call("hello")
        assert hello["state"]["recording"] == "on"  # recording first
        recorder = running.app[RECORDER]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 5)
        await wait_for(lambda: any(e == "state" and d["state"]["recording_active"]
                                   for e, d in judge.events), 5)
        await asyncio.sleep(2.5)
        ack = await judge.call("recording", {"action": "pause", "reason": "sidebar"})
        assert ack["ok"]
        assert recorder.recording_tracks(h.hearing_id) == 0
        await asyncio.sleep(0.5)
        assert (await judge.call("recording", {"action": "resume"}))["ok"]
        await asyncio.sleep(1.5)
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        await party.close()
        await judge.close()
    folder = recorder.folder(h.hearing_id)
    report = verify_folder(folder)
    assert report.ok, report.render()
    assert report.sealed
    manifest = json.loads((folder / "manifest.json").read_text())
    media = [e for e in manifest["entries"] if e.get("media")]
    assert {(e["media"]["participant_id"], e["media"]["kind"]) for e in media} == {
        ("judge", "audio"), ("judge", "video"), ("party", "audio"), ("party", "video")}
    assert len(media) == 8  # two segments per track: before and after the pause
    for e in media:
        info = probe(folder / e["path"])
        codecs = {s["codec_name"] for s in info["streams"]}  # type: ignore[attr-defined]
        assert codecs == ({"vp8"} if e["media"]["kind"] == "video" else {"opus"})
    party_video = sorted((e for e in media if e["media"]["participant_id"] == "party"
                          and e["media"]["kind"] == "video"), key=lambda e: e["media"]["start"])
    durations = [float(probe(folder / e["path"])["format"]["duration"])  # type: ignore[index]
                 for e in party_video]
    assert 2.0 <= durations[0] <= 3.3 and 1.0 <= durations[1] <= 2.2, durations
    names = {e["path"] for e in manifest["entries"]}
    assert {"events.jsonl", "attendance.json"} <= names
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    pause = [e for e in events if e["type"] == "recording_pause"]
    assert pause and pause[0]["reason"] == "sidebar"
    attendance = json.loads((folder / "attendance.json").read_text())
    assert {p["participant_id"] for p in attendance["participants"]} >= {"judge", "party"}


async def test_a_publisher_who_leaves_and_rejoins_is_recorded_in_both_periods(
        running: Running) -> None:
    h = await schedule(running)
    video, audio = cached_clips()
    judge, party = await admitted_pair(running, h)
    try:
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        recorder = running.app[RECORDER]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 10)
        await asyncio.sleep(2.0)
        await party.close()  # the party's network drops
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 2, 10)
        party = Participant(running.url, h.tokens["party"], "party", video, audio)
        await party.connect()  # back within the grace period: straight into the room
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 10)
        await asyncio.sleep(2.0)
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        await party.close()
        await judge.close()
    folder = recorder.folder(h.hearing_id)
    assert verify_folder(folder).ok
    manifest = json.loads((folder / "manifest.json").read_text())
    party_video = [e for e in manifest["entries"] if e.get("media")
                   and e["media"]["participant_id"] == "party" and e["media"]["kind"] == "video"]
    assert len(party_video) == 2  # before the drop and after the return
    for e in party_video:
        assert {s["codec_name"] for s in probe(folder / e["path"])["streams"]} == {"vp8"}  # type: ignore[attr-defined]
    events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    stopped = [e for e in events if e["type"] == "recording_track_stopped"
               and e["subject"] == "party"]
    started = [e for e in events if e["type"] == "recording_track_started"
               and e["subject"] == "party"]
    assert len(stopped) >= 2 and len(started) == 4
    assert {e["reason"] for e in stopped} >= {"left"}
