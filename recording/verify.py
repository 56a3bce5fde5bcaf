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
``file.symlink``       a symbolic link (to a file or a folder) is in the record
``hearing.mismatch``   the record is of another hearing than the one checked for
``case.mismatch``      the record is of another case than the one checked for
``seal.missing``       the manifest says sealed, but there is no ``seal.json``
``seal.invalid``       ``seal.json`` is unreadable, unsigned or badly signed
``seal.mismatch``      ``seal.json`` does not name this manifest (rolled back)
``seal.rollback``      the record is not the one named by a seal given from
                       outside (the node's seal registry or ``--seal``)
==================== =========================================================

Format versions 1 (sorted-key JSON) and 2 (RFC 8785, with ``seal.json``) are read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from recording.archive import folder_name_for
from recording.errors import RecordingError
from recording.manifest import (
    FILE_NAME,
    FORMAT,
    GENESIS,
    LEGACY_VERSION,
    SEAL_FORMAT,
    SEAL_NAME,
    SUPPORTED_VERSIONS,
    VERSION,
    canonical_json,
    chain_value,
    check_relative_path,
    sha256_hex,
)
from recording.seals import REGISTRY_FORMAT
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
    version: int = VERSION
    expected_hearing_id: str | None = None
    seal_head: str | None = None
    seal_checked: bool = False

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
        if self.expected_hearing_id is not None:
            lines.append(f"Checked for hearing {self.expected_hearing_id}")
        if self.seal_checked:
            lines.append("Checked against an independent seal")
        elif self.sealed:
            lines.append("  (no independent seal given: a rollback to an earlier signed "
                         "manifest is found only with the seal or on the node)")
        if self.signed_by is not None:
            lines.append(f"Signed with Ed25519 key {self.signed_by}")
            if not self.trusted_key_checked:
                lines.append("  (no trusted key given: compare this key with the court's key)")
        if self.ok:
            lines.append(
                "INTACT: every listed file is present and unchanged, nothing was added, "
                "the hash chain and the signature are valid"
                + (", and it is the record the seal names." if self.seal_checked else ".")
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
    def links(self) -> list[str]: ...
    def read(self, name: str) -> bytes | None: ...
    def hash(self, name: str) -> tuple[int, str]: ...
    def default_hearing_id(self) -> str | None: ...


class _FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._names: list[str] = []
        self._links: list[str] = []
        for directory, dirs, files in os.walk(self.root, followlinks=False):
            here = Path(directory)
            for name in list(dirs):
                if (here / name).is_symlink():  # os.walk would silently skip it
                    self._links.append((here / name).relative_to(self.root).as_posix())
                    dirs.remove(name)
            for name in files:
                relative = (here / name).relative_to(self.root).as_posix()
                if (here / name).is_symlink():
                    self._links.append(relative)
                else:
                    self._names.append(relative)

    def names(self) -> list[str]:
        return sorted(self._names)

    def links(self) -> list[str]:
        return sorted(self._links)

    def read(self, name: str) -> bytes | None:
        path = self.root / name
        if path.is_symlink():
            return None
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def hash(self, name: str) -> tuple[int, str]:
        with (self.root / name).open("rb") as handle:
            return _hash_stream(iter(lambda: handle.read(_CHUNK), b""))

    def default_hearing_id(self) -> str | None:
        return self.root.resolve().name or None


class _ZipSource:
    def __init__(self, archive: zipfile.ZipFile, path: Path) -> None:
        self.archive = archive
        self.path = path
        infos = [info for info in archive.infolist() if not info.is_dir()]
        files = [info.filename for info in infos]
        # The bundle holds the folder either at its root or in one top-level folder.
        self.prefix = ""
        if FILE_NAME not in files:
            tops = {PurePosixPath(name).parts[0] for name in files if "/" in name}
            if len(tops) == 1 and f"{next(iter(tops))}/{FILE_NAME}" in files:
                self.prefix = next(iter(tops)) + "/"
        self._names: list[str] = []
        self._links: list[str] = []
        for info in infos:
            name = info.filename
            name = name[len(self.prefix) :] if name.startswith(self.prefix) else name
            if stat.S_ISLNK(info.external_attr >> 16):
                self._links.append(name)
            else:
                self._names.append(name)

    def names(self) -> list[str]:
        return sorted(self._names)

    def links(self) -> list[str]:
        return sorted(self._links)

    def read(self, name: str) -> bytes | None:
        if name in self._links:
            return None
        try:
            return self.archive.read(self.prefix + name)
        except KeyError:
            return None

    def hash(self, name: str) -> tuple[int, str]:
        with self.archive.open(self.prefix + name) as handle:
            return _hash_stream(iter(lambda: handle.read(_CHUNK), b""))

    def default_hearing_id(self) -> str | None:
        return self.prefix.rstrip("/") or self.path.stem or None


def _hash_stream(chunks: Iterator[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def verify_folder(
    path: Path,
    trusted_public_key: str | None = None,
    *,
    expected_hearing_id: str | None = None,
    expected_case_number: str | None = None,
    seal: Mapping[str, Any] | None = None,
    infer_hearing_id: bool = False,
) -> VerificationReport:
    """Verify a hearing folder or a zip bundle made by ``export_zip``, offline.

    ``trusted_public_key`` (PEM or raw base64) is the court's key; when given, a
    manifest signed by any other key is reported as ``signature.untrusted``.
    ``expected_hearing_id`` / ``expected_case_number``: the hearing the record is
    checked for (``hearing.mismatch`` / ``case.mismatch`` otherwise); with
    ``infer_hearing_id`` the folder name (or the bundle's top-level folder) is taken
    as the expected hearing id when none is given. ``seal``: a seal (``seal.json``
    document, or a seal-registry line) obtained independently of the folder; a
    record whose manifest is not the one it names is reported (``seal.rollback``).
    """
    path = Path(path)
    trusted = parse_public_key(trusted_public_key) if trusted_public_key else None
    expected = _Expected(expected_hearing_id, expected_case_number, seal, infer_hearing_id)
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            report = VerificationReport(f"{path} (zip bundle)")
            _verify(_ZipSource(archive, path), report, trusted, expected)
            return report
    report = VerificationReport(f"{path} (folder)")
    if path.is_symlink():
        report.add("file.symlink", None, "the record folder itself is a symbolic link")
    if not path.is_dir():
        report.add("manifest.missing", None, "not a hearing folder or zip bundle")
        return report
    _verify(_FolderSource(path), report, trusted, expected)
    return report


@dataclass(frozen=True)
class _Expected:
    hearing_id: str | None
    case_number: str | None
    seal: Mapping[str, Any] | None
    infer: bool


def _verify(
    source: _Source, report: VerificationReport, trusted: str | None, expected: _Expected
) -> None:
    raw_manifest = source.read(FILE_NAME)
    if raw_manifest is None:
        if FILE_NAME in source.links():
            report.add("file.symlink", FILE_NAME, "the manifest is a symbolic link")
        report.add("manifest.missing", FILE_NAME, "the record has no manifest")
        return
    try:
        document = json.loads(raw_manifest)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document")
        version = document.get("version", LEGACY_VERSION)
        if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
            raise ValueError(f"unsupported manifest version {version!r}")
        entries = document["entries"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("entries must be a list of objects")
        canonical_json(document, version)  # e.g. integers beyond 2**53 are refused
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        report.add("manifest.malformed", FILE_NAME, f"cannot read the manifest: {exc}")
        return
    report.version = int(version)
    report.hearing_id = str(document.get("hearing_id"))
    report.case_number = str(document.get("case_number"))
    report.sealed = document.get("sealed_at") is not None
    report.files = len(entries)

    _check_binding(source, document, report, expected)
    listed = _check_chain(entries, document.get("head"), report, report.version)
    _check_files(source, listed, report)
    _check_signature(document, report, trusted)
    _check_seal(source, document, report, expected)


def _check_binding(
    source: _Source, document: dict[str, Any], report: VerificationReport, expected: _Expected
) -> None:
    want = expected.hearing_id
    how = "the hearing it is checked for"
    actual = document.get("hearing_id")
    if want is None and expected.infer:
        want = source.default_hearing_id()
        how = "the folder it is in (pass the expected hearing id to check another)"
        if isinstance(actual, str) and want == folder_name_for(actual):
            want = actual  # the folder name is the id made safe for a file name
    if want is not None:
        report.expected_hearing_id = want
        if actual != want:
            report.add(
                "hearing.mismatch",
                FILE_NAME,
                f"the record is of hearing {document.get('hearing_id')!r}, not of {want!r} "
                f"({how})",
            )
    if expected.case_number is not None and document.get("case_number") != expected.case_number:
        report.add(
            "case.mismatch",
            FILE_NAME,
            f"the record is of case {document.get('case_number')!r}, "
            f"not of {expected.case_number!r}",
        )


def _check_chain(
    entries: list[dict[str, Any]], head: object, report: VerificationReport, version: int
) -> dict[str, dict[str, Any]]:
    """Recompute the chain; return the usable entries by path."""
    listed: dict[str, dict[str, Any]] = {}
    previous = GENESIS
    for number, entry in enumerate(entries, start=1):
        path = entry.get("path")
        name = path if isinstance(path, str) else f"entry {number}"
        body = {key: value for key, value in entry.items() if key != "chain"}
        try:
            expected = chain_value(previous, body, version)
        except ValueError:
            expected = ""
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
    links = source.links()
    for link in links:
        report.add(
            "file.symlink",
            link,
            "a symbolic link in the record: records hold plain files only "
            + ("(a listed file replaced by a link)" if link in listed else "(not listed)"),
        )
    for path, entry in listed.items():
        if path in links:
            continue
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
        if name == FILE_NAME or (name == SEAL_NAME and report.version >= VERSION):
            if name in seen:
                report.add("file.extra", name, "present more than once in the bundle")
            seen.add(name)
            continue
        if name in seen:
            report.add("file.extra", name, "present more than once in the bundle")
        elif name not in listed:
            report.add("file.extra", name, "present but not listed in the manifest")
        seen.add(name)


def _signature_ok(
    document: Mapping[str, Any], version: int
) -> tuple[str | None, bool]:
    """(signing key, valid) of a document with a ``signature`` block."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return None, False
    public_key, value = signature.get("public_key"), signature.get("value")
    if not isinstance(public_key, str) or not isinstance(value, str):
        return None, False
    unsigned = {key: item for key, item in document.items() if key != "signature"}
    try:
        data = canonical_json(unsigned, version)
    except ValueError:
        return public_key, False
    return public_key, verify_signature(public_key, data, value)


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
    public_key, valid = _signature_ok(document, report.version)
    if public_key is None:
        report.add("signature.invalid", FILE_NAME, "signature block without key or value")
        return
    report.signed_by = public_key
    if not valid:
        report.add("signature.invalid", FILE_NAME, "the signature does not match the manifest")
    if trusted is not None:
        report.trusted_key_checked = True
        if public_key != trusted:
            report.add(
                "signature.untrusted",
                FILE_NAME,
                f"signed by key {public_key}, not by the trusted key {trusted}",
            )


def _manifest_digest(document: Mapping[str, Any], version: int) -> str | None:
    unsigned = {key: item for key, item in document.items() if key != "signature"}
    try:
        return sha256_hex(canonical_json(unsigned, version))
    except ValueError:
        return None


def _check_seal(
    source: _Source, document: dict[str, Any], report: VerificationReport, expected: _Expected
) -> None:
    """The seal in the record (``seal.json``), and one given from outside."""
    version = report.version
    digest = _manifest_digest(document, version)
    entries = document.get("entries")
    count = len(entries) if isinstance(entries, list) else None
    own: dict[str, Any] | None = None
    if version >= VERSION:
        raw = source.read(SEAL_NAME)
        if raw is not None:
            try:
                value = json.loads(raw)
                if not isinstance(value, dict) or value.get("format") != SEAL_FORMAT:
                    raise ValueError(f"not a {SEAL_FORMAT} document")
                own = value
            except (ValueError, UnicodeDecodeError) as exc:
                report.add("seal.invalid", SEAL_NAME, f"cannot read the seal: {exc}")
        elif report.sealed:
            report.add(
                "seal.missing",
                SEAL_NAME,
                "the manifest says it is sealed but the record has no seal",
            )
    if own is not None:
        report.seal_head = str(own.get("head"))
        public_key, valid = _signature_ok(own, version)
        if not valid:
            report.add("seal.invalid", SEAL_NAME, "the seal's signature is missing or invalid")
        elif report.signed_by is not None and public_key != report.signed_by:
            report.add("seal.invalid", SEAL_NAME, "the seal is signed by another key than "
                       "the manifest")
        mismatched = [
            name
            for name, want in (
                ("hearing_id", document.get("hearing_id")),
                ("case_number", document.get("case_number")),
                ("sealed_at", document.get("sealed_at")),
                ("entries", count),
                ("head", document.get("head")),
                ("manifest_sha256", digest),
            )
            if own.get(name) != want
        ]
        if mismatched:
            report.add(
                "seal.mismatch",
                SEAL_NAME,
                f"the seal does not name this manifest ({', '.join(mismatched)} differ): "
                "the manifest was replaced or rolled back",
            )
        if not report.sealed:
            report.add("seal.mismatch", SEAL_NAME, "a seal next to an unsealed manifest")
    outside = expected.seal
    if outside is not None:
        report.seal_checked = True
        public_key, valid = _signature_ok(outside, VERSION)
        if not valid:
            report.add("seal.invalid", None, "the seal given to check against is not validly "
                       "signed")
        elif report.signed_by is not None and public_key != report.signed_by:
            report.add("seal.invalid", None, "the seal given to check against is signed by "
                       "another key than the record")
        problems = [
            name
            for name, want in (
                ("hearing_id", document.get("hearing_id")),
                ("entries", count),
                ("head", document.get("head")),
                ("manifest_sha256", digest),
            )
            if outside.get(name) != want
        ]
        if problems or not report.sealed:
            report.add(
                "seal.rollback",
                FILE_NAME,
                f"the record is not the one that was sealed (sealed head "
                f"{str(outside.get('head'))[:16]}…, {outside.get('entries')} entries; this "
                f"manifest has head {str(document.get('head'))[:16]}…, {count} entries): "
                "rolled back, replaced or unsealed",
            )


def report_json(report: VerificationReport) -> dict[str, Any]:
    """The report as a JSON object (``--json``, and the node's verify route)."""
    return {
        "ok": report.ok,
        "source": report.source,
        "version": report.version,
        "hearing_id": report.hearing_id,
        "case_number": report.case_number,
        "expected_hearing_id": report.expected_hearing_id,
        "sealed": report.sealed,
        "seal_checked": report.seal_checked,
        "signed_by": report.signed_by,
        "problems": [
            {"code": p.code, "path": p.path, "detail": p.detail} for p in report.problems
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``hearing-server verify PATH [--public-key FILE] [--hearing-id ID] [--seal FILE]``:
    0 only when intact."""
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
    parser.add_argument(
        "--hearing-id",
        help="the hearing the record must belong to (default: the folder's name, or the "
        "bundle's top-level folder)",
    )
    parser.add_argument("--case-number", help="the case the record must belong to")
    parser.add_argument(
        "--seal",
        type=Path,
        metavar="FILE",
        help="the record's seal.json (or seal-registry line) kept apart from the record: "
        "detects a rollback to an earlier signed manifest",
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
    seal = None
    if args.seal is not None:
        try:
            seal = json.loads(args.seal.read_bytes())
            if not isinstance(seal, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            print(f"cannot read the seal {args.seal}: {exc}", file=sys.stderr)
            return 2
        if seal.get("format") not in (SEAL_FORMAT, REGISTRY_FORMAT):
            print(f"{args.seal} is neither a seal.json nor a seal-registry line",
                  file=sys.stderr)
            return 2
        public_key, valid = _signature_ok(seal, VERSION)
        if not valid or (trusted is not None and public_key != trusted):
            print(f"the seal {args.seal} is not validly signed"
                  + (" by the trusted key" if trusted else ""), file=sys.stderr)
            return 2
    report = verify_folder(
        args.path,
        trusted,
        expected_hearing_id=args.hearing_id,
        expected_case_number=args.case_number,
        seal=seal,
        infer_hearing_id=True,
    )
    if args.json:
        print(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
