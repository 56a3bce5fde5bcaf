from __future__ import annotations

import json
from pathlib import Path

import pytest

from recording.errors import RecordingError
from recording.manifest import (
    GENESIS,
    Manifest,
    MediaDetails,
    canonical_json,
    chain_value,
)
from recording.signing import Signer, verify_signature

MEDIA = MediaDetails(
    participant_id="p1",
    participant_name="Ann Lee",
    role="party",
    track="p1-audio",
    kind="audio",
    codec="opus",
    start=1_700_000_000.0,
    end=1_700_000_060.0,
    duration=60.0,
    frames=3000,
    recovered=False,
    reason="duration",
)


def test_each_entry_is_chained_to_the_previous_one(tmp_path: Path, signer: Signer) -> None:
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "b.txt").write_text("second")
    manifest = Manifest.create(tmp_path, "H-1", "2024-CV-7", signer)
    first = manifest.append_file("a.txt")
    second = manifest.append_file("b.txt", sha256="ab" * 32, size=3, media=MEDIA)

    assert first.chain == chain_value(GENESIS, {"path": "a.txt", "sha256": first.sha256, "size": 5})
    assert second.chain == chain_value(first.chain, second.body())
    assert manifest.head == second.chain


def test_manifest_is_saved_signed_after_every_append_and_reloads(
    tmp_path: Path, signer: Signer
) -> None:
    (tmp_path / "a.txt").write_text("first")
    manifest = Manifest.create(tmp_path, "H-1", "2024-CV-7", signer)
    manifest.append_file("a.txt")

    document = json.loads((tmp_path / "manifest.json").read_text())
    signature = document.pop("signature")
    assert signature["algorithm"] == "Ed25519"
    assert signature["public_key"] == signer.public_key_b64
    assert verify_signature(signer.public_key_b64, canonical_json(document), signature["value"])
    assert document["sealed_at"] is None
    reloaded = Manifest.load(tmp_path)
    assert reloaded.entries == manifest.entries
    assert (reloaded.hearing_id, reloaded.case_number) == ("H-1", "2024-CV-7")
    assert not (tmp_path / "manifest.json.tmp").exists()


def test_sealed_manifest_refuses_appends(tmp_path: Path, signer: Signer) -> None:
    (tmp_path / "a.txt").write_text("first")
    manifest = Manifest.create(tmp_path, "H-1", "2024-CV-7", signer)
    manifest.seal(signer)
    assert Manifest.load(tmp_path).sealed
    with pytest.raises(RecordingError) as caught:
        manifest.append_file("a.txt")
    assert caught.value.code == "archive.sealed"


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b", "manifest.json", ""]
)
def test_paths_outside_the_folder_are_refused(tmp_path: Path, path: str) -> None:
    manifest = Manifest.create(tmp_path, "H-1", "2024-CV-7")
    with pytest.raises(RecordingError) as caught:
        manifest.append_file(path, sha256="00" * 32, size=0)
    assert caught.value.code == "archive.bad_path"


def test_same_file_cannot_be_listed_twice(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first")
    manifest = Manifest.create(tmp_path, "H-1", "2024-CV-7")
    manifest.append_file("a.txt")
    with pytest.raises(RecordingError) as caught:
        manifest.append_file("a.txt")
    assert caught.value.code == "archive.duplicate"


def test_loading_a_missing_or_broken_manifest_says_which(tmp_path: Path) -> None:
    with pytest.raises(RecordingError) as missing:
        Manifest.load(tmp_path)
    assert missing.value.code == "archive.not_found"
    (tmp_path / "manifest.json").write_text('{"format": "hearing-server/manifest"}')
    with pytest.raises(RecordingError) as broken:
        Manifest.load(tmp_path)
    assert broken.value.code == "manifest.malformed"
