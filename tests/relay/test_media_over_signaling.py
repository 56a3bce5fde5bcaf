"""Media through the real server: socket.io signalling, the relay, aiortc clients."""

from __future__ import annotations

import asyncio

from bench.media import cached_clips
from bench.participant import Participant
from tests.conftest import Running, schedule
from tests.relay.harness import wait_for


async def test_admitted_party_and_judge_exchange_video_and_audio_through_the_server(
        running: Running) -> None:
    h = await schedule(running)
    video, audio = cached_clips()
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    party = Participant(running.url, h.tokens["party"], "party", video, audio)
    try:
        await judge.connect()
        welcome = await party.connect()
        assert welcome["you"]["state"] == "lobby"
        await asyncio.sleep(0.5)
        assert party.media.frames("video") == 0  # nothing reaches the lobby
        assert (await judge.call("admit", {"participant_id": "party"}))["ok"]
        await wait_for(lambda: judge.media.frames_from("party", "camera") > 10
                       and party.media.frames_from("judge", "camera") > 10, 15)
        assert party.media.frames_from("judge", "microphone") > 10
        delay = party.first_frame_delay()
        assert delay is not None
        # force-mute stops the party's audio at the relay, lifting restores it
        assert (await judge.call("mute", {"participant_id": "party", "kind": "audio",
                                          "force": True}))["ok"]
        await asyncio.sleep(0.3)
        before = judge.media.frames_from("party", "microphone")
        await asyncio.sleep(1.0)
        assert judge.media.frames_from("party", "microphone") - before <= 2
        assert (await judge.call("unmute", {"participant_id": "party", "kind": "audio"}))["ok"]
        await wait_for(lambda: judge.media.frames_from("party", "microphone") > before + 20, 5)
        assert judge.errors == [] and party.errors == []
    finally:
        await party.close()
        await judge.close()
