"""The clerk's desk in real browsers: a party offers an exhibit from the room, the judge
admits it and shows it to the hearing, keeps the minutes and pauses the recording with a
reason; the sealed record holds the ledger, the file, the minutes and the timeline."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .conftest import STAFF_PASSWORD, Server, new_page, shot
from .helpers import enter, people, sign_in_clerk, wait_remote_video

pytestmark = pytest.mark.timeout(240)

EXHIBIT = "Tenancy ledger, page 4: rent paid 1 March.\n"


def test_party_offers_an_exhibit_the_judge_admits_and_shows_it_and_keeps_minutes_and_the_clerk_replays_it(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-DESK-1", title="Lee v. Park",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge, party = new_page(browser), new_page(browser)
    try:
        enter(judge, who["judge"]["link"], room=True)
        enter(party, who["party"]["link"], room=False)
        judge.click(f"#admit-{who['party']['id']}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, who["party"]["id"])
        judge.click("#conduct-start")
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "on",
                                                                    timeout=10000)
        # the party offers an exhibit from the room; the judge's ledger shows it at once
        expect(party.locator("#minutes-panel")).to_be_hidden()
        party.fill("#exhibit-title", "Rent ledger")
        party.set_input_files("#exhibit-file", files=[{
            "name": "ledger.txt", "mimeType": "text/plain", "buffer": EXHIBIT.encode()}])
        party.click("#exhibit-offer")
        row = judge.locator("#exhibits-list li.exhibit")
        expect(row).to_have_count(1, timeout=10000)
        expect(row).to_contain_text("Rent ledger")
        expect(row).to_have_attribute("data-status", "offered")
        # the judge admits it and shows it to the hearing
        row.get_by_role("button", name="Admit").click()
        expect(row).to_have_attribute("data-status", "admitted")
        expect(party.locator("#exhibits-list li.exhibit")).to_have_attribute(
            "data-status", "admitted")
        row.get_by_role("button", name="Show to the hearing").click()
        expect(party.locator("#exhibit-view")).to_be_visible(timeout=10000)
        expect(party.locator("#exhibit-view pre")).to_have_text(EXHIBIT)
        expect(party.locator("#exhibit-view-title")).to_contain_text("Rent ledger")
        shot(party, "desk-01-party-sees-the-exhibit")
        # the judge keeps the minutes and pauses the recording with a reason
        judge.fill("#minute-text", "Exhibit X admitted without objection.")
        judge.click("#minute-add")
        expect(judge.locator("#minutes-list li")).to_have_count(1)
        expect(judge.locator("#minutes-list li")).to_contain_text("without objection")
        shot(judge, "desk-02-judge-minutes-and-ledger")
        judge.wait_for_timeout(1500)
        judge.click("#rec-pause")
        judge.fill("#rec-reason", "sidebar at the bench")
        judge.click("#rec-reason-submit")
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "paused")
        judge.wait_for_timeout(1000)
        judge.click("#rec-resume")
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "on")
        judge.wait_for_timeout(4000)
        judge.click("#conduct-adjourn")
        judge.click("#adjourn-yes")
        expect(judge.locator("#ended-card")).to_have_attribute("data-kind", "adjourned",
                                                               timeout=15000)
        assert judge.js_errors == [], judge.js_errors
        assert party.js_errors == [], party.js_errors
    except Exception:
        shot(judge, "zz-failure-desk-judge")
        shot(party, "zz-failure-desk-party")
        print(server.log())
        raise
    finally:
        judge.context.close()
        party.context.close()
    folder = server.data_dir / "records" / created["hearing_id"]
    for _ in range(100):  # the seal completes just after the pages are told
        if (folder / "seal.json").exists():
            break
        time.sleep(0.1)
    ledger = json.loads((folder / "exhibits.json").read_text())["exhibits"]
    assert [(x["title"], x["status"], x["offered_by"]) for x in ledger] == [
        ("Rent ledger", "admitted", who["party"]["id"])]
    assert (folder / "exhibits" / f"{ledger[0]['exhibit_id']}.txt").read_text() == EXHIBIT
    minutes = json.loads((folder / "minutes.json").read_text())["minutes"]
    assert [m["text"] for m in minutes] == ["Exhibit X admitted without objection."]
    line = json.loads((folder / "timeline.json").read_text())
    assert [p["reason"] for p in line["unrecorded"] if p["kind"] == "pause"] == [
        "sidebar at the bench"]
    report = json.loads(server.cli("verify", str(folder), "--json"))
    assert report["ok"] and report["sealed"], report

    # -- the clerk replays the hearing in the console's player: one lane per person
    clerk = new_page(browser, width=1360, height=1000)
    hid = created["hearing_id"]
    try:
        sign_in_clerk(clerk, server.url, STAFF_PASSWORD)
        clerk.click("#recordings-btn")
        clerk.click(f"#rec-open-{hid}")
        expect(clerk.locator("#record-detail")).to_be_visible()
        clerk.click("#rd-play-hearing")
        expect(clerk.locator("#rp")).to_be_visible()
        persons = clerk.locator("#rp-people .rp-person")
        expect(persons).to_have_count(2)
        party_lane = clerk.locator(f'.rp-person[data-participant-id="{who["party"]["id"]}"]')
        expect(party_lane).to_contain_text("Sam Party")
        # the party's camera lane is one strip with two segments (before and after the pause)
        expect(party_lane.locator('.rp-track[data-kind="video"] .rp-seg')).to_have_count(2)
        markers = clerk.locator("#rp-markers .rp-marker")
        for kind in ("session_start", "admit", "exhibit_offered", "exhibit", "exhibit_shown",
                     "minute", "recording_pause", "recording_resume"):
            expect(clerk.locator(f'#rp-markers .rp-marker[data-kind="{kind}"]')).to_have_count(1)
        pause = clerk.locator('#rp-markers .rp-marker[data-kind="recording_pause"]')
        expect(pause).to_contain_text("sidebar at the bench")
        expect(clerk.locator('#rp-marks .rp-gap-pause')).to_have_count(1)
        assert markers.count() >= 8
        # play from the start: someone's audio is heard and their lane is highlighted
        clerk.click("#rp-play")
        clerk.wait_for_function(
            "() => document.querySelectorAll('.rp-person.speaking').length === 1",
            timeout=10000)
        shot(clerk, "desk-03-clerk-player-speaking")
        clerk.click("#rp-play")
        expect(clerk.locator("#rp")).to_have_attribute("data-playing", "false")
        # jump to the pause marker: the clock is there and the lanes are in their gap
        pause.click()
        offset = float(pause.get_attribute("data-offset") or "0")
        shown = float(clerk.locator("#rp").get_attribute("data-time") or "-1")
        assert abs(shown - offset) < 0.05, (shown, offset)
        # half a second into the pause (the segment closes just after the pause event)
        clerk.fill("#rp-jump", f"00:00:{offset + 0.5:06.3f}")
        clerk.locator("#rp-jump-form button").click()
        expect(party_lane).to_have_attribute("data-gapvideo", "true")
        # jump to the resume marker and play at double speed: the second segment plays
        clerk.select_option("#rp-speed", "2")
        clerk.locator('#rp-markers .rp-marker[data-kind="recording_resume"]').click()
        clerk.click("#rp-play")
        expect(clerk.locator("#rp")).to_have_attribute("data-playing", "true")
        video = party_lane.locator("video.rp-video")
        clerk.wait_for_function(
            """(sel) => { const v = document.querySelector(sel);
                 return v && v.readyState >= 2 && !v.paused && v.videoWidth > 0
                   && v.currentTime > 0.3 && v.playbackRate === 2; }""",
            arg=f'.rp-person[data-participant-id="{who["party"]["id"]}"] video.rp-video',
            timeout=15000)
        assert "-video-0002" in (video.get_attribute("data-segment") or "")
        expect(party_lane).to_have_attribute("data-gapvideo", "false")
        start = float(clerk.locator("#rp").get_attribute("data-time") or "0")
        clerk.wait_for_timeout(500)
        later = float(clerk.locator("#rp").get_attribute("data-time") or "0")
        assert later > start + 0.7, (start, later)  # the clock runs at 2x
        shot(clerk, "desk-04-clerk-player-after-the-pause")
        # one person's continuous track, for download
        link = party_lane.locator('.rp-track[data-kind="video"] a')
        href = link.get_attribute("href") or ""
        size = clerk.evaluate("async (u) => (await (await fetch(u)).arrayBuffer()).byteLength",
                              href)
        assert size > 1000
        assert clerk.js_errors == [], clerk.js_errors
    except Exception:
        shot(clerk, "zz-failure-player")
        print(server.log())
        raise
    finally:
        clerk.context.close()
    audit = (server.data_dir / "audit.jsonl")
    if audit.exists():
        assert "player" in audit.read_text()
