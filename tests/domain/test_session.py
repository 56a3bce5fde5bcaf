"""Domain rules of the live hearing: lobby, admission, moderation, conduct, policy."""

from __future__ import annotations

import pytest

from hearing_server.domain.errors import HearingError
from hearing_server.domain.hearing import HearingKind
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.policy import Source, may_publish, may_receive
from hearing_server.domain.roles import ROLE_CAPABILITIES, Capability, Role
from hearing_server.domain.session import MediaKind, Phase, Presence, RecordingState, Session


def session_with(*people: tuple[str, Role]) -> Session:
    s = Session(HearingId("h"), HearingKind.HEARING)
    for pid, role in people:
        s.join(ParticipantId(pid), pid, role, now=0.0, rejoin_grace=30)
    return s


def code_of(fn: object, *args: object) -> str:
    with pytest.raises(HearingError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


def test_every_role_has_a_row_in_the_capability_table() -> None:
    assert set(ROLE_CAPABILITIES) == set(Role)
    assert Capability.PUBLISH not in ROLE_CAPABILITIES[Role.OBSERVER]


def test_judge_enters_directly_and_opens_the_hearing() -> None:
    s = session_with(("judge", Role.JUDGE))
    assert s.members["judge"].presence is Presence.ADMITTED
    assert s.phase is Phase.OPEN


def test_party_waits_in_the_lobby_and_is_admitted_by_the_judge() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    assert s.members["party"].presence is Presence.LOBBY
    event = s.admit("judge", "party")
    assert event.type == "admitted" and s.members["party"].presence is Presence.ADMITTED


def test_a_party_cannot_admit_and_nothing_changes() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY), ("witness", Role.WITNESS))
    s.admit("judge", "party")
    assert code_of(s.admit, "party", "witness") == "permission.denied"
    assert s.members["witness"].presence is Presence.LOBBY


def test_a_locked_hearing_lets_a_late_witness_wait_in_the_lobby_for_the_court() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    s.lock("judge", True)
    event = s.join(ParticipantId("w"), "w", Role.WITNESS, 0.0, 30)
    assert event.data["state"] == "lobby" and s.members["w"].presence is Presence.LOBBY
    assert "w" in {p["participant_id"] for p in s.presence_for(Role.JUDGE)}
    # nobody enters by themself; the court's own admit still lets a named person in
    assert s.admit("judge", "w").data == {"locked": True}
    assert s.members["w"].presence is Presence.ADMITTED


def test_a_witness_is_sent_back_to_the_lobby_and_admitted_again() -> None:
    s = session_with(("judge", Role.JUDGE), ("witness", Role.WITNESS))
    s.admit("judge", "witness")
    assert s.send_to_lobby("judge", "witness").type == "sent_to_lobby"
    assert s.members["witness"].presence is Presence.LOBBY
    assert code_of(s.send_to_lobby, "judge", "witness") == "participant.not_present"
    assert code_of(s.send_to_lobby, "judge", "judge") == "permission.denied"
    s.admit("judge", "witness")
    assert s.members["witness"].presence is Presence.ADMITTED


def test_a_removed_or_excused_witness_can_be_recalled_and_rejoins_through_the_lobby() -> None:
    s = session_with(("judge", Role.JUDGE), ("witness", Role.WITNESS), ("party", Role.PARTY))
    s.admit("judge", "witness")
    s.remove("judge", "witness", "excused")
    assert code_of(s.join, ParticipantId("witness"), "witness", Role.WITNESS, 1.0, 30) == \
        "participant.removed"
    assert {p["participant_id"]: p["state"] for p in s.presence_for(Role.JUDGE)}[
        "witness"] == "removed"
    assert all(p["participant_id"] != "witness" for p in s.presence_for(Role.PARTY))
    assert s.recall("judge", "witness").type == "recalled"
    s.join(ParticipantId("witness"), "witness", Role.WITNESS, 2.0, 30)
    assert s.members["witness"].presence is Presence.LOBBY
    assert code_of(s.recall, "judge", "party") == "state.conflict"
    assert code_of(s.recall, "party", "witness") == "permission.denied"


def test_dropped_participant_returns_within_grace_but_goes_to_lobby_after() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    s.admit("judge", "party")
    s.disconnect("party", now=100.0)
    s.join(ParticipantId("party"), "party", Role.PARTY, now=120.0, rejoin_grace=30)
    assert s.members["party"].presence is Presence.ADMITTED
    s.disconnect("party", now=200.0)
    s.join(ParticipantId("party"), "party", Role.PARTY, now=240.0, rejoin_grace=30)
    assert s.members["party"].presence is Presence.LOBBY


def test_judge_cannot_be_removed_and_removed_party_cannot_return() -> None:
    s = session_with(("judge", Role.JUDGE), ("clerk", Role.CLERK), ("party", Role.PARTY))
    assert code_of(s.remove, "clerk", "judge", "x") == "permission.denied"
    s.admit("judge", "party")
    s.remove("clerk", "party", "disruption")
    assert code_of(s.join, ParticipantId("party"), "p", Role.PARTY, 0.0, 30) == \
        "participant.removed"


