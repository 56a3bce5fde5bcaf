"""The use cases in process, against fakes of their ports: no WebRTC, no socket.io.

A real store (SQLite in a temporary folder) and a real event log; the notifier,
the relay and the recorder are fakes that record what they were asked to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hearing_server.domain import commands as c
from hearing_server.domain.errors import Code, HearingError
from hearing_server.domain.hearing import Hearing, new_hearing
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.policy import Source
from hearing_server.domain.roles import Role
from hearing_server.domain.session import MediaKind, Session, Settlement
from hearing_server.services.entry import EntryService
from hearing_server.services.ice import IceServers
from hearing_server.services.media import MediaService
from hearing_server.services.mediation import MediationService
from hearing_server.services.moderation import ModerationService
from hearing_server.services.unit_of_work import SessionObservers, UnitOfWork
from hearing_server.settings import IceServer
from hearing_server.store.eventlog import EventLog
from hearing_server.store.local import LocalStore


@dataclass
class FakeNotifier:
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    states: list[Session] = field(default_factory=list)
    kicked: list[tuple[str, str]] = field(default_factory=list)

    async def to_participant(self, hearing_id: str, participant_id: str, event: str,
                             payload: dict[str, Any]) -> None:
        self.sent.append((participant_id, event, payload))

    async def session_changed(self, hearing: Hearing, session: Session) -> None:
        self.states.append(session)

    async def disconnect_participant(self, hearing_id: str, participant_id: str, event: str,
                                     payload: dict[str, Any]) -> None:
        self.sent.append((participant_id, event, payload))
        self.kicked.append((participant_id, event))

    def to(self, pid: str) -> list[str]:
        return [event for who, event, _ in self.sent if who == pid]


@dataclass
class FakeMedia:
    calls: list[tuple[str, ...]] = field(default_factory=list)
    seen: list[Session] = field(default_factory=list)

    def session_changed(self, hearing: Hearing, session: Session) -> None:
        self.seen.append(session)

    def hosts(self, hearing_id: str) -> bool:
        return True

    def hosted(self) -> list[str]:
        return []

    def participants(self, hearing_id: str) -> list[str]:
        return []

    async def connect(self, hearing_id: str, participant_id: str, role: Role,
                      session: Session, retry: bool = False) -> None:
        self.calls.append(("connect", participant_id, role.value))

    async def answer(self, hearing_id: str, participant_id: str, sdp: str) -> None:
        self.calls.append(("answer", participant_id))

    async def add_candidate(self, hearing_id: str, participant_id: str,
                            candidate: Mapping[str, Any]) -> None:
        self.calls.append(("candidate", participant_id))

    async def publish(self, hearing_id: str, participant_id: str, source: Source,
                      language: str | None = None) -> None:
        self.calls.append(("publish", participant_id, source.value))

    async def unpublish(self, hearing_id: str, participant_id: str, source: Source) -> None:
        self.calls.append(("unpublish", participant_id, source.value))

    async def disconnect(self, hearing_id: str, participant_id: str, reason: str) -> None:
        self.calls.append(("disconnect", participant_id, reason))

    async def close_hearing(self, hearing_id: str) -> None:
        self.calls.append(("close_hearing", hearing_id))


@dataclass
class FakeRecorder:
    sealed: list[tuple[str, Settlement | None]] = field(default_factory=list)

    async def seal(self, hearing: Hearing,
                   settlement: Settlement | None = None) -> dict[str, Any] | None:
        self.sealed.append((hearing.id, settlement))
        return {"files": 2, "head": "00"}


@dataclass
class Court:
    work: UnitOfWork
    hearing: Hearing
    notifier: FakeNotifier
    media: FakeMedia
    recorder: FakeRecorder
    entry: EntryService
    moderation: ModerationService
    mediation: MediationService
    media_service: MediaService
    now: list[float]

    async def enter(self, pid: str) -> dict[str, Any]:
        spec = self.hearing.participant(pid)
        assert spec is not None
        event = await self.work.change(self.hearing, lambda s: s.join(
            ParticipantId(pid), spec.name, spec.role, self.now[0], 30.0))
        await self.work.publish(self.hearing, [event])
        return self.entry.view(await self.work.session(self.hearing), pid)

    async def session(self) -> Session:
        return await self.work.session(self.hearing)

    def events(self) -> list[str]:
        return [e["type"] for e in self.work.events.read(self.hearing.id)]


PEOPLE = {
    "hearing": [("Judge Ada", "judge"), ("Sam Party", "party"), ("Wes Witness", "witness"),
                ("Obi Observer", "observer")],
    "mediation": [("Mia Mediator", "mediator"), ("Ann Party", "party"), ("Bob Party", "party")],
}


async def court(tmp_path: Path, kind: str = "hearing") -> Court:
    from hearing_server.settings import Settings

    store = LocalStore(tmp_path / "db.sqlite3")
    events = EventLog(tmp_path / "hearings")
    notifier, media, recorder = FakeNotifier(), FakeMedia(), FakeRecorder()
    observers = SessionObservers()
    observers.subscribe(media)
    now = [1_000.0]
    work = UnitOfWork(store, events, observers, notifier, clock=lambda: now[0])
    ids = {"Bob Party": "party2"}
    hearing = new_hearing(HearingId("h_test"), {
        "case_number": "C-1", "title": "T v. U", "kind": kind,
        "scheduled_at": "2026-12-01T10:00:00Z",
        "participants": [{"name": n, "role": r, "id": ids.get(n, r)}
                         for n, r in PEOPLE[kind]],
    }, created_by="test")
    await store.save_hearing(hearing)
    ice = IceServers((IceServer(("turn:127.0.0.1:3478",), "u", "p"),))
    settings = Settings(data_dir=tmp_path)
    return Court(work, hearing, notifier, media, recorder,
                 EntryService(work, None, media, settings, ice),  # type: ignore[arg-type]
                 ModerationService(work, media, ice, recorder), MediationService(work),
                 MediaService(work, media), now)


async def test_admitting_a_party_tells_them_and_hands_them_the_relay_servers(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    view = await ct.enter("party")
    assert view["you"]["state"] == "lobby" and view["ice_servers"] == []
    await ct.moderation.admit(ct.hearing.id, "judge", c.Admit(ParticipantId("party")))
    (pid, _event, payload), = [s for s in ct.notifier.sent if s[1] == "admitted"]
    assert pid == "party" and payload["ice_servers"][0]["urls"] == ["turn:127.0.0.1:3478"]
    assert (await ct.session()).is_admitted("party")
    assert ct.media.seen[-1].is_admitted("party"), "the relay observed the admission"
    assert "admitted" in ct.events()


async def test_a_party_cannot_admit_anyone(tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.enter("party")
    await ct.enter("witness")
    with pytest.raises(HearingError) as err:
        await ct.moderation.admit(ct.hearing.id, "party", c.Admit(ParticipantId("witness")))
    assert err.value.code is Code.PERMISSION_DENIED


async def test_removing_a_participant_closes_their_media_and_disconnects_them(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.enter("party")
    await ct.moderation.admit(ct.hearing.id, "judge", c.Admit(ParticipantId("party")))
    await ct.moderation.remove(ct.hearing.id, "judge",
                               c.Remove(ParticipantId("party"), "disruptive"))
    assert ("disconnect", "party", "removed") in ct.media.calls
    assert ("party", "removed") in ct.notifier.kicked


async def test_starting_a_court_hearing_starts_the_recording_and_adjourning_seals_it(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.moderation.conduct(ct.hearing.id, "judge", c.Conduct(c.ConductAction.START))
    assert (await ct.session()).recording.value == "on"
    await ct.moderation.conduct(ct.hearing.id, "judge", c.Conduct(c.ConductAction.ADJOURN))
    assert ("close_hearing", ct.hearing.id) in ct.media.calls
    assert ct.recorder.sealed == [(ct.hearing.id, None)]
    assert ct.events()[-1] == "record_sealed"


async def test_a_forced_mute_is_sent_as_muted_and_a_request_as_a_request(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.enter("party")
    await ct.moderation.admit(ct.hearing.id, "judge", c.Admit(ParticipantId("party")))
    await ct.moderation.mute(ct.hearing.id, "judge",
                             c.Mute(ParticipantId("party"), MediaKind.AUDIO, False))
    await ct.moderation.mute(ct.hearing.id, "judge",
                             c.Mute(ParticipantId("party"), MediaKind.AUDIO, True))
    assert ct.notifier.to("party")[-2:] == ["mute.request", "muted"]


async def test_media_starts_only_for_admitted_participants(tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.enter("party")
    with pytest.raises(HearingError) as err:
        await ct.media_service.ready(ct.hearing.id, "party", c.MediaReady())
    assert err.value.code is Code.MEDIA_NOT_ADMITTED
    await ct.media_service.ready(ct.hearing.id, "judge", c.MediaReady())
    assert ct.media.calls == [("connect", "judge", "judge")]


async def test_a_caucus_is_visible_to_admitted_parties_only_never_to_the_lobby(
        tmp_path: Path) -> None:
    ct = await court(tmp_path, "mediation")
    await ct.enter("mediator")
    await ct.enter("party")
    await ct.enter("party2")
    await ct.moderation.admit(ct.hearing.id, "mediator", c.Admit(ParticipantId("party")))
    opened = await ct.mediation.caucus_open(
        ct.hearing.id, "mediator", c.CaucusOpen("With Ann", (ParticipantId("party"),)))
    await ct.mediation.settlement_draft(ct.hearing.id, "mediator",
                                        c.SettlementDraft("Ann pays Bob 100."))
    session = await ct.session()
    assert session.members["party"].room == opened["caucus"]
    assert session.state_for("party")["caucuses"] and session.state_for("party")["settlement"]
    lobby = session.state_for("party2")
    assert lobby["caucuses"] == [] and lobby["settlement"] is None
    assert ct.entry.view(session, "party2")["state"]["settlement"] is None


async def test_a_party_confirms_the_settlement_only_for_themself_and_only_as_drafted(
        tmp_path: Path) -> None:
    ct = await court(tmp_path, "mediation")
    await ct.enter("mediator")
    await ct.enter("party")
    await ct.moderation.admit(ct.hearing.id, "mediator", c.Admit(ParticipantId("party")))
    sha = (await ct.mediation.settlement_draft(
        ct.hearing.id, "mediator", c.SettlementDraft("Terms.")))["sha256"]
    with pytest.raises(HearingError) as err:
        await ct.mediation.settlement_confirm(
            ct.hearing.id, "party", c.SettlementConfirm("party2", sha, "Ann Party"))
    assert err.value.code is Code.PERMISSION_DENIED
    with pytest.raises(HearingError) as err:
        await ct.mediation.settlement_confirm(
            ct.hearing.id, "party", c.SettlementConfirm(None, "0" * 64, "Ann Party"))
    assert err.value.code is Code.SETTLEMENT_CHANGED
    await ct.mediation.settlement_confirm(ct.hearing.id, "party",
                                          c.SettlementConfirm(None, sha, "Ann Party"))
    settlement = (await ct.session()).settlement
    assert settlement is not None and "party" in settlement.confirmations


async def test_publishing_goes_to_the_relay_and_into_the_event_log(tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.media_service.publish(ct.hearing.id, "judge", c.MediaPublish(Source.SCREEN))
    assert ("publish", "judge", "screen") in ct.media.calls
    assert ct.events()[-1] == "publish"


@pytest.mark.parametrize(("event", "payload", "code"), [
    ("admit", {}, "input.invalid"),
    ("admit", {"participant_id": 7}, "input.invalid"),
    ("mute", {"participant_id": "p", "kind": "smell"}, "input.invalid"),
    ("lock", {"locked": "yes"}, "input.invalid"),
    ("conduct", {"action": "dance"}, "input.invalid"),
    ("media.answer", {"sdp": 5}, "sdp.invalid"),
    ("media.candidate", {"candidate": "x"}, "input.invalid"),
    ("caucus.open", {"participant_ids": "all"}, "input.invalid"),
    ("settlement.confirm", {"sha256": "x", "typed_name": "A"}, "settlement.not_confirmed"),
    ("deny", {"participant_id": "p", "reason": "x" * 501}, "input.invalid"),
    ("no.such", {}, "event.unknown"),
    ("media.ready", {"retry": "yes"}, "input.invalid"),
])
def test_commands_are_parsed_once_with_a_stable_code_for_bad_input(
        event: str, payload: dict[str, Any], code: str) -> None:
    with pytest.raises(HearingError) as err:
        c.parse(event, payload)
    assert err.value.code.value == code


def test_every_client_event_has_a_parser_and_a_use_case() -> None:
    from signaling.namespace import handlers

    class Anything:
        def __getattr__(self, name: str) -> Any:
            return Anything()

    table = handlers(Anything())  # type: ignore[arg-type]
    parsed = {type(c.parse(e, {"participant_id": "p", "kind": "audio", "muted": True,
                                "action": "start", "sdp": "", "candidate": {},
                                "source": "camera", "participant_ids": [], "room": "main",
                                "text": "t", "confirm": True, "sha256": "s",
                                "typed_name": "n", "exhibit_id": "x", "status": "offered"}))
              for e in c.CLIENT_EVENTS}
    assert parsed - {c.Hello, c.Leave} == set(table)


async def test_sending_a_witness_to_the_lobby_closes_their_media_as_a_decision_not_a_loss(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    await ct.enter("judge")
    await ct.enter("witness")
    await ct.moderation.admit(ct.hearing.id, "judge", c.Admit(ParticipantId("witness")))
    await ct.moderation.send_to_lobby(ct.hearing.id, "judge",
                                      c.SendToLobby(ParticipantId("witness")))
    assert ("disconnect", "witness", "lobby") in ct.media.calls
    assert "sent_to_lobby" in ct.notifier.to("witness")
