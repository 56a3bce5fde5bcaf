"""The court is told each participant's media health; the event log keeps each gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hearing_server.domain import commands as c
from hearing_server.domain.ids import ParticipantId
from hearing_server.services.media_health import MediaHealthService
from tests.relay.harness import wait_for
from tests.services.test_use_cases import court


def health(state: str, **more: Any) -> dict[str, Any]:
    return {"state": state, "sending": [], "receiving": False, "held_back": 0,
            "reason": None, "lost_at": None, "since": 0.0, **more}


async def test_only_those_who_moderate_are_told_and_a_gap_is_logged_with_its_length(
        tmp_path: Path) -> None:
    ct = await court(tmp_path)
    for pid in ("judge", "party", "observer"):
        await ct.enter(pid)
    for pid in ("party", "observer"):
        await ct.moderation.admit(ct.hearing.id, "judge", c.Admit(ParticipantId(pid)))
    service = MediaHealthService(ct.work)
    ok = health("connected", sending=["camera", "microphone"], receiving=True, since=100.0)
    service.media_health(ct.hearing.id, {"judge": ok, "party": ok})
    lost = health("not_connected", reason="media.connection_lost", lost_at=110.0, since=110.0)
    service.media_health(ct.hearing.id, {"judge": ok, "party": lost})
    again = health("connecting", reason="media.connection_lost", lost_at=110.0, since=111.0)
    service.media_health(ct.hearing.id, {"judge": ok, "party": again})
    back = {**ok, "since": 112.5}
    service.media_health(ct.hearing.id, {"judge": ok, "party": back})
    await wait_for(lambda: len([s for s in ct.notifier.sent if s[1] == "media.health"]) == 4)
    await service.aclose()
    told = [(pid, payload) for pid, event, payload in ct.notifier.sent
            if event == "media.health"]
    assert {pid for pid, _ in told} == {"judge"}  # not the party, not the observer
    assert told[-1][1]["participants"]["party"]["since"] == 112.5
    gaps = [e for e in ct.work.events.read(ct.hearing.id)
            if e["type"] in ("media_lost", "media_restored")]
    assert [(e["type"], e["subject"], e.get("code"), e.get("gap_seconds")) for e in gaps] == [
        ("media_lost", "party", "media.connection_lost", None),
        ("media_restored", "party", "media.connection_lost", 2.5)]
    assert gaps[0]["ts"] == 110.0


async def test_a_report_for_a_hearing_that_is_not_known_is_ignored(tmp_path: Path) -> None:
    ct = await court(tmp_path)
    service = MediaHealthService(ct.work)
    service.media_health("h_unknown", {"x": health("connecting")})
    await service.aclose()
    assert ct.notifier.sent == []
