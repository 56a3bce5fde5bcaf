"""The relay's jitter buffer: a frame leaves the moment it is complete.

:class:`LowDelayJitterBuffer` is the Python one (on aiortc's ``JitterBuffer``), used
when the C module is not built; :class:`CJitterBuffer` is the same buffer in C
(``ingest.c``'s ``hs_jb``), which the C ingest (``ingest.py``) fills for every packet
of a publisher's stream while aiortc's way (retransmissions) adds to it through
:meth:`CJitterBuffer.add`. ``tests/relay/test_ingest.py`` holds the two to the same
answers packet by packet; :func:`low_delay_buffer` gives the C one when it is built.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiortc.jitterbuffer import MAX_MISORDER, JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from . import sendpath

#: how long a video frame with a missing packet waits for its retransmission before the
#: buffer gives it up, skips to the next whole frame and waits for a keyframe
RECOVERY_WAIT = 0.25
#: while waiting for a keyframe, ask again this often (the request may be lost too)
KEYFRAME_RETRY = 1.0
#: a new video stream's first frame waits this long for packets that overtook its head
STARTUP_WAIT = 0.06
#: an audio packet later than this (48 kHz clock: 1 s) behind the newest is dropped
AUDIO_REORDER_WINDOW = 48000


class LowDelayJitterBuffer(JitterBuffer):
    """Releases a frame the moment it is complete.

    Video: when every packet from the buffer's origin up to a packet with the
    marker bit shares one timestamp. Audio (one packet per frame): at once,
    dropping packets older than the last one released.

    A video frame whose missing packet has not come back (NACK/RTX) within
    :data:`RECOVERY_WAIT` while later packets arrive is given up: the buffer skips to
    the next whole frame, asks for a keyframe (``on_unrecoverable``, else a PLI of its
    own) and sets ``awaiting_keyframe``, so the tap drops the frames that cannot be
    decoded without the lost one until the keyframe comes (a short freeze, not a stall
    until the buffer overflows nor a corrupt picture).
    """

    def __init__(self, capacity: int, is_video: bool,
                 startup_wait: float | None = None) -> None:
        super().__init__(capacity=capacity, prefetch=0, is_video=is_video)
        self._startup_wait = STARTUP_WAIT if startup_wait is None else startup_wait
        self.media_ssrc: int | None = None
        self.arrived_at = 0.0
        self._last_audio_ts: int | None = None
        self._recent_audio: deque[int] = deque(maxlen=64)
        #: the relay's rate-limited keyframe request (None: a PLI from aiortc itself)
        self.on_unrecoverable: Callable[[], None] | None = None
        self.awaiting_keyframe = False
        #: frames given up (a packet never came back) and frames dropped awaiting a keyframe
        self.lost_frames = 0
        self.discarded_frames = 0
        self._blocked_since: float | None = None
        self._last_request = 0.0
        self._first_at: float | None = None
        self._released_any = False

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        now = self.arrived_at = time.perf_counter()
        self.media_ssrc = packet.ssrc
        if not self._is_video:
            # released at once, also when it comes late (out of order, from a jittery
            # link: the receiving browser's own jitter buffer puts it back in place);
            # only duplicates and packets older than a second are dropped
            ts = packet.timestamp
            last = self._last_audio_ts
            if last is not None and ((ts - last) & 0xFFFFFFFF) >= 0x80000000:
                if (last - ts) & 0xFFFFFFFF > AUDIO_REORDER_WINDOW or ts in self._recent_audio:
                    return False, None
            else:
                self._last_audio_ts = ts
            self._recent_audio.append(ts)
            return False, JitterFrame(data=packet._data, timestamp=ts)  # type: ignore[attr-defined]
        if self._first_at is None:
            self._first_at = now
        if not self._released_any:
            # the first packet to arrive need not be the first one sent: until the first
            # frame is out, an earlier packet moves the origin back, and nothing is
            # released for STARTUP_WAIT (else a frame missing its head goes out)
            seq = packet.sequence_number
            if self._origin is None or 0 < ((self._origin - seq) & 0xFFFF) < MAX_MISORDER:
                self._origin = seq
            if (now - self._first_at < self._startup_wait
                    and (seq - self._origin) & 0xFFFF < self._capacity):
                self._packets[seq % self._capacity] = packet
                return False, None
        pli, frame = super().add(packet)
        if frame is None:
            frame = self._complete_at_origin()
        if frame is not None:
            self._released_any = True
        if frame is not None:
            self._blocked_since = None
        elif self._origin is not None and packet.sequence_number != self._origin:
            # something before this packet is still missing
            if self._blocked_since is None:
                self._blocked_since = now
            elif now - self._blocked_since > RECOVERY_WAIT and self._skip_to_next_frame():
                self._blocked_since = None
                self.lost_frames += 1
                self.awaiting_keyframe = True
                self._last_request = 0.0
                frame = self._complete_at_origin()
        if self.awaiting_keyframe and now - self._last_request > KEYFRAME_RETRY:
            self._last_request = now
            if self.on_unrecoverable is not None:
                self.on_unrecoverable()
            else:
                pli = True
        return pli, frame

    def keyframe_arrived(self) -> None:
        self.awaiting_keyframe = False

    def _skip_to_next_frame(self) -> bool:
        """Drop packets from the origin up to the first packet after a marker; False
        when no whole frame start is in the buffer yet."""
        assert self._origin is not None
        for count in range(1, self._capacity):
            before = self._packets[(self._origin + count - 1) % self._capacity]
            p = self._packets[(self._origin + count) % self._capacity]
            if before is not None and before.marker and p is not None:
                self.remove(count)
                return True
        return False

    def _complete_at_origin(self) -> JitterFrame | None:
        if self._origin is None:
            return None
        packets: list[RtpPacket] = []
        timestamp = None
        for count in range(self._capacity):
            p = self._packets[(self._origin + count) % self._capacity]
            if p is None:
                return None
            if timestamp is None:
                timestamp = p.timestamp
            elif p.timestamp != timestamp:
                return None
            packets.append(p)
            if p.marker:
                self.remove(count + 1)
                return JitterFrame(
                    data=b"".join(x._data for x in packets),  # type: ignore[attr-defined]
                    timestamp=timestamp,
                )
        return None


#: hs_jb_add's answers (ingest.c)
JB_PLI, JB_FRAME, JB_KEYFRAME = 1, 2, 4


class CJitterBuffer(LowDelayJitterBuffer):
    """:class:`LowDelayJitterBuffer` in C: the same answers, the state in ``hs_jb``
    (slots hold a copy of each packet's depayloaded data, up to 1500 bytes)."""

    def __init__(self, capacity: int, is_video: bool,
                 startup_wait: float | None = None) -> None:
        # no super().__init__(): the state is the C buffer's
        module: Any = sendpath.MODULE
        if module is None:
            raise RuntimeError("the C module is not built (scripts/setup.sh builds it)")
        ffi, lib = module.ffi, module.lib
        jb = lib.hs_jb_new(capacity, int(is_video),
                           STARTUP_WAIT if startup_wait is None else startup_wait,
                           RECOVERY_WAIT, KEYFRAME_RETRY)
        if jb == ffi.NULL:
            raise ValueError("capacity must be a power of 2")
        #: the ``hs_jb *`` (freed with this object)
        self.jb = ffi.gc(jb, lib.hs_jb_free)
        self._capacity = capacity
        self._prefetch = 0
        self._is_video = is_video
        self.on_unrecoverable = None
        self._add = lib.hs_jb_add
        self._frame = lib.hs_jb_frame(self.jb)
        self._bytes = ffi.buffer

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        data: bytes = packet._data  # type: ignore[attr-defined]
        return self.answer(self._add(self.jb, packet.sequence_number & 0xFFFF,
                                     packet.timestamp & 0xFFFFFFFF, packet.marker,
                                     packet.ssrc, data, len(data), time.perf_counter()))

    def answer(self, flags: int) -> tuple[bool, JitterFrame | None]:
        """What an ``hs_jb_add`` answer means: the PLI flag and the frame released (the
        relay's keyframe request made when a frame was given up)."""
        pli = bool(flags & JB_PLI)
        if flags & JB_KEYFRAME:
            if self.on_unrecoverable is not None:
                self.on_unrecoverable()
            else:
                pli = True
        if not flags & JB_FRAME:
            return pli, None
        jb = self.jb
        return pli, JitterFrame(data=self._bytes(self._frame, jb.frame_len)[:],
                                timestamp=jb.frame_ts)

    def keyframe_arrived(self) -> None:
        self.jb.awaiting_keyframe = 0

    @property
    def media_ssrc(self) -> int | None:  # type: ignore[override]
        ssrc: int = self.jb.media_ssrc
        return None if ssrc < 0 else ssrc

    @property
    def arrived_at(self) -> float:  # type: ignore[override]
        at: float = self.jb.arrived_at
        return at

    @property
    def awaiting_keyframe(self) -> bool:  # type: ignore[override]
        return bool(self.jb.awaiting_keyframe)

    @property
    def lost_frames(self) -> int:  # type: ignore[override]
        lost: int = self.jb.lost_frames
        return lost

    @property
    def discarded_frames(self) -> int:
        discarded: int = self.jb.discarded_frames
        return discarded

    @discarded_frames.setter
    def discarded_frames(self, value: int) -> None:
        self.jb.discarded_frames = value

    @property
    def _startup_wait(self) -> float:
        wait: float = self.jb.startup_wait
        return wait

    @_startup_wait.setter
    def _startup_wait(self, value: float) -> None:
        self.jb.startup_wait = value

    @property
    def _origin(self) -> int | None:  # type: ignore[override]
        jb = self.jb
        origin: int = jb.origin
        return origin if jb.has_origin else None


def low_delay_buffer(capacity: int, is_video: bool) -> LowDelayJitterBuffer:
    """The C buffer when the module is built, else the Python one."""
    if sendpath.AVAILABLE and hasattr(sendpath.MODULE.lib, "hs_jb_new"):
        return CJitterBuffer(capacity, is_video)
    return LowDelayJitterBuffer(capacity, is_video)
