from __future__ import annotations

import stat
from pathlib import Path

import pytest

from recording.errors import RecordingError
from recording.signing import Signer, load_or_create_key, parse_public_key, verify_signature


def test_key_file_is_created_private_and_reloads_as_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.pem"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    second = load_or_create_key(path)
    assert second.public_key_b64 == first.public_key_b64


def test_signature_verifies_with_the_public_key_only(signer: Signer) -> None:
    signature = signer.sign(b"manifest")
    assert verify_signature(signer.public_key_b64, b"manifest", signature)
    assert not verify_signature(signer.public_key_b64, b"manifest!", signature)
    assert not verify_signature(Signer.generate().public_key_b64, b"manifest", signature)
    assert not verify_signature("not base64!", b"manifest", signature)
    assert not verify_signature(signer.public_key_b64, b"manifest", "AAAA")


def test_public_key_is_accepted_as_pem_or_raw_base64(signer: Signer) -> None:
    assert parse_public_key(signer.public_key_pem()) == signer.public_key_b64
    assert parse_public_key(signer.public_key_b64 + "\n") == signer.public_key_b64
    with pytest.raises(RecordingError):
        parse_public_key("AAAA")


def test_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.pem"
    path.write_text("hello")
    with pytest.raises(RecordingError) as caught:
        load_or_create_key(path)
    assert caught.value.code == "signing.key_invalid"
