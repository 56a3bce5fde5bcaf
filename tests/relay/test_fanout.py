"""The C fan-out (``hs_fanout``, :mod:`hearing_server.relay.fanout`): each member
receives byte for byte what its sender's own way (the Python ``Packer`` and send
path) would send it, picture ids rewritten and timestamps rebased included; a frame
it cannot take is left to the sender's own way; and in the relay the subscribers'
senders join it, count through it, answer NACKs from it and leave it."""

from __future__ import annotations

import asyncio
import copy
import os
import struct
from typing import Any

import pytest
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor
from aiortc.rtp import RTP_HISTORY_SIZE
from pylibsrtp import Policy, Session

from hearing_server.domain.roles import Role
from hearing_server.relay import gso, sendpath
from hearing_server.relay.aiortc_hook import Packer, Packetiser
from hearing_server.relay.frames import EncodedFrame
from hearing_server.relay.gso import GsoSender
from tests.relay.harness import Harness, wait_for
from tests.relay.test_gso import Collect

KEY = os.urandom(28)  # AES-128-GCM
BEFORE = b"\xbe\xde\x00\x02\x12" + b"1" + b"\x22"  # mid "1", then abs-send-time ...
AFTER = b"\x00\x00\x00"
PAYLOAD_AT = 12 + len(BEFORE) + 3 + len(AFTER)


def session(direction: int = Policy.SSRC_ANY_OUTBOUND) -> Session:
    return Session(Policy(key=KEY, ssrc_type=direction,
                          srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_128_GCM))


class Member:
    """One subscriber's sender: a C route and, for reference, the Python state the
    sender's own way would keep (its Packer, sequence number, timestamp origin)."""

    def __init__(self, tx: Any, txp: Collect, rx: Any, rxp: Collect, ssrc: int,
                 packer: Packer, seq: int, origin: int) -> None:
        self.rx, self.rxp, self.ssrc = rx, rxp, ssrc
        self.gso = GsoSender(tx, txp)
        sock = self.gso.socket
        assert sock is not None
        header = struct.pack("!BBHLL", 0x90, 96, 0, 0, ssrc) + BEFORE
        c = sendpath.CRoute.for_socket(session(), sock, rx.get_extra_info("sockname"),
                                       header + b"\0\0\0" + AFTER, len(header), gso.SUPPORTED)
        assert c is not None
        self.c = c
        self.packer, self.seq, self.origin = packer, seq, origin
        self.reference = session()  # the same key: the same cipher text for the same packet
        self.expected: list[bytes] = []
        self.plain: dict[int, bytes] = {}
        r = c.route  # what FastSender.load hands over
        r.seq, r.origin, r.offset, r.last_out = seq, origin, packer._offset, packer._last_out
        r.vp8 = int(packer._vp8 is not None)
        r.pid_offset = packer._pid_offset if packer._vp8 is not None else 0
        r.last_pid = packer._last_pid
        c.keep_history()

    def expect(self, frame: EncodedFrame, packetiser: Packetiser, abs_send_time: int) -> None:
        """What the sender's own way writes for ``frame`` (Packer.shared, then the header)."""
        payloads, ts = self.packer.shared(frame, packetiser)
        timestamp = (self.origin + ts) & 0xFFFFFFFF
        ext = BEFORE + abs_send_time.to_bytes(3, "big") + AFTER
        for i, p in enumerate(payloads):
            seq = (self.seq + i) & 0xFFFF
            plain = struct.pack("!BBHLL", 0x90, ((i == len(payloads) - 1) << 7) | 96, seq,
                                timestamp, self.ssrc) + ext + p
            self.plain[seq] = plain
            self.expected.append(self.reference.protect(plain))
        self.seq = (self.seq + len(payloads)) & 0xFFFF


async def members(count: int) -> list[tuple[Any, Collect, Any, Collect]]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(count):
        rx, rxp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
        tx, txp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
        out.append((tx, txp, rx, rxp))
    return out


def fanout(routes: list[sendpath.CRoute], frame: EncodedFrame, packetiser: Packetiser,
           bucket: int = 3, ms: float = 1.5) -> list[int]:
    function, new = sendpath.fanout_function()
    packetiser.payloads(frame)
    data, sizes, n, _ = packetiser.wire
    array = new("hs_route *[]", [c.route for c in routes])
    status, failed = new("int[]", len(routes)), new("int *")
    assert function(array, 0, len(routes), frame.timestamp, packetiser.ntp,
                    packetiser.abs_send_time, packetiser.picture_id, data, sizes, n,
                    len(frame.data), bucket, ms, status, failed) == len(routes)
    return [status[i] for i in range(len(routes))]


def steady_packer(source: Packetiser, other: Packetiser | None = None) -> Packer:
    """A Packer that has sent a frame of ``other`` (when given) and then one of
    ``source``: its timestamp and picture id are based on ``source``."""
    packer = Packer("vp8", 3000)
    if other is not None:
        packer.set_source(other)
        packer.shared(EncodedFrame(b"\x10" + bytes(50), 90_000, True, 0.0), other)
    packer.set_source(source)
    packer.shared(EncodedFrame(b"\x10" + bytes(50), 3000, True, 0.0), source)
    return packer


