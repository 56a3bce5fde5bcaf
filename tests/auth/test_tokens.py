"""Join and staff tokens: pinned algorithm, claims, lifetimes."""

from __future__ import annotations

import pytest

from hearing_server.auth.passwords import check_password, hash_password
from hearing_server.auth.tokens import TokenService
from hearing_server.domain.errors import TokenError
from hearing_server.domain.ids import HearingId, LinkId, ParticipantId
from hearing_server.domain.roles import Role, StaffRole

SECRET = b"s" * 64


def service() -> TokenService:
    return TokenService(SECRET, "test", join_ttl=60, staff_ttl=60)


def test_join_token_carries_hearing_participant_role_and_link() -> None:
    t = service().issue_join(HearingId("h1"), ParticipantId("p1"), Role.WITNESS, LinkId("L"))
    claims = service().verify_join(t)
    assert (claims.hearing_id, claims.participant_id, claims.role, claims.link_id) == (
        "h1", "p1", Role.WITNESS, "L")


def test_join_token_is_not_a_staff_token() -> None:
    t = service().issue_join(HearingId("h1"), ParticipantId("p1"), Role.JUDGE, LinkId("L"))
    with pytest.raises(TokenError) as info:
        service().verify_staff(t)
    assert info.value.code == "token.invalid"


def test_expired_join_token_is_refused() -> None:
    t = service().issue_join(HearingId("h"), ParticipantId("p"), Role.PARTY, LinkId("L"),
                             now=1000.0)
    with pytest.raises(TokenError) as info:
        service().verify_join(t)
    assert info.value.code == "token.expired"


def test_short_secrets_are_rejected() -> None:
    with pytest.raises(ValueError):
        TokenService(b"short", "x", 1, 1)


def test_staff_token_round_trips() -> None:
    t = service().issue_staff("clerk1", StaffRole.CLERK)
    assert service().verify_staff(t).role is StaffRole.CLERK


def test_passwords_are_hashed_with_argon2_and_checked() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert check_password(h, "correct horse")
    assert not check_password(h, "wrong horse")
    assert not check_password("garbage", "x")
    with pytest.raises(ValueError):
        hash_password("short")
