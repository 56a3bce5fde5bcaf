"""What the recorder reports, turned into court-visible state and alerts
(implements ``ports.RecordingEvents``)."""

from __future__ import annotations

import logging

from ..domain.errors import HearingError
from ..domain.roles import Capability, can
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)


class RecordingAlerts:
    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    async def recording_receiving(self, hearing_id: str) -> None:
        """The recorder receives media: show the hearing as recorded."""
        hearing = await self._work.store.get_hearing(hearing_id)
        if hearing is None:
            return
        try:
            event = await self._work.change(hearing, lambda s: s.recording_receiving())
        except HearingError as exc:
            logger.error("could not mark the recording active: %s", exc.message)
            return
        if event is not None:
            await self._work.publish(hearing, [event])

    async def recording_failed(self, hearing_id: str, code: str) -> None:
        """Tell everyone who may record, at once, that the recording failed."""
        session = await self._work.store.get_session(hearing_id)
        if session is None:
            return
        for m in session.members.values():
            if can(m.role, Capability.RECORD) and m.connected:
                await self._work.notifier.to_participant(hearing_id, m.participant_id,
                                                         "recording.failed", {"code": code})
