"""``/api/v1/recordings``: case records for authorised staff, every access audited."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..auth.authz import Action, permits
from ..domain.errors import AuthError, Code, HearingError, InvalidInput
from ..services.records import RecordsService
from .routes import HEARINGS, staff_claims

RECORDS: web.AppKey[RecordsService] = web.AppKey("records", RecordsService)
EXPORTS: web.AppKey[Path] = web.AppKey("exports", Path)

routes = web.RouteTableDef()


async def _allowed(request: web.Request, action: str, hearing_id: str | None,
                   detail: str = "") -> RecordsService:
    records = request.app[RECORDS]
    address = request.remote or ""
    try:
        who = await staff_claims(request)
    except AuthError:
        records.refuse("anonymous", action, hearing_id, "not signed in", address)
        raise
    hearing = await request.app[HEARINGS].find_one(hearing_id) if hearing_id else None
    if hearing_id and hearing is None:
        records.folder(hearing_id)  # a bad id or no record at all: say so (400/404)
    records.authorise(who, action, hearing_id, address, detail, hearing)
    return records


@routes.get("/api/v1/recordings")
async def list_records(request: web.Request) -> web.Response:
    records = await _allowed(request, "list", request.query.get("hearing_id"),
                             request.query_string)
    items = await records.find(request.query.get("case_number"), request.query.get("date"),
                               request.query.get("hearing_id"))
    who = await staff_claims(request)
    hearings = request.app[HEARINGS]
    mine = [i for i in items if permits(who, Action.RECORDS_READ,
                                        await hearings.find_one(i["hearing_id"]))]
    return web.json_response({"recordings": mine})


@routes.get("/api/v1/recordings/{id}/manifest")
async def manifest(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    records = await _allowed(request, "read_manifest", hid)
    return web.json_response(records.manifest(hid))


@routes.get("/api/v1/recordings/{id}/attendance")
async def attendance(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    records = await _allowed(request, "read_attendance", hid)
    return web.json_response(records.attendance(hid))


@routes.get("/api/v1/recordings/{id}/files/{path:.+}")
async def file(request: web.Request) -> web.StreamResponse:
    hid, rel = request.match_info["id"], request.match_info["path"]
    action = "download" if request.query.get("download") else "play"
    records = await _allowed(request, action, hid, rel)
    path = records.file(hid, rel)
    if "Range" in request.headers:
        try:
            request.http_range  # noqa: B018  (parses the header; ValueError when malformed)
        except ValueError as exc:
            raise HearingError("the Range header is malformed", code=Code.RANGE_INVALID) from exc
    headers = {"Cache-Control": "private, no-store"}
    if action == "download":
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    content_type = "video/webm" if path.suffix == ".webm" else None
    if content_type:
        headers["Content-Type"] = content_type
    return web.FileResponse(path, headers=headers)


@routes.get("/api/v1/recordings/{id}/export")
async def export(request: web.Request) -> web.StreamResponse:
    hid = request.match_info["id"]
    records = await _allowed(request, "export", hid)
    bundle = await records.export(hid, request.app[EXPORTS])
    return web.FileResponse(bundle, headers={
        "Content-Disposition": f'attachment; filename="{bundle.name}"',
        "Content-Type": "application/zip", "Cache-Control": "private, no-store"})


@routes.post("/api/v1/recordings/{id}/verify")
async def verify(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    records = await _allowed(request, "verify", hid)
    return web.json_response(await records.verify(hid))


@routes.post("/api/v1/recordings/{id}/composite")
async def start_composite(request: web.Request) -> web.Response:
    hid = request.match_info["id"]
    records = await _allowed(request, "render_composite", hid)
    job = records.start_composite(hid, request.app[EXPORTS])
    return web.json_response(job.to_dict(), status=202)


@routes.get("/api/v1/recordings/{id}/composite")
async def composite_status(request: web.Request) -> web.StreamResponse:
    hid = request.match_info["id"]
    want_file = request.query.get("file") == "1"
    records = await _allowed(request, "play_composite" if want_file else "composite_status",
                             hid)
    job = records.composite(hid)
    if want_file:
        if job.state != "done" or job.path is None:
            raise InvalidInput("the composite is not ready", code=Code.RECORDS_COMPOSITE_NOT_READY)
        return web.FileResponse(job.path, headers={"Content-Type": "video/webm",
                                                   "Cache-Control": "private, no-store"})
    return web.json_response(job.to_dict())
