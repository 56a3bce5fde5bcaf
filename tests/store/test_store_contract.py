"""The store behaves the same on both implementations: local (SQLite + memory) and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hearing_server.domain.errors import HearingError
from hearing_server.domain.hearing import Hearing, HearingKind, ParticipantSpec
from hearing_server.domain.ids import HearingId, LinkId, ParticipantId
from hearing_server.domain.roles import Role, StaffRole
from hearing_server.domain.session import Presence, Session
from hearing_server.store.base import ApiKey, LinkRecord, StaffAccount, Store
from hearing_server.store.local import LocalStore
from hearing_server.store.redis_store import RedisStore
from tests.redis_server import RedisServer


@pytest.fixture(params=["local", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "local":
        s: Store = LocalStore(tmp_path / "db.sqlite3")
        yield s
        await s.close()
    else:
        server = RedisServer(tmp_path / "redis").start()
        try:
            s = RedisStore(server.url)
            yield s
            await s.close()
        finally:
            server.stop()


def hearing(hid: str = "h1", when: int = 10) -> Hearing:
    return Hearing(
        id=HearingId(hid), case_number="C-1", title="T", kind=HearingKind.HEARING,
        scheduled_at=datetime(2026, 12, 1, when, tzinfo=UTC), duration_minutes=60,
        participants=(ParticipantSpec(ParticipantId("j"), "Judge", Role.JUDGE),
                      ParticipantSpec(ParticipantId("j2"), "Judge Two", Role.JUDGE),
                      ParticipantSpec(ParticipantId("p"), "Party", Role.PARTY)),
        created_at=datetime(2026, 11, 1, tzinfo=UTC))


async def test_hearings_are_saved_listed_in_time_order_and_updated(store: Store) -> None:
    await store.save_hearing(hearing("late", 15))
    await store.save_hearing(hearing("early", 9))
    assert [h.id for h in await store.list_hearings()] == ["early", "late"]
    assert await store.get_hearing("early") == hearing("early", 9)
    await store.save_hearing(hearing("early", 9).cancelled())
    got = await store.get_hearing("early")
    assert got is not None and got.status.value == "cancelled"
    assert await store.get_hearing("nope") is None


async def test_staff_and_api_keys_round_trip(store: Store) -> None:
    await store.add_staff(StaffAccount("clerk1", "Clerk", StaffRole.CLERK, "$argon2id$x"))
    assert (await store.get_staff("clerk1")) == StaffAccount("clerk1", "Clerk",
                                                             StaffRole.CLERK, "$argon2id$x")
    assert [a.username for a in await store.list_staff()] == ["clerk1"]
    await store.add_api_key(ApiKey("cms", "d" * 64, StaffRole.CLERK))
    assert await store.find_api_key("d" * 64) == ApiKey("cms", "d" * 64, StaffRole.CLERK)
    assert await store.find_api_key("e" * 64) is None


async def test_reissuing_a_link_revokes_the_older_and_opening_is_recorded_once(
        store: Store) -> None:
    def link(lid: str, at: float) -> LinkRecord:
        return LinkRecord(LinkId(lid), HearingId("h1"), ParticipantId("p"), at, "clerk", at + 60)

    await store.issue_link(link("a", 1.0))
    await store.issue_link(link("b", 2.0))
    old, new = await store.get_link("a"), await store.get_link("b")
    assert old is not None and old.revoked and new is not None and not new.revoked
    assert await store.mark_link_opened("b", 5.0, "127.0.0.1", "UA/1") is True
    assert await store.mark_link_opened("b", 6.0, "10.9.9.9", "UA/2") is False
    await store.mark_link_joined("b", 7.0)
    got = await store.get_link("b")
    assert got is not None
    assert (got.opened_at, got.opened_from, got.opened_user_agent, got.joined_at) == (
        5.0, "127.0.0.1", "UA/1", 7.0)
    assert [(x.link_id, x.status) for x in await store.list_links("h1")] == [
        ("a", "revoked"), ("b", "joined")]


async def test_session_changes_are_atomic_and_a_failed_change_saves_nothing(
        store: Store) -> None:
    h = hearing()
    await store.update_session(h, lambda s: s.join(ParticipantId("j"), "Judge", Role.JUDGE,
                                                   0.0, 30))
    await store.update_session(h, lambda s: s.join(ParticipantId("j2"), "Judge Two",
                                                   Role.JUDGE, 0.0, 30))
    await store.update_session(h, lambda s: s.join(ParticipantId("p"), "Party", Role.PARTY,
                                                   0.0, 30))
    before = await store.get_session("h1")
    assert before is not None
    with pytest.raises(HearingError):
        await store.update_session(h, lambda s: s.admit("p", "j"))  # a party may not admit
    after = await store.get_session("h1")
    assert after == before

    # two judges admit the same party at the same moment: exactly one succeeds
    async def admit(judge: str) -> str:
        try:
            await store.update_session(h, lambda s: s.admit(judge, "p"))
            return "ok"
        except HearingError as exc:
            return exc.code

    results = await asyncio.gather(*(admit(j) for j in ("j", "j2") * 5))
    assert results.count("ok") == 1
    assert set(results) == {"ok", "participant.not_in_lobby"}
    final = await store.get_session("h1")
    assert final is not None and final.members["p"].presence is Presence.ADMITTED
    assert isinstance(final, Session) and final.version == before.version + 1


async def test_hearing_assignments_round_trip(store: Store) -> None:
    assigned = hearing("h7").assigned("ada", ("bo", "api:cms", "bo"))
    await store.save_hearing(assigned)
    got = await store.get_hearing("h7")
    assert got == assigned and got is not None
    assert (got.presiding, got.clerks) == ("ada", ("bo", "api:cms"))


async def test_staff_accounts_keep_their_disabled_flag_and_epoch_and_can_be_removed(
        store: Store) -> None:
    account = StaffAccount("bo", "Bo", StaffRole.CLERK, "$argon2id$x", disabled=True, epoch=3)
    await store.add_staff(account)
    assert await store.get_staff("bo") == account
    await store.add_staff(StaffAccount("bo", "Bo", StaffRole.JUDGE, "$argon2id$y", epoch=4))
    got = await store.get_staff("bo")
    assert got is not None and (got.role, got.disabled, got.epoch) == (StaffRole.JUDGE, False, 4)
    assert await store.remove_staff("bo") is True
    assert await store.remove_staff("bo") is False
    assert await store.get_staff("bo") is None and await store.list_staff() == []


async def test_api_keys_keep_scope_and_expiry_and_are_revoked_by_name(store: Store) -> None:
    a = ApiKey("cms", "a" * 64, StaffRole.CLERK, ("hearings", "records"), 1e10, False, 5.0)
    b = ApiKey("cms", "b" * 64, StaffRole.CLERK, ("hearings",), None, False, 6.0)
    c = ApiKey("other", "c" * 64, StaffRole.CLERK, ("records",), None, False, 7.0)
    for key in (a, b, c):
        await store.add_api_key(key)
    assert await store.find_api_key("a" * 64) == a
    assert await store.list_api_keys() == [a, b, c]
    assert await store.revoke_api_key("cms") == 2
    assert await store.revoke_api_key("cms") == 0
    found = await store.find_api_key("b" * 64)
    assert found is not None and found.revoked and found.scopes == ("hearings",)
    other = await store.find_api_key("c" * 64)
    assert other is not None and not other.revoked


async def test_a_revoked_staff_token_stays_revoked_until_it_expires(store: Store) -> None:
    import time

    assert await store.staff_token_revoked("t1") is False
    await store.revoke_staff_token("t1", time.time() + 3600)
    assert await store.staff_token_revoked("t1") is True
    assert await store.staff_token_revoked("t2") is False


async def test_a_database_from_before_account_epochs_and_key_scopes_opens_and_migrates(
        tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(str(tmp_path / "old.sqlite3"))
    old.executescript(
        "CREATE TABLE staff (username TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " role TEXT NOT NULL, password_hash TEXT NOT NULL);"
        "CREATE TABLE api_keys (digest TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " role TEXT NOT NULL);"
        "INSERT INTO staff VALUES ('bo', 'Bo', 'clerk', '$argon2id$x');"
        "INSERT INTO api_keys VALUES ('dd', 'cms', 'clerk');")
    old.commit()
    old.close()
    s = LocalStore(tmp_path / "old.sqlite3")
    try:
        assert await s.get_staff("bo") == StaffAccount("bo", "Bo", StaffRole.CLERK,
                                                       "$argon2id$x")
        assert await s.find_api_key("dd") == ApiKey("cms", "dd", StaffRole.CLERK)
    finally:
        await s.close()
