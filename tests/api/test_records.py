"""Clerks retrieve case records: list, manifest, Range streaming, export, verify,
composite; refusals and every access land in the hash-chained audit log."""

from __future__ import annotations

import asyncio
import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import ClientSession

from hearing_server.api.records import RECORDS
from hearing_server.app import STORE
from hearing_server.domain.hearing import Hearing, HearingKind, ParticipantSpec
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role
from recording.manifest import Manifest
from recording.signing import load_or_create_key
from recording.verify import verify_folder
from tests.conftest import Running, schedule, staff_session
from tests.recording.hearing import sealed_hearing

HID = "h_recorded"


async def make_record(running: Running) -> Path:
    """A sealed record of hearing HID, presided by ``judge1`` with ``clerk1`` assigned
    (the accounts ``staff_session`` signs in)."""
    await running.app[STORE].save_hearing(Hearing(
        id=HearingId(HID), case_number="C-1", title="Recorded", kind=HearingKind.HEARING,
        scheduled_at=datetime(2026, 12, 1, 10, tzinfo=UTC), duration_minutes=60,
        participants=(ParticipantSpec(ParticipantId("judge"), "Judge", Role.JUDGE),),
        presiding="judge1", clerks=("clerk1",)))
    data = running.settings.data_dir
    signer = load_or_create_key(data / "node_ed25519.pem")
    folder = data / "records" / HID
    await asyncio.to_thread(sealed_hearing, folder, signer, None, HID)
    return folder


async def test_clerk_lists_reads_streams_exports_and_verifies_a_record(running: Running) -> None:
    folder = await make_record(running)
    s = await staff_session(running, "clerk")
    base = running.url + f"/api/v1/recordings/{HID}"
    async with s:
        async with s.get(running.url + "/api/v1/recordings") as r:
            items = (await r.json())["recordings"]
        assert [i["hearing_id"] for i in items] == [HID] and items[0]["sealed"] is True
        async with s.get(base + "/manifest") as r:
            manifest = await r.json()
        media = [e["path"] for e in manifest["entries"] if e.get("media")]
        path = media[0]
        whole = (folder / path).read_bytes()
        async with s.get(base + f"/files/{path}", headers={"Range": "bytes=10-99"}) as r:
            assert r.status == 206
            assert await r.read() == whole[10:100]
            assert r.headers["Content-Range"] == f"bytes 10-99/{len(whole)}"
        async with s.get(base + f"/files/{path}?download=1") as r:
            assert r.status == 200 and await r.read() == whole
            assert "attachment" in r.headers["Content-Disposition"]
        async with s.post(base + "/verify") as r:
            report = await r.json()
        assert report["ok"] is True and report["problems"] == []
        async with s.get(base + "/export") as r:
            assert r.status == 200
            bundle = await r.read()
    zip_path = running.settings.data_dir / "downloaded.zip"
    zip_path.write_bytes(bundle)
    assert zipfile.ZipFile(io.BytesIO(bundle)).testzip() is None
    assert verify_folder(zip_path).ok


async def test_bad_paths_ids_and_ranges_get_clear_errors_and_serve_nothing(
        running: Running) -> None:
    folder = await make_record(running)
    (folder / "not-listed.txt").write_text("secret")
    s = await staff_session(running, "clerk")
    base = running.url + f"/api/v1/recordings/{HID}"
    async with s:
        async with s.get(base + "/manifest") as r:
            path = next(e["path"] for e in (await r.json())["entries"] if e.get("media"))
        size = (folder / path).stat().st_size
        cases = [
            (base + "/files/not-listed.txt", 404, "records.file_not_found"),
            (base + "/files/%2e%2e/%2e%2e/secret.key", 404, "route.not_found"),
            (base + "/files/..%2F..%2Fsecret.key", 404, "records.file_not_found"),
            (running.url + "/api/v1/recordings/h_other/manifest", 404, "records.not_found"),
            (running.url + "/api/v1/recordings/..%2Frecords/manifest", 400, "records.bad_id"),
        ]
        for url, status, code in cases:
            async with s.get(url) as r:
                assert r.status == status, (url, r.status, await r.text())
                assert (await r.json())["error"]["code"] == code, url
        for bad in ("bytes=abc", "lines=1-2", "bytes=5-1"):
            async with s.get(base + f"/files/{path}", headers={"Range": bad}) as r:
                assert r.status == 416, bad
        async with s.get(base + f"/files/{path}",
                         headers={"Range": f"bytes={size + 10}-{size + 20}"}) as r:
            assert r.status == 416


async def test_refused_and_allowed_accesses_are_in_the_chained_audit_log(
        running: Running) -> None:
    await make_record(running)
    base = running.url + f"/api/v1/recordings/{HID}"
    async with ClientSession() as anon:
        async with anon.get(base + "/manifest") as r:
            assert r.status == 401
    mediator = await staff_session(running, "mediator")
    async with mediator:
        async with mediator.get(base + "/manifest") as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "records.forbidden"
    clerk = await staff_session(running, "clerk")
    async with clerk:
        async with clerk.get(base + "/manifest") as r:
            assert r.status == 200
    audit = running.app[RECORDS]._audit
    lines = audit.read()
    assert [(x["actor"], x["outcome"]) for x in lines] == [
        ("anonymous", "denied"), ("mediator1", "denied"), ("clerk1", "allowed")]
    assert audit.verify() == (True, None)
    text = audit.path.read_text().replace("mediator1", "mediator2", 1)
    audit.path.write_text(text)
    assert audit.verify() == (False, 1)


