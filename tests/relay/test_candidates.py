"""The node tries a bounded number of remote candidates, and never at addresses the
operator has not allowed (link-local and metadata, loopback unless it serves there)."""

from __future__ import annotations

from hearing_server.relay.candidates import (
    MAX_REMOTE_CANDIDATES,
    CandidatePolicy,
    filter_answer,
)
from tests.conftest import Running, admitted_pair, schedule


def line(i: int, address: str, port: int = 9) -> str:
    return f"candidate:{i} 1 udp {2122260223 - i} {address} {port} typ host generation 0"


def test_metadata_link_local_and_unspecified_addresses_are_never_targets() -> None:
    for policy in (CandidatePolicy(), CandidatePolicy(allow_loopback=True)):
        for address in ("169.254.169.254", "169.254.1.1", "fe80::1", "0.0.0.0", "224.0.0.251",
                        "255.255.255.255", "not-an-ip"):
            assert policy.refusal(address) is not None, address
        for address in ("192.168.1.20", "10.2.3.4", "198.18.0.7", "2001:4860::1",
                        "4f6c0f32-17a4.local"):
            assert policy.refusal(address) is None, address


def test_loopback_is_a_target_only_for_a_node_that_serves_on_loopback() -> None:
    assert CandidatePolicy().refusal("127.0.0.1") is not None
    assert CandidatePolicy().refusal("::1") is not None
    assert CandidatePolicy(allow_loopback=True).refusal("127.0.0.1") is None


def test_a_crafted_answer_keeps_a_bounded_number_of_allowed_candidates() -> None:
    candidates = [line(i, f"10.0.{i // 250}.{i % 250 + 1}", 1000 + i) for i in range(300)]
    candidates += [line(900, "169.254.169.254", 80), line(901, "127.0.0.1", 22)]
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + "".join(
        f"a={c}\r\n" for c in candidates[-2:] + candidates[:-2]) + "a=mid:0\r\n"
    out, kept = filter_answer(sdp, CandidatePolicy())
    assert kept == MAX_REMOTE_CANDIDATES
    assert out.count("a=candidate:") == MAX_REMOTE_CANDIDATES
    assert "169.254.169.254" not in out and " 127.0.0.1 " not in out
    assert out.startswith("v=0\r\nm=audio") and out.endswith("a=mid:0\r\n")


async def test_trickled_candidates_are_checked_and_capped_through_the_real_server(
        running: Running) -> None:
    h = await schedule(running)
    judge, party = await admitted_pair(running, h)
    try:
        ack = await party.call("media.candidate", {"candidate": {
            "candidate": line(1, "169.254.169.254", 80), "sdpMid": "0", "sdpMLineIndex": 0}})
        assert ack["ok"] is False and ack["error"]["code"] == "candidate.invalid"
        codes = []
        for i in range(MAX_REMOTE_CANDIDATES + 4):
            ack = await party.call("media.candidate", {"candidate": {
                "candidate": line(10 + i, f"127.0.0.{i + 2}"), "sdpMid": "0",
                "sdpMLineIndex": 0}})
            codes.append("ok" if ack["ok"] else ack["error"]["code"])
        assert codes[-4:] == ["candidate.invalid"] * 4
        assert "ok" in codes
        assert (await judge.call("hello"))["ok"]  # the node serves on
    finally:
        await party.close()
        await judge.close()
