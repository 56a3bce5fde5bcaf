from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from recording.archive import export_zip
from recording.manifest import canonical_json, chain_value
from recording.signing import Signer
from recording.verify import main, verify_folder
from tests.recording.hearing import sealed_hearing

SEGMENT = "media/judge-1-video-0001.webm"


@pytest.fixture
def folder(tmp_path: Path, signer: Signer) -> Path:
    return sealed_hearing(tmp_path / "H-1", signer)


def read_manifest(folder: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((folder / "manifest.json").read_text())
    return document


def write_manifest(folder: Path, document: dict[str, object]) -> None:
    (folder / "manifest.json").write_text(json.dumps(document, indent=2))


def resign(document: dict[str, object], signer: Signer) -> None:
    """What a forger with their own key would do after editing the entries."""
    entries = document["entries"]
    assert isinstance(entries, list)
    previous = "0" * 64
    for entry in entries:
        body = {k: v for k, v in entry.items() if k != "chain"}
        entry["chain"] = previous = chain_value(previous, body)
    document["head"] = previous
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    document["signature"] = {
        "algorithm": "Ed25519",
        "public_key": signer.public_key_b64,
        "value": signer.sign(canonical_json(unsigned)),
    }


def reseal(folder: Path, document: dict[str, object], signer: Signer) -> None:
    """A forger's seal.json naming the forged manifest."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    entries = document["entries"]
    assert isinstance(entries, list)
    seal: dict[str, object] = {
        "format": "hearing-server/seal", "version": 2,
        "hearing_id": document["hearing_id"], "case_number": document["case_number"],
        "sealed_at": document["sealed_at"], "entries": len(entries),
        "head": document["head"],
        "manifest_sha256": hashlib.sha256(canonical_json(unsigned)).hexdigest(),
    }
    seal["signature"] = {"algorithm": "Ed25519", "public_key": signer.public_key_b64,
                         "value": signer.sign(canonical_json(seal))}
    (folder / "seal.json").write_text(json.dumps(seal))


def test_intact_sealed_folder_verifies(folder: Path, signer: Signer) -> None:
    report = verify_folder(folder, trusted_public_key=signer.public_key_pem())
    assert report.ok, report.render()
    assert report.sealed and report.signed_by == signer.public_key_b64
    assert (report.hearing_id, report.case_number) == ("H-1", "2024-CV-7")
    assert report.files == len(list((folder / "media").iterdir())) + 3


def test_changed_byte_is_reported_by_verify(folder: Path) -> None:
    path = folder / SEGMENT
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    report = verify_folder(folder)
    assert [(p.code, p.path) for p in report.problems] == [("file.changed", SEGMENT)]


def test_changed_record_file_is_reported(folder: Path) -> None:
    (folder / "minutes.txt").write_text("Hearing opened at 11:00.\n")
    assert [(p.code, p.path) for p in verify_folder(folder).problems] == [
        ("file.changed", "minutes.txt")
    ]


def test_missing_file_is_reported(folder: Path) -> None:
    (folder / SEGMENT).unlink()
    assert [(p.code, p.path) for p in verify_folder(folder).problems] == [("file.missing", SEGMENT)]


def test_extra_file_is_reported(folder: Path) -> None:
    (folder / "media" / "p3-video-0001.webm").write_bytes(b"planted")
    assert [(p.code, p.path) for p in verify_folder(folder).problems] == [
        ("file.extra", "media/p3-video-0001.webm")
    ]


def test_reordered_entries_break_the_chain_and_the_signature(folder: Path) -> None:
    document = read_manifest(folder)
    entries = document["entries"]
    assert isinstance(entries, list)
    entries[1], entries[2] = entries[2], entries[1]
    write_manifest(folder, document)

    report = verify_folder(folder)
    assert {"chain.broken", "signature.invalid", "seal.mismatch"} == report.codes
    assert report.problems[0].path == entries[1]["path"]


def test_removed_entry_and_file_break_the_chain(folder: Path) -> None:
    document = read_manifest(folder)
    entries = document["entries"]
    assert isinstance(entries, list)
    removed = entries.pop(0)
    (folder / removed["path"]).unlink()
    write_manifest(folder, document)
    assert verify_folder(folder).codes == {"chain.broken", "signature.invalid", "seal.mismatch"}


def test_edited_entry_with_a_recomputed_chain_still_breaks_the_signature(folder: Path) -> None:
    document = read_manifest(folder)
    entries = document["entries"]
    assert isinstance(entries, list)
    entries[0]["media"]["participant_name"] = "Someone Else"
    signature = document.pop("signature")
    resign(document, Signer.generate())
    document["signature"]["public_key"] = signature["public_key"]  # type: ignore[index]
    write_manifest(folder, document)
    assert verify_folder(folder).codes == {"signature.invalid", "seal.mismatch"}


def test_manifest_resigned_by_another_key_is_untrusted(folder: Path, signer: Signer) -> None:
    document = read_manifest(folder)
    entries = document["entries"]
    assert isinstance(entries, list)
    entries[0]["media"]["participant_name"] = "Someone Else"
    forger = Signer.generate()
    resign(document, forger)
    write_manifest(folder, document)
    reseal(folder, document, forger)

    assert verify_folder(folder).ok  # self-consistent forgery: only the key tells
    report = verify_folder(folder, trusted_public_key=signer.public_key_b64)
    assert report.codes == {"signature.untrusted"}


def test_missing_signature_is_reported(folder: Path) -> None:
    document = read_manifest(folder)
    del document["signature"]
    write_manifest(folder, document)
    assert verify_folder(folder).codes == {"signature.missing"}


def test_missing_or_unreadable_manifest_is_reported(folder: Path) -> None:
    (folder / "manifest.json").write_text("{not json")
    assert verify_folder(folder).codes == {"manifest.malformed"}
    (folder / "manifest.json").unlink()
    assert verify_folder(folder).codes == {"manifest.missing"}


def test_exported_zip_bundle_verifies(folder: Path, tmp_path: Path, signer: Signer) -> None:
    (folder / "media" / "stray.tmp").write_bytes(b"not part of the record")
    bundle = export_zip(folder, tmp_path)
    assert bundle == tmp_path / "H-1.zip"
    with zipfile.ZipFile(bundle) as archive:
        assert "H-1/manifest.json" in archive.namelist()
        assert "H-1/media/stray.tmp" not in archive.namelist()
    report = verify_folder(bundle, trusted_public_key=signer.public_key_b64)
    assert report.ok, report.render()
    assert "zip bundle" in report.source


def test_tampered_zip_bundle_is_reported(folder: Path, tmp_path: Path) -> None:
    bundle = export_zip(folder, tmp_path / "bundle.zip")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == f"H-1/{SEGMENT}":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            if info.filename != "H-1/minutes.txt":
                target.writestr(info, data)
        target.writestr("H-1/media/extra.webm", b"planted")
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr(f"H-1/{SEGMENT}", b"second copy")

    report = verify_folder(tampered)
    assert sorted((p.code, p.path) for p in report.problems) == [
        ("file.changed", SEGMENT),
        ("file.extra", "media/extra.webm"),
        ("file.extra", SEGMENT),
        ("file.missing", "minutes.txt"),
    ]


def test_command_line_prints_the_report_and_exits_zero_only_when_intact(
    folder: Path, tmp_path: Path, signer: Signer, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "court.pub"
    key_file.write_text(signer.public_key_pem())
    assert main([str(folder), "--public-key", str(key_file)]) == 0
    assert "INTACT" in capsys.readouterr().out

    (folder / "minutes.txt").write_text("changed")
    assert main([str(folder), "--public-key", str(key_file)]) == 1
    out = capsys.readouterr().out
    assert "NOT INTACT: 1 problem(s)" in out
    assert "file.changed" in out and "minutes.txt" in out

    assert main([str(folder), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"][0]["code"] == "file.changed"
    assert main([str(tmp_path / "nowhere")]) == 1
    assert main([]) == 2
