"""The node's relay: one :class:`Router` per hearing hosted here, behind a small façade.

Services use only the methods below (they implement ``services.ports.MediaPort``)
and observe the relay's tracks through :class:`TrackObserver`; nothing outside
``relay/`` indexes the routers, peers or producers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.errors import Code, Conflict, MediaError
from ..domain.hearing import Hearing
from ..domain.policy import Source
from ..domain.roles import Role
from ..domain.session import Session
from .aiortc_hook import check_aiortc, restrict_host_addresses
from .forwarding import Producer
from .frames import DelayHistogram, EncodedFrame
from .peer import Peer, PeerConfig
from .router import Router
from .totals import NodeTotals

HearingSignal = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]
FrameSink = Callable[[EncodedFrame], None]


@dataclass(frozen=True)
class Track:
    """One incoming track, as the relay's users see it."""

    hearing_id: str
    participant_id: str
    source: Source
    codec: str
    #: distinguishes a republished track from the one it replaced
    serial: int
    #: BCP 47 tag of an interpretation channel's language
    language: str | None = None

    @property
    def kind(self) -> str:
        return self.source.kind


class TrackObserver(Protocol):
    def tracks_changed(self, hearing_id: str) -> None: ...


class HealthObserver(Protocol):
    def media_health(self, hearing_id: str, health: dict[str, dict[str, Any]]) -> None:
        """The hearing's whole media-health map (``relay/health.py``), on every change."""


