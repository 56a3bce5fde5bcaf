"""/metrics of a real node: promtool accepts the exposition, the counters never go
down when a participant leaves, and the edges count joins, refusals and requests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import socketio
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from hearing_server.app import RELAY
from tests.conftest import Running, admitted_pair, connect, schedule
from tests.relay.harness import wait_for


async def scrape(running: Running) -> str:
    async with ClientSession() as s, s.get(running.url + "/metrics") as r:
        assert r.status == 200
        return await r.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_promtool_accepts_what_a_real_node_exports(running: Running,
                                                        tmp_path: Path) -> None:
    async with ClientSession() as s, s.get(running.url + "/api/v1/nothing") as r:
        assert r.status == 404
    text = await scrape(running)
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"process_resident_memory_bytes", "hearing_build_info",
            "hearing_http_request_duration_seconds", "hearing_event_loop_lag_seconds",
            "hearing_data_dir_free_bytes", "hearing_relay_dropped_frames",
            "hearing_relay_peer_connections_closed"} <= names
    kinds = {s.labels.get("kind") for f in text_string_to_metric_families(text)
             if f.name == "hearing_relay_keyframe_requests" for s in f.samples}
    assert kinds == {None}  # audio never asks for keyframes: no label that stays 0


async def test_joins_are_counted_by_outcome_and_requests_by_route(running: Running) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(running.url, namespaces=["/hearing"], auth={"token": "bad"},
                          transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        await sio.disconnect()
    hearing = await schedule(running)
    judge = await connect(running, hearing.tokens["judge"])
    async with ClientSession() as s, s.get(running.url + "/healthz") as r:
        assert r.status == 200
    try:
        values = samples(await scrape(running))
        accepted = values[("hearing_joins_total", (("code", ""), ("outcome", "accepted")))]
        assert accepted >= 1
        assert values[("hearing_joins_total",
                       (("code", "token.malformed"), ("outcome", "refused")))] == 1
        assert any(name == "hearing_http_request_duration_seconds_count"
                   and ("route", "/healthz") in labels and ("status", "200") in labels for name, labels in values)
    finally:
        await judge.close()


async def test_counters_do_not_go_down_when_participants_leave(running: Running) -> None:
    hearing = await schedule(running)
    relay = running.app[RELAY]
    judge, party = await admitted_pair(running, hearing)
    try:
        before = samples(await scrape(running))
        assert before[("hearing_relay_forwarded_frames_total", (("kind", "video"),))] > 0
        assert before[("hearing_relay_peer_connections_opened_total", ())] == 2
    finally:
        await party.close()
        await wait_for(lambda: relay.peer_count() == 1, 10)
    try:
        after = samples(await scrape(running))
        for key, value in before.items():
            if key[0].endswith(("_total", "_count", "_bucket", "_sum")):
                assert after.get(key, 0) >= value, key
        closed = [v for (name, _), v in after.items()
                  if name == "hearing_relay_peer_connections_closed_total"]
        assert sum(closed) >= 1
    finally:
        await judge.close()
