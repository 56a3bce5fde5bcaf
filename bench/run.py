"""Run the benchmark: scenarios against Hearing Server's relay and against a
decode-and-re-encode baseline, in one run on one machine; print a table,
write JSON, and rewrite the figures section of ``docs/benchmarks.md``.

    .venv/bin/python -m bench.run            # the whole benchmark (~6 minutes)
    .venv/bin/python -m bench.run --smoke    # a few seconds, used by the tests
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
FPS = 30
AUDIO_FPS = 50


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_stats(base: str) -> dict[str, Any]:
    with urlopen(base + "/stats", timeout=10) as r:
        data: dict[str, Any] = json.loads(r.read())
        return data


@dataclass
class Group:
    """One load-generator process."""

    prefix: str
    count: int
    publish: bool


def start_server(mode: str, uvloop: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.server", "--mode", mode, "--port", str(port)]
    if uvloop:
        cmd.append("--uvloop")
    proc = subprocess.Popen(cmd, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            server_stats(base)
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the benchmark server did not start")


def start_group(base: str, g: Group, warmup: float, duration: float,
                follow: bool) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.loadgen", "--server", base, "--count", str(g.count),
           "--prefix", g.prefix, "--warmup", str(warmup), "--duration", str(duration)]
    if g.publish:
        cmd.append("--publish")
    if follow:
        cmd.append("--follow")
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def run_scenario(name: str, mode: str, groups: list[Group], warmup: float, duration: float,
                 uvloop: bool = True) -> dict[str, Any]:
    proc, base = start_server(mode, uvloop)
    loads: list[subprocess.Popen[str]] = []
    try:
        idle = server_stats(base)
        # publishers first (the baseline can only subscribe to tracks that exist)
        publishers = [g for g in groups if g.publish]
        others = [g for g in groups if not g.publish]
        follow = mode.startswith("relay")
        for g in publishers:
            loads.append(start_group(base, g, warmup + 2.0 if others else warmup, duration,
                                     follow))
        if others:
            time.sleep(2.0)
        for g in others:
            loads.append(start_group(base, g, warmup, duration, follow))
        for p in loads:  # wait until every process has joined and warmed up
            assert p.stdout is not None
            line = p.stdout.readline()
            if '"ready"' not in line:
                raise RuntimeError(f"load generator failed: {line!r}")
        before = server_stats(base)
        for p in loads:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in loads:
            assert p.stdout is not None
            results.append(json.loads(p.stdout.readline()))
        after = server_stats(base)
    finally:
        for p in loads:
            p.kill()
            p.wait(10)
            for pipe in (p.stdin, p.stdout):
                if pipe is not None:
                    pipe.close()
        proc.terminate()
        proc.wait(10)
    return summarise(name, mode, groups, idle, before, after, results)


def summarise(name: str, mode: str, groups: list[Group], idle: dict[str, Any],
              before: dict[str, Any], after: dict[str, Any],
              results: list[dict[str, Any]]) -> dict[str, Any]:
    wall = after["wall"] - before["wall"]
    server_cores = (after["cpu_seconds"] - before["cpu_seconds"]) / wall
    publishers = sum(g.count for g in groups if g.publish)
    participants = sum(g.count for g in groups)
    video_expected: list[float] = []
    video_got: list[int] = []
    audio_expected: list[float] = []
    audio_got: list[int] = []
    for g, r in zip(groups, results, strict=True):
        sources = publishers - (1 if g.publish else 0)
        for v, a in zip(r["video_frames"], r["audio_frames"], strict=True):
            video_expected.append(sources * FPS * r["elapsed"])
            video_got.append(v)
            audio_expected.append(sources * AUDIO_FPS * r["elapsed"])
            audio_got.append(a)
    streams = sum(
        g.count * (publishers - (1 if g.publish else 0)) for g in groups
    )  # one stream = one publisher's video + audio to one subscriber
    delivery = [min(1.0, got / exp) for got, exp in zip(video_got, video_expected, strict=True)
                if exp > 0]
    first = [x for r in results for x in r["first_frame_s"]]
    client_cores = sum(r["cpu_cores"] for r in results)
    out = {
        "scenario": name, "mode": mode, "participants": participants,
        "publishers": publishers, "forwarded_streams": streams,
        "server_cores": round(server_cores, 4),
        "server_cores_per_stream": round(server_cores / streams, 5) if streams else None,
        "video_delivery_min": round(min(delivery), 4) if delivery else None,
        "video_delivery_mean": round(statistics.mean(delivery), 4) if delivery else None,
        "audio_delivery_mean": round(
            statistics.mean(min(1.0, g / e) for g, e in zip(audio_got, audio_expected,
                                                             strict=True) if e > 0), 4)
        if any(audio_expected) else None,
        "first_frame_p50_s": round(statistics.median(first), 3) if first else None,
        "first_frame_p95_s": round(percentile(first, 0.95), 3) if first else None,
        "server_rss_mb": round(after["rss_mb"], 1),
        "memory_per_participant_mb": round((after["rss_mb"] - idle["rss_mb"]) / participants, 2),
        "client_cores": round(client_cores, 3),
        "delay": after.get("delay"),
    }
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def split(prefix: str, total: int, per_process: int) -> list[Group]:
    groups = []
    i = 0
    while total > 0:
        n = min(per_process, total)
        groups.append(Group(f"{prefix}{i}-", n, False))
        total -= n
        i += 1
    return groups


def scenarios(smoke: bool) -> list[tuple[str, str, list[Group]]]:
    if smoke:
        return [
            ("smoke 1->2", "relay", [Group("p", 1, True), Group("s", 2, False)]),
            ("smoke 1->1", "baseline", [Group("p", 1, True), Group("s", 1, False)]),
        ]
    out: list[tuple[str, str, list[Group]]] = [
        ("1 publisher -> 1 subscriber", "baseline", [Group("p", 1, True), Group("s", 1, False)]),
        ("1 publisher -> 3 subscribers", "baseline", [Group("p", 1, True), Group("s", 3, False)]),
        ("1 publisher -> 3 subscribers", "relay", [Group("p", 1, True), Group("s", 3, False)]),
        ("courtroom: 5 publish and subscribe", "relay", [Group("p", 5, True)]),
        ("courtroom: 5 publish and subscribe", "relay-recording", [Group("p", 5, True)]),
    ]
    for observers in (10, 30):
        out.append((f"gallery: 3 publishers -> {observers} observers", "relay",
                    [Group("p", 3, True), *split("o", observers, 10)]))
    out.append(("1 publisher -> 20 subscribers", "relay-aiortc-send",
                [Group("p", 1, True), *split("r", 20, 10)]))
    for subs in (20, 40, 60):
        out.append((f"ramp: 1 publisher -> {subs} subscribers", "relay",
                    [Group("p", 1, True), *split("r", subs, 10)]))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| scenario | relay | streams | server cores | cores/stream | video delivery"
            " (min) | first frame p50/p95 s | fwd delay p95 audio/video ms | client cores |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        d = r.get("delay") or {}
        delay = (f"{d['audio']['p95_ms']}/{d['video']['p95_ms']}" if d else "n/a")
        lines.append(
            f"| {r['scenario']} | {r['mode']} | {r['forwarded_streams']} | {r['server_cores']} |"
            f" {r['server_cores_per_stream']} | {r['video_delivery_mean']} "
            f"({r['video_delivery_min']}) | {r['first_frame_p50_s']}/{r['first_frame_p95_s']} |"
            f" {delay} | {r['client_cores']} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    p.add_argument("--docs", action="store_true", help="rewrite docs/benchmarks.md figures")
    args = p.parse_args(argv)
    duration = args.duration or (3.0 if args.smoke else 15.0)
    warmup = 2.0 if args.smoke else 4.0
    rows = []
    for name, mode, groups in scenarios(args.smoke):
        print(f"-- {name} [{mode}]", flush=True)
        rows.append(run_scenario(name, mode, groups, warmup, duration))
        print(json.dumps(rows[-1]), flush=True)
    report = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "duration_s": duration, "rows": rows, **ratios(rows)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(table(rows))
    print(summary(report))
    if args.docs:
        write_docs(report)
    return 0


def fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares line (slope, intercept) through (streams, cores)."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return slope, my - slope * mx


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures: per-stream cost against the baseline, and the ceiling."""
    out: dict[str, Any] = {"baseline_over_relay": None, "marginal_baseline_over_relay": None,
                           "relay_marginal_cores_per_stream": None,
                           "streams_per_core_at_99pct": None}
    base = {r["forwarded_streams"]: r for r in rows if r["mode"] == "baseline"}
    relay = [r for r in rows if r["mode"] == "relay"]
    same = next((r for r in relay if base.get(3) and r["scenario"] == base[3]["scenario"]), None)
    if same and base.get(3) and same["server_cores_per_stream"]:
        out["baseline_over_relay"] = round(
            base[3]["server_cores_per_stream"] / same["server_cores_per_stream"], 1)
    ramp = [r for r in relay if r["scenario"].startswith("ramp")
            or r["scenario"] == "1 publisher -> 3 subscribers"]
    line = fit([(r["forwarded_streams"], r["server_cores"]) for r in ramp])
    if line is not None:
        slope, intercept = line
        out["relay_marginal_cores_per_stream"] = round(slope, 5)
        good = [r for r in ramp if (r["video_delivery_min"] or 0) >= 0.99]
        if slope > 0 and good:
            out["streams_per_core_at_99pct"] = int((1.0 - intercept) / slope)
        if base.get(1) and base.get(3) and slope > 0:
            base_marginal = (base[3]["server_cores"] - base[1]["server_cores"]) / 2
            out["baseline_marginal_cores_per_stream"] = round(base_marginal, 4)
            out["marginal_baseline_over_relay"] = round(base_marginal / slope, 1)
    court = {r["mode"]: r for r in rows if r["scenario"].startswith("courtroom")}
    if "relay" in court and "relay-recording" in court:
        tracks = 2 * court["relay"]["publishers"]
        out["recording_cores_per_track"] = round(
            (court["relay-recording"]["server_cores"] - court["relay"]["server_cores"]) / tracks,
            5)
    return out


def summary(report: dict[str, Any]) -> str:
    return (
        f"baseline/relay CPU per stream, same scenario (1 -> 3): "
        f"{report['baseline_over_relay']}x\n"
        f"baseline/relay CPU per added subscriber: {report['marginal_baseline_over_relay']}x "
        f"(relay {report['relay_marginal_cores_per_stream']} cores per forwarded stream, "
        f"baseline {report.get('baseline_marginal_cores_per_stream')})\n"
        f"forwarded streams per core at >=99% delivery (extrapolated from the ramp): "
        f"{report['streams_per_core_at_99pct']}\n"
        f"recording cost per track (courtroom with and without recording): "
        f"{report.get('recording_cores_per_track')} cores")


def write_docs(report: dict[str, Any]) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    marker = "<!-- figures -->"
    head = text.split(marker)[0].rstrip() + "\n\n"
    body = (f"{marker}\n\nMeasured {report['when']} on {report['machine']}; "
            f"{report['duration_s']} s per scenario.\n\n{table(report['rows'])}\n\n"
            + "\n".join(f"* {line}" for line in summary(report).splitlines()) + "\n")
    path.write_text(head + body)


if __name__ == "__main__":
    sys.exit(main())