class Relay:
    def __init__(self, config: PeerConfig, signal: HearingSignal,
                 host_addresses: list[str] | None = None) -> None:
        check_aiortc()
        if host_addresses:
            restrict_host_addresses(host_addresses)
        self.config = config
        self._signal = signal
        self._observers: list[TrackObserver] = []
        self._health_observers: list[HealthObserver] = []
        #: process-lifetime counters of every track and connection (read by the metrics)
        self.totals = NodeTotals()
        #: read by tests and the metrics collector; services use the methods below
        self.routers: dict[str, Router] = {}

    def subscribe(self, observer: TrackObserver) -> None:
        self._observers.append(observer)

    def watch_health(self, observer: HealthObserver) -> None:
        self._health_observers.append(observer)

    def _health(self, hearing_id: str, health: dict[str, dict[str, Any]]) -> None:
        for observer in self._health_observers:
            observer.media_health(hearing_id, health)

    def media_health(self, hearing_id: str) -> dict[str, dict[str, Any]]:
        """Each connected participant's media health in the hearing (none if not hosted)."""
        router = self._existing(hearing_id)
        return router.health.snapshot() if router is not None else {}

    # ---- hearings ----------------------------------------------------------------------

    def _router(self, hearing_id: str) -> Router:
        router = self.routers.get(hearing_id)
        if router is None or router.closed:

            async def signal(pid: str, event: str, payload: dict[str, Any]) -> None:
                await self._signal(hearing_id, pid, event, payload)

            router = Router(hearing_id, self.config, signal,
                            on_tracks_changed=lambda: self._tracks_changed(hearing_id),
                            totals=self.totals,
                            on_health=lambda health: self._health(hearing_id, health))
            self.routers[hearing_id] = router
        return router

    def _existing(self, hearing_id: str) -> Router | None:
        router = self.routers.get(hearing_id)
        return router if router is not None and not router.closed else None

    def _tracks_changed(self, hearing_id: str) -> None:
        for observer in self._observers:
            observer.tracks_changed(hearing_id)

    def hosts(self, hearing_id: str) -> bool:
        return self._existing(hearing_id) is not None

    def hosted(self) -> list[str]:
        return [hid for hid, r in self.routers.items() if not r.closed]

    def participants(self, hearing_id: str) -> list[str]:
        router = self._existing(hearing_id)
        return list(router.peers) if router is not None else []

    def session_changed(self, hearing: Hearing, session: Session) -> None:
        """Re-decide who receives what (the relay observes every session change)."""
        router = self._existing(hearing.id)
        if router is not None:
            router.apply(session)

    async def close_hearing(self, hearing_id: str) -> None:
        router = self.routers.pop(hearing_id, None)
        if router is not None:
            await router.close()
            self._tracks_changed(hearing_id)

    async def close(self) -> None:
        routers = list(self.routers.values())
        self.routers.clear()
        await asyncio.gather(*(r.close() for r in routers), return_exceptions=True)

    # ---- participants --------------------------------------------------------------------

    async def connect(self, hearing_id: str, participant_id: str, role: Role,
                      session: Session, retry: bool = False) -> None:
        await self._router(hearing_id).connect(participant_id, role, session, retry)

    def _peer(self, hearing_id: str, participant_id: str) -> Peer:
        router = self._existing(hearing_id)
        peer = router.peers.get(participant_id) if router is not None else None
        if peer is None:
            raise Conflict("you have no media connection; send media.ready first",
                           code=Code.MEDIA_NOT_CONNECTED)
        return peer

    async def answer(self, hearing_id: str, participant_id: str, sdp: str) -> None:
        self._peer(hearing_id, participant_id).handle_answer(sdp)

    async def add_candidate(self, hearing_id: str, participant_id: str,
                            candidate: Mapping[str, Any]) -> None:
        await self._peer(hearing_id, participant_id).add_candidate(dict(candidate))

    async def publish(self, hearing_id: str, participant_id: str, source: Source,
                      language: str | None = None) -> None:
        router = self._existing(hearing_id)
        if router is None:
            raise Conflict("you have no media connection", code=Code.MEDIA_NOT_CONNECTED)
        await router.publish(participant_id, source, language)

    async def unpublish(self, hearing_id: str, participant_id: str, source: Source) -> None:
        router = self._existing(hearing_id)
        if router is not None:
            await router.unpublish(participant_id, source)

    async def disconnect(self, hearing_id: str, participant_id: str, reason: str) -> None:
        router = self._existing(hearing_id)
        if router is not None:
            await router.disconnect(participant_id, reason)

    # ---- tracks (for the recorder) ---------------------------------------------------------

    def tracks(self, hearing_id: str) -> list[Track]:
        router = self._existing(hearing_id)
        if router is None:
            return []
        return [self._track(hearing_id, p) for p in router.producers.values() if not p.closed]

    @staticmethod
    def _track(hearing_id: str, producer: Producer) -> Track:
        return Track(hearing_id, producer.participant_id, producer.source, producer.codec,
                     producer.serial, producer.language)

    def _producer(self, track: Track) -> Producer | None:
        router = self._existing(track.hearing_id)
        if router is None:
            return None
        producer = router.producers.get((track.participant_id, track.source))
        if producer is None or producer.closed or producer.serial != track.serial:
            return None
        return producer

    def is_forwarded(self, track: Track) -> bool:
        producer = self._producer(track)
        return producer is not None and producer.forwarded

    def attach_sink(self, track: Track, sink: FrameSink) -> bool:
        """Send every frame of ``track`` to ``sink`` too; False if the track is gone."""
        producer = self._producer(track)
        if producer is None:
            return False
        producer.add_sink(sink)
        return True

    def detach_sink(self, track: Track, sink: FrameSink) -> None:
        producer = self._producer(track)
        if producer is not None:
            producer.remove_sink(sink)

    def request_keyframe(self, track: Track) -> None:
        producer = self._producer(track)
        if producer is not None:
            producer.request_keyframe()

    # ---- figures ----------------------------------------------------------------------------

    def peer_count(self) -> int:
        return sum(len(r.peers) for r in self.routers.values())

    def forwarded_streams(self) -> int:
        return sum(
            1 for r in self.routers.values() for p in r.peers.values() for s in p.slots
            if s.producer is not None
        )

    def delay(self) -> dict[str, DelayHistogram]:
        out = {"audio": DelayHistogram(), "video": DelayHistogram()}
        for r in self.routers.values():
            for kind, hist in r.delay().items():
                out[kind].merge(hist)
        return out


__all__ = ["FrameSink", "MediaError", "Relay", "Track", "TrackObserver"]
