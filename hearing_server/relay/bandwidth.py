"""Narrow links: what each subscriber's connection can take, from its REMB.

Every second the router asks :meth:`Bandwidth.update` what to do:

* a subscriber that reports (RTCP receiver reports) losing more than
  :data:`LOSS_NARROW` of its video cannot take what it is sent: its capacity is
  taken as what it does receive (sent x (1 - loss), or its REMB if lower); it keeps
  its audio and the video in priority order (the judge first, then a shared screen:
  `router.held_last`) that fits, and the
  rest is *held back* (not forwarded to it). A held-back stream comes back when the
  subscriber's REMB clears what it needs by :data:`RELEASE_MARGIN`, no sooner than
  :data:`RELEASE_AFTER` seconds later. A subscriber that loses little is never held
  back, whatever its REMB says (a delay-based estimate is noisy on a busy host);
* each publisher is capped (REMB sent upstream) to the smallest per-stream share
  among the subscribers it is forwarded to, never below :data:`VIDEO_FLOOR`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .forwarding import Producer, Slot

AUDIO_BPS = 48_000
#: no publisher is asked to go below this (bit/s); a subscriber that cannot take even
#: this much per stream has streams held back instead
VIDEO_FLOOR = 150_000
#: a subscriber losing more than this share of its video is on a narrow link
LOSS_NARROW = 0.05
#: an estimate or a report older than this (seconds) is not acted on
REMB_FRESH = 5.0
#: a held-back stream comes back when the estimate exceeds the need by this factor ...
RELEASE_MARGIN = 1.3
#: ... and not sooner than this many seconds after it was held back
RELEASE_AFTER = 10.0

Key = tuple[str, str]  # (publisher id, source)


def estimate(slots: Iterable[Slot], now: float) -> int | None:
    """A subscriber connection's last fresh REMB (it covers the whole connection)."""
    fresh = [s.packer.remb for s in slots
             if s.packer.remb is not None and now - s.packer.remb_at < REMB_FRESH]
    return max(fresh) if fresh else None


def loss(slots: Iterable[Slot], now: float) -> float:
    """The largest fresh loss a subscriber reports on its video."""
    return max((s.packer.fraction_lost for s in slots
                if s.kind == "video" and s.producer is not None
                and now - s.packer.loss_at < REMB_FRESH), default=0.0)


@dataclass
class _Subscriber:
    held: set[Key] = field(default_factory=set)
    held_at: float = 0.0


class Bandwidth:
    def __init__(self) -> None:
        self._subscribers: dict[str, _Subscriber] = {}
        self._bytes: dict[Key, tuple[int, float]] = {}
        #: measured incoming bit/s of each video producer
        self.rates: dict[Key, float] = {}
        #: REMB cap per publisher's video (bit/s)
        self.caps: dict[Key, int] = {}

    def held(self, subscriber: str) -> set[Key]:
        s = self._subscribers.get(subscriber)
        return set(s.held) if s else set()

    def forget(self, subscriber: str) -> None:
        self._subscribers.pop(subscriber, None)

    def measure(self, producers: Iterable[Producer], now: float) -> None:
        for p in producers:
            if p.kind != "video":
                continue
            key = (p.participant_id, p.source.value)
            last = self._bytes.get(key)
            self._bytes[key] = (p.counters.bytes, now)
            if last is not None and now > last[1]:
                self.rates[key] = (p.counters.bytes - last[0]) * 8 / (now - last[1])

    def update(self, subscriber: str, slots: list[Slot], wanted: list[Producer],
               priority: Callable[[Producer], tuple[int, str]],
               now: float | None = None) -> bool:
        """Re-decide what ``subscriber`` is held back from; True when that changed."""
        now = time.monotonic() if now is None else now
        state = self._subscribers.setdefault(subscriber, _Subscriber())
        remb = estimate(slots, now)
        lost = loss(slots, now)
        audio = sum(1 for p in wanted if p.kind == "audio")
        video = sorted((p for p in wanted if p.kind == "video"), key=priority)
        if lost > LOSS_NARROW:
            sent = sum(self.rates.get((p.participant_id, p.source.value), VIDEO_FLOOR)
                       for p in video if (p.participant_id, p.source.value) not in state.held)
            capacity = (sent + audio * AUDIO_BPS) * (1 - lost)
            if remb is not None:
                capacity = min(capacity, remb)
        elif state.held and remb is not None and now - state.held_at >= RELEASE_AFTER:
            capacity = remb
        else:
            return False
        budget = capacity - audio * AUDIO_BPS
        keep: set[Key] = set()
        used = 0.0
        for i, p in enumerate(video):
            key = (p.participant_id, p.source.value)
            need = max(self.rates.get(key, VIDEO_FLOOR), VIDEO_FLOOR)
            margin = RELEASE_MARGIN if key in state.held else 1.0
            if i == 0 or used + need * margin <= budget:  # the first (the judge) always
                keep.add(key)
                used += need
        held = {(p.participant_id, p.source.value) for p in video} - keep
        if held - state.held:
            state.held_at = now
        elif state.held - held and now - state.held_at < RELEASE_AFTER:
            held |= state.held & {(p.participant_id, p.source.value) for p in video}
        changed = held != state.held
        state.held = held
        return changed

    def cap(self, per_subscriber: dict[str, tuple[int | None, list[Key]]]) -> None:
        """Cap each publisher to the least per-stream share among its subscribers
        (``{subscriber: (estimate, video keys it is sent)}``), within the floor."""
        caps: dict[Key, int] = {}
        for remb, keys in per_subscriber.values():
            if remb is None or not keys:
                continue
            share = max(VIDEO_FLOOR, int((remb - AUDIO_BPS * len(keys)) / len(keys)))
            for key in keys:
                caps[key] = min(caps.get(key, share), share)
        self.caps = caps
