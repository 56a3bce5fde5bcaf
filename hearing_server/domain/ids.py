"""Identifiers used across the domain. NewTypes keep them from being mixed up."""

from __future__ import annotations

import secrets
from typing import NewType

HearingId = NewType("HearingId", str)
ParticipantId = NewType("ParticipantId", str)
LinkId = NewType("LinkId", str)
ConnectionId = NewType("ConnectionId", str)
CaucusId = NewType("CaucusId", str)


def new_hearing_id() -> HearingId:
    return HearingId("h_" + secrets.token_hex(8))


def new_participant_id() -> ParticipantId:
    return ParticipantId("p_" + secrets.token_hex(6))


def new_link_id() -> LinkId:
    return LinkId(secrets.token_urlsafe(12))
