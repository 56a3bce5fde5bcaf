"""Bad SDP, codecs nobody shares, connections that never complete or vanish:
a clear error or timeout, cleanup, and nobody else disturbed."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from hearing_server.domain.errors import HearingError
from hearing_server.domain.roles import Role
from hearing_server.relay.peer import PeerConfig
from tests.relay.harness import Harness, wait_for


class Scripted(Harness):
    """A harness where some participants answer with doctored SDP."""

    def __init__(self, config: PeerConfig | None = None) -> None:
        super().__init__(config)
        self.doctor: dict[str, Any] = {}
        self.ack_errors: list[str] = []

    async def _answer(self, pid: str, client: Any, offer: dict[str, Any]) -> None:
        sdp = await client.answer(offer)
        fix = self.doctor.get(pid)
        if fix is not None:
            sdp = fix(sdp)
        peer = self.router.peers.get(pid)
        if peer is None:
            return
        try:
            peer.handle_answer(sdp)
        except HearingError as exc:
            self.ack_errors.append(exc.code)


def pcs_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, RTCPeerConnection) and o.connectionState != "closed")


async def media_keeps_flowing(h: Harness, subscriber: str, publisher: str) -> None:
    client = h.clients[subscriber]
    before = client.frames_from(publisher, "camera")
    await wait_for(lambda: client.frames_from(publisher, "camera") > before + 15, 5)


@pytest.mark.parametrize("doctor, code", [
    (lambda sdp: "this is not sdp", "sdp.invalid"),
    (lambda sdp: sdp + "".join(f"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x{i}\r\n"
                               for i in range(300)), "sdp.invalid"),
    (lambda sdp: sdp + "a=x:" + "y" * 70000 + "\r\n", "sdp.too_large"),
])
async def test_malformed_answers_are_refused_and_others_keep_their_media(
        doctor: Any, code: str) -> None:
    h = Scripted(PeerConfig(ice_timeout=10, answer_timeout=1.5))
    try:
        await h.join("judge", Role.JUDGE)
        await h.join("party", Role.PARTY, publish=False)
        h.doctor["bad"] = doctor
        await h.join("bad", Role.WITNESS, publish=False)
        await wait_for(lambda: code in h.ack_errors, 5)
        # no valid answer arrives: the server gives up on that peer only
        await wait_for(lambda: "bad" not in h.router.peers, 5)
        closed = [p for pid, e, p in h.signals if pid == "bad" and e == "media.closed"]
        assert closed and closed[0]["code"] == "media.answer_timeout"
        await media_keeps_flowing(h, "party", "judge")
    finally:
        await h.close()


async def test_answer_with_only_unknown_codecs_gets_a_clear_codec_error() -> None:
    h = Scripted(PeerConfig(ice_timeout=10))
    try:
        await h.join("judge", Role.JUDGE)
        await h.join("party", Role.PARTY, publish=False)

        def unknown_codecs(sdp: str) -> str:
            return sdp.replace("VP8/90000", "XV99/90000").replace("opus/48000", "zzz/48000")

        h.doctor["bad"] = unknown_codecs
        await h.join("bad", Role.WITNESS, publish=False)
        await wait_for(lambda: "bad" not in h.router.peers, 5)
        closed = [p for pid, e, p in h.signals if pid == "bad" and e == "media.closed"]
        assert closed and closed[0]["code"] in ("codec.unsupported", "sdp.invalid")
        assert "codec" in closed[0]["message"] or "parameters" in closed[0]["message"]
        await media_keeps_flowing(h, "party", "judge")
    finally:
        await h.close()


async def test_connection_that_never_completes_times_out_and_is_cleaned_up() -> None:
    h = Scripted(PeerConfig(ice_timeout=1.5))
    try:
        await h.join("judge", Role.JUDGE)
        await h.join("party", Role.PARTY, publish=False)

        def no_candidates(sdp: str) -> str:  # ICE can never succeed
            return "\r\n".join(line for line in sdp.split("\r\n")
                               if not line.startswith("a=candidate"))

        h.doctor["ghost"] = no_candidates
        await h.join("ghost", Role.WITNESS, publish=False)
        await wait_for(lambda: "ghost" not in h.router.peers, 5)
        closed = [p for pid, e, p in h.signals if pid == "ghost" and e == "media.closed"]
        assert closed and closed[0]["code"] in ("media.ice_failed", "media.ice_timeout")
        await media_keeps_flowing(h, "party", "judge")
    finally:
        await h.close()


async def test_peer_that_vanishes_is_closed_and_nothing_leaks() -> None:
    baseline_pcs = pcs_alive()
    baseline_tasks = len(asyncio.all_tasks())
    h = Harness(PeerConfig(ice_timeout=10))
    await h.join("judge", Role.JUDGE)
    party = await h.join("party", Role.PARTY)
    await wait_for(lambda: h.clients["judge"].frames_from("party", "camera") > 5, 10)
    # the party's machine disappears: its side closes without a word to the server
    await party.pc.close()
    await wait_for(lambda: "party" not in h.router.peers, 10)
    judge_peer = h.router.peers["judge"]
    assert all(s.producer is None or s.producer.participant_id != "party"
               for s in judge_peer.slots)
    await h.close()
    await asyncio.sleep(0.5)
    assert pcs_alive() == baseline_pcs
    assert len(asyncio.all_tasks()) <= baseline_tasks + 1
