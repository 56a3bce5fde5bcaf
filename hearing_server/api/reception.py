"""The remote reception desk: the public queue (no credential but the visitor's own
queue secret) and the clerks' desk (queue view, take, end, log)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..auth.authz import Action
from ..domain.errors import Code, InvalidInput
from ..domain.roles import StaffRole
from ..services.reception import ReceptionService
from . import models as m
from .openapi import Query, operation
from .routes import NO_STORE, STAFF, allowed, body, parsed, reply

RECEPTION: web.AppKey[ReceptionService] = web.AppKey("reception", ReceptionService)
#: one queue, one lock: every change to it is serialised
RECEPTION_LOCK: web.AppKey[asyncio.Lock] = web.AppKey("reception_lock", asyncio.Lock)

DESK_ROLES = (StaffRole.RECEPTION, StaffRole.CLERK)

routes = web.RouteTableDef()


@routes.get("/api/v1/reception")
@operation("getReceptionDesk", "Whether the desk is open, when it opens, the topics",
           response=m.ReceptionDesk, security=(), tag="reception")
async def desk(request: web.Request) -> web.Response:
    return reply(m.ReceptionDesk(**request.app[RECEPTION].desk()))


@routes.post("/api/v1/reception/queue")
@operation("joinReceptionQueue", "A visitor joins the queue (limited per address and in "
           "total); keep the secret to ask for the status", body=m.ReceptionJoin,
           response=m.ReceptionStatus, status=201, security=(), tag="reception")
async def join(request: web.Request) -> web.Response:
    await parsed(request, m.ReceptionJoin)
    data = await body(request)
    async with request.app[RECEPTION_LOCK]:
        status = request.app[RECEPTION].join(data, request.remote or "")
    return web.json_response(status, status=201, headers=NO_STORE)


@routes.post("/api/v1/reception/status")
@operation("getReceptionStatus", "The visitor's place, estimated wait and, once taken, "
           "their join link (also a heartbeat: an entry without one expires)",
           body=m.ReceptionMine, response=m.ReceptionStatus, security=(), tag="reception")
async def status(request: web.Request) -> web.Response:
    mine, _ = await parsed(request, m.ReceptionMine)
    async with request.app[RECEPTION_LOCK]:
        out = request.app[RECEPTION].status(mine.visitor_id, mine.secret)
    return web.json_response(out, headers=NO_STORE)


@routes.post("/api/v1/reception/leave")
@operation("leaveReceptionQueue", "The visitor leaves the queue", body=m.ReceptionMine,
           response=m.ReceptionStatus, security=(), tag="reception")
async def leave(request: web.Request) -> web.Response:
    mine, _ = await parsed(request, m.ReceptionMine)
    async with request.app[RECEPTION_LOCK]:
        out = request.app[RECEPTION].leave(mine.visitor_id, mine.secret)
    return web.json_response(out)


@routes.get("/api/v1/reception/desk")
@operation("getReceptionQueue", "The queue with waits and topics, and the caller's calls",
           response=m.ReceptionQueueView, tag="reception")
async def queue(request: web.Request) -> web.Response:
    who = await allowed(request, Action.RECEPTION_DESK)
    async with request.app[RECEPTION_LOCK]:
        view = request.app[RECEPTION].view(who.username)
    return reply(m.ReceptionQueueView(**view), headers=NO_STORE)


@routes.post("/api/v1/reception/take")
@operation("takeVisitor", "Take the next (or the chosen) visitor into a one-to-one call; "
           "the answer has the staff member's join link", body=m.ReceptionTake,
           response=m.ReceptionTaken, status=201, tag="reception")
async def take(request: web.Request) -> web.Response:
    who = await allowed(request, Action.RECEPTION_DESK)
    choice, _ = await parsed(request, m.ReceptionTake)
    account = await request.app[STAFF].find(who.username)
    name = account.name if account is not None else who.username
    async with request.app[RECEPTION_LOCK]:
        out = await request.app[RECEPTION].take(who.username, name, choice.visitor_id)
    return reply(m.ReceptionTaken(**out), status=201, headers=NO_STORE)


@routes.post("/api/v1/reception/visitors/{vid}/end")
@operation("endReceptionCall", "End the call with an outcome and a note", body=m.ReceptionEnd,
           response=m.ReceptionVisitor, tag="reception", params=(("vid", "the visitor id"),))
async def end(request: web.Request) -> web.Response:
    who = await allowed(request, Action.RECEPTION_DESK)
    done, _ = await parsed(request, m.ReceptionEnd)
    async with request.app[RECEPTION_LOCK]:
        out = await request.app[RECEPTION].end(who.username, request.match_info["vid"],
                                               done.outcome, done.note)
    return reply(m.ReceptionVisitor(visitor=out))


@routes.post("/api/v1/reception/visitors/{vid}/transfer")
@operation("transferReceptionVisitor", "Pass a waiting visitor (they keep their place) or "
           "the caller's call to another reception staff member or clerk",
           body=m.ReceptionTransfer, response=m.ReceptionVisitor, tag="reception",
           params=(("vid", "the visitor id"),))
async def transfer(request: web.Request) -> web.Response:
    who = await allowed(request, Action.RECEPTION_DESK)
    target, _ = await parsed(request, m.ReceptionTransfer)
    account = await request.app[STAFF].find(target.to)
    if account is None or account.disabled or account.role not in DESK_ROLES:
        raise InvalidInput(f"{target.to!r} is not reception staff or a clerk",
                           code=Code.RECEPTION_BAD_TRANSFER)
    async with request.app[RECEPTION_LOCK]:
        out = await request.app[RECEPTION].transfer(who.username, request.match_info["vid"],
                                                    account.username)
    return reply(m.ReceptionVisitor(visitor=out))


@routes.get("/api/v1/reception/log")
@operation("getReceptionLog", "The day's reception log and its summary",
           response=m.ReceptionLog, tag="reception",
           query=(Query("date", "YYYY-MM-DD (UTC), today by default"),))
async def log(request: web.Request) -> web.Response:
    await allowed(request, Action.RECEPTION_DESK)
    return reply(m.ReceptionLog(**request.app[RECEPTION].log(request.query.get("date"))))
