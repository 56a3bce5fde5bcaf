"""A participant's media side without a browser: answers the relay's offers,
publishes pre-encoded clips, and counts received frames without decoding.

Used by the in-process tests and by the load generator. Signalling is the
caller's job: feed :meth:`MediaClient.answer` the relay's ``media.offer``
payload and send back what it returns.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from hearing_server.relay.aiortc_hook import tap_receiver
from hearing_server.relay.frames import EncodedFrame

from .media import Clip, ClipTrack


@dataclass
class Received:
    kind: str
    frames: int = 0
    bytes: int = 0
    keyframes: int = 0
    first_at: float | None = None
    last_at: float | None = None
    max_gap: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)


def rtc_configuration(ice_servers: list[dict[str, Any]] | None = None,
                      relay_only: bool = False) -> RTCConfiguration:
    """An aiortc configuration from the ``ice_servers`` a page would be handed."""
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential")) for s in ice_servers or []]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                            iceTransportPolicy=policy)


class MediaClient:
    def __init__(self, name: str, video: Clip | None = None, audio: Clip | None = None,
                 relay_only: bool = False) -> None:
        self.name = name
        self.relay_only = relay_only
        self.pc = RTCPeerConnection(rtc_configuration(relay_only=relay_only))
        self.tracks: dict[str, Any] = {}
        self.received: dict[str, Received] = {}
        self.created_at = time.monotonic()
        self.first_frame_at: float | None = None
        self._sources = {
            "camera": ClipTrack(video) if video is not None else None,
            "microphone": ClipTrack(audio) if audio is not None else None,
        }
        self._tapped: set[int] = set()
        #: the bitrates (bit/s) the server's REMBs asked of our senders, as they came
        self.rembs: list[int] = []
        self._watched: set[int] = set()
        self.pc.on("track", self._on_track)

    def add_source(self, source: str, clip: Clip) -> None:
        """Have a clip to send on ``source`` (e.g. an interpreter's ``interpretation``) when
        the relay opens an m-line for it."""
        self._sources[source] = ClipTrack(clip)

    async def use_ice_servers(self, ice_servers: list[dict[str, Any]]) -> None:
        """Gather with these STUN/TURN servers (before the first offer is applied)."""
        if self.pc.remoteDescription is not None:
            raise RuntimeError("the connection is already negotiated")
        old = self.pc
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers, self.relay_only))
        self.pc.on("track", self._on_track)
        await old.close()

    def watch_rembs(self) -> None:
        """Note in :attr:`rembs` each REMB the server sends to one of our sending
        tracks (what it asks the publisher's encoder for; the clips do not react)."""
        for t in self.pc.getTransceivers():
            sender = t.sender
            if sender.track is None or id(sender) in self._watched:
                continue
            self._watched.add(id(sender))
            handle = sender._handle_rtcp_packet

            async def handled(packet: Any, sender: Any = sender, handle: Any = handle) -> None:
                if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                    with contextlib.suppress(ValueError):
                        bitrate, ssrcs = unpack_remb_fci(packet.fci)
                        if sender._ssrc in ssrcs:
                            self.rembs.append(bitrate)
                await handle(packet)

            sender._handle_rtcp_packet = handled  # type: ignore[method-assign]

    def _on_track(self, track: Any) -> None:
        for t in self.pc.getTransceivers():
            if t.receiver.track is track and id(t.receiver) not in self._tapped:
                self._tapped.add(id(t.receiver))
                mid_holder = t

                def sink(frame: EncodedFrame | None, t: Any = mid_holder) -> None:
                    if frame is not None:
                        self._count(t.mid, t.kind, frame)

                tap_receiver(t.receiver, t.kind, sink)

    def _count(self, mid: str, kind: str, frame: EncodedFrame) -> None:
        now = time.monotonic()
        r = self.received.get(mid)
        if r is None:
            r = self.received[mid] = Received(kind)
        if r.first_at is None:
            r.first_at = now
            if self.first_frame_at is None and kind == "video":
                self.first_frame_at = now
        elif r.last_at is not None:
            r.max_gap = max(r.max_gap, now - r.last_at)
        r.last_at = now
        r.frames += 1
        r.bytes += len(frame.data)
        r.keyframes += frame.keyframe
        info = self.tracks.get(mid)
        if info:
            key = f"{info['participant_id']}:{info['source']}"
            r.by_source[key] = r.by_source.get(key, 0) + 1

    async def answer(self, offer: dict[str, Any]) -> str:
        """Apply the relay's offer, attach our clips to the publish m-lines, answer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        self.tracks.update(offer.get("tracks", {}))
        publish: dict[str, str] = offer.get("publish", {})
        for t in self.pc.getTransceivers():
            source = publish.get(t.mid or "")
            track = self._sources.get(source) if source else None
            if track is not None and t.sender.track is None:
                t.sender.replaceTrack(track)
                t.direction = "sendonly"
                t.sender._send_keyframe = track.request_keyframe
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        sdp: str = self.pc.localDescription.sdp
        return sdp

    def update_tracks(self, tracks: dict[str, Any]) -> None:
        self.tracks.update(tracks)

    def frames_from(self, participant_id: str, source: str) -> int:
        key = f"{participant_id}:{source}"
        return sum(r.by_source.get(key, 0) for r in self.received.values())

    def bytes_received(self) -> int:
        return sum(r.bytes for r in self.received.values())

    def frames(self, kind: str) -> int:
        return sum(r.frames for r in self.received.values() if r.kind == kind)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()
