"""A node killed with SIGKILL mid-hearing loses only the last seconds of recording:
the next start recovers the unfinished segments, marked as recovered."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from bench.media import cached_clips
from bench.participant import Participant
from recording.verify import verify_folder
from tests.relay.harness import wait_for
from tests.when import soon

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(data), "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.mark.timeout(120)
async def test_sigkill_mid_hearing_loses_at_most_two_seconds_and_recovers(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = subprocess.run(
        [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(data), "--init",
         "hearing",
         "create", "--case-number", "K-1", "--title", "Crash", "--at", soon(),
         "--judge", "Judge", "--party", "Party"], cwd=ROOT, capture_output=True, text=True,
        check=True)
    created = json.loads(out.stdout)
    hid = created["hearing_id"]
    tokens = {p["role"]: p["link"].split("#", 1)[1] for p in created["participants"]}
    party_id = next(p["id"] for p in created["participants"] if p["role"] == "party")
    server = start_server(data, port)
    video, audio = cached_clips()
    judge = Participant(base, tokens["judge"], "judge", video, audio)
    party = Participant(base, tokens["party"], "party", video, audio)
    try:
        await judge.connect()
        await party.connect()
        await judge.call("admit", {"participant_id": party_id})
        await wait_for(lambda: judge.media.frames_from(party_id, "camera") > 5, 15)
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        recorded_from = time.time()
        await asyncio.sleep(4.0)
        os.kill(server.pid, signal.SIGKILL)
        killed_at = time.time()
        server.wait(10)
    finally:
        await party.close()
        await judge.close()
    media = data / "records" / hid / "media"
    assert any(p.name.endswith(".part") for p in media.iterdir())
    server = start_server(data, port)  # recovery runs at start-up
    try:
        manifest = json.loads((data / "records" / hid / "manifest.json").read_text())
    finally:
        server.terminate()
        server.wait(15)
    entries = [e for e in manifest["entries"] if e.get("media")]
    assert entries and all(e["media"]["recovered"] for e in entries)
    assert not any(p.name.endswith(".part") for p in media.iterdir())
    for e in entries:
        kept_until = e["media"]["end"]
        assert killed_at - kept_until <= 2.0, (e["path"], killed_at - kept_until)
        assert e["media"]["start"] >= recorded_from - 1.0
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                "-of", "csv=p=0", str(data / "records" / hid / e["path"])],
                               capture_output=True, text=True, check=True)
        assert float(probe.stdout) >= 1.5
    report = verify_folder(data / "records" / hid)
    assert {p.code for p in report.problems} <= {"signature.missing"}  # not sealed yet
    events = [json.loads(x) for x in (data / "hearings" / hid / "events.jsonl").read_text()
              .splitlines()]
    assert any(e["type"] == "recording_recovered" for e in events)
