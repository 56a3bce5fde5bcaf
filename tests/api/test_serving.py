"""Electronic service through the real API and a real SMTP server (aiosmtpd on loopback):
upload, serve, the e-mail received, the recipient's page calls, the service record,
the certificate, the notice of hearing, refusals and retries."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar

from hearing_server.app import STAFF
from tests.api.helpers import PASSWORD, error_of, server
from tests.conftest import Running, connect, schedule
from tests.smtp_server import Inbox, free_port, smtp_server

PDF = b"%PDF-1.4\n% a served order\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@asynccontextmanager
async def court(tmp_path: Path, inbox: Inbox | None,
                **settings: Any) -> AsyncIterator[tuple[Running, ClientSession, str]]:
    """A node mailing through ``inbox``, a signed-in clerk and a hearing assigned to them."""
    smtp = {"smtp_host": inbox.host, "smtp_port": inbox.port} if inbox else {}
    async with server(tmp_path, smtp_retry_delay=0.05, **smtp, **settings) as running:
        await running.app[STAFF].add("clerk1", "Clerk One", "clerk", PASSWORD)
        h = await schedule(running, clerks=("clerk1",))
        s = ClientSession(cookie_jar=CookieJar(unsafe=True))
        async with s.post(running.url + "/api/v1/session",
                          json={"username": "clerk1", "password": PASSWORD}) as r:
            assert r.status == 200
        async with s:
            yield running, s, h.hearing_id


async def upload(s: ClientSession, running: Running, hid: str, content: bytes,
                 name: str = "order.pdf") -> dict[str, Any]:
    async with s.post(running.url + f"/api/v1/hearings/{hid}/documents?name={name}",
                      data=content, headers={"Content-Type": "application/octet-stream"}) as r:
        assert r.status == 201, await r.text()
        doc: dict[str, Any] = (await r.json())["document"]
    return doc


async def serve(s: ClientSession, running: Running, hid: str, **body: Any) -> dict[str, Any]:
    body = {"participant_id": "party", "email": "sam@example.test", **body}
    async with s.post(running.url + f"/api/v1/hearings/{hid}/services", json=body) as r:
        assert r.status == 201, await r.text()
        service: dict[str, Any] = (await r.json())["service"]
    return service


def service_token(text: str) -> str:
    found = re.search(r"/service#(\S+)", text)
    assert found, text
    return found.group(1)


async def test_party_is_served_by_email_opens_downloads_and_acknowledges(tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox) as (running, s, hid):
            doc = await upload(s, running, hid, PDF)
            assert doc["sha256"] == hashlib.sha256(PDF).hexdigest()
            assert doc["media_type"] == "application/pdf" and doc["size"] == len(PDF)
            service = await serve(s, running, hid, documents=[doc["id"]], include_link=True)
            assert service["status"] == "sent" and service["attempts"][0]["ok"]
            assert len(inbox.messages) == 1
            mail = inbox.messages[0]
            assert mail["To"] == "sam@example.test"
            text = inbox.last_text()
            assert doc["sha256"] in text and "/join#" in text
            token = service_token(text)

            async with ClientSession(headers={"User-Agent": "PartyPhone/1.0"}) as party:
                async with party.post(running.url + "/api/v1/served/open",
                                      json={"token": token}) as r:
                    assert r.status == 200
                    info = await r.json()
                assert info["name"] == "Sam Party" and info["case_number"] == "C-2026-001"
                assert [d["sha256"] for d in info["documents"]] == [doc["sha256"]]
                async with party.post(running.url + "/api/v1/served/download",
                                      json={"token": token, "document": doc["id"]}) as r:
                    assert r.status == 200
                    assert r.headers["Content-Type"] == "application/pdf"
                    assert await r.read() == PDF
                url = running.url + "/api/v1/served/acknowledge"
                async with party.post(url, json={"token": token, "name": "Sam Party",
                                                 "confirm": False}) as r:
                    assert await error_of(r) == (400, "serve.not_confirmed")
                async with party.post(url, json={"token": token, "name": "Someone Else",
                                                 "confirm": True}) as r:
                    assert await error_of(r) == (400, "serve.name_mismatch")
                async with party.post(url, json={"token": token, "name": "  sam   PARTY ",
                                                 "confirm": True}) as r:
                    assert r.status == 200
                    assert (await r.json())["acknowledged"]["typed_name"] == "sam PARTY"
                async with party.post(url, json={"token": token, "name": "Sam Party",
                                                 "confirm": True}) as r:
                    assert await error_of(r) == (409, "serve.already_acknowledged")

            async with s.get(running.url + f"/api/v1/hearings/{hid}/services") as r:
                [record] = (await r.json())["services"]
            assert record["status"] == "acknowledged"
            assert record["sent_at"] and record["opened"][0]["from"] == "127.0.0.1"
            assert record["opened"][0]["user_agent"] == "PartyPhone/1.0"
            assert record["downloads"][0]["document"] == doc["sha256"]
            assert record["acknowledged"]["from"] == "127.0.0.1"
            assert record["documents"][0]["sha256"] == doc["sha256"]
            async with s.get(running.url + f"/api/v1/hearings/{hid}/services/certificate") as r:
                assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
                pdf = await r.read()
            assert pdf.startswith(b"%PDF-")
            Path("artifacts").mkdir(exist_ok=True)
            (Path("artifacts") / "certificate-of-service.pdf").write_bytes(pdf)


async def test_documents_are_typed_by_content_and_size_limited(tmp_path: Path) -> None:
    async with court(tmp_path, None, service_max_document_bytes=1000) as (running, s, hid):
        url = running.url + f"/api/v1/hearings/{hid}/documents?name=x.pdf"
        async with s.post(url, data=b"MZ\x90\x00 not a pdf") as r:
            assert await error_of(r) == (400, "serve.document_type")
        async with s.post(url, data=b"%PDF-" + b"0" * 2000) as r:
            assert await error_of(r) == (413, "serve.document_too_large")
        async with s.post(url, data=b"") as r:
            assert await error_of(r) == (400, "serve.document_type")
        png = await upload(s, running, hid, PNG, name="../../etc/photo.pdf")
        assert png["media_type"] == "image/png" and png["name"] == "photo.pdf.png"
        again = await upload(s, running, hid, PNG, name="other.png")
        assert again["id"] == png["id"]  # the same bytes are one document
        async with s.get(running.url + f"/api/v1/hearings/{hid}/documents") as r:
            assert len((await r.json())["documents"]) == 1
        async with s.get(running.url + f"/api/v1/hearings/{hid}/documents/{png['id']}") as r:
            assert await r.read() == PNG
        # without a mail server, serving is refused with a clear code
        async with s.post(running.url + f"/api/v1/hearings/{hid}/services", json={
                "participant_id": "party", "email": "sam@example.test",
                "documents": [png["id"]]}) as r:
            assert await error_of(r) == (503, "serve.mail_not_configured")


async def test_bad_service_requests_are_refused_with_clear_codes(tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox) as (running, s, hid):
            url = running.url + f"/api/v1/hearings/{hid}/services"
            for body, expected in [
                ({"participant_id": "party", "email": "not-an-address", "include_link": True},
                 "serve.bad_address"),
                ({"participant_id": "party", "email": "a@b.test"}, "serve.nothing"),
                ({"participant_id": "party", "email": "a@b.test", "documents": ["0" * 64]},
                 "serve.document_not_found"),
                ({"participant_id": "nobody", "email": "a@b.test", "include_link": True},
                 "participant.not_found"),
            ]:
                async with s.post(url, json=body) as r:
                    assert (await error_of(r))[1] == expected, body
            assert inbox.messages == []
            async with ClientSession() as anon:
                for token in ("x", f"{hid}.svc_0.secret", "a" * 300):
                    async with anon.post(running.url + "/api/v1/served/open",
                                         json={"token": token}) as r:
                        assert (await error_of(r))[1] in ("serve.not_found", "input.invalid")
                # someone else's staff session cannot read the record
                async with anon.get(url) as r:
                    assert (await error_of(r))[0] == 401


async def test_temporary_mail_refusal_is_retried_and_a_dead_server_is_recorded(
        tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox) as (running, s, hid):
            inbox.refuse_next("451 4.3.0 try again later")
            service = await serve(s, running, hid, include_link=True)
            assert service["status"] == "sent"
            assert [a["ok"] for a in service["attempts"]] == [False, True]
            assert "451" in service["attempts"][0]["detail"]
            inbox.refuse_next("550 5.1.1 no such user")
            service = await serve(s, running, hid, include_link=True)
            assert service["status"] == "failed"
            assert [a["ok"] for a in service["attempts"]] == [False]  # permanent: no retry
            assert inbox.attempts == 3 and len(inbox.messages) == 1
    # a mail server that is down: every attempt fails, the clerk is told
    async with court(tmp_path / "down", None, smtp_host="127.0.0.1",
                     smtp_port=free_port(), smtp_timeout=2.0) as (running, s, hid):
        service = await serve(s, running, hid, include_link=True)
        assert service["status"] == "failed" and len(service["attempts"]) == 3
        assert "unreachable" in service["attempts"][-1]["detail"]


async def test_an_expired_service_link_is_refused(tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox, service_link_ttl=0) as (running, s, hid):
            await serve(s, running, hid, include_link=True)
            token = service_token(inbox.last_text())
            async with ClientSession() as anon:
                async with anon.post(running.url + "/api/v1/served/open",
                                     json={"token": token}) as r:
                    assert await error_of(r) == (409, "serve.expired")


async def test_the_service_email_names_the_court_and_its_contact_line(tmp_path: Path) -> None:
    contact = "Clerk's office, +1 555 0100, clerk@court.example"
    with smtp_server() as inbox:
        async with court(tmp_path, inbox, court_name="Example District Court",
                         court_contact=contact) as (running, s, hid):
            doc = await upload(s, running, hid, PDF)
            await serve(s, running, hid, documents=[doc["id"]])
            lines = inbox.last_text().splitlines()
    assert lines[:2] == ["Example District Court", contact]


async def test_notice_of_hearing_is_a_pdf_document_with_a_new_join_link(tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox) as (running, s, hid):
            async with s.post(running.url
                              + f"/api/v1/hearings/{hid}/participants/party/notice") as r:
                assert r.status == 201, await r.text()
                notice = (await r.json())["document"]
            assert notice["kind"] == "notice" and notice["media_type"] == "application/pdf"
            async with s.get(running.url + f"/api/v1/hearings/{hid}/documents/{notice['id']}") \
                    as r:
                pdf = await r.read()
            assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == notice["id"]
            Path("artifacts").mkdir(exist_ok=True)
            (Path("artifacts") / "notice-of-hearing.pdf").write_bytes(pdf)
            async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
                links = [x for x in (await r.json())["links"] if x["participant_id"] == "party"]
            assert len(links) == 2 and sum(not x["revoked"] for x in links) == 1
            service = await serve(s, running, hid, documents=[notice["id"]])
            assert service["status"] == "sent" and "/join#" not in inbox.last_text()


async def test_the_service_record_goes_into_the_sealed_case_record(tmp_path: Path) -> None:
    with smtp_server() as inbox:
        async with court(tmp_path, inbox) as (running, s, hid):
            doc = await upload(s, running, hid, PDF)
            await serve(s, running, hid, documents=[doc["id"]])
            tokens = await judge_token(running, hid)
            judge = await connect(running, tokens)
            assert (await judge.call("conduct", {"action": "start"}))["ok"]
            assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
            await judge.wait("state", predicate=lambda d: d["state"]["phase"] == "adjourned")
            await judge.close()
            async with s.get(running.url + f"/api/v1/recordings/{hid}/manifest") as r:
                manifest = await r.json()
            paths = {e["path"]: e["sha256"] for e in manifest["entries"]}
            assert paths[f"service/documents/{doc['sha256']}.pdf"] == doc["sha256"]
            assert "service/record.json" in paths and "service/certificate.pdf" in paths
            async with s.post(running.url + f"/api/v1/recordings/{hid}/verify") as r:
                report = await r.json()
            assert report["ok"] is True, report


async def judge_token(running: Running, hid: str) -> str:
    from hearing_server.api.routes import HEARINGS

    url = await running.app[HEARINGS].issue_link(hid, "judge", "test")
    return str(url.split("#", 1)[1])
