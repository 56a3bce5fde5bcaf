"""A court day in real browsers (issue 14, "Done when").

The clerk schedules a hearing three weeks ahead in the console (a party's page language
set to Chinese), prints the notice; on the day everyone uses the links issued then: the
judge, the clerk, two parties (one on a phone in another time zone, one who refuses the
camera and speaks by sound only), counsel, a witness (held in the lobby of the locked
hearing, admitted, sent back to the waiting room, recalled), an interpreter and two
observers (let in with "admit all"). The audio-only party shares a document on screen
once the court allows it; the judge adjourns; the clerk closes a second hearing nobody
adjourned. A link that no longer works names the court and its contact line, in the
court's language for a browser whose language the pages do not speak.

One Chromium (no fake-UI flag, so a device a context does not grant is refused), one
context per person on a page; the clerk in the room, counsel, the interpreter and the
second observer join over socket.io (``SocketGuests``) to spare the two-core machine.
Headless Chromium has no screen to pick without the fake-UI flag (which would also grant
the refused camera), so the sharer's screen picker hands over a drawn canvas instead;
the court's approval, the publish, the relay and the other pages are the real ones.

Screenshots of every step: ``artifacts/court-day/``. axe-core runs on every page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.when import soon

from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    STAFF_PASSWORD,
    Server,
    start_server,
    stop_server,
)
from .helpers import sign_in_clerk, wait_remote_video
from .test_court_in_browser import SocketGuests, serious_axe_findings

pytestmark = pytest.mark.timeout(300)

SHOTS = ROOT / "artifacts" / "court-day"
COURT = "Example District Court"
CONTACT = "Clerk's office, +1 555 0100, clerk@court.example"

FAKE_SCREEN = """(() => {
  navigator.mediaDevices.getDisplayMedia = async () => {
    const c = document.createElement("canvas");
    c.width = 960; c.height = 540;
    const g = c.getContext("2d");
    let n = 0;
    const draw = () => {
      g.fillStyle = "#f4f1e8"; g.fillRect(0, 0, 960, 540);
      g.fillStyle = "#1d3557"; g.font = "bold 44px sans-serif";
      g.fillText("Exhibit P-1: Lease agreement", 60, 120);
      g.font = "28px sans-serif";
      g.fillText("Clause 7. The landlord repairs the roof.", 60, 200);
      g.fillText(`page 3 of 12 (${n++ % 100})`, 60, 480);
    };
    draw();
    setInterval(draw, 100);
    return c.captureStream(10);
  };
})();"""


@pytest.fixture(scope="module")
def court(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("court-day")
    srv = start_server(base / "data", base / "server.log", env={
        "HEARING_COURT_NAME": COURT, "HEARING_COURT_CONTACT": CONTACT,
        "HEARING_DEFAULT_LANGUAGE": "zh-CN"})
    try:
        srv.cli("staff", "add", "clerk1", "--role", "clerk", "--name", "Clara Clerk",
                "--password", STAFF_PASSWORD)
        srv.clerks.append("clerk1")
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():  # never skip: the test command installs it
        pytest.fail(f"no Chromium at {CHROMIUM}: run ./scripts/test.sh, which installs it")
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


def person(browser: Any, permissions: list[str], *, locale: str = "en-GB",
           timezone: str = "UTC", width: int = 1280, height: int = 800,
           init: str = "") -> Any:
    context = browser.new_context(locale=locale, timezone_id=timezone,
                                  viewport={"width": width, "height": height},
                                  permissions=permissions, bypass_csp=True)
    if init:
        context.add_init_script(init)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def snap(page: Any, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def row_action(judge: Any, pid: str, action: str) -> None:
    """Click one of a participant's actions in the judge's panel (a full room shows them
    one person at a time, behind the row)."""
    toggle = judge.locator(f"#actions-{pid}")
    if toggle.count() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    judge.click(f"#{action}-{pid}")


def check_devices(page: Any, state: str = "ok") -> None:
    from playwright.sync_api import expect

    page.click("#dc-start")
    expect(page.locator("#device-check")).to_have_attribute("data-state", state,
                                                            timeout=15000)


def three_weeks_ahead() -> datetime:
    day = (datetime.now(UTC) + timedelta(days=21)).date()
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def test_a_court_day_from_the_clerks_schedule_to_the_sealed_records(
        court: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    axe: dict[str, list[str]] = {}
    when = three_weeks_ahead()
    people = [("Judge Ada", "judge", ""), ("Clara Clerk", "clerk", ""),
              ("Li Wei", "party", "zh-CN"), ("Sam Sound", "party", ""),
              ("Cy Counsel", "counsel", ""), ("Wes Witness", "witness", ""),
              ("Ivo Interpreter", "interpreter", ""), ("Obi Observer", "observer", ""),
              ("Ola Observer", "observer", "")]
    # the second hearing of the day, which nobody will adjourn
    idle = json.loads(court.cli("hearing", "create", "--case-number", "C-DAY-2", "--title",
                                "Idle v. Nobody", "--at", soon(), "--judge", "Judge Ada",
                                "--party", "Pat Party", "--assign-clerk", "clerk1"))
    clerk = person(browser, [], width=1360, height=900)
    pages: list[Any] = [clerk]
    guests = SocketGuests(court.url)
    try:
        # -- 1. the clerk schedules the hearing three weeks ahead, Li Wei's page in Chinese
        clerk.goto(court.url + "/console")
        expect(clerk.locator("#screen-signin")).to_be_visible()
        axe["console, sign-in"] = serious_axe_findings(clerk)
        sign_in_clerk(clerk, court.url, STAFF_PASSWORD)
        clerk.click("#new-hearing-btn")
        clerk.fill("#f-case", "C-DAY-1")
        clerk.fill("#f-title", "Li v. Acme Housing")
        clerk.fill("#f-when", when.strftime("%Y-%m-%dT%H:%M"))
        rows = clerk.locator("#participant-rows .participant-row")
        for i, (name, role, language) in enumerate(people):
            if i >= rows.count():
                clerk.click("#add-participant")
            row = rows.nth(i)
            row.locator(".p-name").fill(name)
            row.locator(".p-role").select_option(role)
            row.locator(".p-lang").select_option(language)
        axe["console, schedule form"] = serious_axe_findings(clerk)
        snap(clerk, "01-clerk-schedules-three-weeks-ahead", full=True)
        clerk.click("#schedule-submit")
        expect(clerk.locator("#console-status")).to_contain_text("C-DAY-1")
        body = clerk.locator("#service-body")
        expect(body.locator("tr[data-participant-id]")).to_have_count(len(people))
        ids = {name: body.locator("tr", has_text=name).get_attribute("data-participant-id")
               for name, _, _ in people}
        link = {name: clerk.locator(f"#link-{pid}").input_value() for name, pid in ids.items()}
        assert all(u.startswith(court.url + "/join#") for u in link.values()), link
        expect(body.locator("tr", has_text="Li Wei").locator(".person-lang")).to_have_text(
            "简体中文")
        # the printed notice names the court, its contact line and Li Wei's language
        clerk.evaluate("window.print = () => { window.printed = true; }")
        clerk.click("#links-print")
        sheet = clerk.locator("#print-links")
        expect(sheet).to_contain_text(COURT)
        expect(sheet).to_contain_text(CONTACT)
        expect(sheet).to_contain_text("Page language: 简体中文")
        clerk.emulate_media(media="print")
        snap(clerk, "02-clerk-printed-notice", full=True)
        clerk.emulate_media(media="screen")
        clerk.evaluate("document.body.classList.remove('printing-links')")
        axe["console, hearing"] = serious_axe_findings(clerk)
        snap(clerk, "03-clerk-hearing-links", full=True)

        # -- 2. on a phone in Shanghai (an English browser), early: the page speaks the
        #       language the clerk chose and says when the hearing is, in local time
        li = person(browser, ["camera", "microphone"], locale="en-US",
                    timezone="Asia/Shanghai", width=390, height=844)
        pages.append(li)
        li.goto(link["Li Wei"])
        expect(li.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(li.locator("#prejoin-title")).to_have_text("进入前的准备")
        expect(li.locator("#court-name")).to_have_text(COURT)
        # she may still switch, and back
        li.select_option("#lang-select", "en")
        expect(li.locator("#prejoin-title")).to_have_text("Before you enter")
        li.select_option("#lang-select", "zh-CN")
        expect(li.locator("#prejoin-title")).to_have_text("进入前的准备")
        check_devices(li)
        expect(li.locator("#enter-btn")).to_be_in_viewport()
        axe["phone prejoin"] = serious_axe_findings(li)
        snap(li, "04-phone-prejoin-chinese")
        li.click("#enter-btn")
        expect(li.locator("#screen-lobby")).to_be_visible(timeout=15000)
        local = when + timedelta(hours=8)
        early = li.locator("#lobby-early")
        expect(early).to_be_visible()
        expect(early).to_contain_text(f"{local.year}年{local.month}月{local.day}日")
        expect(early).to_contain_text(local.strftime("%H:%M"))
        expect(early).to_contain_text("GMT+8")
        expect(early).to_contain_text("21天后")
        expect(li.locator("#lobby-when")).to_contain_text(local.strftime("%H:%M"))
        axe["phone early lobby"] = serious_axe_findings(li)
        snap(li, "05-phone-early-lobby-says-when")

        # -- 3. the judge opens the room; the camera-refusing party enters with sound only
        judge = person(browser, ["camera", "microphone"])
        pages.append(judge)
        judge.goto(link["Judge Ada"])
        check_devices(judge)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(judge.locator(f"#admit-{ids['Li Wei']}")).to_be_visible()
        sam = person(browser, ["microphone"], init=FAKE_SCREEN)
        pages.append(sam)
        sam.goto(link["Sam Sound"])
        check_devices(sam, "partial")
        expect(sam.locator('#dc-messages [data-key="dc.audio_only"]')).to_be_visible()
        axe["device check, camera refused"] = serious_axe_findings(sam)
        snap(sam, "06-party-camera-refused-sound-only", full=True)
        sam.click("#enter-btn")
        expect(sam.locator("#screen-lobby")).to_be_visible(timeout=15000)
        # the clerk enters directly; counsel and the interpreter wait with the parties
        guests.join(link["Clara Clerk"])
        guests.join(link["Cy Counsel"])
        guests.join(link["Ivo Interpreter"])
        for name in ("Li Wei", "Sam Sound", "Cy Counsel", "Ivo Interpreter"):
            judge.click(f"#admit-{ids[name]}")
            expect(judge.locator(f'#mod-people [data-participant-id="{ids[name]}"]')
                   ).to_be_visible()
        expect(li.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(sam.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click("#conduct-start")
        expect(judge.locator("#phase-badge")).to_have_attribute("data-phase", "in_session")
        wait_remote_video(judge, ids["Li Wei"])
        wait_remote_video(li, ids["Judge Ada"])
        judge.wait_for_function(
            "() => document.querySelectorAll('#audio-sink audio').length > 0", timeout=20000)
        snap(judge, "07-judge-room-in-session")
        snap(li, "08-phone-room-in-session")

        # -- 4. the witness: held while the hearing is locked, admitted, sent back, recalled
        judge.click("#lock-toggle")
        expect(judge.locator("#lock-badge")).to_be_visible()
        wes = person(browser, ["camera", "microphone"])
        pages.append(wes)
        wes.goto(link["Wes Witness"])
        check_devices(wes)
        wes.click("#enter-btn")
        expect(wes.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(wes.locator("#lobby-phase")).to_contain_text("The court knows you are waiting")
        expect(judge.locator("#lobby-alert")).to_have_text("Wes Witness is waiting in the lobby.")
        axe["witness held, locked"] = serious_axe_findings(wes)
        snap(wes, "09-witness-held-hearing-locked")
        snap(judge, "10-judge-told-witness-waiting")
        judge.click(f"#admit-{ids['Wes Witness']}")
        expect(wes.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, ids["Wes Witness"])
        row_action(judge, ids["Wes Witness"], "to-lobby")
        expect(wes.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(wes.locator("#lobby-phase")).to_contain_text("sent you back to the lobby")
        axe["witness sent back"] = serious_axe_findings(wes)
        snap(wes, "11-witness-sent-back")
        judge.click(f"#admit-{ids['Wes Witness']}")
        expect(wes.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(wes, ids["Judge Ada"])
        wait_remote_video(judge, ids["Wes Witness"])
        expect(judge.locator("#lock-toggle")).to_be_checked()
        judge.click("#lock-toggle")
        expect(judge.locator("#lock-badge")).to_be_hidden()
        snap(wes, "12-witness-recalled")

        # -- 5. the public gallery: two observers, let in at once
        obi = person(browser, [])
        pages.append(obi)
        obi.goto(link["Obi Observer"])
        expect(obi.locator("#dc-observer")).to_be_visible()
        obi.click("#enter-btn")
        expect(obi.locator("#screen-lobby")).to_be_visible(timeout=15000)
        guests.join(link["Ola Observer"])
        expect(judge.locator("#lobby-list [data-participant-id]")).to_have_count(2)
        expect(judge.locator("#admit-all")).to_be_visible()
        axe["judge room, gallery waiting"] = serious_axe_findings(judge)
        snap(judge, "13-judge-gallery-waiting")
        judge.click("#admit-all")
        expect(judge.locator("#mod-status")).to_contain_text("Admitted 2 people")
        expect(judge.locator("#lobby-list [data-participant-id]")).to_have_count(0)
        expect(judge.locator("#mod-people [data-participant-id]")).to_have_count(8)
        expect(obi.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(obi, ids["Judge Ada"])
        axe["observer room"] = serious_axe_findings(obi)
        snap(obi, "14-observer-in-the-gallery")
        snap(judge, "15-judge-full-room")

        # -- 6. a document on screen, with the court's leave
        sam_id = ids["Sam Sound"]
        expect(sam.locator("#screen-btn")).to_be_disabled()
        expect(sam.locator("#screen-label")).to_have_text("Screen share: ask the court")
        row_action(judge, sam_id, "allow-screen")
        expect(sam.locator("#notice-screen-control")).to_contain_text("allows you")
        sam.click("#screen-btn")
        expect(sam.locator("#screen-btn")).to_have_class("ctl is-active")
        wait_remote_video(judge, sam_id, "screen")
        wait_remote_video(obi, sam_id, "screen")
        wait_remote_video(li, sam_id, "screen")
        axe["party room, sharing"] = serious_axe_findings(sam)
        snap(judge, "16-judge-sees-the-shared-document")
        snap(li, "17-phone-sees-the-shared-document")
        snap(sam, "18-party-shares-sound-only")
        row_action(judge, sam_id, "stop-screen")
        expect(sam.locator("#notice-screen-control")).to_contain_text("stopped your screen")
        expect(judge.locator(f'.tile[data-key="scr:{sam_id}"]')).to_have_count(0,
                                                                           timeout=10000)
        axe["judge room, full"] = serious_axe_findings(judge)
        axe["phone room"] = serious_axe_findings(li)

        # -- 7. adjourned: every page says so, with the court's contact line
        judge.click("#conduct-adjourn")
        expect(judge.locator("#adjourn-confirm")).to_be_visible()
        judge.click("#adjourn-yes")
        for page in (judge, li, sam, wes, obi):
            expect(page.locator("#ended-card")).to_have_attribute("data-kind", "adjourned",
                                                                  timeout=15000)
        expect(sam.locator("#ended-contact")).to_have_text(f"Questions? Contact {COURT}:{CONTACT}")
        expect(li.locator("#ended-contact")).to_contain_text(CONTACT)
        expect(li.locator("#ended-title")).to_have_text("本次庭审已闭庭")
        axe["ended, adjourned (phone)"] = serious_axe_findings(li)
        snap(li, "19-phone-adjourned")
        snap(sam, "20-party-adjourned")

        # -- 8. the clerk closes the hearing nobody adjourned; both records are sealed
        clerk.click(f'#hearing-list [data-hearing-id="{idle["hearing_id"]}"]')
        pat = next(p for p in idle["participants"] if p["role"] == "party")
        clerk.click(f"#reissue-{pat['id']}")  # Pat's first link stops working
        clerk.click(f"#reissue-yes-{pat['id']}")
        expect(clerk.locator(f"#link-{pat['id']}")).not_to_have_value(pat["link"])
        clerk.click("#hp-close")
        expect(clerk.locator("#close-no")).to_be_focused()
        clerk.click("#close-yes")
        expect(clerk.locator("#console-status")).to_have_text(
            "The hearing was closed and its record sealed.")
        expect(clerk.locator("#hp-record-badge")).to_have_attribute("data-sealed", "true",
                                                                    timeout=15000)
        expect(clerk.locator("#hp-status")).to_have_text("Adjourned")
        axe["console, closed hearing"] = serious_axe_findings(clerk)
        snap(clerk, "21-clerk-closed-the-idle-hearing", full=True)
        clerk.locator("#hearing-list [data-hearing-id]", has_text="C-DAY-1").click()
        expect(clerk.locator("#hp-phase")).to_contain_text("Adjourned")
        expect(clerk.locator("#hp-record-badge")).to_have_attribute("data-sealed", "true",
                                                                    timeout=15000)
        snap(clerk, "22-clerk-sees-the-day-hearing-sealed", full=True)

        # -- 9. links that no longer work name the court and its contact line; a French
        #       browser gets the court's language (the pages speak no French)
        late = person(browser, [], locale="fr-FR")
        pages.append(late)
        late.goto(pat["link"])
        expect(late.locator("#ended-card")).to_have_attribute("data-code", "token.revoked",
                                                              timeout=15000)
        expect(late.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(late.locator("#ended-contact")).to_have_text(
            f"如有疑问\uff0c请联系{COURT}\uff1a{CONTACT}")
        expect(late.locator("#court-name")).to_have_text(COURT)
        axe["refused, link replaced"] = serious_axe_findings(late)
        snap(late, "23-replaced-link-names-the-court")
        # the hearing is over: its link says so at once, with the contact line
        late.goto("about:blank")
        late.goto(link["Ola Observer"])
        expect(late.locator("#ended-card")).to_have_attribute("data-kind", "over",
                                                              timeout=15000)
        expect(late.locator("#ended-contact")).to_contain_text(CONTACT)
        expect(late.locator("#screen-prejoin")).to_be_hidden()
        axe["hearing over"] = serious_axe_findings(late)
        snap(late, "24-hearing-over-names-the-court")
        late.goto("about:blank")
        late.goto(court.url + "/join#not-a-token")
        expect(late.locator("#ended-card")).to_have_attribute("data-kind", "refused")
        expect(late.locator("#ended-contact")).to_contain_text(CONTACT)
        snap(late, "25-bad-link-names-the-court")

        assert all(not v for v in axe.values()), {k: v for k, v in axe.items() if v}
        for page in pages:
            assert page.js_errors == [], page.js_errors
    except Exception:
        for i, page in enumerate(pages):
            try:
                snap(page, f"zz-failure-{i}", full=True)
            except Exception:  # a closed page has nothing to show
                pass
        print(court.log())
        raise
    finally:
        guests.close()
        for page in pages:
            page.context.close()
