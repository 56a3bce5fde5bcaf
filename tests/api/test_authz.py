"""Staff are trusted with their own hearings only: every REST route asks the one
policy, refusals are ``permission.denied`` and land in the access audit log."""

from __future__ import annotations

from aiohttp import ClientSession

from hearing_server.api.records import RECORDS
from hearing_server.app import STAFF
from tests.api.helpers import create, error_of, hearing_body, signed_in
from tests.conftest import Running


async def test_mediator_cannot_reissue_a_judges_link_nor_touch_a_court_hearing(
        running: Running) -> None:
    clerk = await signed_in(running, "bo", "clerk")
    mediator = await signed_in(running, "mia", "mediator")
    async with clerk, mediator:
        hid = (await create(clerk, running))["hearing"]["id"]
        base = running.url + f"/api/v1/hearings/{hid}"
        attempts = [
            mediator.post(base + "/participants/judge/link"),
            mediator.delete(base),
            mediator.patch(base, json={"scheduled_at": "2026-12-03T10:00:00Z"}),
            mediator.get(base),
            mediator.get(base + "/events"),
            mediator.get(base + "/service"),
            mediator.put(base + "/assignment", json={"presiding": "mia"}),
        ]
        for attempt in attempts:
            async with attempt as r:
                assert await error_of(r) == (403, "permission.denied")
        async with clerk.get(base + "/service") as r:
            issued = [x for x in (await r.json())["links"] if x["participant_id"] == "judge"]
        assert [x["status"] for x in issued] == ["issued"]  # nothing was re-issued
        async with clerk.get(base) as r:
            assert (await r.json())["hearing"]["status"] == "scheduled"
    refused = [x for x in running.app[RECORDS]._audit.read() if x["outcome"] == "denied"]
    assert [(x["actor"], x["action"], x["hearing_id"]) for x in refused] == [
        ("mia", "link.issue", hid), ("mia", "hearing.change", hid),
        ("mia", "hearing.change", hid), ("mia", "hearing.read", hid),
        ("mia", "hearing.read", hid), ("mia", "hearing.read", hid),
        ("mia", "hearing.assign", hid)]


