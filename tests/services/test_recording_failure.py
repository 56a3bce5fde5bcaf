"""When the disk fills during a hearing, the judge is told at once, the event log
says what happened, and everyone else's media goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import recording.segment
from bench.participant import Participant
from hearing_server.api.routes import HEARINGS
from hearing_server.app import RECORDER
from tests.conftest import Running, admitted_pair, schedule
from tests.relay.harness import wait_for


async def test_full_disk_tells_the_judge_at_once_and_media_goes_on(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    h = await schedule(running)
    judge, party = await admitted_pair(running, h)
    try:
        real_open = recording.segment.open_output

        def open_on_full_disk(path: Path, *args: object, **kwargs: object) -> object:
            path.symlink_to("/dev/full")  # every write fails with ENOSPC
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(recording.segment, "open_output", open_on_full_disk)
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        failed = await asyncio.wait_for(_event(judge, "recording.failed"), 10)
        assert failed["code"] == "recording.disk_full"
        assert not any(e == "recording.failed" for e, _ in party.events)  # judge only
        before = judge.media.frames_from("party", "camera")
        await wait_for(lambda: judge.media.frames_from("party", "camera") > before + 15, 5)
        log = running.app[HEARINGS].events(h.hearing_id)
        assert any(e["type"] == "recording_failed" and e["code"] == "recording.disk_full"
                   for e in log)
        assert running.app[RECORDER].recording_tracks(h.hearing_id) >= 0
    finally:
        await party.close()
        await judge.close()


async def _event(p: Participant, name: str) -> dict[str, object]:
    while True:
        for event, data in p.events:
            if event == name:
                return dict(data)
        await asyncio.sleep(0.05)
