"""Several nodes: definitions and live state in Redis (redis-py asyncio).

Changes two nodes could race on (a session update, issuing a link) are atomic:
sessions use WATCH/MULTI optimistic transactions, links MULTI blocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..domain.errors import Code, Unavailable
from ..domain.hearing import Hearing
from ..domain.ids import HearingId, LinkId, ParticipantId
from ..domain.roles import StaffRole
from ..domain.session import Phase, Session
from . import keys
from .base import ApiKey, LinkRecord, StaffAccount
from .redis_errors import REDIS_ERRORS

T = TypeVar("T")


def unavailable(exc: Exception) -> Unavailable:
    REDIS_ERRORS.add(exc)
    return Unavailable(f"the shared store (Redis) is unreachable: {exc}",
                       code=Code.STORE_UNAVAILABLE)


def connect(url: str) -> aioredis.Redis:
    """A client that retries a command on a fresh connection after Redis restarts."""
    return aioredis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5,
        health_check_interval=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError])


class RedisStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.redis: aioredis.Redis = connect(url)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    # ---- hearings ------------------------------------------------------------------

    async def save_hearing(self, hearing: Hearing) -> None:
        async def run() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(keys.hearing(hearing.id), json.dumps(hearing.to_dict()))
                pipe.zadd(keys.HEARINGS, {hearing.id: hearing.scheduled_at.timestamp()})
                await pipe.execute()
        await self._call(run())

    async def get_hearing(self, hearing_id: str) -> Hearing | None:
        raw = await self._call(self.redis.get(keys.hearing(hearing_id)))
        return Hearing.from_dict(json.loads(raw)) if raw else None

    async def list_hearings(self) -> list[Hearing]:
        ids = await self._call(self.redis.zrange(keys.HEARINGS, 0, -1))
        if not ids:
            return []
        raws = await self._call(self.redis.mget([keys.hearing(i) for i in ids]))
        return [Hearing.from_dict(json.loads(r)) for r in raws if r]

    # ---- staff ---------------------------------------------------------------------

    async def add_staff(self, account: StaffAccount) -> None:
        body = {"username": account.username, "name": account.name,
                "role": account.role.value, "password_hash": account.password_hash,
                "disabled": account.disabled, "epoch": account.epoch}

        async def run() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(keys.staff(account.username), json.dumps(body))
                pipe.sadd(keys.STAFF, account.username)
                await pipe.execute()
        await self._call(run())

    async def get_staff(self, username: str) -> StaffAccount | None:
        raw = await self._call(self.redis.get(keys.staff(username)))
        if not raw:
            return None
        d = json.loads(raw)
        return StaffAccount(d["username"], d["name"], StaffRole(d["role"]), d["password_hash"],
                            disabled=bool(d.get("disabled", False)),
                            epoch=int(d.get("epoch", 0)))

    async def list_staff(self) -> list[StaffAccount]:
        names = sorted(await self._call(self.redis.smembers(keys.STAFF)))
        out = []
        for n in names:
            account = await self.get_staff(n)
            if account is not None:
                out.append(account)
        return out

    async def remove_staff(self, username: str) -> bool:
        async def run() -> list[Any]:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(keys.staff(username))
                pipe.srem(keys.STAFF, username)
                result: list[Any] = await pipe.execute()
                return result
        deleted, _ = await self._call(run())
        return bool(deleted)

    @staticmethod
    def _key_body(key: ApiKey) -> str:
        return json.dumps({"name": key.name, "role": key.role.value,
                           "scopes": list(key.scopes), "expires_at": key.expires_at,
                           "revoked": key.revoked, "created_at": key.created_at})

    async def add_api_key(self, key: ApiKey) -> None:
        async def run() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(keys.api_key(key.digest), self._key_body(key))
                pipe.sadd(keys.API_KEYS, key.digest)
                await pipe.execute()
        await self._call(run())

    async def find_api_key(self, digest: str) -> ApiKey | None:
        raw = await self._call(self.redis.get(keys.api_key(digest)))
        if not raw:
            return None
        d = json.loads(raw)
        expires = d.get("expires_at")
        return ApiKey(d["name"], digest, StaffRole(d["role"]),
                      scopes=tuple(d.get("scopes", ["hearings"])),
                      expires_at=None if expires is None else float(expires),
                      revoked=bool(d.get("revoked", False)),
                      created_at=float(d.get("created_at", 0.0)))

    async def list_api_keys(self) -> list[ApiKey]:
        out = []
        for digest in await self._call(self.redis.smembers(keys.API_KEYS)):
            key = await self.find_api_key(digest)
            if key is not None:
                out.append(key)
        return sorted(out, key=lambda k: (k.name, k.created_at))

    async def revoke_api_key(self, name: str) -> int:
        count = 0
        for key in await self.list_api_keys():
            if key.name != name or key.revoked:
                continue
            revoked = ApiKey(key.name, key.digest, key.role, key.scopes, key.expires_at, True,
                             key.created_at)
            await self._call(self.redis.set(keys.api_key(key.digest), self._key_body(revoked)))
            count += 1
        return count

    async def revoke_staff_token(self, token_id: str, until: float) -> None:
        ttl = max(1, int(until - time.time()) + 1)
        await self._call(self.redis.set(keys.revoked_token(token_id), "1", ex=ttl))

    async def staff_token_revoked(self, token_id: str) -> bool:
        return bool(await self._call(self.redis.exists(keys.revoked_token(token_id))))

    # ---- links ---------------------------------------------------------------------

    async def issue_link(self, link: LinkRecord) -> None:
        fields = {"link_id": link.link_id, "hearing_id": link.hearing_id,
                  "participant_id": link.participant_id, "issued_at": link.issued_at,
                  "issued_by": link.issued_by, "expires_at": link.expires_at}

        async def run() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.link(link.link_id), mapping=fields)  # type: ignore[arg-type]
                pipe.rpush(keys.links_of(link.hearing_id), link.link_id)
                pipe.set(keys.current_link(link.hearing_id, link.participant_id), link.link_id)
                await pipe.execute()
        await self._call(run())

    async def _link(self, d: dict[str, str]) -> LinkRecord:
        current = await self._call(self.redis.get(
            keys.current_link(d["hearing_id"], d["participant_id"])))

        def opt(name: str) -> float | None:
            return float(d[name]) if d.get(name) else None

        return LinkRecord(
            link_id=LinkId(d["link_id"]), hearing_id=HearingId(d["hearing_id"]),
            participant_id=ParticipantId(d["participant_id"]), issued_at=float(d["issued_at"]),
            issued_by=d["issued_by"], expires_at=float(d["expires_at"]),
            revoked=current != d["link_id"], opened_at=opt("opened_at"),
            opened_from=d.get("opened_from"), opened_user_agent=d.get("opened_user_agent"),
            joined_at=opt("joined_at"),
        )

    async def get_link(self, link_id: str) -> LinkRecord | None:
        d = await self._call(self.redis.hgetall(keys.link(link_id)))
        return await self._link(d) if d else None

    async def list_links(self, hearing_id: str) -> list[LinkRecord]:
        ids = await self._call(self.redis.lrange(keys.links_of(hearing_id), 0, -1))
        out = []
        for i in ids:
            link = await self.get_link(i)
            if link is not None:
                out.append(link)
        return out

    async def mark_link_opened(self, link_id: str, at: float, address: str,
                               user_agent: str) -> bool:
        key = keys.link(link_id)
        first = await self._call(self.redis.hsetnx(key, "opened_at", at))
        if first:
            await self._call(self.redis.hset(key, mapping={
                "opened_from": address[:100], "opened_user_agent": user_agent[:300]}))
        return bool(first)

    async def mark_link_joined(self, link_id: str, at: float) -> None:
        await self._call(self.redis.hsetnx(keys.link(link_id), "joined_at", at))

    # ---- live sessions ---------------------------------------------------------------

    async def get_session(self, hearing_id: str) -> Session | None:
        raw = await self._call(self.redis.get(keys.session(hearing_id)))
        return Session.from_dict(json.loads(raw)) if raw else None

    async def live_sessions(self) -> list[Session]:
        async def scan() -> list[Session]:
            out: list[Session] = []
            async for key in self.redis.scan_iter(match=keys.session("*"), count=200):
                raw = await self.redis.get(key)
                if raw:
                    session = Session.from_dict(json.loads(raw))
                    if session.phase is not Phase.ADJOURNED:
                        out.append(session)
            return out
        result: list[Session] = await self._call(scan())
        return result

    async def update_session(self, hearing: Hearing, change: Callable[[Session], T]) -> T:
        key = keys.session(hearing.id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        session = (Session.from_dict(json.loads(raw)) if raw
                                   else Session.for_hearing(hearing))
                        result = change(session)  # a HearingError aborts: nothing is saved
                        session.version += 1
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.set(key, json.dumps(session.to_dict()))
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue  # another node changed it first: re-read and re-apply
        except (RedisError, OSError) as exc:
            raise unavailable(exc) from exc

    async def close(self) -> None:
        await self.redis.aclose()
