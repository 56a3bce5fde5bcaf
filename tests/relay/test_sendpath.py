"""The C send path (``hearing_server/relay/sendpath.c``): it is built and used, it
writes byte for byte what the Python path writes, it never writes to a socket the
relay gave up, and a NACK for any packet it sent is answered from the per-frame
history."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
from typing import Any

import pytest
from aiortc.rtp import RTP_HISTORY_SIZE
from pylibsrtp import Policy, Session

from hearing_server.domain.roles import Role
from hearing_server.relay import gso, sendpath
from hearing_server.relay.aiortc_hook import PacketHistory
from hearing_server.relay.gso import GsoSender
from tests.relay.harness import Harness, wait_for
from tests.relay.test_gso import Collect

KEY = os.urandom(28)  # AES-128-GCM: a 16-byte key and a 12-byte salt
SSRC = 0x1234ABCD
#: the mid and abs-send-time extensions as a connection's template holds them
BEFORE = b"\xbe\xde\x00\x02\x12" + b"1" + b"\x22"
AFTER = b"\x00\x00\x00"


def session() -> Session:
    return Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                          srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_128_GCM))


def python_datagrams(s: Session, payloads: list[bytes], seq: int, ts: int,
                     abs_send_time: int) -> list[bytes]:
    ext = BEFORE + abs_send_time.to_bytes(3, "big") + AFTER
    last = len(payloads) - 1
    return [s.protect(struct.pack("!BBHLL", 0x90, ((i == last) << 7) | 96, (seq + i) & 0xFFFF,
                                  ts, SSRC) + ext + p) for i, p in enumerate(payloads)]


async def endpoints() -> tuple[Any, Collect, Any, Collect]:
    loop = asyncio.get_running_loop()
    rx, rxp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    tx, txp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    return tx, txp, rx, rxp


def route(tx: Any, txp: Collect, addr: Any, s: Session) -> tuple[sendpath.CRoute, GsoSender]:
    sender = GsoSender(tx, txp)
    sock = sender.socket
    assert sock is not None
    header = struct.pack("!BBHLL", 0x90, 96, 0, 0, SSRC) + BEFORE
    c = sendpath.CRoute.for_socket(s, sock, addr, header + b"\0\0\0" + AFTER, len(header),
                                   gso.SUPPORTED)
    assert c is not None
    sender.share(c)
    return c, sender


def test_the_c_send_path_is_built_on_this_machine() -> None:
    assert sendpath.AVAILABLE


async def test_the_c_path_writes_byte_for_byte_what_the_python_path_writes() -> None:
    tx, txp, rx, rxp = await endpoints()
    try:
        addr = rx.get_extra_info("sockname")
        c, _ = route(tx, txp, addr, session())
        reference = session()  # the same key: the same cipher text for the same packet
        frames = [
            [b"\x90\x80\x12\x34" + bytes(range(200)) * 5, b"x" * 1004, b"tail"],  # one size
            [b"a" * 300, b"b" * 900, b"c" * 120],  # uneven: one sendmmsg
            [b"\xfc opus"],  # audio: one packet
        ]
        expected: list[bytes] = []
        seq, ts = 65534, 0xFFFFFF00  # both wrap inside the frames
        for i, payloads in enumerate(frames):
            abs_send_time = 0xABCDEF - i
            data, sizes, n, octets = sendpath.wire(payloads)
            assert octets == sum(map(len, payloads))
            assert c.send(seq, ts, abs_send_time, data, sizes, n) == n
            expected += python_datagrams(reference, payloads, seq, ts, abs_send_time)
            seq, ts = (seq + n) & 0xFFFF, (ts + 3000) & 0xFFFFFFFF
        await wait_for(lambda: len(rxp.got) == len(expected), 5)
        assert rxp.got == expected
    finally:
        tx.close()
        rx.close()


async def test_a_socket_the_relay_gave_up_is_never_written_and_bad_frames_are_refused(
        ) -> None:
    tx, txp, rx, rxp = await endpoints()
    try:
        addr = rx.get_extra_info("sockname")
        c, sender = route(tx, txp, addr, session())
        too_many = [b"p"] * (sendpath.MAX_PACKETS + 1)
        assert c.send(1, 1, 1, *sendpath.wire(too_many)[:3]) == -errno.EINVAL
        assert c.send(1, 1, 1, *sendpath.wire([b"p" * 1490])[:3]) == -errno.EMSGSIZE
        sender.close()  # as when the connection's socket goes
        assert c.send(1, 1, 1, *sendpath.wire([b"audio"])[:3]) == -errno.EBADF
        await asyncio.sleep(0)
        assert rxp.got == []
    finally:
        tx.close()
        rx.close()


def test_an_address_of_another_family_is_not_a_route() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert sendpath.CRoute.for_socket(session(), sock, ("::1", 5000), b"\x80" * 12, -1,
                                          False) is None
    with pytest.raises(ValueError):
        sendpath.CRoute(session(), 3, socket.AF_INET, ("127.0.0.1", 1), b"\x80" * 8, -1, False)


def test_a_nack_for_any_recent_packet_is_answered_from_the_per_frame_history() -> None:
    history = PacketHistory({})
    seq = 65530
    sent: dict[int, bytes] = {}
    for frame in range(60):  # 180 packets: more than the history keeps, wrapping at 2**16
        payloads = [f"{frame}.{i}".encode() for i in range(3)]
        history.record((seq, 3, 96, frame * 3000, SSRC, payloads, "1", frame))
        for i, p in enumerate(payloads):
            sent[(seq + i) & 0xFFFF] = p
        seq = (seq + 3) & 0xFFFF
    newest = list(sent)[-RTP_HISTORY_SIZE:]
    for s in newest:
        packet = history.get(s % RTP_HISTORY_SIZE)
        assert packet is not None and packet.sequence_number == s
        assert packet.payload == sent[s]
        assert packet.marker == (sent[s].endswith(b".2"))
        assert packet.extensions.mid == "1"
    # an older packet's key now names a newer packet, as in aiortc's own history
    oldest = next(iter(sent))
    assert history[oldest % RTP_HISTORY_SIZE].sequence_number != oldest
    assert PacketHistory({}).get(5) is None


async def test_the_relay_sends_through_the_c_path() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10 and party.frames("audio") > 10, 15)
        for slot in h.router.peers["party"].slots:
            if slot.producer is not None:
                assert slot.fast is not None and slot.fast._route is not None
                assert slot.fast._route.c is not None, slot.kind
    finally:
        await h.close()
