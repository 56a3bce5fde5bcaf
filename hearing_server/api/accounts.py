"""``/api/v1/staff`` and ``/api/v1/apikeys``: accounts and API keys, for admins only.

Every change is audited; a role change, password reset, disabling or removal ends the
account's sessions at once (its session generation moves on)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth.authz import Action
from ..domain.errors import Code, InvalidInput
from ..store.base import StaffAccount
from .routes import ACCESS, NO_STORE, STAFF, allowed, body

routes = web.RouteTableDef()


def _account(a: StaffAccount) -> dict[str, Any]:
    return {"username": a.username, "name": a.name, "role": a.role.value,
            "disabled": a.disabled}


def _str(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 1000:
        raise InvalidInput(f"'{key}' must be a string")
    return value


@routes.get("/api/v1/staff")
async def list_staff(request: web.Request) -> web.Response:
    await allowed(request, Action.ACCOUNTS_MANAGE)
    return web.json_response({"staff": [_account(a) for a in
                                        await request.app[STAFF].accounts()]})


@routes.post("/api/v1/staff")
async def add_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    data = await body(request)
    username, role, password = (_str(data, "username"), _str(data, "role"),
                                _str(data, "password"))
    assert username is not None and role is not None and password is not None
    if await request.app[STAFF].find(username) is not None:
        raise InvalidInput(f"the account {username!r} exists; change it with PATCH",
                           code=Code.STAFF_EXISTS)
    account = await request.app[STAFF].add(username, _str(data, "name", False) or username,
                                           role, password)
    await request.app[ACCESS].record(who, "staff.add", f"{username} as {role}",
                               request.remote or "")
    return web.json_response(_account(account), status=201)


@routes.patch("/api/v1/staff/{username}")
async def change_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    data = await body(request)
    known = {"role", "password", "disabled", "end_sessions"}
    if not data or set(data) - known:
        raise InvalidInput("give some of 'role', 'password', 'disabled', 'end_sessions'")
    staff, username = request.app[STAFF], request.match_info["username"]
    account = await staff.account(username)
    if "disabled" in data:
        if not isinstance(data["disabled"], bool):
            raise InvalidInput("'disabled' must be true or false")
        account = await staff.set_disabled(username, data["disabled"])
    if "role" in data:
        role = _str(data, "role")
        assert role is not None
        account = await staff.set_role(username, role)
    if "password" in data:
        password = _str(data, "password")
        assert password is not None
        account = await staff.reset_password(username, password)
    if data.get("end_sessions") is True:
        account = await staff.end_sessions(username)
    changed = ", ".join(sorted(k for k in data if k != "password")
                        + (["password reset"] if "password" in data else []))
    await request.app[ACCESS].record(who, "staff.change", f"{username}: {changed}",
                               request.remote or "")
    return web.json_response(_account(account))


@routes.delete("/api/v1/staff/{username}")
async def remove_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    username = request.match_info["username"]
    await request.app[STAFF].remove(username)
    await request.app[ACCESS].record(who, "staff.remove", username, request.remote or "")
    return web.json_response({"removed": username})


@routes.get("/api/v1/apikeys")
async def list_keys(request: web.Request) -> web.Response:
    await allowed(request, Action.ACCOUNTS_MANAGE)
    return web.json_response({"api_keys": [k.to_dict() for k in
                                           await request.app[STAFF].list_api_keys()]})


@routes.post("/api/v1/apikeys")
async def create_key(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    data = await body(request)
    name, role = _str(data, "name"), _str(data, "role", False) or "clerk"
    assert name is not None
    scopes = data.get("scopes", ["hearings"])
    days = data.get("ttl_days", 365)
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InvalidInput("'scopes' must be a list of strings", code=Code.APIKEY_BAD_SCOPE)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)):
        raise InvalidInput("'ttl_days' must be a number of days or null")
    key = await request.app[STAFF].create_api_key(
        name, role, tuple(scopes), None if days is None else float(days) * 86400)
    await request.app[ACCESS].record(who, "apikey.create", f"{name} as {role}, scopes {scopes}",
                               request.remote or "")
    return web.json_response({"name": name, "role": role, "scopes": scopes,
                              "api_key": key}, status=201, headers=NO_STORE)


@routes.delete("/api/v1/apikeys/{name}")
async def revoke_key(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    name = request.match_info["name"]
    count = await request.app[STAFF].revoke_api_key(name)
    await request.app[ACCESS].record(who, "apikey.revoke", name, request.remote or "")
    return web.json_response({"revoked": name, "keys": count})
