"""Offline verification of a hearing folder or exported zip bundle.

``verify_folder`` needs nothing but the files: it re-hashes every listed file,
recomputes the hash chain, checks the Ed25519 signature (and, if given, that the
signing key is the trusted one) and lists every problem it finds, each with a
stable code:

==================== =========================================================
``manifest.missing``   there is no ``manifest.json``
``manifest.malformed`` the manifest cannot be read, or an entry is unusable
``file.missing``       a listed file is absent
``file.changed``       a listed file's size or SHA-256 differs from the manifest
``file.extra``         a file is present but not listed (or twice in a zip)
``chain.broken``       an entry does not follow the previous one (edited,
                       removed or reordered entries)
``signature.missing``  the manifest is not signed
``signature.invalid``  the signature does not match the manifest
``signature.untrusted`` the manifest is signed by another key than the trusted one
==================== =========================================================
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from recording.errors import RecordingError
from recording.manifest import (
    FILE_NAME,
    FORMAT,
    GENESIS,
    canonical_json,
    chain_value,
    check_relative_path,
)
from recording.signing import ALGORITHM, parse_public_key, verify_signature

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a case record: a stable ``code``, the file concerned
    (relative path, or ``None`` for the whole record) and a human explanation."""

    code: str
    path: str | None
    detail: str


