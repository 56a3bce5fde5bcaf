"""The one exception type of the recording library, with stable string codes."""

from __future__ import annotations

from typing import Final

DISK_FULL: Final = "recording.disk_full"
WRITE_FAILED: Final = "recording.write_failed"
BAD_TRACK: Final = "recording.bad_track"
ARCHIVE_NOT_FOUND: Final = "archive.not_found"
ARCHIVE_BAD_PATH: Final = "archive.bad_path"
ARCHIVE_SEALED: Final = "archive.sealed"
ARCHIVE_DUPLICATE: Final = "archive.duplicate"
ARCHIVE_FILE_MISSING: Final = "archive.file_missing"
ARCHIVE_BUSY: Final = "archive.busy"
MANIFEST_MALFORMED: Final = "manifest.malformed"
KEY_INVALID: Final = "signing.key_invalid"
COMPOSITE_FAILED: Final = "composite.failed"
COMPOSITE_EMPTY: Final = "composite.empty"


class RecordingError(Exception):
    """An error of the recording library.

    ``code`` is a stable, documented string (for example ``recording.disk_full``)
    that callers translate into their own error bodies; the message is for humans.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.args[0]}"