@pytest.mark.parametrize("short_ids", [False, True])
async def test_every_member_receives_byte_for_byte_what_its_senders_own_way_sends(
        short_ids: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if short_ids:  # a packetiser that writes a picture id below 128 in one byte (M clear)
        packetize = Vp8Encoder._packetize

        def short(data: bytes, picture_id: int) -> list[bytes]:
            out = packetize(data, picture_id)
            if picture_id < 128:
                out = [p[:2] + bytes([picture_id]) + p[4:] for p in out]
            return out

        monkeypatch.setattr(Vp8Encoder, "_packetize", staticmethod(short))
    source, other = Packetiser("vp8"), Packetiser("vp8")
    source.picture_id = 0x7FFF - 3  # the ids wrap to below 128: one byte in aiortc's form
    other.picture_id = 1000
    ends = await members(3)
    try:
        packers = [steady_packer(source), steady_packer(source, other),
                   steady_packer(source, other)]
        packers[2]._offset += 123_456  # a subscriber whose timeline is far from the source's
        group = [Member(*ends[0], 0x1111, packers[0], 100, 7),
                 Member(*ends[1], 0x2222, packers[1], 65530, 0xFFFFFF00),  # seq, ts wrap
                 Member(*ends[2], 0x3333, packers[2], 9, 0xFFFFFFFF)]
        assert group[0].c.route.pid_offset == 0 and group[1].c.route.pid_offset != 0
        reference = [copy.deepcopy(m.packer) for m in group]
        for m, packer in zip(group, reference, strict=True):
            m.packer = packer  # the reference goes its own way; the route holds the state
        sizes = [2500, 40, 3000, 1200, 5000, 700]
        for i, size in enumerate(sizes):
            frame = EncodedFrame(bytes((i + k) & 0xFF for k in range(size)), 3000 * (i + 2),
                                 i == 0, 0.0)
            source.payloads(frame)
            for m in group:
                m.expect(frame, source, source.abs_send_time)
            assert fanout([m.c for m in group], frame, source) == [0, 0, 0]
        for m in group:
            await wait_for(lambda m=m: len(m.rxp.got) == len(m.expected), 5)
            assert m.rxp.got == m.expected
            r = m.c.route
            assert (r.seq, r.last_out, r.last_pid) == (m.seq, m.packer._last_out,
                                                       m.packer._last_pid)
            assert r.packets == len(m.expected) and r.frames == len(sizes)
            assert r.bytes == sum(sizes) and r.delay[3] == len(sizes)
            assert abs(r.delay_ms - 1.5 * len(sizes)) < 1e-9
            for seq, plain in m.plain.items():  # the history holds what was sent
                assert m.c.history(seq % RTP_HISTORY_SIZE) == (seq, plain)
        # the ids of the member that changed publisher continue its own sequence
        ids = [VpxPayloadDescriptor.parse(plain[PAYLOAD_AT:])[0].picture_id
               for plain in group[1].plain.values()]  # what it received, as the test saw
        assert len(set(ids)) == len(sizes)
        short = [d for d in group[0].plain.values() if not d[PAYLOAD_AT + 2] & 0x80]
        assert bool(short) == short_ids  # the source's own one-byte ids went through as such
        assert group[1].c.route.last_pid == ids[-1]
    finally:
        for tx, _, rx, _ in ends:
            tx.close()
            rx.close()


async def test_a_frame_a_member_cannot_take_is_left_to_its_senders_own_way() -> None:
    source = Packetiser("vp8")
    ends = await members(2)
    try:
        behind = steady_packer(source)
        behind._last_out = 10**9  # the next timestamp would go back: the Packer decides
        group = [Member(*ends[0], 0x1111, behind, 5, 0),
                 Member(*ends[1], 0x2222, steady_packer(source), 5, 0)]
        frame = EncodedFrame(bytes(3000), 6000, False, 0.0)
        assert fanout([m.c for m in group], frame, source) == [sendpath.PYTHON, 0]
        r = group[0].c.route
        assert (r.seq, r.packets, r.frames, r.last_out) == (5, 0, 0, 10**9)
        assert group[0].c.history(5) is None
        await wait_for(lambda: len(group[1].rxp.got) == 3, 5)
        await asyncio.sleep(0.05)
        assert group[0].rxp.got == []
    finally:
        for tx, _, rx, _ in ends:
            tx.close()
            rx.close()


async def test_subscribers_senders_join_the_fan_out_count_through_it_and_leave_it() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10 and party.frames("audio") > 10, 15)
        slots = [s for s in h.router.peers["party"].slots if s.producer is not None]
        assert {s.kind for s in slots} == {"audio", "video"}
        await wait_for(lambda: all(s.fast is not None and s.fast.member is not None
                                   for s in slots), 5)
        video = next(s for s in slots if s.kind == "video")
        producer, fast = video.producer, video.fast
        assert producer is not None and fast is not None
        assert video in producer.fanout.members and video not in producer.direct
        # its counters follow what the subscriber receives (within a flush)
        before = video.counters.frames
        await wait_for(lambda: video.counters.frames >= before + 30, 5)
        got = party.frames("video")
        assert abs(video.counters.frames - got) < 10, (video.counters.frames, got)
        assert video.delay.total == video.counters.frames
        # a NACK for the newest packet is answered from the fan-out's history
        c = fast._route.c if fast._route is not None else None
        assert c is not None
        newest = (int(c.route.seq) - 1) & 0xFFFF
        packet = fast._history.get(newest % RTP_HISTORY_SIZE)
        assert packet is not None and packet.sequence_number == newest and packet.marker
        assert packet.extensions.mid == fast.mid
        # leaving hands the state back: the sender's own way goes on from there
        seq = int(c.route.seq)
        producer.fanout.leave(video)
        assert fast.member is None and fast._sequence == seq and video in producer.direct
        await wait_for(lambda: fast.member is not None, 5)  # ... and rejoins
        count = party.frames("video")
        await wait_for(lambda: party.frames("video") > count + 10, 5)
        # a slot that goes is no member any more
        video.detach()
        assert video not in producer.fanout.members and fast.member is None
    finally:
        await h.close()
