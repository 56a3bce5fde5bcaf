"""The REST API: staff sign-in, API keys, hearings, links, service record, errors."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession

from hearing_server.app import STAFF
from tests.conftest import Running, staff_session, token_of
from tests.when import tomorrow

HEARING = {
    "case_number": "C-2026-042", "title": "Doe v. Roe", "kind": "hearing",
    "scheduled_at": tomorrow("09:30:00+01:00"),
    "participants": [{"name": "Judge Ada", "role": "judge"}, {"name": "Sam", "role": "party"}],
}


async def test_clerk_schedules_lists_reschedules_and_cancels_a_hearing(running: Running) -> None:
    s = await staff_session(running)
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=HEARING) as r:
            assert r.status == 201
            created = await r.json()
        hid = created["hearing"]["id"]
        assert created["hearing"]["scheduled_at"] == tomorrow("08:30:00+00:00")
        assert len(created["links"]) == 2
        assert all(u.startswith(running.settings.base_url + "/join#")
                   for u in created["links"].values())
        async with s.get(running.url + "/api/v1/hearings?case_number=C-2026-042") as r:
            assert [h["id"] for h in (await r.json())["hearings"]] == [hid]
        async with s.patch(running.url + f"/api/v1/hearings/{hid}",
                           json={"scheduled_at": tomorrow("10:00:00Z")}) as r:
            assert (await r.json())["hearing"]["scheduled_at"].startswith(tomorrow("10:00"))
        async with s.delete(running.url + f"/api/v1/hearings/{hid}") as r:
            assert (await r.json())["hearing"]["status"] == "cancelled"
        async with s.get(running.url + f"/api/v1/hearings/{hid}/events") as r:
            types = [e["type"] for e in (await r.json())["events"]]
        assert types[:1] == ["scheduled"] and "rescheduled" in types and "cancelled" in types


async def test_link_opening_is_recorded_once_in_the_service_record(running: Running) -> None:
    s = await staff_session(running)
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=HEARING) as r:
            created = await r.json()
        hid = created["hearing"]["id"]
        party_id = next(p["id"] for p in created["hearing"]["participants"]
                        if p["role"] == "party")
        token = token_of(created["links"][party_id])
        async with ClientSession(headers={"User-Agent": "TestBrowser/1.0"}) as anon:
            for _ in range(2):
                async with anon.post(running.url + "/api/v1/join", json={"token": token}) as r:
                    info = await r.json()
                    assert info["you"]["role"] == "party"
                    assert info["hearing"]["case_number"] == "C-2026-042"
        async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
            links = {x["participant_id"]: x for x in (await r.json())["links"]}
        assert links[party_id]["status"] == "opened"
        assert links[party_id]["opened_user_agent"] == "TestBrowser/1.0"
        assert links[party_id]["opened_from"] == "127.0.0.1"
        async with s.post(running.url
                          + f"/api/v1/hearings/{hid}/participants/{party_id}/link") as r:
            assert r.status == 201
        async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
            statuses = [x["status"] for x in (await r.json())["links"]
                        if x["participant_id"] == party_id]
        assert statuses == ["revoked", "issued"]
        async with s.get(running.url + f"/api/v1/hearings/{hid}/events") as r:
            opened = [e for e in (await r.json())["events"] if e["type"] == "link_opened"]
        assert len(opened) == 1


async def test_api_key_authorises_a_case_management_system(running: Running) -> None:
    key = await running.app[STAFF].create_api_key("cms", "clerk")
    async with ClientSession(headers={"Authorization": f"Bearer {key}"}) as s:
        async with s.post(running.url + "/api/v1/hearings", json=HEARING) as r:
            assert r.status == 201
    async with ClientSession(headers={"Authorization": "Bearer hsk_wrong"}) as s:
        async with s.get(running.url + "/api/v1/hearings") as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "auth.invalid_api_key"


async def test_bad_requests_get_stable_error_codes(running: Running) -> None:
    async with ClientSession() as anon:
        async with anon.get(running.url + "/api/v1/hearings") as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "auth.required"
        async with anon.post(running.url + "/api/v1/session",
                             json={"username": "x", "password": "wrong-password"}) as r:
            assert (await r.json())["error"]["code"] == "auth.invalid_credentials"
        async with anon.get(running.url + "/api/v1/nothing") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "route.not_found"
        async with anon.post(running.url + "/api/v1/join", json={"token": "bad"}) as r:
            assert (await r.json())["error"]["code"] == "token.malformed"
    s = await staff_session(running)
    async with s:
        cases = [
            (b"{not json", "input.not_json"),
            (b"[]", "input.invalid"),
            (b'{"case_number": "C-1"}', "input.invalid"),
        ]
        for raw, code in cases:
            async with s.post(running.url + "/api/v1/hearings", data=raw,
                              headers={"Content-Type": "application/json"}) as r:
                assert r.status == 400
                assert (await r.json())["error"]["code"] == code
        bad = {**HEARING, "participants": [{"name": "X", "role": "king"}]}
        async with s.post(running.url + "/api/v1/hearings", json=bad) as r:
            assert (await r.json())["error"]["code"] == "role.unknown"
        no_judge = {**HEARING, "participants": [{"name": "X", "role": "party"}]}
        async with s.post(running.url + "/api/v1/hearings", json=no_judge) as r:
            assert (await r.json())["error"]["code"] == "hearing.no_host"
        naive = {**HEARING, "scheduled_at": tomorrow("09:30:00")}
        async with s.post(running.url + "/api/v1/hearings", json=naive) as r:
            assert (await r.json())["error"]["code"] == "input.invalid"
        async with s.post(running.url + "/api/v1/hearings", data=b"x" * 300_000) as r:
            assert r.status == 413
        async with s.get(running.url + "/api/v1/hearings/h_nope") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "hearing.not_found"


async def test_hearing_definitions_survive_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    from hearing_server.app import build_tokens
    from hearing_server.services.hearings import HearingService
    from hearing_server.settings import Settings
    from hearing_server.store.eventlog import EventLog
    from hearing_server.store.local import LocalStore

    data = Path(str(tmp_path)) / "d"
    settings = Settings(data_dir=data)
    data.mkdir()
    store = LocalStore(data / "hearings.sqlite3")
    service = HearingService(store, build_tokens(settings), EventLog(data / "h"), "http://x")
    hearing, _ = await service.create(HEARING, "t")
    await store.close()
    store2 = LocalStore(data / "hearings.sqlite3")
    again = await store2.get_hearing(hearing.id)
    await store2.close()
    assert again == hearing


async def test_health_and_prometheus_metrics_are_served(running: Running) -> None:
    async with ClientSession() as anon:
        async with anon.get(running.url + "/healthz") as r:
            assert (await r.json())["status"] == "ok"
        async with anon.get(running.url + "/metrics") as r:
            text = await r.text()
    assert "hearing_relay_peers 0.0" in text
    assert 'hearing_relay_forward_delay_seconds_bucket{kind="audio",le="+Inf"}' in text


async def test_clerk_sees_the_live_links_again_without_revoking_them(running: Running) -> None:
    s = await staff_session(running)
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=HEARING) as r:
            created = await r.json()
        hid = created["hearing"]["id"]
        party_id = next(p["id"] for p in created["hearing"]["participants"]
                        if p["role"] == "party")
        async with s.get(running.url + f"/api/v1/hearings/{hid}/links") as r:
            assert r.status == 200
            assert r.headers["Cache-Control"].startswith("no-store")
            shown = (await r.json())["links"]
        assert shown == created["links"]
        async with s.post(running.url
                          + f"/api/v1/hearings/{hid}/participants/{party_id}/link") as r:
            newer = (await r.json())["link"]
        async with s.get(running.url + f"/api/v1/hearings/{hid}/links") as r:
            assert (await r.json())["links"][party_id] == newer
        async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
            statuses = sorted(x["status"] for x in (await r.json())["links"])
        assert statuses.count("revoked") == 1
        async with ClientSession() as anon:
            async with anon.post(running.url + "/api/v1/join",
                                 json={"token": token_of(newer)}) as r:
                assert r.status == 200
        async with s.get(running.url + f"/api/v1/hearings/{hid}/events") as r:
            types = [e["type"] for e in (await r.json())["events"]]
        assert types.count("links_shown") == 2


async def test_clerk_adds_a_participant_who_gets_a_working_link(running: Running) -> None:
    s = await staff_session(running)
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=HEARING) as r:
            hid = (await r.json())["hearing"]["id"]
        url = running.url + f"/api/v1/hearings/{hid}/participants"
        async with s.post(url, json={"name": "Wanda", "role": "witness"}) as r:
            assert r.status == 201
            added = await r.json()
        pid = added["participant_id"]
        assert {"id": pid, "name": "Wanda", "role": "witness",
                "language": ""} in added["hearing"]["participants"]
        async with ClientSession() as anon:
            async with anon.post(running.url + "/api/v1/join",
                                 json={"token": token_of(added["link"])}) as r:
                assert (await r.json())["you"]["role"] == "witness"
        for bad, code in [({"name": "", "role": "party"}, "input.invalid"),
                          ({"name": "X", "role": "king"}, "input.invalid"),
                          ({"name": "X", "role": "party", "id": pid}, "input.invalid")]:
            async with s.post(url, json=bad) as r:
                assert r.status == 400, bad
                assert (await r.json())["error"]["code"] in (code, "role.unknown")
        async with s.get(running.url + f"/api/v1/hearings/{hid}/events") as r:
            added_events = [e for e in (await r.json())["events"]
                            if e["type"] == "participant_added"]
        assert [(e["subject"], e["role"]) for e in added_events] == [(pid, "witness")]
        async with s.delete(running.url + f"/api/v1/hearings/{hid}") as r:
            assert r.status == 200
        async with s.post(url, json={"name": "Late", "role": "party"}) as r:
            assert (await r.json())["error"]["code"] == "hearing.cancelled"


async def test_clerk_closes_a_hearing_nobody_adjourned_and_its_record_is_sealed(
        running: Running) -> None:
    from hearing_server.api.routes import HEARINGS
    from hearing_server.app import STORE
    from hearing_server.domain.session import Phase
    from tests.when import soon

    def sitting(session: Any) -> None:
        session.phase = Phase.IN_SESSION

    s = await staff_session(running)
    async with s:
        ids = {}
        for name, at in [("sits", soon()), ("overran", soon(-90)), ("idle", soon())]:
            async with s.post(running.url + "/api/v1/hearings",
                              json={**HEARING, "case_number": f"C-{name}",
                                    "scheduled_at": at}) as r:
                ids[name] = (await r.json())["hearing"]["id"]
        for name in ("sits", "overran"):
            hearing = await running.app[HEARINGS].get(ids[name])
            await running.app[STORE].update_session(hearing, sitting)
        # in session before its end: the court adjourns it, the clerk may not close it
        async with s.post(running.url + f"/api/v1/hearings/{ids['sits']}/close") as r:
            assert r.status == 409
            assert (await r.json())["error"]["code"] == "hearing.in_session"
        for name in ("overran", "idle"):
            async with s.post(running.url + f"/api/v1/hearings/{ids[name]}/close") as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["state"]["phase"] == "adjourned"
            async with s.get(running.url + f"/api/v1/hearings/{ids[name]}/events") as r:
                types = [e["type"] for e in (await r.json())["events"]]
            assert "closed" in types and "record_sealed" in types, types
            async with s.post(running.url + f"/api/v1/hearings/{ids[name]}/close") as r:
                assert (await r.json())["error"]["code"] == "hearing.adjourned"
        async with s.get(running.url + f"/api/v1/recordings?hearing_id={ids['idle']}") as r:
            assert [x["sealed"] for x in (await r.json())["recordings"]] == [True]
