"""The authorisation table, as a pure function: who may do what to which hearing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearing_server.auth.authz import Action, authorize, creator_seat, operator, permits
from hearing_server.auth.tokens import PrincipalKind, StaffClaims
from hearing_server.domain.errors import PermissionDenied
from hearing_server.domain.hearing import Hearing, HearingKind, ParticipantSpec
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role, StaffRole

HEARING_ACTIONS = [Action.HEARING_READ, Action.HEARING_CHANGE, Action.HEARING_ASSIGN,
                   Action.LINK_ISSUE]


def hearing(kind: HearingKind = HearingKind.HEARING, presiding: str = "ada",
            clerks: tuple[str, ...] = ("bo",)) -> Hearing:
    host = Role.JUDGE if kind is HearingKind.HEARING else Role.MEDIATOR
    return Hearing(id=HearingId("h1"), case_number="C-1", title="T", kind=kind,
                   scheduled_at=datetime(2026, 12, 1, tzinfo=UTC), duration_minutes=60,
                   participants=(ParticipantSpec(ParticipantId("j"), "J", host),),
                   presiding=presiding, clerks=clerks)


def account(name: str, role: StaffRole) -> StaffClaims:
    return StaffClaims(name, role, 0.0)


def key(name: str, role: StaffRole, *scopes: str) -> StaffClaims:
    return StaffClaims(f"api:{name}", role, 0.0, kind=PrincipalKind.API_KEY,
                       scopes=frozenset(scopes))


@pytest.mark.parametrize("action", [*HEARING_ACTIONS, Action.RECORDS_READ])
def test_the_presiding_judge_and_the_assigned_clerk_may_act_on_their_hearing(
        action: Action) -> None:
    authorize(account("ada", StaffRole.JUDGE), action, hearing())
    authorize(account("bo", StaffRole.CLERK), action, hearing())


@pytest.mark.parametrize("action", [*HEARING_ACTIONS, Action.RECORDS_READ])
def test_unassigned_staff_and_admins_are_refused_every_hearing_action(action: Action) -> None:
    for who in (account("other", StaffRole.JUDGE), account("cy", StaffRole.CLERK),
                account("ada", StaffRole.MEDIATOR), account("root", StaffRole.ADMIN),
                account("bo", StaffRole.ADMIN)):
        with pytest.raises(PermissionDenied):
            authorize(who, action, hearing())


def test_a_mediator_named_as_presiding_of_a_court_hearing_still_has_no_seat() -> None:
    mediator = account("mia", StaffRole.MEDIATOR)
    assert not permits(mediator, Action.LINK_ISSUE, hearing(presiding="mia"))
    assert permits(mediator, Action.LINK_ISSUE,
                   hearing(HearingKind.MEDIATION, presiding="mia"))
    assert not permits(account("ada", StaffRole.JUDGE), Action.LINK_ISSUE,
                       hearing(HearingKind.MEDIATION, presiding="ada"))


def test_a_hearing_the_server_does_not_know_is_refused_to_everyone_but_the_operator() -> None:
    assert not permits(account("bo", StaffRole.CLERK), Action.RECORDS_READ, None)
    authorize(operator("root"), Action.RECORDS_READ, None)
    authorize(operator("root"), Action.LINK_ISSUE, hearing(presiding="", clerks=()))


def test_only_admins_manage_accounts_and_admins_never_schedule() -> None:
    authorize(account("root", StaffRole.ADMIN), Action.ACCOUNTS_MANAGE)
    for role in (StaffRole.JUDGE, StaffRole.CLERK, StaffRole.MEDIATOR):
        assert not permits(account("x", role), Action.ACCOUNTS_MANAGE)
    assert not permits(account("root", StaffRole.ADMIN), Action.HEARING_LIST)
    admin_made = hearing(presiding="", clerks=creator_seat(account("root",
                                                                   StaffRole.ADMIN))[1])
    assert not permits(account("root", StaffRole.ADMIN), Action.HEARING_CREATE, admin_made)


def test_the_creator_takes_a_seat_and_may_only_create_hearings_it_sits_in() -> None:
    assert creator_seat(account("bo", StaffRole.CLERK)) == ("", ("bo",))
    assert creator_seat(account("ada", StaffRole.JUDGE)) == ("ada", ())
    assert creator_seat(key("cms", StaffRole.CLERK, "hearings")) == ("", ("api:cms",))
    judge = account("ada", StaffRole.JUDGE)
    assert permits(judge, Action.HEARING_CREATE, hearing(presiding="ada", clerks=()))
    assert not permits(judge, Action.HEARING_CREATE, hearing(presiding="zed", clerks=()))
    mediator = account("mia", StaffRole.MEDIATOR)
    assert not permits(mediator, Action.HEARING_CREATE, hearing(presiding="mia", clerks=()))


def test_records_refusals_by_role_keep_their_code() -> None:
    with pytest.raises(PermissionDenied) as info:
        authorize(account("mia", StaffRole.MEDIATOR), Action.RECORDS_LIST)
    assert info.value.code == "records.forbidden"
    with pytest.raises(PermissionDenied) as info:
        authorize(account("cy", StaffRole.CLERK), Action.LINK_ISSUE, hearing())
    assert info.value.code == "permission.denied"


def test_an_api_key_acts_only_within_its_scope_and_its_assigned_hearings() -> None:
    cms = key("cms", StaffRole.CLERK, "hearings")
    assert permits(cms, Action.LINK_ISSUE, hearing(clerks=("api:cms",)))
    assert not permits(cms, Action.LINK_ISSUE, hearing())
    assert not permits(cms, Action.RECORDS_READ, hearing(clerks=("api:cms",)))
    archive = key("cms", StaffRole.CLERK, "records")
    assert permits(archive, Action.RECORDS_READ, hearing(clerks=("api:cms",)))
    assert not permits(archive, Action.LINK_ISSUE, hearing(clerks=("api:cms",)))
    # a key never presides, even one with a judge's role named as presiding
    assert not permits(key("ada", StaffRole.JUDGE, "hearings"), Action.LINK_ISSUE,
                       hearing(presiding="api:ada"))
    assert not permits(key("root", StaffRole.ADMIN, "hearings"), Action.ACCOUNTS_MANAGE)
