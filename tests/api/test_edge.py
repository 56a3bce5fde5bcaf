"""The HTTP edge: cross-site requests with the session cookie are refused, the client
seen through a trusted proxy only, security headers on every response, deep JSON
refused, link-bearing answers not cached, data files private."""

from __future__ import annotations

import stat
from pathlib import Path

from aiohttp import ClientSession, CookieJar

from hearing_server.api.records import RECORDS
from hearing_server.app import STAFF, STORE
from tests.api.helpers import PASSWORD, create, error_of, hearing_body, server, signed_in
from tests.conftest import Running


async def test_cross_site_posts_with_the_session_cookie_are_refused(running: Running) -> None:
    s = await signed_in(running, "bo", "clerk")
    async with s:
        hid = (await create(s, running))["hearing"]["id"]
        link = running.url + f"/api/v1/hearings/{hid}/participants/party/link"
        forged = [{"Origin": "https://evil.example"},
                  {"Sec-Fetch-Site": "cross-site"},
                  {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.court.example"},
                  {"Origin": "null"}]
        for headers in forged:
            async with s.post(running.url + "/api/v1/hearings", json=hearing_body(),
                              headers=headers) as r:
                assert await error_of(r) == (403, "request.cross_site"), headers
            async with s.post(link, headers=headers) as r:
                assert await error_of(r) == (403, "request.cross_site"), headers
            async with s.delete(running.url + f"/api/v1/hearings/{hid}",
                                headers=headers) as r:
                assert await error_of(r) == (403, "request.cross_site"), headers
        same = {"Origin": running.url, "Sec-Fetch-Site": "same-origin"}
        async with s.post(link, headers=same) as r:
            assert r.status == 201
        async with s.get(running.url + "/api/v1/hearings",
                         headers={"Sec-Fetch-Site": "cross-site"}) as r:
            assert r.status == 200  # reading is not a state change
        token = (await create(s, running))["links"]["party"].split("#", 1)[1]
        async with s.post(running.url + "/api/v1/join", json={"token": token},
                          headers={"Sec-Fetch-Site": "same-site"}) as r:
            assert r.status == 200  # the join page may call another node; no cookie use
    async with ClientSession() as anon:  # login CSRF
        async with anon.post(running.url + "/api/v1/session",
                             json={"username": "bo", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"}) as r:
            assert await error_of(r) == (403, "request.cross_site")
    key = await running.app[STAFF].create_api_key("cms", "clerk")
    async with ClientSession(headers={"Authorization": f"Bearer {key}",
                                      "Origin": "https://cms.example"}) as cms:
        async with cms.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert r.status == 201  # an API key is no ambient credential


async def test_behind_a_trusted_proxy_the_cookie_is_secure_and_the_client_address_audited(
        tmp_path: Path) -> None:
    async with server(tmp_path, trusted_proxies=("127.0.0.0/8",),
                      public_url="https://court.example") as running:
        await running.app[STAFF].add("bo", "Bo", "clerk", PASSWORD)
        await running.app[STAFF].add("mia", "Mia", "mediator", PASSWORD)
        proxied = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9",
                   "X-Forwarded-Proto": "https", "X-Forwarded-Host": "court.example"}
        async with ClientSession(headers=proxied) as s:
            async with s.post(running.url + "/api/v1/session",
                              json={"username": "bo", "password": PASSWORD}) as r:
                assert r.status == 200
                cookie = r.cookies["hs_session"]
                assert cookie["secure"] and cookie["httponly"]
        async with ClientSession(headers={**proxied, "X-Forwarded-For": "203.0.113.9"},
                                 cookies={"hs_session": cookie.value}) as s:
            hid = (await create(s, running))["hearing"]["id"]
        async with ClientSession(headers=proxied) as m:
            async with m.post(running.url + "/api/v1/session",
                              json={"username": "mia", "password": PASSWORD}) as r:
                mia = r.cookies["hs_session"].value
        async with ClientSession(headers=proxied, cookies={"hs_session": mia}) as m:
            async with m.get(running.url + f"/api/v1/hearings/{hid}") as r:
                assert r.status == 403
        refused = [x for x in running.app[RECORDS]._audit.read() if x["outcome"] == "denied"]
        assert [x["address"] for x in refused] == ["203.0.113.9"]


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(running: Running) -> None:
    await running.app[STAFF].add("bo", "Bo", "clerk", PASSWORD)
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    async with ClientSession(headers=spoofed, cookie_jar=CookieJar(unsafe=True)) as s:
        async with s.post(running.url + "/api/v1/session",
                          json={"username": "bo", "password": PASSWORD}) as r:
            assert not r.cookies["hs_session"]["secure"]
        created = await create(s, running)
        token = created["links"]["party"].split("#", 1)[1]
        async with s.post(running.url + "/api/v1/join", json={"token": token}) as r:
            assert r.status == 200
    links = await running.app[STORE].list_links(created["hearing"]["id"])
    assert [x.opened_from for x in links if x.opened_from] == ["127.0.0.1"]


async def test_every_response_forbids_framing_and_sniffing(running: Running) -> None:
    s = await signed_in(running, "bo", "clerk")
    async with s:
        for path in ("/healthz", "/api/v1/hearings", "/api/v1/nothing", "/console",
                     "/join", "/api/v1/openapi.json"):
            async with s.get(running.url + path) as r:
                assert r.headers["X-Content-Type-Options"] == "nosniff", path
                assert r.headers["X-Frame-Options"] == "DENY", path
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path


async def test_link_bearing_responses_are_not_cached(running: Running) -> None:
    s = await signed_in(running, "bo", "clerk")
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert r.headers["Cache-Control"] == "no-store"
            hid = (await r.json())["hearing"]["id"]
        async with s.post(running.url
                          + f"/api/v1/hearings/{hid}/participants/party/link") as r:
            assert r.headers["Cache-Control"] == "no-store"
        async with s.get(running.url + f"/api/v1/hearings/{hid}/service") as r:
            assert r.headers["Cache-Control"] == "no-store"


async def test_deeply_nested_json_is_refused_with_a_clear_error(running: Running) -> None:
    async with ClientSession() as anon:
        for raw in (b"[" * 60_000 + b"]" * 60_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
                    b'{"token":' + b"[" * 40 + b"]" * 40 + b"}"):
            async with anon.post(running.url + "/api/v1/join", data=raw,
                                 headers={"Content-Type": "application/json"}) as r:
                assert await error_of(r) == (400, "input.invalid")
        nested_string = b'{"token": "' + b"[" * 1000 + b'"}'  # brackets inside a string
        async with anon.post(running.url + "/api/v1/join", data=nested_string) as r:
            assert (await error_of(r))[1].startswith("token.")


async def test_files_the_store_writes_are_private(running: Running) -> None:
    s = await signed_in(running, "bo", "clerk")
    async with s:
        hid = (await create(s, running))["hearing"]["id"]
    data = running.settings.data_dir
    written = [data / "hearings.sqlite3", data / "hearings" / hid,
               data / "hearings" / hid / "events.jsonl"]
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


async def socket_accepted(running: Running, token: str, headers: dict[str, str]) -> bool:
    import socketio

    async with ClientSession() as http:  # ours, so that it is closed on a refusal too
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await sio.connect(running.url, namespaces=["/hearing"], auth={"token": token},
                              headers=headers, transports=["websocket"], wait_timeout=5)
        except socketio.exceptions.ConnectionError:
            return False
        finally:
            if sio.connected:
                await sio.disconnect()
    return True


async def test_socket_origins_trust_forwarded_host_only_from_a_trusted_proxy(
        tmp_path: Path) -> None:
    from tests.conftest import schedule

    forged = {"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}
    async with server(tmp_path / "a") as direct:
        h = await schedule(direct)
        assert not await socket_accepted(direct, h.tokens["judge"], forged)
        assert await socket_accepted(direct, h.tokens["judge"], {"Origin": direct.url})
    async with server(tmp_path / "b", trusted_proxies=("127.0.0.1",)) as proxied:
        h = await schedule(proxied)
        assert await socket_accepted(proxied, h.tokens["judge"], forged)


def test_trusted_proxies_come_from_toml_or_the_environment_and_bad_entries_fail(
        tmp_path: Path) -> None:
    import pytest

    from hearing_server.settings import load_settings

    toml = tmp_path / "node.toml"
    toml.write_text('trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n')
    assert load_settings(config_file=toml, env={}).trusted_proxies == ("127.0.0.1",
                                                                       "10.0.0.0/8")
    env = {"HEARING_TRUSTED_PROXIES": "192.0.2.1, ::1"}
    assert load_settings(env=env).trusted_proxies == ("192.0.2.1", "::1")
    assert load_settings(env={}).trusted_proxies == ()
    with pytest.raises(ValueError):
        load_settings(env={"HEARING_TRUSTED_PROXIES": "proxy.example"})


def test_serve_writes_the_data_folder_privately(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
    proc = subprocess.Popen([sys.executable, "-m", "hearing_server.cli", "--data-dir",
                             str(data), "--init", "serve", "--host", "127.0.0.1", "--port",
                             str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    paths = [data, *data.rglob("*")]
    assert len(paths) > 3  # the database, the keys, ...
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
