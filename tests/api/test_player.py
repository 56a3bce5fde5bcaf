"""The record player's data and one person's continuous track, from a hearing recorded
through the real server with a pause; every access audited."""

from __future__ import annotations

import asyncio
import json
import subprocess

from hearing_server.api.records import RECORDS
from hearing_server.app import RECORDER
from tests.conftest import Running, admitted_pair, schedule, staff_session
from tests.relay.harness import wait_for


def _probe(data: bytes, path: str) -> dict[str, object]:
    with open(path, "wb") as fh:
        fh.write(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "stream=codec_name,nb_read_packets:format=duration", "-of", "json",
                          path], capture_output=True, text=True, check=True)
    probed: dict[str, object] = json.loads(out.stdout)
    return probed


async def test_the_player_gets_one_lane_per_person_markers_and_a_continuous_track(
        running: Running, tmp_path: object) -> None:
    s = await staff_session(running, "clerk")  # clerk1, assigned to the hearing
    h = await schedule(running, clerks=("clerk1",))
    judge, party = await admitted_pair(running, h)
    recorder = running.app[RECORDER]
    try:
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 10)
        await asyncio.sleep(2.0)
        assert (await judge.call("recording", {"action": "pause", "reason": "sidebar"}))["ok"]
        await asyncio.sleep(1.5)
        assert (await judge.call("recording", {"action": "resume"}))["ok"]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 10)
        await asyncio.sleep(2.0)
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        await party.close()
        await judge.close()
    base = running.url + f"/api/v1/recordings/{h.hearing_id}"
    async with s:
        async with s.get(base + "/player") as r:
            assert r.status == 200, await r.text()
            data = await r.json()
        people = {p["participant_id"]: p for p in data["people"]}
        assert set(people) == {"judge", "party"}
        party_tracks = {t["kind"]: t for t in people["party"]["tracks"]}
        assert set(party_tracks) == {"audio", "video"}
        video = party_tracks["video"]
        assert len(video["segments"]) == 2 and video["source"] == "camera"
        gap = video["segments"][1]["start"] - video["segments"][0]["end"]
        assert 1.0 <= gap <= 3.0, gap
        kinds = [m["kind"] for m in data["markers"]]
        assert {"session_start", "admit", "recording_pause", "recording_resume"} <= set(kinds)
        pause = next(m for m in data["markers"] if m["kind"] == "recording_pause")
        assert pause["reason"] == "sidebar"
        assert [p["reason"] for p in data["unrecorded"] if p["kind"] == "pause"] == ["sidebar"]
        assert data["start"] <= video["start"] and data["end"] >= video["end"]
        # one continuous file of the party's video: remuxed, as long as the whole lane
        async with s.get(base + f"/lanes/{video['track']}?download=1") as r:
            assert r.status == 200
            assert "attachment" in r.headers["Content-Disposition"]
            whole = await r.read()
        info = _probe(whole, f"{tmp_path}/lane.webm")
        streams = info["streams"]
        assert isinstance(streams, list) and [x["codec_name"] for x in streams] == ["vp8"]
        seconds = float(info["format"]["duration"])  # type: ignore[index]
        span = video["end"] - video["start"]
        assert abs(seconds - span) < 0.6, (seconds, span)
        async with s.get(base + "/lanes/no-such-track") as r:
            assert r.status == 404
    lines = running.app[RECORDS].audit_log.read()
    assert [(x["action"], x["outcome"]) for x in lines][-3:] == [
        ("play", "allowed"), ("download", "allowed"), ("play", "failed")]
