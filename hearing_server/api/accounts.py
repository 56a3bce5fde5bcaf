"""``/api/v1/staff`` and ``/api/v1/apikeys``: accounts and API keys, for admins only.

Every change is audited; a role change, password reset, disabling or removal ends the
account's sessions at once (its session generation moves on)."""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import Action
from ..domain.errors import Code, InvalidInput
from ..store.base import StaffAccount
from . import models as m
from .openapi import operation
from .routes import ACCESS, NO_STORE, STAFF, allowed, parsed, reply

routes = web.RouteTableDef()
USER = (("username", "the staff account's username"),)


def _account(a: StaffAccount) -> m.Account:
    return m.Account(username=a.username, name=a.name, role=a.role.value,
                     disabled=a.disabled)


@routes.get("/api/v1/staff")
@operation("listStaff", "Staff accounts (admin)", response=m.AccountList, tag="accounts")
async def list_staff(request: web.Request) -> web.Response:
    await allowed(request, Action.ACCOUNTS_MANAGE)
    return reply(m.AccountList(staff=[_account(a) for a in
                                      await request.app[STAFF].accounts()]))


@routes.post("/api/v1/staff")
@operation("addStaff", "Create a staff account (admin)", body=m.NewAccount,
           response=m.Account, status=201, tag="accounts")
async def add_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    new, _ = await parsed(request, m.NewAccount)
    username, role = new.username, new.role
    if await request.app[STAFF].find(username) is not None:
        raise InvalidInput(f"the account {username!r} exists; change it with PATCH",
                           code=Code.STAFF_EXISTS)
    account = await request.app[STAFF].add(username, new.name or username, role, new.password)
    await request.app[ACCESS].record(who, "staff.add", f"{username} as {role}",
                               request.remote or "")
    return reply(_account(account), status=201)


@routes.patch("/api/v1/staff/{username}")
@operation("changeStaff", "Change role, reset password, disable/enable, end sessions "
           "(admin); ends the account's sessions", body=m.AccountChange, response=m.Account,
           tag="accounts", params=USER)
async def change_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    change, data = await parsed(request, m.AccountChange)
    if not data:
        raise InvalidInput("give some of 'role', 'password', 'disabled', 'end_sessions'")
    staff, username = request.app[STAFF], request.match_info["username"]
    account = await staff.account(username)
    if change.disabled is not None:
        account = await staff.set_disabled(username, change.disabled)
    if change.role is not None:
        account = await staff.set_role(username, change.role)
    if change.password is not None:
        account = await staff.reset_password(username, change.password)
    if change.end_sessions is True:
        account = await staff.end_sessions(username)
    changed = ", ".join(sorted(k for k in data if k != "password")
                        + (["password reset"] if "password" in data else []))
    await request.app[ACCESS].record(who, "staff.change", f"{username}: {changed}",
                               request.remote or "")
    return reply(_account(account))


@routes.delete("/api/v1/staff/{username}")
@operation("removeStaff", "Remove a staff account (admin); ends its sessions",
           response=m.Removed, tag="accounts", params=USER)
async def remove_staff(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    username = request.match_info["username"]
    await request.app[STAFF].remove(username)
    await request.app[ACCESS].record(who, "staff.remove", username, request.remote or "")
    return reply(m.Removed(removed=username))


@routes.get("/api/v1/apikeys")
@operation("listApiKeys", "API keys without their secrets (admin)", response=m.ApiKeyList,
           tag="accounts")
async def list_keys(request: web.Request) -> web.Response:
    await allowed(request, Action.ACCOUNTS_MANAGE)
    return reply(m.ApiKeyList(api_keys=[k.to_dict() for k in
                                        await request.app[STAFF].list_api_keys()]))


@routes.post("/api/v1/apikeys")
@operation("createApiKey", "Create an API key (admin); its secret is shown once",
           body=m.NewApiKey, response=m.ApiKeyCreated, status=201, tag="accounts")
async def create_key(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    try:
        new, _ = await parsed(request, m.NewApiKey)
    except InvalidInput as exc:
        if exc.message.startswith("'scopes'"):
            raise InvalidInput("'scopes' must be a list of strings",
                               code=Code.APIKEY_BAD_SCOPE) from exc
        raise
    name, role, scopes, days = new.name, new.role, new.scopes, new.ttl_days
    key = await request.app[STAFF].create_api_key(
        name, role, tuple(scopes), None if days is None else days * 86400)
    await request.app[ACCESS].record(who, "apikey.create", f"{name} as {role}, scopes {scopes}",
                               request.remote or "")
    return reply(m.ApiKeyCreated(name=name, role=role, scopes=scopes, api_key=key),
                 status=201, headers=NO_STORE)


@routes.delete("/api/v1/apikeys/{name}")
@operation("revokeApiKey", "Revoke the API keys of this name (admin)", response=m.Revoked,
           tag="accounts", params=(("name", "the API key's name"),))
async def revoke_key(request: web.Request) -> web.Response:
    who = await allowed(request, Action.ACCOUNTS_MANAGE)
    name = request.match_info["name"]
    count = await request.app[STAFF].revoke_api_key(name)
    await request.app[ACCESS].record(who, "apikey.revoke", name, request.remote or "")
    return reply(m.Revoked(revoked=name, keys=count))
