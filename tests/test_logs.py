"""Structured logs: the access log has method, path (never its query string),
status, latency and remote as fields; hearing and participant ids are attached
through a context, never passed by hand, and do not leak between tasks."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hearing_server.logs import ContextFilter, JsonFormatter, bind_log_context, log_context
from tests.cli.helpers import CLI, ROOT, free_port, run, stop, wait_healthy
from tests.conftest import token_of
from tests.when import soon


def capture(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter("node-a"))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_ids_from_the_log_context_are_on_every_record_and_stay_in_their_task() -> None:
    logger, out = capture("tests.logs.context")

    async def handler(hid: str, pid: str, started: asyncio.Event, go: asyncio.Event) -> None:
        bind_log_context(hearing_id=hid)
        with log_context(participant_id=pid):
            started.set()
            await go.wait()
            logger.info("admitted")
        logger.info("after")

    go = asyncio.Event()
    a, b = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(handler("h1", "p1", a, go)),
             asyncio.create_task(handler("h2", "p2", b, go))]
    await a.wait()
    await b.wait()
    go.set()
    await asyncio.gather(*tasks)
    logger.info("outside")
    records = lines(out)
    admitted = sorted((r["hearing_id"], r["participant_id"]) for r in records
                      if r["message"] == "admitted")
    assert admitted == [("h1", "p1"), ("h2", "p2")]
    after = [r for r in records if r["message"] == "after"]
    assert sorted(r["hearing_id"] for r in after) == ["h1", "h2"]
    assert all("participant_id" not in r for r in after)
    outside = next(r for r in records if r["message"] == "outside")
    assert "hearing_id" not in outside and outside["node_id"] == "node-a"


def test_the_access_log_is_structured_and_never_logs_a_query_string_or_token(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = json.loads(run("--data-dir", str(data), "--init", "hearing", "create",
                             "--case-number", "L-1", "--title", "Logs", "--at",
                             soon(), "--judge", "J").stdout)
    token = token_of(created["participants"][0]["link"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "node.log"
    env = {"HEARING_LOG_JSON": "1", "HEARING_NODE_ID": "node-7",
           "PATH": "/usr/bin:/bin"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=fh, stderr=fh)
    try:
        wait_healthy(url, proc)
        with urllib.request.urlopen(f"{url}/healthz?token=SECRET-IN-QUERY", timeout=5):
            pass
        join = urllib.request.Request(url + "/api/v1/join", data=json.dumps(
            {"token": token}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(join, timeout=5) as resp:
            assert resp.status == 200
        try:
            urllib.request.urlopen(url + "/api/v1/hearings/h_nope", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401

        def access() -> list[dict[str, Any]]:
            out = []
            for line in log.read_text().splitlines():
                if line.startswith("{"):
                    record = json.loads(line)
                    if record["logger"] == "aiohttp.access":
                        out.append(record)
            return out

        wanted = {"/healthz", "/api/v1/join", "/api/v1/hearings/h_nope"}
        deadline = time.monotonic() + 10
        while not wanted <= {r["path"] for r in access()}:  # written after each response
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
    finally:
        stop(proc)
    text = log.read_text()
    assert "SECRET-IN-QUERY" not in text and token not in text
    records = access()
    for r in records:
        assert {"method", "path", "status", "latency_ms", "remote"} <= set(r), r
        assert r["node_id"] == "node-7" and r["remote"] == "127.0.0.1"
        assert isinstance(r["latency_ms"], float) and "?" not in r["path"]
    joined = next(r for r in records if r["path"] == "/api/v1/join")
    assert joined["method"] == "POST" and joined["status"] == 200
    judge = created["participants"][0]
    assert joined["hearing_id"] == created["hearing_id"]
    assert joined["participant_id"] == judge["id"]
    refused = next(r for r in records if r["path"] == "/api/v1/hearings/h_nope")
    assert refused["status"] == 401 and refused["hearing_id"] == "h_nope"
