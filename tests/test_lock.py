"""The lock files pin every dependency of pyproject.toml at the same version, with
hashes, transitive ones included, so setup.sh can install with --require-hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def locked(name: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every package in a lock file."""
    out: dict[str, tuple[str, int]] = {}
    text = (ROOT / name).read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)", block)
        if head:
            key = re.sub(r"[-_.]+", "-", head.group(1)).lower()
            out[key] = (head.group(2), block.count("--hash=sha256:"))
    return out


def pinned(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name, version = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", req).groups()  # type: ignore[union-attr]
        out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_every_dependency_is_locked_at_its_pinned_version_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = pinned(project["dependencies"])
    dev = pinned(project["optional-dependencies"]["dev"])
    for lock_name, wanted in (("requirements.lock", runtime),
                              ("requirements-dev.lock", {**runtime, **dev})):
        lock = locked(lock_name)
        for name, version in wanted.items():
            assert name in lock, f"{name} is not in {lock_name}: run ./scripts/lock.sh"
            assert lock[name][0] == version, (lock_name, name, lock[name][0], version)
        assert all(hashes > 0 for _, hashes in lock.values()), lock_name
        # transitive dependencies (the SRTP and DTLS stack among them) are pinned too
        assert {"pylibsrtp", "pyopenssl", "cffi", "pip", "setuptools"} <= set(lock)
        assert len(lock) > len(wanted) + 10
