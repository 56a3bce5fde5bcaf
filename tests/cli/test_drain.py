"""SIGTERM on a node with a running hearing: /readyz fails at once (no new
hearings), /healthz stays 200, the node keeps serving until it stops."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bench.media import cached_clips
from bench.participant import Participant
from tests.cli.helpers import CLI, ROOT, free_port, run, stop, wait_healthy
from tests.conftest import token_of
from tests.relay.harness import wait_for
from tests.when import soon


def start_node(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
    env.update(HEARING_DRAIN_TIMEOUT="60", HEARING_PUBLIC_URL=f"http://127.0.0.1:{port}")
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=fh, stderr=fh)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


@pytest.mark.timeout(90)
async def test_a_draining_node_is_alive_but_not_ready_while_its_hearing_runs(
        tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    created = json.loads(run("--data-dir", str(data), "--init", "hearing", "create",
                             "--case-number", "D-1", "--title", "Drain", "--at",
                             soon(), "--judge", "J",
                             env={"HEARING_PUBLIC_URL": url}).stdout)
    proc = start_node(data, port, tmp_path / "node.log")
    video, audio = cached_clips()
    judge = Participant(url, token_of(created["participants"][0]["link"]), "judge", video,
                        audio)
    try:
        await judge.connect()
        await wait_for(lambda: judge.media.pc.connectionState == "connected", 15)
        async with ClientSession() as s:
            async with s.get(url + "/readyz") as r:
                assert r.status == 200
            proc.send_signal(signal.SIGTERM)
            ready: dict[str, Any] = {}

            async def not_ready() -> bool:
                async with s.get(url + "/readyz") as r:
                    ready.update(await r.json())
                    return r.status == 503

            deadline = asyncio.get_running_loop().time() + 10
            while not await not_ready():  # poll the condition, bounded
                assert asyncio.get_running_loop().time() < deadline and proc.poll() is None
                await asyncio.sleep(0.05)
            assert ready["checks"]["draining"]["ok"] is False
            assert ready["checks"]["store"]["ok"] is True
            async with s.get(url + "/healthz") as r:
                alive = await r.json()
            assert r.status == 200 and alive["draining"] is True
        assert proc.poll() is None  # the running hearing keeps the node up
        proc.send_signal(signal.SIGINT)  # stop the drain now
        assert proc.wait(30) == 0
    finally:
        await judge.close()
        stop(proc)
