"""Backup and restore of a node's data folder (``hearing-server backup`` / ``restore``).

A backup is one ``.tar.gz`` holding:

* ``backup.json`` — format, when, from which node, and the SHA-256 and size of
  every other member (restore refuses an archive whose files do not match);
* ``data/hearings.sqlite3`` — a consistent copy of the SQLite store taken with
  SQLite's online backup API (``sqlite3.Connection.backup``), safe while a node runs;
* ``data/...`` — everything else in the data folder: the token secret
  (``secret.key``), the signing key (``node_ed25519.pem``), the event logs, the
  records and the access audit log. ``exports/`` (re-creatable bundles) and the
  SQLite write-ahead files are left out.

The archive holds the node's secrets: it is written with mode 0600; keep it as
safe as the data folder itself. With Redis (``redis_url``) the hearings, staff and
links live in Redis: back up its AOF/RDB as well (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from .domain.errors import Code, Conflict, InvalidInput, NotFound

FORMAT = "hearing-server/backup"
VERSION = 1
DB_NAME = "hearings.sqlite3"
SKIPPED_DIRS = {"exports"}
SKIPPED_FILES = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal"}


def _files(data_dir: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(data_dir):
        here = Path(root)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        dirs.sort()
        for name in sorted(names):
            path = here / name
            if here == data_dir and name in SKIPPED_FILES:
                continue
            if path.is_file() and not path.is_symlink():
                yield path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(data_dir: Path, out: Path, node_id: str = "") -> dict[str, Any]:
    """Write a backup of ``data_dir`` to ``out``; return a summary."""
    if not data_dir.is_dir():
        raise NotFound(f"the data folder {data_dir} does not exist", code=Code.DATA_DIR_MISSING)
    out.parent.mkdir(parents=True, exist_ok=True)
    members: list[tuple[str, Path]] = []
    with tempfile.TemporaryDirectory(prefix="hearing-backup-") as tmp:
        db = data_dir / DB_NAME
        if db.exists():
            copy = Path(tmp) / DB_NAME
            source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            members.append((DB_NAME, copy))
        for path in _files(data_dir):
            members.append((path.relative_to(data_dir).as_posix(), path))
        entries: list[dict[str, Any]] = [
            {"path": name, "size": path.stat().st_size, "sha256": _sha256(path)}
            for name, path in members]
        manifest = {"format": FORMAT, "version": VERSION, "created_at": time.time(),
                    "node_id": node_id, "files": entries}
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            blob = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("backup.json")
            info.size, info.mode, info.mtime = len(blob), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(blob))
            for name, path in members:
                tar.add(str(path), arcname=f"data/{name}", recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
    return {"backup": str(out), "files": len(entries),
            "bytes": sum(int(e["size"]) for e in entries), "sqlite": db.exists()}


def _manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile("backup.json")
    except KeyError as exc:
        raise InvalidInput(f"{source} is not a hearing-server backup (no backup.json)",
                           code=Code.BACKUP_INVALID) from exc
    if member is None:
        raise InvalidInput(f"{source}: backup.json is not a file", code=Code.BACKUP_INVALID)
    try:
        manifest: dict[str, Any] = json.loads(member.read())
    except ValueError as exc:
        raise InvalidInput(f"{source}: backup.json is not JSON", code=Code.BACKUP_INVALID) from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InvalidInput(f"{source} is not a {FORMAT} version {VERSION} archive",
                           code=Code.BACKUP_INVALID)
    return manifest


def restore(source: Path, data_dir: Path, force: bool = False) -> dict[str, Any]:
    """Restore ``source`` into ``data_dir``, which must be missing or empty unless
    ``force`` (then files from the backup replace those of the same name)."""
    if not source.is_file():
        raise NotFound(f"no backup file {source}", code=Code.BACKUP_MISSING)
    if data_dir.exists() and not data_dir.is_dir():
        raise Conflict(f"{data_dir} is not a folder", code=Code.DATA_DIR_INVALID)
    if data_dir.is_dir() and any(data_dir.iterdir()) and not force:
        raise Conflict(f"the data folder {data_dir} is not empty; restore into a new folder"
                       " or give --force to overwrite it", code=Code.DATA_DIR_NOT_EMPTY)
    try:
        tar = tarfile.open(source, mode="r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput(f"{source} is not a gzip tar archive: {exc}",
                           code=Code.BACKUP_INVALID) from exc
    with tar:
        manifest = _manifest(tar, source)
        expected = {str(e["path"]): e for e in manifest["files"]}
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # staged next to the target (same file system): files move in only once all match
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir.parent) as tmp:
            staging = Path(tmp)
            seen: set[str] = set()
            for member in tar.getmembers():
                if member.name == "backup.json":
                    continue
                rel = PurePosixPath(member.name)
                if rel.parts[:1] != ("data",) or not member.isfile():
                    raise InvalidInput(f"{source}: unexpected member {member.name}",
                                       code=Code.BACKUP_INVALID)
                name = PurePosixPath(*rel.parts[1:]).as_posix()
                if name not in expected:
                    raise InvalidInput(f"{source}: {name} is not listed in backup.json",
                                       code=Code.BACKUP_INVALID)
                tar.extract(member, staging, filter="data")
                got = staging / "data" / name
                if _sha256(got) != expected[name]["sha256"]:
                    raise InvalidInput(f"{source}: {name} does not match its hash",
                                       code=Code.BACKUP_CORRUPT)
                seen.add(name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise InvalidInput(f"{source}: missing {', '.join(missing[:5])}",
                                   code=Code.BACKUP_CORRUPT)
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for stale in SKIPPED_FILES:  # an old WAL must never be replayed on new data
                (data_dir / stale).unlink(missing_ok=True)
            for name in sorted(seen):
                target = data_dir / name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.replace(staging / "data" / name, target)
                os.chmod(target, 0o600)
    return {"restored": str(data_dir), "files": len(seen),
            "from_node": manifest.get("node_id", ""), "created_at": manifest["created_at"]}
