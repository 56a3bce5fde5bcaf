"""Staff sessions end on sign-out, a role change, a password reset, disabling and
removal; API keys can be revoked and expire; accounts are managed by admins only
(REST and command line)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession
from yarl import URL

from hearing_server.api.records import RECORDS
from hearing_server.app import STAFF, STORE
from hearing_server.auth.passwords import api_key_digest, new_api_key
from hearing_server.cli import main
from hearing_server.domain.roles import StaffRole
from hearing_server.store.base import ApiKey
from tests.api.helpers import PASSWORD, error_of, signed_in
from tests.conftest import Running
from tests.when import soon


async def me(s: ClientSession, running: Running) -> tuple[int, str]:
    async with s.get(running.url + "/api/v1/me") as r:
        body = await r.json()
        return r.status, body.get("role") or body["error"]["code"]


async def test_sign_out_revokes_the_session_token_itself(running: Running) -> None:
    s = await signed_in(running, "bo", "clerk")
    async with s:
        cookie = s.cookie_jar.filter_cookies(URL(running.url))["hs_session"].value
        async with s.delete(running.url + "/api/v1/session") as r:
            assert r.status == 200
    async with ClientSession(cookies={"hs_session": cookie}) as stolen:
        assert await me(stolen, running) == (401, "auth.session_ended")


@pytest.mark.parametrize("change", [{"role": "judge"}, {"password": "another long pass"},
                                    {"disabled": True}, {"end_sessions": True}])
async def test_an_admin_change_to_an_account_ends_its_sessions(
        running: Running, change: dict[str, object]) -> None:
    root = await signed_in(running, "root", "admin")
    bo = await signed_in(running, "bo", "clerk")
    async with root, bo:
        assert await me(bo, running) == (200, "clerk")
        async with root.patch(running.url + "/api/v1/staff/bo", json=change) as r:
            assert r.status == 200, await r.text()
        assert await me(bo, running) == (401, "auth.session_ended")
    if change == {"disabled": True}:
        async with ClientSession() as anon:
            async with anon.post(running.url + "/api/v1/session",
                                 json={"username": "bo", "password": PASSWORD}) as r:
                assert await error_of(r) == (401, "auth.invalid_credentials")
    audit = [(x["actor"], x["action"]) for x in running.app[RECORDS]._audit.read()]
    assert ("root", "staff.change") in audit


async def test_a_removed_account_loses_its_session_and_only_admins_manage_accounts(
        running: Running) -> None:
    root = await signed_in(running, "root", "admin")
    bo = await signed_in(running, "bo", "clerk")
    async with root, bo:
        async with bo.post(running.url + "/api/v1/staff",
                           json={"username": "evil", "role": "admin",
                                 "password": PASSWORD}) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with bo.patch(running.url + "/api/v1/staff/bo", json={"role": "admin"}) as r:
            assert await error_of(r) == (403, "permission.denied")
        async with root.post(running.url + "/api/v1/staff",
                             json={"username": "cy", "role": "clerk",
                                   "password": PASSWORD}) as r:
            assert r.status == 201
        async with root.post(running.url + "/api/v1/staff",
                             json={"username": "cy", "role": "admin",
                                   "password": PASSWORD}) as r:
            assert await error_of(r) == (409, "staff.exists")
        async with root.delete(running.url + "/api/v1/staff/bo") as r:
            assert r.status == 200
        assert await me(bo, running) == (401, "auth.invalid")
        async with root.delete(running.url + "/api/v1/staff/bo") as r:
            assert await error_of(r) == (404, "staff.not_found")


async def test_api_keys_are_created_listed_and_revoked_by_an_admin(running: Running) -> None:
    root = await signed_in(running, "root", "admin")
    async with root:
        async with root.post(running.url + "/api/v1/apikeys",
                             json={"name": "cms", "scopes": ["hearings"]}) as r:
            assert r.status == 201 and r.headers["Cache-Control"] == "no-store"
            key = (await r.json())["api_key"]
        async with ClientSession(headers={"Authorization": f"Bearer {key}"}) as cms:
            async with cms.get(running.url + "/api/v1/hearings") as r:
                assert r.status == 200
            async with root.get(running.url + "/api/v1/apikeys") as r:
                listed = (await r.json())["api_keys"]
            assert [(k["name"], k["revoked"]) for k in listed] == [("cms", False)]
            assert "digest" not in listed[0] and listed[0]["expires_at"] > 0
            async with root.delete(running.url + "/api/v1/apikeys/cms") as r:
                assert r.status == 200
            async with cms.get(running.url + "/api/v1/hearings") as r:
                assert await error_of(r) == (401, "auth.api_key_revoked")
        async with root.post(running.url + "/api/v1/apikeys",
                             json={"name": "xy", "scopes": ["everything"]}) as r:
            assert await error_of(r) == (400, "apikey.bad_scope")


async def test_an_expired_api_key_is_refused(running: Running) -> None:
    key = new_api_key()
    await running.app[STORE].add_api_key(ApiKey("old", api_key_digest(key), StaffRole.CLERK,
                                                ("hearings",), time.time() - 1, False,
                                                time.time() - 100))
    async with ClientSession(headers={"Authorization": f"Bearer {key}"}) as s:
        async with s.get(running.url + "/api/v1/hearings") as r:
            assert await error_of(r) == (401, "auth.api_key_expired")
    fresh = await running.app[STAFF].create_api_key("new", "clerk", ttl=3600)
    found = await running.app[STORE].find_api_key(api_key_digest(fresh))
    assert found is not None and found.expires_at is not None
    assert 3500 < found.expires_at - time.time() <= 3600


def run_cli(data: Path, *argv: str) -> tuple[int, object]:
    import contextlib
    import io

    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--data-dir", str(data), "--init", "--json", *argv])
    text = out.getvalue() or err.getvalue()
    return code, json.loads(text) if text.strip() else None


def test_the_command_line_disables_changes_and_removes_accounts_and_revokes_keys(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "staff", "add", "bo", "--role", "clerk", "--password", PASSWORD)[0] == 0
    code, out = run_cli(data, "staff", "disable", "bo")
    assert code == 0 and isinstance(out, dict) and out["disabled"] is True
    code, out = run_cli(data, "staff", "role", "bo", "judge")
    assert code == 0 and isinstance(out, dict) and out["role"] == "judge"
    assert run_cli(data, "staff", "password", "bo", "--password", "a new long pass")[0] == 0
    assert run_cli(data, "staff", "sign-out", "bo")[0] == 0
    assert run_cli(data, "staff", "remove", "bo")[0] == 0
    code, out = run_cli(data, "staff", "remove", "bo")
    assert code == 7 and isinstance(out, dict) and out["error"]["code"] == "staff.not_found"
    code, out = run_cli(data, "apikey", "create", "cms", "--scope", "hearings",
                        "--scope", "records", "--days", "30")
    assert code == 0 and isinstance(out, dict) and out["scopes"] == ["hearings", "records"]
    assert run_cli(data, "apikey", "revoke", "cms")[0] == 0
    code, out = run_cli(data, "apikey", "list")
    assert code == 0 and isinstance(out, list) and out[0]["revoked"] is True


def test_the_command_line_schedules_with_a_presiding_judge_and_assigns_clerks(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    for user, role in (("ada", "judge"), ("bo", "clerk"), ("cy", "clerk")):
        assert run_cli(data, "staff", "add", user, "--role", role, "--password", PASSWORD)[0] == 0
    code, out = run_cli(data, "hearing", "create", "--case-number", "C-9", "--title", "T",
                        "--at", soon(), "--judge", "Judge Ada",
                        "--party", "Sam", "--presiding", "ada", "--assign-clerk", "bo")
    assert code == 0 and isinstance(out, dict)
    hid = out["hearing_id"]
    code, out = run_cli(data, "hearing", "assign", hid, "--clerk", "bo", "--clerk", "cy")
    assert code == 0 and isinstance(out, dict)
    assert out["presiding"] == "ada" and out["clerks"] == ["bo", "cy"]
    code, out = run_cli(data, "hearing", "assign", hid, "--presiding", "bo")
    assert code == 7 and isinstance(out, dict)
    assert out["error"]["code"] == "hearing.bad_assignment"
