"""The reception desk's pure rules: opening hours and holidays, and the visitor queue with
its limits, places, wait estimates, expiry, leaving, taking and ending."""

from __future__ import annotations

import datetime as dt

import pytest

from hearing_server.domain.errors import Code, HearingError
from hearing_server.domain.reception import QueueLimits, ReceptionQueue, parse_hours

CST = dt.timezone(dt.timedelta(hours=8))
HOURS = parse_hours("mon-fri 09:00-12:00,13:30-17:00; sat 09:00-12:00", ["2026-12-25"], CST)


def at(day: str, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}+08:00")


def test_the_desk_is_open_in_its_hours_and_closed_on_holidays_and_at_lunch() -> None:
    assert HOURS.is_open(at("2026-12-02", "09:00"))          # a Wednesday
    assert not HOURS.is_open(at("2026-12-02", "12:30"))      # lunch
    assert HOURS.is_open(dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC))  # 14:00 in CST
    assert not HOURS.is_open(at("2026-12-06", "10:00"))      # Sunday
    assert HOURS.is_open(at("2026-12-05", "10:00"))          # Saturday morning
    assert not HOURS.is_open(at("2026-12-25", "10:00"))      # a holiday (Friday)


def test_a_closed_desk_says_when_it_opens() -> None:
    assert HOURS.next_opening(at("2026-12-02", "12:30")) == at("2026-12-02", "13:30")
    assert HOURS.next_opening(at("2026-12-24", "18:00")) == at("2026-12-26", "09:00")
    assert HOURS.next_opening(at("2026-12-02", "10:00")) == at("2026-12-02", "10:00")
    with pytest.raises(HearingError) as err:
        HOURS.check_open(at("2026-12-06", "10:00"))
    assert err.value.code is Code.RECEPTION_CLOSED
    assert err.value.to_dict()["opens_at"] == at("2026-12-07", "09:00").isoformat()
    assert parse_hours("").next_opening(at("2026-12-02", "10:00")) is None


@pytest.mark.parametrize("text", ["mon 9-12", "xyz 09:00-10:00", "mon 12:00-09:00",
                                  "mon 25:00-26:00"])
def test_bad_hours_are_refused(text: str) -> None:
    with pytest.raises(HearingError):
        parse_hours(text)


def queue(**limits: float) -> ReceptionQueue:
    return ReceptionQueue(("filing", "enquiry"), QueueLimits(**limits))  # type: ignore[arg-type]


def test_visitors_queue_in_order_with_places_and_an_estimated_wait() -> None:
    q = queue()
    a = q.join("Ann", "", "", "filing", "10.0.0.1", 0.0)
    b = q.join("Bob", "C-1", "bob@x.test", "enquiry", "10.0.0.2", 1.0)
    assert (q.place(a.id), q.place(b.id)) == (1, 2)
    assert q.estimated_wait(b.id, staff_on_duty=1) == 600.0  # the default 300 s a call
    assert q.estimated_wait(b.id, staff_on_duty=2) == 300.0
    taken = q.take("clerk1", None, 2.0)
    assert taken.id == a.id and taken.state == "taken" and q.place(b.id) == 1
    q.end(a.id, "clerk1", "answered", "told them\nwhere to file", 62.0)
    assert a.note == "told them where to file"
    assert q.estimated_wait(b.id, staff_on_duty=1) == 60.0  # from the call just ended


def test_names_and_notes_are_length_limited_and_the_topic_checked() -> None:
    q = queue()
    for args, code in [(("", "", "", "filing"), Code.INPUT_INVALID),
                       (("x" * 81, "", "", "filing"), Code.INPUT_INVALID),
                       (("Ann", "c" * 41, "", "filing"), Code.INPUT_INVALID),
                       (("Ann", "", "", "nope"), Code.RECEPTION_TOPIC_UNKNOWN),
                       ((["Ann"], "", "", "filing"), Code.INPUT_INVALID)]:
        with pytest.raises(HearingError) as err:
            q.join(*args, "10.0.0.1", 0.0)
        assert err.value.code is code
    v = q.join("<b>Ann</b>\u0000\u202e", "", "", "filing", "10.0.0.1", 0.0)
    assert v.name == "<b>Ann</b>"  # kept as text (pages never render it as HTML)
    q.take("clerk1", v.id, 1.0)
    with pytest.raises(HearingError):
        q.end(v.id, "clerk1", "", "n" * 1001, 2.0)


