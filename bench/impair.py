"""A user-space network impairment: a UDP proxy on the media path (this kernel has no
``netem``) that drops, delays, reorders (by jitter) and rate-limits packets with
seeded randomness, each direction on its own.

It is put on the path by rewriting the candidates each side is handed
(:func:`through_proxy`): the client gets the proxy's front address as the relay's only
candidate, the relay the proxy's back address as the client's; ICE then finds the one
path there is, client → proxy → relay.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    #: share of packets dropped at random
    loss: float = 0.0
    #: fixed one-way delay (seconds)
    delay: float = 0.0
    #: extra delay drawn uniformly from 0..jitter per packet (packets reorder)
    jitter: float = 0.0
    #: bottleneck rate in bit/s (0: unlimited), with a drop-tail queue of ``queue`` seconds
    rate: float = 0.0
    queue: float = 0.2
    #: share of retransmissions (RTX packets) dropped; None: as ``loss``. 1.0 makes
    #: every lost packet unrecoverable
    rtx_loss: float | None = None


@dataclass
class LinkStats:
    packets: int = 0
    bytes: int = 0
    lost: int = 0
    overflowed: int = 0
    reordered: int = 0
    delivered: int = 0
    retransmissions: int = 0


@dataclass
class _Direction:
    impairment: Impairment
    rng: random.Random
    stats: LinkStats = field(default_factory=LinkStats)
    free_at: float = 0.0  # when the bottleneck is idle again
    last_due: float = 0.0

    rtx_types: frozenset[int] = frozenset()

    def due(self, now: float, data: bytes) -> float | None:
        """When ``data`` comes out of the link, or None if it is dropped."""
        s, imp = self.stats, self.impairment
        size = len(data)
        s.packets += 1
        s.bytes += size
        loss = imp.loss
        if self.rtx_types and self._is_rtx(data):
            s.retransmissions += 1
            if imp.rtx_loss is not None:
                loss = imp.rtx_loss
        if loss and self.rng.random() < loss:
            s.lost += 1
            return None
        leave = now
        if imp.rate:
            start = max(now, self.free_at)
            if start - now > imp.queue:
                s.overflowed += 1
                return None
            self.free_at = start + size * 8 / imp.rate
            leave = self.free_at
        due = leave + imp.delay + (self.rng.uniform(0, imp.jitter) if imp.jitter else 0.0)
        if due < self.last_due:
            s.reordered += 1
        self.last_due = max(self.last_due, due)
        return due

    def _is_rtx(self, data: bytes) -> bool:
        # RTP (version 2, the header stays clear under SRTP) with a retransmission type
        return len(data) > 12 and data[0] >> 6 == 2 and (data[1] & 0x7F) in self.rtx_types


class _Side(asyncio.DatagramProtocol):
    def __init__(self, receive: Callable[[bytes, Address], None]) -> None:
        self.receive = receive

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.receive(data, addr)


class UdpProxy:
    """One client's media path: the client talks to ``address`` (the front), the relay
    to ``back_address``; ``up`` impairs client → relay, ``down`` relay → client.
    Packets go to the last address each side was heard from (loopback only)."""

    def __init__(self, target: Address, up: Impairment | None = None,
                 down: Impairment | None = None, seed: int = 1) -> None:
        self.target = target
        self.up = _Direction(up or Impairment(), random.Random(seed))
        self.down = _Direction(down or Impairment(), random.Random(seed + 1))
        self.address: Address = ("127.0.0.1", 0)
        self.back_address: Address = ("127.0.0.1", 0)
        self._front: asyncio.DatagramTransport | None = None
        self._back: asyncio.DatagramTransport | None = None
        self._client: Address | None = None
        self._server: Address = target
        self._timers: set[asyncio.TimerHandle] = set()
        self.closed = False

    async def start(self) -> UdpProxy:
        loop = asyncio.get_running_loop()
        front, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_client), local_addr=("127.0.0.1", 0))
        back, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_server), local_addr=("127.0.0.1", 0))
        self._front, self._back = front, back
        self.address = front.get_extra_info("sockname")[:2]
        self.back_address = back.get_extra_info("sockname")[:2]
        return self

    def know_rtx(self, payload_types: frozenset[int]) -> None:
        """Tell the link which RTP payload types are retransmissions (from the SDP)."""
        self.up.rtx_types = self.down.rtx_types = payload_types

    def _later(self, due: float, direction: _Direction, transport: asyncio.DatagramTransport,
               data: bytes, addr: Address) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            if not self.closed:
                direction.stats.delivered += 1
                transport.sendto(data, addr)

        handle = loop.call_at(due, fire)
        self._timers.add(handle)

    def _from_client(self, data: bytes, addr: Address) -> None:
        self._client = addr
        due = self.up.due(asyncio.get_running_loop().time(), data)
        if due is not None and self._back is not None:
            self._later(due, self.up, self._back, data, self._server)

    def _from_server(self, data: bytes, addr: Address) -> None:
        self._server = addr
        if self._client is None or self._front is None:
            return  # nobody to hand it to yet (the client's own checks open the path)
        due = self.down.due(asyncio.get_running_loop().time(), data)
        if due is not None:
            self._later(due, self.down, self._front, data, self._client)

    def close(self) -> None:
        self.closed = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for t in (self._front, self._back):
            if t is not None:
                t.close()


def rtx_payload_types(sdp: str) -> frozenset[int]:
    """The payload types ``sdp`` maps to ``rtx`` (retransmissions)."""
    return frozenset(int(line.split(":", 1)[1].split()[0]) for line in sdp.splitlines()
                     if line.startswith("a=rtpmap:") and " rtx/" in line)


def host_candidate_port(sdp: str) -> int:
    """The port of the first IPv4 host candidate in ``sdp``."""
    for line in sdp.splitlines():
        if line.startswith("a=candidate:") and " typ host" in line:
            parts = line.split()
            if "." in parts[4]:
                return int(parts[5])
    raise ValueError("no IPv4 host candidate in the SDP")


def through_proxy(sdp: str, proxy: Address) -> str:
    """``sdp`` with the proxy as its only candidate (in each media section)."""
    out: list[str] = []
    done = False
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            done = False
        if line.startswith("a=candidate:"):
            if " typ host" not in line or "." not in line.split()[4] or done:
                continue
            parts = line.split()
            parts[4], parts[5] = proxy[0], str(proxy[1])
            line = " ".join(parts)
            done = True
        out.append(line)
    return "\r\n".join(out)
