"""Record integrity beyond single files: rollback to an earlier signed manifest, a record
moved under another hearing, symlinks, the seal and the node's seal registry, format 1."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from recording.archive import export_zip
from recording.errors import RecordingError
from recording.manifest import Manifest, MediaDetails, canonical_json
from recording.seals import SealRegistry
from recording.signing import Signer
from recording.verify import main, verify_folder
from tests.recording.hearing import RECORD_FILES, Track, record_tracks, sealed_hearing

TRACKS = [
    Track("judge-1", "Judge Chen", "judge", "video", 0.0, 3.0),
    Track("p2", "Ann Lee", "party", "audio", 0.0, 3.0),
]


def rolled_back(tmp_path: Path, signer: Signer) -> tuple[Path, dict[str, object]]:
    """A sealed record whose manifest an attacker replaced with an earlier signed one
    (taken while recording), deleting the later files and the seal; and its seal."""
    folder = tmp_path / "H-1"
    archive = record_tracks(folder, signer, TRACKS, segment_seconds=1.0)
    earlier = (folder / "manifest.json").read_bytes()
    listed = {entry["path"] for entry in json.loads(earlier)["entries"]}
    assert listed, "segments were closed while recording"
    asyncio.run(archive.seal(dict(RECORD_FILES)))
    seal = json.loads((folder / "seal.json").read_bytes())
    (folder / "manifest.json").write_bytes(earlier)
    (folder / "seal.json").unlink()
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        relative = path.relative_to(folder).as_posix()
        if relative != "manifest.json" and relative not in listed:
            path.unlink()
    return folder, seal


def test_rollback_to_an_earlier_signed_manifest_is_detected_with_the_seal(
    tmp_path: Path, signer: Signer
) -> None:
    folder, seal = rolled_back(tmp_path, signer)
    alone = verify_folder(folder, signer.public_key_b64)
    assert alone.ok and not alone.sealed  # the folder alone can only say "not sealed"
    report = verify_folder(folder, signer.public_key_b64, seal=seal)
    assert report.codes == {"seal.rollback"}, report.render()
    seal_file = tmp_path / "kept-seal.json"
    seal_file.write_text(json.dumps(seal))
    assert main([str(folder), "--seal", str(seal_file)]) == 1


def test_rollback_with_the_seal_left_in_the_folder_is_a_seal_mismatch(
    tmp_path: Path, signer: Signer
) -> None:
    folder, seal = rolled_back(tmp_path, signer)
    (folder / "seal.json").write_text(json.dumps(seal))
    assert verify_folder(folder).codes == {"seal.mismatch"}


def test_sealed_record_names_its_final_head_in_a_signed_seal(
    tmp_path: Path, signer: Signer
) -> None:
    folder = sealed_hearing(tmp_path / "H-1", signer)
    manifest = Manifest.load(folder)
    seal = json.loads((folder / "seal.json").read_bytes())
    assert seal["head"] == manifest.head and seal["entries"] == len(manifest.entries)
    assert seal["hearing_id"] == "H-1" and seal["case_number"] == "2024-CV-7"
    report = verify_folder(folder, signer.public_key_b64, expected_hearing_id="H-1", seal=seal)
    assert report.ok and report.seal_checked, report.render()
    (folder / "seal.json").unlink()
    assert verify_folder(folder).codes == {"seal.missing"}
    seal["signature"]["value"] = Signer.generate().sign(b"x")
    (folder / "seal.json").write_text(json.dumps(seal))
    assert verify_folder(folder).codes == {"seal.invalid"}


def test_record_copied_under_another_hearings_id_is_refused(
    tmp_path: Path, signer: Signer
) -> None:
    folder = sealed_hearing(tmp_path / "H-1", signer)
    copy = tmp_path / "H-2"
    shutil.copytree(folder, copy)
    assert verify_folder(copy).ok  # no expectation given: nothing to compare with
    report = verify_folder(copy, expected_hearing_id="H-2")
    assert report.codes == {"hearing.mismatch"}
    assert main([str(copy)]) == 1  # the command line takes the folder name
    assert main([str(copy), "--hearing-id", "H-1"]) == 0
    assert verify_folder(folder, expected_case_number="2024-CV-8").codes == {"case.mismatch"}
    bundle = export_zip(copy, tmp_path)
    assert bundle.name == "H-1.zip"  # named after the manifest's hearing
    assert main([str(bundle)]) == 1  # ...but its top-level folder says H-2


def test_extra_folder_behind_a_symlink_is_reported(tmp_path: Path, signer: Signer) -> None:
    folder = sealed_hearing(tmp_path / "H-1", signer)
    elsewhere = tmp_path / "planted"
    elsewhere.mkdir()
    (elsewhere / "extra.webm").write_bytes(b"planted")
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)
    report = verify_folder(folder)
    assert [(p.code, p.path) for p in report.problems] == [("file.symlink", "more")]


def test_listed_file_replaced_by_a_symlink_is_reported(tmp_path: Path, signer: Signer) -> None:
    folder = sealed_hearing(tmp_path / "H-1", signer)
    original = tmp_path / "minutes-copy.txt"
    shutil.move(folder / "minutes.txt", original)
    (folder / "minutes.txt").symlink_to(original)  # same bytes, but not in the record
    assert [(p.code, p.path) for p in verify_folder(folder).problems] == [
        ("file.symlink", "minutes.txt")
    ]


def test_seal_registry_keeps_the_first_seal_and_detects_edits(
    tmp_path: Path, signer: Signer
) -> None:
    registry = SealRegistry(tmp_path / "seals.jsonl", signer)
    folder = sealed_hearing(tmp_path / "H-1", signer, registry=registry)
    line = registry.lookup("H-1")
    assert line is not None and line["head"] == Manifest.load(folder).head
    seal = json.loads((folder / "seal.json").read_bytes())
    assert registry.register(seal) == line  # the same seal again: nothing new
    with pytest.raises(RecordingError) as error:
        registry.register({**seal, "head": "f" * 64})
    assert error.value.code == "archive.sealed"
    assert registry.verify(signer.public_key_b64) == []
    text = registry.path.read_text().replace(line["head"], "e" * 64)
    registry.path.write_text(text)
    assert any("bad signature" in p for p in registry.verify(signer.public_key_b64))


def test_track_source_and_language_are_listed_in_the_manifest(
    tmp_path: Path, signer: Signer
) -> None:
    from recording.archive import HearingArchive
    from tests.recording.media import AUDIO_CLOCK, VIDEO_CLOCK, opus_frames, vp8_frames

    archive = HearingArchive(tmp_path / "H-1", "H-1", "C-1", signer)
    audio = archive.open_track("i-1", "Ines", "interpreter", "audio", "opus", AUDIO_CLOCK,
                               language="fr-CA")
    screen = archive.open_track("p-1", "Pat", "party", "video", "vp8", VIDEO_CLOCK,
                                label="screen")
    for frame in opus_frames(10):
        audio.write(frame.data, frame.timestamp, frame.keyframe)
    for frame in vp8_frames(10):
        screen.write(frame.data, frame.timestamp, frame.keyframe)
    with pytest.raises(RecordingError):
        archive.open_track("p-1", "Pat", "party", "video", "vp8", VIDEO_CLOCK, source="radio")
    asyncio.run(archive.seal())
    media = {e.media.track: e.media for e in Manifest.load(archive.folder).entries if e.media}
    assert {(m.source, m.language) for m in media.values()} == {
        ("microphone", "fr-CA"), ("screen", None)}
    assert verify_folder(archive.folder, expected_hearing_id="H-1").ok


def test_format_1_records_still_verify(tmp_path: Path, signer: Signer) -> None:
    folder = tmp_path / "H-old"
    manifest = Manifest(folder, "H-old", "C-1", signer=signer, version=1)
    folder.mkdir()
    (folder / "minutes.txt").write_text("minutes")
    media = MediaDetails("p", "P", "party", "t", "audio", "opus", 1.0, 61.0, 60.0, 3000,
                         False, "")
    manifest.append_file("minutes.txt", media=media)
    manifest.seal()
    assert not (folder / "seal.json").exists()  # format 1 has no seal file
    document = json.loads((folder / "manifest.json").read_bytes())
    assert document["version"] == 1
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    assert canonical_json(unsigned, 1) != canonical_json(unsigned, 2)  # 60.0 vs 60
    report = verify_folder(folder, signer.public_key_b64)
    assert report.ok and report.version == 1, report.render()


def test_a_forged_independent_seal_is_reported_as_invalid(tmp_path: Path, signer: Signer) -> None:
    folder, seal = rolled_back(tmp_path, signer)
    earlier = Manifest.load(folder)
    forged = {**seal, "head": earlier.head, "entries": len(earlier.entries)}
    assert verify_folder(folder, seal=forged).codes == {"seal.invalid", "seal.rollback"}
    other = Signer.generate()
    resigned = {k: v for k, v in seal.items() if k != "signature"}
    resigned["signature"] = {"algorithm": "Ed25519", "public_key": other.public_key_b64,
                             "value": other.sign(canonical_json(resigned))}
    intact = sealed_hearing(tmp_path / "H-3", signer, hearing_id="H-3")
    own = json.loads((intact / "seal.json").read_bytes())
    assert verify_folder(intact, seal=own).ok
    assert "seal.invalid" in verify_folder(intact, seal=resigned).codes


def test_a_seal_interrupted_before_seal_json_is_completed_by_sealing_again(
    tmp_path: Path, signer: Signer
) -> None:
    from recording.archive import HearingArchive

    folder = sealed_hearing(tmp_path / "H-1", signer)
    (folder / "seal.json").unlink()  # the node died between the manifest and the seal
    assert verify_folder(folder).codes == {"seal.missing"}
    registry = SealRegistry(tmp_path / "seals.jsonl", signer)
    archive = HearingArchive(folder, "H-1", "2024-CV-7", signer)
    asyncio.run(archive.seal(registry=registry))
    assert verify_folder(folder, seal=registry.lookup("H-1")).ok
    with pytest.raises(RecordingError):
        archive.add_record_file("late.txt", b"too late")
