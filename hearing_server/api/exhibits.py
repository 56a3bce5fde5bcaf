"""``/api/v1/hearings/{id}/exhibits``: a participant (with the join link's token in
``X-Join-Token``) uploads an exhibit as the raw request body, lists the ledger they may
see and reads an exhibit (their own, any once shown, all for the court's staff).
Marking and showing are socket.io events (``exhibit.mark``, ``exhibit.show``)."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import Code, InvalidInput, PermissionDenied
from ..domain.exhibits import MAX_EXHIBIT_BYTES, MAX_TITLE, check_size, may_read
from ..domain.roles import Role
from ..services.exhibits import ExhibitService
from . import models as m
from .openapi import Query, operation
from .routes import ENTRY, reply

EXHIBITS: web.AppKey[ExhibitService] = web.AppKey("exhibits", ExhibitService)
JOIN_HEADER = "X-Join-Token"
CHUNK = 256 * 1024

routes = web.RouteTableDef()


async def _who(request: web.Request) -> tuple[str, str, Role]:
    hearing_id = request.match_info["id"]
    _, claims = await request.app[ENTRY].authenticate(request.headers.get(JOIN_HEADER),
                                                      hearing_id)
    return hearing_id, claims.participant_id, claims.role


async def _body(request: web.Request) -> bytes:
    """The raw body, refused as soon as it passes the limit (never read whole first)."""
    if request.content_length is not None:
        check_size(request.content_length, MAX_EXHIBIT_BYTES)
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(CHUNK):
        size += len(chunk)
        check_size(size, MAX_EXHIBIT_BYTES)
        parts.append(chunk)
    return b"".join(parts)


@routes.post("/api/v1/hearings/{id}/exhibits")
@operation("offerExhibit", "Upload an exhibit (the raw file as the body, its media type "
           "as Content-Type: PDF, PNG, JPEG or plain text, at most 20 MB)",
           response=m.Exhibit, status=201, security=("join",), tag="participants",
           query=(Query("title", "what the exhibit is"), Query("file_name", "the file's name")))
async def offer(request: web.Request) -> web.Response:
    hearing_id, pid, role = await _who(request)
    title = request.query.get("title", "")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters",
                           code=Code.INPUT_INVALID)
    data = await _body(request)
    item = await request.app[EXHIBITS].offer(
        hearing_id, pid, role, title, request.query.get("file_name", ""),
        request.headers.get("Content-Type", ""), data)
    return reply(m.Exhibit(exhibit=item), status=201)


@routes.get("/api/v1/hearings/{id}/exhibits")
@operation("listExhibits", "The exhibit ledger the participant may see",
           response=m.ExhibitList, security=("join",), tag="participants")
async def list_exhibits(request: web.Request) -> web.Response:
    hearing_id, pid, role = await _who(request)
    seen = []
    for item in request.app[EXHIBITS].ledger(hearing_id):
        try:
            may_read(role, pid, item)
        except PermissionDenied:
            continue
        seen.append(item)
    return reply(m.ExhibitList(exhibits=seen))


@routes.get("/api/v1/hearings/{id}/exhibits/{exhibit_id}")
@operation("getExhibit", "An exhibit's file (its own, a shown one, or any for staff)",
           security=("join",), tag="participants", content="application/octet-stream",
           query=(Query("download", "1: as an attachment"),))
async def get_exhibit(request: web.Request) -> web.StreamResponse:
    hearing_id, pid, role = await _who(request)
    path, item = request.app[EXHIBITS].file(hearing_id, pid, role,
                                            request.match_info["exhibit_id"])
    disposition = "attachment" if request.query.get("download") else "inline"
    return web.FileResponse(path, headers={
        "Content-Type": str(item["content_type"]), "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{disposition}; filename="{path.name}"',
        "X-Exhibit-SHA256": str(item["sha256"])})
