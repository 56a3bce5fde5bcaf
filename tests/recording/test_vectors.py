"""The checked-in test-vector bundle (``tests/recording/vectors``, made once by
``make_vectors.py`` with a fixed test key) verifies, and every tampered variant made
here is rejected — the cases a third-party verifier must get right too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recording.manifest import canonical_json
from recording.signing import verify_signature
from recording.verify import VerificationReport, main, verify_folder

VECTORS = Path(__file__).resolve().parent / "vectors"
BUNDLE = VECTORS / "H-VECTOR"
PUBLIC_KEY = (VECTORS / "test-key.pub").read_text()
SEGMENT = "media/interp-1-audio-0001.webm"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "H-VECTOR"
    shutil.copytree(BUNDLE, target)
    return target


def check(folder: Path, **kwargs: object) -> VerificationReport:
    seal = json.loads((VECTORS / "registry-line.json").read_text())
    return verify_folder(folder, PUBLIC_KEY, expected_hearing_id="H-VECTOR", seal=seal,
                         **kwargs)  # type: ignore[arg-type]


def manifest_of(folder: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((folder / "manifest.json").read_bytes())
    return document


def test_the_vector_bundle_verifies_with_its_key_seal_and_hearing() -> None:
    report = check(BUNDLE)
    assert report.ok, report.render()
    assert (report.version, report.sealed, report.seal_checked) == (2, True, True)
    assert main([str(BUNDLE), "--public-key", str(VECTORS / "test-key.pub"),
                 "--seal", str(VECTORS / "H-VECTOR" / "seal.json")]) == 0


def test_the_signed_bytes_are_the_rfc8785_form_given_in_the_vectors() -> None:
    manifest = manifest_of(BUNDLE)
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    signed = (VECTORS / "manifest.canonical.json").read_bytes()
    assert canonical_json(unsigned) == signed
    assert b'"start":1700000000,' in signed  # JCS writes 1700000000.0 as 1700000000
    signature = manifest["signature"]
    assert isinstance(signature, dict)
    assert verify_signature(signature["public_key"], signed, signature["value"])
    seal = json.loads((BUNDLE / "seal.json").read_bytes())
    assert canonical_json({k: v for k, v in seal.items() if k != "signature"}) == (
        VECTORS / "seal.canonical.json").read_bytes()


def test_number_spelling_does_not_matter_under_rfc8785(copy: Path) -> None:
    text = (copy / "manifest.json").read_text().replace('"start": 1700000000.0',
                                                        '"start": 1.7e9')
    (copy / "manifest.json").write_text(text)
    assert check(copy).ok


def test_a_changed_byte_is_rejected(copy: Path) -> None:
    data = bytearray((copy / SEGMENT).read_bytes())
    data[100] ^= 0x01
    (copy / SEGMENT).write_bytes(bytes(data))
    assert check(copy).codes == {"file.changed"}


def test_a_missing_file_is_rejected(copy: Path) -> None:
    (copy / "minutes.txt").unlink()
    assert check(copy).codes == {"file.missing"}


def test_an_added_file_and_a_symlinked_folder_are_rejected(copy: Path, tmp_path: Path) -> None:
    (copy / "media" / "extra.webm").write_bytes(b"planted")
    (tmp_path / "outside").mkdir()
    (copy / "more").symlink_to(tmp_path / "outside")
    assert [(p.code, p.path) for p in check(copy).problems] == [
        ("file.symlink", "more"), ("file.extra", "media/extra.webm")]


def test_reordered_entries_are_rejected(copy: Path) -> None:
    manifest = manifest_of(copy)
    entries = manifest["entries"]
    assert isinstance(entries, list)
    entries[0], entries[1] = entries[1], entries[0]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert {"chain.broken", "signature.invalid", "seal.mismatch", "seal.rollback"} == (
        check(copy).codes)


def test_a_rollback_to_the_earlier_signed_manifest_is_rejected(copy: Path) -> None:
    earlier = (VECTORS / "earlier-manifest.json").read_bytes()
    listed = {entry["path"] for entry in json.loads(earlier)["entries"]}
    (copy / "manifest.json").write_bytes(earlier)
    (copy / "seal.json").unlink()
    for path in [p for p in copy.rglob("*") if p.is_file()]:
        if path.name != "manifest.json" and path.relative_to(copy).as_posix() not in listed:
            path.unlink()
    assert verify_folder(copy, PUBLIC_KEY).ok  # without the seal: "not sealed", no more
    assert check(copy).codes == {"seal.rollback"}


def test_the_bundle_under_another_hearing_id_is_rejected(tmp_path: Path) -> None:
    moved = tmp_path / "H-OTHER"
    shutil.copytree(BUNDLE, moved)
    assert verify_folder(moved, PUBLIC_KEY, expected_hearing_id="H-OTHER").codes == {
        "hearing.mismatch"}
    assert main([str(moved)]) == 1


def test_another_signer_is_rejected(copy: Path) -> None:
    from recording.signing import Signer

    assert verify_folder(copy, Signer.generate().public_key_b64).codes == {
        "signature.untrusted"}


def test_a_forged_or_foreign_seal_file_is_refused_by_the_command_line(tmp_path: Path) -> None:
    seal = json.loads((VECTORS / "registry-line.json").read_text())
    seal["head"] = "0" * 64
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(seal))
    assert main([str(BUNDLE), "--seal", str(forged)]) == 2
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"head": "0" * 64}))
    assert main([str(BUNDLE), "--seal", str(other)]) == 2
    assert main([str(BUNDLE), "--seal", str(VECTORS / "registry-line.json"),
                 "--public-key", str(VECTORS / "test-key.pub")]) == 0
