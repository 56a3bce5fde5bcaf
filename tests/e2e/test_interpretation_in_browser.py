"""An interpreter publishes an interpretation channel from the page; a party's page
offers 'Listen to: floor / interpretation (language)' and plays it over a lowered floor."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from recording.verify import verify_folder

from .conftest import Server, new_page, shot
from .helpers import enter, people

pytestmark = pytest.mark.timeout(180)

AUDIOS = """() => [...document.querySelectorAll('#audio-sink audio')].map((a) => ({
  mid: a.dataset.mid, source: a.dataset.source, volume: a.volume, paused: a.paused,
  time: a.currentTime,
  live: Boolean(a.srcObject && a.srcObject.getAudioTracks()[0]
                && a.srcObject.getAudioTracks()[0].readyState === 'live')}))"""


def test_a_party_listens_to_the_interpretation_over_a_lowered_floor(server: Server,
                                                                    browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-17-I", title="Interpreted v. Case",
                                    judge="Judge Ada", party="Sam Party",
                                    interpreter="Ines Interprete")
    who = people(created)
    judge, party, interp = new_page(browser), new_page(browser), new_page(browser)
    try:
        enter(judge, who["judge"]["link"], room=True)
        enter(party, who["party"]["link"], room=False)
        enter(interp, who["interpreter"]["link"], room=False)
        judge.click(f"#admit-{who['party']['id']}")
        judge.click(f"#admit-{who['interpreter']['id']}")
        judge.click("#conduct-start")  # a court hearing records from the start
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "on",
                                                                    timeout=10000)
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(interp.locator("#screen-room")).to_be_visible(timeout=15000)
        interp.wait_for_function(
            "() => document.querySelectorAll('#audio-sink audio').length > 0", timeout=20000)
        # only the interpreter has the button; nobody is offered a choice yet
        expect(judge.locator("#interp-box")).to_be_hidden()
        expect(party.locator("#listen-box")).to_be_hidden()
        expect(interp.locator("#interp-label")).to_have_text("Interpret")
        interp.select_option("#interp-lang", "fr")
        interp.click("#interp-btn")
        expect(interp.locator("#interp-label")).to_have_text("Stop interpreting")
        expect(interp.locator("#interp-btn")).to_have_attribute("aria-pressed", "true")

        expect(party.locator("#listen-box")).to_be_visible(timeout=20000)
        expect(party.locator("#listen-select option")).to_have_text(
            ["Floor", "Interpretation (fr)"])
        # the floor is chosen first: the interpretation is silent
        audios = party.evaluate(AUDIOS)
        assert [a["volume"] for a in audios if a["source"] == "interpretation"] == [0]
        party.select_option("#listen-select", label="Interpretation (fr)")
        party.wait_for_function(
            """() => { const a = document.querySelector(
                 '#audio-sink audio[data-source="interpretation"]');
               return a && !a.paused && a.currentTime > 1 && a.volume === 1; }""",
            timeout=20000)
        audios = party.evaluate(AUDIOS)
        channel = [a for a in audios if a["source"] == "interpretation"]
        floor = [a for a in audios if a["source"] == "floor"]
        assert len(channel) == 1 and channel[0]["live"], audios
        assert floor and all(a["volume"] == pytest.approx(0.2) for a in floor), audios
        # the interpreter hears the floor and is offered no interpretation of their own
        expect(interp.locator("#listen-box")).to_be_hidden()
        assert any(a["live"] for a in interp.evaluate(AUDIOS))
        shot(party, "i17-party-listens-to-interpretation")
        shot(interp, "i17-interpreter-publishes")
        # back to the floor: the floor is at full volume again
        party.select_option("#listen-select", "floor")
        audios = party.evaluate(AUDIOS)
        assert all(a["volume"] == (0 if a["source"] == "interpretation" else 1)
                   for a in audios), audios
        assert not party.js_errors and not interp.js_errors, (party.js_errors, interp.js_errors)
        judge.click("#conduct-adjourn")
        judge.click("#adjourn-yes")
        expect(judge.locator("#screen-ended")).to_be_visible(timeout=15000)
    finally:
        for p in (interp, party, judge):
            p.context.close()
    # the interpretation is in the sealed record as its own track, labelled with its language
    folder = server.data_dir / "records" / created["hearing_id"]
    for _ in range(100):  # the seal completes just after the pages are told
        if (folder / "seal.json").exists():
            break
        time.sleep(0.1)
    assert verify_folder(folder).ok
    manifest = json.loads((folder / "manifest.json").read_text())
    channel = [e["media"] for e in manifest["entries"]
               if e.get("media") and e["media"].get("source") == "interpretation"]
    assert channel and {(m["participant_id"], m["language"]) for m in channel} == {
        (who["interpreter"]["id"], "fr")}
