"""One router per hearing: its peers, its producers, and who receives what.

The router knows nothing of HTTP or signaling. The services hand it the
hearing's live :class:`~hearing_server.domain.session.Session` after every
change (:meth:`Router.apply`); the router then attaches exactly the slots the
domain policy allows, so a muted, unadmitted or caucus-separated track is
simply not forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..domain.errors import Code, MediaError
from ..domain.policy import Source, is_forwarded, may_publish, may_receive
from ..domain.roles import Role
from ..domain.session import Session
from ..tasks import TaskSet
from .bandwidth import Bandwidth, estimate
from .forwarding import Producer, Slot
from .frames import DelayHistogram
from .health import HealthWatch
from .peer import Peer, PeerConfig
from .totals import NodeTotals

logger = logging.getLogger(__name__)

ParticipantSignal = Callable[[str, str, dict[str, Any]], Awaitable[None]]
#: told the whole media-health map of the hearing whenever it changes (health.py)
HealthListener = Callable[[dict[str, dict[str, Any]]], None]
#: how often narrow links are re-assessed (seconds)
BANDWIDTH_INTERVAL = 1.0


def held_last(session: Session, producer: Producer) -> tuple[int, str]:
    """The order in which a narrow link keeps video: the judge's, then a document or
    screen on share (what the court is looking at), then everyone else's."""
    member = session.members.get(producer.participant_id)
    if member is not None and member.role is Role.JUDGE:
        rank = 0
    elif producer.source is Source.SCREEN:
        rank = 1
    else:
        rank = 2
    return rank, producer.participant_id


