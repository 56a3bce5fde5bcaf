"""Recording library of Hearing Server: encoded packets in, archived files and manifests out.

Standalone: it never imports ``hearing_server`` or ``signaling``.

- :class:`~recording.segment.TrackRecorder` muxes one encoded track into segments,
- :class:`~recording.archive.HearingArchive` owns a hearing folder and its manifest,
- :func:`~recording.verify.verify_folder` checks a folder or bundle offline,
- :func:`~recording.composite.render_composite` renders the viewing copy afterwards.
"""

from recording.archive import HearingArchive, export_zip
from recording.composite import render_composite
from recording.errors import RecordingError
from recording.manifest import Manifest, ManifestEntry, MediaDetails
from recording.recovery import recover_partial
from recording.seals import SealRegistry
from recording.segment import SegmentInfo, TrackRecorder
from recording.signing import Signer, load_or_create_key, verify_signature
from recording.verify import Problem, VerificationReport, verify_folder

__all__ = [
    "HearingArchive",
    "Manifest",
    "ManifestEntry",
    "MediaDetails",
    "Problem",
    "RecordingError",
    "SealRegistry",
    "SegmentInfo",
    "Signer",
    "TrackRecorder",
    "VerificationReport",
    "export_zip",
    "load_or_create_key",
    "recover_partial",
    "render_composite",
    "verify_folder",
    "verify_signature",
]
