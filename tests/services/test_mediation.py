"""Mediation: caucus rooms enforced by the relay, never recorded; settlement confirmed
by each party and sealed into the case record."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from bench.media import cached_clips
from bench.participant import Participant
from hearing_server.app import RECORDER, RELAY
from hearing_server.domain.policy import may_receive
from recording.verify import verify_folder
from tests.conftest import Running, connect, schedule
from tests.relay.harness import wait_for

PEOPLE = [("Mia Mediator", "mediator"), ("Ann Party", "party"), ("Cal Counsel", "counsel"),
          ("Bob Party", "witness")]


class Isolation:
    """Checks the policy for every frame the relay sends, at the instant it is sent."""

    def __init__(self, running: Running, hearing_id: str) -> None:
        self.router = running.app[RELAY].routers[hearing_id]
        self.violations: list[str] = []
        self.checked = 0
        self._wrapped: set[int] = set()
        self._subscriber: dict[int, str] = {}

    def subscriber(self, slot: Any) -> str:
        """Whose connection ``slot`` sends to (a slot added since the last wrap too)."""
        sub = self._subscriber.get(id(slot))
        if sub is None:
            sub = next((peer.participant_id for peer in self.router.peers.values()
                        if slot in peer.slots), "?")
            self._subscriber[id(slot)] = sub
        return sub

    def _check(self, slot: Any, sub: str) -> None:
        p = slot.producer
        session = self.router.session
        self.checked += 1
        if p is None or session is None or not may_receive(
                session, sub, p.participant_id, p.source):
            self.violations.append(f"{p and p.participant_id} -> {sub}")

    def wrap(self) -> None:
        for peer in self.router.peers.values():
            for slot in peer.slots:
                self._subscriber[id(slot)] = peer.participant_id
        # the frames each producer's C fan-out sends (relay/fanout.py), one call for all
        for producer in self.router.producers.values():
            if id(producer) not in self._wrapped:
                self._wrapped.add(id(producer))
                producer.fanout = _CheckedFanOut(producer.fanout, self)
        # ... and those a sender sends its own way
        for peer in self.router.peers.values():
            for slot in peer.slots:
                if id(slot) in self._wrapped:
                    continue
                self._wrapped.add(id(slot))
                fast = slot.fast
                assert fast is not None  # the relay's own send path
                inner = fast.send

                def check(frame: Any, packetiser: Any = None, slot: Any = slot,
                          sub: str = peer.participant_id, inner: Any = inner) -> bool:
                    sent: bool = inner(frame, packetiser)
                    if sent:
                        self._check(slot, sub)
                    return sent

                fast.send = check  # type: ignore[method-assign]


class _CheckedFanOut:
    """A producer's fan-out whose every frame is checked for each member it went to."""

    def __init__(self, inner: Any, isolation: Isolation) -> None:
        self._inner = inner
        self._isolation = isolation

    def send(self, frame: Any, packetiser: Any, bucket: int, ms: float) -> list[Any]:
        members = list(self._inner.members)
        late: list[Any] = self._inner.send(frame, packetiser, bucket, ms)
        for slot in members:
            if slot not in late:
                self._isolation._check(slot, self._isolation.subscriber(slot))
        return late

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_caucus_media_never_reaches_the_other_side_even_during_moves(
        running: Running) -> None:
    h = await schedule(running, "mediation", [(n, r) for n, r in PEOPLE])
    video, audio = cached_clips()
    ps = {r: Participant(running.url, h.tokens[r], r, video, audio) for _, r in PEOPLE}
    try:
        for p in ps.values():
            await p.connect()
        mediator = ps["mediator"]
        for r in ("party", "counsel", "witness"):
            assert (await mediator.call("admit", {"participant_id": r}))["ok"]
        await wait_for(lambda: all(ps[a].media.frames_from(b, "camera") > 5
                                   for a in ps for b in ps if a != b), 20)
        iso = Isolation(running, h.hearing_id)
        iso.wrap()
        ack = await mediator.call("caucus.open", {"name": "Ann's side",
                                                   "participant_ids": ["party", "counsel"]})
        assert ack["ok"]
        cid = ack["caucus"]
        moves = await asyncio.gather(
            mediator.call("caucus.move", {"participant_id": "mediator", "room": cid}),
            mediator.call("caucus.move", {"participant_id": "mediator", "room": cid}))
        assert sorted(m["ok"] for m in moves) == [False, True]  # two moves at once: one wins
        assert next(m for m in moves if not m["ok"])["error"]["code"] == "caucus.already_there"
        await asyncio.sleep(0.3)
        iso.wrap()  # slots added by renegotiation
        witness_before = {s: ps["witness"].media.frames_from(s, "camera")
                          for s in ("mediator", "party", "counsel")}
        party_from_witness = ps["party"].media.frames_from("witness", "camera")
        await asyncio.sleep(1.5)
        for s in ("mediator", "party", "counsel"):
            assert ps["witness"].media.frames_from(s, "camera") - witness_before[s] <= 1
        assert ps["party"].media.frames_from("witness", "camera") - party_from_witness <= 1
        counsel_got = ps["counsel"].media.frames_from("mediator", "camera")
        await asyncio.sleep(0.5)
        assert ps["counsel"].media.frames_from("mediator", "camera") > counsel_got + 5
        hello = await ps["witness"].call("hello")
        rooms = {p["participant_id"]: p["room"] for p in hello["presence"]}
        assert rooms["mediator"] == cid and rooms["witness"] == "main"
        assert (await mediator.call("caucus.end"))["ok"]
        await asyncio.sleep(0.3)
        iso.wrap()
        await wait_for(lambda: ps["witness"].media.frames_from("party", "camera")
                       > witness_before["party"] + 10, 5)
        assert iso.checked > 200
        assert iso.violations == []
        events = running.app[__import__("hearing_server.api.routes", fromlist=["HEARINGS"])
                             .HEARINGS].events(h.hearing_id)
        moved = [e for e in events if e["type"] == "moved" and e["subject"] == "mediator"]
        assert moved[-1]["to"] == "main" and moved[-1]["seconds_in_previous"] >= 1.0
    finally:
        for p in ps.values():
            await p.close()


