"""A load-generator process for the real servers: ``hearing-server serve`` over its
documented protocol (socket.io, join links, lobby and the judge's admission) or
Janus's VideoRoom (its HTTP API).

One process holds either the publisher (for Hearing Server: the judge, who also
admits) or a group of receive-only subscribers that count frames without decoding.
It reads commands on standard input and answers each with one JSON line:

* ``admit <pid> ...`` (publisher, Hearing Server): the judge admits them;
* ``wait <seconds>``: wait until every subscriber has its first video frame;
* ``measure <seconds>``: count frames and own CPU over a window;
* ``quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

import socketio

from hearing_server.relay.aiortc_hook import restrict_host_addresses

from .client import MediaClient
from .janus import JanusPublisher, JanusSubscriber
from .media import cached_clips
from .participant import Participant


class Load:
    """What one process holds: publishers/subscribers with a ``media`` client."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.hearing: list[Participant] = []
        self.janus: list[JanusSubscriber | JanusPublisher] = []
        self.admitted_at: dict[str, float] = {}

    def medias(self) -> list[MediaClient]:
        return [p.media for p in self.hearing] + [j.media for j in self.janus]

    def first_frames(self) -> list[float]:
        out = []
        for p in self.hearing:
            d = p.first_frame_delay()
            if d is not None:
                out.append(d)
        for j in self.janus:
            if j.media.first_frame_at is not None:
                out.append(j.media.first_frame_at - j.started_at)
        return out

    async def start(self) -> dict[str, Any]:
        a = self.args
        video, audio = cached_clips()
        if a.target == "hearing":
            for pid, token in json.loads(a.tokens):
                for attempt in range(3):  # a busy machine can time a connection out
                    p = Participant(a.url, token, pid, video if a.publish else None,
                                    audio if a.publish else None)
                    try:
                        welcome = await p.connect()
                        break
                    except (socketio.exceptions.SocketIOError, TimeoutError) as exc:
                        await p.close()
                        print(f"{pid}: connection attempt {attempt + 1}: {exc!r}",
                              file=sys.stderr)
                        await asyncio.sleep(1.0)
                else:
                    raise RuntimeError(f"{pid}: could not connect")
                self.hearing.append(p)
                if welcome.get("you", {}).get("state") not in ("admitted", "lobby"):
                    raise RuntimeError(f"{pid}: unexpected welcome {welcome!r}")
            return {"joined": [p.name for p in self.hearing]}
        if a.publish:
            pub = JanusPublisher(a.url, a.room, video, audio)
            await pub.start()
            self.janus.append(pub)
            return {"joined": ["publisher"], "feed": pub.feed}
        for i in range(a.count):
            sub = JanusSubscriber(a.url, a.room, a.feed, f"s{i}")
            await sub.start()
            self.janus.append(sub)
        return {"joined": [f"s{i}" for i in range(a.count)]}

    async def admit(self, pids: list[str]) -> dict[str, Any]:
        judge = self.hearing[0]
        failed = []
        for pid in pids:
            ack = await judge.call("admit", {"participant_id": pid})
            if not ack.get("ok"):
                failed.append((pid, ack))
        return {"admitted": len(pids) - len(failed), "failed": failed}

    async def wait(self, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(m.first_frame_at is not None for m in self.medias()):
                break
            await asyncio.sleep(0.05)
        waiting = sum(m.first_frame_at is None for m in self.medias())
        return {"ready": waiting == 0, "waiting": waiting, "first_frame_s": self.first_frames()}

    async def measure(self, seconds: float) -> dict[str, Any]:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        medias = self.medias()
        v0 = [m.frames("video") for m in medias]
        a0 = [m.frames("audio") for m in medias]
        b0 = [m.bytes_received() for m in medias]
        for m in medias:
            m.watch_rembs()
        r0 = [len(m.rembs) for m in medias]
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        # what the server asked of the publisher's video in the window (REMB, bit/s)
        rembs = [b for m, n in zip(medias, r0, strict=True) for b in m.rembs[n:]]
        return {"elapsed": elapsed, "cpu_cores": cpu / elapsed,
                "remb_min": min(rembs) if rembs else None,
                "rembs": len(rembs),
                "video_frames": [m.frames("video") - v for m, v in zip(medias, v0, strict=True)],
                "audio_frames": [m.frames("audio") - v for m, v in zip(medias, a0, strict=True)],
                "bytes": [m.bytes_received() - b for m, b in zip(medias, b0, strict=True)]}

    async def close(self) -> None:
        for p in self.hearing:
            await p.close()
        for j in self.janus:
            await j.close()


async def serve(args: argparse.Namespace) -> None:
    load = Load(args)
    loop = asyncio.get_running_loop()

    def say(data: dict[str, Any]) -> None:
        print(json.dumps(data), flush=True)

    try:
        say(await load.start())
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            if line[0] == "admit":
                say(await load.admit(line[1:]))
            elif line[0] == "wait":
                say(await load.wait(float(line[1])))
            elif line[0] == "measure":
                say(await load.measure(float(line[1])))
            else:
                say({"error": f"unknown command {line[0]}"})
    finally:
        await load.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--target", choices=["hearing", "janus"], required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--tokens", default="[]", help="JSON [[pid, token], ...] (hearing)")
    p.add_argument("--publish", action="store_true")
    p.add_argument("--count", type=int, default=0, help="subscribers (janus)")
    p.add_argument("--room", type=int, default=1234)
    p.add_argument("--feed", type=int, default=0)
    args = p.parse_args()
    restrict_host_addresses(["127.0.0.1"])
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
