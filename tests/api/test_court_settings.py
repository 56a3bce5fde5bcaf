"""The court's name, contact line and default language, and each participant's page
language chosen by the clerk (issue 14): public court facts, the link's answer, the
console's schedule and add-participant bodies, the service record, a restart."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientSession

from hearing_server.domain.hearing import Hearing
from tests.conftest import token_of
from tests.when import soon

from .helpers import error_of, server, signed_in

CONTACT = "Clerk's office, +1 555 0100, clerk@court.example"


def body(*people: dict[str, str]) -> dict[str, object]:
    return {"case_number": "C-14-L", "title": "Li v. Doe", "scheduled_at": soon(60 * 24 * 21),
            "participants": [{"id": "judge", "name": "Judge Ada", "role": "judge"}, *people]}


async def test_the_court_names_itself_and_its_contact_line_to_anyone(tmp_path: Path) -> None:
    async with server(tmp_path, court_name="Example District Court", court_contact=CONTACT,
                      default_language="zh-CN") as running:
        async with ClientSession() as anon:
            async with anon.get(running.url + "/api/v1/court") as r:
                assert r.status == 200
                court = await r.json()
    assert court == {"name": "Example District Court", "contact": CONTACT,
                     "default_language": "zh-CN", "languages": ["en", "zh-CN"]}


async def test_a_participants_language_reaches_their_link_and_survives_a_restart(
        tmp_path: Path) -> None:
    async with server(tmp_path, court_name="Example District Court",
                      court_contact=CONTACT) as running:
        s = await signed_in(running, "clerk1", "clerk")
        async with s:
            async with s.post(running.url + "/api/v1/hearings", json=body(
                    {"id": "li", "name": "Li Wei", "role": "party", "language": "zh-CN"},
                    {"id": "sam", "name": "Sam", "role": "party"})) as r:
                assert r.status == 201, await r.text()
                created = await r.json()
            hid = created["hearing"]["id"]
            langs = {p["id"]: p["language"] for p in created["hearing"]["participants"]}
            assert langs == {"judge": "", "li": "zh-CN", "sam": ""}
            async with s.post(running.url + f"/api/v1/hearings/{hid}/participants",
                              json={"name": "Wen", "role": "witness",
                                    "language": "zh-CN"}) as r:
                assert r.status == 201, await r.text()
                added = await r.json()
            async with ClientSession() as anon:
                for link, lang in ((created["links"]["li"], "zh-CN"),
                                   (created["links"]["sam"], ""), (added["link"], "zh-CN")):
                    async with anon.post(running.url + "/api/v1/join",
                                         json={"token": token_of(link)}) as r:
                        info = await r.json()
                    assert info["you"]["language"] == lang
                    assert info["court"] == "Example District Court"
                    assert info["court_contact"] == CONTACT
                    assert info["default_language"] == "en"
            async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
                rows = {x["participant_id"]: x["language"] for x in (await r.json())["links"]}
            assert rows["li"] == "zh-CN" and rows["sam"] == ""
            assert rows[added["participant_id"]] == "zh-CN"
            async with s.get(running.url + f"/api/v1/hearings/{hid}/events") as r:
                events = (await r.json())["events"]
            assert [e["language"] for e in events if e["type"] == "participant_added"] == [
                "zh-CN"]
            summoned = next(e for e in events if e["type"] == "scheduled")["participants"]
            assert {p["id"]: p["language"] for p in summoned} == {
                "judge": "", "li": "zh-CN", "sam": ""}
            # a language the pages do not speak is refused, on both routes
            async with s.post(running.url + "/api/v1/hearings", json=body(
                    {"name": "X", "role": "party", "language": "fr"})) as r:
                assert await error_of(r) == (400, "input.invalid")
            async with s.post(running.url + f"/api/v1/hearings/{hid}/participants",
                              json={"name": "Y", "role": "party", "language": "de"}) as r:
                assert await error_of(r) == (400, "input.invalid")
    # the same data folder, a new node: the languages are stored with the participants
    async with server(tmp_path) as again:
        s = await signed_in(again, "clerk1", "clerk")
        async with s:
            async with s.get(again.url + f"/api/v1/hearings/{hid}") as r:
                hearing = Hearing.from_dict((await r.json())["hearing"])
    assert {p.id: p.language for p in hearing.participants} == {
        "judge": "", "li": "zh-CN", "sam": "", added["participant_id"]: "zh-CN"}


def test_a_hearing_saved_before_languages_existed_loads_with_none() -> None:
    old = {"id": "h_1", "case_number": "C-1", "title": "T", "kind": "hearing",
           "scheduled_at": "2026-01-01T09:00:00+00:00", "duration_minutes": 60,
           "participants": [{"id": "j", "name": "J", "role": "judge"}],
           "status": "scheduled", "created_at": "2025-12-01T09:00:00+00:00"}
    assert Hearing.from_dict(old).participants[0].language == ""
