"""The authorisation check with its audit trail: the policy
(:func:`hearing_server.auth.authz.authorize`) decides, refusals are written to the
access audit log, then re-raised as ``permission.denied``."""

from __future__ import annotations

from ..auth.authz import Action, authorize, permits
from ..auth.tokens import StaffClaims
from ..domain.errors import PermissionDenied
from ..domain.hearing import Hearing
from ..store.audit import ALLOWED, DENIED, AuditLog


class Access:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    async def check(self, who: StaffClaims, action: Action, hearing: Hearing | None = None, *,
                    hearing_id: str | None = None, address: str = "") -> None:
        """Allow, or write the refusal to the audit log (on disk before the answer goes
        out) and raise ``permission.denied``."""
        try:
            authorize(who, action, hearing)
        except PermissionDenied as exc:
            await self._audit.record(who.username, action.value,
                                     hearing.id if hearing is not None else hearing_id,
                                     DENIED, exc.message, address)
            raise

    def check_now(self, who: StaffClaims, action: Action, hearing: Hearing | None = None,
                  ) -> None:
        """The same, for a caller with no event loop running (the command line)."""
        try:
            authorize(who, action, hearing)
        except PermissionDenied as exc:
            self._audit.append(who.username, action.value,
                               hearing.id if hearing is not None else None, DENIED,
                               exc.message, "")
            raise

    async def record(self, who: StaffClaims, action: str, detail: str = "",
                     address: str = "") -> None:
        """Audit an allowed change that is not about one hearing (an account, a key)."""
        await self._audit.record(who.username, action, None, ALLOWED, detail, address)

    @staticmethod
    def visible(who: StaffClaims, hearings: list[Hearing]) -> list[Hearing]:
        """The hearings ``who`` may read (listing shows only the caller's)."""
        return [h for h in hearings if permits(who, Action.HEARING_READ, h)]
