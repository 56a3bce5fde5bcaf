"""Staff accounts, sign-in, sessions and API keys.

Password hashing and verification (argon2, about a quarter of a second each) run in
worker threads, at most :data:`HASH_WORKERS` at a time and at most
:data:`HASH_QUEUE` waiting: a flood of sign-ins gets ``rate.limited`` instead of
queueing unbounded work, and the event loop that forwards media never waits.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from ..auth.authz import Scope
from ..auth.passwords import api_key_digest, check_password, hash_password, new_api_key
from ..auth.throttle import FailureThrottle
from ..auth.tokens import PrincipalKind, StaffClaims, TokenService
from ..domain.errors import AuthError, Code, InvalidInput, NotFound, RateLimited
from ..domain.roles import StaffRole
from ..store.base import ApiKey, StaffAccount, Store

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{2,40}$")
KEY_NAME_RE = re.compile(r"^[a-z0-9_.-]{2,40}$")

#: Password hashes computed at the same time, and waiting for a worker, at most.
HASH_WORKERS = 2
HASH_QUEUE = 8

T = TypeVar("T")


def _role(role: str) -> StaffRole:
    try:
        return StaffRole(role)
    except ValueError as exc:
        raise InvalidInput(f"unknown staff role {role!r}", code=Code.ROLE_UNKNOWN) from exc


class PasswordWork:
    """Runs argon2 off the event loop, bounded."""

    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._limit = workers + queue
        self._pending = 0

    async def run(self, fn: Callable[..., T], *args: str) -> T:
        if self._pending >= self._limit:
            raise RateLimited("too many sign-ins are being checked; try again in a moment",
                              code=Code.RATE_LIMITED, extra={"retry_after": "1"})
        self._pending += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(fn, *args)
        finally:
            self._pending -= 1


class StaffService:
    def __init__(self, store: Store, tokens: TokenService, *,
                 attempts_per_account: int = 5, attempts_per_address: int = 20,
                 attempt_window: float = 300.0) -> None:
        self._store = store
        self._tokens = tokens
        self._work = PasswordWork()
        self._by_account = FailureThrottle(attempts_per_account, attempt_window)
        self._by_address = FailureThrottle(attempts_per_address, attempt_window)
        self._dummy_hash: str | None = None

    # ---- accounts ----------------------------------------------------------------------

    async def _hash(self, password: str) -> str:
        try:
            return await self._work.run(hash_password, password)
        except ValueError as exc:
            raise InvalidInput(str(exc), code=Code.PASSWORD_WEAK) from exc

    async def add(self, username: str, name: str, role: str, password: str) -> StaffAccount:
        """Create an account, or update one (which ends its sessions)."""
        if not USERNAME_RE.match(username):
            raise InvalidInput("a username is 2-40 lowercase letters, digits, '.', '_' or '-'")
        staff_role = _role(role)
        digest = await self._hash(password)
        existing = await self._store.get_staff(username)
        epoch = existing.epoch + 1 if existing is not None else 0
        account = StaffAccount(username, name or username, staff_role, digest, epoch=epoch)
        await self._store.add_staff(account)
        return account

    async def find(self, username: str) -> StaffAccount | None:
        return await self._store.get_staff(username)

    async def account(self, username: str) -> StaffAccount:
        found = await self._store.get_staff(username)
        if found is None:
            raise NotFound(f"no staff account {username!r}", code=Code.STAFF_NOT_FOUND)
        return found

    async def _change(self, username: str, **changes: object) -> StaffAccount:
        account = await self.account(username)
        updated = replace(account, epoch=account.epoch + 1, **changes)  # type: ignore[arg-type]
        await self._store.add_staff(updated)
        return updated

    async def set_role(self, username: str, role: str) -> StaffAccount:
        return await self._change(username, role=_role(role))

    async def reset_password(self, username: str, password: str) -> StaffAccount:
        await self.account(username)
        return await self._change(username, password_hash=await self._hash(password))

    async def set_disabled(self, username: str, disabled: bool) -> StaffAccount:
        return await self._change(username, disabled=disabled)

    async def end_sessions(self, username: str) -> StaffAccount:
        return await self._change(username)

    async def remove(self, username: str) -> None:
        if not await self._store.remove_staff(username):
            raise NotFound(f"no staff account {username!r}", code=Code.STAFF_NOT_FOUND)

    async def accounts(self) -> list[StaffAccount]:
        return await self._store.list_staff()

    # ---- sign-in and sessions ------------------------------------------------------------

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._work.run(hash_password, secrets.token_urlsafe(16))
        return self._dummy_hash

    async def sign_in(self, username: str, password: str,
                      address: str = "") -> tuple[StaffAccount, str]:
        account_key, address_key = f"user:{username[:64]}", f"addr:{address}"
        wait = max(self._by_account.retry_after(account_key),
                   self._by_address.retry_after(address_key))
        if wait:
            raise RateLimited(f"too many failed sign-ins; try again in {wait} s",
                              code=Code.RATE_LIMITED, extra={"retry_after": str(wait)})
        # an unknown (or disabled) username costs the same argon2 verification as a known
        # one, so the time taken does not tell which usernames exist (the dummy hash is
        # made on the first sign-in of any kind, so even that one tells nothing)
        dummy = await self._dummy()
        account = await self._store.get_staff(username)
        usable = account is not None and not account.disabled
        stored = account.password_hash if account is not None and usable else dummy
        ok = await self._work.run(check_password, stored, password)
        if not ok or account is None or not usable:
            self._by_account.failed(account_key)
            self._by_address.failed(address_key)
            raise AuthError("wrong username or password", code=Code.AUTH_INVALID_CREDENTIALS)
        self._by_account.succeeded(account_key)
        return account, self._tokens.issue_staff(account.username, account.role,
                                                 epoch=account.epoch)

    async def sign_out(self, token: str) -> None:
        """Revoke the session token (if it is one of ours and still valid)."""
        claims = self._tokens.verify_staff(token)
        await self._store.revoke_staff_token(claims.token_id, claims.expires_at)

    async def from_session(self, token: str) -> StaffClaims:
        claims = self._tokens.verify_staff(token)
        account = await self._store.get_staff(claims.username)
        if account is None:
            raise AuthError("this account no longer exists", code=Code.AUTH_INVALID)
        if (account.disabled or account.epoch != claims.epoch or account.role is not claims.role
                or await self._store.staff_token_revoked(claims.token_id)):
            raise AuthError("this session has ended; sign in again", code=Code.AUTH_SESSION_ENDED)
        return claims

    # ---- API keys ----------------------------------------------------------------------

    async def create_api_key(self, name: str, role: str,
                             scopes: tuple[str, ...] = (Scope.HEARINGS.value,),
                             ttl: float | None = 365 * 24 * 3600.0) -> str:
        if not KEY_NAME_RE.match(name):
            raise InvalidInput("a key name is 2-40 lowercase letters, digits, '.', '_' or '-'")
        known = {s.value for s in Scope}
        if not scopes or any(s not in known for s in scopes):
            raise InvalidInput("an API key's scopes are some of " + ", ".join(sorted(known)),
                               code=Code.APIKEY_BAD_SCOPE)
        if ttl is not None and ttl <= 0:
            raise InvalidInput("an API key's lifetime must be positive")
        key = new_api_key()
        now = time.time()
        await self._store.add_api_key(ApiKey(
            name, api_key_digest(key), _role(role), tuple(dict.fromkeys(scopes)),
            None if ttl is None else now + ttl, False, now))
        return key

    async def list_api_keys(self) -> list[ApiKey]:
        return await self._store.list_api_keys()

    async def revoke_api_key(self, name: str) -> int:
        count = await self._store.revoke_api_key(name)
        if not count:
            raise NotFound(f"no unrevoked API key named {name!r}", code=Code.APIKEY_NOT_FOUND)
        return count

    async def from_api_key(self, key: str) -> StaffClaims:
        found = await self._store.find_api_key(api_key_digest(key))
        if found is None:
            raise AuthError("unknown API key", code=Code.AUTH_INVALID_API_KEY)
        if found.revoked:
            raise AuthError("this API key was revoked", code=Code.AUTH_API_KEY_REVOKED)
        if found.expires_at is not None and found.expires_at <= time.time():
            raise AuthError("this API key has expired", code=Code.AUTH_API_KEY_EXPIRED)
        return StaffClaims(f"api:{found.name}", found.role, found.expires_at or 0.0,
                           kind=PrincipalKind.API_KEY, scopes=frozenset(found.scopes))