class Router:
    def __init__(self, hearing_id: str, config: PeerConfig, signal: ParticipantSignal,
                 on_tracks_changed: Callable[[], None] = lambda: None,
                 totals: NodeTotals | None = None,
                 on_health: HealthListener = lambda health: None) -> None:
        self.hearing_id = hearing_id
        self.config = config
        self.peers: dict[str, Peer] = {}
        self.producers: dict[tuple[str, Source], Producer] = {}
        self.session: Session | None = None
        self.closed = False
        self._signal = signal
        self._tracks_changed = on_tracks_changed
        self._tasks = TaskSet()
        #: the node's process-lifetime counters (every track is registered there)
        self.totals = totals if totals is not None else NodeTotals()
        #: forwarding delay of connections that have closed (live ones are read from slots)
        self.closed_delay = {"audio": DelayHistogram(), "video": DelayHistogram()}
        #: narrow links: video held back from subscribers, REMB caps for publishers
        self.bandwidth = Bandwidth()
        self._balancing = TaskSet()
        #: each participant's media health, for the court (health.py)
        self.health = HealthWatch()
        self._on_health = on_health

    # ---- peers ------------------------------------------------------------------------

    async def connect(self, participant_id: str, role: Role, session: Session,
                      retry: bool = False) -> Peer:
        """Create (or replace) the participant's peer connection and send the first offer
        (``retry``: the page lost its previous one)."""
        if self.closed:
            raise MediaError("the hearing's media has ended", code=Code.MEDIA_CLOSED)
        old = self.peers.pop(participant_id, None)
        if old is not None:
            if retry and not old.closed:
                self.health.closed(participant_id, Code.MEDIA_CONNECTION_LOST.value)
            await old.close("replaced")
        sources = tuple(s for s in (Source.MICROPHONE, Source.CAMERA) if may_publish(role, s))

        async def signal(event: str, payload: dict[str, Any]) -> None:
            await self._signal(participant_id, event, payload)

        peer = Peer(participant_id, sources, self.config, signal,
                    on_producer=self._add_producer, on_producer_live=self._producer_live,
                    on_closed=self._peer_closed)
        self.peers[participant_id] = peer
        self.totals.peer_opened()
        self.session = session
        # one slot of each kind up front, so even a receive-only first offer has m-lines
        for kind in ("audio", "video"):
            self._track_slot(peer.new_slot(kind))
        self._reconcile(initial_for=peer)
        peer.request_negotiation()
        self.assess_health()
        if not self._balancing:
            self._balancing.spawn(self._watch_bandwidth())
        return peer

    async def disconnect(self, participant_id: str, reason: str = "closed") -> None:
        peer = self.peers.get(participant_id)
        if peer is not None:
            await peer.close(reason)

    def _track_slot(self, slot: Slot) -> Slot:
        self.totals.track(slot, "out", slot.kind, slot.counters, slot.delay)
        return slot

    def _peer_closed(self, peer: Peer, code: str) -> None:
        self.totals.peer_closed(code)
        if not self.closed and self.peers.get(peer.participant_id) in (peer, None) \
                and self.health.closed(peer.participant_id, code):
            self._on_health(self.health.snapshot())
        for slot in peer.slots:
            self.closed_delay[slot.kind].merge(slot.delay)
        if self.peers.get(peer.participant_id) is peer:
            del self.peers[peer.participant_id]
            self.bandwidth.forget(peer.participant_id)
        gone = [key for key, producer in self.producers.items() if producer.closed]
        for key in gone:
            del self.producers[key]
        self._reconcile()
        if gone:
            self._tracks_changed()

    # ---- producers --------------------------------------------------------------------

    def _add_producer(self, producer: Producer) -> None:
        old = self.producers.get(producer.key)
        if old is not None and old is not producer:
            old.close()
        self.producers[producer.key] = producer
        self.totals.track(producer, "in", producer.kind, producer.counters)
        self._tracks_changed()

    def _producer_live(self, producer: Producer) -> None:
        self._reconcile()

    async def publish(self, participant_id: str, source: Source,
                      language: str | None = None) -> None:
        peer = self._peer(participant_id)
        if self.session is None or not may_publish(
            self.session.member(participant_id).role, source
        ):
            raise MediaError(f"your role may not publish a {source.value}",
                             code=Code.PERMISSION_DENIED)
        if language is not None:
            peer.languages[source] = language
        if peer.add_publish(source):
            peer.request_negotiation()

    async def unpublish(self, participant_id: str, source: Source) -> None:
        peer = self._peer(participant_id)
        producer = peer.remove_publish(source)
        if producer is not None:
            self.producers.pop(producer.key, None)
            self._reconcile()
            self._tracks_changed()

    def _peer(self, participant_id: str) -> Peer:
        peer = self.peers.get(participant_id)
        if peer is None:
            raise MediaError("you have no media connection", code=Code.MEDIA_NOT_CONNECTED)
        return peer

    # ---- policy ---------------------------------------------------------------------------

    def apply(self, session: Session) -> None:
        """Re-decide who receives what after any change of the hearing's state."""
        self.session = session
        self._reconcile()

    def _reconcile(self, initial_for: Peer | None = None) -> None:
        session = self.session
        if session is None or self.closed:
            return
        for producer in self.producers.values():
            producer.forwarded = is_forwarded(session, producer.participant_id, producer.source)
        live = [p for p in self.producers.values() if p.live and not p.closed]
        for peer in list(self.peers.values()):
            if peer.closed:
                continue
            held = self.bandwidth.held(peer.participant_id)
            wanted = [p for p in self._wanted(session, peer, live)
                      if (p.participant_id, p.source.value) not in held]
            changed, needs_offer = self._assign(peer, wanted)
            # a producer that closed detached its slots itself: compare with what was sent
            changed = changed or peer.track_map() != peer.sent_tracks
            if needs_offer or peer is initial_for:
                peer.request_negotiation()
            elif changed and not peer.negotiating:
                self._tasks.spawn(self._send_tracks(peer))

    @staticmethod
    def _wanted(session: Session, peer: Peer, live: list[Producer]) -> list[Producer]:
        return [p for p in live
                if may_receive(session, peer.participant_id, p.participant_id, p.source)]

    # ---- narrow links -------------------------------------------------------------------

    async def _watch_bandwidth(self) -> None:
        while not self.closed:
            await asyncio.sleep(BANDWIDTH_INTERVAL)
            self.balance()
            self.assess_health()

    def assess_health(self, now: float | None = None) -> None:
        """Tell the listener the media-health map when it changed (health.py)."""
        if self.closed:
            return
        held = {pid: len(self.bandwidth.held(pid)) for pid in self.peers}
        if self.health.assess(list(self.peers.values()), held, now):
            self._on_health(self.health.snapshot())

    def balance(self, now: float | None = None) -> None:
        """Hold back video a narrow subscriber cannot take, cap publishers (bandwidth.py)."""
        session = self.session
        if session is None or self.closed:
            return
        now = time.monotonic() if now is None else now
        self.bandwidth.measure(self.producers.values(), now)
        live = [p for p in self.producers.values() if p.live and not p.closed]

        def priority(p: Producer) -> tuple[int, str]:
            return held_last(session, p)

        changed: list[Peer] = []
        sent: dict[str, tuple[int | None, list[tuple[str, str]]]] = {}
        for peer in self.peers.values():
            if peer.closed:
                continue
            wanted = self._wanted(session, peer, live)
            if self.bandwidth.update(peer.participant_id, peer.slots, wanted, priority, now):
                changed.append(peer)
            held = self.bandwidth.held(peer.participant_id)
            sent[peer.participant_id] = (estimate(peer.slots, now), [
                (p.participant_id, p.source.value) for p in wanted
                if p.kind == "video" and (p.participant_id, p.source.value) not in held])
        self.bandwidth.cap(sent)
        for peer in self.peers.values():
            peer.bitrate_caps = {
                source: cap for source in peer.producers
                if (cap := self.bandwidth.caps.get((peer.participant_id, source.value)))}
        if changed:
            self._reconcile()
            for peer in changed:
                self._tasks.spawn(self._send_held_back(peer))

    async def _send_held_back(self, peer: Peer) -> None:
        held = sorted(self.bandwidth.held(peer.participant_id))
        with contextlib.suppress(Exception):
            await self._signal(peer.participant_id, "media.held_back", {
                "held": [{"participant_id": pid, "source": source} for pid, source in held]})

    def _assign(self, peer: Peer, wanted: list[Producer]) -> tuple[bool, bool]:
        changed = False
        needs_offer = False
        wanted_set = set(wanted)
        for used in peer.slots:
            if used.producer is not None and used.producer not in wanted_set:
                used.detach()
                changed = True
        attached = {s.producer for s in peer.slots if s.producer is not None}
        for producer in wanted:
            if producer in attached:
                continue
            slot: Slot | None = peer.free_slot(producer.kind)
            if slot is None:
                slot = self._track_slot(peer.new_slot(producer.kind))
                needs_offer = True
            slot.attach(producer)
            changed = True
        return changed, needs_offer

    async def _send_tracks(self, peer: Peer) -> None:
        tracks = peer.track_map()
        peer.sent_tracks = tracks
        with contextlib.suppress(Exception):
            await self._signal(peer.participant_id, "media.tracks", {"tracks": tracks})

    # ---- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self._balancing.aclose()
        await self._tasks.aclose()
        await asyncio.gather(*(p.close("closed") for p in list(self.peers.values())),
                             return_exceptions=True)
        self.peers.clear()
        for producer in self.producers.values():
            producer.close()
        self.producers.clear()

    def delay(self) -> dict[str, DelayHistogram]:
        """Forwarding delay (receive to send) of every slot, live and closed."""
        out = {"audio": DelayHistogram(), "video": DelayHistogram()}
        for kind, hist in self.closed_delay.items():
            out[kind].merge(hist)
        for peer in self.peers.values():
            for slot in peer.slots:
                out[slot.kind].merge(slot.delay)
        return out

    def stats(self) -> dict[str, Any]:
        return {
            "hearing_id": self.hearing_id,
            "peers": [p.stats() for p in self.peers.values()],
        }
