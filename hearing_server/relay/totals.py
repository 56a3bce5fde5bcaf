"""Process-lifetime totals of the relay, for counters that never go down.

Each producer (incoming track) and slot (outgoing track) keeps its own
:class:`~hearing_server.relay.frames.TrackCounters`; the router registers them here
when it creates them. A total is what retired tracks counted plus what live ones
count now. A track retires when its owner is garbage-collected (a
``weakref.finalize``), whichever way it closed, so no close path can lose or double
its figures: until then its counters, final once it is closed, are read live.
Nothing here runs per frame.
"""

from __future__ import annotations

import weakref
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

from .frames import DelayHistogram, TrackCounters

Direction = Literal["in", "out"]
KINDS = ("audio", "video")
FIELDS = ("frames", "bytes", "keyframes", "keyframe_requests", "dropped", "nacks",
          "recorded_bytes")


@dataclass
class _Entry:
    direction: Direction
    kind: str
    counters: TrackCounters
    delay: DelayHistogram | None


@dataclass
class NodeTotals:
    #: (direction, kind, field) → what retired tracks counted
    retired: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    retired_delay: dict[str, DelayHistogram] = field(
        default_factory=lambda: {k: DelayHistogram() for k in KINDS})
    #: peer connections opened, and closed by close code
    peers_opened: int = 0
    peers_closed: Counter[str] = field(default_factory=Counter)
    _live: dict[int, _Entry] = field(default_factory=dict)
    _serial: int = 0
    #: finalizers only queue (they may run at any moment); the queue is applied on read
    _retiring: deque[int] = field(default_factory=deque)

    def track(self, owner: object, direction: Direction, kind: str, counters: TrackCounters,
              delay: DelayHistogram | None = None) -> None:
        """Count ``counters`` (and ``delay``) into the totals for as long as ``owner``
        lives, and what they counted ever after."""
        self._serial += 1
        key = self._serial
        self._live[key] = _Entry(direction, kind, counters, delay)
        weakref.finalize(owner, self._retiring.append, key)

    def peer_opened(self) -> None:
        self.peers_opened += 1

    def peer_closed(self, code: str) -> None:
        self.peers_closed[code] += 1

    def _apply_retirements(self) -> None:
        while self._retiring:
            entry = self._live.pop(self._retiring.popleft(), None)
            if entry is None:
                continue
            for name in FIELDS:
                self.retired[(entry.direction, entry.kind, name)] += getattr(entry.counters,
                                                                             name)
            if entry.delay is not None:
                self.retired_delay[entry.kind].merge(entry.delay)

    def live_tracks(self) -> int:
        self._apply_retirements()
        return len(self._live)

    def sums(self) -> Counter[tuple[str, str, str]]:
        """(direction, kind, field) → the process-lifetime total."""
        self._apply_retirements()
        out = Counter(self.retired)
        for entry in list(self._live.values()):
            for name in FIELDS:
                out[(entry.direction, entry.kind, name)] += getattr(entry.counters, name)
        return out

    def delay(self) -> dict[str, DelayHistogram]:
        """Forwarding delay of every slot there has been, per kind."""
        self._apply_retirements()
        out = {k: DelayHistogram() for k in KINDS}
        for kind, hist in self.retired_delay.items():
            out[kind].merge(hist)
        for entry in list(self._live.values()):
            if entry.delay is not None:
                out[entry.kind].merge(entry.delay)
        return out
