"""A mediation in three browsers: joint session, a private caucus the relay keeps
private, everyone back, settlement terms published, confirmed and downloaded.

Debian's Chromium with a fake camera and microphone; the real server in a subprocess.
Screenshots of every state land in artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Server, new_page, shot
from .helpers import enter, packets_received, wait_remote_video

pytestmark = pytest.mark.timeout(360)

TERMS_V1 = "1. The respondent pays the claimant 4,000 in two instalments.\n2. Each side bears its own costs."
TERMS_V2 = TERMS_V1 + "\n3. The claim is withdrawn once the second instalment is paid."

TRACKS_OF = """(pids) => Object.values(window.hearingApp.media.tracks || {})
  .filter((w) => w && pids.includes(w.participant_id)).length"""


def test_mediation_caucus_keeps_media_private_and_parties_confirm_terms(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="MED-12", title="Able v. Baker",
                                    kind="mediation", mediator="Mia Mediator",
                                    party=["Ann Able", "Bob Baker"])
    byname = {p["name"]: p for p in created["participants"]}
    med_id = byname["Mia Mediator"]["id"]
    ann_id, bob_id = byname["Ann Able"]["id"], byname["Bob Baker"]["id"]
    med = new_page(browser, width=1360, height=900)
    ann = new_page(browser)
    bob = new_page(browser)
    pages = {"mediator": med, "ann": ann, "bob": bob}
    try:
        # -- the mediator enters directly; the parties wait and are admitted
        enter(med, byname["Mia Mediator"]["link"], room=True)
        expect(med.locator("#caucus-panel")).to_be_visible()
        expect(med.locator("#room-where")).to_have_attribute("data-room", "main")
        expect(med.locator("#recording-badge")).to_have_attribute("data-recording", "off")
        enter(ann, byname["Ann Able"]["link"], room=False)
        enter(bob, byname["Bob Baker"]["link"], room=False)
        med.click(f"#admit-{ann_id}")
        med.click(f"#admit-{bob_id}")
        for page in (ann, bob):
            expect(page.locator("#screen-room")).to_be_visible(timeout=15000)
            expect(page.locator("#room-where")).to_have_attribute("data-room", "main")
            expect(page.locator("#room-where-text")).to_contain_text("joint session")
            expect(page.locator("#caucus-panel")).to_be_hidden()
            expect(page.locator("#settlement-panel")).to_be_visible()

        # -- joint session: everyone sees everyone
        for page, others in ((med, (ann_id, bob_id)), (ann, (med_id, bob_id)),
                             (bob, (med_id, ann_id))):
            for pid in others:
                wait_remote_video(page, pid)
        shot(med, "60-mediator-joint-session")

        # -- the mediator opens a caucus with Ann and goes in
        med.fill("#caucus-name", "Ann's side")
        med.check(f"#caucus-pick-{ann_id}")
        expect(med.locator("#caucus-join-self")).to_be_checked()
        med.click("#caucus-open-btn")
        for page in (med, ann):
            expect(page.locator("#room-where")).to_have_attribute("data-room", "caucus")
            expect(page.locator("#room-where-text")).to_contain_text("Ann's side")
            expect(page.locator("#room-where-text")).to_contain_text("never recorded")
        expect(bob.locator("#room-where")).to_have_attribute("data-room", "main")
        expect(bob.locator("#room-where-away")).to_be_visible()
        expect(bob.locator("#room-where-away")).to_have_text(
            "The mediator is in a private session.")
        expect(ann.locator("#room-where-away")).to_be_hidden()

        # -- Bob's page no longer shows Ann or the mediator, and receives nothing from them
        for pid in (ann_id, med_id):
            expect(bob.locator(f'.tile[data-key="cam:{pid}"]')).to_have_count(0)
        expect(ann.locator(f'.tile[data-key="cam:{bob_id}"]')).to_have_count(0)
        bob.wait_for_function(f"(pids) => ({TRACKS_OF})(pids) === 0", arg=[ann_id, med_id],
                              timeout=10000)
        bob.wait_for_timeout(1000)  # packets already in flight
        assert packets_received(bob, 2500) == 0, "Bob still receives media from the caucus"
        # ... while Ann and the mediator see each other, frames advancing
        wait_remote_video(ann, med_id)
        wait_remote_video(med, ann_id)
        expect(med.locator(f'#caucus-rooms [data-room="main"] [data-participant-id="{bob_id}"]')
               ).to_be_visible()
        med.locator("#caucus-rooms").scroll_into_view_if_needed()
        shot(med, "61-mediator-in-caucus")
        shot(ann, "62-party-in-caucus")
        shot(bob, "63-party-mediator-away")

        # -- everyone back to the joint session: all see each other again
        med.click("#caucus-end")
        for page in (med, ann, bob):
            expect(page.locator("#room-where")).to_have_attribute("data-room", "main")
        expect(bob.locator("#room-where-away")).to_be_hidden()
        for page, others in ((bob, (med_id, ann_id)), (ann, (bob_id,)), (med, (bob_id,))):
            for pid in others:
                wait_remote_video(page, pid)
        assert packets_received(bob, 1500) > 0

        # -- the mediator publishes terms; the parties see them
        expect(ann.locator("#settlement-none")).to_contain_text("not published")
        med.fill("#settlement-text", TERMS_V1)
        med.click("#settlement-publish")
        expect(med.locator("#settlement-draft-status")).to_contain_text("published")
        expect(med.locator("#settlement-publish")).to_be_disabled()
        for page in (ann, bob):
            expect(page.locator("#settlement-terms")).to_have_text(TERMS_V1)
            expect(page.locator("#settlement-confirm-form")).to_be_visible()

        # -- Ann: a wrong name and a missing tick are explained
        ann.fill("#settlement-name", "Anne Abel")
        ann.check("#settlement-agree")
        ann.click("#settlement-confirm")
        expect(ann.locator("#settlement-status")).to_have_attribute("data-kind", "error")
        expect(ann.locator("#settlement-status")).to_contain_text("does not match")
        ann.fill("#settlement-name", "Ann Able")
        ann.uncheck("#settlement-agree")
        ann.click("#settlement-confirm")
        expect(ann.locator("#settlement-status")).to_contain_text("Tick the box")
        ann.check("#settlement-agree")

        # -- the mediator changes the terms before Ann confirms: she is told to read again
        med.fill("#settlement-text", TERMS_V2)
        med.click("#settlement-publish")
        expect(ann.locator("#settlement-terms")).to_have_text(TERMS_V2)
        expect(ann.locator("#settlement-status")).to_contain_text("The terms changed")
        expect(ann.locator("#settlement-agree")).not_to_be_checked()
        ann.locator("#settlement-status").scroll_into_view_if_needed()
        shot(ann, "64-party-terms-changed")
        # a stale confirmation (the old terms' hash) is refused by the server
        stale = ann.evaluate("""async (text) => {
          const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
          const sha = Array.from(new Uint8Array(digest))
            .map((b) => b.toString(16).padStart(2, '0')).join('');
          return window.hearingApp.emit('settlement.confirm',
            {sha256: sha, typed_name: 'Ann Able', confirm: true});
        }""", TERMS_V1)
        assert stale["ok"] is False and stale["error"]["code"] == "settlement.changed", stale

        # -- both parties confirm the current terms
        ann.check("#settlement-agree")
        ann.click("#settlement-confirm")
        expect(ann.locator("#settlement-done")).to_contain_text("You confirmed")
        bob.fill("#settlement-name", "bob  baker")  # case and spacing do not matter
        bob.check("#settlement-agree")
        bob.locator("#settlement-confirm").scroll_into_view_if_needed()
        shot(bob, "65-party-confirming")
        bob.click("#settlement-confirm")
        expect(bob.locator("#settlement-done")).to_be_visible()
        confirmed = med.locator("#settlement-confirmations li[data-confirmed='true']")
        expect(confirmed).to_have_count(2)
        expect(med.locator(f"#settlement-confirmations li[data-participant-id='{ann_id}']")
               ).to_contain_text("confirmed")
        expect(bob.locator("#settlement-confirmations li[data-confirmed='true']")).to_have_count(2)
        med.locator("#settlement-confirmations").scroll_into_view_if_needed()
        shot(med, "66-mediator-both-confirmed")

        # -- a party downloads the confirmed text
        with ann.expect_download() as dl:
            ann.click("#settlement-download")
        assert dl.value.suggested_filename.endswith(".txt")
        assert Path(dl.value.path()).read_text(encoding="utf-8") == TERMS_V2
        ann.locator("#settlement-done").scroll_into_view_if_needed()
        shot(ann, "67-party-confirmed")

        # -- the mediator's page in Chinese
        med.select_option("#lang-select", "zh-CN")
        expect(med.locator("#caucus-heading")).to_have_text("联席会议与单独会谈")
        expect(med.locator("#room-where-text")).to_contain_text("联席会议")
        shot(med, "68-mediator-zh-CN")
        med.select_option("#lang-select", "en")

        # -- adjourn
        med.click("#conduct-adjourn")
        med.click("#adjourn-yes")
        for page in (med, ann, bob):
            expect(page.locator("#ended-card")).to_have_attribute("data-kind", "adjourned",
                                                                  timeout=15000)
        for name, page in pages.items():
            assert page.js_errors == [], (name, page.js_errors)
    except Exception:
        for name, page in pages.items():
            shot(page, f"zz-failure-mediation-{name}")
        print(server.log())
        raise
    finally:
        for page in pages.values():
            page.context.close()
