"""Prometheus and Grafana files: promtool accepts the scrape config and the alert
rules and their unit tests pass; a real Prometheus scrapes a real node with them;
the dashboard parses, its queries run, and it (like the alerts) names only metrics
a node really exports."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from hearing_server.app import build_app
from hearing_server.settings import Settings
from tests.cli.helpers import CLI, ROOT, free_port, stop, wait_healthy
from tests.deploy.helpers import DEPLOY

DASHBOARD = DEPLOY / "grafana-dashboard.json"
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$instance": ".*"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60,
                          check=False, cwd=DEPLOY)


def test_promtool_accepts_the_alert_rules_and_their_unit_tests_pass() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_promtool_accepts_the_scrape_config() -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["panels"]
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


@pytest.fixture
async def exported(tmp_path: Path) -> AsyncIterator[set[str]]:
    """Every sample name a real node's /metrics exports."""
    server = TestServer(build_app(Settings(data_dir=tmp_path / "d", port=0)), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as s, s.get(server.make_url("/metrics")) as r:
            text = await r.text()
    finally:
        await server.close()
    names = {"up"}
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
                "gauge": [""], "summary": ["_sum", "_count", ""]}
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in suffixes.get(family.type, [""]))
    yield names


def referenced(query: str) -> set[str]:
    query = re.sub(r"\{[^}]*\}", "", query)            # label matchers
    query = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", query)
    query = re.sub(r'"[^"]*"', "", query)
    query = re.sub(r"\[[^\]]*\]", "", query)           # range selectors [5m]
    functions = {"sum", "rate", "histogram_quantile", "and", "or", "unless", "avg", "max",
                 "min", "count", "irate", "increase", "label_values", "bool"}
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", query)) - functions
    return {n for n in names if not re.fullmatch(r"\d+[smhd]?|__rate_interval|instance", n)}


def test_the_dashboard_and_alerts_name_only_metrics_a_node_exports(exported: set[str]) -> None:
    used: set[str] = set()
    for query in dashboard_queries() + alert_queries():
        names = referenced(query)
        assert names <= exported, (query, names - exported)
        used |= names
    hearing = {n for n in exported if n.startswith("hearing_")}
    assert len(used & hearing) >= 6  # the dashboard covers the relay, not one metric


def test_a_real_prometheus_scrapes_a_node_and_runs_every_dashboard_query(
        tmp_path: Path) -> None:
    node_port, prom_port = free_port(), free_port()
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{node_port}"]
    config["rule_files"] = [str(DEPLOY / "alerts.yml")]
    conf = tmp_path / "prometheus.yml"
    conf.write_text(yaml.safe_dump(config))
    with open(tmp_path / "node.log", "wb") as log:
        node = subprocess.Popen([*CLI, "serve", "--data-dir", str(tmp_path / "d"), "--init",
                                 "--host", "127.0.0.1", "--port", str(node_port)], cwd=ROOT,
                                stdout=log, stderr=log)
    with open(tmp_path / "prometheus.log", "wb") as log:
        prom = subprocess.Popen(["prometheus", f"--config.file={conf}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=log, stderr=log)
    base = f"http://127.0.0.1:{prom_port}"

    def query(expr: str) -> dict[str, Any]:
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body

    try:
        wait_healthy(f"http://127.0.0.1:{node_port}", node)
        deadline = time.monotonic() + 40
        while True:
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Prometheus never scraped the node"
            try:
                found = query('hearing_relay_peers{job="hearing-server"}')["data"]["result"]
                if found and query('up{job="hearing-server"}')["data"]["result"][0][
                        "value"][1] == "1":
                    break
            except OSError:
                pass
            time.sleep(0.2)
        for expr in dashboard_queries():
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            assert query(expr)["status"] == "success", expr
        with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=5) as resp:
            rules = json.loads(resp.read())["data"]["groups"][0]["rules"]
        assert {r["name"] for r in rules} >= {"HearingNodeDown", "HearingRelayAddsDelay"}
        assert all(r["health"] != "err" for r in rules)
    finally:
        stop(prom)
        stop(node)
