"""Who receives what: the relay asks this module and forwards nothing else."""

from __future__ import annotations

from enum import Enum

from .roles import Capability, Role, can
from .session import Phase, Presence, Session


class Source(str, Enum):
    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"
    #: an interpreter's channel, in one language, besides their own microphone
    INTERPRETATION = "interpretation"

    @property
    def kind(self) -> str:
        return "audio" if self in (Source.MICROPHONE, Source.INTERPRETATION) else "video"


def may_publish(role: Role, source: Source) -> bool:
    if source is Source.SCREEN:
        return can(role, Capability.SHARE_SCREEN)
    if source is Source.INTERPRETATION:
        return role is Role.INTERPRETER
    return can(role, Capability.PUBLISH)


def media_flows(session: Session) -> bool:
    """No media in recess (the court has risen) nor after adjournment."""
    return session.phase not in (Phase.RECESS, Phase.ADJOURNED)


def is_forwarded(session: Session, publisher: str, source: Source) -> bool:
    """Whether ``publisher``'s ``source`` may leave the relay at all right now."""
    m = session.members.get(publisher)
    if m is None or m.presence is not Presence.ADMITTED or not m.connected:
        return False
    if not media_flows(session) or not may_publish(m.role, source):
        return False
    if source is Source.SCREEN and not session.may_share_screen(publisher):
        return False  # the court controls screen sharing
    if source.kind == "audio":
        return not m.forced_audio_mute
    return not m.forced_video_mute


def may_receive(session: Session, subscriber: str, publisher: str, source: Source) -> bool:
    """Whether ``subscriber`` receives ``publisher``'s ``source``.

    Lobby members send and receive nothing; observers never publish; a
    force-muted track is not forwarded; media never crosses a room boundary.
    """
    if subscriber == publisher:
        return False
    s = session.members.get(subscriber)
    if s is None or s.presence is not Presence.ADMITTED or not s.connected:
        return False
    if not can(s.role, Capability.SUBSCRIBE):
        return False
    if not is_forwarded(session, publisher, source):
        return False
    return session.members[publisher].room == s.room
