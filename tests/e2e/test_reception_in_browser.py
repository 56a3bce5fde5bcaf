"""The reception desk in real browsers: a visitor on a phone queues on /reception, a clerk
takes them from the console's desk, and they see and hear each other in a call of their
own (measured: queue-to-first-frame time)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import STAFF_PASSWORD, Server, new_page, shot
from tests.e2e.helpers import enter, pass_device_check, sign_in_clerk, wait_remote_video

pytestmark = pytest.mark.timeout(180)


def test_a_visitor_on_a_phone_is_taken_by_a_clerk_into_a_video_call(
        server: Server, browser: Any) -> None:
    visitor = new_page(browser, width=390, height=844)
    visitor.goto(server.url + "/reception")
    expect(visitor.locator("#screen-form")).to_be_visible()
    visitor.fill("#r-name", "Vic Visitor")
    visitor.fill("#r-case", "C-2026-5")
    visitor.select_option("#r-topic", "Filing")
    visitor.click("#r-join")
    expect(visitor.locator("#screen-queue")).to_be_visible()
    expect(visitor.locator("#q-place")).to_contain_text("1")
    shot(visitor, "reception-visitor-queue-phone")
    queued = time.monotonic()

    clerk = new_page(browser)
    sign_in_clerk(clerk, server.url, STAFF_PASSWORD)
    clerk.click("#reception-btn")
    row = clerk.locator("#rcp-queue-body tr", has_text="Vic Visitor")
    expect(row).to_be_visible()
    shot(clerk, "reception-clerk-queue")
    with clerk.context.expect_page() as opened:
        row.locator(".rcp-take").click()
        taken = time.monotonic()
    opened.value.close()  # the console opens the call in a tab; here: a page of its own
    link = clerk.locator("#rcp-calls a").get_attribute("href")
    assert link and "/join#" in link
    call = new_page(browser)
    enter(call, link, room=True)

    # the visitor's page goes on to the call's join page by itself
    visitor.wait_for_url("**/join#*", timeout=15000)
    redirected = time.monotonic() - taken  # the page polls every 3 s
    pass_device_check(visitor)
    visitor.click("#enter-btn")
    expect(visitor.locator("#screen-lobby")).to_be_visible(timeout=15000)
    call.click("#admit-visitor")
    admitted = time.monotonic()
    expect(visitor.locator("#screen-room")).to_be_visible(timeout=15000)
    wait_remote_video(visitor, "staff")
    now = time.monotonic()
    first_frame, admit_to_frame = now - queued, now - admitted
    wait_remote_video(call, "visitor")
    # one-to-one: the visitor's room holds the clerk and nobody else
    others = visitor.evaluate("""() => Array.from(document.querySelectorAll(
        'video.remote-video')).map((v) => v.dataset.participantId)""")
    assert set(others) == {"staff"}, others
    # the staff member is court staff to the visitor and the visitor a visitor: no
    # judge or party in a reception call
    roles = visitor.evaluate("""() => Array.from(document.querySelectorAll(
        '.tile-role, .person-role')).map((e) => e.textContent).filter(Boolean)""")
    assert "Court staff" in roles and not {"Judge", "Party"} & set(roles), roles
    roles = call.evaluate("""() => Array.from(document.querySelectorAll(
        '.tile-role, .person-role')).map((e) => e.textContent).filter(Boolean)""")
    assert "Visitor" in roles and not {"Judge", "Party"} & set(roles), roles
    shot(visitor, "reception-visitor-call-phone")
    print(f"queue-to-first-frame {first_frame:.2f} s (with two device checks and the "
          f"admit); taken-to-join-page {redirected:.2f} s; admit-to-first-frame "
          f"{admit_to_frame:.2f} s")

    expect(clerk.locator("#rcp-calls li")).to_have_count(1)
    clerk.locator("#rcp-calls .rcp-invite").click()  # a colleague's link, to hand over
    expect(clerk.locator("#rcp-calls .rcp-colleague-link")).to_have_value(
        re.compile(r"/join#"))
    clerk.locator("#rcp-calls .rcp-outcome").fill("answered")
    clerk.locator("#rcp-calls .rcp-note").fill("explained how to file")
    clerk.locator("#rcp-calls .rcp-end").click()
    expect(clerk.locator("#rcp-calls li")).to_have_count(0)
    expect(clerk.locator("#rcp-summary")).to_contain_text("1")
    assert visitor.js_errors == [] and clerk.js_errors == []
    assert call.js_errors == []
    for page in (visitor, clerk, call):
        page.context.close()
