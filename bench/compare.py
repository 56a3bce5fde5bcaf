"""The real server against Janus, in one run: ``hearing-server serve`` over its
documented protocol, Janus 1.1.2 VideoRoom (default threading and ``event_loops =
2``), and the decode-and-re-encode baseline, with the same pre-encoded media and
the same load generator, interleaved; prints the ratios.

    .venv/bin/python -m bench.compare              # K = 0, 8, 16, 24; 15 s each
    .venv/bin/python -m bench.compare --docs       # and rewrite docs/benchmarks.md
    .venv/bin/python -m bench.compare --smoke      # K = 0, 2; 3 s (the tests)

For each server one publisher (VP8 640x480 30 fps ~600 kbit/s plus Opus) and K
receive-only subscribers that count frames without decoding; the server process's
CPU (user + system from /proc, every thread) over each window; the marginal CPU per
subscriber is the least-squares slope over K.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import janus
from .run import FPS, Group, fit, free_port, machine, percentile, run_scenario

ROOT = Path(__file__).resolve().parent.parent
PER_PROCESS = 8
CLK = os.sysconf("SC_CLK_TCK")
PY_SPY = os.environ.get("PY_SPY", "py-spy")
#: samples a second (more: a finer profile, at the cost of py-spy's own CPU on the other core)
PY_SPY_RATE = os.environ.get("PY_SPY_RATE", "50")
#: "native": native frames too (where the C extensions and the kernel calls spend it);
#: "blocking": exact Python stacks; "gil": exact stacks of the thread holding the GIL only
PY_SPY_MODE = os.environ.get("PY_SPY_MODE", "nonblocking")
#: a folder: also ``perf record`` the server at each K (Linux perf, by shared object)
PERF_DIR = os.environ.get("PERF_DIR", "")
#: perf's sampling frequency (Hz)
PERF_FREQ = os.environ.get("PERF_FREQ", "499")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process (all its threads)."""
    user, system = cpu_split(pid)
    return user + system


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system time of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK, int(fields[12]) / CLK


