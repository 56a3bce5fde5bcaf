"""In-process relay harness: a real Router, real aiortc clients, no network but loopback."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any, TypeVar

import pylibsrtp

from bench.client import MediaClient
from bench.impair import (
    Impairment,
    UdpProxy,
    host_candidate_port,
    rtx_payload_types,
    through_proxy,
)
from bench.media import cached_clips
from hearing_server.domain.hearing import HearingKind
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role
from hearing_server.domain.session import Member, Presence, Session
from hearing_server.relay.aiortc_hook import restrict_host_addresses
from hearing_server.relay.peer import PeerConfig
from hearing_server.relay.router import Router

restrict_host_addresses(["127.0.0.1"])


class Harness:
    def __init__(self, config: PeerConfig | None = None) -> None:
        self.session = Session(HearingId("h_test"), HearingKind.HEARING)
        self.clients: dict[str, MediaClient] = {}
        self.signals: list[tuple[str, str, dict[str, Any]]] = []
        #: every media-health map the router reported (relay/health.py)
        self.health: list[dict[str, dict[str, Any]]] = []
        self.router = Router("h_test", config or PeerConfig(ice_timeout=10), self._signal,
                             on_health=self.health.append)
        self.errors: list[Exception] = []
        self.tasks: set[asyncio.Future[None]] = set()
        #: participants whose media goes through an impairing proxy (bench/impair.py)
        self.legs: dict[str, tuple[Impairment, Impairment, int]] = {}
        self.proxies: dict[str, UdpProxy] = {}

    def impair(self, pid: str, up: Impairment | None = None, down: Impairment | None = None,
               seed: int = 1) -> None:
        """Put ``pid``'s media (before it joins) through a proxy: ``up`` impairs what it
        sends to the relay, ``down`` what the relay sends it."""
        self.legs[pid] = (up or Impairment(), down or Impairment(), seed)

    async def _signal(self, pid: str, event: str, payload: dict[str, Any]) -> None:
        self.signals.append((pid, event, payload))
        client = self.clients.get(pid)
        if client is None:
            return
        if event == "media.offer":
            task = asyncio.ensure_future(self._answer(pid, client, payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif event == "media.tracks":
            client.update_tracks(payload["tracks"])

    async def _answer(self, pid: str, client: MediaClient, offer: dict[str, Any]) -> None:
        try:
            leg = self.legs.get(pid)
            if leg is not None:
                proxy = self.proxies.get(pid)
                if proxy is None:
                    target = ("127.0.0.1", host_candidate_port(offer["sdp"]))
                    proxy = self.proxies[pid] = await UdpProxy(target, *leg).start()
                proxy.know_rtx(rtx_payload_types(offer["sdp"]))
                offer = {**offer, "sdp": through_proxy(offer["sdp"], proxy.address)}
            sdp = await client.answer(offer)
            if leg is not None:
                sdp = through_proxy(sdp, self.proxies[pid].back_address)
            peer = self.router.peers.get(pid)
            if peer is not None:
                peer.handle_answer(sdp)
        except Exception as exc:  # surfaced by the tests
            self.errors.append(exc)

    def member(self, pid: str, role: Role, presence: Presence = Presence.ADMITTED) -> None:
        self.session.members[pid] = Member(ParticipantId(pid), pid.title(), role, presence)

    async def join(self, pid: str, role: Role, publish: bool = True) -> MediaClient:
        if pid not in self.session.members:
            self.member(pid, role)
        video, audio = cached_clips()
        client = MediaClient(pid, video if publish else None, audio if publish else None)
        self.clients[pid] = client
        await self.router.connect(pid, role, self.session)
        return client

    def apply(self) -> None:
        self.router.apply(self.session)

    async def close(self) -> None:
        await self.router.close()
        for c in self.clients.values():
            await c.close()
        for p in self.proxies.values():
            p.close()


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")


def srtp_pair() -> tuple[pylibsrtp.Session, pylibsrtp.Session, pylibsrtp.Session]:
    """A sending SRTP session and two receiving ones on one key (a reference and the
    one under test)."""
    key = os.urandom(28)

    def session(direction: int) -> pylibsrtp.Session:
        return pylibsrtp.Session(pylibsrtp.Policy(
            key=key, ssrc_type=direction,
            srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM))

    return (session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND),
            session(pylibsrtp.Policy.SSRC_ANY_INBOUND),
            session(pylibsrtp.Policy.SSRC_ANY_INBOUND))


T = TypeVar("T")


def impaired(rng: random.Random, items: list[T], reorder: float = 0.04,
             depth: int = 8) -> list[T]:
    """``items`` as a field network delivers them: 5 % lost, ``reorder`` of them
    moved up to ``depth`` places earlier, 2 % twice."""
    out: list[T] = []
    for item in items:
        r = rng.random()
        if r < 0.05:
            continue
        if r < 0.05 + reorder and out:
            back = 1 if depth == 1 else rng.randrange(1, min(len(out), depth) + 1)
            out.insert(len(out) - back, item)
        elif r < 0.07 + reorder:
            out += [item, item]
        else:
            out.append(item)
    return out


def vp8_descriptor_cases(rng: random.Random) -> list[bytes]:
    """VP8 payload descriptors for a depayloader to strip as aiortc's does: every
    first two octets' flags, picture ids of one and two octets, cut anywhere, and
    random bytes."""
    cases: list[bytes] = []
    for first in (0x00, 0x10, 0x80, 0x90, 0x9F):
        for x in range(256):
            for third in (0x00, 0x7F, 0x80, 0xFF):
                for length in range(1, 7):
                    cases.append(bytes([first, x, third, 0x55, 0x66, 0x77])[:length])
    return [b"", *cases, *(rng.randbytes(rng.randrange(1, 12)) for _ in range(2000))]
