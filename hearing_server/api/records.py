"""``/api/v1/recordings``: case records for authorised staff, every access audited
with its true outcome: ``denied`` (not signed in, or a role that may not read
recordings), ``failed`` (allowed, but the request failed: no such record, bad
range, disk error) or ``allowed`` (served)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from ..auth.authz import Action, permits
from ..domain.errors import AuthError, Code, HearingError, Kind, PermissionDenied
from ..services.player import PlayerService
from ..services.records import RecordsService
from ..store.audit import ALLOWED, DENIED, FAILED
from . import models as m
from .openapi import Query, operation
from .routes import HEARINGS, reply, staff_claims

RECORDS: web.AppKey[RecordsService] = web.AppKey("records", RecordsService)
EXPORTS: web.AppKey[Path] = web.AppKey("exports", Path)
PLAYER: web.AppKey[PlayerService] = web.AppKey("player", PlayerService)

routes = web.RouteTableDef()


@asynccontextmanager
async def _access(request: web.Request, action: str, hearing_id: str | None,
                  detail: str = "") -> AsyncIterator[RecordsService]:
    """Authorise, run the body, then log what happened (one audit line per request)."""
    records = request.app[RECORDS]
    address = request.remote or ""
    try:
        who = await staff_claims(request)
    except AuthError as exc:
        await records.outcome("anonymous", action, hearing_id, DENIED,
                              f"not signed in ({exc.code})", address)
        raise
    hearing = await request.app[HEARINGS].find_one(hearing_id) if hearing_id else None
    if hearing_id and hearing is None:
        try:
            records.folder(hearing_id)  # a bad id or no record at all: say so (400/404)
        except HearingError as exc:
            await records.outcome(who.username, action, hearing_id, FAILED,
                                  _detail(detail, exc.code.value), address)
            raise
    await records.check_access(who, action, hearing_id, address, hearing)
    try:
        yield records
    except Exception as exc:  # any failure is logged as such (with its code), then raised
        outcome = DENIED if _refusal(exc) else FAILED
        why = str(getattr(exc, "code", "") or type(exc).__name__)
        await records.outcome(who.username, action, hearing_id, outcome,
                              _detail(detail, why), address)
        raise
    await records.outcome(who.username, action, hearing_id, ALLOWED, detail, address)


@asynccontextmanager
async def audit_event_log_read(request: web.Request, hearing_id: str) -> AsyncIterator[None]:
    """Audit a read of a hearing's event log (``read_events``) with its outcome; the
    body authorises (the caller's own rule) and reads."""
    audit = request.app[RECORDS].audit_log
    address = request.remote or ""
    actor = "anonymous"
    try:
        actor = (await staff_claims(request)).username
    except HearingError:
        pass
    try:
        yield
    except Exception as exc:
        if isinstance(exc, PermissionDenied):
            raise  # the authorisation check has logged the refusal already
        outcome = DENIED if _refusal(exc) else FAILED
        why = str(getattr(exc, "code", "") or type(exc).__name__)
        await audit.record(actor, "read_events", hearing_id, outcome, why, address)
        raise
    await audit.record(actor, "read_events", hearing_id, ALLOWED, "", address)


def _refusal(exc: Exception) -> bool:
    """Whether an error refused the access (logged as denied) rather than failed it."""
    return isinstance(exc, HearingError) and exc.kind in (Kind.UNAUTHENTICATED, Kind.DENIED)


def _detail(detail: str, why: str) -> str:
    return f"{detail} ({why})" if detail else why


@routes.get("/api/v1/recordings")
@operation("listRecords", "Case records the caller may read", response=m.RecordList,
           tag="records", query=(Query("case_number", "only this case"),
                                 Query("date", "YYYY-MM-DD"), Query("hearing_id", "one hearing")))
async def list_records(request: web.Request) -> web.Response:
    async with _access(request, "list", request.query.get("hearing_id"),
                       request.query_string) as records:
        items = await records.find(request.query.get("case_number"), request.query.get("date"),
                                   request.query.get("hearing_id"))
        who = await staff_claims(request)
        hearings = request.app[HEARINGS]
        mine = [i for i in items if permits(who, Action.RECORDS_READ,
                                            await hearings.find_one(i["hearing_id"]))]
    return reply(m.RecordList(recordings=mine))


@routes.get("/api/v1/recordings/{id}/manifest")
@operation("getManifest", "The record's signed manifest", tag="records",
           content="application/json")
async def manifest(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    async with _access(request, "read_manifest", hid) as records:
        data = await records.manifest(hid)
    return web.json_response(data)


@routes.get("/api/v1/recordings/{id}/attendance")
@operation("getAttendance", "Who was present when", tag="records",
           content="application/json")
async def attendance(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    async with _access(request, "read_attendance", hid) as records:
        data = await records.attendance(hid)
    return web.json_response(data)


@routes.get("/api/v1/recordings/{id}/files/{path:.+}")
@operation("getRecordFile", "Stream (HTTP Range) or download a file listed in the manifest",
           tag="records", content="application/octet-stream",
           query=(Query("download", "1: as an attachment"),),
           params=(("path", "the file's path in the manifest"),))
async def file(request: web.Request) -> web.StreamResponse:
    hid, rel = request.match_info["id"], request.match_info["path"]
    action = "download" if request.query.get("download") else "play"
    async with _access(request, action, hid, rel) as records:
        path = await records.file(hid, rel)
        if "Range" in request.headers:
            try:
                request.http_range  # noqa: B018  (parses the header; ValueError when malformed)
            except ValueError as exc:
                raise HearingError("the Range header is malformed",
                                   code=Code.RANGE_INVALID) from exc
    headers = {"Cache-Control": "private, no-store"}
    if action == "download":
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    content_type = "video/webm" if path.suffix == ".webm" else None
    if content_type:
        headers["Content-Type"] = content_type
    return web.FileResponse(path, headers=headers)


@routes.get("/api/v1/recordings/{id}/export")
@operation("exportRecord", "The whole record as one zip bundle", tag="records",
           content="application/zip")
async def export(request: web.Request) -> web.StreamResponse:
    hid = request.match_info["id"]
    async with _access(request, "export", hid) as records:
        bundle = await records.export(hid, request.app[EXPORTS])
    return web.FileResponse(bundle, headers={
        "Content-Disposition": f'attachment; filename="{bundle.name}"',
        "Content-Type": "application/zip", "Cache-Control": "private, no-store"})


@routes.post("/api/v1/recordings/{id}/verify")
@operation("verifyRecord", "Verify the record (hashes, chain, signature)", tag="records",
           content="application/json")
async def verify(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    async with _access(request, "verify", hid) as records:
        report = await records.verify(hid)
    return web.json_response(report)


@routes.post("/api/v1/recordings/{id}/composite")
@operation("renderComposite", "Render the composite viewing copy (a background job)",
           response=m.CompositeJob, status=202, tag="records")
async def start_composite(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    async with _access(request, "render_composite", hid) as records:
        job = await records.start_composite(hid, request.app[EXPORTS])
    return web.json_response(job.to_dict(), status=202)


@routes.get("/api/v1/recordings/{id}/composite")
@operation("getComposite", "The composite job's progress, or the file with ?file=1",
           response=m.CompositeJob, tag="records", query=(Query("file", "1: the video"),))
async def composite_status(request: web.Request) -> web.StreamResponse:
    hid = request.match_info["id"]
    want_file = request.query.get("file") == "1"
    async with _access(request, "play_composite" if want_file else "composite_status",
                       hid) as records:
        job = records.composite(hid)
        if want_file and (job.state != "done" or job.path is None):
            raise HearingError("the composite is not ready",
                               code=Code.RECORDS_COMPOSITE_NOT_READY)
    if want_file and job.path is not None:
        return web.FileResponse(job.path, headers={"Content-Type": "video/webm",
                                                   "Cache-Control": "private, no-store"})
    return web.json_response(job.to_dict())


@routes.get("/api/v1/recordings/{id}/player")
@operation("getPlayer", "The record player's data: one timeline, one lane per person and "
           "source with its segments, markers, unrecorded periods, minutes", tag="records",
           content="application/json")
async def player(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    async with _access(request, "play", hid, "player"):
        data = await request.app[PLAYER].player(hid)
    return web.json_response(data, headers={"Cache-Control": "private, no-store"})


@routes.get("/api/v1/recordings/{id}/lanes/{track}")
@operation("getLane", "One person's track as one continuous file (segments remuxed, "
           "never transcoded; pauses stay gaps)", tag="records",
           content="application/octet-stream",
           query=(Query("download", "1: as an attachment"),),
           params=(("track", "the track name from the player's data"),))
async def lane(request: web.Request) -> web.StreamResponse:
    hid, track = request.match_info["id"], request.match_info["track"]
    action = "download" if request.query.get("download") else "play"
    async with _access(request, action, hid, f"lane {track}"):
        path = await request.app[PLAYER].lane_file(hid, track)
    headers = {"Cache-Control": "private, no-store",
               "Content-Type": "video/webm" if path.suffix == ".webm" else "video/x-matroska"}
    if action == "download":
        headers["Content-Disposition"] = f'attachment; filename="{hid}-{track}{path.suffix}"'
    return web.FileResponse(path, headers=headers)