class Proc:
    """One load-generator process (bench.realload), driven line by line."""

    def __init__(self, *args: str) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "bench.realload", *args], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = self.read()

    def read(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited ({self.p.wait(10)})")
        data: dict[str, Any] = json.loads(line)
        return data

    def send(self, command: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.read()

    def close(self) -> None:
        try:
            self.send("quit")
            self.p.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait(5)
        for pipe in (self.p.stdin, self.p.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a load process that died
                    pipe.close()


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


class Target:
    """A server under test: start it, add a publisher, add subscribers."""

    name = ""
    pid = 0

    def start(self, workdir: Path, kmax: int) -> None:
        raise NotImplementedError

    def publisher(self) -> Proc:
        raise NotImplementedError

    def subscribers(self, first: int, count: int, publisher: Proc) -> Proc:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class HearingTarget(Target):
    """``hearing-server serve``: a hearing with a judge (the publisher, who admits)
    and observers (the subscribers) who wait in the lobby until admitted."""

    name = "hearing-server"

    def __init__(self, tree: Path | None = None) -> None:
        #: run the server from another source tree (an A/B against older code)
        self.tree = tree
        if tree is not None:
            self.name = f"hearing-server ({tree.name})"

    def start(self, workdir: Path, kmax: int) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARING_")}
        env.update(HEARING_PUBLIC_URL=self.url, HEARING_LOG_LEVEL="WARNING")
        data = workdir / "data"
        cli = [sys.executable, "-m", "hearing_server.cli", "--data-dir", str(data)]
        at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0).isoformat()
        observers = [a for i in range(kmax) for a in ("--observer", f"Observer {i}")]
        out = subprocess.run([*cli, "--init", "hearing", "create", "--case-number", "B-1",
                              "--title", "Bench", "--at", at, "--judge", "Judge",
                              *observers], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True, timeout=60)
        people = json.loads(out.stdout)["participants"]
        self.links = [(p["id"], p["link"].split("#", 1)[1]) for p in people]
        with open(workdir / "server.log", "wb") as log:  # the child keeps its copy
            self.proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port",
                                          str(port)], cwd=self.tree or ROOT, env=env,
                                         stdout=log,
                                         stderr=subprocess.STDOUT)
        wait_http(self.url + "/healthz", self.proc)
        self.pid = self.proc.pid

    def publisher(self) -> Proc:
        return Proc("--target", "hearing", "--url", self.url, "--publish",
                    "--tokens", json.dumps(self.links[:1]))

    def subscribers(self, first: int, count: int, publisher: Proc) -> Proc:
        group = self.links[1 + first:1 + first + count]
        proc = Proc("--target", "hearing", "--url", self.url, "--tokens", json.dumps(group))
        admitted = publisher.ask("admit " + " ".join(pid for pid, _ in group))
        if admitted.get("failed"):
            raise RuntimeError(f"admission failed: {admitted}")
        return proc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class JanusTarget(Target):
    def __init__(self, event_loops: int) -> None:
        self.event_loops = event_loops
        self.name = f"janus event_loops={event_loops}" if event_loops else "janus default"

    def start(self, workdir: Path, kmax: int) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = janus.start(workdir / "janus", port, self.event_loops)
        wait_http(self.url + "/janus/info", self.proc)
        self.pid = self.proc.pid

    def publisher(self) -> Proc:
        return Proc("--target", "janus", "--url", self.url, "--publish")

    def subscribers(self, first: int, count: int, publisher: Proc) -> Proc:
        return Proc("--target", "janus", "--url", self.url, "--count", str(count),
                    "--feed", str(publisher.hello["feed"]))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def measure(target: Target, procs: list[Proc], subs: list[Proc], k: int,
            seconds: float, profile: Path | None = None) -> dict[str, Any]:
    spy = None
    if profile is not None:  # py-spy samples without pausing the server (other core)
        profile.mkdir(parents=True, exist_ok=True)
        # non-blocking by default; "native" or "blocking" pause the server for each sample
        # (exact stacks, slower server): a non-blocking sample read while the interpreter
        # changes frames lands on the event loop's frame
        how = {"native": ["--native"], "blocking": [], "gil": ["--gil"]}.get(PY_SPY_MODE,
                                                                        ["--nonblocking"])
        spy = subprocess.Popen([PY_SPY, "record", *how, "-r", PY_SPY_RATE, "-f", "raw",
                                "-p", str(target.pid), "-d", str(int(seconds)), "-o",
                                str(profile / f"{target.name}-K{k}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    perf = None
    if PERF_DIR:  # perf's own view: which shared object (python, uvloop, libsrtp, kernel)
        Path(PERF_DIR).mkdir(parents=True, exist_ok=True)
        perf = subprocess.Popen(["perf", "record", "-F", PERF_FREQ, "-g", "-p", str(target.pid),
                                 "-o", str(Path(PERF_DIR) / f"{target.name}-K{k}.data"),
                                 "--", "sleep", str(int(seconds))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (user0, sys0), t0 = cpu_split(target.pid), time.monotonic()
    for p in procs:
        p.send(f"measure {seconds}")
    results = [p.read() for p in procs]
    (user1, sys1), t1 = cpu_split(target.pid), time.monotonic()
    for tool in (spy, perf):
        if tool is not None:
            tool.wait(30)
    server = (user1 + sys1 - user0 - sys0) / (t1 - t0)
    delivery = [min(1.0, v / (FPS * r["elapsed"])) for p, r in zip(procs, results, strict=True)
                if p in subs for v in r["video_frames"]]
    kbps = [8 * b / r["elapsed"] / 1000 for p, r in zip(procs, results, strict=True)
            if p in subs for b in r["bytes"]]
    client = [r["cpu_cores"] for r in results]
    rembs = [r["remb_min"] for p, r in zip(procs, results, strict=True)
             if p not in subs and r.get("remb_min") is not None]
    return {"k": k, "server_cores": round(server, 4),
            # the lowest bitrate the server's REMBs asked of the publisher in the window
            "publisher_remb_kbit_min": round(min(rembs) / 1000) if rembs else None,
            # the kernel's share (on loopback it includes the receivers' side of each packet)
            "server_system_cores": round((sys1 - sys0) / (t1 - t0), 4),
            "video_delivery_min": round(min(delivery), 4) if delivery else None,
            "video_delivery_mean": round(statistics.mean(delivery), 4) if delivery else None,
            "kbit_s_mean": round(statistics.mean(kbps), 0) if kbps else None,
            "client_cores": round(sum(client), 3),
            "client_busiest_process": round(max(client), 3)}


def ramp(target: Target, ks: list[int], seconds: float, settle: float,
         profile: Path | None = None) -> dict[str, Any]:
    """One server: a publisher, then subscribers added up to each K, measured at each."""
    procs: list[Proc] = []
    subs: list[Proc] = []
    points: list[dict[str, Any]] = []
    first_frames: list[float] = []
    no_video = 0
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        target.start(Path(tmp), max(ks))
        try:
            publisher = target.publisher()
            procs.append(publisher)
            have = 0
            for k in ks:
                while have < k:
                    n = min(PER_PROCESS, k - have)
                    proc = target.subscribers(have, n, publisher)
                    ready = proc.ask("wait 20")
                    first_frames += ready["first_frame_s"]
                    if not ready["ready"]:  # reported (delivery 0), not fatal
                        print(f"   {target.name}: {ready['waiting']} subscribers got no"
                              " video in 20 s", flush=True)
                        no_video += ready["waiting"]
                    procs.append(proc)
                    subs.append(proc)
                    have += n
                time.sleep(settle)
                spy = profile if isinstance(target, HearingTarget) else None
                points.append(measure(target, procs, subs, k, seconds, spy))
                print(f"   {target.name} K={k}: {json.dumps(points[-1])}", flush=True)
        finally:
            for p in procs:
                p.close()
            target.stop()
    line = fit([(p["k"], p["server_cores"]) for p in points])
    out: dict[str, Any] = {"server": target.name, "points": points,
                           "subscribers_without_video": no_video,
                           "first_frame_p50_s": round(statistics.median(first_frames), 3)
                           if first_frames else None,
                           "first_frame_p95_s": round(percentile(first_frames, 0.95), 3)
                           if first_frames else None}
    if line is not None:
        out["marginal_cores_per_subscriber"] = round(line[0], 5)
        out["fixed_cores"] = round(line[1], 4)
        good = [p for p in points if (p["video_delivery_min"] or 1.0) >= 0.99]
        if line[0] > 0 and good:
            out["subscribers_per_core_at_99pct"] = int((1.0 - line[1]) / line[0])
    out["client_limited"] = any(p["client_busiest_process"] > 0.85
                                or p["client_cores"] + p["server_cores"]
                                > 0.9 * (os.cpu_count() or 1) for p in points)
    return out


def baseline(seconds: float, smoke: bool) -> dict[str, Any]:
    """aiortc MediaRelay (decode once, encode per subscriber): 1 and 3 subscribers."""
    counts = (1, 2) if smoke else (1, 3)
    rows = [run_scenario(f"1 -> {n}", "baseline", [Group("p", 1, True), Group("s", n, False)],
                         2.0 if smoke else 4.0, seconds) for n in counts]
    slope = (rows[1]["server_cores"] - rows[0]["server_cores"]) / (counts[1] - counts[0])
    return {"server": "decode/re-encode (aiortc MediaRelay)",
            "points": [{"k": n, "server_cores": r["server_cores"],
                        "video_delivery_min": r["video_delivery_min"],
                        "video_delivery_mean": r["video_delivery_mean"],
                        "client_cores": r["client_cores"]} for n, r in zip(counts, rows,
                                                                           strict=True)],
            "marginal_cores_per_subscriber": round(slope, 5)}


def ratios(results: list[dict[str, Any]]) -> list[str]:
    ours = next((r for r in results if r["server"] == "hearing-server"), None)
    if ours is None:
        return []
    mine = ours.get("marginal_cores_per_subscriber")
    lines = []
    for r in results:
        theirs = r.get("marginal_cores_per_subscriber")
        if r is ours or mine is None or theirs is None:
            continue
        # a short window can measure no CPU step at all (0: a clock tick is 0.01 s)
        if mine <= 0:
            lines.append(f"{r['server']} / hearing-server, marginal CPU per subscriber: "
                         f"no ratio (hearing-server measured {mine} in this run)")
            continue
        ratio = theirs / mine
        word = "below" if ratio >= 1 else "above"
        lines.append(f"{r['server']} / hearing-server, marginal CPU per subscriber: "
                     f"{ratio:.2f}x (hearing-server is {word} it)")
    return lines


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| server | marginal CPU per subscriber (video + audio) | CPU with no subscriber"
             " | cores at each K | video delivery min | kbit/s per subscriber"
             " | first frame p50/p95 s | client cores (busiest process)"
             " | publisher's REMB min kbit/s (K > 0) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        pts = r["points"]
        at_k = ", ".join(f"{p['k']}: {p['server_cores']}" for p in pts)
        lines.append(
            f"| {r['server']} | {r.get('marginal_cores_per_subscriber')} |"
            f" {r.get('fixed_cores', '—')} |"
            f" {at_k} |"
            f" {min((p['video_delivery_min'] or 1.0) for p in pts)} |"
            f" {pts[-1].get('kbit_s_mean', '—')} |"
            f" {r.get('first_frame_p50_s', '—')}/{r.get('first_frame_p95_s', '—')} |"
            f" {pts[-1]['client_cores']} ({pts[-1].get('client_busiest_process', '—')}) |"
            f" {remb_min(pts)} |")
    return "\n".join(lines)


def remb_min(points: list[dict[str, Any]]) -> str:
    """The lowest bitrate the server asked of its publisher while it had subscribers,
    at which K (K = 0 holds the estimate's start: its first REMB is 0.85 of what
    arrives, then it climbs); a dash when it sent none (Janus without a bitrate cap)."""
    asked = [(p["publisher_remb_kbit_min"], p["k"]) for p in points
             if p["k"] > 0 and p.get("publisher_remb_kbit_min") is not None]
    if not asked:
        return "—"
    kbit, k = min(asked)
    return f"{kbit} (K = {k})"


def load_note() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average before the run {one:.2f} / {five:.2f} / {fifteen:.2f}"


def write_docs(report: dict[str, Any]) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    start, end = "<!-- real-server figures -->", "<!-- end real-server figures -->"
    body = (f"{start}\n\nMeasured {report['when']} on {report['machine']}; "
            f"{report['load']}; {report['seconds']} s per point, K = "
            f"{', '.join(map(str, report['ks']))}.\n\n{report['table']}\n\n"
            + "\n".join(f"* {line}" for line in report["ratios"]) + f"\n\n{end}")
    if start in text and end in text:
        text = text.split(start)[0] + body + text.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--ks", default=None, help="subscriber counts, e.g. 0,8,16,24")
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--only", default="hearing,janus,janus2,baseline",
                   help="which servers (comma-separated)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "compare.json"))
    p.add_argument("--docs", action="store_true")
    p.add_argument("--tree", metavar="DIR", action="append", default=[],
                   help="also a server run from this source tree (--only ...,tree); "
                        "repeat for several (tree, tree2, ...)")
    p.add_argument("--profile", metavar="DIR",
                   help="py-spy the real server at each K (raw stacks into DIR)")
    p.add_argument("--processes", type=int, default=0, metavar="N",
                   help="instead: N hearings in one node process, then one per process "
                        "(N processes on Redis); K is per hearing (bench/processes.py)")
    args = p.parse_args(argv)
    ks = [int(k) for k in (args.ks or ("0,2" if args.smoke else "0,8,16,24")).split(",")]
    seconds = args.seconds or (3.0 if args.smoke else 15.0)
    settle = 1.0 if args.smoke else 3.0
    if args.processes:
        from .processes import scaling, summary

        load = load_note()
        scaled = scaling(args.processes, ks, seconds, settle)
        text = summary(scaled)
        print(text)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
            "load": load, "ks_per_hearing": ks, "seconds": seconds, "results": scaled,
            "summary": text}, indent=2))
        return 0
    load = load_note()
    chosen = args.only.split(",")
    results: list[dict[str, Any]] = []
    targets: dict[str, Target] = {"hearing": HearingTarget(), "janus": JanusTarget(0),
                                  "janus2": JanusTarget(2)}
    for i, tree in enumerate(args.tree):
        targets["tree" if i == 0 else f"tree{i + 1}"] = HearingTarget(Path(tree).resolve())
    for key in chosen:  # one after another, same media, same load generator
        print(f"-- {key}", flush=True)
        if key == "baseline":
            results.append(baseline(seconds, args.smoke))
        else:
            results.append(ramp(targets[key], ks, seconds, settle,
                                Path(args.profile) if args.profile else None))
    report: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": machine(), "load": load, "ks": ks, "seconds": seconds,
              "results": results, "table": table(results),
              "ratios": ratios(results) if "hearing" in chosen else []}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(report["table"])
    print("\n".join(report["ratios"]))
    if args.docs:
        write_docs(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
