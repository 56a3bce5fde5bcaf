"""The court sees each participant's media health; the event log keeps every gap.

The relay reports a hearing's whole media-health map whenever it changes
(``relay/health.py``). Each connected participant who may moderate (judge, clerk,
mediator, reception) is sent it as ``media.health``; every other participant sees
only their own page's notices. A participant whose connection is lost gets a
``media_lost`` line in the event log (with the error code), and ``media_restored``
with the length of the gap when they are connected again, so the record says
plainly when someone could not be seen or heard.
"""

from __future__ import annotations

import logging
from typing import Any

from ..domain.errors import HearingError
from ..domain.roles import Capability, can
from ..domain.session import Event
from ..tasks import TaskSet
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

Health = dict[str, dict[str, Any]]


class MediaHealthService:
    def __init__(self, work: UnitOfWork) -> None:
        self._work = work
        self._tasks = TaskSet()
        #: the last map of each hearing, to see what changed
        self._last: dict[str, Health] = {}

    def media_health(self, hearing_id: str, health: Health) -> None:
        """The relay's report (called in its loop: everything else runs in a task)."""
        before = self._last.get(hearing_id, {})
        if health:
            self._last[hearing_id] = health
        else:
            self._last.pop(hearing_id, None)
        self._log_gaps(hearing_id, before, health)
        self._tasks.spawn(self._tell_the_court(hearing_id, health))

    def _log_gaps(self, hearing_id: str, before: Health, after: Health) -> None:
        for pid, now in after.items():
            was = before.get(pid) or {}
            lost_before = was.get("lost_at") is not None
            if now.get("lost_at") is not None and not lost_before:
                self._work.events.append(hearing_id, Event(
                    "media_lost", None, pid, {"code": now.get("reason")}),
                    at=now["lost_at"])
            elif lost_before and now["state"] == "connected":
                gap = round(now["since"] - was["lost_at"], 1)
                self._work.events.append(hearing_id, Event(
                    "media_restored", None, pid,
                    {"code": was.get("reason"), "gap_seconds": gap}), at=now["since"])

    async def _tell_the_court(self, hearing_id: str, health: Health) -> None:
        try:
            hearing = await self._work.store.get_hearing(hearing_id)
            session = await self._work.store.get_session(hearing_id) if hearing else None
            if session is None:
                return
            payload = {"participants": health}
            for m in list(session.members.values()):
                if m.connected and can(m.role, Capability.MODERATE):
                    await self._work.notifier.to_participant(
                        hearing_id, m.participant_id, "media.health", payload)
        except HearingError as exc:  # the store is unreachable: the next report will do
            logger.warning("could not tell the court the media health of %s: %s",
                           hearing_id, exc.code)
        except Exception:  # a report is replaced by the next one; never stop the relay
            logger.exception("could not tell the court the media health of %s", hearing_id)

    async def aclose(self) -> None:
        await self._tasks.aclose()
