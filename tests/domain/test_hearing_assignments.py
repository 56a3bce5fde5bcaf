"""A hearing records who presides it and which clerks are assigned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearing_server.domain.errors import InvalidInput
from hearing_server.domain.hearing import Hearing, HearingKind, ParticipantSpec, new_hearing
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role

DATA = {"case_number": "C-1", "title": "T", "scheduled_at": "2026-12-01T10:00:00Z",
        "participants": [{"name": "J", "role": "judge"}]}


def test_a_new_hearing_carries_the_creators_seat_and_the_named_ones() -> None:
    h = new_hearing(HearingId("h1"), {**DATA, "presiding": "ada", "clerks": ["cy", "bo"]},
                    created_by="bo", clerks=("bo",))
    assert (h.presiding, h.clerks) == ("ada", ("bo", "cy"))
    assert Hearing.from_dict(h.to_dict()) == h
    for bad in ({"presiding": "Not A Name"}, {"clerks": "bo"}, {"clerks": ["x" * 60]}):
        with pytest.raises(InvalidInput):
            new_hearing(HearingId("h1"), {**DATA, **bad}, created_by="bo")


def test_a_hearing_saved_before_assignments_keeps_its_creator_as_clerk() -> None:
    h = Hearing(id=HearingId("h1"), case_number="C-1", title="T", kind=HearingKind.HEARING,
                scheduled_at=datetime(2026, 12, 1, tzinfo=UTC), duration_minutes=60,
                participants=(ParticipantSpec(ParticipantId("j"), "J", Role.JUDGE),),
                created_by="bo")
    legacy = {k: v for k, v in h.to_dict().items() if k not in ("presiding", "clerks")}
    assert Hearing.from_dict(legacy).clerks == ("bo",)
    assert Hearing.from_dict({**legacy, "created_by": "cli"}).clerks == ()
