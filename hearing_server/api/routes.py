"""The versioned REST API (``/api/v1``) and the pages. Errors are translated in
:func:`error_middleware` and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..auth.authz import Action, creator_seat
from ..auth.tokens import StaffClaims
from ..domain.errors import AuthError, Code, HearingError, InvalidInput, TokenError
from ..domain.hearing import Hearing
from ..domain.roles import role_table
from ..logs import bind_log_context
from ..services.access import Access
from ..services.closing import ClosingService
from ..services.entry import EntryService
from ..services.hearings import HearingService
from ..services.staff import StaffService
from . import models as m
from .openapi import Query, document, operation

logger = logging.getLogger(__name__)

SESSION_COOKIE = "hs_session"
MAX_BODY = 256 * 1024
#: JSON bodies nested deeper than this are refused (a deep body would exhaust the parser).
MAX_JSON_DEPTH = 32
NO_STORE = {"Cache-Control": "no-store"}

HEARINGS: web.AppKey[HearingService] = web.AppKey("hearings", HearingService)
CLOSING: web.AppKey[ClosingService] = web.AppKey("closing", ClosingService)
STAFF: web.AppKey[StaffService] = web.AppKey("staff", StaffService)
ENTRY: web.AppKey[EntryService] = web.AppKey("entry", EntryService)
ACCESS: web.AppKey[Access] = web.AppKey("access", Access)
WEB_ROOT: web.AppKey[Path] = web.AppKey("web_root", Path)
NodeOrigins = Callable[[], Awaitable[list[str]]]
NODE_ORIGINS: web.AppKey[NodeOrigins] = web.AppKey("node_origins")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise InvalidInput("the request body is too large", code=Code.REQUEST_TOO_LARGE)
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise InvalidInput("the request body is too large", code=Code.REQUEST_TOO_LARGE)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the request body is not valid JSON", code=Code.INPUT_NOT_JSON) from exc
    except RecursionError as exc:
        raise InvalidInput("the request body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    if _too_deep(data, MAX_JSON_DEPTH):
        raise InvalidInput(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


async def parsed(request: web.Request, model: type[m.M]) -> tuple[m.M, dict[str, Any]]:
    """The request body as ``model`` (and the JSON object it came from)."""
    data = await body(request)
    return m.parse(model, data), data


def reply(model: m.Model, status: int = 200,
          headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(model.to_json(), status=status, headers=headers)


def _too_deep(data: Any, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


async def staff_claims(request: web.Request) -> StaffClaims:
    staff = request.app[STAFF]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return await staff.from_api_key(auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await staff.from_session(cookie)
    raise AuthError("sign in or give an API key", code=Code.AUTH_REQUIRED)


async def allowed(request: web.Request, action: Action,
                  hearing: Hearing | None = None) -> StaffClaims:
    """The caller, if the policy lets them do ``action`` (refusals are audited)."""
    who = await staff_claims(request)
    await request.app[ACCESS].check(who, action, hearing, hearing_id=request.match_info.get("id"),
                              address=request.remote or "")
    return who


async def hearing_allowed(request: web.Request, action: Action) -> tuple[StaffClaims, Hearing]:
    """The hearing of the path and the caller, if the caller may do ``action`` to it
    (hearing ids are random: telling an unknown one apart reveals nothing)."""
    who = await staff_claims(request)
    hearing = await request.app[HEARINGS].get(request.match_info["id"])
    await request.app[ACCESS].check(who, action, hearing, address=request.remote or "")
    return who, hearing


routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
@operation("getOpenApi", "This document", security=(), tag="meta")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app))


@routes.post("/api/v1/session")
@operation("signIn", "Sign a staff member in (sets the session cookie)", body=m.SignIn,
           response=m.SignedIn, security=(), tag="staff")
async def sign_in(request: web.Request) -> web.Response:
    creds, _ = await parsed(request, m.SignIn)
    account, token = await request.app[STAFF].sign_in(creds.username, creds.password,
                                                      request.remote or "")
    resp = reply(m.SignedIn(username=account.username, name=account.name,
                            role=account.role.value, roles=role_table()), headers=NO_STORE)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/",
                    secure=request.secure)
    return resp


@routes.delete("/api/v1/session")
@operation("signOut", "Sign out (ends the session)", response=m.SignedOut, security=(),
           tag="staff")
async def sign_out(request: web.Request) -> web.Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            await request.app[STAFF].sign_out(cookie)
        except TokenError:
            pass  # not a valid session anyway
    resp = reply(m.SignedOut(signed_out=True))
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


@routes.get("/api/v1/me")
@operation("getMe", "The signed-in staff member", response=m.Me, tag="staff")
async def me(request: web.Request) -> web.Response:
    claims = await staff_claims(request)
    found = await request.app[STAFF].find(claims.username)
    return reply(m.Me(username=claims.username, role=claims.role.value,
                      name=found.name if found else claims.username, roles=role_table()))


@routes.get("/api/v1/hearings")
@operation("listHearings", "The hearings the caller may see", response=m.HearingList,
           query=(Query("case_number", "only this case"),))
async def list_hearings(request: web.Request) -> web.Response:
    who = await allowed(request, Action.HEARING_LIST)
    case = request.query.get("case_number")
    hearings = Access.visible(who, await request.app[HEARINGS].find(case))
    return reply(m.HearingList(hearings=[h.to_dict() for h in hearings]))


@routes.post("/api/v1/hearings")
@operation("scheduleHearing", "Schedule a hearing; one join link per participant",
           body=m.ScheduleHearing, response=m.Scheduled, status=201)
async def create_hearing(request: web.Request) -> web.Response:
    service = request.app[HEARINGS]
    who = await staff_claims(request)
    presiding, clerks = creator_seat(who)
    _, data = await parsed(request, m.ScheduleHearing)  # the domain reads the rest
    hearing = service.prepare(data, who.username, clerks, presiding)
    await request.app[ACCESS].check(who, Action.HEARING_CREATE, hearing,
                              address=request.remote or "")
    await service.check_assignment(hearing)
    hearing, links = await service.schedule(hearing, who.username)
    return reply(m.Scheduled(hearing=hearing.to_dict(), links=links), status=201,
                 headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}")
@operation("getHearing", "A hearing and its live state", response=m.HearingWithState)
async def get_hearing(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    session = await request.app[ENTRY].session(hearing.id)
    return reply(m.HearingWithState(hearing=hearing.to_dict(),
                                    state=session.public_state() if session else None))


@routes.patch("/api/v1/hearings/{id}")
@operation("rescheduleHearing", "Reschedule a hearing", body=m.Reschedule,
           response=m.HearingOne)
async def reschedule(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.HEARING_CHANGE)
    change, _ = await parsed(request, m.Reschedule)
    hearing = await request.app[HEARINGS].reschedule(hearing.id, change.scheduled_at,
                                                     who.username)
    return reply(m.HearingOne(hearing=hearing.to_dict()))


@routes.delete("/api/v1/hearings/{id}")
@operation("cancelHearing", "Cancel a hearing (its links stop working)",
           response=m.HearingOne)
async def cancel(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.HEARING_CHANGE)
    hearing = await request.app[HEARINGS].cancel(hearing.id, who.username)
    return reply(m.HearingOne(hearing=hearing.to_dict()))


@routes.post("/api/v1/hearings/{id}/close")
@operation("closeHearing", "Close a hearing nobody adjourned and seal its record (refused "
           "while in session before its scheduled end)", response=m.HearingWithState)
async def close_hearing(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.HEARING_CHANGE)
    state = await request.app[CLOSING].close(hearing.id, who.username)
    return reply(m.HearingWithState(hearing=hearing.to_dict(), state=state))


@routes.put("/api/v1/hearings/{id}/assignment")
@operation("assignHearing", "Assign the presiding judge or mediator and the clerks",
           body=m.Assignment, response=m.HearingOne)
async def assign(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.HEARING_ASSIGN)
    _, data = await parsed(request, m.Assignment)
    hearing = await request.app[HEARINGS].assign(hearing, data, who.username)
    return reply(m.HearingOne(hearing=hearing.to_dict()))


@routes.post("/api/v1/hearings/{id}/participants/{pid}/link")
@operation("reissueLink", "Re-issue a participant's join link (revokes the older one)",
           response=m.Link, status=201, params=(("pid", "the participant id"),))
async def reissue_link(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.LINK_ISSUE)
    url = await request.app[HEARINGS].issue_link(hearing.id, request.match_info["pid"],
                                                 who.username)
    return reply(m.Link(participant_id=request.match_info["pid"], link=url), status=201,
                 headers=NO_STORE)


@routes.post("/api/v1/hearings/{id}/participants")
@operation("addParticipant", "Add a participant to a scheduled hearing and issue their link",
           body=m.ParticipantIn, response=m.AddedParticipant, status=201)
async def add_participant(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.HEARING_CHANGE)
    _, data = await parsed(request, m.ParticipantIn)
    hearing, pid, url = await request.app[HEARINGS].add_participant(hearing.id, data,
                                                                    who.username)
    return reply(m.AddedParticipant(hearing=hearing.to_dict(), participant_id=pid, link=url),
                 status=201, headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}/links")
@operation("getCurrentLinks", "Show each participant's live join link again (audited)",
           response=m.CurrentLinks)
async def current_links(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.LINK_ISSUE)
    links = await request.app[HEARINGS].current_links(hearing.id, who.username)
    return reply(m.CurrentLinks(links=links), headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}/service")
@operation("getServiceRecord", "The service record of every link", response=m.ServiceRecord)
async def service_record(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    record = await request.app[HEARINGS].service_record(hearing.id)
    return reply(m.ServiceRecord(links=record), headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}/events")
@operation("getEventLog", "The hearing's event log (every read is audited)",
           response=m.EventLog)
async def events(request: web.Request) -> web.Response:
    """The hearing's event log: part of the case record, so every read is audited."""
    from .records import audit_event_log_read  # records.py imports this module

    async with audit_event_log_read(request, request.match_info["id"]):
        _, hearing = await hearing_allowed(request, Action.HEARING_READ)
        lines = await asyncio.to_thread(request.app[HEARINGS].events, hearing.id)
    return reply(m.EventLog(events=lines))


@routes.get("/api/v1/court")
@operation("getCourt", "The court's name, contact line and default language (public: the "
           "join page names the court even when it refuses a link)", response=m.Court,
           security=(), tag="participants")
async def court(request: web.Request) -> web.Response:
    return reply(m.Court(**request.app[ENTRY].court()))


@routes.post("/api/v1/join")
@operation("openLink", "Open a join link (records the first opening)", body=m.OpenLink,
           response=m.JoinInfo, security=(), tag="participants")
async def open_link(request: web.Request) -> web.Response:
    """The join page opened a link: describe the hearing and record the opening."""
    link, _ = await parsed(request, m.OpenLink)
    info = await request.app[ENTRY].open_link(
        link.token, request.remote or "", request.headers.get("User-Agent", ""))
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
                                       f"connect-src {connect}; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        })
    return handler


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


def add_pages(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/join", page("join.html"))
    app.router.add_get("/console", page("console.html"))
    app.router.add_get("/service", page("service.html"))
    app.router.add_get("/reception", page("reception.html"))
    app.router.add_static("/static", app[WEB_ROOT], show_index=False)
