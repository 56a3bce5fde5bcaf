"""Two real browsers hold a hearing through the relay, and a clerk uses the console.

Debian's Chromium with a fake camera and microphone; the real server in a subprocess.
Screenshots of every state land in artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.when import tomorrow

from .conftest import STAFF_PASSWORD, Server, new_page, shot
from .helpers import pass_device_check, people, wait_remote_video

pytestmark = pytest.mark.timeout(180)

def test_judge_admits_party_they_see_each_other_mute_and_adjourn(server: Server,
                                                                   browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-1", title="Doe v. Roe",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge_id, party_id = who["judge"]["id"], who["party"]["id"]
    judge = new_page(browser)
    party = new_page(browser)
    try:
        # -- the judge opens the link: the hearing is described, the device check passes
        judge.goto(who["judge"]["link"])
        expect(judge.locator("#screen-prejoin")).to_be_visible()
        expect(judge.locator("#info-case")).to_have_text("C-1")
        expect(judge.locator("#info-title")).to_have_text("Doe v. Roe")
        expect(judge.locator("#info-name")).to_have_text("Judge Ada")
        expect(judge.locator("#info-role")).to_have_text("Judge")
        shot(judge, "01-judge-prejoin")
        pass_device_check(judge)
        shot(judge, "02-judge-device-check-passed")

        # -- the judge enters directly
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(judge.locator("#mod-panel")).to_be_visible()
        expect(judge.locator("#phase-badge")).to_have_attribute("data-phase", "open")
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "off")
        judge.wait_for_function(
            "() => document.querySelector('video.self-video').videoWidth > 0", timeout=15000)
        shot(judge, "03-judge-room-alone")

        # -- the party opens their link, passes the check, waits in the lobby
        party.goto(who["party"]["link"])
        expect(party.locator("#info-role")).to_have_text("Party")
        pass_device_check(party)
        party.click("#enter-btn")
        expect(party.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(party.locator("#lobby-present")).to_contain_text("Judge Ada")
        expect(party.locator("#lobby-phase")).to_contain_text("not started")
        shot(party, "04-party-lobby")

        # -- the judge sees them in the lobby queue and admits them
        row = judge.locator(f'#lobby-list [data-participant-id="{party_id}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("Sam Party")
        shot(judge, "05-judge-sees-lobby")
        judge.click(f"#admit-{party_id}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(judge.locator("#lobby-list [data-participant-id]")).to_have_count(0)

        # -- both see the other's video, frames advancing
        party_sees = wait_remote_video(party, judge_id)
        judge_sees = wait_remote_video(judge, party_id)
        assert party_sees["after"] > party_sees["before"]
        assert judge_sees["after"] > judge_sees["before"]
        # and both receive audio on an <audio> sink
        for page in (judge, party):
            page.wait_for_function(
                "() => document.querySelectorAll('#audio-sink audio').length > 0")
        shot(judge, "06-judge-room-with-party")
        shot(party, "07-party-room-with-judge")

        # -- the court controls screen sharing: the party may not share until allowed
        expect(party.locator("#screen-btn")).to_be_disabled()
        expect(party.locator("#screen-label")).to_have_text("Screen share: ask the court")
        judge.click(f"#allow-screen-{party_id}")
        expect(party.locator("#notice-screen-control")).to_contain_text("allows you")
        # -- the party shares their screen: a new offer adds the m-line, the judge sees it
        party.click("#screen-btn")
        expect(party.locator("#screen-btn")).to_have_class("ctl is-active")
        wait_remote_video(judge, party_id, "screen")
        shot(judge, "06b-judge-sees-party-screen")
        party.click("#screen-btn")
        # (the tile goes when media.tracks says so, or when the mid stops carrying media)
        expect(judge.locator(f'.tile[data-key="scr:{party_id}"]')).to_have_count(0,
                                                                             timeout=10000)
        # sharing again reuses the negotiated m-line (no new offer)
        party.click("#screen-btn")
        wait_remote_video(judge, party_id, "screen")
        # the court stops the share (the camera stays): the page stops sending
        judge.click(f"#stop-screen-{party_id}")
        expect(party.locator("#notice-screen-control")).to_contain_text("stopped your screen")
        expect(judge.locator(f'.tile[data-key="scr:{party_id}"]')).to_have_count(0,
                                                                             timeout=10000)
        expect(party.locator("#screen-btn")).to_be_disabled()
        wait_remote_video(judge, party_id)
        shot(judge, "06c-judge-stopped-party-screen")

        # -- the party's connection drops: a banner, then socket.io reconnects, the page
        #    says hello again, asks for media again, and the video comes back both ways
        old_pc = "window.__oldPc = window.hearingApp.media.pc"
        party.evaluate(f"() => {{ {old_pc}; const m = window.hearingApp.socket.io;"
                       " m.reconnectionDelay(2500); m.reconnectionDelayMax(2500);"
                       " m.engine.close(); }")
        expect(party.locator("#banner")).to_have_attribute("data-kind", "banner.reconnecting")
        shot(party, "07b-party-reconnecting")
        expect(party.locator("#banner")).to_be_hidden(timeout=15000)
        party.wait_for_function(
            "() => window.hearingApp.media.pc && window.hearingApp.media.pc !== window.__oldPc"
            " && window.hearingApp.media.pc.connectionState === 'connected'", timeout=20000)
        wait_remote_video(party, judge_id)
        wait_remote_video(judge, party_id)

        # -- the judge starts the session and the recording; everyone sees it
        judge.click("#conduct-start")
        expect(party.locator("#phase-badge")).to_have_attribute("data-phase", "in_session")
        # a court hearing may start recording with the session; otherwise start it
        try:
            expect(judge.locator("#recording-badge")).to_have_attribute(
                "data-recording", "on", timeout=3000)
        except AssertionError:
            judge.click("#rec-start")
        expect(party.locator("#recording-badge")).to_have_attribute("data-recording", "on")
        expect(judge.locator("#recording-badge")).to_have_attribute("data-recording", "on")
        # pausing asks for a reason in the page (no window.prompt); empty is refused
        judge.click("#rec-pause")
        expect(judge.locator("#rec-reason-form")).to_be_visible()
        judge.click("#rec-reason-submit")
        expect(judge.locator("#mod-status")).to_contain_text("reason")
        judge.fill("#rec-reason", "Witness needs a break")
        judge.click("#rec-reason-submit")
        expect(party.locator("#recording-badge")).to_have_attribute("data-recording", "paused")
        expect(party.locator("#recording-badge")).to_contain_text("Witness needs a break")
        shot(party, "08-party-recording-paused")

        # -- an ack with ok:false is shown: resuming the session while not in recess
        judge.evaluate("() => document.querySelector('#conduct-resume').disabled = false")
        judge.click("#conduct-resume")
        expect(judge.locator("#mod-status")).to_have_attribute("data-kind", "error")
        expect(judge.locator("#mod-status")).to_contain_text("the hearing is in_session",
                                                             ignore_case=True)

        # -- the judge force-mutes the party: the party's page says so and locks the toggle
        judge.click(f"#force-mute-{party_id}")
        expect(party.locator("#notice-forced-audio")).to_be_visible()
        expect(party.locator("#notice-forced-audio")).to_contain_text("The court has muted")
        expect(party.locator("#mic-btn")).to_have_attribute("data-state", "forced")
        expect(party.locator("#mic-btn")).to_be_disabled()
        expect(party.locator("#mic-label")).to_have_text("Muted by the court")
        assert party.evaluate("() => window.hearingApp.devices.audioTrack.enabled") is False
        expect(judge.locator(f"#lift-mute-{party_id}")).to_be_visible()
        shot(party, "09-party-force-muted")
        shot(judge, "10-judge-console-after-mute")

        # -- lifting the mute gives the toggle back (still muted until they unmute)
        judge.click(f"#lift-mute-{party_id}")
        expect(party.locator("#mic-btn")).to_be_enabled()
        expect(party.locator("#mic-btn")).to_have_attribute("data-state", "muted")
        expect(party.locator("#notice-lifted-audio")).to_be_visible()

        # -- the judge adjourns: both pages show the hearing ended
        judge.click("#conduct-adjourn")
        expect(judge.locator("#adjourn-confirm")).to_be_visible()
        judge.click("#adjourn-yes")
        for page in (judge, party):
            expect(page.locator("#screen-ended")).to_be_visible(timeout=15000)
            expect(page.locator("#ended-card")).to_have_attribute("data-kind", "adjourned")
            expect(page.locator("#ended-title")).to_have_text("The hearing has been adjourned")
        shot(judge, "11-judge-adjourned")
        shot(party, "12-party-adjourned")

        assert judge.js_errors == [], judge.js_errors
        assert party.js_errors == [], party.js_errors
    except Exception:
        shot(judge, "zz-failure-judge")
        shot(party, "zz-failure-party")
        print(server.log())
        raise
    finally:
        judge.context.close()
        party.context.close()


def test_clerk_schedules_a_hearing_and_sees_the_link_opened(server: Server,
                                                             browser: Any) -> None:
    from playwright.sync_api import expect

    clerk = new_page(browser, width=1360, height=900)
    visitor = new_page(browser)
    try:
        clerk.goto(server.url + "/console")
        expect(clerk.locator("#screen-signin")).to_be_visible()
        shot(clerk, "20-console-sign-in")
        clerk.fill("#signin-user", "clerk1")
        clerk.fill("#signin-pass", "wrong password")
        clerk.click("#signin-submit")
        expect(clerk.locator("#signin-error")).to_contain_text("Wrong username or password")
        clerk.fill("#signin-pass", STAFF_PASSWORD)
        clerk.click("#signin-submit")
        expect(clerk.locator("#screen-workspace")).to_be_visible()
        expect(clerk.locator("#who")).to_contain_text("Clerk One")

        # -- schedule through the form
        clerk.click("#new-hearing-btn")
        expect(clerk.locator("#schedule-panel")).to_be_visible()
        clerk.fill("#f-case", "C-2026/77")
        clerk.fill("#f-title", "Smith v. Jones")
        clerk.fill("#f-when", tomorrow())
        rows = clerk.locator("#participant-rows .participant-row")
        expect(rows).to_have_count(2)
        rows.nth(0).locator(".p-name").fill("Judge Lin")
        rows.nth(1).locator(".p-name").fill("Pat Smith")
        clerk.click("#add-participant")
        expect(rows).to_have_count(3)
        rows.nth(2).locator(".p-name").fill("Chris Counsel")
        rows.nth(2).locator(".p-role").select_option("counsel")
        shot(clerk, "21-console-schedule-form")
        clerk.click("#schedule-submit")

        # -- the links are shown with copy buttons, the service status is "issued"
        expect(clerk.locator("#hearing-panel")).to_be_visible()
        expect(clerk.locator("#hp-title")).to_contain_text("C-2026/77")
        expect(clerk.locator("#console-status")).to_contain_text("scheduled")
        body = clerk.locator("#service-body tr")
        expect(body).to_have_count(3)
        fields = clerk.locator("#service-body input.link-field")
        expect(fields).to_have_count(3)
        pat = clerk.locator("#service-body tr", has_text="Pat Smith")
        expect(pat.locator(".badge")).to_have_attribute("data-status", "issued")
        link = pat.locator("input.link-field").input_value()
        assert "/join#" in link
        expect(clerk.locator("#hearing-list .hearing-item")).to_contain_text(["C-2026/77"])
        expect(clerk.locator("#events-body tr[data-type='link_issued']")).to_have_count(3)
        expect(clerk.locator("#recordings-section")).to_contain_text("once recording")
        shot(clerk, "22-console-hearing-links-issued")

        # -- a participant opens the link: the service record shows "opened"
        visitor.goto(link)
        expect(visitor.locator("#screen-prejoin")).to_be_visible()
        expect(visitor.locator("#info-name")).to_have_text("Pat Smith")
        clerk.click("#service-refresh")
        expect(pat.locator(".badge")).to_have_attribute("data-status", "opened", timeout=10000)
        expect(pat.locator(".badge")).to_have_text("Opened")
        expect(pat).to_contain_text("from 127.0.0.1")
        expect(clerk.locator("#events-body tr[data-type='link_opened']")).to_have_count(1)
        shot(clerk, "23-console-link-opened")

        # -- re-issuing revokes the old link; the old link then says so
        pid = pat.get_attribute("data-participant-id")
        clerk.click(f"#reissue-{pid}")
        expect(clerk.locator(f"#reissue-yes-{pid}")).to_be_visible()
        clerk.click(f"#reissue-yes-{pid}")
        expect(pat.locator(".badge")).to_have_attribute("data-status", "issued")
        expect(pat).to_contain_text("1 earlier link(s) revoked")
        new_link = pat.locator("input.link-field").input_value()
        assert new_link != link
        visitor.goto("about:blank")
        visitor.goto(link)
        expect(visitor.locator("#screen-ended")).to_be_visible()
        expect(visitor.locator("#ended-title")).to_have_text("This link has been replaced")
        shot(visitor, "24-join-revoked-link")

        # -- the console in Chinese
        clerk.select_option("#lang-select", "zh-CN")
        expect(clerk.locator("#hearings-heading")).to_have_text("庭审列表")
        expect(pat.locator(".badge")).to_have_text("已生成")
        shot(clerk, "25-console-zh-CN")
        clerk.select_option("#lang-select", "en")
        assert clerk.js_errors == [], clerk.js_errors
    except Exception:
        shot(clerk, "zz-failure-clerk")
        print(server.log())
        raise
    finally:
        clerk.context.close()
        visitor.context.close()


def test_join_page_explains_bad_links_and_speaks_chinese(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, locale="zh-CN")
    try:
        page.goto(server.url + "/join#not-a-token")
        expect(page.locator("#screen-ended")).to_be_visible()
        expect(page.locator("#ended-title")).to_have_text("此链接无效")
        shot(page, "30-join-bad-link-zh-CN")
        page.goto(server.url + "/join")
        expect(page.locator("#ended-title")).to_have_text("链接不完整")

        created = server.create_hearing(case_number="C-3", title="张三诉李四",
                                        judge="王法官", party="张三", observer="旁听者")
        who = people(created)
        page.goto(who["party"]["link"])
        expect(page.locator("#screen-prejoin")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("#info-role")).to_have_text("当事人")
        expect(page.locator("#rules-heading")).to_have_text("网上法庭规则")
        shot(page, "31-join-prejoin-zh-CN")

        # an observer skips the device check entirely
        page.goto("about:blank")
        page.goto(who["observer"]["link"])
        expect(page.locator("#dc-observer")).to_be_visible()
        expect(page.locator("#dc-publisher")).to_be_hidden()
        expect(page.locator("#enter-btn")).to_be_enabled()
        shot(page, "32-join-observer-zh-CN")

        # both dictionaries hold the same keys
        missing = page.evaluate("""async () => {
          const m = await import('/static/js/i18n.js');
          const en = Object.keys(m.DICTIONARIES.en), zh = Object.keys(m.DICTIONARIES['zh-CN']);
          return en.filter((k) => !zh.includes(k)).concat(zh.filter((k) => !en.includes(k)));
        }""")
        assert missing == []
        assert page.js_errors == [], page.js_errors
    finally:
        page.context.close()


def test_denied_locked_removed_and_replaced_are_explained(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-4", title="Estate of Ray",
                                    judge="Judge Ada", party=["Ann Able", "Bob Baker"])
    judge_link = next(p["link"] for p in created["participants"] if p["role"] == "judge")
    ann, bob = (p for p in created["participants"] if p["role"] == "party")
    judge = new_page(browser)
    guest = new_page(browser)
    try:
        judge.goto(judge_link)
        pass_device_check(judge)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)

        # -- denied, with the reason the court gave
        guest.goto(ann["link"])
        pass_device_check(guest)
        guest.click("#enter-btn")
        expect(guest.locator("#screen-lobby")).to_be_visible(timeout=15000)
        judge.click(f"#deny-{ann['id']}")
        judge.fill(f"#reason-{ann['id']}", "Not a party to this case")
        judge.click(f"#confirm-deny-{ann['id']}")
        expect(guest.locator("#ended-card")).to_have_attribute("data-kind", "denied")
        expect(guest.locator("#ended-title")).to_have_text("The court did not admit you")
        expect(guest.locator("#ended-detail")).to_contain_text("Not a party to this case")
        shot(guest, "40-party-denied")

        # -- a locked hearing lets a late joiner wait in the lobby, and the court is told
        judge.check("#lock-toggle")
        expect(judge.locator("#lock-badge")).to_be_visible()
        guest.goto("about:blank")
        guest.goto(bob["link"])
        pass_device_check(guest)
        guest.click("#enter-btn")
        expect(guest.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(guest.locator("#lobby-phase")).to_contain_text("The court knows you are waiting")
        expect(judge.locator("#lobby-alert")).to_contain_text("is waiting in the lobby")
        expect(judge.locator(f"#admit-{bob['id']}")).to_be_visible()
        shot(guest, "41-party-waits-at-a-locked-hearing")

        # -- admitted, then removed by the court
        judge.uncheck("#lock-toggle")
        expect(judge.locator("#lock-badge")).to_be_hidden()
        judge.click(f"#admit-{bob['id']}")
        expect(guest.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click(f"#remove-{bob['id']}")
        judge.fill(f"#reason-{bob['id']}", "Disrupting the hearing")
        shot(judge, "42-judge-removing")
        judge.click(f"#confirm-remove-{bob['id']}")
        expect(guest.locator("#ended-card")).to_have_attribute("data-kind", "removed")
        expect(guest.locator("#ended-detail")).to_contain_text("Disrupting the hearing")
        shot(guest, "43-party-removed")

        # -- the judge opens their link in another window: the first one says so
        guest.goto("about:blank")
        guest.goto(judge_link)
        pass_device_check(guest)
        guest.click("#enter-btn")
        expect(guest.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(judge.locator("#ended-card")).to_have_attribute("data-kind", "replaced")
        expect(judge.locator("#ended-retry")).to_be_visible()
        shot(judge, "44-judge-replaced")
        assert judge.js_errors == [], judge.js_errors
        assert guest.js_errors == [], guest.js_errors
    except Exception:
        shot(judge, "zz-failure-judge2")
        shot(guest, "zz-failure-guest")
        print(server.log())
        raise
    finally:
        judge.context.close()
        guest.context.close()


def test_device_check_explains_a_blocked_camera(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-5", title="T", judge="Judge Ada",
                                    witness="Wes Witness")
    link = next(p["link"] for p in created["participants"] if p["role"] == "witness")
    page = new_page(browser)
    try:
        page.context.add_init_script("""
          navigator.mediaDevices.getUserMedia = async () => {
            throw new DOMException("Permission denied", "NotAllowedError");
          };""")
        page.goto(link)
        page.click("#dc-start")
        expect(page.locator("#device-check")).to_have_attribute("data-state", "failed")
        expect(page.locator("#dc-messages")).to_contain_text("blocked")
        expect(page.locator("#dc-messages")).to_contain_text("neither see nor hear you")
        expect(page.locator("#enter-btn")).to_be_enabled()
        shot(page, "45-device-check-blocked")
    finally:
        page.context.close()
