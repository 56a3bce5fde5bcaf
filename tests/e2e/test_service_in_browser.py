"""Electronic service in real browsers: the clerk serves a document from the console,
the party receives the e-mail from a real local SMTP server, opens the link on a phone,
downloads the document and acknowledges receipt, and the clerk's service record shows
every step."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import STAFF_PASSWORD, Server, new_page, shot, start_server, stop_server
from tests.e2e.helpers import people, sign_in_clerk
from tests.smtp_server import Inbox, smtp_server

PDF = b"%PDF-1.4\n% an order of the court\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def mailing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Inbox]]:
    base = tmp_path_factory.mktemp("e2e-service")
    with smtp_server() as inbox:
        srv = start_server(base / "data", base / "server.log", env={
            "HEARING_SMTP_HOST": inbox.host, "HEARING_SMTP_PORT": str(inbox.port),
            "HEARING_SMTP_RETRY_DELAY": "0.1"})
        try:
            srv.cli("staff", "add", "clerk1", "--role", "clerk", "--name", "Clerk One",
                    "--password", STAFF_PASSWORD)
            srv.clerks.append("clerk1")
            yield srv, inbox
        finally:
            stop_server(srv)


def test_party_receives_the_email_downloads_and_acknowledges_on_a_phone(
        mailing_server: tuple[Server, Inbox], browser: Any, tmp_path: Path) -> None:
    srv, inbox = mailing_server
    created = srv.create_hearing("C-2026-16", "Service v. Test", judge="Judge Ada",
                                 party="Sam Party")
    hid = created["hearing_id"]
    order = tmp_path / "order.pdf"
    order.write_bytes(PDF)

    clerk = new_page(browser)
    sign_in_clerk(clerk, srv.url, STAFF_PASSWORD)
    clerk.locator(f"[data-hearing-id='{hid}']").first.click()
    expect(clerk.locator("#serving-section")).to_be_visible()
    clerk.set_input_files("#svc-file", str(order))
    clerk.click("#svc-upload")
    expect(clerk.locator("#svc-docs li")).to_have_count(1)
    party_id = people(created)["party"]["id"]
    clerk.select_option("#svc-pid", party_id)
    clerk.fill("#svc-email", "sam@example.test")
    clerk.check("#svc-docs input")
    clerk.click("#svc-serve")
    row = clerk.locator("#svc-record-body tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "sent")

    assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "sam@example.test"
    found = re.search(r"(http://\S+/service#\S+)", inbox.last_text())
    assert found
    phone = new_page(browser, width=390, height=844)
    phone.goto(found.group(1))
    expect(phone.locator("#screen-service")).to_be_visible()
    expect(phone.locator("#svc-name")).to_have_text("Sam Party")
    with phone.expect_download() as info:
        phone.locator(".doc-item button").click()
    saved = tmp_path / "downloaded.pdf"
    info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(PDF).hexdigest()
    phone.fill("#ack-name", "Sam Party")
    phone.click("#ack-submit")  # without the confirmation: refused in the page
    expect(phone.locator("#ack-error")).to_be_visible()
    phone.check("#ack-confirm")
    phone.click("#ack-submit")
    expect(phone.locator("#ack-done")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    shot(phone, "service-recipient-phone")

    clerk.click("#service-refresh")
    expect(row).to_have_attribute("data-status", "acknowledged")
    expect(row).to_contain_text("Sam Party")
    shot(clerk, "service-clerk-record")
    assert phone.js_errors == [] and clerk.js_errors == []
