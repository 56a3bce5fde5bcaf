"""A recess pauses the hearing for real: the relay forwards nothing and the recording
pauses with the reason "recess"; both resume with the session."""

from __future__ import annotations

import asyncio

from hearing_server.app import HEARINGS, RECORDER
from tests.conftest import Running, admitted_pair, schedule
from tests.relay.harness import wait_for


async def test_in_recess_no_media_flows_and_the_recording_pauses_then_both_resume(
        running: Running) -> None:
    h = await schedule(running)
    judge, party = await admitted_pair(running, h)
    recorder = running.app[RECORDER]
    try:
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 5)
        assert (await judge.call("conduct", {"action": "recess"}))["ok"]
        state = (await party.call("hello"))["state"]
        assert state["phase"] == "recess"
        assert (state["recording"], state["recording_reason"]) == ("paused", "recess")
        assert recorder.recording_tracks(h.hearing_id) == 0
        await asyncio.sleep(0.3)  # frames in flight when the recess began
        frozen = (party.media.frames_from("judge", "camera"),
                  party.media.frames_from("judge", "microphone"),
                  judge.media.frames_from("party", "microphone"))
        await asyncio.sleep(1.0)  # 30 video and 50 audio frames would arrive in this time
        assert (party.media.frames_from("judge", "camera"),
                party.media.frames_from("judge", "microphone"),
                judge.media.frames_from("party", "microphone")) == frozen
        assert (await judge.call("conduct", {"action": "resume"}))["ok"]
        await wait_for(lambda: party.media.frames_from("judge", "microphone") > frozen[1] + 10
                       and judge.media.frames_from("party", "camera") > 0, 10)
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 5)
        assert (await judge.call("hello"))["state"]["recording"] == "on"
    finally:
        await party.close()
        await judge.close()
    types = [(e["type"], e.get("reason")) for e in running.app[HEARINGS].events(h.hearing_id)]
    assert ("recess", None) in types and ("resumed", None) in types
    assert ("recording_pause", "recess") in types and ("recording_resume", "recess") in types