def test_recording_pause_needs_a_reason_and_follows_its_states() -> None:
    s = session_with(("judge", Role.JUDGE))
    assert code_of(s.set_recording, "judge", "pause", "x") == "recording.bad_state"
    s.set_recording("judge", "start", "")
    assert code_of(s.set_recording, "judge", "pause", " ") == "recording.reason_required"
    s.set_recording("judge", "pause", "sidebar with counsel")
    assert s.recording is RecordingState.PAUSED
    s.set_recording("judge", "resume", "")
    assert s.recording is RecordingState.ON


def test_hearing_phases_follow_open_session_recess_adjourned() -> None:
    s = session_with(("judge", Role.JUDGE))
    assert code_of(s.resume, "judge") == "hearing.bad_phase"
    s.start_session("judge")
    s.recess("judge")
    s.resume("judge")
    s.adjourn("judge")
    assert s.phase is Phase.ADJOURNED
    assert code_of(s.join, ParticipantId("x"), "x", Role.PARTY, 0.0, 30) == "hearing.adjourned"


def test_lobby_members_neither_send_nor_receive() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    assert not may_receive(s, "party", "judge", Source.CAMERA)
    assert not may_receive(s, "judge", "party", Source.CAMERA)
    s.admit("judge", "party")
    assert may_receive(s, "party", "judge", Source.CAMERA)
    assert may_receive(s, "judge", "party", Source.MICROPHONE)


def test_observers_never_publish_and_witnesses_do_not_share_screens() -> None:
    assert not may_publish(Role.OBSERVER, Source.MICROPHONE)
    assert not may_publish(Role.OBSERVER, Source.CAMERA)
    assert not may_publish(Role.WITNESS, Source.SCREEN)
    assert may_publish(Role.COUNSEL, Source.SCREEN)


def test_force_muted_track_is_not_forwarded_until_lifted() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    s.admit("judge", "party")
    s.mute("judge", "party", MediaKind.AUDIO, force=True)
    assert not may_receive(s, "judge", "party", Source.MICROPHONE)
    assert may_receive(s, "judge", "party", Source.CAMERA)
    s.unmute("judge", "party", MediaKind.AUDIO)
    assert may_receive(s, "judge", "party", Source.MICROPHONE)


def test_media_never_crosses_rooms() -> None:
    s = session_with(("mediator", Role.MEDIATOR), ("a", Role.PARTY), ("b", Role.PARTY))
    s.admit("mediator", "a")
    s.admit("mediator", "b")
    s.members["a"].room = "caucus-1"
    assert not may_receive(s, "b", "a", Source.CAMERA)
    assert not may_receive(s, "a", "b", Source.MICROPHONE)


def test_session_round_trips_through_json() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    s.admit("judge", "party")
    s.mute("judge", "party", MediaKind.VIDEO, force=True)
    assert Session.from_dict(s.to_dict()) == s


def test_a_recess_stops_all_media_and_pauses_the_recording_until_the_session_resumes() -> None:
    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY))
    s.admit("judge", "party")
    s.start_session("judge")
    s.set_recording("judge", "start", "")
    assert may_receive(s, "party", "judge", Source.MICROPHONE)
    events = s.recess("judge")
    assert [e.type for e in events] == ["recess", "recording_pause"]
    assert events[1].data == {"reason": "recess"}
    assert s.recording is RecordingState.PAUSED and s.recording_reason == "recess"
    for source in Source:
        assert not may_receive(s, "party", "judge", source)
        assert not may_receive(s, "judge", "party", source)
    events = s.resume("judge")
    assert [e.type for e in events] == ["resumed", "recording_resume"]
    assert s.recording is RecordingState.ON
    assert may_receive(s, "party", "judge", Source.MICROPHONE)


def test_a_recording_paused_by_the_judge_stays_paused_after_a_recess() -> None:
    s = session_with(("judge", Role.JUDGE))
    s.start_session("judge")
    s.set_recording("judge", "start", "")
    s.set_recording("judge", "pause", "sealed testimony")
    assert [e.type for e in s.recess("judge")] == ["recess"]
    assert [e.type for e in s.resume("judge")] == ["resumed"]
    assert s.recording is RecordingState.PAUSED and s.recording_reason == "sealed testimony"


def test_a_partys_screen_share_is_forwarded_only_while_the_court_allows_it() -> None:
    from hearing_server.domain.policy import is_forwarded

    s = session_with(("judge", Role.JUDGE), ("party", Role.PARTY), ("witness", Role.WITNESS))
    s.admit("judge", "party")
    s.admit("judge", "witness")
    assert not is_forwarded(s, "party", Source.SCREEN)
    assert is_forwarded(s, "party", Source.CAMERA)
    assert is_forwarded(s, "judge", Source.SCREEN)  # the bench needs no leave
    assert s.allow_screen("judge", "party", True).type == "screen_allowed"
    assert is_forwarded(s, "party", Source.SCREEN)
    assert code_of(s.allow_screen, "party", "party", True) == "permission.denied"
    assert code_of(s.allow_screen, "judge", "witness", True) == "permission.denied"
    assert s.allow_screen("judge", "party", False).type == "screen_stopped"
    assert not is_forwarded(s, "party", Source.SCREEN)
    assert is_forwarded(s, "party", Source.CAMERA)  # the camera is not touched
    restored = Session.from_dict(s.to_dict())
    assert restored.members["party"].screen_allowed is False
