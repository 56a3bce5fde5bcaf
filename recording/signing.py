"""The node's Ed25519 signing key, and signature checks that need only a public key."""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from recording.errors import KEY_INVALID, RecordingError

log = logging.getLogger(__name__)

ALGORITHM = "Ed25519"


class Signer:
    """Signs manifests with one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public_b64 = base64.b64encode(raw).decode("ascii")

    @classmethod
    def generate(cls) -> Signer:
        """A signer with a fresh key that lives only in memory."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key_b64(self) -> str:
        """The raw 32-byte public key, base64 encoded (as written in manifests)."""
        return self._public_b64

    def public_key_pem(self) -> str:
        """The public key as a PEM ``PUBLIC KEY`` block, to hand to verifiers."""
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, data: bytes) -> str:
        """The base64 Ed25519 signature of ``data``."""
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def load_or_create_key(path: Path) -> Signer:
    """Load the PEM private key at ``path``, creating it (mode 0600) on first use."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: load theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            log.info("created signing key %s", path)
    if path.stat().st_mode & 0o077:
        log.warning("signing key %s is readable by other users", path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise RecordingError(KEY_INVALID, f"{path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise RecordingError(KEY_INVALID, f"{path} is not an Ed25519 key")
    return Signer(key)


def parse_public_key(text: str) -> str:
    """Normalise a public key given as PEM or as raw base64 to raw base64.

    Raises :class:`RecordingError` (``signing.key_invalid``) for anything else.
    """
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except ValueError as exc:
            raise RecordingError(KEY_INVALID, "not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise RecordingError(KEY_INVALID, "not an Ed25519 public key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordingError(KEY_INVALID, "not a base64 public key") from exc
    if len(raw) != 32:
        raise RecordingError(KEY_INVALID, "an Ed25519 public key has 32 bytes")
    return base64.b64encode(raw).decode("ascii")


def verify_signature(public_key_b64: str, data: bytes, signature_b64: str) -> bool:
    """True if ``signature_b64`` is a valid Ed25519 signature of ``data``; never raises."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False
    return True
