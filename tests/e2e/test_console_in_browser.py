"""The clerk console in a real browser (issue 14): after a reload the clerk sees each
participant's link again (copy all, print) without re-issuing, adds a witness who gets a
working link, reschedules and cancels the hearing, each with a confirmation."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import STAFF_PASSWORD, Server, new_page, shot
from .helpers import people, sign_in_clerk

pytestmark = pytest.mark.timeout(180)


def test_clerk_sees_links_after_a_reload_adds_a_witness_reschedules_and_cancels(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-CON-14", title="Ode v. Ray",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    hid = created["hearing_id"]
    clerk = new_page(browser)
    try:
        sign_in_clerk(clerk, server.url, STAFF_PASSWORD)
        clerk.reload()
        expect(clerk.locator("#screen-workspace")).to_be_visible()
        clerk.click(f'#hearing-list [data-hearing-id="{hid}"]')
        # (1) the links issued at scheduling are shown again, not re-issued
        for role in ("judge", "party"):
            expect(clerk.locator(f"#link-{who[role]['id']}")).to_have_value(who[role]["link"])
        expect(clerk.locator("#service-body [data-status='revoked']")).to_have_count(0)
        clerk.click("#links-copy-all")
        expect(clerk.locator("#console-status")).to_have_text("All current links were copied.")
        clerk.evaluate("window.print = () => { window.printed = true; }")
        clerk.click("#links-print")
        assert clerk.evaluate("window.printed") is True
        expect(clerk.locator("#print-links")).to_contain_text(who["party"]["link"])
        shot(clerk, "console-01-links-after-reload")
        # (3) a witness is added and given a link at once
        clerk.fill("#a-name", "Wanda Witness")
        clerk.select_option("#a-role", "witness")
        clerk.click("#add-yes")
        expect(clerk.locator("#console-status")).to_contain_text("Wanda Witness was added")
        row = clerk.locator("#service-body tr", has_text="Wanda Witness")
        expect(row).to_have_attribute("data-status", "issued")
        link = row.locator(".link-field").input_value()
        assert link.startswith(server.url + "/join#")
        # (2) reschedule with a confirmation form: the links keep working
        clerk.click("#hp-reschedule")
        expect(clerk.locator("#reschedule-form")).to_be_visible()
        clerk.fill("#r-when", "2099-03-04T10:15")
        clerk.click("#reschedule-yes")
        expect(clerk.locator("#console-status")).to_contain_text("The hearing was moved to")
        expect(clerk.locator("#hp-when")).to_contain_text("2099")
        expect(clerk.locator(f"#link-{who['party']['id']}")).to_have_value(who["party"]["link"])
        shot(clerk, "console-02-witness-added-and-rescheduled")
        # (2) cancel: asks first; "Keep it" keeps it
        clerk.click("#hp-cancel")
        expect(clerk.locator("#cancel-confirm")).to_be_visible()
        clerk.click("#cancel-no")
        expect(clerk.locator("#cancel-confirm")).to_be_hidden()
        expect(clerk.locator("#hp-status")).to_have_text("Scheduled")
        clerk.click("#hp-cancel")
        clerk.click("#cancel-yes")
        expect(clerk.locator("#hp-status")).to_have_text("Cancelled")
        expect(clerk.locator("#hp-actions")).to_be_hidden()
        expect(clerk.locator("#service-body .link-field")).to_have_count(0)
        shot(clerk, "console-03-cancelled")
        missing = clerk.evaluate("""async () => {
          const m = await import('/static/js/i18n.js');
          const en = Object.keys(m.DICTIONARIES.en), zh = Object.keys(m.DICTIONARIES['zh-CN']);
          return en.filter((k) => !zh.includes(k)).concat(zh.filter((k) => !en.includes(k)));
        }""")
        assert missing == []
        assert clerk.js_errors == []  # type: ignore[attr-defined]
    finally:
        clerk.context.close()


def test_clerk_closes_a_hearing_nobody_adjourned_and_sees_its_record_sealed(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-CON-15", title="Idle v. Nobody",
                                    judge="Judge Ada", party="Sam Party")
    hid = created["hearing_id"]
    clerk = new_page(browser)
    try:
        sign_in_clerk(clerk, server.url, STAFF_PASSWORD)
        clerk.click(f'#hearing-list [data-hearing-id="{hid}"]')
        clerk.click("#hp-close")
        expect(clerk.locator("#close-confirm")).to_be_visible()
        expect(clerk.locator("#close-no")).to_be_focused()
        clerk.click("#close-yes")
        expect(clerk.locator("#console-status")).to_have_text(
            "The hearing was closed and its record sealed.")
        expect(clerk.locator("#hp-phase")).to_contain_text("Adjourned")
        expect(clerk.locator("#hp-record-badge")).to_have_attribute("data-sealed", "true",
                                                                    timeout=10000)
        expect(clerk.locator("#hp-actions")).to_be_hidden()
        expect(clerk.locator("#events-body tr[data-type='closed']")).to_contain_text(
            "Closed by the clerk")
        shot(clerk, "console-04-closed-and-sealed")
        assert clerk.js_errors == []  # type: ignore[attr-defined]
    finally:
        clerk.context.close()