async def test_caucus_is_never_recorded_and_settlement_is_sealed_into_the_record(
        running: Running) -> None:
    h = await schedule(running, "mediation", [("Mia Mediator", "mediator"),
                                              ("Ann Party", "party"), ("Bob Party", "counsel")])
    video, audio = cached_clips()
    mediator = Participant(running.url, h.tokens["mediator"], "m", video, audio)
    party = Participant(running.url, h.tokens["party"], "p", video, audio)
    try:
        await mediator.connect()
        await party.connect()
        await mediator.call("admit", {"participant_id": "party"})
        await wait_for(lambda: mediator.media.frames_from("party", "camera") > 5, 15)
        assert (await mediator.call("conduct", {"action": "start"}))["ok"]
        recorder = running.app[RECORDER]
        assert recorder.recording_tracks(h.hearing_id) == 0  # mediation: off until turned on
        assert (await mediator.call("recording", {"action": "start"}))["ok"]
        await wait_for(lambda: recorder.recording_tracks(h.hearing_id) == 4, 5)
        ack = await mediator.call("caucus.open", {"name": "private",
                                                   "participant_ids": ["party"]})
        assert recorder.recording_tracks(h.hearing_id) == 2  # the party's tracks stop
        await mediator.call("caucus.move", {"room": ack["caucus"]})
        assert recorder.recording_tracks(h.hearing_id) == 0
        await asyncio.sleep(0.5)
        await mediator.call("caucus.end")
        terms = "Ann pays Bob 1,000 by 1 January.\n"
        ack = await mediator.call("settlement.draft", {"text": terms})
        sha = ack["sha256"]
        assert sha == hashlib.sha256(terms.encode()).hexdigest()
        bad = [
            ({"sha256": sha, "typed_name": "Ann Party"}, "settlement.not_confirmed"),
            ({"sha256": "0" * 64, "typed_name": "Ann Party", "confirm": True},
             "settlement.changed"),
            ({"sha256": sha, "typed_name": "Someone Else", "confirm": True},
             "settlement.name_mismatch"),
            ({"sha256": sha, "typed_name": "Ann Party", "confirm": True,
              "participant_id": "counsel"}, "permission.denied"),
        ]
        for payload, code in bad:
            assert (await party.call("settlement.confirm", payload))["error"]["code"] == code
        ok = await party.call("settlement.confirm", {"sha256": sha, "typed_name": "ann  party",
                                                     "confirm": True})
        assert ok["ok"], ok
        got = await party.call("settlement.get")
        assert got["settlement"]["text"] == terms and "party" in got["settlement"][
            "confirmations"]
        assert (await mediator.call("conduct", {"action": "adjourn"}))["ok"]
    finally:
        await party.close()
        await mediator.close()
    folder = recorder.folder(h.hearing_id)
    report = verify_folder(folder)
    assert report.ok, report.render()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (folder / "settlement.txt").read_text() == terms
    entry = next(e for e in manifest["entries"] if e["path"] == "settlement.txt")
    assert entry["sha256"] == sha
    # nothing recorded while anyone was in the caucus: every media segment ended before
    events = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    opened = next(e["ts"] for e in events if e["type"] == "caucus_opened")
    closed = next(e["ts"] for e in events if e["type"] == "caucuses_closed")
    for e in manifest["entries"]:
        if e.get("media") and e["media"]["participant_id"] == "party":
            assert e["media"]["end"] <= opened + 0.2 or e["media"]["start"] >= closed - 0.2


