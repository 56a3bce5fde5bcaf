"""One participant's peer connection with the relay.

The server always offers (no glare): the first offer carries ``recvonly``
m-lines for what the participant may publish and ``sendonly`` slots for what
they receive; later offers add slots or a screen-share m-line. A slot's
publisher changes without renegotiation: the client learns who is behind
each ``mid`` from the ``tracks`` map sent with every offer and in
``media.tracks`` updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from ..domain.errors import Code, HearingError, MediaError
from ..domain.policy import Source
from ..tasks import TaskSet
from .aiortc_hook import (
    Packer,
    bind_host_ports,
    cap_remb,
    count_nacks_received,
    count_nacks_sent,
    fast_ingest,
    install_packer,
    limit_retransmissions,
    publisher_ssrc,
    tap_receiver,
    watch_loss,
)
from .candidates import CandidatePolicy, filter_answer
from .forwarding import Producer, Slot
from .jitter import LowDelayJitterBuffer

logger = logging.getLogger(__name__)

SignalFn = Callable[[str, dict[str, Any]], Awaitable[None]]
MAX_SDP_BYTES = 64 * 1024


@dataclass(frozen=True)
class PeerConfig:
    video_codec: str = "vp8"
    ice_timeout: float = 20.0
    answer_timeout: float = 15.0
    public_ip: str = ""
    low_delay: bool = True
    #: send frames from the relay directly (False: through aiortc's per-sender task)
    fast_send: bool = True
    #: which remote candidates the node tries (how many, at which addresses); the
    #: composition root allows loopback only to a node serving on loopback
    candidates: CandidatePolicy = field(
        default_factory=lambda: CandidatePolicy(allow_loopback=True))
    #: UDP ports of the node's host candidates ((0, 0): ephemeral)
    port_range: tuple[int, int] = (0, 0)


def codec_preferences(kind: str, video_codec: str) -> list[Any]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    if kind == "audio":
        return [c for c in caps if c.mimeType.lower() == "audio/opus"]
    wanted = {f"video/{video_codec}", "video/rtx"}
    return [c for c in caps if c.mimeType.lower() in wanted]


def add_public_ip(sdp: str, public_ip: str) -> str:
    """Add a host candidate with ``public_ip`` beside each IPv4 host candidate (1:1 NAT)."""
    if not public_ip:
        return sdp
    out: list[str] = []
    for line in sdp.split("\r\n"):
        out.append(line)
        if line.startswith("a=candidate:") and " typ host" in line:
            parts = line.split(" ")
            if len(parts) > 5 and "." in parts[4] and parts[4] != public_ip:
                parts[0] = parts[0] + "p"
                parts[4] = public_ip
                out.append(" ".join(parts))
    return "\r\n".join(out)


class Peer:
    def __init__(self, participant_id: str, publish_sources: tuple[Source, ...],
                 config: PeerConfig, signal: SignalFn,
                 on_producer: Callable[[Producer], None],
                 on_producer_live: Callable[[Producer], None],
                 on_closed: Callable[[Peer, str], None]) -> None:
        self.participant_id = participant_id
        self.config = config
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.producers: dict[Source, Producer] = {}
        #: the language of each published interpretation channel
        self.languages: dict[Source, str] = {}
        self.publish_transceivers: dict[Source, RTCRtpTransceiver] = {}
        self.slots: list[Slot] = []
        self.closed = False
        self.close_reason = ""
        self.connected = asyncio.Event()
        self._signal = signal
        self._on_producer = on_producer
        self._on_producer_live = on_producer_live
        self._on_closed = on_closed
        self._lock = asyncio.Lock()
        self._dirty = False
        self._negotiation: asyncio.Task[None] | None = None
        self._answer: asyncio.Future[str] | None = None
        self._offer_mlines = 0
        self._remote_candidates = 0
        self._slot_transceivers: dict[Slot, RTCRtpTransceiver] = {}
        self._buffers: dict[Source, Any] = {}
        #: REMB caps for what this participant publishes (set by the router, bit/s)
        self.bitrate_caps: dict[Source, int] = {}
        #: the track map the client last heard (in an offer or a media.tracks)
        self.sent_tracks: dict[str, Any] = {}
        self._tasks = TaskSet()
        self.pc.on("connectionstatechange", self._on_state)
        loop = asyncio.get_running_loop()
        self._ice_timer = loop.call_later(config.ice_timeout, self._on_ice_timeout)
        for source in publish_sources:
            self.add_publish(source)

    # ---- publishing -----------------------------------------------------------------

    def add_publish(self, source: Source) -> bool:
        """Open (or reopen) a receiving m-line for ``source``; True if an offer is needed."""
        if source in self.producers:
            return False
        transceiver = self.publish_transceivers.get(source)
        new = transceiver is None
        if transceiver is None:
            transceiver = self.pc.addTransceiver(source.kind, direction="recvonly")
            transceiver.setCodecPreferences(
                codec_preferences(source.kind, self.config.video_codec))
            sink = functools.partial(self._on_frame, source)
            buffer = tap_receiver(transceiver.receiver, source.kind, sink,
                                  low_delay=self.config.low_delay)
            self._buffers[source] = buffer
            self.publish_transceivers[source] = transceiver
            count_nacks_sent(transceiver.receiver, functools.partial(self._nacked, source))
            cap_remb(transceiver.receiver, functools.partial(self.bitrate_caps.get, source))
        producer = self._make_producer(source, transceiver.receiver)
        self.producers[source] = producer
        self._on_producer(producer)
        return new

    def _make_producer(self, source: Source, receiver: RTCRtpReceiver) -> Producer:
        codec = "opus" if source.kind == "audio" else self.config.video_codec
        producer = Producer(self.participant_id, source, codec, receiver, self._on_producer_live,
                            self.languages.get(source))
        buffer = self._buffers[source]
        producer.media_ssrc = functools.partial(publisher_ssrc, receiver, buffer)
        if isinstance(buffer, LowDelayJitterBuffer):  # a frame lost for good: a keyframe
            buffer.on_unrecoverable = producer.request_keyframe
        return producer

    def remove_publish(self, source: Source) -> Producer | None:
        producer = self.producers.pop(source, None)
        if producer is not None:
            producer.close()
        return producer

    def _nacked(self, source: Source, packets: int) -> None:
        producer = self.producers.get(source)
        if producer is not None:
            producer.counters.nacks += packets

    def _on_frame(self, source: Source, frame: Any) -> None:
        producer = self.producers.get(source)
        if producer is not None:
            producer.on_frame(frame)

    # ---- subscribing ----------------------------------------------------------------

    def free_slot(self, kind: str) -> Slot | None:
        for slot in self.slots:
            if slot.kind == kind and slot.producer is None:
                return slot
        return None

    def new_slot(self, kind: str) -> Slot:
        frame_step = 960 if kind == "audio" else 3000
        codec = "opus" if kind == "audio" else self.config.video_codec
        slot = Slot(kind, Packer(codec, frame_step))
        transceiver = self.pc.addTransceiver(slot, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(kind, self.config.video_codec))
        fast = install_packer(transceiver.sender, slot.packer, slot.request_keyframe)
        limit_retransmissions(transceiver.sender, lambda: slot.producer is not None)
        count_nacks_received(transceiver.sender, slot.nacked)
        watch_loss(transceiver.sender, slot.packer)
        if self.config.fast_send:
            slot.fast = fast
        self.slots.append(slot)
        self._slot_transceivers[slot] = transceiver
        return slot

    def track_map(self) -> dict[str, Any]:
        tracks: dict[str, Any] = {}
        for slot in self.slots:
            if slot.mid is None:
                continue
            p = slot.producer
            tracks[slot.mid] = (
                {"participant_id": p.participant_id, "source": p.source.value, "kind": slot.kind,
                 **({"language": p.language} if p.language else {})}
                if p is not None else None
            )
        return tracks

    def publish_map(self) -> dict[str, str]:
        return {t.mid: s.value for s, t in self.publish_transceivers.items()
                if t.mid is not None and s in self.producers}

    # ---- negotiation -------------------------------------------------------------------

    def request_negotiation(self) -> None:
        if self.closed:
            return
        self._dirty = True
        if self._negotiation is None or self._negotiation.done():
            self._negotiation = asyncio.ensure_future(self._negotiate())

    @property
    def negotiating(self) -> bool:
        return self._negotiation is not None and not self._negotiation.done()

    async def _negotiate(self) -> None:
        async with self._lock:
            while self._dirty and not self.closed:
                self._dirty = False
                try:
                    await self._one_round()
                except HearingError as exc:
                    await self.close(exc.code, exc.message)
                    return
                except Exception as exc:  # aiortc raises many kinds on bad input
                    logger.warning("negotiation with %s failed: %s", self.participant_id, exc)
                    await self.close("sdp.invalid", f"the answer could not be applied: {exc}")
                    return

    async def _one_round(self) -> None:
        offer = await self.pc.createOffer()
        bind_host_ports(self.pc, *self.config.port_range)
        await self.pc.setLocalDescription(offer)
        for slot, transceiver in self._slot_transceivers.items():
            slot.mid = transceiver.mid
        sdp = add_public_ip(self.pc.localDescription.sdp, self.config.public_ip)
        self._offer_mlines = sdp.count("\r\nm=")
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        offered_tracks = self.track_map()
        self.sent_tracks = offered_tracks
        await self._signal("media.offer", {
            "type": "offer", "sdp": sdp, "tracks": offered_tracks,
            "publish": self.publish_map(),
        })
        try:
            answer = await asyncio.wait_for(self._answer, self.config.answer_timeout)
        except TimeoutError as exc:
            raise MediaError("no answer to the server's offer came in time",
                             code=Code.MEDIA_ANSWER_TIMEOUT) from exc
        finally:
            self._answer = None
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        self._check_codecs()
        self._slots_ready()
        now_tracks = self.track_map()
        if now_tracks != offered_tracks:  # slots were re-pointed while we negotiated
            self.sent_tracks = now_tracks
            await self._signal("media.tracks", {"tracks": now_tracks})

    def _slots_ready(self) -> None:
        """Feed negotiated slots once media can actually flow (connected), so a
        new subscriber's first frame is a fresh keyframe, not a stale queue."""
        if not self.connected.is_set():
            return
        for slot in self.slots:
            if slot.mid is not None:
                slot.mark_ready()

    def _check_codecs(self) -> None:
        for transceiver in self.pc.getTransceivers():
            codecs = getattr(transceiver, "_codecs", [])
            if transceiver.currentDirection in (None, "inactive"):
                continue
            names = {c.mimeType.lower() for c in codecs}
            want = ("audio/opus" if transceiver.kind == "audio"
                    else f"video/{self.config.video_codec}")
            if want not in names:
                raise MediaError(
                    f"this browser cannot use the hearing's codec {want.split('/')[1]}",
                    code=Code.CODEC_UNSUPPORTED,
                )

    def handle_answer(self, sdp: Any) -> None:
        """Take the client's answer; cheap checks here, the rest in aiortc."""
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise MediaError("the answer is not an SDP description", code=Code.SDP_INVALID)
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise MediaError("the answer is too large", code=Code.SDP_TOO_LARGE)
        if self._answer is None or self._answer.done():
            raise MediaError("no offer is waiting for an answer", code=Code.MEDIA_NO_OFFER)
        mlines = ("\n" + sdp).count("\nm=")
        if mlines != self._offer_mlines:
            raise MediaError(
                f"the answer has {mlines} media sections; the offer had {self._offer_mlines}",
                code=Code.SDP_INVALID,
            )
        sdp, self._remote_candidates = filter_answer(sdp, self.config.candidates)
        self._answer.set_result(sdp)

    async def add_candidate(self, candidate: Any) -> None:
        from aiortc.sdp import candidate_from_sdp

        if not isinstance(candidate, dict):
            raise MediaError("a candidate must be an object", code=Code.INPUT_INVALID)
        line = candidate.get("candidate")
        if not line:
            return  # end of candidates
        if not isinstance(line, str) or len(line) > 1024:
            raise MediaError("the candidate is malformed", code=Code.CANDIDATE_INVALID)
        try:
            c = candidate_from_sdp(line.split(":", 1)[1] if line.startswith("candidate:") else line)
        except Exception as exc:
            raise MediaError("the candidate is malformed", code=Code.CANDIDATE_INVALID) from exc
        policy = self.config.candidates
        why = policy.refusal(str(c.ip))
        if why is not None:
            raise MediaError(f"the candidate was refused: {why}", code=Code.CANDIDATE_INVALID)
        if self._remote_candidates >= policy.max_candidates:
            raise MediaError(f"at most {policy.max_candidates} candidates per connection",
                             code=Code.CANDIDATE_INVALID)
        self._remote_candidates += 1
        c.sdpMid = candidate.get("sdpMid")
        c.sdpMLineIndex = candidate.get("sdpMLineIndex")
        try:
            await self.pc.addIceCandidate(c)
        except Exception as exc:
            raise MediaError(f"the candidate was refused: {exc}",
                             code=Code.CANDIDATE_INVALID) from exc

    # ---- lifecycle ----------------------------------------------------------------------

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self._ice_timer.cancel()
            if self.config.fast_send:
                for dtls in {t.sender.transport for t in self.pc.getTransceivers()}:
                    if dtls is not None:
                        fast_ingest(dtls, self._tasks)
            self.connected.set()
            self._slots_ready()
        elif state in ("failed", "closed") and not self.closed:
            if self.connected.is_set():
                code, message = "media.connection_lost", "the media connection was lost"
            else:
                code, message = "media.ice_failed", "the media connection could not be set up"
            self._spawn(self.close(code, message))

    def _on_ice_timeout(self) -> None:
        if not self.connected.is_set() and not self.closed:
            self._spawn(self.close(
                "media.ice_timeout", "the media connection did not establish in time"))

    def _spawn(self, coro: Any) -> None:
        self._tasks.spawn(coro)

    async def close(self, code: str = "closed", message: str = "") -> None:
        """Close the connection and its tracks. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = code
        self._ice_timer.cancel()
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        for producer in list(self.producers.values()):
            producer.close()
        self.producers.clear()
        for slot in self.slots:
            slot.stop()
        task = self._negotiation
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.pc.close()
        await self._tasks.aclose()
        self._on_closed(self, code)
        if code not in ("closed", "removed", "left", "replaced", "lobby"):
            with contextlib.suppress(Exception):
                await self._signal("media.closed", {"code": code, "message": message})

    def stats(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "state": self.pc.connectionState,
            "producers": [p.stats() for p in self.producers.values()],
            "slots": [s.stats() for s in self.slots],
        }
