"""The clerk's minutes and the hearing's timeline, through a real server, sealed into a
record that verifies."""

from __future__ import annotations

import json

from hearing_server.app import RECORDER
from hearing_server.services.timeline import minutes, timeline
from recording.verify import verify_folder
from tests.conftest import Running, connect, schedule


async def test_the_clerk_keeps_minutes_that_other_staff_see_and_the_record_seals(
        running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    clerk = await connect(running, h.tokens["clerk"])
    party = await connect(running, h.tokens["party"])
    try:
        assert (await judge.call("admit", {"participant_id": "party"}))["ok"]
        assert (await judge.call("conduct", {"action": "start"}))["ok"]
        ack = await clerk.call("minutes.add", {"text": "  Appearances taken.  "})
        assert ack["ok"], ack
        assert ack["minute"]["text"] == "Appearances taken." and ack["minute"]["by"] == "clerk"
        pushed = await judge.wait("minute")
        assert pushed["text"] == "Appearances taken."
        assert (await judge.call("recording", {"action": "pause", "reason": "sidebar"}))["ok"]
        assert (await judge.call("recording", {"action": "resume"}))["ok"]
        assert (await clerk.call("minutes.add", {"text": "证人宣誓。"}))["ok"]
        refused = await party.call("minutes.add", {"text": "I object"})
        assert not refused["ok"] and refused["error"]["code"] == "permission.denied"
        empty = await clerk.call("minutes.add", {"text": "   "})
        assert not empty["ok"] and empty["error"]["code"] == "input.invalid"
        too_long = await clerk.call("minutes.add", {"text": "x" * 2001})
        assert not too_long["ok"] and too_long["error"]["code"] == "input.invalid"
        listed = await judge.call("minutes.list")
        assert [m["text"] for m in listed["minutes"]] == ["Appearances taken.", "证人宣誓。"]
        assert not (await party.call("minutes.list"))["ok"]
        assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
        after = await clerk.call("minutes.add", {"text": "late"})
        assert not after["ok"]
    finally:
        for client in (party, clerk, judge):
            await client.close()
    folder = running.app[RECORDER].folder(h.hearing_id)
    report = verify_folder(folder)
    assert report.ok, report.render()
    names = {e["path"] for e in json.loads((folder / "manifest.json").read_text())["entries"]}
    assert {"minutes.json", "timeline.json"} <= names
    sealed = json.loads((folder / "minutes.json").read_text(encoding="utf-8"))
    assert [m["text"] for m in sealed["minutes"]] == ["Appearances taken.", "证人宣誓。"]
    line = json.loads((folder / "timeline.json").read_text(encoding="utf-8"))
    kinds = [m["kind"] for m in line["markers"]]
    assert kinds.index("session_start") < kinds.index("minute") < kinds.index(
        "recording_pause") < kinds.index("recording_resume") < kinds.index("adjourned")
    assert "admit" in kinds
    pause = [p for p in line["unrecorded"] if p["kind"] == "pause"]
    assert len(pause) == 1 and pause[0]["reason"] == "sidebar"
    assert pause[0]["from"] <= pause[0]["to"]
    assert line["start"] is not None and line["end"] >= line["start"]


def test_an_open_pause_caucus_and_an_interruption_are_unrecorded_periods() -> None:
    events = [
        {"ts": 10.0, "type": "session_started", "actor": "judge"},
        {"ts": 20.0, "type": "caucus_opened", "actor": "m", "caucus": "c1"},
        {"ts": 30.0, "type": "caucuses_closed", "actor": "m"},
        {"ts": 40.0, "type": "hearing_interrupted", "from": 35.0, "to": 40.0,
         "cause": "restart", "seconds": 5.0},
        {"ts": 50.0, "type": "recording_pause", "actor": "judge", "reason": "lunch"},
        {"ts": 60.0, "type": "minute", "actor": "clerk", "text": "adjourned for lunch"},
    ]
    line = timeline(events)
    assert line["start"] == 10.0 and line["end"] == 60.0
    assert [(p["kind"], p["from"], p["to"], p["reason"]) for p in line["unrecorded"]] == [
        ("caucus", 20.0, 30.0, "c1"), ("interruption", 35.0, 40.0, "restart"),
        ("pause", 50.0, 60.0, "lunch")]
    assert [m["kind"] for m in line["markers"]] == [
        "session_start", "caucus_open", "caucus_end", "interruption", "recording_pause",
        "minute"]
    assert minutes(events)["minutes"] == [
        {"ts": 60.0, "at": None, "by": "clerk", "text": "adjourned for lunch"}]