async def test_composite_viewing_copy_is_rendered_on_demand_with_progress(
        running: Running) -> None:
    await make_record(running)
    s = await staff_session(running, "judge")
    base = running.url + f"/api/v1/recordings/{HID}/composite"
    async with s:
        async with s.post(base) as r:
            assert r.status == 202
        for _ in range(300):
            async with s.get(base) as r:
                job = await r.json()
            if job["state"] != "running":
                break
            await asyncio.sleep(0.1)
        assert job["state"] == "done" and job["progress"] == 1.0, job
        async with s.get(base + "?file=1") as r:
            assert r.status == 200
            assert (await r.read())[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file


async def verify_on_node(running: Running, hid: str = HID) -> dict[str, object]:
    s = await staff_session(running, "clerk")
    async with s, s.post(running.url + f"/api/v1/recordings/{hid}/verify") as r:
        assert r.status == 200, await r.text()
        report: dict[str, object] = await r.json()
    return report


def codes_of(report: dict[str, object]) -> set[str]:
    problems = report["problems"]
    assert isinstance(problems, list)
    return {p["code"] for p in problems}


async def test_node_detects_a_rollback_to_an_earlier_signed_manifest(running: Running) -> None:
    folder = await make_record(running)
    first = await verify_on_node(running)  # the node registers the seal it sees
    assert first["ok"] is True and first["registered"] is True
    signer = load_or_create_key(running.settings.data_dir / "node_ed25519.pem")

    def roll_back() -> None:
        # An earlier state, validly signed by the node key (as while recording).
        manifest = Manifest.load(folder)
        kept = manifest.entries[:3]
        earlier = Manifest(folder, HID, manifest.case_number, signer=signer,
                           created_at=manifest.created_at, entries=kept)
        earlier.save()
        (folder / "seal.json").unlink()
        for entry in manifest.entries[3:]:
            (folder / entry.path).unlink()

    await asyncio.to_thread(roll_back)
    assert (await asyncio.to_thread(verify_folder, folder)).ok  # alone it looks fine
    report = await verify_on_node(running)
    assert report["ok"] is False and codes_of(report) == {"seal.rollback"}


async def test_record_copied_under_another_hearings_id_fails_on_the_node(
        running: Running) -> None:
    folder = await make_record(running)
    await asyncio.to_thread(shutil.copytree, folder, folder.with_name("h_other"))
    # another hearing of this court, with the same clerk: only the record is foreign
    await running.app[STORE].save_hearing(Hearing(
        id=HearingId("h_other"), case_number="C-9", title="Other", kind=HearingKind.HEARING,
        scheduled_at=datetime(2026, 12, 1, 10, tzinfo=UTC), duration_minutes=60,
        participants=(ParticipantSpec(ParticipantId("judge"), "Judge", Role.JUDGE),),
        presiding="judge1", clerks=("clerk1",)))
    report = await verify_on_node(running, "h_other")
    assert report["ok"] is False and codes_of(report) == {"hearing.mismatch"}
    assert "records" not in str(report["source"])  # no server paths in the answer


async def test_failed_and_denied_accesses_are_audited_as_such(running: Running) -> None:
    await make_record(running)
    clerk = await staff_session(running, "clerk")
    async with clerk:
        async with clerk.get(running.url + "/api/v1/recordings/h_missing/manifest") as r:
            assert r.status == 404
        async with clerk.get(running.url + f"/api/v1/recordings/{HID}/files/nope.txt") as r:
            assert r.status == 404
    audit = running.app[RECORDS].audit_log
    assert [(x["actor"], x["action"], x["outcome"], x["detail"]) for x in audit.read()] == [
        ("clerk1", "read_manifest", "failed", "records.not_found"),
        ("clerk1", "play", "failed", "nope.txt (records.file_not_found)"),
    ]
    assert audit.verify() == (True, None)


async def test_event_log_reads_through_the_api_are_audited(running: Running) -> None:
    clerk = await staff_session(running, "clerk")
    h = await schedule(running, clerks=("clerk1",))
    url = running.url + f"/api/v1/hearings/{h.hearing_id}/events"
    async with ClientSession() as anon, anon.get(url) as r:
        assert r.status == 401
    async with clerk, clerk.get(url) as r:
        assert r.status == 200
        assert [e["type"] for e in (await r.json())["events"]][:1] == ["scheduled"]
    lines = running.app[RECORDS].audit_log.read()
    assert [(x["actor"], x["action"], x["hearing_id"], x["outcome"]) for x in lines] == [
        ("anonymous", "read_events", h.hearing_id, "denied"), ("clerk1", "read_events", h.hearing_id, "allowed")]
