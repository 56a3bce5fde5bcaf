"""Export and verification of a sizeable record run off the event loop: a probe task
keeps ticking while they run."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from hearing_server.app import STORE
from hearing_server.domain.hearing import Hearing, HearingKind, ParticipantSpec
from hearing_server.domain.ids import HearingId, ParticipantId
from hearing_server.domain.roles import Role
from recording.signing import load_or_create_key
from tests.conftest import Running, staff_session
from tests.recording.hearing import RECORD_FILES, Track, record_tracks

HID = "h_large"
EXHIBIT_BYTES = 48 * 1024 * 1024  # deflated in the export, hashed twice in verification


def large_record(data: Path) -> Path:
    signer = load_or_create_key(data / "node_ed25519.pem")
    tracks = [Track("judge-1", "Judge Chen", "judge", "audio", 0.0, 2.0)]
    archive = record_tracks(data / "records" / HID, signer, tracks, hearing_id=HID)
    asyncio.run(archive.seal({**RECORD_FILES, "exhibit.bin": os.urandom(EXHIBIT_BYTES)}))
    return archive.folder


class LagProbe:
    """Sleeps 5 ms at a time and remembers the longest it overslept."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - before - 0.005)
            self.ticks += 1

    def __enter__(self) -> LagProbe:
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_export_and_verify_of_a_sizeable_record_keep_the_event_loop_responsive(
        running: Running) -> None:
    await asyncio.to_thread(large_record, running.settings.data_dir)
    await running.app[STORE].save_hearing(Hearing(
        id=HearingId(HID), case_number="C-1", title="Large", kind=HearingKind.HEARING,
        scheduled_at=datetime(2026, 12, 1, 10, tzinfo=UTC), duration_minutes=60,
        participants=(ParticipantSpec(ParticipantId("judge"), "Judge", Role.JUDGE),),
        presiding="judge1", clerks=("clerk1",)))
    s = await staff_session(running, "clerk")
    base = running.url + f"/api/v1/recordings/{HID}"
    async with s:
        with LagProbe() as probe:
            started = time.perf_counter()
            async with s.get(base + "/export") as r:
                assert r.status == 200
                size = 0
                async for chunk in r.content.iter_chunked(1 << 20):
                    size += len(chunk)
            async with s.post(base + "/verify") as r:
                assert (await r.json())["ok"] is True
            busy = time.perf_counter() - started
    assert size > EXHIBIT_BYTES
    assert probe.ticks > 0
    # On the loop, deflating and hashing 48 MB would stall it for about a second;
    # in worker threads the loop only waits for GIL switches, which grow with the
    # machine's load as the whole job does: the stall stays a small share of the job.
    assert probe.worst < max(0.25, busy / 5), (probe.worst, busy)