async def test_another_clerk_cannot_cancel_or_read_a_hearing_until_assigned(
        running: Running) -> None:
    bo = await signed_in(running, "bo", "clerk")
    cy = await signed_in(running, "cy", "clerk")
    async with bo, cy:
        hid = (await create(bo, running))["hearing"]["id"]
        base = running.url + f"/api/v1/hearings/{hid}"
        async with cy.delete(base) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with cy.get(running.url + "/api/v1/hearings") as r:
            assert (await r.json())["hearings"] == []
        async with bo.put(base + "/assignment", json={"clerks": ["bo", "cy"]}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["hearing"]["clerks"] == ["bo", "cy"]
        async with cy.get(running.url + "/api/v1/hearings") as r:
            assert [h["id"] for h in (await r.json())["hearings"]] == [hid]
        async with cy.delete(base) as r:
            assert (await r.json())["hearing"]["status"] == "cancelled"
        async with bo.get(base + "/events") as r:
            types = [e["type"] for e in (await r.json())["events"]]
        assert "assigned" in types and types[-1] == "cancelled"


async def test_the_presiding_judge_reissues_links_of_their_hearing_and_no_other(
        running: Running) -> None:
    clerk = await signed_in(running, "bo", "clerk")
    ada = await signed_in(running, "ada", "judge")
    zed = await signed_in(running, "zed", "judge")
    async with clerk, ada, zed:
        created = await create(clerk, running, presiding="ada")
        hid = created["hearing"]["id"]
        assert created["hearing"]["presiding"] == "ada"
        assert created["hearing"]["clerks"] == ["bo"]
        link = running.url + f"/api/v1/hearings/{hid}/participants/judge/link"
        async with ada.post(link) as r:
            assert r.status == 201
            assert r.headers["Cache-Control"] == "no-store"
        async with zed.post(link) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with ada.get(running.url + "/api/v1/hearings") as r:
            assert [h["id"] for h in (await r.json())["hearings"]] == [hid]
        async with zed.get(running.url + "/api/v1/hearings") as r:
            assert (await r.json())["hearings"] == []


async def test_a_judge_schedules_only_hearings_they_preside_and_a_mediator_only_mediations(
        running: Running) -> None:
    ada = await signed_in(running, "ada", "judge")
    mia = await signed_in(running, "mia", "mediator")
    await running.app[STAFF].add("zed", "Zed", "judge", "correct horse battery")
    async with ada, mia:
        own = await create(ada, running)
        assert own["hearing"]["presiding"] == "ada" and own["hearing"]["clerks"] == []
        async with ada.post(running.url + "/api/v1/hearings",
                            json=hearing_body(presiding="zed")) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with mia.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert await error_of(r) == (403, "permission.denied")
        mediation = await create(mia, running, kind="mediation")
        assert mediation["hearing"]["presiding"] == "mia"


async def test_the_presiding_must_be_an_account_that_may_preside_that_kind(
        running: Running) -> None:
    bo = await signed_in(running, "bo", "clerk")
    await running.app[STAFF].add("mia", "Mia", "mediator", "correct horse battery")
    async with bo:
        for presiding in ("mia", "nobody"):
            async with bo.post(running.url + "/api/v1/hearings",
                               json=hearing_body(presiding=presiding)) as r:
                assert await error_of(r) == (400, "hearing.bad_assignment")
        async with bo.post(running.url + "/api/v1/hearings",
                           json=hearing_body(clerks=["mia"])) as r:
            assert await error_of(r) == (400, "hearing.bad_assignment")


async def test_an_admin_manages_accounts_but_does_not_sit_in_hearings(
        running: Running) -> None:
    root = await signed_in(running, "root", "admin")
    bo = await signed_in(running, "bo", "clerk")
    async with root, bo:
        hid = (await create(bo, running))["hearing"]["id"]
        async with root.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with root.get(running.url + f"/api/v1/hearings/{hid}") as r:
            assert await error_of(r) == (403, "permission.denied")
        async with root.get(running.url + "/api/v1/hearings") as r:
            assert await error_of(r) == (403, "permission.denied")
        async with bo.get(running.url + "/api/v1/staff") as r:
            assert await error_of(r) == (403, "permission.denied")
        async with root.get(running.url + "/api/v1/staff") as r:
            assert {a["username"] for a in (await r.json())["staff"]} == {"root", "bo"}


async def test_an_api_key_works_in_its_scope_on_the_hearings_it_scheduled(
        running: Running) -> None:
    staff = running.app[STAFF]
    cms = await staff.create_api_key("cms", "clerk")
    other = await staff.create_api_key("other", "clerk")
    reader = await staff.create_api_key("archive", "clerk", ("records",))
    async with ClientSession(headers={"Authorization": f"Bearer {cms}"}) as s:
        created = await create(s, running)
        hid = created["hearing"]["id"]
        assert created["hearing"]["clerks"] == ["api:cms"]
        async with s.post(running.url
                          + f"/api/v1/hearings/{hid}/participants/party/link") as r:
            assert r.status == 201
    async with ClientSession(headers={"Authorization": f"Bearer {other}"}) as s:
        async with s.delete(running.url + f"/api/v1/hearings/{hid}") as r:
            assert await error_of(r) == (403, "permission.denied")
    async with ClientSession(headers={"Authorization": f"Bearer {reader}"}) as s:
        async with s.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert await error_of(r) == (403, "permission.denied")


async def test_records_of_a_hearing_are_served_only_to_its_seats(running: Running) -> None:
    from tests.api.test_records import HID, make_record

    await make_record(running)  # presided by judge1, clerk1 assigned
    zed = await signed_in(running, "zed", "judge")
    cy = await signed_in(running, "cy", "clerk")
    judge1 = await signed_in(running, "judge1", "judge")
    async with zed, cy, judge1:
        for s in (zed, cy):
            async with s.get(running.url + f"/api/v1/recordings/{HID}/manifest") as r:
                assert await error_of(r) == (403, "permission.denied")
            async with s.get(running.url + "/api/v1/recordings") as r:
                assert (await r.json())["recordings"] == []
        async with judge1.get(running.url + "/api/v1/recordings") as r:
            assert [x["hearing_id"] for x in (await r.json())["recordings"]] == [HID]
    refused = [(x["actor"], x["outcome"]) for x in running.app[RECORDS]._audit.read()
               if x["outcome"] == "denied"]
    assert refused == [("zed", "denied"), ("cy", "denied")]
