"""The benchmark's server process: hosts one relay and a tiny HTTP signalling API.

Modes:
* ``relay`` — Hearing Server's :class:`~hearing_server.relay.router.Router`
  (encoded frames forwarded, never decoded);
* ``baseline`` — the decode-and-re-encode relay people build first: aiortc's
  ``MediaRelay`` over each received track, so every subscriber's sender
  re-encodes what one decoder produced.

Both offer from the server; the load generator answers. ``GET /stats`` gives
CPU time, memory and (for ``relay``) the forwarding-delay histograms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

from hearing_server.domain.hearing import HearingKind
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role
from hearing_server.domain.session import Member, Presence, Session
from hearing_server.relay.aiortc_hook import restrict_host_addresses
from hearing_server.relay.forwarding import Producer
from hearing_server.relay.peer import PeerConfig
from hearing_server.relay.router import Router
from recording.segment import TrackRecorder


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RelayMode:
    def __init__(self, fast_send: bool = True, record_to: Path | None = None) -> None:
        self.session = Session(HearingId("bench"), HearingKind.HEARING)
        self.pending: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.recorders: list[TrackRecorder] = []
        self._recorded: set[int] = set()
        self._record_to = record_to
        self.router = Router("bench", PeerConfig(ice_timeout=30, fast_send=fast_send),
                             self._signal, on_tracks_changed=self._tracks_changed)

    def _tracks_changed(self) -> None:
        if self._record_to is None:
            return
        for producer in list(self.router.producers.values()):
            if producer.serial not in self._recorded:
                self._recorded.add(producer.serial)
                self._record(producer, self._record_to)

    def _record(self, producer: Producer, folder: Path) -> None:
        """Record every published track as the product does: packets in, no transcoding."""
        kind = "audio" if producer.kind == "audio" else "video"
        recorder = TrackRecorder(folder, f"{producer.participant_id}-{kind}", kind,  # type: ignore[arg-type]
                                 producer.codec,  # type: ignore[arg-type]
                                 48000 if kind == "audio" else 90000,
                                 request_keyframe=producer.request_keyframe)
        self.recorders.append(recorder)
        producer.add_sink(lambda f: recorder.write(f.data, f.timestamp, f.keyframe))

    async def _signal(self, pid: str, event: str, payload: dict[str, Any]) -> None:
        if event == "media.offer":
            self.pending.setdefault(pid, asyncio.Queue()).put_nowait(payload)

    async def join(self, pid: str, publish: bool) -> dict[str, Any]:
        role = Role.PARTY if publish else Role.OBSERVER
        self.session.members[pid] = Member(ParticipantId(pid), pid, role, Presence.ADMITTED)
        self.pending.setdefault(pid, asyncio.Queue())
        await self.router.connect(pid, role, self.session)
        self.router.apply(self.session)
        return await self.next_offer(pid)

    async def next_offer(self, pid: str, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.pending[pid].get(), timeout)

    async def answer(self, pid: str, sdp: str) -> None:
        self.router.peers[pid].handle_answer(sdp)

    def stats(self) -> dict[str, Any]:
        slots = sum(s.producer is not None for p in self.router.peers.values() for s in p.slots)
        return {"delay": {k: v.summary() for k, v in self.router.delay().items()},
                "attached_slots": slots}


class BaselineMode:
    """Decode once per published track, re-encode per subscriber (aiortc MediaRelay)."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: list[Any] = []
        self.pcs: dict[str, RTCPeerConnection] = {}

    async def join(self, pid: str, publish: bool) -> dict[str, Any]:
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pcs[pid] = pc
        publish_mids: list[Any] = []
        if publish:
            for kind in ("audio", "video"):
                publish_mids.append((pc.addTransceiver(kind, direction="recvonly"), kind))

            @pc.on("track")
            def on_track(track: Any) -> None:
                self.tracks.append(track)
        else:
            for track in self.tracks:
                pc.addTransceiver(self.relay.subscribe(track), direction="sendonly")
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        publish_map = {t.mid: ("microphone" if k == "audio" else "camera")
                       for t, k in publish_mids}
        tracks = {t.mid: {"participant_id": "pub", "source": t.kind, "kind": t.kind}
                  for t in pc.getTransceivers() if t.direction == "sendonly"}
        return {"sdp": pc.localDescription.sdp, "publish": publish_map, "tracks": tracks}

    async def answer(self, pid: str, sdp: str) -> None:
        await self.pcs[pid].setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def stats(self) -> dict[str, Any]:
        return {}


def build(mode: str) -> web.Application:
    if mode == "relay":
        impl: Any = RelayMode()
    elif mode == "relay-aiortc-send":
        impl = RelayMode(fast_send=False)
    elif mode == "relay-recording":
        impl = RelayMode(record_to=Path(tempfile.mkdtemp(prefix="bench-rec-")))
    else:
        impl = BaselineMode()
    app = web.Application()

    async def join(request: web.Request) -> web.Response:
        data = await request.json()
        return web.json_response(await impl.join(data["pid"], bool(data["publish"])))

    async def answer(request: web.Request) -> web.Response:
        data = await request.json()
        await impl.answer(data["pid"], data["sdp"])
        return web.json_response({"ok": True})

    async def next_offer(request: web.Request) -> web.Response:
        data = await request.json()
        try:
            return web.json_response(await impl.next_offer(data["pid"], 10.0))
        except (TimeoutError, AttributeError):
            return web.json_response({})

    async def stats(request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response({
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "wall": time.monotonic(),
            "rss_mb": rss_mb(),
            **impl.stats(),
        })

    app.router.add_post("/join", join)
    app.router.add_post("/answer", answer)
    app.router.add_post("/offer", next_offer)
    app.router.add_get("/stats", stats)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["relay", "relay-aiortc-send", "relay-recording",
                                      "baseline"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--uvloop", action="store_true")
    args = p.parse_args()
    restrict_host_addresses(["127.0.0.1"])
    if args.uvloop:
        import uvloop

        uvloop.install()
    web.run_app(build(args.mode), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
