"""The versioned REST API (``/api/v1``) and the pages. Errors are translated in
:func:`error_middleware` and nowhere else."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..auth.tokens import StaffClaims
from ..domain.errors import AuthError, HearingError, InvalidInput, PermissionDenied
from ..domain.roles import STAFF_MAY_SCHEDULE
from ..logs import bind_log_context
from ..services.courtroom import CourtroomService
from ..services.hearings import HearingService
from ..services.staff import StaffService
from .openapi import OPENAPI

logger = logging.getLogger(__name__)

SESSION_COOKIE = "hs_session"
MAX_BODY = 256 * 1024

HEARINGS: web.AppKey[HearingService] = web.AppKey("hearings", HearingService)
STAFF: web.AppKey[StaffService] = web.AppKey("staff", StaffService)
COURTROOM: web.AppKey[CourtroomService] = web.AppKey("courtroom", CourtroomService)
WEB_ROOT: web.AppKey[Path] = web.AppKey("web_root", Path)
NodeOrigins = Callable[[], Awaitable[list[str]]]
NODE_ORIGINS: web.AppKey[NodeOrigins] = web.AppKey("node_origins")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # every record logged for this request (its own task) names the hearing it touches
    bind_log_context(hearing_id=request.match_info.get("id"))
    try:
        return await handler(request)
    except HearingError as exc:
        return error_body(exc.code, exc.message, exc.status)
    except web.HTTPNotFound:
        return error_body("route.not_found", f"no such path {request.path}", 404)
    except web.HTTPMethodNotAllowed:
        return error_body("route.method_not_allowed", f"{request.method} is not allowed here",
                          405)
    except web.HTTPRequestEntityTooLarge:
        return error_body("request.too_large", "the request body is too large", 413)
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("request %s %s failed", request.method, request.path)
        return error_body("error.internal", "the server could not handle this request", 500)


async def body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise InvalidInput("the request body is too large", code="request.too_large",
                           status=413)
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise InvalidInput("the request body is too large", code="request.too_large",
                           status=413)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the request body is not valid JSON", code="input.not_json") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    return data


async def staff_claims(request: web.Request) -> StaffClaims:
    staff = request.app[STAFF]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return await staff.from_api_key(auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await staff.from_session(cookie)
    raise AuthError("sign in or give an API key", code="auth.required")


async def scheduler(request: web.Request) -> StaffClaims:
    claims = await staff_claims(request)
    if claims.role not in STAFF_MAY_SCHEDULE:
        raise PermissionDenied("your role may not schedule hearings")
    return claims


routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


@routes.post("/api/v1/session")
async def sign_in(request: web.Request) -> web.Response:
    data = await body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("'username' and 'password' are required")
    account, token = await request.app[STAFF].sign_in(username, password)
    resp = web.json_response({"username": account.username, "name": account.name,
                              "role": account.role.value})
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/",
                    secure=request.secure)
    return resp


@routes.delete("/api/v1/session")
async def sign_out(request: web.Request) -> web.Response:
    resp = web.json_response({"signed_out": True})
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    claims = await staff_claims(request)
    return web.json_response({"username": claims.username, "role": claims.role.value})


@routes.get("/api/v1/hearings")
async def list_hearings(request: web.Request) -> web.Response:
    await scheduler(request)
    case = request.query.get("case_number")
    hearings = await request.app[HEARINGS].find(case)
    return web.json_response({"hearings": [h.to_dict() for h in hearings]})


@routes.post("/api/v1/hearings")
async def create_hearing(request: web.Request) -> web.Response:
    claims = await scheduler(request)
    hearing, links = await request.app[HEARINGS].create(await body(request), claims.username)
    return web.json_response({"hearing": hearing.to_dict(), "links": links}, status=201)


@routes.get("/api/v1/hearings/{id}")
async def get_hearing(request: web.Request) -> web.Response:
    await scheduler(request)
    hearing = await request.app[HEARINGS].get(request.match_info["id"])
    session = await request.app[COURTROOM].session(hearing.id)
    return web.json_response({
        "hearing": hearing.to_dict(),
        "state": session.public_state() if session else None,
    })


@routes.patch("/api/v1/hearings/{id}")
async def reschedule(request: web.Request) -> web.Response:
    claims = await scheduler(request)
    data = await body(request)
    if "scheduled_at" not in data:
        raise InvalidInput("only 'scheduled_at' can be changed")
    hearing = await request.app[HEARINGS].reschedule(request.match_info["id"],
                                                     data["scheduled_at"], claims.username)
    return web.json_response({"hearing": hearing.to_dict()})


@routes.delete("/api/v1/hearings/{id}")
async def cancel(request: web.Request) -> web.Response:
    claims = await scheduler(request)
    hearing = await request.app[HEARINGS].cancel(request.match_info["id"], claims.username)
    return web.json_response({"hearing": hearing.to_dict()})


@routes.post("/api/v1/hearings/{id}/participants/{pid}/link")
async def reissue_link(request: web.Request) -> web.Response:
    claims = await scheduler(request)
    url = await request.app[HEARINGS].issue_link(request.match_info["id"],
                                                 request.match_info["pid"], claims.username)
    return web.json_response({"participant_id": request.match_info["pid"], "link": url},
                             status=201)


@routes.get("/api/v1/hearings/{id}/service")
async def service_record(request: web.Request) -> web.Response:
    await scheduler(request)
    record = await request.app[HEARINGS].service_record(request.match_info["id"])
    return web.json_response({"links": record})


@routes.get("/api/v1/hearings/{id}/events")
async def events(request: web.Request) -> web.Response:
    await scheduler(request)
    service = request.app[HEARINGS]
    hearing = await service.get(request.match_info["id"])
    return web.json_response({"events": service.events(hearing.id)})


@routes.post("/api/v1/join")
async def open_link(request: web.Request) -> web.Response:
    """The join page opened a link: describe the hearing and record the opening."""
    data = await body(request)
    info = await request.app[COURTROOM].open_link(
        data.get("token"), request.remote or "", request.headers.get("User-Agent", ""))
    hearing, you = info.get("hearing"), info.get("you")
    bind_log_context(hearing_id=hearing.get("id") if isinstance(hearing, dict) else None,
                     participant_id=you.get("participant_id") if isinstance(you, dict) else None)
    return web.json_response(info)


async def node_origins(request: web.Request) -> list[str]:
    """Every node's origin (http and ws forms): a join may be sent on to another node."""
    finder = request.app.get(NODE_ORIGINS)
    if finder is None:
        return []
    try:
        urls = await finder()
    except HearingError:
        return []
    out: list[str] = []
    for url in urls:
        parsed = urlsplit(url)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            ws = "wss" if parsed.scheme == "https" else "ws"
            out += [f"{parsed.scheme}://{parsed.netloc}", f"{ws}://{parsed.netloc}"]
    return out


def page(name: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        connect = " ".join(["'self'", *await node_origins(request)])
        return web.FileResponse(request.app[WEB_ROOT] / name, headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; "
                                       "img-src 'self' data: blob:; style-src 'self'; "
                                       f"connect-src {connect}",
            "Referrer-Policy": "no-referrer",
        })
    return handler


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


def add_pages(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/join", page("join.html"))
    app.router.add_get("/console", page("console.html"))
    app.router.add_static("/static", app[WEB_ROOT], show_index=False)
