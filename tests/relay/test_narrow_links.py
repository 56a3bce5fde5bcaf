"""Narrow links: a subscriber that cannot take every stream keeps its audio and the
judge's video; the rest of the video is held back from it (and it is told), while the
others go on receiving everything; publishers are capped by REMB within a floor."""

from __future__ import annotations

import time
from types import SimpleNamespace

from bench.impair import Impairment
from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.relay.aiortc_hook import Packer
from hearing_server.relay.bandwidth import (
    LOSS_NARROW,
    RELEASE_AFTER,
    VIDEO_FLOOR,
    Bandwidth,
    loss,
)
from hearing_server.relay.forwarding import Producer, Slot
from hearing_server.relay.router import held_last
from tests.relay.harness import Harness, wait_for


async def test_a_narrow_subscriber_keeps_audio_and_the_judge_and_is_told_what_is_held_back(
) -> None:
    h = Harness()
    # the clips are pre-encoded (~0.6 Mbit/s of video each, ~0.05 of audio): three videos
    # do not fit in 1.2 Mbit/s, the judge's with all the audio fills 60 % of it (room
    # for the bursts a loaded machine makes of the same packets)
    h.impair("observer", down=Impairment(rate=1_200_000, queue=0.2), seed=2)
    try:
        for pid, role in (("judge", Role.JUDGE), ("party", Role.PARTY),
                          ("counsel", Role.COUNSEL)):
            await h.join(pid, role)
        observer = await h.join("observer", Role.OBSERVER, publish=False)
        clerk = await h.join("clerk", Role.CLERK, publish=False)
        await wait_for(lambda: observer.frames("audio") > 20 and clerk.frames("video") > 30, 20)

        def told() -> set[tuple[str, str]] | None:
            events = [p for pid, e, p in h.signals if pid == "observer" and e == "media.held_back"]
            return {(x["participant_id"], x["source"]) for x in events[-1]["held"]} if events else None

        await wait_for(lambda: h.router.bandwidth.held("observer")
                       and told() == h.router.bandwidth.held("observer"), 20)
        held = h.router.bandwidth.held("observer")
        assert ("judge", "camera") not in held
        assert held <= {("party", "camera"), ("counsel", "camera")}
        assert h.router.bandwidth.held("clerk") == set()
        # the hold takes effect once the link's queue has drained: the observer reports
        # (RTCP) losing no more than a narrow link's threshold; its decoder (aiortc's, in
        # this harness) then waits for the next keyframe
        peer = h.router.peers["observer"]
        await wait_for(lambda: loss(peer.slots, time.monotonic()) <= LOSS_NARROW, 20)
        resumed = observer.frames_from("judge", "camera")
        await wait_for(lambda: observer.frames_from("judge", "camera") > resumed, 10)
        # from now on: the observer hears all three and sees the judge as well as the clerk
        # (an unimpaired subscriber in the same process, so the machine's load is the same
        # for both) does; the window ends when the clerk has had 3 s of the judge's video
        people = ("judge", "party", "counsel")
        audio = {pid: (observer.frames_from(pid, "microphone"),
                       clerk.frames_from(pid, "microphone")) for pid in people}
        judge_video = (observer.frames_from("judge", "camera"),
                       clerk.frames_from("judge", "camera"))
        clerk_video = {pid: clerk.frames_from(pid, "camera") for pid in people}
        await wait_for(lambda: clerk.frames_from("judge", "camera") - judge_video[1] >= 90, 30)
        for pid, (seen, baseline) in audio.items():
            got = observer.frames_from(pid, "microphone") - seen
            want = clerk.frames_from(pid, "microphone") - baseline
            assert got >= 0.8 * want and want > 0, (pid, got, want)
        got = observer.frames_from("judge", "camera") - judge_video[0]
        want = clerk.frames_from("judge", "camera") - judge_video[1]
        assert got >= 0.6 * want, (got, want)
        for pid, before in clerk_video.items():
            assert clerk.frames_from(pid, "camera") - before > 30, pid  # nothing held back
        assert h.errors == []
    finally:
        await h.close()


