"""When this node was last known alive: a timestamp rewritten every few seconds, read
once at start-up to say how long the node was down (the gap a restart leaves)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path


class AliveMarker:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._temp = path.with_name(path.name + ".tmp")
        #: when the previous run of this node last beat (None: a first start)
        self.previous = self._read()

    def _read(self) -> float | None:
        with contextlib.suppress(OSError, ValueError):
            return float(self._path.read_text().strip())
        return None

    def _write(self, at: float) -> None:
        fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{at:.3f}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(self._temp, self._path)

    async def beat(self, at: float) -> None:
        await asyncio.to_thread(self._write, at)
