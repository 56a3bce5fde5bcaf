"""Roles and what each may do: the one table the rest of the code consults."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    JUDGE = "judge"
    CLERK = "clerk"
    MEDIATOR = "mediator"
    PARTY = "party"
    COUNSEL = "counsel"
    WITNESS = "witness"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"
    RECEPTION = "reception"  # court staff in a reception call (they conduct it)
    VISITOR = "visitor"      # the member of the public in a reception call


class StaffRole(str, Enum):
    JUDGE = "judge"
    CLERK = "clerk"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    RECEPTION = "reception"  # staff on duty at the remote reception desk


class Capability(str, Enum):
    PUBLISH = "publish"              # send microphone and camera
    SHARE_SCREEN = "share_screen"    # send a screen share (evidence)
    SUBSCRIBE = "subscribe"          # receive others' media
    ENTER_DIRECTLY = "enter_directly"  # skip the lobby
    SEE_LOBBY = "see_lobby"          # see who waits
    ADMIT = "admit"                  # admit / deny lobby members
    MODERATE = "moderate"            # mute, force-mute, remove, lock
    RECORD = "record"                # start / pause / resume recording
    CONDUCT = "conduct"              # open, recess, resume, adjourn the hearing
    CAUCUS = "caucus"                # open and move between caucus rooms (mediation)
    MINUTES = "minutes"              # keep the hearing's minutes (issue 17)


C = Capability

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.JUDGE: frozenset(
        {C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE, C.ENTER_DIRECTLY, C.SEE_LOBBY, C.ADMIT,
         C.MODERATE, C.RECORD, C.CONDUCT, C.MINUTES}
    ),
    Role.CLERK: frozenset(
        {C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE, C.ENTER_DIRECTLY, C.SEE_LOBBY, C.ADMIT,
         C.MODERATE, C.MINUTES}
    ),
    Role.MEDIATOR: frozenset(
        {C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE, C.ENTER_DIRECTLY, C.SEE_LOBBY, C.ADMIT,
         C.MODERATE, C.RECORD, C.CONDUCT, C.CAUCUS, C.MINUTES}
    ),
    Role.PARTY: frozenset({C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE}),
    Role.COUNSEL: frozenset({C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE}),
    Role.WITNESS: frozenset({C.PUBLISH, C.SUBSCRIBE}),
    Role.INTERPRETER: frozenset({C.PUBLISH, C.SUBSCRIBE}),
    Role.OBSERVER: frozenset({C.SUBSCRIBE}),
    Role.RECEPTION: frozenset(
        {C.PUBLISH, C.SHARE_SCREEN, C.SUBSCRIBE, C.ENTER_DIRECTLY, C.SEE_LOBBY, C.ADMIT,
         C.MODERATE, C.RECORD, C.CONDUCT}
    ),
    Role.VISITOR: frozenset({C.PUBLISH, C.SUBSCRIBE}),
}

#: What *staff accounts* (judge, clerk, mediator, admin) may do outside a room, per
#: hearing, is the policy table in ``hearing_server/auth/authz.py`` (docs/security.md).


def can(role: Role, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES[role]


def role_table() -> dict[str, list[str]]:
    """The table as the web client receives it (the page never copies it)."""
    return {role.value: sorted(c.value for c in caps) for role, caps in ROLE_CAPABILITIES.items()}