def producer(pid: str, source: Source = Source.CAMERA) -> Producer:
    return Producer(pid, source, "vp8", None, lambda p: None)  # type: ignore[arg-type]


def slot_reporting(remb: int | None, lost: float, now: float, to: Producer) -> Slot:
    slot = Slot("video", Packer("vp8", 3000))
    slot.producer = to
    if remb is not None:
        slot.packer.remb, slot.packer.remb_at = remb, now
    slot.packer.fraction_lost, slot.packer.loss_at = lost, now
    return slot


def by_role(p: Producer) -> tuple[int, str]:
    return (0 if p.participant_id == "judge" else 1, p.participant_id)


def test_a_lossy_subscriber_is_held_back_to_what_it_receives_and_released_later() -> None:
    bw = Bandwidth()
    judge, party, counsel = producer("judge"), producer("party"), producer("counsel")
    bw.rates = {("judge", "camera"): 600_000, ("party", "camera"): 600_000,
                ("counsel", "camera"): 600_000}
    wanted = [judge, party, counsel]
    now = 100.0
    # it loses 45 %: it receives about 1 Mbit/s of the 1.8 it is sent
    slots = [slot_reporting(None, 0.45, now, judge)]
    assert bw.update("observer", slots, wanted, by_role, now)
    assert bw.held("observer") == {("party", "camera"), ("counsel", "camera")}
    # held back, it loses nothing; its REMB is high but it is too soon to release
    slots = [slot_reporting(2_500_000, 0.0, now + 1, judge)]
    assert not bw.update("observer", slots, wanted, by_role, now + 1)
    # later, with room for all by the margin, everything comes back
    later = now + RELEASE_AFTER + 1
    slots = [slot_reporting(2_500_000, 0.0, later, judge)]
    assert bw.update("observer", slots, wanted, by_role, later)
    assert bw.held("observer") == set()


def test_a_subscriber_that_loses_little_is_never_held_back_whatever_its_remb() -> None:
    bw = Bandwidth()
    judge, party = producer("judge"), producer("party")
    bw.rates = {("judge", "camera"): 600_000, ("party", "camera"): 600_000}
    slots = [slot_reporting(200_000, 0.01, 5.0, judge)]
    assert not bw.update("clerk", slots, [judge, party], by_role, 5.0)
    assert bw.held("clerk") == set()


def test_publishers_are_capped_to_the_least_share_of_their_subscribers_within_a_floor() -> None:
    bw = Bandwidth()
    bw.cap({"a": (1_200_000, [("judge", "camera"), ("party", "camera")]),
            "b": (3_000_000, [("judge", "camera")]),
            "c": (150_000, [("party", "camera")]),
            "d": (None, [("counsel", "camera")])})
    assert bw.caps[("judge", "camera")] == (1_200_000 - 2 * 48_000) // 2
    assert bw.caps[("party", "camera")] == VIDEO_FLOOR  # c's share is below the floor
    assert ("counsel", "camera") not in bw.caps  # nothing reported: no cap


def test_a_narrow_link_keeps_the_judge_then_the_document_on_screen_then_the_rest() -> None:
    members = {"judge": SimpleNamespace(role=Role.JUDGE),
               "party": SimpleNamespace(role=Role.PARTY),
               "counsel": SimpleNamespace(role=Role.COUNSEL)}
    session = SimpleNamespace(members=members)
    streams = [producer("counsel"), producer("party", Source.SCREEN), producer("party"),
               producer("judge"), producer("judge", Source.SCREEN)]
    order = sorted(streams, key=lambda p: held_last(session, p))  # type: ignore[arg-type]
    assert [(p.participant_id, p.source) for p in order] == [
        ("judge", Source.CAMERA), ("judge", Source.SCREEN), ("party", Source.SCREEN),
        ("counsel", Source.CAMERA), ("party", Source.CAMERA)]
