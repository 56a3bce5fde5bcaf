"""Field-network figures: the relay in process with real aiortc clients, one leg
impaired by the user-space proxy (bench/impair.py, seeded); prints a table and
rewrites the field section of ``docs/benchmarks.md``.

    .venv/bin/python -m bench.field              # ~3 minutes
    .venv/bin/python -m bench.field --seconds 10 # quicker, same scenarios

A subscriber decodes every video frame it receives (PyAV) to tell "delivered" from
"decodable"; a freeze is a wait between two displayed video frames over 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from hearing_server.domain.hearing import HearingKind
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.domain.session import Member, Presence, Session
from hearing_server.relay.aiortc_hook import restrict_host_addresses
from hearing_server.relay.frames import EncodedFrame
from hearing_server.relay.peer import PeerConfig
from hearing_server.relay.router import Router

from .client import MediaClient
from .impair import (
    Impairment,
    UdpProxy,
    host_candidate_port,
    rtx_payload_types,
    through_proxy,
)
from .media import cached_clips

ROOT = Path(__file__).resolve().parent.parent
FREEZE = 0.2


@dataclass
class Watch:
    """What one subscriber saw of one kind, after the warm-up."""

    frames: int = 0
    decodable: int = 0
    gaps: list[float] = field(default_factory=list)
    last: float | None = None


class WatchingClient(MediaClient):
    """A :class:`MediaClient` that decodes its video and records every gap."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.watch: dict[str, Watch] = {"audio": Watch(), "video": Watch()}
        self.watching = False
        self._decoders: dict[str, Any] = {}

    def _count(self, mid: str, kind: str, frame: EncodedFrame) -> None:
        super()._count(mid, kind, frame)
        decoded = 1
        if kind == "video":  # from the first frame on, so the decoder has every reference
            decoder = self._decoders.get(mid)
            if decoder is None:
                decoder = self._decoders[mid] = av.CodecContext.create("libvpx", "r")
            try:
                decoded = len(decoder.decode(av.Packet(frame.data)))
            except av.error.FFmpegError:
                decoded = 0
        if not self.watching:
            return
        now = time.monotonic()
        w = self.watch[kind]
        w.frames += 1
        w.decodable += decoded
        if w.last is not None:
            w.gaps.append(now - w.last)
        w.last = now


