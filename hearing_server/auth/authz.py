"""Who may do what to which hearing: the one policy every REST route and CLI command asks.

Pure: no I/O. :func:`authorize` returns nothing or raises
:class:`~hearing_server.domain.errors.PermissionDenied`; the edges audit refusals.

A staff member's *seat* in a hearing is what relates them to it:

- ``presiding``: the account named as the hearing's presiding judge (a hearing) or
  mediator (a mediation); a judge never presides a mediation and a mediator never a
  court hearing, whatever the hearing record says;
- ``clerk``: a clerk account, or an API key with the clerk role, listed in the
  hearing's assigned clerks (the clerk or key that scheduled it is assigned at creation);
  a reception staff account has this seat in the reception calls it took.

An admin manages accounts and API keys and has no seat in any hearing. The operator
(the command line on the node, which holds the data folder and its secrets anyway)
may do everything, and is still asked here so that the table stays the one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..domain.errors import Code, PermissionDenied
from ..domain.hearing import Hearing, HearingKind
from ..domain.roles import StaffRole
from .tokens import PrincipalKind, StaffClaims


class Action(str, Enum):
    HEARING_CREATE = "hearing.create"    # schedule a hearing (the new hearing is checked)
    HEARING_LIST = "hearing.list"        # list hearings (only the caller's are returned)
    HEARING_READ = "hearing.read"        # definition, live state, event log, service record
    HEARING_CHANGE = "hearing.change"    # reschedule, cancel
    HEARING_ASSIGN = "hearing.assign"    # set the presiding judge/mediator and the clerks
    LINK_ISSUE = "link.issue"            # issue or re-issue a participant's join link
    RECORDS_LIST = "records.list"        # list case records (only the caller's)
    RECORDS_READ = "records.read"        # manifest, attendance, play, download, export,
    #                                      verify, composite
    ACCOUNTS_MANAGE = "accounts.manage"  # staff accounts and API keys
    RECEPTION_DESK = "reception.desk"    # the reception queue: take, end, log (clerks and
    #                                      reception staff)


class Scope(str, Enum):
    """What an API key may be used for."""

    HEARINGS = "hearings"
    RECORDS = "records"
    ACCOUNTS = "accounts"


class Seat(str, Enum):
    PRESIDING = "presiding"
    CLERK = "clerk"


J, C, M, A = StaffRole.JUDGE, StaffRole.CLERK, StaffRole.MEDIATOR, StaffRole.ADMIN
R = StaffRole.RECEPTION
HEARING_STAFF = frozenset({J, C, M})
#: reception staff see and act only on their own calls (they sit in them as a clerk)
CALL_STAFF = HEARING_STAFF | {R}
BOTH_SEATS = frozenset({Seat.PRESIDING, Seat.CLERK})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[StaffRole]
    #: Seats that allow the action on a hearing; ``None``: the action touches no hearing.
    seats: frozenset[Seat] | None
    scope: Scope
    #: Code of the refusal when the role itself may never do this.
    role_code: Code = Code.PERMISSION_DENIED


RULES: dict[Action, Rule] = {
    Action.HEARING_CREATE: Rule(HEARING_STAFF, BOTH_SEATS, Scope.HEARINGS),
    Action.HEARING_LIST: Rule(CALL_STAFF, None, Scope.HEARINGS),
    Action.HEARING_READ: Rule(CALL_STAFF, BOTH_SEATS, Scope.HEARINGS),
    Action.HEARING_CHANGE: Rule(HEARING_STAFF, BOTH_SEATS, Scope.HEARINGS),
    Action.HEARING_ASSIGN: Rule(HEARING_STAFF, BOTH_SEATS, Scope.HEARINGS),
    Action.LINK_ISSUE: Rule(CALL_STAFF, BOTH_SEATS, Scope.HEARINGS),
    Action.RECORDS_LIST: Rule(frozenset({J, C}), None, Scope.RECORDS, Code.RECORDS_FORBIDDEN),
    Action.RECORDS_READ: Rule(frozenset({J, C}), BOTH_SEATS, Scope.RECORDS,
                              Code.RECORDS_FORBIDDEN),
    Action.ACCOUNTS_MANAGE: Rule(frozenset({A}), None, Scope.ACCOUNTS),
    Action.RECEPTION_DESK: Rule(frozenset({C, R}), None, Scope.HEARINGS),
}

#: Who may preside which kind of hearing.
PRESIDES = {HearingKind.HEARING: J, HearingKind.MEDIATION: M}


def seat(who: StaffClaims, hearing: Hearing) -> Seat | None:
    """The caller's seat in ``hearing``, if any."""
    if (who.kind == PrincipalKind.ACCOUNT and hearing.presiding == who.username
            and PRESIDES[hearing.kind] is who.role):
        return Seat.PRESIDING
    if who.role in (C, R) and who.username in hearing.clerks:
        return Seat.CLERK
    return None


def authorize(who: StaffClaims, action: Action, hearing: Hearing | None = None) -> None:
    """Allow ``who`` to do ``action`` (to ``hearing``), or raise ``PermissionDenied``."""
    if who.kind == PrincipalKind.OPERATOR:
        return
    rule = RULES[action]
    if who.kind == PrincipalKind.API_KEY and rule.scope.value not in who.scopes:
        raise PermissionDenied(f"this API key's scope does not include {rule.scope.value!r}",
                               code=Code.PERMISSION_DENIED)
    if who.role not in rule.roles:
        raise PermissionDenied(f"a {who.role.value} may not do {action.value}",
                               code=rule.role_code)
    if rule.seats is None:
        return
    if hearing is None:
        raise PermissionDenied("nobody is assigned to a hearing this server does not know",
                               code=Code.PERMISSION_DENIED)
    found = seat(who, hearing)
    if found is None or found not in rule.seats:
        raise PermissionDenied("you are not assigned to this hearing", code=Code.PERMISSION_DENIED)


def permits(who: StaffClaims, action: Action, hearing: Hearing | None = None) -> bool:
    try:
        authorize(who, action, hearing)
    except PermissionDenied:
        return False
    return True


def operator(name: str) -> StaffClaims:
    """The command line's principal."""
    return StaffClaims(f"cli:{name}", StaffRole.ADMIN, 0.0, kind=PrincipalKind.OPERATOR)


def creator_seat(who: StaffClaims) -> tuple[str, tuple[str, ...]]:
    """``(presiding, clerks)`` a new hearing gets from the one who schedules it: a clerk
    (or clerk API key) is assigned as its clerk, a judge or mediator presides it."""
    if who.kind == PrincipalKind.OPERATOR:
        return "", ()
    if who.role is C:
        return "", (who.username,)
    if who.role in (J, M) and who.kind == PrincipalKind.ACCOUNT:
        return who.username, ()
    return "", ()
