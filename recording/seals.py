"""The node's seal registry: an append-only, hash-chained, signed list of sealed records.

A record folder alone cannot prove it is the *final* state of a hearing: an earlier
manifest, signed while recording, is just as valid a signature as the last one. The
registry, kept outside the record folders (in the node's data folder), remembers for
every sealed hearing the final chain head, entry count and manifest digest, so the
node notices a record rolled back to an earlier signed manifest, or a seal replaced.

Each line is one JSON object (see ``docs/record-format.md``)::

    {"format": "hearing-server/seal-registry", "seq": 1, "prev": "<sha256>",
     "hearing_id": ..., "case_number": ..., "sealed_at": ..., "entries": ...,
     "head": ..., "manifest_sha256": ..., "registered_at": ...,
     "signature": {"algorithm": "Ed25519", "public_key": ..., "value": ...}}

``prev`` is the SHA-256 of the RFC 8785 form of the previous line (``GENESIS`` for the
first); the signature covers the RFC 8785 form of the line without ``signature``.
Writers take an exclusive ``flock`` on the file, so several processes append safely.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

from recording.errors import ARCHIVE_SEALED, RecordingError
from recording.manifest import GENESIS, canonical_json, sha256_hex
from recording.signing import ALGORITHM, Signer, verify_signature

REGISTRY_FORMAT: Final = "hearing-server/seal-registry"
_FIELDS: Final = ("hearing_id", "case_number", "sealed_at", "entries", "head", "manifest_sha256")


class SealRegistry:
    """The append-only registry of sealed hearings at ``path`` (e.g. ``data/seals.jsonl``)."""

    def __init__(self, path: Path, signer: Signer | None = None) -> None:
        self.path = Path(path)
        self.signer = signer

    # -- reading ------------------------------------------------------------------

    def lines(self) -> list[dict[str, Any]]:
        """Every complete line (a torn last line after a crash is left out)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return _parse(data)[0]

    def lookup(self, hearing_id: str) -> dict[str, Any] | None:
        """The registered seal of ``hearing_id``, or ``None``."""
        found = None
        for line in self.lines():
            if line.get("hearing_id") == hearing_id:
                found = line
        return found

    def verify(self, public_key_b64: str | None = None) -> list[str]:
        """Problems with the registry itself (broken chain, bad or foreign signatures)."""
        problems: list[str] = []
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return problems
        lines, torn = _parse(data)
        if torn:
            problems.append("the last line is torn (incomplete write)")
        expected_key = public_key_b64 or (self.signer.public_key_b64 if self.signer else None)
        previous = GENESIS
        for number, line in enumerate(lines, start=1):
            if line.get("prev") != previous or line.get("seq") != number:
                problems.append(f"line {number}: does not follow line {number - 1}")
            signature = line.get("signature")
            unsigned = {k: v for k, v in line.items() if k != "signature"}
            if not isinstance(signature, dict) or not verify_signature(
                str(signature.get("public_key")), canonical_json(unsigned),
                str(signature.get("value")),
            ):
                problems.append(f"line {number}: bad signature")
            elif expected_key is not None and signature.get("public_key") != expected_key:
                problems.append(f"line {number}: signed by another key")
            previous = sha256_hex(canonical_json(line))
        return problems

    # -- writing ------------------------------------------------------------------

    def register(self, seal: Mapping[str, Any]) -> dict[str, Any]:
        """Append the seal of one hearing (idempotent for the same seal).

        Raises ``archive.sealed`` when the hearing is registered with another head:
        sealing is final.
        """
        if self.signer is None:
            raise ValueError("registering a seal needs the node's signer")
        record = {name: seal[name] for name in _FIELDS}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locked(self.path) as handle:
            handle.seek(0)
            data = handle.read()
            lines, torn = _parse(data)
            if torn:
                good = data.rfind(b"\n") + 1
                _keep_torn(self.path, data[good:])
                handle.truncate(good)
            for old in lines:
                if old.get("hearing_id") != record["hearing_id"]:
                    continue
                if all(old.get(name) == record[name] for name in _FIELDS):
                    return old
                raise RecordingError(
                    ARCHIVE_SEALED,
                    f"hearing {record['hearing_id']} was sealed before with head "
                    f"{old.get('head')}; sealing is final",
                )
            previous = sha256_hex(canonical_json(lines[-1])) if lines else GENESIS
            line: dict[str, Any] = {
                "format": REGISTRY_FORMAT,
                "seq": len(lines) + 1,
                "prev": previous,
                **record,
                "registered_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            }
            line["signature"] = {
                "algorithm": ALGORITHM,
                "public_key": self.signer.public_key_b64,
                "value": self.signer.sign(canonical_json(line)),
            }
            handle.seek(0, os.SEEK_END)
            handle.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
            return line


def _parse(data: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The complete JSON lines of ``data``, and whether a torn tail followed them."""
    lines: list[dict[str, Any]] = []
    body, _, tail = data.rpartition(b"\n")
    torn = bool(tail.strip())
    for raw in body.split(b"\n") if body else []:
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            value = {"unreadable": raw.decode("utf-8", "replace")}
        lines.append(value if isinstance(value, dict) else {"unreadable": str(value)})
    return lines, torn


def _keep_torn(path: Path, tail: bytes) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path.with_name(f"{path.name}.torn-{stamp}").write_bytes(tail)


@contextmanager
def locked(path: Path) -> Iterator[IO[bytes]]:
    """The append-only file at ``path``, opened (0600) under an exclusive ``flock``: one
    writer at a time across processes (the node and the command line)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