class Hearing:
    """A router, its session and clients whose legs may go through an impairing proxy."""

    def __init__(self) -> None:
        self.session = Session(HearingId("h_field"), HearingKind.HEARING)
        self.router = Router("h_field", PeerConfig(ice_timeout=15), self._signal)
        self.clients: dict[str, MediaClient] = {}
        self.legs: dict[str, tuple[Impairment, Impairment, int]] = {}
        self.proxies: dict[str, UdpProxy] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    async def _signal(self, pid: str, event: str, payload: dict[str, Any]) -> None:
        client = self.clients.get(pid)
        if client is None:
            return
        if event == "media.offer":
            task = asyncio.ensure_future(self._answer(pid, client, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event == "media.tracks":
            client.update_tracks(payload["tracks"])

    async def _answer(self, pid: str, client: MediaClient, offer: dict[str, Any]) -> None:
        leg = self.legs.get(pid)
        if leg is not None:
            proxy = self.proxies.get(pid)
            if proxy is None:
                target = ("127.0.0.1", host_candidate_port(offer["sdp"]))
                proxy = self.proxies[pid] = await UdpProxy(target, *leg).start()
            proxy.know_rtx(rtx_payload_types(offer["sdp"]))
            offer = {**offer, "sdp": through_proxy(offer["sdp"], proxy.address)}
        sdp = await client.answer(offer)
        if leg is not None:
            sdp = through_proxy(sdp, self.proxies[pid].back_address)
        peer = self.router.peers.get(pid)
        if peer is not None:
            peer.handle_answer(sdp)

    async def join(self, pid: str, role: Role, publish: bool, up: Impairment | None = None,
                   down: Impairment | None = None, seed: int = 1) -> WatchingClient:
        if up is not None or down is not None:
            self.legs[pid] = (up or Impairment(), down or Impairment(), seed)
        self.session.members[pid] = Member(ParticipantId(pid), pid.title(), role,
                                           Presence.ADMITTED)
        video, audio = cached_clips()
        client = WatchingClient(pid, video=video if publish else None,
                                audio=audio if publish else None)
        self.clients[pid] = client
        await self.router.connect(pid, role, self.session)
        return client

    def sent(self, pid: str, source: Source) -> int:
        return self.router.peers[pid].producers[source].counters.frames

    async def close(self) -> None:
        await self.router.close()
        for c in self.clients.values():
            await c.close()
        for p in self.proxies.values():
            p.close()
        for t in list(self._tasks):
            t.cancel()


async def until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("the media did not start")
        await asyncio.sleep(0.05)


def figures(watch: Watch, sent: int, seconds: float) -> dict[str, Any]:
    freezes = [g for g in watch.gaps if g > FREEZE]
    return {
        "delivered": round(watch.frames / max(1, sent), 4),
        "decodable": round(watch.decodable / max(1, sent), 4),
        "longest_gap_s": round(max(watch.gaps, default=0.0), 3),
        "freeze_s_per_min": round(sum(freezes) * 60 / seconds, 2),
        "freezes_over_1s": sum(1 for g in watch.gaps if g > 1.0),
    }


async def lossy(leg: str, seconds: float, seed: int) -> dict[str, Any]:
    """3 % loss and 0-50 ms jitter on the publisher's (``up``) or one subscriber's leg."""
    impaired = Impairment(loss=0.03, jitter=0.05)
    h = Hearing()
    try:
        if leg == "publisher":
            await h.join("judge", Role.JUDGE, True, up=impaired, seed=seed)
            party = await h.join("party", Role.PARTY, False)
        else:
            await h.join("judge", Role.JUDGE, True)
            party = await h.join("party", Role.PARTY, False, down=impaired, seed=seed)
        await until(lambda: party.frames_from("judge", "camera") > 30, 20)
        sent_v, sent_a = h.sent("judge", Source.CAMERA), h.sent("judge", Source.MICROPHONE)
        party.watching = True
        await asyncio.sleep(seconds)
        party.watching = False
        sent_v = h.sent("judge", Source.CAMERA) - sent_v
        sent_a = h.sent("judge", Source.MICROPHONE) - sent_a
        judge_peer, party_peer = h.router.peers["judge"], h.router.peers["party"]
        proxy = h.proxies["judge" if leg == "publisher" else "party"]
        stats = proxy.up.stats if leg == "publisher" else proxy.down.stats
        buffers = [b for b in judge_peer._buffers.values() if hasattr(b, "lost_frames")]
        return {
            "scenario": f"3% loss, 50 ms jitter on the {leg}'s leg",
            "video": figures(party.watch["video"], sent_v, seconds),
            "audio": figures(party.watch["audio"], sent_a, seconds),
            "packets_lost": stats.lost, "packets_reordered": stats.reordered,
            "retransmissions": stats.retransmissions,
            "nacks_answered": sum(s.counters.nacks for s in party_peer.slots),
            "nacked_upstream": sum(p.counters.nacks for p in judge_peer.producers.values()),
            "frames_given_up": sum(b.lost_frames for b in buffers),
            "keyframe_requests": sum(p.counters.keyframe_requests
                                     for p in judge_peer.producers.values()),
        }
    finally:
        await h.close()


async def narrow(seconds: float, seed: int) -> dict[str, Any]:
    """Three publishers (~600 kbit/s each) and a subscriber behind a 1 Mbit/s downlink."""
    h = Hearing()
    try:
        for pid, role in (("judge", Role.JUDGE), ("party", Role.PARTY),
                          ("counsel", Role.COUNSEL)):
            await h.join(pid, role, True)
        narrow_client = await h.join("observer", Role.OBSERVER, False,
                                     down=Impairment(rate=1_000_000, queue=0.2), seed=seed)
        wide = await h.join("clerk", Role.CLERK, False)
        await until(lambda: wide.frames("video") > 60, 20)
        await asyncio.sleep(2.0)  # let the narrow leg settle
        counters = {(pid, source): h.router.peers[pid].producers[source].counters
                    for pid in ("judge", "party", "counsel")
                    for source in (Source.CAMERA, Source.MICROPHONE)}
        before = {key: c.frames for key, c in counters.items()}
        narrow_client.watching = wide.watching = True
        await asyncio.sleep(seconds)
        narrow_client.watching = wide.watching = False
        sent_v = sum(c.frames - before[k] for k, c in counters.items() if k[1] is Source.CAMERA)
        sent_a = sum(c.frames - before[k] for k, c in counters.items()
                     if k[1] is Source.MICROPHONE)
        held = sorted(h.router.bandwidth.held("observer"))
        stats = h.proxies["observer"].down.stats
        return {
            "scenario": "3 publishers, one subscriber at 1 Mbit/s down",
            "narrow_video": figures(narrow_client.watch["video"], sent_v, seconds),
            "narrow_audio": figures(narrow_client.watch["audio"], sent_a, seconds),
            "wide_video": figures(wide.watch["video"], sent_v, seconds),
            "wide_audio": figures(wide.watch["audio"], sent_a, seconds),
            "packets_overflowed": stats.overflowed, "packets": stats.packets,
            "held_back": held,
        }
    finally:
        await h.close()


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenario | who | video delivered / decodable | longest video gap s |"
             " freeze s per min | audio delivered | longest audio gap s | repair |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "video" in r:
            who = [("subscriber", r["video"], r["audio"])]
            repair = (f"{r['packets_lost']} lost, {r['nacks_answered']} NACKed by the"
                      f" subscriber, {r['nacked_upstream']} NACKed upstream,"
                      f" {r['retransmissions']} RTX, {r['frames_given_up']} frames given up,"
                      f" {r['keyframe_requests']} keyframe requests")
        else:
            who = [("narrow", r["narrow_video"], r["narrow_audio"]),
                   ("others", r["wide_video"], r["wide_audio"])]
            repair = (f"{r['packets_overflowed']} of {r['packets']} packets overflowed the"
                      f" queue; held back from the narrow one: "
                      f"{', '.join(f'{p} {s}' for p, s in r['held_back']) or 'nothing'}")
        for name, v, a in who:
            lines.append(f"| {r['scenario']} | {name} | {v['delivered']} / {v['decodable']} |"
                         f" {v['longest_gap_s']} | {v['freeze_s_per_min']} | {a['delivered']} |"
                         f" {a['longest_gap_s']} | {repair} |")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text()
    start, end = "<!-- field -->", "<!-- /field -->"
    if start in doc and end in doc:
        head, rest = doc.split(start, 1)
        _, tail = rest.split(end, 1)
        path.write_text(f"{head}{start}\n\n{text}\n\n{end}{tail}")


async def main_async(seconds: float, seed: int) -> list[dict[str, Any]]:
    restrict_host_addresses(["127.0.0.1"])
    rows = [await lossy("subscriber", seconds, seed), await lossy("publisher", seconds, seed),
            await narrow(seconds, seed)]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    rows = asyncio.run(main_async(args.seconds, args.seed))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = (f"Measured {stamp}, {args.seconds:g} s per scenario, seed {args.seed}"
            f" (`python -m bench.field`).\n\n{table(rows)}")
    print(text)
    if not args.no_docs:
        with contextlib.suppress(OSError):
            write_docs(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
