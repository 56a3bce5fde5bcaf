"""Producers (incoming tracks) and slots (outgoing tracks): encoded frames in, the
same encoded frames out, to every slot the policy attached."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError

from ..domain.policy import Source
from ..tasks import TaskSet
from .aiortc_hook import FastSender, Packer, Packetiser, send_pli
from .fanout import FanOut
from .frames import DELAY_BUCKETS_MS, DelayHistogram, EncodedFrame, TrackCounters

logger = logging.getLogger(__name__)

#: A new subscriber or a PLI triggers at most one PLI to the publisher in this time.
KEYFRAME_REQUEST_INTERVAL = 0.3
#: a slot still waiting for a keyframe this long after asking asks again (the PLI, or
#: the keyframe it brought, may have been lost, or have come before the slot could send)
SLOT_KEYFRAME_RETRY = 1.0
SLOT_QUEUE_FRAMES = 30
_SERIALS = itertools.count(1)


class Producer:
    """One incoming track of one participant (microphone, camera, screen or interpretation)."""

    def __init__(self, participant_id: str, source: Source, codec: str,
                 receiver: RTCRtpReceiver, on_live: Callable[[Producer], None],
                 language: str | None = None) -> None:
        self.participant_id = participant_id
        self.source = source
        #: BCP 47 tag of an interpretation channel's language
        self.language = language
        self.kind = source.kind
        self.codec = codec
        self.receiver = receiver
        self.media_ssrc: Callable[[], int | None] = lambda: None
        self.forwarded = True
        self.live = False
        self.closed = False
        self.consumers: set[Slot] = set()
        #: the consumers whose frames the C fan-out sends in one call per frame ...
        self.fanout = FanOut(self._left_fanout)
        #: ... and the others (their senders' own way)
        self.direct: set[Slot] = set()
        self.sinks: list[Callable[[EncodedFrame], None]] = []
        self.counters = TrackCounters()
        #: cuts each frame into RTP payloads once for every slot it is sent to
        self.packetiser = Packetiser(codec)
        self._on_live = on_live
        self.serial = next(_SERIALS)
        self._last_pli = 0.0
        #: owns the PLI being sent (at most one at a time), cancelled on close
        self._pli = TaskSet()
        self._deferred: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[str, Source]:
        return (self.participant_id, self.source)

    def on_frame(self, frame: EncodedFrame | None) -> None:
        if frame is None or self.closed:
            return
        c = self.counters
        c.frames += 1
        c.bytes += len(frame.data)
        if frame.keyframe:
            c.keyframes += 1
        if not self.live:
            self.live = True
            self._on_live(self)
        if not self.forwarded:
            return
        packetiser = self.packetiser
        fanout = self.fanout
        if fanout.members:  # they count the frame themselves
            ms = (time.perf_counter() - frame.arrived_at) * 1000.0
            fanout.send(frame, packetiser, bisect.bisect_left(DELAY_BUCKETS_MS, ms), ms)
        direct = self.direct
        sent = [slot for slot in direct if slot.push(frame, packetiser)] if direct else None
        if sent:  # counted once per fan-out: the delay is the last subscriber's
            ms = (time.perf_counter() - frame.arrived_at) * 1000.0
            bucket = bisect.bisect_left(DELAY_BUCKETS_MS, ms)
            size = len(frame.data)
            for slot in sent:
                sc = slot.counters
                sc.frames += 1
                sc.bytes += size
                d = slot.delay
                d.counts[bucket] += 1
                d.total += 1
                d.sum_ms += ms
                if fanout.join(slot):
                    direct.discard(slot)
        if self.sinks:
            c.recorded_bytes += len(frame.data)
        for sink in self.sinks:
            sink(frame)

    def add_consumer(self, slot: Slot) -> None:
        self.consumers.add(slot)
        self.direct.add(slot)

    def remove_consumer(self, slot: Slot) -> None:
        self.fanout.leave(slot)
        self.consumers.discard(slot)
        self.direct.discard(slot)

    def _left_fanout(self, slot: Slot) -> None:
        """``slot`` left the fan-out: its frames go its sender's own way (for now)."""
        if slot in self.consumers:
            self.direct.add(slot)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe: at once, or (rate-limited) as soon as allowed."""
        if self.kind != "video" or self.closed:
            return
        now = time.monotonic()
        wait = KEYFRAME_REQUEST_INTERVAL - (now - self._last_pli)
        if wait > 0:
            if self._deferred is None:
                self._deferred = asyncio.get_running_loop().call_later(wait, self._deferred_pli)
            return
        ssrc = self.media_ssrc()
        if ssrc is None:
            return
        self._last_pli = now
        self.counters.keyframe_requests += 1
        if not self._pli:
            self._pli.spawn(send_pli(self.receiver, ssrc))

    def add_sink(self, sink: Callable[[EncodedFrame], None]) -> None:
        """Hand every forwarded frame to ``sink`` too (the recorder)."""
        self.sinks.append(sink)

    def remove_sink(self, sink: Callable[[EncodedFrame], None]) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def _deferred_pli(self) -> None:
        self._deferred = None
        self.request_keyframe()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._deferred is not None:
            self._deferred.cancel()
        self._pli.cancel()
        for slot in list(self.consumers):
            slot.detach()
        self.fanout.close()
        self.sinks.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id, "source": self.source.value,
            "codec": self.codec, "live": self.live, "forwarded": self.forwarded,
            "consumers": len(self.consumers), **self.counters.to_dict(),
        }


class Slot(MediaStreamTrack):
    """An outgoing track of a subscriber's connection, fed by at most one producer.

    The sender's track never changes; the producer behind it does, so a
    subscription changes without renegotiation.
    """

    def __init__(self, kind: str, packer: Packer) -> None:
        super().__init__()
        self.kind = kind
        self.packer = packer
        #: when set, frames are sent at once by the relay instead of aiortc's send loop
        self.fast: FastSender | None = None
        self.producer: Producer | None = None
        self.mid: str | None = None
        self.ready = False
        self.counters = TrackCounters()
        self.delay = DelayHistogram()
        self._waiting_keyframe = kind == "video"
        #: when the slot last asked for a keyframe (``time.monotonic``)
        self._asked_at = 0.0
        self._queue: deque[EncodedFrame] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._ended = False
        packer.on_packed = self._on_packed

    # -- fed by the producer --------------------------------------------------------

    def push(self, frame: EncodedFrame, packetiser: Packetiser | None = None) -> bool:
        """Hand the slot a frame. True when it was sent at once (:class:`FastSender`):
        the producer then counts it (frames, bytes, delay) for all its slots in one go;
        frames aiortc's own send loop takes are counted when packed."""
        if not self.ready:
            return False
        if self._waiting_keyframe:
            if not frame.keyframe:
                self.counters.dropped += 1
                if time.monotonic() - self._asked_at >= SLOT_KEYFRAME_RETRY:
                    self.request_keyframe()
                return False
            self._waiting_keyframe = False
        fast = self.fast
        if fast is not None:
            if fast.send(frame, packetiser):
                return True
            self.counters.dropped += 1
            if self.kind == "video":
                self._waiting_keyframe = True  # resume cleanly once it can send
                self.request_keyframe()
            return False
        if len(self._queue) >= SLOT_QUEUE_FRAMES:
            # the subscriber's leg is not keeping up: start again from a keyframe
            self.counters.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video":
                self._waiting_keyframe = True
                self.request_keyframe()
                if not frame.keyframe:
                    return False
                self._waiting_keyframe = False
        self._queue.append(frame)
        w = self._wakeup
        if w is not None and not w.done():
            w.set_result(None)
        return False

    # -- read by the aiortc sender ---------------------------------------------------

    async def recv(self) -> Any:
        while not self._queue:
            if self._ended:
                raise MediaStreamError
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        return self._queue.popleft()

    def _on_packed(self, frame: EncodedFrame, packets: int) -> None:
        """Counts a frame aiortc's own send loop packed (``fast_send=False``)."""
        c = self.counters
        c.frames += 1
        c.bytes += len(frame.data)
        self.delay.observe((time.perf_counter() - frame.arrived_at) * 1000.0)

    # -- attached by the router ------------------------------------------------------

    def attach(self, producer: Producer) -> None:
        if self.producer is producer:
            return
        self.detach()
        self.producer = producer
        producer.add_consumer(self)
        self.packer.set_source(producer)
        self._queue.clear()
        self._waiting_keyframe = self.kind == "video"
        if self.ready:
            self._asked_at = time.monotonic()
            producer.request_keyframe()

    def detach(self) -> None:
        if self.producer is not None:
            self.producer.remove_consumer(self)
            self.producer = None
        self._queue.clear()

    def mark_ready(self) -> None:
        if not self.ready:
            self.ready = True
            self._waiting_keyframe = self.kind == "video"
            self.request_keyframe()

    def nacked(self, packets: int) -> None:
        self.counters.nacks += packets

    def request_keyframe(self) -> None:
        if self.producer is not None:
            self._asked_at = time.monotonic()
            self.counters.keyframe_requests += 1
            self.producer.request_keyframe()

    def stop(self) -> None:
        self._ended = True
        self.detach()
        w = self._wakeup
        if w is not None and not w.done():
            w.set_result(None)
        super().stop()

    def stats(self) -> dict[str, Any]:
        p = self.producer
        return {
            "mid": self.mid, "kind": self.kind,
            "participant_id": p.participant_id if p else None,
            "source": p.source.value if p else None,
            **self.counters.to_dict(), "delay": self.delay.summary(),
        }
