"""Join links live as long as the hearing needs them: from issue until the scheduled end
plus a grace, through a reschedule, never shorter because the hearing is far away."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from hearing_server.api.routes import ENTRY
from hearing_server.app import HEARINGS, STORE
from hearing_server.domain.errors import HearingError
from hearing_server.services.entry import EntryService
from tests.conftest import Running, refused, token_of

DAY = 24 * 3600


def hearing_at(when: datetime) -> dict[str, Any]:
    return {"case_number": "C-30", "title": "Far v. Away", "kind": "hearing",
            "scheduled_at": when.isoformat(), "duration_minutes": 120,
            "participants": [{"name": "Judge Ada", "role": "judge", "id": "judge"},
                             {"name": "Sam Party", "role": "party", "id": "party"}]}


def entry_at(running: Running, now: float) -> EntryService:
    entry = running.app[ENTRY]
    entry._work.clock = lambda: now  # the court's clock, moved to the day of the hearing
    return entry


async def test_a_link_for_a_hearing_thirty_days_ahead_opens_on_the_day(
        running: Running) -> None:
    day = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    hearing, links = await running.app[HEARINGS].create(hearing_at(day), actor="test")
    token = token_of(links["party"])
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert exp >= (day + timedelta(minutes=120)).timestamp(), "signed for the whole hearing"
    entry = entry_at(running, day.timestamp() + 600)  # ten minutes into the hearing
    found, claims = await entry.authenticate(token)
    assert found.id == hearing.id and claims.participant_id == "party"


async def test_a_link_opened_after_the_end_plus_grace_is_refused_as_expired(
        running: Running) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    _, links = await running.app[HEARINGS].create(hearing_at(start), actor="test")
    grace = running.settings.join_link_grace
    end = (start + timedelta(minutes=120)).timestamp()
    entry = entry_at(running, end + grace - 60)
    await entry.authenticate(token_of(links["party"]))  # still within the grace
    entry = entry_at(running, end + grace + 60)
    with pytest.raises(HearingError) as err:
        await entry.authenticate(token_of(links["party"]))
    assert err.value.code.value == "token.expired"


async def test_a_rescheduled_hearing_keeps_its_links_past_their_signed_lifetime(
        running: Running) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    service = running.app[HEARINGS]
    hearing, links = await service.create(hearing_at(start), actor="test")
    later = start + timedelta(days=60)
    await service.reschedule(hearing.id, later.isoformat(), "test")
    entry = entry_at(running, later.timestamp() + 300)  # the signed exp has long passed
    found, _ = await entry.authenticate(token_of(links["party"]))
    assert found.scheduled_at == later
    info = await entry.open_link(token_of(links["party"]), "127.0.0.1", "test")
    assert info["expires_at"] >= (later + timedelta(minutes=120)).timestamp()


async def test_the_service_record_shows_the_links_lifetime_from_the_current_schedule(
        running: Running) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    service = running.app[HEARINGS]
    hearing, _ = await service.create(hearing_at(start), actor="test")
    later = start + timedelta(days=10)
    await service.reschedule(hearing.id, later.isoformat(), "test")
    record = await service.service_record(hearing.id)
    want = (later + timedelta(minutes=120)).timestamp() + running.settings.join_link_grace
    assert {r["expires_at"] for r in record} == {want}


async def test_a_link_of_a_hearing_long_over_is_refused_on_connect(running: Running) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    service = running.app[HEARINGS]
    hearing, links = await service.create(hearing_at(start), actor="test")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    await running.app[STORE].save_hearing(hearing.rescheduled(start, 0.0))  # as days went by
    assert (await refused(running, token_of(links["party"])))["code"] == "token.expired"
    assert time.time() > start.timestamp() + 2 * DAY


async def test_scheduling_a_hearing_whose_links_would_be_born_expired_is_refused(
        running: Running) -> None:
    service = running.app[HEARINGS]
    last_year = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    with pytest.raises(HearingError) as err:
        await service.create(hearing_at(last_year), actor="test")
    assert err.value.code.value == "hearing.already_over"
    assert await service.find("C-30") == [], "nothing was saved"
    hearing, _ = await service.create(hearing_at(last_year + timedelta(days=366)), "test")
    with pytest.raises(HearingError) as err:
        await service.reschedule(hearing.id, last_year.isoformat(), "test")
    assert err.value.code.value == "hearing.already_over"
    # a hearing that ended an hour ago is still within the grace: a late record is allowed
    await service.reschedule(hearing.id, (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                             "test")
