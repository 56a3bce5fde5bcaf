"""A hearing is recorded through the relay; the clerk finds, plays, verifies, exports the
record and makes the composite viewing copy in the console.

Debian's Chromium with a fake camera and microphone; the real server in a subprocess.
Screenshots of every state land in artifacts/screenshots/.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import STAFF_PASSWORD, Server, new_page, shot
from .helpers import MEDIA_PLAYING, enter, people, sign_in_clerk, wait_remote_video

pytestmark = pytest.mark.timeout(300)


def record_a_hearing(server: Server, browser: Any) -> dict[str, Any]:
    """Judge and party, admitted, in session (recording on) for a few seconds, adjourned."""
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-REC-7", title="Rivera v. Chen",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge = new_page(browser)
    party = new_page(browser)
    try:
        enter(judge, who["judge"]["link"], room=True)
        enter(party, who["party"]["link"], room=False)
        judge.click(f"#admit-{who['party']['id']}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(party, who["judge"]["id"])
        wait_remote_video(judge, who["party"]["id"])
        judge.click("#conduct-start")
        # a court hearing starts recording with the session
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "on",
                                                                    timeout=10000)
        expect(party.locator("#recording-badge")).to_have_attribute("data-recording", "on")
        judge.wait_for_timeout(3500)
        judge.click("#conduct-adjourn")
        judge.click("#adjourn-yes")
        for page in (judge, party):
            expect(page.locator("#ended-card")).to_have_attribute("data-kind", "adjourned",
                                                                  timeout=15000)
        assert judge.js_errors == [], judge.js_errors
        assert party.js_errors == [], party.js_errors
    except Exception:
        shot(judge, "zz-failure-rec-judge")
        shot(party, "zz-failure-rec-party")
        print(server.log())
        raise
    finally:
        judge.context.close()
        party.context.close()
    return created


def test_clerk_finds_plays_verifies_exports_and_composites_a_recording(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = record_a_hearing(server, browser)
    hid = created["hearing_id"]
    who = people(created)
    clerk = new_page(browser, width=1360, height=900)
    try:
        sign_in_clerk(clerk, server.url, STAFF_PASSWORD)

        # -- the hearing's own panel points at its sealed record
        clerk.click(f'#hearing-list [data-hearing-id="{hid}"]')
        expect(clerk.locator("#hp-record-badge")).to_have_attribute("data-sealed", "true")
        expect(clerk.locator("#hp-open-record")).to_be_visible()

        # -- search by case number, then by a wrong date (nothing), then all
        clerk.click("#recordings-btn")
        expect(clerk.locator("#records-panel")).to_be_visible()
        clerk.fill("#rec-search-case", "C-REC-7")
        clerk.click("#rec-search-submit")
        row = clerk.locator(f'#rec-results-body tr[data-hearing-id="{hid}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("Rivera v. Chen")
        expect(row.locator(".badge")).to_have_attribute("data-sealed", "true")
        expect(clerk.locator("#rec-results-body tr")).to_have_count(1)
        clerk.fill("#rec-search-case", "")
        clerk.fill("#rec-search-date", "1999-01-01")
        clerk.click("#rec-search-submit")
        expect(clerk.locator("#rec-results-empty")).to_contain_text("No record matches")
        clerk.click("#rec-search-clear")
        expect(row).to_be_visible()
        shot(clerk, "50-console-records-search")

        # -- open it: sealed, four tracks (judge and party, audio and video), attendance
        clerk.click(f"#rec-open-{hid}")
        expect(clerk.locator("#record-detail")).to_be_visible()
        expect(clerk.locator("#rd-sealed")).to_have_attribute("data-sealed", "true")
        tracks = clerk.locator("#rd-tracks-body tr")
        expect(tracks).to_have_count(4)
        for pid in (who["judge"]["id"], who["party"]["id"]):
            for kind in ("audio", "video"):
                expect(clerk.locator(f'#rd-tracks-body tr[data-participant-id="{pid}"]'
                                     f'[data-kind="{kind}"]')).to_have_count(1)
        video_row = clerk.locator(
            f'#rd-tracks-body tr[data-participant-id="{who["party"]["id"]}"][data-kind="video"]')
        expect(video_row).to_contain_text("Sam Party")
        expect(video_row).to_contain_text("VP8")
        audio_row = clerk.locator(
            f'#rd-tracks-body tr[data-participant-id="{who["judge"]["id"]}"][data-kind="audio"]')
        expect(audio_row).to_contain_text("OPUS")
        att = clerk.locator("#rd-attendance-body tr")
        expect(att).to_have_count(2)
        expect(clerk.locator("#rd-attendance-body")).to_contain_text("Judge Ada")
        expect(clerk.locator("#rd-files-body")).to_contain_text("attendance.json")

        # -- the manifest's field names are what the page reads
        manifest = clerk.evaluate(
            "async (id) => (await fetch(`/api/v1/recordings/${id}/manifest`)).json()", hid)
        media = [e for e in manifest["entries"] if e.get("media")]
        assert len(media) == 4, json.dumps(manifest, indent=1)[:2000]
        for e in media:
            assert {"participant_id", "participant_name", "role", "kind", "codec", "start",
                    "duration", "recovered"} <= set(e["media"]), e
            assert e["media"]["duration"] > 2, e

        # -- play the party's video track in the page
        video_row.locator("button[id^='rd-play-']").click()
        expect(clerk.locator("#rd-player")).to_be_visible()
        expect(clerk.locator("#rd-player-title")).to_contain_text("Sam Party")
        clerk.wait_for_function(
            "() => { const v = document.querySelector('#rd-player-video');"
            " return v.readyState >= 2 && v.videoWidth > 0; }", timeout=15000)
        stats = clerk.evaluate(MEDIA_PLAYING, ["#rd-player-video", 700])
        assert stats is not None and stats["width"] > 0, stats
        assert stats["after"] > stats["before"] or stats["ended"], stats
        assert stats["duration"] > 2, stats
        clerk.evaluate("() => window.scrollTo(0, 0)")
        shot(clerk, "51-console-record-playing-track")

        # -- and the judge's audio track
        audio_row.locator("button[id^='rd-play-']").click()
        expect(clerk.locator("#rd-player-video")).to_be_hidden()
        clerk.wait_for_function(
            "() => document.querySelector('#rd-player-audio').readyState >= 2", timeout=15000)
        stats = clerk.evaluate(MEDIA_PLAYING, ["#rd-player-audio", 700])
        assert stats is not None and (stats["after"] > stats["before"] or stats["ended"]), stats
        clerk.click("#rd-player-close")
        expect(clerk.locator("#rd-player")).to_be_hidden()

        # -- a single file downloads as an attachment
        with clerk.expect_download() as dl:
            audio_row.locator("a[id^='rd-download-']").click()
        assert Path(dl.value.path()).stat().st_size > 1000

        # -- verify: OK
        clerk.click("#rd-verify")
        result = clerk.locator("#rd-verify-result")
        expect(result).to_have_attribute("data-ok", "true", timeout=20000)
        expect(result).to_contain_text("Verified")

        # -- export the bundle: a zip with the manifest and every file
        with clerk.expect_download() as dl:
            clerk.click("#rd-export")
        assert dl.value.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())) as bundle:
            names = bundle.namelist()
        assert any(n.endswith("manifest.json") for n in names), names
        assert sum(1 for e in manifest["entries"]
                   if any(n.endswith(e["path"]) for n in names)) == len(manifest["entries"])

        # -- the composite viewing copy: a progress bar, then it plays
        clerk.click("#rd-composite-start")
        box = clerk.locator("#rd-composite")
        expect(box).to_be_visible()
        try:
            expect(box).to_have_attribute("data-state", "running", timeout=3000)
            clerk.evaluate("() => window.scrollTo(0, 0)")
            shot(clerk, "52-console-composite-running")
        except AssertionError:
            pass  # a short hearing may render before the first poll
        expect(box).to_have_attribute("data-state", "done", timeout=180000)
        expect(clerk.locator("#rd-composite-text")).to_contain_text("ready")
        clerk.wait_for_function(
            "() => { const v = document.querySelector('#rd-composite-video');"
            " return !v.hidden && v.readyState >= 1 && v.videoWidth > 0; }", timeout=30000)
        clerk.evaluate("() => document.querySelector('#rd-composite-video').play()")
        clerk.wait_for_function(
            "() => document.querySelector('#rd-composite-video').currentTime > 0.3",
            timeout=20000)
        clerk.evaluate("() => document.querySelector('#rd-composite-video').pause()")
        clerk.evaluate("() => window.scrollTo(0, 0)")  # the sticky list stays at the top
        shot(clerk, "53-console-composite-done")

        # -- the same in Chinese
        clerk.select_option("#lang-select", "zh-CN")
        expect(clerk.locator("#rd-verify")).to_have_text("校验")
        expect(clerk.locator("#rd-sealed")).to_have_text("已封存")
        shot(clerk, "54-console-record-zh-CN")
        clerk.select_option("#lang-select", "en")
        assert clerk.js_errors == [], clerk.js_errors
    except Exception:
        shot(clerk, "zz-failure-records-clerk")
        print(server.log())
        raise
    finally:
        clerk.context.close()