@dataclass
class VerificationReport:
    """The outcome of :func:`verify_folder`; ``ok`` only when there is no problem."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    hearing_id: str | None = None
    case_number: str | None = None
    files: int = 0
    sealed: bool = False
    signed_by: str | None = None
    trusted_key_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> set[str]:
        return {problem.code for problem in self.problems}

    def add(self, code: str, path: str | None, detail: str) -> None:
        self.problems.append(Problem(code, path, detail))

    def render(self) -> str:
        """A readable report for the command line."""
        lines = [f"Case record: {self.source}"]
        if self.hearing_id is not None:
            lines.append(
                f"Hearing {self.hearing_id}, case {self.case_number}: {self.files} files, "
                + ("sealed" if self.sealed else "NOT SEALED (recording never adjourned)")
            )
        if self.signed_by is not None:
            lines.append(f"Signed with Ed25519 key {self.signed_by}")
            if not self.trusted_key_checked:
                lines.append("  (no trusted key given: compare this key with the court's key)")
        if self.ok:
            lines.append(
                "INTACT: every listed file is present and unchanged, nothing was added, "
                "the hash chain and the signature are valid."
            )
        else:
            lines.append(f"NOT INTACT: {len(self.problems)} problem(s)")
            width = max(len(problem.code) for problem in self.problems)
            for problem in self.problems:
                where = f"{problem.path}: " if problem.path else ""
                lines.append(f"  {problem.code.ljust(width)}  {where}{problem.detail}")
        return "\n".join(lines)


class _Source(Protocol):
    def names(self) -> list[str]: ...
    def read_manifest(self) -> bytes | None: ...
    def hash(self, name: str) -> tuple[int, str]: ...


class _FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        names = []
        for directory, _, files in os.walk(self.root):
            for name in files:
                names.append((Path(directory) / name).relative_to(self.root).as_posix())
        return sorted(names)

    def read_manifest(self) -> bytes | None:
        try:
            return (self.root / FILE_NAME).read_bytes()
        except FileNotFoundError:
            return None

    def hash(self, name: str) -> tuple[int, str]:
        with (self.root / name).open("rb") as handle:
            return _hash_stream(iter(lambda: handle.read(_CHUNK), b""))


class _ZipSource:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        files = [info.filename for info in archive.infolist() if not info.is_dir()]
        # The bundle holds the folder either at its root or in one top-level folder.
        self.prefix = ""
        if FILE_NAME not in files:
            tops = {PurePosixPath(name).parts[0] for name in files if "/" in name}
            if len(tops) == 1 and f"{next(iter(tops))}/{FILE_NAME}" in files:
                self.prefix = next(iter(tops)) + "/"
        self._names = [
            name[len(self.prefix) :] if name.startswith(self.prefix) else name for name in files
        ]

    def names(self) -> list[str]:
        return sorted(self._names)

    def read_manifest(self) -> bytes | None:
        try:
            return self.archive.read(self.prefix + FILE_NAME)
        except KeyError:
            return None

    def hash(self, name: str) -> tuple[int, str]:
        with self.archive.open(self.prefix + name) as handle:
            return _hash_stream(iter(lambda: handle.read(_CHUNK), b""))


def _hash_stream(chunks: Iterator[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def verify_folder(path: Path, trusted_public_key: str | None = None) -> VerificationReport:
    """Verify a hearing folder or a zip bundle made by ``export_zip``, offline.

    ``trusted_public_key`` (PEM or raw base64) is the court's key; when given, a
    manifest signed by any other key is reported as ``signature.untrusted``.
    """
    path = Path(path)
    trusted = parse_public_key(trusted_public_key) if trusted_public_key else None
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            report = VerificationReport(f"{path} (zip bundle)")
            _verify(_ZipSource(archive), report, trusted)
            return report
    report = VerificationReport(f"{path} (folder)")
    if not path.is_dir():
        report.add("manifest.missing", None, "not a hearing folder or zip bundle")
        return report
    _verify(_FolderSource(path), report, trusted)
    return report


def _verify(source: _Source, report: VerificationReport, trusted: str | None) -> None:
    raw_manifest = source.read_manifest()
    if raw_manifest is None:
        report.add("manifest.missing", FILE_NAME, "the record has no manifest")
        return
    try:
        document = json.loads(raw_manifest)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document")
        entries = document["entries"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("entries must be a list of objects")
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        report.add("manifest.malformed", FILE_NAME, f"cannot read the manifest: {exc}")
        return
    report.hearing_id = str(document.get("hearing_id"))
    report.case_number = str(document.get("case_number"))
    report.sealed = document.get("sealed_at") is not None
    report.files = len(entries)

    listed = _check_chain(entries, document.get("head"), report)
    _check_files(source, listed, report)
    _check_signature(document, report, trusted)


def _check_chain(
    entries: list[dict[str, Any]], head: object, report: VerificationReport
) -> dict[str, dict[str, Any]]:
    """Recompute the chain; return the usable entries by path."""
    listed: dict[str, dict[str, Any]] = {}
    previous = GENESIS
    for number, entry in enumerate(entries, start=1):
        path = entry.get("path")
        name = path if isinstance(path, str) else f"entry {number}"
        body = {key: value for key, value in entry.items() if key != "chain"}
        expected = chain_value(previous, body)
        stored = entry.get("chain")
        if stored != expected:
            after = f"entry {number - 1}" if number > 1 else "the start of the chain"
            report.add(
                "chain.broken",
                name,
                f"entry {number} does not follow {after}: entries were edited, removed "
                "or reordered",
            )
        previous = stored if isinstance(stored, str) else expected
        try:
            check_relative_path(str(path))
            if not isinstance(path, str) or not isinstance(entry.get("size"), int):
                raise ValueError
            if not isinstance(entry.get("sha256"), str):
                raise ValueError
        except (RecordingError, ValueError):
            report.add("manifest.malformed", name, "entry without a usable path, size or sha256")
            continue
        if path in listed:
            report.add("manifest.malformed", path, "listed twice")
            continue
        listed[path] = entry
    if head != previous:
        report.add(
            "chain.broken",
            FILE_NAME,
            "the chain head does not match the last entry: entries were removed or added",
        )
    return listed


def _check_files(
    source: _Source, listed: dict[str, dict[str, Any]], report: VerificationReport
) -> None:
    names = source.names()
    present = set(names)
    for path, entry in listed.items():
        if path not in present:
            report.add("file.missing", path, "listed in the manifest but absent")
            continue
        size, digest = source.hash(path)
        if size != entry["size"] or digest != entry["sha256"]:
            report.add(
                "file.changed",
                path,
                f"content differs from the manifest (size {size}, manifest {entry['size']}; "
                f"sha256 {digest[:16]}…, manifest {str(entry['sha256'])[:16]}…)",
            )
    seen: set[str] = set()
    for name in names:
        if name == FILE_NAME:
            continue
        if name in seen:
            report.add("file.extra", name, "present more than once in the bundle")
        elif name not in listed:
            report.add("file.extra", name, "present but not listed in the manifest")
        seen.add(name)


def _check_signature(
    document: dict[str, Any], report: VerificationReport, trusted: str | None
) -> None:
    signature = document.get("signature")
    if signature is None:
        report.add("signature.missing", FILE_NAME, "the manifest is not signed")
        return
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        report.add("signature.invalid", FILE_NAME, f"not an {ALGORITHM} signature block")
        return
    public_key, value = signature.get("public_key"), signature.get("value")
    if not isinstance(public_key, str) or not isinstance(value, str):
        report.add("signature.invalid", FILE_NAME, "signature block without key or value")
        return
    report.signed_by = public_key
    unsigned = {key: item for key, item in document.items() if key != "signature"}
    if not verify_signature(public_key, canonical_json(unsigned), value):
        report.add("signature.invalid", FILE_NAME, "the signature does not match the manifest")
    if trusted is not None:
        report.trusted_key_checked = True
        if public_key != trusted:
            report.add(
                "signature.untrusted",
                FILE_NAME,
                f"signed by key {public_key}, not by the trusted key {trusted}",
            )


def main(argv: Sequence[str] | None = None) -> int:
    """``hearing-server verify PATH [--public-key FILE]``: 0 only when intact."""
    parser = argparse.ArgumentParser(
        prog="hearing-server verify",
        description="Verify a hearing folder or exported zip bundle offline.",
    )
    parser.add_argument("path", type=Path, help="hearing folder or .zip bundle")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the court's public key (PEM or base64); other signers are reported",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    trusted = None
    if args.public_key is not None:
        try:
            trusted = parse_public_key(args.public_key.read_text())
        except (OSError, RecordingError, UnicodeDecodeError) as exc:
            print(f"cannot read the public key {args.public_key}: {exc}", file=sys.stderr)
            return 2
    report = verify_folder(args.path, trusted)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "source": report.source,
                    "hearing_id": report.hearing_id,
                    "case_number": report.case_number,
                    "sealed": report.sealed,
                    "signed_by": report.signed_by,
                    "problems": [
                        {"code": p.code, "path": p.path, "detail": p.detail}
                        for p in report.problems
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
