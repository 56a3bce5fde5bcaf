"""The store interface: durable definitions and live hearing state.

Two implementations share it: :class:`~.local.LocalStore` (SQLite file and
process memory, the single-node default) and a Redis store for several
nodes. Services depend on this protocol only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..domain.hearing import Hearing
from ..domain.ids import HearingId, LinkId, ParticipantId
from ..domain.roles import StaffRole
from ..domain.session import Session

T = TypeVar("T")


@dataclass(frozen=True)
class StaffAccount:
    username: str
    name: str
    role: StaffRole
    password_hash: str
    #: A disabled account cannot sign in and its sessions end.
    disabled: bool = False
    #: Session generation: raised on every role change, password reset, disabling or
    #: sign-out-everywhere; a session token carries the generation it was issued in and
    #: is refused once it differs.
    epoch: int = 0


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: str
    role: StaffRole
    #: What the key may be used for (see ``hearing_server.auth.authz.Scope``).
    scopes: tuple[str, ...] = ("hearings",)
    #: Unix time after which the key is refused (``None``: never).
    expires_at: float | None = None
    revoked: bool = False
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Everything but the digest."""
        return {"name": self.name, "role": self.role.value, "scopes": list(self.scopes),
                "expires_at": self.expires_at, "revoked": self.revoked,
                "created_at": self.created_at}


@dataclass(frozen=True)
class LinkRecord:
    """One issued join link: the electronic service record of a participant."""

    link_id: LinkId
    hearing_id: HearingId
    participant_id: ParticipantId
    issued_at: float
    issued_by: str
    expires_at: float
    revoked: bool = False
    opened_at: float | None = None
    opened_from: str | None = None
    opened_user_agent: str | None = None
    joined_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "link_id": self.link_id,
            "hearing_id": self.hearing_id,
            "participant_id": self.participant_id,
            "issued_at": self.issued_at,
            "issued_by": self.issued_by,
            "expires_at": self.expires_at,
            "revoked": self.revoked,
            "opened_at": self.opened_at,
            "opened_from": self.opened_from,
            "opened_user_agent": self.opened_user_agent,
            "joined_at": self.joined_at,
        }

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.joined_at:
            return "joined"
        if self.opened_at:
            return "opened"
        return "issued"


class Store(Protocol):
    async def save_hearing(self, hearing: Hearing) -> None: ...
    async def get_hearing(self, hearing_id: str) -> Hearing | None: ...
    async def list_hearings(self) -> list[Hearing]: ...

    async def add_staff(self, account: StaffAccount) -> None:
        """Create the account, or replace the one with the same username."""
        ...

    async def get_staff(self, username: str) -> StaffAccount | None: ...
    async def list_staff(self) -> list[StaffAccount]: ...
    async def remove_staff(self, username: str) -> bool:
        """Delete the account; returns whether it existed."""
        ...

    async def add_api_key(self, key: ApiKey) -> None: ...
    async def find_api_key(self, digest: str) -> ApiKey | None: ...
    async def list_api_keys(self) -> list[ApiKey]: ...
    async def revoke_api_key(self, name: str) -> int:
        """Revoke every key with this name; returns how many were not revoked yet."""
        ...

    async def revoke_staff_token(self, token_id: str, until: float) -> None:
        """Refuse the staff session token ``token_id`` (signed out) until it expires."""
        ...

    async def staff_token_revoked(self, token_id: str) -> bool: ...

    async def issue_link(self, link: LinkRecord) -> None:
        """Store ``link`` and revoke every earlier link of the same participant."""
        ...

    async def get_link(self, link_id: str) -> LinkRecord | None: ...
    async def list_links(self, hearing_id: str) -> list[LinkRecord]: ...
    async def mark_link_opened(self, link_id: str, at: float, address: str,
                               user_agent: str) -> bool:
        """Record the first opening; returns whether this was the first."""
        ...

    async def mark_link_joined(self, link_id: str, at: float) -> None: ...

    async def get_session(self, hearing_id: str) -> Session | None: ...

    async def live_sessions(self) -> list[Session]:
        """Every session of a hearing not adjourned (to restore after a restart)."""
        ...
    async def update_session(self, hearing: Hearing, change: Callable[[Session], T]) -> T:
        """Apply ``change`` to the hearing's live session atomically and save it.

        The session is created on first use. If ``change`` raises, nothing is saved.
        """
        ...

    async def close(self) -> None: ...
