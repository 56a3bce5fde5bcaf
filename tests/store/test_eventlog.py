"""The event log writes off the event loop, in order, and readers see every line once."""

from __future__ import annotations

from pathlib import Path

from hearing_server.domain.session import Event
from hearing_server.store.eventlog import EventLog


async def test_lines_appended_on_the_loop_are_read_back_in_order_before_and_after_the_write(
        tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    for number in range(200):
        log.append("h1", Event("note", "judge", None, {"n": number}))
    assert [line["n"] for line in log.read("h1")] == list(range(200))
    await log.flush()
    assert len(log.path("h1").read_text().splitlines()) == 200
    assert [line["n"] for line in EventLog(tmp_path).read("h1")] == list(range(200))
    await log.aclose()
    log.append("h1", Event("note", "judge", None, {"n": 200}))  # after close: written at once
    assert log.read("h1")[-1]["n"] == 200


def test_a_torn_last_line_does_not_swallow_the_next_one(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append("h1", Event("note", None, None, {"n": 1}))
    with open(log.path("h1"), "a") as fh:
        fh.write('{"type": "no')  # a crash mid-write
    restarted = EventLog(tmp_path)
    restarted.append("h1", Event("note", None, None, {"n": 2}))
    assert [line["n"] for line in restarted.read("h1")] == [1, 2]
    restarted.close()
    log.close()
