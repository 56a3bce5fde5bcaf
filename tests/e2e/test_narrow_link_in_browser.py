"""The page says when the node holds some video back from it (a narrow link) and
takes the notice down when everything is sent again."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Server, new_page, shot
from .helpers import pass_device_check, people

pytestmark = pytest.mark.timeout(120)

HELD_BACK = """(held) => {
  const [handler] = window.hearingApp.socket.listeners("media.held_back");
  handler({held});
}"""


@pytest.mark.parametrize("locale,words", [("en-GB", "too slow for every video"),
                                          ("zh-CN", "无法接收全部视频")])
def test_a_page_whose_video_is_held_back_says_whose_and_that_audio_goes_on(
        server: Server, browser: Any, locale: str, words: str) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-9", title="Narrow v. Link",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge = new_page(browser, locale=locale)
    party = new_page(browser)
    try:
        judge.goto(who["judge"]["link"])
        pass_device_check(judge)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        party.goto(who["party"]["link"])
        pass_device_check(party)
        party.click("#enter-btn")
        expect(party.locator("#screen-lobby")).to_be_visible(timeout=15000)
        judge.wait_for_function(
            "(pid) => window.hearingApp.presence.some((p) => p.participant_id === pid)",
            arg=who["party"]["id"], timeout=10000)
        judge.evaluate(HELD_BACK, [{"participant_id": who["party"]["id"], "source": "camera"}])
        notice = judge.locator("#notice-held-back")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(words)
        expect(notice).to_contain_text("Sam Party")
        shot(judge, f"narrow-link-held-back-{locale}")
        judge.evaluate(HELD_BACK, [])
        expect(notice).to_have_count(0)
    finally:
        party.close()
        judge.close()