def test_joins_are_limited_per_address_and_in_total() -> None:
    q = queue(total=3, per_address=2)
    q.join("A", "", "", "filing", "10.0.0.1", 0.0)
    q.join("B", "", "", "filing", "10.0.0.1", 0.0)
    with pytest.raises(HearingError) as err:
        q.join("C", "", "", "filing", "10.0.0.1", 0.0)
    assert err.value.code is Code.RECEPTION_TOO_MANY
    q.join("D", "", "", "filing", "10.0.0.2", 0.0)
    with pytest.raises(HearingError) as err:
        q.join("E", "", "", "filing", "10.0.0.3", 0.0)
    assert err.value.code is Code.RECEPTION_QUEUE_FULL


def test_an_abandoned_entry_expires_and_a_left_one_cannot_be_taken() -> None:
    q = queue(expire_after=30.0)
    gone = q.join("Gone", "", "", "filing", "10.0.0.1", 0.0)
    stays = q.join("Stays", "", "", "filing", "10.0.0.2", 0.0)
    leaves = q.join("Leaves", "", "", "filing", "10.0.0.3", 0.0)
    q.heartbeat(stays.id, 25.0)
    q.leave(leaves.id, 26.0)
    assert [v.id for v in q.expire(40.0)] == [gone.id]
    assert q.place(stays.id) == 1 and q.place(gone.id) == 0
    for vid in (gone.id, leaves.id):
        with pytest.raises(HearingError) as err:
            q.take("clerk1", vid, 41.0)
        assert err.value.code is Code.RECEPTION_NOT_WAITING
    with pytest.raises(HearingError) as err:
        q.take("clerk1", "v_unknown", 41.0)
    assert err.value.code is Code.RECEPTION_NOT_FOUND


def test_only_the_staff_in_the_call_end_it_and_an_empty_queue_is_said() -> None:
    q = queue()
    with pytest.raises(HearingError) as err:
        q.take("clerk1", None, 0.0)
    assert err.value.code is Code.RECEPTION_NOT_WAITING
    v = q.join("Ann", "", "", "filing", "10.0.0.1", 0.0)
    q.take("clerk1", None, 1.0)
    with pytest.raises(HearingError) as err:
        q.take("clerk2", v.id, 2.0)  # taken already: a second desk cannot take it
    assert err.value.code is Code.RECEPTION_NOT_WAITING
    with pytest.raises(HearingError):
        q.end(v.id, "clerk2", "done", "", 3.0)
    assert q.end(v.id, "clerk1", "done", "", 3.0).state == "ended"


def test_a_transferred_visitor_keeps_their_place_and_a_transferred_call_changes_hands() -> None:
    q = queue()
    ann = q.join("Ann", "", "", "filing", "10.0.0.1", 0.0)
    bob = q.join("Bob", "", "", "filing", "10.0.0.2", 1.0)
    q.transfer(ann.id, "clerk1", "desk2")
    assert (q.place(ann.id), ann.assigned_to, ann.transfers) == (1, "desk2", 1)
    assert q.take("clerk1", None, 2.0) is bob  # Ann is desk2's
    assert q.take("desk2", None, 3.0) is ann
    with pytest.raises(HearingError) as err:
        q.transfer(ann.id, "clerk1", "clerk3")  # not clerk1's call
    assert err.value.code is Code.RECEPTION_NOT_WAITING
    with pytest.raises(HearingError) as err:
        q.transfer(ann.id, "desk2", "desk2")
    assert err.value.code is Code.RECEPTION_BAD_TRANSFER
    q.transfer(ann.id, "desk2", "clerk1")
    assert (ann.taken_by, ann.staff) == ("clerk1", ["clerk1"])
    assert q.end(ann.id, "clerk1", "done", "", 4.0).state == "ended"
