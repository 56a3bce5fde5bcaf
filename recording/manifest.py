"""The manifest of a hearing folder: every file of the case record, hashed and chained.

``manifest.json`` lists the files in the order they were closed. Each entry holds
the file's relative path, SHA-256 and size (plus, for recordings, who and what was
recorded and when) and a ``chain`` value::

    chain[i] = sha256(chain[i-1] + canonical_json(entry[i] without "chain"))
    chain[-1] = GENESIS

so that editing, removing or reordering an entry breaks every later link. The
manifest is signed (Ed25519) over the canonical JSON of everything except the
``signature`` block; it is re-signed after every append while recording, and
sealed at adjournment, when a separately signed ``seal.json`` names the final
chain head (see ``docs/record-format.md`` for the exact format).

Canonical JSON (format version 2) is RFC 8785 (JCS), via the ``rfc8785`` library.
Version 1 manifests, written before, used ``json.dumps(value, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``; they still load and verify. Times are
epoch seconds rounded to the millisecond.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

import rfc8785

from recording.errors import (
    ARCHIVE_BAD_PATH,
    ARCHIVE_DUPLICATE,
    ARCHIVE_FILE_MISSING,
    ARCHIVE_NOT_FOUND,
    ARCHIVE_SEALED,
    MANIFEST_MALFORMED,
    RecordingError,
)
from recording.segment import sha256_file
from recording.signing import ALGORITHM, Signer

FILE_NAME: Final = "manifest.json"
TEMP_NAME: Final = "manifest.json.tmp"
SEAL_NAME: Final = "seal.json"
SEAL_TEMP_NAME: Final = "seal.json.tmp"
RESERVED_NAMES: Final = frozenset({FILE_NAME, TEMP_NAME, SEAL_NAME, SEAL_TEMP_NAME})
FORMAT: Final = "hearing-server/manifest"
SEAL_FORMAT: Final = "hearing-server/seal"
VERSION: Final = 2
LEGACY_VERSION: Final = 1
SUPPORTED_VERSIONS: Final = frozenset({LEGACY_VERSION, VERSION})
GENESIS: Final = "0" * 64
SOURCES: Final = frozenset({"microphone", "camera", "screen", "interpretation"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


def canonical_json(value: object, version: int = VERSION) -> bytes:
    """The byte string that is hashed and signed for a JSON value.

    Version 2: RFC 8785 (JCS). Version 1 (legacy): sorted-key compact ``json.dumps``.
    """
    if version == LEGACY_VERSION:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonicalisable as RFC 8785 JSON: {exc}") from exc


def chain_value(previous: str, body: Mapping[str, Any], version: int = VERSION) -> str:
    """The chain link of an entry whose JSON (without ``chain``) is ``body``."""
    return hashlib.sha256(
        previous.encode("ascii") + canonical_json(dict(body), version)
    ).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside a hearing folder.

    Raises :class:`RecordingError` (``archive.bad_path``) otherwise.
    """
    pure = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or pure.is_absolute()
        or pure.as_posix() != path
        or any(part in ("", ".", "..") for part in pure.parts)
        or path in RESERVED_NAMES
    ):
        raise RecordingError(ARCHIVE_BAD_PATH, f"not a safe relative path: {path!r}")
    return path


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class MediaDetails:
    """What a recording file holds: whose track, which codec, and when."""

    participant_id: str
    participant_name: str
    role: str
    track: str
    kind: str
    codec: str
    start: float
    end: float
    duration: float
    frames: int
    recovered: bool
    reason: str
    source: str | None = None  # microphone | camera | screen (format 2)
    language: str | None = None  # BCP 47 tag of what is spoken, when known

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.source is not None:
            extra["source"] = self.source
        if self.language is not None:
            extra["language"] = self.language
        return {
            "participant_id": self.participant_id,
            "participant_name": self.participant_name,
            "role": self.role,
            "track": self.track,
            "kind": self.kind,
            "codec": self.codec,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "duration": round(self.duration, 3),
            "frames": self.frames,
            "recovered": self.recovered,
            "reason": self.reason,
            **extra,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MediaDetails:
        return cls(
            participant_id=str(raw["participant_id"]),
            participant_name=str(raw["participant_name"]),
            role=str(raw["role"]),
            track=str(raw["track"]),
            kind=str(raw["kind"]),
            codec=str(raw["codec"]),
            start=float(raw["start"]),
            end=float(raw["end"]),
            duration=float(raw["duration"]),
            frames=int(raw["frames"]),
            recovered=bool(raw["recovered"]),
            reason=str(raw["reason"]),
            source=str(raw["source"]) if raw.get("source") is not None else None,
            language=str(raw["language"]) if raw.get("language") is not None else None,
        )


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the case record, as listed in the manifest."""

    path: str
    sha256: str
    size: int
    chain: str
    media: MediaDetails | None = None

    def body(self) -> dict[str, Any]:
        """The entry's JSON without its ``chain`` value (what the chain hashes)."""
        body: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "size": self.size}
        if self.media is not None:
            body["media"] = self.media.to_json()
        return body

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "chain": self.chain}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ManifestEntry:
        path, digest, size, chain = raw["path"], raw["sha256"], raw["size"], raw["chain"]
        if not isinstance(path, str) or not isinstance(chain, str):
            raise TypeError("path and chain must be strings")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(f"bad sha256 for {path!r}")
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"bad size for {path!r}")
        media = raw.get("media")
        return cls(
            path=check_relative_path(path),
            sha256=digest,
            size=size,
            chain=chain,
            media=MediaDetails.from_json(media) if media is not None else None,
        )


