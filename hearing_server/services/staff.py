"""Staff accounts, sign-in and API keys."""

from __future__ import annotations

import re

from ..auth.passwords import api_key_digest, check_password, hash_password, new_api_key
from ..auth.tokens import StaffClaims, TokenService
from ..domain.errors import AuthError, Code, InvalidInput
from ..domain.roles import StaffRole
from ..store.base import ApiKey, StaffAccount, Store

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{2,40}$")


class StaffService:
    def __init__(self, store: Store, tokens: TokenService) -> None:
        self._store = store
        self._tokens = tokens

    async def add(self, username: str, name: str, role: str, password: str) -> StaffAccount:
        if not USERNAME_RE.match(username):
            raise InvalidInput("a username is 2-40 lowercase letters, digits, '.', '_' or '-'")
        try:
            staff_role = StaffRole(role)
        except ValueError as exc:
            raise InvalidInput(f"unknown staff role {role!r}", code=Code.ROLE_UNKNOWN) from exc
        try:
            digest = hash_password(password)
        except ValueError as exc:
            raise InvalidInput(str(exc), code=Code.PASSWORD_WEAK) from exc
        account = StaffAccount(username, name or username, staff_role, digest)
        await self._store.add_staff(account)
        return account

    async def sign_in(self, username: str, password: str) -> tuple[StaffAccount, str]:
        account = await self._store.get_staff(username)
        if account is None or not check_password(account.password_hash, password):
            raise AuthError("wrong username or password", code=Code.AUTH_INVALID_CREDENTIALS)
        return account, self._tokens.issue_staff(account.username, account.role)

    async def from_session(self, token: str) -> StaffClaims:
        claims = self._tokens.verify_staff(token)
        if await self._store.get_staff(claims.username) is None:
            raise AuthError("this account no longer exists", code=Code.AUTH_INVALID)
        return claims

    async def create_api_key(self, name: str, role: str) -> str:
        key = new_api_key()
        await self._store.add_api_key(ApiKey(name, api_key_digest(key), StaffRole(role)))
        return key

    async def from_api_key(self, key: str) -> StaffClaims:
        found = await self._store.find_api_key(api_key_digest(key))
        if found is None:
            raise AuthError("unknown API key", code=Code.AUTH_INVALID_API_KEY)
        return StaffClaims(f"api:{found.name}", found.role, 0.0)
