"""Single-node store in SQLite: definitions, and every live session, written when a
decision is made (before it is acted on) so a restart restores the hearing exactly.

Session writes (and their fsync) run in a worker thread on their own connection, never
on the event loop; reads are served from memory, loaded from the database once."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..domain.errors import Code, Unavailable
from ..domain.hearing import Hearing
from ..domain.ids import HearingId, LinkId, ParticipantId
from ..domain.roles import StaffRole
from ..domain.session import Phase, Session
from .base import ApiKey, LinkRecord, StaffAccount

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS hearings (id TEXT PRIMARY KEY, body TEXT NOT NULL,
    scheduled_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff (username TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (digest TEXT PRIMARY KEY, name TEXT NOT NULL,
    role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_tokens (token_id TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS links (link_id TEXT PRIMARY KEY, hearing_id TEXT NOT NULL,
    participant_id TEXT NOT NULL, issued_at REAL NOT NULL, issued_by TEXT NOT NULL,
    expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, opened_at REAL,
    opened_from TEXT, opened_user_agent TEXT, joined_at REAL);
CREATE INDEX IF NOT EXISTS links_by_hearing ON links (hearing_id, participant_id);
CREATE TABLE IF NOT EXISTS sessions (hearing_id TEXT PRIMARY KEY, body TEXT NOT NULL,
    version INTEGER NOT NULL, phase TEXT NOT NULL, updated_at REAL NOT NULL);
"""

#: Columns added after the first release (added to an older database on open).
MIGRATIONS = {
    "staff": [("disabled", "INTEGER NOT NULL DEFAULT 0"), ("epoch", "INTEGER NOT NULL DEFAULT 0")],
    "api_keys": [("scopes", "TEXT NOT NULL DEFAULT 'hearings'"), ("expires_at", "REAL"),
                 ("revoked", "INTEGER NOT NULL DEFAULT 0"),
                 ("created_at", "REAL NOT NULL DEFAULT 0")],
}
STAFF_COLUMNS = "username, name, role, password_hash, disabled, epoch"
KEY_COLUMNS = "digest, name, role, scopes, expires_at, revoked, created_at"


class LocalStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # private from the start (SQLite gives -wal/-shm the same mode)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        for table, columns in MIGRATIONS.items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns:
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # live sessions are written on their own connection, from a worker thread
        self._writer = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._writer.execute("PRAGMA synchronous=FULL")
        self._writer.execute("PRAGMA busy_timeout=5000")
        self._write_lock = threading.Lock()

    # ---- hearings ------------------------------------------------------------

    async def save_hearing(self, hearing: Hearing) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO hearings (id, body, scheduled_at) VALUES (?, ?, ?)",
            (hearing.id, json.dumps(hearing.to_dict()), hearing.scheduled_at.isoformat()),
        )

    async def get_hearing(self, hearing_id: str) -> Hearing | None:
        row = self._db.execute("SELECT body FROM hearings WHERE id = ?", (hearing_id,)).fetchone()
        return Hearing.from_dict(json.loads(row[0])) if row else None

    async def list_hearings(self) -> list[Hearing]:
        rows = self._db.execute("SELECT body FROM hearings ORDER BY scheduled_at").fetchall()
        return [Hearing.from_dict(json.loads(r[0])) for r in rows]

    # ---- staff ---------------------------------------------------------------

    @staticmethod
    def _staff(r: tuple[object, ...]) -> StaffAccount:
        return StaffAccount(str(r[0]), str(r[1]), StaffRole(r[2]), str(r[3]),
                            disabled=bool(r[4]), epoch=int(r[5]))  # type: ignore[call-overload]

    async def add_staff(self, account: StaffAccount) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO staff ({STAFF_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (account.username, account.name, account.role.value, account.password_hash,
             int(account.disabled), account.epoch),
        )

    async def get_staff(self, username: str) -> StaffAccount | None:
        row = self._db.execute(f"SELECT {STAFF_COLUMNS} FROM staff WHERE username = ?",
                               (username,)).fetchone()
        return self._staff(row) if row else None

    async def list_staff(self) -> list[StaffAccount]:
        rows = self._db.execute(f"SELECT {STAFF_COLUMNS} FROM staff ORDER BY username")
        return [self._staff(r) for r in rows.fetchall()]

    async def remove_staff(self, username: str) -> bool:
        return self._db.execute("DELETE FROM staff WHERE username = ?",
                                (username,)).rowcount == 1

    @staticmethod
    def _key(r: tuple[object, ...]) -> ApiKey:
        return ApiKey(str(r[1]), str(r[0]), StaffRole(r[2]),
                      scopes=tuple(s for s in str(r[3]).split(",") if s),
                      expires_at=None if r[4] is None else float(r[4]),  # type: ignore[arg-type]
                      revoked=bool(r[5]), created_at=float(r[6]))  # type: ignore[arg-type]

    async def add_api_key(self, key: ApiKey) -> None:
        self._db.execute(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (key.digest, key.name, key.role.value, ",".join(key.scopes),
                          key.expires_at, int(key.revoked), key.created_at))

    async def find_api_key(self, digest: str) -> ApiKey | None:
        row = self._db.execute(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE digest = ?",
                               (digest,)).fetchone()
        return self._key(row) if row else None

    async def list_api_keys(self) -> list[ApiKey]:
        rows = self._db.execute(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY name, created_at")
        return [self._key(r) for r in rows.fetchall()]

    async def revoke_api_key(self, name: str) -> int:
        return self._db.execute("UPDATE api_keys SET revoked = 1 WHERE name = ? AND revoked = 0",
                                (name,)).rowcount

    async def revoke_staff_token(self, token_id: str, until: float) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM revoked_tokens WHERE until < ?", (time.time(),))
            self._db.execute("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?)",
                             (token_id, until))

    async def staff_token_revoked(self, token_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM revoked_tokens WHERE token_id = ?",
                               (token_id,)).fetchone()
        return row is not None

    # ---- links ---------------------------------------------------------------

    @staticmethod
    def _link(row: tuple[object, ...]) -> LinkRecord:
        return LinkRecord(
            link_id=LinkId(str(row[0])), hearing_id=HearingId(str(row[1])),
            participant_id=ParticipantId(str(row[2])), issued_at=float(row[3]),  # type: ignore[arg-type]
            issued_by=str(row[4]), expires_at=float(row[5]),  # type: ignore[arg-type]
            revoked=bool(row[6]), opened_at=row[7], opened_from=row[8],  # type: ignore[arg-type]
            opened_user_agent=row[9], joined_at=row[10],  # type: ignore[arg-type]
        )

    async def issue_link(self, link: LinkRecord) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE links SET revoked = 1 WHERE hearing_id = ? AND participant_id = ?",
                (link.hearing_id, link.participant_id),
            )
            self._db.execute(
                "INSERT INTO links (link_id, hearing_id, participant_id, issued_at, issued_by,"
                " expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, 0)",
                (link.link_id, link.hearing_id, link.participant_id, link.issued_at,
                 link.issued_by, link.expires_at),
            )

    async def get_link(self, link_id: str) -> LinkRecord | None:
        row = self._db.execute("SELECT * FROM links WHERE link_id = ?", (link_id,)).fetchone()
        return self._link(row) if row else None

    async def list_links(self, hearing_id: str) -> list[LinkRecord]:
        rows = self._db.execute("SELECT * FROM links WHERE hearing_id = ? ORDER BY issued_at",
                                (hearing_id,)).fetchall()
        return [self._link(r) for r in rows]

    async def mark_link_opened(self, link_id: str, at: float, address: str,
                               user_agent: str) -> bool:
        cur = self._db.execute(
            "UPDATE links SET opened_at = ?, opened_from = ?, opened_user_agent = ?"
            " WHERE link_id = ? AND opened_at IS NULL",
            (at, address[:100], user_agent[:300], link_id),
        )
        return cur.rowcount == 1

    async def mark_link_joined(self, link_id: str, at: float) -> None:
        self._db.execute("UPDATE links SET joined_at = ? WHERE link_id = ? AND joined_at IS NULL",
                         (at, link_id))

    # ---- live sessions -------------------------------------------------------

    def _load(self, hearing_id: str) -> Session | None:
        s = self._sessions.get(hearing_id)
        if s is None:
            row = self._db.execute("SELECT body FROM sessions WHERE hearing_id = ?",
                                   (hearing_id,)).fetchone()
            if row is not None:
                s = Session.from_dict(json.loads(row[0]))
                self._sessions[hearing_id] = s
        return s

    async def get_session(self, hearing_id: str) -> Session | None:
        s = self._load(hearing_id)
        return copy.deepcopy(s) if s is not None else None

    async def live_sessions(self) -> list[Session]:
        rows = self._db.execute("SELECT hearing_id FROM sessions WHERE phase != ?",
                                (Phase.ADJOURNED.value,)).fetchall()
        out = [await self.get_session(r[0]) for r in rows]
        return [s for s in out if s is not None]

    def _save(self, session: Session) -> None:
        body = json.dumps(session.to_dict())
        with self._write_lock:
            self._writer.execute(
                "INSERT OR REPLACE INTO sessions (hearing_id, body, version, phase, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session.hearing_id, body, session.version, session.phase.value, time.time()))

    async def update_session(self, hearing: Hearing, change: Callable[[Session], T]) -> T:
        lock = self._locks.setdefault(hearing.id, asyncio.Lock())
        async with lock:
            current = self._load(hearing.id) or Session.for_hearing(hearing)
            working = copy.deepcopy(current)
            result = change(working)  # a HearingError aborts: nothing is saved
            working.version = current.version + 1
            try:
                await asyncio.to_thread(self._save, working)
            except (sqlite3.Error, OSError) as exc:
                raise Unavailable(f"the decision could not be saved ({exc}); it was not made",
                                  code=Code.STORE_UNAVAILABLE) from exc
            self._sessions[hearing.id] = working
            return result

    async def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        self._db.close()
