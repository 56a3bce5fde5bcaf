"""Each participant's media health, as the court sees it in its panel.

For every participant with a media connection (a :class:`~.peer.Peer`) the router
asks :meth:`HealthWatch.assess` once a second what its connection is doing:

* ``connecting``: the connection is being set up (after a loss: being set up again,
  and ``reason`` says what was lost);
* ``connected``: it is up; ``sending`` lists the sources whose media reached the
  relay in the last :data:`STALE` seconds, ``receiving`` says whether the relay sent
  it anything in that time, ``held_back`` how many of the videos it is sent are held
  back from it because its link is too narrow (``relay/bandwidth.py``);
* ``not_connected``: it failed or was lost, and ``reason`` is the error code
  (``media.connection_lost``, ``media.ice_failed``, ``media.ice_timeout``).

A participant whose connection closed because they left, were removed or sent to
the waiting room is forgotten (the court sees them as left, or in the lobby).
Every change of the whole map is reported at once; a lost connection is remembered
(``lost_at``) until the participant is connected again, so the court sees how long
the gap was even when the page heals it within a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .peer import Peer

#: media that has not moved for this long (seconds) is not being sent or received
STALE = 3.0
#: close codes that end a connection on purpose: the participant is forgotten
ENDED = frozenset({"closed", "left", "removed", "replaced", "lobby"})


@dataclass(frozen=True)
class Health:
    state: str
    sending: tuple[str, ...] = ()
    receiving: bool = False
    held_back: int = 0
    #: the error code of the last loss, while not connected or connecting again
    reason: str | None = None
    #: wall-clock time the connection was lost (until it is connected again)
    lost_at: float | None = None
    #: wall-clock time of the last state change
    since: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sending"] = list(self.sending)
        return d


@dataclass
class _Moving:
    """The last byte counts seen of one participant's producers and slots."""

    sent: dict[str, tuple[int, float]]
    received: tuple[int, float]


class HealthWatch:
    def __init__(self) -> None:
        self.health: dict[str, Health] = {}
        self._moving: dict[str, _Moving] = {}
        #: participants whose last connection was lost: (reason, wall time of the loss)
        self._lost: dict[str, tuple[str, float]] = {}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {pid: h.to_dict() for pid, h in sorted(self.health.items())}

    def closed(self, participant_id: str, code: str, wall: float | None = None) -> bool:
        """A connection closed with ``code``; True when the map changed."""
        wall = time.time() if wall is None else wall
        self._moving.pop(participant_id, None)
        if code == "replaced":  # a new connection follows at once (after a loss, or not)
            return self.health.pop(participant_id, None) is not None
        if code in ENDED:
            self._lost.pop(participant_id, None)
            return self.health.pop(participant_id, None) is not None
        lost = self._lost.setdefault(participant_id, (code, wall))
        self.health[participant_id] = Health("not_connected", reason=code, lost_at=lost[1],
                                             since=wall)
        return True

    def assess(self, peers: Iterable[Peer], held: dict[str, int],
               now: float | None = None, wall: float | None = None) -> bool:
        """Re-read every live connection; True when the map changed."""
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        changed = False
        for peer in peers:
            if peer.closed:
                continue
            new = self._assess(peer, held.get(peer.participant_id, 0), now)
            old = self.health.get(peer.participant_id)
            if old is not None and _same(old, new):
                continue
            new = replace(new, since=wall if old is None or old.state != new.state
                          else old.since)
            self.health[peer.participant_id] = new
            changed = True
        return changed

    def _assess(self, peer: Peer, held: int, now: float) -> Health:
        pid = peer.participant_id
        lost = self._lost.get(pid)
        if not peer.connected.is_set():
            return Health("connecting", reason=lost[0] if lost else None,
                          lost_at=lost[1] if lost else None)
        self._lost.pop(pid, None)
        moving = self._moving.setdefault(pid, _Moving({}, (0, now)))
        sending = []
        for producer in peer.producers.values():
            source = producer.source.value
            count = producer.counters.bytes
            last = moving.sent.get(source)
            if last is None or count != last[0]:
                moving.sent[source] = (count, now)
            if count and now - moving.sent[source][1] < STALE:
                sending.append(source)
        received = sum(s.counters.bytes for s in peer.slots)
        if received != moving.received[0]:
            moving.received = (received, now)
        receiving = received > 0 and now - moving.received[1] < STALE
        return Health("connected", tuple(sorted(sending)), receiving, held)


def _same(a: Health, b: Health) -> bool:
    return replace(a, since=0.0) == replace(b, since=0.0)
