"""The reception desk through the real API: a visitor queues, sees their place and wait,
is taken by a clerk into a call of their own; limits, expiry, leaving, opening hours and
who may use the desk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar

from hearing_server.app import STAFF
from tests.api.helpers import PASSWORD, error_of, server


async def clerk(running: Any, username: str = "clerk1", role: str = "clerk") -> ClientSession:
    await running.app[STAFF].add(username, username, role, PASSWORD)
    s = ClientSession(cookie_jar=CookieJar(unsafe=True))
    async with s.post(running.url + "/api/v1/session",
                      json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200
    return s


async def test_a_visitor_queues_and_is_taken_into_a_call_of_their_own(tmp_path: Path) -> None:
    async with server(tmp_path) as running, ClientSession() as visitor, \
            await clerk(running) as staff:
        async with visitor.get(running.url + "/api/v1/reception") as r:
            desk = await r.json()
        assert desk["open"] is True and "Filing" in desk["topics"]
        joined = []
        for name in ("Ann Visitor", "Bob Visitor"):
            async with visitor.post(running.url + "/api/v1/reception/queue", json={
                    "name": name, "topic": "Filing", "case_number": "C-9"}) as r:
                assert r.status == 201, await r.text()
                joined.append(await r.json())
        ann, bob = joined
        assert (ann["place"], bob["place"]) == (1, 2) and bob["estimated_wait"] > 0
        assert "link" not in ann
        async with staff.get(running.url + "/api/v1/reception/desk") as r:
            view = await r.json()
        assert [v["name"] for v in view["waiting"]] == ["Ann Visitor", "Bob Visitor"]
        async with staff.post(running.url + "/api/v1/reception/take", json={}) as r:
            assert r.status == 201, await r.text()
            taken = await r.json()
        assert taken["visitor"]["visitor_id"] == ann["visitor_id"] and "/join#" in taken["link"]
        mine = {"visitor_id": ann["visitor_id"], "secret": ann["secret"]}
        async with visitor.post(running.url + "/api/v1/reception/status", json=mine) as r:
            status = await r.json()
        assert status["state"] == "taken" and "/join#" in status["link"]
        assert status["link"] != taken["link"]
        # Bob moved up; he cannot read Ann's status with his own secret, and has no link
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": ann["visitor_id"], "secret": bob["secret"]}) as r:
            assert await error_of(r) == (404, "reception.not_found")
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": bob["visitor_id"], "secret": bob["secret"]}) as r:
            b = await r.json()
        assert b["place"] == 1 and b.get("link") is None
        # the call is a hearing with the clerk and the visitor only
        async with staff.get(running.url + f"/api/v1/hearings/{taken['hearing_id']}") as r:
            hearing = (await r.json())["hearing"]
        assert sorted(p["role"] for p in hearing["participants"]) == [
            "reception", "reception", "visitor"]
        # the clerk brings in a colleague: a fresh link for the colleague's seat
        async with staff.post(running.url + f"/api/v1/hearings/{taken['hearing_id']}"
                              "/participants/colleague/link") as r:
            assert r.status == 201 and "/join#" in (await r.json())["link"]
        async with staff.get(running.url + "/api/v1/reception/desk") as r:
            [call] = (await r.json())["calls"]
        assert call["hearing_id"] == taken["hearing_id"]
        async with staff.post(running.url
                              + f"/api/v1/reception/visitors/{ann['visitor_id']}/end",
                              json={"outcome": "answered", "note": "<i>told</i> where to file"}) \
                as r:
            ended = (await r.json())["visitor"]
        assert ended["state"] == "ended" and ended["note"] == "<i>told</i> where to file"
        async with staff.get(running.url + "/api/v1/reception/log") as r:
            log = await r.json()
        assert log["summary"]["visitors"] == 2 and log["summary"]["taken"] == 1
        assert log["summary"]["by_state"] == {"ended": 1, "waiting": 1}
        async with visitor.post(running.url + "/api/v1/reception/leave", json={
                "visitor_id": bob["visitor_id"], "secret": bob["secret"]}) as r:
            assert (await r.json())["state"] == "left"
        async with staff.post(running.url + "/api/v1/reception/take",
                              json={"visitor_id": bob["visitor_id"]}) as r:
            assert await error_of(r) == (409, "reception.not_waiting")


async def test_queue_joins_are_limited_and_checked(tmp_path: Path) -> None:
    async with server(tmp_path, reception_per_address=1, reception_queue_max=5) as running, \
            ClientSession() as visitor:
        url = running.url + "/api/v1/reception/queue"
        for body, expected in [({"name": "", "topic": "Filing"}, (400, "input.invalid")),
                               ({"name": "x" * 81, "topic": "Filing"}, (400, "input.invalid")),
                               ({"name": "Ann", "topic": "Bribes"},
                                (400, "reception.topic_unknown")),
                               ({"name": "Ann"}, (400, "input.invalid"))]:
            async with visitor.post(url, json=body) as r:
                assert await error_of(r) == expected, body
        async with visitor.post(url, json={"name": "Ann", "topic": "Filing"}) as r:
            assert r.status == 201
        async with visitor.post(url, json={"name": "Ann again", "topic": "Filing"}) as r:
            assert await error_of(r) == (429, "reception.too_many")


async def test_an_abandoned_entry_expires(tmp_path: Path) -> None:
    async with server(tmp_path, reception_expire_after=0.0) as running, \
            ClientSession() as visitor, await clerk(running) as staff:
        async with visitor.post(running.url + "/api/v1/reception/queue",
                                json={"name": "Ann", "topic": "Filing"}) as r:
            ann = await r.json()
        async with staff.post(running.url + "/api/v1/reception/take", json={}) as r:
            assert await error_of(r) == (409, "reception.not_waiting")
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": ann["visitor_id"], "secret": ann["secret"]}) as r:
            assert (await r.json())["state"] == "expired"


async def test_a_closed_desk_says_when_it_opens_and_only_clerks_use_the_desk(
        tmp_path: Path) -> None:
    async with server(tmp_path, reception_hours="mon-sun 00:00-00:01") as running, \
            ClientSession() as visitor, await clerk(running, "judge1", "judge") as judge:
        async with visitor.get(running.url + "/api/v1/reception") as r:
            desk = await r.json()
        if not desk["open"]:
            assert desk["opens_at"]
            async with visitor.post(running.url + "/api/v1/reception/queue",
                                    json={"name": "Ann", "topic": "Filing"}) as r:
                status, code = await error_of(r)
            assert (status, code) == (409, "reception.closed")
        async with judge.get(running.url + "/api/v1/reception/desk") as r:
            assert (await error_of(r))[0] == 403
        async with visitor.get(running.url + "/api/v1/reception/desk") as r:
            assert (await error_of(r))[0] == 401


async def test_reception_staff_use_the_desk_and_appear_as_court_staff_to_a_visitor(
        tmp_path: Path) -> None:
    async with server(tmp_path) as running, ClientSession() as visitor, \
            await clerk(running, "desk1", "reception") as staff:
        async with visitor.post(running.url + "/api/v1/reception/queue",
                                json={"name": "Ann", "topic": "Filing"}) as r:
            ann = await r.json()
        async with staff.post(running.url + "/api/v1/reception/take", json={}) as r:
            assert r.status == 201, await r.text()
            taken = await r.json()
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": ann["visitor_id"], "secret": ann["secret"]}) as r:
            link = (await r.json())["link"]
        seen = {}
        for who, url in (("visitor", link), ("staff", taken["link"])):
            async with visitor.post(running.url + "/api/v1/join",
                                    json={"token": url.split("#", 1)[1]}) as r:
                assert r.status == 200, await r.text()
                seen[who] = (await r.json())["you"]["role"]
        assert seen == {"visitor": "visitor", "staff": "reception"}
        # the staff member reads their own call and brings in a colleague, nothing else
        async with staff.get(running.url + f"/api/v1/hearings/{taken['hearing_id']}") as r:
            assert r.status == 200
        async with staff.post(running.url + f"/api/v1/hearings/{taken['hearing_id']}"
                              "/participants/colleague/link") as r:
            assert r.status == 201
        async with staff.post(running.url + "/api/v1/hearings", json={
                "case_number": "C-1", "title": "t", "scheduled_at": "2030-01-01T10:00:00Z",
                "participants": [{"name": "J", "role": "judge"}]}) as r:
            assert (await error_of(r))[0] == 403
        async with staff.post(running.url
                              + f"/api/v1/reception/visitors/{ann['visitor_id']}/end",
                              json={"outcome": "answered", "note": ""}) as r:
            assert (await r.json())["visitor"]["taken_by"] == "desk1"


async def test_a_queued_visitor_and_a_call_are_transferred_to_another_staff_member(
        tmp_path: Path) -> None:
    async with server(tmp_path) as running, ClientSession() as visitor, \
            await clerk(running, "desk1", "reception") as one, \
            await clerk(running, "desk2", "reception") as two:
        joined = []
        for name in ("Ann", "Bob"):
            async with visitor.post(running.url + "/api/v1/reception/queue",
                                    json={"name": name, "topic": "Filing"}) as r:
                joined.append(await r.json())
        ann, bob = joined
        base = running.url + "/api/v1/reception/visitors/"
        # a queued visitor passed to desk2 keeps their place and is told
        async with one.post(base + f"{ann['visitor_id']}/transfer", json={"to": "desk2"}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["visitor"]["assigned_to"] == "desk2"
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": ann["visitor_id"], "secret": ann["secret"]}) as r:
            status = await r.json()
        assert status["place"] == 1 and status["transferred"] is True
        # desk1's next is Bob (Ann is desk2's); desk2's next is Ann
        async with one.post(running.url + "/api/v1/reception/take", json={}) as r:
            assert (await r.json())["visitor"]["visitor_id"] == bob["visitor_id"]
        async with two.post(running.url + "/api/v1/reception/take", json={}) as r:
            assert (await r.json())["visitor"]["visitor_id"] == ann["visitor_id"]
        # desk1 passes Bob's call on: the call goes on with Bob's link, desk2 gets a link
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": bob["visitor_id"], "secret": bob["secret"]}) as r:
            bob_link = (await r.json())["link"]
        for bad in ("nobody", "desk1"):
            async with one.post(base + f"{bob['visitor_id']}/transfer", json={"to": bad}) as r:
                assert await error_of(r) == (400, "reception.bad_transfer"), bad
        async with two.post(base + f"{bob['visitor_id']}/transfer", json={"to": "desk1"}) as r:
            assert await error_of(r) == (409, "reception.not_waiting")
        async with one.post(base + f"{bob['visitor_id']}/transfer", json={"to": "desk2"}) as r:
            assert (await r.json())["visitor"]["taken_by"] == "desk2"
        async with one.get(running.url + "/api/v1/reception/desk") as r:
            assert (await r.json())["calls"] == []
        async with two.get(running.url + "/api/v1/reception/desk") as r:
            calls = {c["visitor_id"]: c for c in (await r.json())["calls"]}
        assert "/join#" in calls[bob["visitor_id"]]["link"]
        for url in (bob_link, calls[bob["visitor_id"]]["link"]):
            async with visitor.post(running.url + "/api/v1/join",
                                    json={"token": url.split("#", 1)[1]}) as r:
                assert r.status == 200, await r.text()
        async with two.get(running.url
                           + f"/api/v1/hearings/{calls[bob['visitor_id']]['hearing_id']}") as r:
            assert (await r.json())["hearing"]["clerks"] == ["desk2"]
        async with two.post(base + f"{bob['visitor_id']}/end",
                            json={"outcome": "answered", "note": ""}) as r:
            assert (await r.json())["visitor"]["state"] == "ended"


async def test_a_recorded_reception_call_is_sealed_into_a_reception_record(
        tmp_path: Path) -> None:
    from bench.media import cached_clips
    from bench.participant import Participant
    from tests.relay.harness import wait_for

    async with server(tmp_path, reception_recorded=True) as running, \
            ClientSession() as visitor, await clerk(running) as staff:
        async with visitor.get(running.url + "/api/v1/reception") as r:
            assert (await r.json())["recorded"] is True  # told before joining
        async with visitor.post(running.url + "/api/v1/reception/queue",
                                json={"name": "Ann", "topic": "Filing"}) as r:
            ann = await r.json()
        async with staff.post(running.url + "/api/v1/reception/take", json={}) as r:
            taken = await r.json()
        async with visitor.post(running.url + "/api/v1/reception/status", json={
                "visitor_id": ann["visitor_id"], "secret": ann["secret"]}) as r:
            link = (await r.json())["link"]
        video, audio = cached_clips()
        desk = Participant(running.url, taken["link"].split("#", 1)[1], "staff", video, audio)
        guest = Participant(running.url, link.split("#", 1)[1], "visitor", video, audio)
        await desk.connect()
        await guest.connect()
        try:
            assert (await desk.call("admit", {"participant_id": "visitor"}))["ok"]
            assert (await desk.call("conduct", {"action": "start"}))["ok"]
            await wait_for(lambda: desk.media.frames_from("visitor", "camera") > 30, 20)
            # ending the started call at the desk adjourns it and seals its record
            async with staff.post(running.url
                                  + f"/api/v1/reception/visitors/{ann['visitor_id']}/end",
                                  json={"outcome": "answered", "note": ""}) as r:
                assert r.status == 200, await r.text()
            await wait_for(lambda: any(e == "state" and d["state"]["phase"] == "adjourned"
                                       for e, d in guest.events), 10)
        finally:
            await guest.close()
            await desk.close()
        hid = taken["hearing_id"]
        manifest: dict[str, Any] = {}

        async def sealed() -> bool:
            async with staff.get(running.url + f"/api/v1/recordings/{hid}/manifest") as r:
                manifest.update(await r.json() if r.status == 200 else {})
            return bool(manifest.get("entries"))
        for _ in range(100):
            if await sealed():
                break
        media = [e for e in manifest["entries"] if e.get("media")]
        assert media and all(e["path"].startswith("media/") for e in media), media[:1]
        assert any("visitor" in e["path"] for e in media), [e["path"] for e in media]
        async with staff.post(running.url + f"/api/v1/recordings/{hid}/verify") as r:
            assert (await r.json())["ok"] is True


async def test_an_unrecorded_reception_call_cannot_be_recorded(tmp_path: Path) -> None:
    from tests.conftest import connect

    async with server(tmp_path) as running, ClientSession() as visitor, \
            await clerk(running) as staff:
        async with visitor.get(running.url + "/api/v1/reception") as r:
            assert (await r.json())["recorded"] is False
        async with visitor.post(running.url + "/api/v1/reception/queue",
                                json={"name": "Ann", "topic": "Filing"}) as r:
            assert r.status == 201
        async with staff.post(running.url + "/api/v1/reception/take", json={}) as r:
            taken = await r.json()
        desk = await connect(running, taken["link"].split("#", 1)[1])
        try:
            assert (await desk.call("conduct", {"action": "start"}))["ok"]
            ack = await desk.call("recording", {"action": "start"})
            assert ack["ok"] is False and ack["error"]["code"] == "reception.not_recorded", ack
            state = await desk.wait("state", predicate=lambda d: d["state"]["phase"]
                                    == "in_session")
            assert state["state"]["recording"] == "off"
        finally:
            await desk.close()
