"""An interpreter publishes an interpretation channel in one language: everyone in the
room hears it besides the floor, and it is recorded as its own, labelled track."""

from __future__ import annotations

import json

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import RECORDER
from recording.verify import verify_folder
from tests.conftest import Running, schedule
from tests.relay.harness import wait_for

PEOPLE = [("Judge Ada", "judge"), ("Sam Party", "party"), ("Ines Interprete", "interpreter")]


async def test_an_interpreters_channel_reaches_the_party_and_is_recorded_with_its_language(
        running: Running) -> None:
    h = await schedule(running, people=PEOPLE)
    video, audio = cached_clips()
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    party = Participant(running.url, h.tokens["party"], "party", video, audio)
    interpreter = Participant(running.url, h.tokens["interpreter"], "interpreter", video, audio)
    interpreter.media.add_source("interpretation", audio)
    try:
        for p in (judge, party, interpreter):
            await p.connect()
        for pid in ("party", "interpreter"):
            assert (await judge.call("admit", {"participant_id": pid}))["ok"]
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        ack = await interpreter.call("media.publish",
                                     {"source": "interpretation", "language": "fr"})
        assert ack["ok"], ack
        # the party hears the floor and the interpretation; the interpreter hears the floor
        await wait_for(lambda: party.media.frames_from("interpreter", "interpretation") > 20
                       and party.media.frames_from("judge", "microphone") > 20
                       and interpreter.media.frames_from("judge", "microphone") > 20, 20)
        labelled = [t for t in party.media.tracks.values()
                    if t and t.get("source") == "interpretation"]
        assert labelled and labelled[0]["language"] == "fr"
        recorder = running.app[RECORDER]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 7, 15)
        await wait_for(lambda: party.media.frames_from("interpreter", "interpretation") > 100,
                       15)
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        for p in (interpreter, party, judge):
            await p.close()
    folder = recorder.folder(h.hearing_id)
    report = verify_folder(folder)
    assert report.ok, report.render()
    manifest = json.loads((folder / "manifest.json").read_text())
    media = [e["media"] for e in manifest["entries"] if e.get("media")]
    channel = [m for m in media if m.get("source") == "interpretation"]
    assert channel and all(m["participant_id"] == "interpreter" and m["kind"] == "audio"
                           and m["language"] == "fr" for m in channel)
    own = [m for m in media if m["participant_id"] == "interpreter"
           and m.get("source") == "microphone"]
    assert own and all("language" not in m for m in own)
    # its own lane: the channel's track is never the interpreter's microphone's
    assert {m["track"] for m in channel} == {"interpreter-audio-interpretation"}
    assert not {m["track"] for m in channel} & {m["track"] for m in own}


async def test_only_an_interpreter_may_publish_interpretation_and_it_names_a_language(
        running: Running) -> None:
    h = await schedule(running, people=PEOPLE)
    video, audio = cached_clips()
    judge = Participant(running.url, h.tokens["judge"], "judge", video, audio)
    interpreter = Participant(running.url, h.tokens["interpreter"], "interpreter", video, audio)
    try:
        await judge.connect()
        await interpreter.connect()
        assert (await judge.call("admit", {"participant_id": "interpreter"}))["ok"]
        await wait_for(lambda: interpreter.media.frames_from("judge", "microphone") > 5, 15)
        denied = await judge.call("media.publish", {"source": "interpretation",
                                                    "language": "fr"})
        assert not denied["ok"] and denied["error"]["code"] == "permission.denied", denied
        for bad in ({"source": "interpretation"},
                    {"source": "interpretation", "language": "not a tag!"},
                    {"source": "microphone", "language": "fr"}):
            ack = await interpreter.call("media.publish", bad)
            assert not ack["ok"] and ack["error"]["code"] == "input.invalid", (bad, ack)
    finally:
        await interpreter.close()
        await judge.close()
