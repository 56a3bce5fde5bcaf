"""One node process per core: several ``hearing-server serve`` processes on one machine
behind the Redis placement, against the same hearings in one process.

    .venv/bin/python -m bench.compare --processes 2 --ks 0,12 --seconds 10

Two hearings (a judge publishing and K observers each) run twice, one after the
other with the same load generator: first both in one node process, then one per
process (two ``serve`` processes with their own port and node id, one Redis, one
data folder, as `docs/operations.md` describes). Each hearing's participants join
through the node that is to host it (the placement pins a free hearing to the node
it reaches when that node is the least loaded), and the bench checks on each node's
``/metrics`` where the hearings went. The figure is the server processes' CPU
together; the marginal CPU per subscriber should not change with the split, so the
machine's capacity grows with its cores (the *scaling factor*: processes x the
one-process cost per subscriber / the split cost per subscriber).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .compare import PER_PROCESS, ROOT, Proc, cpu_split, wait_http
from .run import FPS, fit, free_port


def _hosted(url: str) -> int:
    """How many hearings a node says it hosts (its /metrics)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    match = re.search(r"^hearing_relay_hearings (\S+)$", text, re.M)
    return int(float(match.group(1))) if match else -1


class Cluster:
    """Redis, ``processes`` node processes sharing one data folder, ``hearings``
    hearings, each placed on node ``i % processes``."""

    def __init__(self, folder: Path, processes: int, hearings: int, kmax: int) -> None:
        from tests.redis_server import RedisServer  # Debian's redis-server (setup.sh)

        self.folder = folder
        self.redis = RedisServer(folder / "redis").start()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        data = folder / "data"
        self.cli = [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(data)]
        at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0).isoformat()
        observers = [a for i in range(kmax) for a in ("--observer", f"Observer {i}")]
        self.links: list[list[tuple[str, str]]] = []
        for h in range(hearings):
            out = subprocess.run([*self.cli, "--init", "hearing", "create", "--case-number",
                                  f"P-{h}", "--title", "Bench", "--at", at, "--judge", "Judge",
                                  *observers], cwd=ROOT, env=self.env("cli", 1),
                                 capture_output=True, text=True, check=True, timeout=60)
            people = json.loads(out.stdout)["participants"]
            self.links.append([(p["id"], p["link"].split("#", 1)[1]) for p in people])
        for i in range(processes):
            port = free_port()
            with open(folder / f"node-{i}.log", "wb") as log:
                proc = subprocess.Popen([*self.cli, "serve", "--host", "127.0.0.1", "--port",
                                         str(port)], cwd=ROOT, env=self.env(f"node-{i}", port),
                                        stdout=log, stderr=subprocess.STDOUT)
            self.procs.append(proc)
            self.urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(self.urls, self.procs, strict=True):
            wait_http(url + "/healthz", proc)
        time.sleep(2.5)  # every node's first heartbeat is in Redis

    def env(self, node: str, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
        env.update(HEARING_REDIS_URL=self.redis.url, HEARING_NODE_ID=node,
                   HEARING_PUBLIC_URL=f"http://127.0.0.1:{port}", HEARING_LOG_LEVEL="WARNING")
        return env

    def cpu(self) -> list[float]:
        return [sum(cpu_split(p.pid)) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.redis.stop()


def ramp(processes: int, hearings: int, ks: list[int], seconds: float,
         settle: float) -> dict[str, Any]:
    """``hearings`` hearings with K subscribers each, on ``processes`` node processes."""
    name = f"hearing-server, {hearings} hearings in {processes} process" + (
        "es" if processes > 1 else "")
    points: list[dict[str, Any]] = []
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="bench-nodes-") as tmp:
        cluster = Cluster(Path(tmp), processes, hearings, max(ks))
        try:
            publishers = []
            subs: list[Proc] = []
            for h in range(hearings):
                url = cluster.urls[h % processes]
                pub = Proc("--target", "hearing", "--url", url, "--publish", "--tokens",
                           json.dumps(cluster.links[h][:1]))
                publishers.append(pub)
                procs.append(pub)
            have = 0
            for k in ks:
                while have < k:
                    n = min(PER_PROCESS, k - have)
                    for h in range(hearings):
                        group = cluster.links[h][1 + have:1 + have + n]
                        proc = Proc("--target", "hearing", "--url",
                                    cluster.urls[h % processes], "--tokens", json.dumps(group))
                        publishers[h].ask("admit " + " ".join(pid for pid, _ in group))
                        proc.ask("wait 20")
                        procs.append(proc)
                        subs.append(proc)
                    have += n
                time.sleep(settle)
                hosted = [_hosted(u) for u in cluster.urls]
                cpu0, t0 = cluster.cpu(), time.monotonic()
                for p in procs:
                    p.send(f"measure {seconds}")
                results = [p.read() for p in procs]
                cpu1, t1 = cluster.cpu(), time.monotonic()
                per = [round((b - a) / (t1 - t0), 4) for a, b in zip(cpu0, cpu1, strict=True)]
                delivery = [min(1.0, v / (FPS * r["elapsed"]))
                            for p, r in zip(procs, results, strict=True) if p in subs
                            for v in r["video_frames"]]
                points.append({"k": k * hearings, "server_cores": round(sum(per), 4),
                               "per_process": per, "hearings_per_process": hosted,
                               "video_delivery_min": round(min(delivery), 4)
                               if delivery else None,
                               "client_cores": round(sum(r["cpu_cores"] for r in results), 3)})
                print(f"   {name} K={k * hearings}: {json.dumps(points[-1])}", flush=True)
        finally:
            for p in procs:
                p.close()
            cluster.stop()
    line = fit([(p["k"], p["server_cores"]) for p in points])
    out: dict[str, Any] = {"server": name, "processes": processes, "points": points}
    if line is not None:
        out["marginal_cores_per_subscriber"] = round(line[0], 5)
        out["fixed_cores"] = round(line[1], 4)
    out["placed_as_asked"] = all(
        p["hearings_per_process"] == ([hearings] if processes == 1 else
                                      [hearings // processes] * processes)
        for p in points)
    return out


def scaling(processes: int, ks: list[int], seconds: float, settle: float
            ) -> list[dict[str, Any]]:
    """The same ``processes`` hearings in one process, then one per process."""
    one = ramp(1, processes, ks, seconds, settle)
    split = ramp(processes, processes, ks, seconds, settle)
    a, b = one.get("marginal_cores_per_subscriber"), split.get("marginal_cores_per_subscriber")
    if a and b:
        split["scaling_factor"] = round(processes * a / b, 2)
        split["note"] = (f"{processes} processes x one process's cost per subscriber"
                         f" ({a}) / the split cost per subscriber ({b})")
    return [one, split]


def summary(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        cores = ", ".join(f"{p['k']}: {p['server_cores']} ({'+'.join(map(str, p['per_process']))})"
                          for p in r["points"])
        lines.append(f"{r['server']}: marginal {r.get('marginal_cores_per_subscriber')} core per"
                     f" subscriber, fixed {r.get('fixed_cores')}; cores at each K {cores};"
                     f" placed as asked: {r['placed_as_asked']}")
        if "scaling_factor" in r:
            lines.append(f"scaling factor {r['scaling_factor']} ({r['note']})")
    deliveries = [p["video_delivery_min"] for r in results for p in r["points"]
                  if p["video_delivery_min"] is not None]
    if deliveries:
        lines.append(f"video delivery min {min(deliveries)}, mean of minima"
                     f" {round(statistics.mean(deliveries), 4)}")
    return "\n".join(lines)
