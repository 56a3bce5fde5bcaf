"""Media straight from the socket to aiortc's handlers (``fast_ingest``): a
publisher's packets and a subscriber's RTCP skip aioice's STUN parser, its queue
and the DTLS receive task, while STUN and DTLS still go aiortc's way; a handler
that has to wait is finished by a task, as the event loop would."""

from __future__ import annotations

import asyncio
import os
import time
from types import SimpleNamespace
from typing import Any

import pylibsrtp
import pytest
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSourceInfo,
    RtpPacket,
    pack_remb_fci,
)
from pylibsrtp import Session

from hearing_server.domain.roles import Role
from hearing_server.relay import sendpath
from hearing_server.relay.aiortc_hook import Unprotector, _drive, receiver_reports
from hearing_server.tasks import TaskSet
from tests.relay.harness import Harness, srtp_pair, wait_for


def dtls_of(h: Harness, pid: str) -> object:
    peer = h.router.peers[pid]
    return next(t.sender.transport for t in peer.pc.getTransceivers())


async def test_media_and_rtcp_bypass_the_queue_and_still_reach_every_handler() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 30 and party.frames("audio") > 30, 15)
        judge_dtls = dtls_of(h, "judge")
        assert getattr(judge_dtls, "_hearing_fast_ingest", False)
        connection = judge_dtls.transport._connection  # type: ignore[attr-defined]
        # the DTLS task sees none of the media: only what it had before the switch
        queued = connection._queue.qsize()
        received = judge_dtls._RTCDtlsTransport__rx_packets  # type: ignore[attr-defined]
        await wait_for(lambda: judge_dtls._RTCDtlsTransport__rx_packets  # type: ignore[attr-defined]
                       > received + 100, 10)
        assert connection._queue.qsize() <= queued
        # the subscriber's receiver reports come in the same way and reach the sender:
        # the relay learns the round-trip time from them
        slot = next(s for s in h.router.peers["party"].slots if s.kind == "video")
        assert slot.fast is not None

        async def rtt_known() -> bool:
            for stats in (await slot.fast.sender.getStats()).values():  # type: ignore[union-attr]
                if getattr(stats, "type", "") == "remote-inbound-rtp":
                    return bool(stats.roundTripTime is not None)
            return False

        for _ in range(100):
            if await rtt_known():
                break
            await asyncio.sleep(0.1)
        assert await rtt_known()
        # and a keyframe request (PLI) from the subscriber reaches its slot
        requests = slot.counters.keyframe_requests
        rx = next(t.receiver for t in party.pc.getTransceivers() if t.kind == "video")
        await rx._send_rtcp_pli(slot.fast.sender._ssrc)
        await wait_for(lambda: slot.counters.keyframe_requests > requests, 10)
    finally:
        await h.close()


async def test_a_handler_that_waits_is_finished_by_a_task_in_order() -> None:
    steps: list[str] = []
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handler() -> None:
        steps.append("start")
        await asyncio.sleep(0)  # a bare yield
        steps.append("yielded")
        await gate  # a real wait
        steps.append("done")

    pending = TaskSet()
    _drive(handler(), pending)
    assert steps == ["start"] and len(pending) == 1
    await asyncio.sleep(0.01)
    assert steps == ["start", "yielded"]
    gate.set_result(None)
    await wait_for(lambda: len(pending) == 0, 5)
    assert steps == ["start", "yielded", "done"]


async def test_a_handler_that_never_waits_runs_at_once_and_its_error_is_contained() -> None:
    steps: list[str] = []

    async def quick() -> None:
        steps.append("ran")

    async def broken() -> None:
        raise ValueError("bad packet")

    pending = TaskSet()
    _drive(quick(), pending)
    _drive(broken(), pending)  # logged, not raised: the next packet is handled as usual
    assert steps == ["ran"] and len(pending) == 0


def remote_inbound(sender: Any) -> dict[str, Any]:
    stats = sender._RTCRtpSender__stats  # type: ignore[attr-defined]
    found = [s for s in stats.values() if s.type == "remote-inbound-rtp"]
    assert len(found) == 1
    return {k: v for k, v in vars(found[0]).items() if k != "timestamp"}


