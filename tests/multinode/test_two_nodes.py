"""Several nodes on one real Redis: routing to the owning node, surviving a node's
loss, Redis stopping and coming back, graceful drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import socketio

from bench.media import cached_clips
from bench.participant import Participant
from recording.verify import verify_folder
from tests.redis_server import RedisServer, free_port
from tests.relay.harness import wait_for
from tests.when import soon

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Node:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "shared-data"  # the archive storage every node reaches
        self.redis = RedisServer(folder / "redis").start()
        self.nodes: dict[str, Node] = {}

    def env(self, name: str, port: int) -> dict[str, str]:
        return {**os.environ, "HEARING_REDIS_URL": self.redis.url, "HEARING_NODE_ID": name,
                "HEARING_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "HEARING_DRAIN_TIMEOUT": "1"}

    def start(self, name: str) -> Node:
        port = free_port()
        log = open(self.folder / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(self.data), "--init", "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=self.env(name, port), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        node = Node(name, port, proc)
        self.nodes[name] = node
        time.sleep(0.3)  # first heartbeat
        return node

    def hearing(self) -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(self.data),
             "hearing", "create", "--case-number", "M-1", "--title", "Two nodes",
             "--at", soon(), "--judge", "Judge", "--party", "Party"],
            cwd=ROOT, env=self.env("cli", 1), capture_output=True, text=True, check=True)
        created: dict[str, object] = json.loads(out.stdout)
        return created

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.proc.poll() is None:
                node.proc.kill()
            node.proc.wait(10)
        self.redis.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()


def tokens_of(created: dict[str, object]) -> tuple[str, dict[str, str], dict[str, str]]:
    people = created["participants"]
    assert isinstance(people, list)
    tokens = {p["role"]: p["link"].split("#", 1)[1] for p in people}
    ids = {p["role"]: p["id"] for p in people}
    return str(created["hearing_id"]), tokens, ids


def events(cluster: Cluster, hid: str) -> list[dict[str, object]]:
    path = cluster.data / "hearings" / hid / "events.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.mark.timeout(120)
async def test_party_reaching_the_other_node_is_routed_to_the_hearing_and_survives_its_loss(
        cluster: Cluster) -> None:
    a = cluster.start("node-a")
    b = cluster.start("node-b")
    hid, tokens, ids = tokens_of(cluster.hearing())
    video, audio = cached_clips()
    judge = Participant(a.url, tokens["judge"], "judge", video, audio)
    party = Participant(b.url, tokens["party"], "party", video, audio)
    try:
        await judge.connect()  # the first join pins the hearing to node A
        await party.connect()  # node B sends the party to node A
        assert party.redirects == [a.url]
        assert (await judge.call("admit", {"participant_id": ids["party"]}))["ok"]
        await wait_for(lambda: judge.media.frames_from(ids["party"], "camera") > 10
                       and party.media.frames_from(ids["judge"], "camera") > 10, 20)

        os.kill(a.proc.pid, signal.SIGKILL)  # node A dies mid-hearing
        a.proc.wait(10)
        lost_at = time.monotonic()
        # clients notice and come back through node B, which takes the hearing over
        for _ in range(40):
            try:
                await judge.reconnect(b.url)
                break
            except Exception:
                await asyncio.sleep(0.5)
        await party.reconnect(b.url)
        assert judge.base_url == b.url and party.base_url == b.url
        assert time.monotonic() - lost_at < 30
        assert party.welcome["you"]["state"] == "admitted"  # back in the same place
        await wait_for(lambda: judge.media.frames_from(ids["party"], "camera") > 10
                       and party.media.frames_from(ids["judge"], "camera") > 10, 20)
        moved = [e for e in events(cluster, hid) if e["type"] == "hearing_moved"]
        assert moved and moved[0]["from"] == "node-a" and moved[0]["to"] == "node-b"
    finally:
        await party.close()
        await judge.close()


@pytest.mark.timeout(120)
async def test_redis_stopping_refuses_new_joins_keeps_media_and_recovers(
        cluster: Cluster) -> None:
    a = cluster.start("node-a")
    _, tokens, ids = tokens_of(cluster.hearing())
    video, audio = cached_clips()
    judge = Participant(a.url, tokens["judge"], "judge", video, audio)
    party = Participant(a.url, tokens["party"], "party", video, audio)
    try:
        await judge.connect()
        await party.connect()
        assert (await judge.call("admit", {"participant_id": ids["party"]}))["ok"]
        await wait_for(lambda: judge.media.frames_from(ids["party"], "camera") > 10, 20)
        cluster.redis.stop()
        before = judge.media.frames_from(ids["party"], "camera")
        late = Participant(a.url, tokens["party"], "late", video, audio)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect()
        assert late.refusal is not None and late.refusal["code"] == "store.unavailable"
        # a decision of the court that cannot be saved is refused, and the judge is told
        ack = await judge.call("lock", {"locked": True})
        assert ack["ok"] is False and ack["error"]["code"] == "store.unavailable", ack
        log = cluster.folder / "node-a.log"
        # the heartbeat noticed (its own line, not any other mention of Redis)
        await wait_for(lambda: "running hearings keep their media" in log.read_text(), 20)
        # media goes on while Redis is down
        await wait_for(lambda: judge.media.frames_from(ids["party"], "camera") > before + 30, 5)
        assert cluster.redis.proc is None  # still down
        cluster.redis.start()  # same port, same append-only file
        await wait_for(lambda: "reachable again" in log.read_text(), 20)
        again = Participant(a.url, tokens["party"], "again", video, audio)
        try:
            await again.connect()  # the node reconnected to Redis by itself
        except Exception:
            raise AssertionError(again.refusal) from None
        assert again.welcome["ok"]
        assert again.welcome["state"]["locked"] is False  # the refused lock was not made
        assert (await judge.call("lock", {"locked": True}))["ok"]
        await again.close()
    finally:
        await party.close()
        await judge.close()


@pytest.mark.timeout(120)
async def test_sigterm_drains_the_node_and_hands_its_hearing_to_another(
        cluster: Cluster) -> None:
    a = cluster.start("node-a")
    b = cluster.start("node-b")
    hid, tokens, _ = tokens_of(cluster.hearing())
    video, audio = cached_clips()
    judge = Participant(a.url, tokens["judge"], "judge", video, audio)
    try:
        await judge.connect()
        await wait_for(lambda: judge.media.pc.connectionState == "connected", 10)
        a.proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: any(e == "node.moving" for e, _ in judge.events), 15)
        assert a.proc.wait(20) == 0
        await judge.reconnect(b.url)
        assert judge.base_url == b.url and judge.welcome["you"]["state"] == "admitted"
        types = [e["type"] for e in events(cluster, hid)]
        assert "hearing_handed_over" in types
    finally:
        await judge.close()


def mediation(cluster: Cluster) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(cluster.data),
         "hearing", "create", "--kind", "mediation", "--case-number", "M-2",
         "--title", "Takeover", "--at", soon(), "--mediator", "Mia", "--party", "Ann",
         "--counsel", "Bob"],
        cwd=ROOT, env=cluster.env("cli", 1), capture_output=True, text=True, check=True)
    created: dict[str, object] = json.loads(out.stdout)
    return created


@pytest.mark.timeout(150)
async def test_a_node_lost_mid_mediation_hands_over_caucus_settlement_and_recording(
        cluster: Cluster) -> None:
    a = cluster.start("node-a")
    b = cluster.start("node-b")
    hid, tokens, ids = tokens_of(mediation(cluster))
    video, audio = cached_clips()
    mediator = Participant(a.url, tokens["mediator"], "mediator", video, audio)
    party = Participant(a.url, tokens["party"], "party", video, audio)
    counsel = Participant(a.url, tokens["counsel"], "counsel", video, audio)
    terms = "Ann pays Bob 1,000 by 1 January.\n"
    try:
        for p in (mediator, party, counsel):
            await p.connect()
        for who in ("party", "counsel"):
            assert (await mediator.call("admit", {"participant_id": ids[who]}))["ok"]
        assert (await mediator.call("conduct", {"action": "start"}))["ok"]
        assert (await mediator.call("recording", {"action": "start"}))["ok"]
        sha = (await mediator.call("settlement.draft", {"text": terms}))["sha256"]
        assert (await party.call("settlement.confirm", {
            "sha256": sha, "typed_name": "Ann", "confirm": True}))["ok"]
        caucus = (await mediator.call("caucus.open", {
            "name": "with counsel", "participant_ids": [ids["counsel"]]}))["caucus"]
        await wait_for(lambda: mediator.media.frames_from(ids["party"], "camera") > 10, 20)
        await wait_for(lambda: any(e == "state" and d["state"]["recording_active"]
                                   for e, d in mediator.events), 10)
        os.kill(a.proc.pid, signal.SIGKILL)  # node A dies mid-mediation
        a.proc.wait(10)
        lost_at = time.time()
        for _ in range(40):
            try:
                await mediator.reconnect(b.url)
                break
            except Exception:
                await asyncio.sleep(0.5)
        await party.reconnect(b.url)
        await counsel.reconnect(b.url)
        assert mediator.base_url == b.url
        state = mediator.welcome["state"]
        assert state["phase"] == "in_session" and state["recording"] == "on"
        assert [c["id"] for c in state["caucuses"]] == [caucus]
        assert counsel.welcome["you"]["room"] == caucus  # still in the caucus
        assert party.welcome["you"]["room"] == "main"
        got = await party.call("settlement.get")
        assert got["settlement"]["text"] == terms
        assert ids["party"] in got["settlement"]["confirmations"]
        gap = state["interruption"]
        assert gap["cause"] == "node lost" and gap["recording_gap"] is True
        assert gap["from"] <= lost_at + 0.5
        # media flows again, and the caucus still keeps counsel and the party apart
        await wait_for(lambda: mediator.media.frames_from(ids["party"], "camera") > 10
                       and party.media.frames_from(ids["mediator"], "camera") > 10, 20)
        assert party.media.frames_from(ids["counsel"], "camera") == 0
        await wait_for(lambda: any(e == "state" and d["state"]["recording_active"]
                                   for e, d in mediator.events), 10)
        assert (await mediator.call("caucus.end"))["ok"]
        assert (await mediator.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        for p in (counsel, party, mediator):
            await p.close()
    types = [e["type"] for e in events(cluster, hid)]
    assert "hearing_moved" in types and "recording_gap" in types
    folder = cluster.data / "records" / hid
    report = verify_folder(folder)
    assert report.ok, report.render()
    assert (folder / "settlement.txt").read_text() == terms
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "interruptions.json" in {e["path"] for e in manifest["entries"]}