async def test_parties_cannot_open_join_or_move_into_caucuses(running: Running) -> None:
    h = await schedule(running, "mediation", [("Mia Mediator", "mediator"),
                                              ("Ann Party", "party"), ("Bob", "witness")])
    mediator = await connect(running, h.tokens["mediator"])
    party = await connect(running, h.tokens["party"])
    witness = await connect(running, h.tokens["witness"])
    await mediator.call("admit", {"participant_id": "party"})
    await mediator.call("admit", {"participant_id": "witness"})
    ack = await mediator.call("caucus.open", {"name": "x", "participant_ids": ["witness"]})
    cid = ack["caucus"]
    assert (await party.call("caucus.open", {"name": "mine", "participant_ids": ["party"]})
            )["error"]["code"] == "permission.denied"
    assert (await party.call("caucus.move", {"room": cid}))["error"]["code"] == \
        "permission.denied"
    assert (await party.call("caucus.end"))["error"]["code"] == "permission.denied"
    assert (await mediator.call("caucus.move", {"participant_id": "party", "room": "nope"})
            )["error"]["code"] == "caucus.not_found"
    assert (await mediator.call("caucus.open", {"name": "x", "participant_ids": "party"})
            )["error"]["code"] == "input.invalid"
    await party.call("leave")
    assert (await mediator.call("caucus.move", {"participant_id": "party", "room": cid})
            )["error"]["code"] == "participant.not_present"
    state = (await witness.call("hello"))["presence"]
    assert {p["participant_id"]: p["room"] for p in state}["witness"] == cid
    for c in (witness, party, mediator):
        await c.close()


async def test_caucus_rooms_exist_only_in_mediations(running: Running) -> None:
    h = await schedule(running)
    judge = await connect(running, h.tokens["judge"])
    ack = await judge.call("caucus.open", {"name": "x", "participant_ids": ["judge"]})
    assert ack["error"]["code"] == "permission.denied"  # judges have no caucus capability
    await judge.close()