class Manifest:
    """The append-only manifest of one hearing folder.

    Every :meth:`append_file` rewrites ``manifest.json`` atomically (temporary file,
    fsync, rename) and, when a signer is set, re-signs it: a crash at any time leaves
    a valid, signed manifest of the files closed so far. :meth:`seal` marks the
    manifest final; nothing can be appended afterwards.
    """

    def __init__(
        self,
        folder: Path,
        hearing_id: str,
        case_number: str,
        *,
        signer: Signer | None = None,
        created_at: str | None = None,
        sealed_at: str | None = None,
        entries: Iterable[ManifestEntry] = (),
        version: int = VERSION,
    ) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported manifest version {version!r}")
        self.version = version
        self.folder = Path(folder)
        self.hearing_id = hearing_id
        self.case_number = case_number
        self.created_at = created_at or _now_iso()
        self.sealed_at = sealed_at
        self.signer = signer
        self._entries = list(entries)
        self._signature: dict[str, str] | None = None

    @classmethod
    def create(
        cls, folder: Path, hearing_id: str, case_number: str, signer: Signer | None = None
    ) -> Manifest:
        """A new, empty manifest, written to ``folder/manifest.json`` at once."""
        manifest = cls(folder, hearing_id, case_number, signer=signer)
        manifest.save()
        return manifest

    @classmethod
    def load(cls, folder: Path, signer: Signer | None = None) -> Manifest:
        """Read ``folder/manifest.json`` (``archive.not_found`` or ``manifest.malformed``)."""
        path = Path(folder) / FILE_NAME
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise RecordingError(ARCHIVE_NOT_FOUND, f"no manifest in {folder}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecordingError(MANIFEST_MALFORMED, f"{path}: {exc}") from exc
        try:
            if raw.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            version = raw.get("version", LEGACY_VERSION)
            if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
                raise ValueError(f"unsupported manifest version {version!r}")
            manifest = cls(
                Path(folder),
                str(raw["hearing_id"]),
                str(raw["case_number"]),
                signer=signer,
                created_at=str(raw["created_at"]),
                sealed_at=raw.get("sealed_at"),
                entries=[ManifestEntry.from_json(entry) for entry in raw["entries"]],
                version=int(version),
            )
        except (KeyError, TypeError, ValueError, AttributeError, RecordingError) as exc:
            raise RecordingError(MANIFEST_MALFORMED, f"{path}: {exc}") from exc
        manifest._signature = raw.get("signature")
        return manifest

    @property
    def entries(self) -> list[ManifestEntry]:
        return list(self._entries)

    @property
    def head(self) -> str:
        """The chain value of the last entry (``GENESIS`` when empty)."""
        return self._entries[-1].chain if self._entries else GENESIS

    @property
    def sealed(self) -> bool:
        return self.sealed_at is not None

    def paths(self) -> set[str]:
        return {entry.path for entry in self._entries}

    def append_file(
        self,
        path: str,
        *,
        sha256: str | None = None,
        size: int | None = None,
        media: MediaDetails | None = None,
    ) -> ManifestEntry:
        """List the file ``folder/path`` (hashing it unless ``sha256`` and ``size`` are
        given), then save the manifest."""
        if self.sealed:
            raise RecordingError(ARCHIVE_SEALED, f"hearing {self.hearing_id} is sealed")
        check_relative_path(path)
        if path in self.paths():
            raise RecordingError(ARCHIVE_DUPLICATE, f"{path} is already listed")
        if sha256 is None or size is None:
            try:
                size, sha256 = sha256_file(self.folder / path)
            except FileNotFoundError as exc:
                raise RecordingError(ARCHIVE_FILE_MISSING, f"{path} does not exist") from exc
        body = ManifestEntry(path, sha256, size, "", media).body()
        entry = ManifestEntry(
            path, sha256, size, chain_value(self.head, body, self.version), media
        )
        self._entries.append(entry)
        self._signature = None  # stale: re-signed by save() when a signer is set
        self.save()
        return entry

    def seal(self, signer: Signer | None = None) -> dict[str, Any]:
        """Mark the manifest final, sign it and write the signed ``seal.json`` naming
        the final chain head. Idempotent; returns the seal document.

        Order: the sealed manifest is saved first, then the seal, so a crash in between
        leaves a sealed manifest without seal (``seal.missing``), and calling
        :meth:`seal` again completes it.
        """
        if signer is not None:
            self.signer = signer
        if self.signer is None:
            raise ValueError("sealing needs a signer")
        if not self.sealed:
            self.sealed_at = _now_iso()
        self.save()
        seal = self.seal_json()
        if self.version >= VERSION:
            _write_atomic(self.folder / SEAL_NAME, self.folder / SEAL_TEMP_NAME,
                          json.dumps(seal, indent=2, ensure_ascii=False).encode("utf-8"))
        return seal

    def manifest_digest(self) -> str:
        """SHA-256 (hex) of the canonical unsigned manifest: what a seal names."""
        return sha256_hex(canonical_json(self.unsigned_json(), self.version))

    def seal_json(self) -> dict[str, Any]:
        """The signed seal of a sealed manifest (see ``docs/record-format.md``)."""
        if self.sealed_at is None or self.signer is None:
            raise ValueError("only a sealed, signed manifest has a seal")
        document: dict[str, Any] = {
            "format": SEAL_FORMAT,
            "version": self.version,
            "hearing_id": self.hearing_id,
            "case_number": self.case_number,
            "sealed_at": self.sealed_at,
            "entries": len(self._entries),
            "head": self.head,
            "manifest_sha256": self.manifest_digest(),
        }
        document["signature"] = {
            "algorithm": ALGORITHM,
            "public_key": self.signer.public_key_b64,
            "value": self.signer.sign(canonical_json(document, self.version)),
        }
        return document

    def unsigned_json(self) -> dict[str, Any]:
        """The manifest as JSON, without the signature block."""
        return {
            "format": FORMAT,
            "version": self.version,
            "hearing_id": self.hearing_id,
            "case_number": self.case_number,
            "created_at": self.created_at,
            "sealed_at": self.sealed_at,
            "entries": [entry.to_json() for entry in self._entries],
            "head": self.head,
        }

    def to_json(self) -> dict[str, Any]:
        document = self.unsigned_json()
        if self.signer is not None:
            self._signature = {
                "algorithm": ALGORITHM,
                "public_key": self.signer.public_key_b64,
                "value": self.signer.sign(canonical_json(document, self.version)),
            }
        if self._signature is not None:
            document["signature"] = self._signature
        return document

    def save(self) -> None:
        """Write ``manifest.json`` atomically (signed when a signer is set)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_json(), indent=2, ensure_ascii=False).encode("utf-8")
        _write_atomic(self.folder / FILE_NAME, self.folder / TEMP_NAME, data)


def _write_atomic(target: Path, temp: Path, data: bytes) -> None:
    with temp.open("wb") as handle:
        handle.write(data + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    try:  # make the rename itself durable
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
