"""The case record of one hearing: a folder of recordings and record files, and its
signed manifest.

Layout of a hearing folder::

    manifest.json            signed, hash-chained list of everything below
    media/<track>-0001.webm  per-track recording segments (WebM, or .mkv for H.264)
    events.jsonl, attendance.json, minutes.txt, settlement.txt, ...
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from recording.errors import (
    ARCHIVE_BAD_PATH,
    ARCHIVE_BUSY,
    ARCHIVE_DUPLICATE,
    ARCHIVE_FILE_MISSING,
    ARCHIVE_SEALED,
    BAD_TRACK,
    RecordingError,
)
from recording.manifest import (
    FILE_NAME,
    SEAL_NAME,
    SEAL_TEMP_NAME,
    SOURCES,
    TEMP_NAME,
    Manifest,
    ManifestEntry,
    MediaDetails,
    check_relative_path,
)
from recording.recovery import CORRUPT_SUFFIX, WORK_SUFFIX, inspect_segment, recover_partial
from recording.seals import SealRegistry
from recording.segment import (
    PART_SUFFIX,
    Codec,
    Kind,
    SegmentInfo,
    TrackRecorder,
    error_from_os,
    sha256_file,
)
from recording.signing import Signer

log = logging.getLogger(__name__)

MEDIA_DIR: Final = "media"
# Header tags that let a segment file say whose track it is.
TAG_PARTICIPANT_ID: Final = "HEARING_PARTICIPANT_ID"
TAG_PARTICIPANT_NAME: Final = "HEARING_PARTICIPANT_NAME"
TAG_ROLE: Final = "HEARING_ROLE"
TAG_HEARING_ID: Final = "HEARING_ID"
TAG_CASE_NUMBER: Final = "HEARING_CASE_NUMBER"
TAG_SOURCE: Final = "HEARING_SOURCE"
TAG_LANGUAGE: Final = "HEARING_LANGUAGE"
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MEDIA_SUFFIXES: Final = (".webm", ".mkv")


def _slug(text: str) -> str:
    slug = _UNSAFE.sub("_", text).lstrip("._-")[:60]
    return slug or "participant"


def folder_name_for(hearing_id: str) -> str:
    """The top-level folder name :func:`export_zip` gives a hearing's bundle."""
    return _slug(hearing_id)


