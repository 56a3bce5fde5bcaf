"""Writes the record-format test vectors in this folder (run once; the output is
committed). ``python tests/recording/vectors/make_vectors.py``

- ``test-key.pem`` / ``test-key.pub``: a fixed Ed25519 key (seed = SHA-256 of
  ``hearing-server record-format test vector``). Never use it for anything else.
- ``H-VECTOR/``: a sealed record (format 2): two short Opus segments of one
  interpreter track, ``events.jsonl``, ``minutes.txt``, ``manifest.json``, ``seal.json``.
- ``earlier-manifest.json``: the validly signed manifest as it was after the first
  segment (what a rollback would put back).
- ``manifest.canonical.json`` / ``seal.canonical.json``: the exact RFC 8785 bytes
  that were signed (to test a JCS implementation against).
- ``registry-line.json``: the node's seal-registry line for the record.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from recording.archive import HearingArchive  # noqa: E402
from recording.manifest import canonical_json  # noqa: E402
from recording.seals import SealRegistry  # noqa: E402
from recording.signing import Signer  # noqa: E402
from tests.recording.conftest import START, FakeClock  # noqa: E402
from tests.recording.media import AUDIO_CLOCK, opus_frames  # noqa: E402

HEARING_ID = "H-VECTOR"
CASE_NUMBER = "2026-TV-1"
SEED = hashlib.sha256(b"hearing-server record-format test vector").digest()


def test_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def main() -> None:
    key = test_key()
    signer = Signer(key)
    (HERE / "test-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (HERE / "test-key.pub").write_text(signer.public_key_pem())
    folder = HERE / HEARING_ID
    shutil.rmtree(folder, ignore_errors=True)
    clock = FakeClock()
    archive = HearingArchive(folder, HEARING_ID, CASE_NUMBER, signer, segment_seconds=0.5,
                             wall_clock=clock)
    track = archive.open_track("interp-1", "Inès Interprète", "interpreter", "audio", "opus",
                               AUDIO_CLOCK, language="fr")
    earlier: bytes | None = None
    for frame in opus_frames(40):  # 0.8 s: two segments
        clock.now = START + frame.timestamp / AUDIO_CLOCK
        track.write(frame.data, frame.timestamp, frame.keyframe)
        if earlier is None and archive.manifest.entries:
            earlier = (folder / "manifest.json").read_bytes()
    assert earlier is not None
    (HERE / "earlier-manifest.json").write_bytes(earlier)
    registry_path = HERE / "registry.jsonl"
    registry_path.unlink(missing_ok=True)
    registry = SealRegistry(registry_path, signer)
    asyncio.run(archive.seal({
        "events.jsonl": b'{"at":"2026-12-01T10:00:00.000+00:00","type":"admitted"}\n',
        "minutes.txt": "Audience ouverte à 10 h. Hearing opened.\n".encode(),
    }, registry=registry))
    manifest = json.loads((folder / "manifest.json").read_bytes())
    seal = json.loads((folder / "seal.json").read_bytes())
    (HERE / "manifest.canonical.json").write_bytes(
        canonical_json({k: v for k, v in manifest.items() if k != "signature"}))
    (HERE / "seal.canonical.json").write_bytes(
        canonical_json({k: v for k, v in seal.items() if k != "signature"}))
    line = registry.lookup(HEARING_ID)
    (HERE / "registry-line.json").write_text(json.dumps(line, indent=2, ensure_ascii=False))
    registry_path.unlink()
    print(f"wrote {folder} ({len(manifest['entries'])} entries)")


if __name__ == "__main__":
    main()
