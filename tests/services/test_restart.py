"""A node killed (SIGKILL) mid-hearing and restarted brings the hearing back exactly as
the court left it: the phase, who is admitted, removed or denied, the lock, forced mutes
and the recording, which goes on in a new segment; the gap is in the event log and the
record, and the whole record verifies after adjournment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import STORE
from recording.verify import verify_folder
from tests.conftest import Running, connect, schedule
from tests.relay.harness import wait_for
from tests.services.test_crash_recovery import ROOT, free_port, start_server
from tests.when import soon


def create(data: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(data), "--init",
         "hearing",
         "create", "--case-number", "K-2", "--title", "Restart", "--at", soon(),
         "--judge", "Judge", "--party", "Party", "--witness", "Wit", "--observer", "Obs"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    created: dict[str, object] = json.loads(out.stdout)
    return created


def events_of(data: Path, hid: str) -> list[dict[str, object]]:
    path = data / "hearings" / hid / "events.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.timeout(150)
async def test_a_restart_restores_every_court_decision_and_the_recording_goes_on(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    created = create(data)
    hid = str(created["hearing_id"])
    people = created["participants"]
    assert isinstance(people, list)
    tokens = {p["role"]: p["link"].split("#", 1)[1] for p in people}
    ids = {p["role"]: p["id"] for p in people}
    video, audio = cached_clips()
    server = start_server(data, port)
    judge = Participant(base, tokens["judge"], "judge", video, audio)
    party = Participant(base, tokens["party"], "party", video, audio)
    witness = Participant(base, tokens["witness"], "witness", video, audio)
    try:
        await judge.connect()
        await party.connect()
        await witness.connect()
        assert (await judge.call("admit", {"participant_id": ids["party"]}))["ok"]
        assert (await judge.call("deny", {"participant_id": ids["witness"],
                                          "reason": "not today"}))["ok"]
        await wait_for(lambda: judge.media.frames_from(ids["party"], "camera") > 5, 15)
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        assert (await judge.call("lock", {"locked": True}))["ok"]
        assert (await judge.call("mute", {"participant_id": ids["party"], "kind": "video",
                                          "force": True}))["ok"]
        await wait_for(lambda: any(e == "state" and d["state"]["recording_active"]
                                   for e, d in judge.events), 10)
        await asyncio.sleep(2.0)
        os.kill(server.pid, signal.SIGKILL)
        killed_at = time.time()
        server.wait(10)
    finally:
        for p in (witness, party, judge):
            await p.close()

    await asyncio.sleep(1.0)  # the node is down for a while
    restarted_at = time.time()
    server = start_server(data, port)
    judge = Participant(base, tokens["judge"], "judge", video, audio)
    party = Participant(base, tokens["party"], "party", video, audio)
    try:
        welcome = await judge.connect()
        state = welcome["state"]
        assert state["phase"] == "in_session" and state["locked"] is True
        assert state["recording"] == "on"
        gap = state["interruption"]
        assert gap["cause"] == "node restart" and gap["recording_gap"] is True
        assert gap["from"] <= killed_at + 0.5 and gap["to"] >= restarted_at - 0.5
        assert gap["seconds"] >= 1.0
        back = await party.connect()  # within the rejoin grace: the same place
        assert back["you"]["state"] == "admitted"
        assert back["you"]["forced_video_mute"] is True
        witness = Participant(base, tokens["witness"], "witness", video, audio)
        with pytest.raises(Exception):  # noqa: B017  (socket.io's ConnectionError)
            await witness.connect()
        assert (witness.refusal or {}).get("code") == "participant.denied"
        first_frame = time.monotonic()
        await wait_for(lambda: judge.media.frames_from(ids["party"], "microphone") > 5
                       and party.media.frames_from(ids["judge"], "camera") > 5, 20)
        media_after = time.monotonic() - first_frame
        await wait_for(lambda: any(e == "state" and d["state"]["recording_active"]
                                   for e, d in judge.events), 10)
        await asyncio.sleep(1.5)
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        await party.close()
        await judge.close()
        server.terminate()
        server.wait(15)
    print(f"restart to media flowing again: {media_after:.2f} s; gap {gap['seconds']} s")
    types = [e["type"] for e in events_of(data, hid)]
    assert "hearing_interrupted" in types and "recording_gap" in types
    assert types.index("recording_gap") < types.index("adjourned")
    folder = data / "records" / hid
    report = verify_folder(folder)
    assert report.ok, report.render()
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = {e["path"] for e in manifest["entries"]}
    assert "interruptions.json" in paths
    gaps = json.loads((folder / "interruptions.json").read_text())
    assert gaps["interruptions"][0]["cause"] == "node restart"
    media = [e for e in manifest["entries"] if e.get("media")]
    judge_audio = sorted((e["media"]["start"], e["media"]["end"]) for e in media
                         if e["media"]["participant_id"] == ids["judge"]
                         and e["media"]["kind"] == "audio")
    assert len(judge_audio) >= 2, "the recording went on in a new segment after the restart"
    assert judge_audio[-1][0] >= restarted_at - 0.5


async def test_a_decision_the_store_cannot_save_is_refused_and_not_made(
        running: Running) -> None:
    """Disk full under SQLite: the judge is told at once; the court's state is unchanged."""
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    await judge.call("hello")
    store = running.app[STORE]

    def full(session: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    store._save = full
    ack = await judge.call("lock", {"locked": True})
    assert ack["ok"] is False and ack["error"]["code"] == "store.unavailable"
    del store._save  # the disk has room again
    assert (await judge.call("hello"))["state"]["locked"] is False
    assert (await judge.call("lock", {"locked": True}))["ok"]
    await judge.close()