class HearingArchive:
    """Owns the recorders and the manifest of one hearing folder.

    Each closed segment is appended to the manifest at once (re-signed), so the
    folder verifies at any time; :meth:`recover` picks up what a crash left
    behind; :meth:`seal` closes everything at adjournment and signs the final
    manifest.
    """

    def __init__(
        self,
        folder: Path,
        hearing_id: str,
        case_number: str,
        signer: Signer,
        *,
        segment_seconds: float = 60.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = Path(folder)
        self.media_folder = self.folder / MEDIA_DIR
        self.media_folder.mkdir(parents=True, exist_ok=True)
        self.hearing_id = hearing_id
        self.case_number = case_number
        self._signer = signer
        self._segment_seconds = segment_seconds
        self._wall_clock = wall_clock
        self._recorders: dict[str, TrackRecorder] = {}
        self._sealing = False
        if (self.folder / FILE_NAME).exists():
            self.manifest = Manifest.load(self.folder, signer)
            if self.manifest.hearing_id != hearing_id:
                raise RecordingError(
                    ARCHIVE_BAD_PATH,
                    f"{self.folder} holds hearing {self.manifest.hearing_id}, not {hearing_id}",
                )
        else:
            self.manifest = Manifest.create(self.folder, hearing_id, case_number, signer)

    @property
    def sealed(self) -> bool:
        return self.manifest.sealed

    @property
    def recorders(self) -> list[TrackRecorder]:
        return list(self._recorders.values())

    def open_track(
        self,
        participant_id: str,
        participant_name: str,
        role: str,
        kind: Kind,
        codec: Codec,
        clock_rate: int,
        *,
        request_keyframe: Callable[[], None] | None = None,
        on_error: Callable[[RecordingError], None] | None = None,
        label: str | None = None,
        source: str | None = None,
        language: str | None = None,
    ) -> TrackRecorder:
        """Start recording one track of a participant (``label`` tells apart several
        tracks of one kind, e.g. ``screen``). The caller feeds it with ``write`` and
        closes it when the track ends; :meth:`seal` closes what is still open.

        ``source`` (``microphone``, ``camera`` or ``screen``) defaults from the kind
        (and a ``screen`` label); ``language`` is an optional BCP 47 tag (e.g. the
        language an interpreter speaks). Both are listed in the manifest."""
        self._check_open()
        if source is None:
            source = "microphone" if kind == "audio" else (
                "screen" if label and "screen" in label.lower() else "camera")
        if source not in SOURCES:
            raise RecordingError(BAD_TRACK, f"unknown track source {source!r}")
        if language is not None and not _LANGUAGE.fullmatch(language):
            raise RecordingError(BAD_TRACK, f"not a language tag: {language!r}")
        base = f"{_slug(participant_id)}-{kind}" + (f"-{_slug(label)}" if label else "")
        name, number = base, 1
        while name in self._recorders and not self._recorders[name].closed:
            number += 1
            name = f"{base}-{number}"
        details = {
            TAG_HEARING_ID: self.hearing_id,
            TAG_CASE_NUMBER: self.case_number,
            TAG_PARTICIPANT_ID: participant_id,
            TAG_PARTICIPANT_NAME: participant_name,
            TAG_ROLE: role,
            TAG_SOURCE: source,
        }
        if language is not None:
            details[TAG_LANGUAGE] = language

        def report(error: RecordingError) -> None:
            if on_error is not None:
                on_error(error)

        recorder = TrackRecorder(
            self.media_folder,
            name,
            kind,
            codec,
            clock_rate,
            segment_seconds=self._segment_seconds,
            on_segment_closed=lambda info: self._append_segment(info, report),
            request_keyframe=request_keyframe,
            on_error=report,
            wall_clock=self._wall_clock,
            metadata=details,
        )
        self._recorders[name] = recorder
        log.info(
            "hearing %s: recording %s track of participant %s as %s",
            self.hearing_id,
            kind,
            participant_id,
            name,
        )
        return recorder

    def recover(self) -> list[SegmentInfo]:
        """Handle what a crash left in the folder (call at startup, before recording).

        Leftover ``.part`` segments are remuxed and listed with ``recovered=True``;
        segments that were closed but not yet listed are listed too; unreadable
        leftovers (``*.part.corrupt``) are listed as plain files; temporary files are
        removed. Returns the segments added to the manifest.
        """
        self._check_open()
        if any(not recorder.closed for recorder in self._recorders.values()):
            raise RecordingError(ARCHIVE_BUSY, "recover() must run before recording starts")
        (self.folder / TEMP_NAME).unlink(missing_ok=True)
        (self.folder / SEAL_TEMP_NAME).unlink(missing_ok=True)
        for stale in self.media_folder.glob("*" + WORK_SUFFIX):
            stale.unlink()
        listed = self.manifest.paths()
        added: list[SegmentInfo] = []
        for path in sorted(self.media_folder.iterdir()):
            info: SegmentInfo | None = None
            if path.name.endswith(PART_SUFFIX):
                info = recover_partial(path)
            elif path.suffix in _MEDIA_SUFFIXES and self._relative(path) not in listed:
                info = inspect_segment(path)
            if info is not None:
                self._append_segment(info, None)
                added.append(info)
        # Unreadable leftovers stay in the record, listed, as evidence of the crash.
        for corrupt in sorted(self.media_folder.glob("*" + CORRUPT_SUFFIX)):
            if self._relative(corrupt) not in self.manifest.paths():
                self.manifest.append_file(self._relative(corrupt))
        if added:
            log.info("hearing %s: %d segment(s) recovered", self.hearing_id, len(added))
        return added

    def add_record_file(self, name: str, content: bytes | Path) -> ManifestEntry:
        """Write (bytes) or copy (path) a record file such as ``minutes.txt`` into the
        folder and list it in the manifest. Adding the same name again with the same
        content is a no-op; with other content it is ``archive.duplicate``."""
        self._check_open()
        return self._add_record_file(name, content)

    async def seal(
        self,
        record_files: Mapping[str, bytes | Path] | None = None,
        *,
        registry: SealRegistry | None = None,
    ) -> Manifest:
        """Adjourn: close every recorder, add the record files, sign the final manifest
        and write ``seal.json`` naming the final chain head; with a ``registry`` (the
        node's :class:`~recording.seals.SealRegistry`), register the seal there too.

        File work runs in a worker thread. Idempotent once sealed (a seal interrupted
        by a crash is completed).
        """
        if self.sealed:
            if not (self.folder / SEAL_NAME).exists() or registry is not None:
                await asyncio.to_thread(self._finish_seal, registry)
            return self.manifest
        self._sealing = True
        for recorder in self._recorders.values():
            recorder.close()
        files = dict(record_files or {})

        def finish() -> None:
            for name, content in files.items():
                self._add_record_file(name, content)
            self._finish_seal(registry)

        await asyncio.to_thread(finish)
        log.info("hearing %s: sealed with %d files", self.hearing_id, len(self.manifest.entries))
        return self.manifest

    # -- internals ---------------------------------------------------------------

    def _finish_seal(self, registry: SealRegistry | None) -> None:
        seal = self.manifest.seal(self._signer)
        if registry is not None and self.manifest.version >= 2:
            registry.register(seal)

    def _check_open(self) -> None:
        if self._sealing or self.sealed:
            raise RecordingError(ARCHIVE_SEALED, f"hearing {self.hearing_id} is sealed")

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def _append_segment(
        self, info: SegmentInfo, report: Callable[[RecordingError], None] | None
    ) -> None:
        tags = info.metadata
        media = MediaDetails(
            participant_id=tags.get(TAG_PARTICIPANT_ID, ""),
            participant_name=tags.get(TAG_PARTICIPANT_NAME, ""),
            role=tags.get(TAG_ROLE, ""),
            track=info.track_name,
            kind=info.kind,
            codec=info.codec,
            start=info.start,
            end=info.end,
            duration=info.duration,
            frames=info.frames,
            recovered=info.recovered,
            reason=info.reason,
            source=tags.get(TAG_SOURCE) or _default_source(info.kind),
            language=tags.get(TAG_LANGUAGE) or None,
        )
        path = f"{MEDIA_DIR}/{info.file_name}"
        try:
            self.manifest.append_file(path, sha256=info.sha256, size=info.size, media=media)
        except OSError as exc:
            # The entry is kept in memory and written with the next successful save.
            error = error_from_os(exc, f"writing the manifest after {path}")
            log.error("hearing %s: %s", self.hearing_id, error)
            if report is not None:
                report(error)

    def _add_record_file(self, name: str, content: bytes | Path) -> ManifestEntry:
        check_relative_path(name)
        if name.split("/", 1)[0] == MEDIA_DIR:
            raise RecordingError(ARCHIVE_BAD_PATH, f"{name}: media/ holds recordings only")
        listed = {entry.path: entry for entry in self.manifest.entries}.get(name)
        if listed is not None:
            if _content_hash(content) == listed.sha256:
                return listed  # the same file again (e.g. a retried seal): nothing to do
            raise RecordingError(ARCHIVE_DUPLICATE, f"{name} is already in the record")
        target = self.folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            _write_atomic(target, content)
        elif Path(content).resolve() != target.resolve():
            if not Path(content).is_file():
                raise RecordingError(ARCHIVE_FILE_MISSING, f"{content} does not exist")
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                temp = Path(handle.name)
            shutil.copyfile(content, temp)
            os.replace(temp, target)
        return self.manifest.append_file(name)


def _default_source(kind: str) -> str:
    return "microphone" if kind == "audio" else "camera"


def _content_hash(content: bytes | Path) -> str | None:
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    try:
        return sha256_file(Path(content))[1]
    except OSError:
        return None


def _write_atomic(target: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, target)


def export_zip(folder: Path, dest: Path) -> Path:
    """Bundle a hearing folder into one zip that :func:`recording.verify.verify_folder`
    accepts: the manifest and exactly the files it lists, under one top-level folder.

    ``dest`` is the zip path, or a directory to write ``<hearing id>.zip`` into.
    """
    folder = Path(folder)
    manifest = Manifest.load(folder)
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / f"{_slug(manifest.hearing_id)}.zip"
    prefix = _slug(folder.name)
    missing = [e.path for e in manifest.entries if not (folder / e.path).is_file()]
    if missing:
        raise RecordingError(ARCHIVE_FILE_MISSING, f"listed but absent: {', '.join(missing)}")
    temp = dest.with_name(dest.name + ".tmp")
    try:
        with zipfile.ZipFile(temp, "w") as bundle:
            bundle.write(folder / FILE_NAME, f"{prefix}/{FILE_NAME}", zipfile.ZIP_DEFLATED)
            if (folder / SEAL_NAME).is_file():
                bundle.write(folder / SEAL_NAME, f"{prefix}/{SEAL_NAME}", zipfile.ZIP_DEFLATED)
            for entry in manifest.entries:
                compress = zipfile.ZIP_STORED if entry.media else zipfile.ZIP_DEFLATED
                bundle.write(folder / entry.path, f"{prefix}/{entry.path}", compress)
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return dest
