from __future__ import annotations

import pytest

from recording.signing import Signer

START = 1_700_000_000.0


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer.generate()