async def test_receiver_reports_and_remb_do_what_aiortcs_own_handling_does() -> None:
    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10, 15)
        slot = next(s for s in h.router.peers["party"].slots if s.kind == "video")
        assert slot.fast is not None
        sender = slot.fast.sender
        dtls = sender.transport
        fields = sender.__dict__
        report = RtcpReceiverInfo(ssrc=sender._ssrc, fraction_lost=64, packets_lost=-3,
                                  highest_sequence=70000, jitter=900, lsr=0x12345678,
                                  dlsr=3277)
        data = (bytes(RtcpRrPacket(ssrc=99, reports=[report]))
                + bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=99, items=[(1, b"x")])])))
        results = []
        for lean in (True, False):
            fields["_RTCRtpSender__lsr"] = 0x12345678
            fields["_RTCRtpSender__lsr_time"] = time.time() - 0.1
            fields["_RTCRtpSender__rtt"] = 0.2
            slot.packer.fraction_lost = 0.0
            if lean:
                assert receiver_reports(dtls, data)
            else:  # aiortc's own parser, router and handlers
                await dtls._handle_rtcp_data(data)
            stats = remote_inbound(sender)
            assert 0.15 < stats.pop("roundTripTime") < 0.2
            results.append((stats, slot.packer.fraction_lost))
        assert results[0] == results[1]
        assert results[0][1] == 0.25 and results[0][0]["packetsLost"] == -3
        remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=99, media_ssrc=0,
                              fci=pack_remb_fci(123456, [sender._ssrc]))
        assert receiver_reports(dtls, bytes(remb))
        assert slot.packer.target_bitrate == 123456
    finally:
        await h.close()


def test_anything_but_reports_sdes_and_remb_is_left_to_aiortc() -> None:
    rr = bytes(RtcpRrPacket(ssrc=99, reports=[]))
    nack = bytes(RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=99, media_ssrc=5, lost=[1, 2]))
    pli = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=99, media_ssrc=5))
    padded = bytes([rr[0] | 0x20]) + rr[1:]
    wrong_version = bytes([0x40]) + rr[1:]
    untouched = SimpleNamespace(_rtp_router=None)  # any use of it would raise
    for data in (rr + nack, pli, padded, wrong_version, rr[:6], rr + b"\x80"):
        assert not receiver_reports(untouched, data)


def protected_rtp(tx: Session) -> list[bytes]:
    return [tx.protect(RtpPacket(payload_type=96, sequence_number=i, timestamp=i * 3000,
                                 ssrc=7, payload=os.urandom(40 + i)).serialize())
            for i in range(5)]


def test_the_direct_unprotect_returns_what_pylibsrtp_returns_and_refuses_the_same() -> None:
    tx, reference, direct = srtp_pair()
    rtp = protected_rtp(tx)
    rtcp = tx.protect_rtcp(bytes(RtcpRrPacket(ssrc=7, reports=[])))
    fast = Unprotector(direct)
    assert [fast.unprotect(p) for p in rtp] == [reference.unprotect(p) for p in rtp]
    assert fast.unprotect_rtcp(rtcp) == reference.unprotect_rtcp(rtcp)
    for bad in (rtp[0], rtp[1][:-1] + bytes([rtp[1][-1] ^ 1])):  # a replay, a forgery
        with pytest.raises(pylibsrtp.Error) as expected:
            reference.unprotect(bad)
        with pytest.raises(pylibsrtp.Error) as got:
            fast.unprotect(bad)
        assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError):
        fast.unprotect(b"\x80" * 1501)


def test_unprotect_and_read_in_one_call_returns_and_refuses_what_pylibsrtp_does() -> None:
    tx, reference, direct = srtp_pair()
    rtp = protected_rtp(tx)
    fast = Unprotector(direct)
    assert fast.direct
    stream = sendpath.MODULE.ffi.new("hs_rx_stream *")
    stream.pt, stream.abs_id = 96, -1
    for p in rtp:
        assert fast.receive(stream, p) == 1  # read
        plain = reference.unprotect(p)
        assert fast.plain() == plain
        assert list(fast.out)[5:7] == [12, len(plain)]  # the payload's place
    for bad in (rtp[0], rtp[1][:-1] + bytes([rtp[1][-1] ^ 1])):  # a replay, a forgery
        with pytest.raises(pylibsrtp.Error) as expected:
            reference.unprotect(bad)
        with pytest.raises(pylibsrtp.Error) as got:
            fast.receive(stream, bad)
        assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError):
        fast.receive(stream, b"\x80" * 1501)
