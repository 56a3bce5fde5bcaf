"""``hearing-server backup`` / ``restore``: a data folder with a hearing, a staff
account and a sealed record comes back in a new folder, serves the hearing, keeps
its join links valid, and its record still verifies."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import tarfile
from pathlib import Path

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from hearing_server import cli
from hearing_server.app import build_app
from hearing_server.settings import Settings
from recording.signing import load_or_create_key
from tests.cli.helpers import one_line_error, run
from tests.conftest import token_of
from tests.recording.hearing import sealed_hearing
from tests.when import soon


def ok(*args: str, stdin: str | None = None) -> str:
    done = run(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_restored_data_folder_serves_its_hearings_and_its_record_verifies(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok("--data-dir", str(data), "--init", "staff", "add", "clerk1", "--role", "clerk",
       "--password-stdin", stdin="clerk password 1\n")
    created = json.loads(ok("--data-dir", str(data), "hearing", "create", "--case-number",
                            "B-1", "--title", "Backed up", "--at", soon(),
                            "--judge", "Judge", "--party", "Party",
                            "--assign-clerk", "clerk1"))
    hid = created["hearing_id"]
    party_link = created["participants"][1]["link"]
    await asyncio.to_thread(sealed_hearing, data / "records" / "H-1",
                            load_or_create_key(data / "node_ed25519.pem"))

    archive = tmp_path / "backups" / "node.tar.gz"
    summary = json.loads(ok("backup", "--data-dir", str(data), "--out", str(archive),
                            "--json"))
    assert summary["sqlite"] is True and summary["files"] > 5
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the secrets
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"backup.json", "data/hearings.sqlite3", "data/secret.key",
            "data/node_ed25519.pem", "data/records/H-1/manifest.json"} <= names

    restored = tmp_path / "restored"
    out = json.loads(ok("restore", str(archive), "--data-dir", str(restored), "--json"))
    assert out["files"] == summary["files"]

    settings = Settings(data_dir=restored, host="127.0.0.1", port=0)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as s:
            async with s.post(url + "/api/v1/session",
                              json={"username": "clerk1", "password": "clerk password 1"}) as r:
                assert r.status == 200, await r.text()
            async with s.get(url + f"/api/v1/hearings/{hid}") as r:
                assert r.status == 200
                assert (await r.json())["hearing"]["case_number"] == "B-1"
        async with ClientSession() as anon, anon.post(
                url + "/api/v1/join", json={"token": token_of(party_link)}) as r:
            assert r.status == 200, await r.text()  # the token secret came back too
    finally:
        await server.close()

    pub = tmp_path / "court.pub"
    pub.write_text(ok("key", "export", "--data-dir", str(restored)))
    report = json.loads(ok("verify", str(restored / "records" / "H-1"), "--public-key",
                           str(pub), "--json"))
    assert report["ok"] is True and report["problems"] == []


def test_restore_refuses_a_non_empty_data_folder_without_force(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok("--data-dir", str(data), "--init", "hearing", "list")
    archive = tmp_path / "b.tar.gz"
    ok("--data-dir", str(data), "backup", "--out", str(archive))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    done = run("--data-dir", str(busy), "restore", str(archive))
    assert "--force" in one_line_error(done, cli.EXIT_DATA_DIR, "data_dir.not_empty")
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    ok("--data-dir", str(busy), "restore", str(archive), "--force")
    assert (busy / "secret.key").read_bytes() == (data / "secret.key").read_bytes()


def test_restore_refuses_a_file_that_is_not_a_backup_or_does_not_match(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    done = run("--data-dir", str(tmp_path / "new"), "restore", str(junk))
    one_line_error(done, cli.EXIT_DATA_DIR, "backup.invalid")
    data = tmp_path / "data"
    ok("--data-dir", str(data), "--init", "hearing", "list")
    good = tmp_path / "good.tar.gz"
    ok("--data-dir", str(data), "backup", "--out", str(good))
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(good) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            body = src.extractfile(member)
            content = body.read() if body else b""
            if member.name == "data/secret.key":
                content = bytes(len(content))
            dst.addfile(member, io.BytesIO(content))
    done = run("--data-dir", str(tmp_path / "new2"), "restore", str(bad))
    one_line_error(done, cli.EXIT_DATA_DIR, "backup.corrupt")
    assert not (tmp_path / "new2" / "secret.key").exists()
