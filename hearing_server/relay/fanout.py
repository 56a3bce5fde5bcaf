"""A producer's frames to all its subscribers in one C call per frame.

The relay's own send path (:class:`~.aiortc_hook.FastSender`) costs a few
microseconds of Python per frame and subscriber before the C send path is even
called: the slot's checks, the route's, the subscriber's timestamp and picture id,
the history entry, the counters. Once a subscriber's sender is in steady state
(its connection carries media through a plain socket, its timestamps are based on
the current publisher), the producer's :class:`FanOut` takes it over: one call of
``hs_fanout`` (``sendpath.c``) writes, protects and sends the frame to every member
and keeps each member's sequence number, timestamp, picture id, counters and
retransmission history in its ``hs_route``.

Python takes the counters back (:meth:`FanOut.flush`) at most
:data:`FLUSH_INTERVAL` after a frame, before a sender report and when a member
leaves. A member leaves when its slot changes publisher or stops, its sender is
renegotiated, its connection stops carrying media (checked at each flush), or a
frame cannot go its way (a timestamp that would go back, a frame the C path
refuses): that frame and the next take the sender's own way, which rejoins the
fan-out once it is in steady state again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import sendpath
from .frames import DELAY_BUCKETS_MS

if TYPE_CHECKING:
    from .aiortc_hook import Packetiser
    from .forwarding import Slot
    from .frames import EncodedFrame

#: the longest a slot's counters (and its sender's) lag behind what the fan-out sent,
#: and how soon a connection that stopped carrying media is noticed
FLUSH_INTERVAL = 0.25
_BUCKETS_AT = len(sendpath.TAKE)
assert sendpath.TAKE_FIELDS == _BUCKETS_AT + len(DELAY_BUCKETS_MS) + 1


class Membership:
    """One slot's place in its producer's fan-out (``FastSender.member``)."""

    __slots__ = ("c", "fanout", "slot")

    def __init__(self, fanout: FanOut, slot: Slot, c: sendpath.CRoute) -> None:
        self.fanout, self.slot, self.c = fanout, slot, c

    def leave(self) -> None:
        self.fanout.leave(self.slot)

    def take(self) -> None:
        """What the fan-out counted for this slot, to the slot and its sender now."""
        take(self.slot, self.c)


def take(slot: Slot, c: sendpath.CRoute) -> None:
    """What ``c`` counted since the last take, to ``slot``'s counters and sender."""
    values = c.take()
    fast = slot.fast
    if fast is not None:
        fast.take(values)
    frames = values[4]
    if not frames:
        return
    counters, delay = slot.counters, slot.delay
    counters.frames += frames
    counters.bytes += values[5]
    delay.total += frames
    delay.sum_ms += values[6] / 1000.0
    counts = delay.counts
    for i, count in enumerate(values[_BUCKETS_AT:]):
        if count:
            counts[i] += count


class FanOut:
    """The slots of one producer whose frames ``hs_fanout`` sends."""

    __slots__ = ("_array", "_failed", "_function", "_new", "_on_leave", "_routes", "_status",
                 "_timer", "members")

    def __init__(self, on_leave: Callable[[Slot], None]) -> None:
        #: the member slots, in the order of the C array
        self.members: list[Slot] = []
        self._routes: list[sendpath.CRoute] = []
        self._on_leave = on_leave
        self._function, self._new = sendpath.fanout_function()
        self._array: Any = None
        self._status: Any = None
        self._failed: Any = self._new("int *") if self._new is not None else None
        self._timer: asyncio.TimerHandle | None = None

    def join(self, slot: Slot) -> bool:
        """Take over ``slot``'s frames if its sender is in steady state."""
        fast = slot.fast
        if self._function is None or fast is None or fast.member is not None:
            return False
        c = fast.c_member()
        if c is None:
            return False
        fast.load(c)
        fast.member = Membership(self, slot, c)
        self.members.append(slot)
        self._routes.append(c)
        self._arrays()
        return True

    def leave(self, slot: Slot) -> None:
        """Hand ``slot``'s frames back to its sender (its counters first)."""
        try:
            i = self.members.index(slot)
        except ValueError:
            return
        take(slot, self._routes[i])
        del self.members[i]
        del self._routes[i]
        self._arrays()
        if slot.fast is not None:
            slot.fast.member = None
        self._on_leave(slot)

    def send(self, frame: EncodedFrame, packetiser: Packetiser, bucket: int,
             ms: float) -> list[Slot]:
        """Send ``frame`` to every member (``bucket`` and ``ms``: the delay it counts).
        Returns the members that could not take it this way: they have left, and the
        caller sends them the frame the sender's own way."""
        packetiser.payloads(frame)
        data, sizes, n, _ = packetiser.wire
        m = len(self.members)
        status, failed = self._status, self._failed
        failed[0] = 0
        args = (frame.timestamp, packetiser.ntp, packetiser.abs_send_time,
                packetiser.picture_id, data, sizes, n, len(frame.data), bucket, ms, status,
                failed)
        done = self._function(self._array, 0, m, *args)
        while done < m:  # a socket took part of the frame: the loop's transport the rest
            fast = self.members[done].fast
            assert fast is not None
            fast.c_queue(status[done], n)
            done = self._function(self._array, done + 1, m, *args)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self.flush)
        if not failed[0]:
            return []
        late = [slot for i, slot in enumerate(self.members) if status[i] == sendpath.PYTHON]
        for slot in late:
            self.leave(slot)
        return late

    def flush(self) -> None:
        """Take the members' counters back; members whose connection cannot carry
        media any more (or whose route changed) leave."""
        self._timer = None
        for slot, c in list(zip(self.members, self._routes, strict=True)):
            fast = slot.fast
            if fast is None or not fast.still_member(c):
                self.leave(slot)
            else:
                take(slot, c)

    def close(self) -> None:
        for slot in list(self.members):
            self.leave(slot)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arrays(self) -> None:
        m = len(self.members)
        if m and self._new is not None:
            self._array = self._new("hs_route *[]", [c.route for c in self._routes])
            self._status = self._new("int[]", m)
        else:
            self._array = self._status = None
