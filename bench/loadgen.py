"""A load-generator process: publishers sending pre-encoded clips, or subscribers
counting frames without decoding. Prints one JSON line of results."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from typing import Any

from aiohttp import ClientSession

from hearing_server.relay.aiortc_hook import restrict_host_addresses

from .client import MediaClient
from .media import cached_clips


async def negotiate(http: ClientSession, base: str, pid: str, client: MediaClient,
                    publish: bool) -> None:
    async with http.post(f"{base}/join", json={"pid": pid, "publish": publish}) as r:
        offer = await r.json()
    sdp = await client.answer(offer)
    async with http.post(f"{base}/answer", json={"pid": pid, "sdp": sdp}) as r:
        await r.read()


async def follow_offers(http: ClientSession, base: str, pid: str, client: MediaClient,
                        stop: asyncio.Event) -> None:
    """Answer renegotiations (new slots) for the rest of the run."""
    while not stop.is_set():
        async with http.post(f"{base}/offer", json={"pid": pid}) as r:
            offer = await r.json()
        if offer.get("sdp"):
            sdp = await client.answer(offer)
            async with http.post(f"{base}/answer", json={"pid": pid, "sdp": sdp}) as r:
                await r.read()
        else:
            client.update_tracks(offer.get("tracks", {}))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    video, audio = cached_clips()
    clients: list[tuple[str, MediaClient]] = []
    stop = asyncio.Event()
    followers: list[asyncio.Task[None]] = []
    joined_at: dict[str, float] = {}
    async with ClientSession() as http:
        for i in range(args.count):
            pid = f"{args.prefix}{i}"
            client = MediaClient(pid, video if args.publish else None,
                                 audio if args.publish else None)
            joined_at[pid] = time.monotonic()
            await negotiate(http, args.server, pid, client, args.publish)
            clients.append((pid, client))
            if args.follow:
                followers.append(asyncio.ensure_future(
                    follow_offers(http, args.server, pid, client, stop)))
            if args.stagger:
                await asyncio.sleep(args.stagger)
        await asyncio.sleep(args.warmup)
        print(json.dumps({"ready": True}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # the orchestrator's "go"
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        start_counts = {pid: (c.frames("video"), c.frames("audio")) for pid, c in clients}
        t0 = time.monotonic()
        await asyncio.sleep(args.duration)
        elapsed = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        end_counts = {pid: (c.frames("video"), c.frames("audio")) for pid, c in clients}
        stop.set()
        for f in followers:
            f.cancel()
        first = [c.first_frame_at - joined_at[pid] for pid, c in clients
                 if c.first_frame_at is not None]
        gaps = [r.max_gap for _, c in clients for r in c.received.values() if r.kind == "video"]
        for _, c in clients:
            await c.close()
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    video_frames = [end_counts[p][0] - start_counts[p][0] for p in end_counts]
    audio_frames = [end_counts[p][1] - start_counts[p][1] for p in end_counts]
    return {
        "count": args.count, "publish": args.publish, "elapsed": elapsed,
        "cpu_cores": cpu / elapsed,
        "video_frames": video_frames, "audio_frames": audio_frames,
        "first_frame_s": first, "max_video_gap_s": max(gaps) if gaps else None,
        "first_frame_median": statistics.median(first) if first else None,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--prefix", default="c")
    p.add_argument("--publish", action="store_true")
    p.add_argument("--follow", action="store_true")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--stagger", type=float, default=0.0)
    args = p.parse_args()
    restrict_host_addresses(["127.0.0.1"])
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
