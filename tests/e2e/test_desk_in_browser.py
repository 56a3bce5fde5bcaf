"""The clerk's desk in real browsers: a party offers an exhibit from the room, the judge
admits it and shows it to the hearing, keeps the minutes and pauses the recording with a
reason; the sealed record holds the ledger, the file, the minutes and the timeline."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .conftest import Server, new_page, shot
from .helpers import enter, people, wait_remote_video

pytestmark = pytest.mark.timeout(240)

EXHIBIT = "Tenancy ledger, page 4: rent paid 1 March.\n"


def test_party_offers_an_exhibit_the_judge_admits_and_shows_it_and_keeps_minutes(
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
        judge.wait_for_timeout(1500)
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
