"""Exhibits through a real server: uploaded with a join link's token, checked, hashed,
marked and shown over socket.io, sealed with their ledger into a record that verifies."""

from __future__ import annotations

import hashlib
import io
import json

from aiohttp import ClientSession

from hearing_server.app import RECORDER
from recording.verify import verify_folder
from tests.conftest import Running, connect, schedule

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _offer(http: ClientSession, running: Running, hearing_id: str, token: str,
                 data: bytes, content_type: str, title: str = "Lease agreement",
                 ) -> tuple[int, dict[str, object]]:
    async with http.post(f"{running.url}/api/v1/hearings/{hearing_id}/exhibits",
                         params={"title": title, "file_name": "lease.pdf"}, data=io.BytesIO(data),
                         headers={"X-Join-Token": token, "Content-Type": content_type}) as r:
        body: dict[str, object] = await r.json()
        return r.status, body


async def _get(http: ClientSession, running: Running, hearing_id: str, token: str,
               exhibit_id: str) -> tuple[int, bytes]:
    async with http.get(f"{running.url}/api/v1/hearings/{hearing_id}/exhibits/{exhibit_id}",
                        headers={"X-Join-Token": token}) as r:
        return r.status, await r.read()


async def test_a_party_offers_an_exhibit_the_clerk_admits_and_shows_and_the_record_seals_it(
        running: Running) -> None:
    h = await schedule(running)
    async with ClientSession() as http:
        # before the hearing: the party uploads; type, size and role are checked
        status, body = await _offer(http, running, h.hearing_id, h.tokens["party"], PDF,
                                    "application/pdf")
        assert status == 201, body
        item = body["exhibit"]
        assert isinstance(item, dict)
        eid = item["exhibit_id"]
        assert item["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert item["status"] == "offered" and item["offered_by"] == "party"
        status, body = await _offer(http, running, h.hearing_id, h.tokens["party"],
                                    b"MZ\x90\x00", "application/pdf")
        assert status == 400 and body["error"]["code"] == "exhibit.type_refused"  # type: ignore[index]
        status, body = await _offer(http, running, h.hearing_id, h.tokens["party"],
                                    b"%PDF-" + b"0" * (20 * 1024 * 1024), "application/pdf")
        assert status == 413 and body["error"]["code"] == "exhibit.too_large"  # type: ignore[index]
        status, body = await _offer(http, running, h.hearing_id, h.tokens["observer"], PDF,
                                    "application/pdf")
        assert status == 403
        status, body = await _offer(http, running, h.hearing_id, "not a token", PDF,
                                    "application/pdf")
        assert status == 401
        # nobody but the court and the one who offered it reads it before it is shown
        assert (await _get(http, running, h.hearing_id, h.tokens["party"], eid)) == (200, PDF)
        assert (await _get(http, running, h.hearing_id, h.tokens["observer"], eid))[0] == 403

        judge = await connect(running, h.tokens["judge"])
        clerk = await connect(running, h.tokens["clerk"])
        party = await connect(running, h.tokens["party"])
        observer = await connect(running, h.tokens["observer"])
        try:
            for pid in ("party", "observer"):
                assert (await judge.call("admit", {"participant_id": pid}))["ok"]
            assert (await judge.call("conduct", {"action": "start"}))["ok"]
            listed = await clerk.call("exhibit.list")
            assert [x["exhibit_id"] for x in listed["exhibits"]] == [eid]
            assert (await observer.call("exhibit.list"))["exhibits"] == []
            refused = await party.call("exhibit.mark", {"exhibit_id": eid, "status": "admitted"})
            assert not refused["ok"] and refused["error"]["code"] == "permission.denied"
            bad = await clerk.call("exhibit.mark", {"exhibit_id": eid, "status": "lost"})
            assert bad["error"]["code"] == "input.invalid"
            missing = await clerk.call("exhibit.mark", {"exhibit_id": "X-0", "status": "admitted"})
            assert missing["error"]["code"] == "exhibit.not_found"
            ack = await clerk.call("exhibit.mark", {"exhibit_id": eid, "status": "admitted"})
            assert ack["ok"] and ack["exhibit"]["status"] == "admitted"
            ack = await clerk.call("exhibit.show", {"exhibit_id": eid})
            assert ack["ok"]
            shown = await observer.wait("exhibit.shown")
            assert shown["exhibit_id"] == eid and shown["title"] == "Lease agreement"
            await party.wait("exhibit.shown")
            code, data = await _get(http, running, h.hearing_id, h.tokens["observer"], eid)
            assert (code, data) == (200, PDF)
            assert (await judge.call("conduct", {"action": "adjourn"}))["ok"]
        finally:
            for client in (observer, party, clerk, judge):
                await client.close()
        status, body = await _offer(http, running, h.hearing_id, h.tokens["party"], PDF,
                                    "application/pdf")
        assert status == 409
    folder = running.app[RECORDER].folder(h.hearing_id)
    report = verify_folder(folder)
    assert report.ok, report.render()
    entries = {e["path"]: e for e in json.loads((folder / "manifest.json").read_text())["entries"]}
    ledger = json.loads((folder / "exhibits.json").read_text())["exhibits"]
    assert [(x["exhibit_id"], x["status"], x["offered_by"]) for x in ledger] == [
        (eid, "admitted", "party")]
    assert ledger[0]["history"][0]["by"] == "clerk" and ledger[0]["shown"][0]["by"] == "clerk"
    stored = entries[f"exhibits/{eid}.pdf"]
    assert stored["sha256"] == ledger[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    kinds = [m["kind"] for m in json.loads((folder / "timeline.json").read_text())["markers"]]
    assert kinds.index("exhibit_offered") < kinds.index("exhibit") < kinds.index("exhibit_shown")
