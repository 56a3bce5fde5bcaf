"""The live state of one hearing: phase, lobby, presence, mutes, lock, recording.

A :class:`Session` is a plain object; every rule lives in its methods, which
either raise a :class:`HearingError` and change nothing, or change the state
and return the :class:`Event` to append to the hearing's log. The store keeps
sessions as JSON (``to_dict``/``from_dict``) so a Redis store can apply a
change atomically on any node.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from .errors import Code, Conflict, HearingError, NotFound, PermissionDenied
from .hearing import Hearing, HearingKind
from .ids import HearingId, ParticipantId
from .roles import Capability, Role, can

MAIN_ROOM = "main"


#: the reason a recording pauses for while the hearing is in recess
RECESS_REASON = "recess"


class Phase(str, Enum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    IN_SESSION = "in_session"
    RECESS = "recess"
    ADJOURNED = "adjourned"


class Presence(str, Enum):
    LOBBY = "lobby"
    ADMITTED = "admitted"
    DENIED = "denied"
    REMOVED = "removed"
    LEFT = "left"


class RecordingState(str, Enum):
    OFF = "off"
    ON = "on"
    PAUSED = "paused"


class MediaKind(str, Enum):
    AUDIO = "audio"
    VIDEO = "video"


@dataclass(frozen=True)
class Event:
    """One line of the hearing's event log."""

    type: str
    actor: str | None
    subject: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "actor": self.actor, "subject": self.subject, **self.data}


@dataclass
class Member:
    participant_id: ParticipantId
    name: str
    role: Role
    presence: Presence
    connected: bool = True
    audio_muted: bool = False
    video_muted: bool = False
    forced_audio_mute: bool = False
    forced_video_mute: bool = False
    #: the court allowed this participant to share their screen (the bench needs no leave)
    screen_allowed: bool = False
    room: str = MAIN_ROOM
    room_since: float = 0.0
    last_seen: float = 0.0

    def public(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role.value,
            "state": self.presence.value,
            "connected": self.connected,
            "audio_muted": self.audio_muted or self.forced_audio_mute,
            "video_muted": self.video_muted or self.forced_video_mute,
            "forced_audio_mute": self.forced_audio_mute,
            "forced_video_mute": self.forced_video_mute,
            "screen_allowed": self.screen_allowed or can(self.role, Capability.MODERATE),
            "room": self.room,
        }


@dataclass
class Settlement:
    """The terms the mediator drafts and each party confirms (text, hash, who, when)."""

    text: str
    sha256: str
    drafted_at: float
    confirmations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"text": self.text, "sha256": self.sha256, "drafted_at": self.drafted_at,
                "confirmations": self.confirmations}


MAX_SETTLEMENT_CHARS = 20_000
MAX_CAUCUSES = 10


@dataclass
class Session:
    hearing_id: HearingId
    kind: HearingKind
    phase: Phase = Phase.SCHEDULED
    locked: bool = False
    recording: RecordingState = RecordingState.OFF
    recording_reason: str = ""
    #: the recorder reported it receives media since recording last (re)started
    recording_active: bool = False
    members: dict[str, Member] = field(default_factory=dict)
    #: caucus id -> name (mediation only); members carry the room they are in
    caucuses: dict[str, str] = field(default_factory=dict)
    caucus_counter: int = 0
    settlement: Settlement | None = None
    #: the last interruption of the hearing's node (``{"from", "to", "seconds", "cause",
    #: "recording_gap"}``): a restart or a takeover; shown to everyone who returns
    interruption: dict[str, Any] | None = None
    version: int = 0

    # ---- queries -------------------------------------------------------------

    def member(self, pid: str) -> Member:
        m = self.members.get(pid)
        if m is None:
            raise NotFound(f"participant {pid} is not in this hearing",
                           code=Code.PARTICIPANT_NOT_FOUND)
        return m

    def is_admitted(self, pid: str) -> bool:
        m = self.members.get(pid)
        return m is not None and m.presence is Presence.ADMITTED and m.connected

    def presence_for(self, viewer: Role) -> list[dict[str, Any]]:
        """The presence list as ``viewer`` may see it: the lobby only for those who admit."""
        sees_lobby = can(viewer, Capability.SEE_LOBBY)
        out = []
        for m in self.members.values():
            if m.presence is Presence.ADMITTED or (sees_lobby and m.presence in (
                    Presence.LOBBY, Presence.REMOVED, Presence.LEFT)):
                # the court also sees who was removed or left: it may recall them
                out.append(m.public())
        return out

    def public_state(self) -> dict[str, Any]:
        return {
            "hearing_id": self.hearing_id,
            "kind": self.kind.value,
            "phase": self.phase.value,
            "locked": self.locked,
            "recording": self.recording.value,
            "recording_reason": self.recording_reason,
            "recording_active": self.recording_active,
            "caucuses": [{"id": cid, "name": name} for cid, name in self.caucuses.items()],
            "settlement": self.settlement.public() if self.settlement else None,
            "interruption": self.interruption,
        }

    def state_for(self, pid: str) -> dict[str, Any]:
        """The state as one participant may see it: the settlement terms and the caucus
        rooms are for those admitted only (nobody in the lobby reads them)."""
        state = self.public_state()
        member = self.members.get(pid)
        if member is None or member.presence is not Presence.ADMITTED:
            state["caucuses"] = []
            state["settlement"] = None
        return state

    # ---- mediation: caucus rooms and settlement -------------------------------------

    def _mediation(self) -> None:
        if self.kind is not HearingKind.MEDIATION:
            raise Conflict("caucus rooms exist only in a mediation", code=Code.CAUCUS_NOT_MEDIATION)
        self._not_over()

    def _move(self, m: Member, room: str, now: float, actor: str) -> Event | None:
        if m.room == room:
            return None
        left, since = m.room, m.room_since
        m.room, m.room_since = room, now
        return Event("moved", actor, m.participant_id, {
            "from": left, "to": room, "seconds_in_previous": round(now - since, 1)
            if since else None})

    def open_caucus(self, actor: str, name: str, participant_ids: list[str],
                    now: float) -> list[Event]:
        """Open a caucus and move the chosen participants into it."""
        self._actor(actor, Capability.CAUCUS)
        self._mediation()
        if len(self.caucuses) >= MAX_CAUCUSES:
            raise Conflict("too many caucus rooms are open", code=Code.CAUCUS_TOO_MANY)
        if not participant_ids:
            raise HearingError("choose who joins the caucus", code=Code.INPUT_INVALID)
        targets = [self._present(pid) for pid in participant_ids]
        self.caucus_counter += 1
        cid = f"caucus-{self.caucus_counter}"
        self.caucuses[cid] = name.strip() or f"Caucus {self.caucus_counter}"
        events = [Event("caucus_opened", actor, None, {"caucus": cid,
                                                       "name": self.caucuses[cid],
                                                       "members": participant_ids})]
        for m in targets:
            moved = self._move(m, cid, now, actor)
            if moved:
                events.append(moved)
        return events

    def _present(self, pid: str) -> Member:
        m = self.member(pid)
        if m.presence is not Presence.ADMITTED:
            raise Conflict(f"{m.name} is not in the mediation", code=Code.PARTICIPANT_NOT_PRESENT)
        return m

    def move(self, actor: str, pid: str, room: str, now: float) -> Event:
        """The mediator moves someone (or themself) into a caucus or back to the joint room."""
        self._actor(actor, Capability.CAUCUS)
        self._mediation()
        if room != MAIN_ROOM and room not in self.caucuses:
            raise HearingError("no such caucus room", code=Code.CAUCUS_NOT_FOUND)
        m = self._present(pid)
        moved = self._move(m, room, now, actor)
        if moved is None:
            raise Conflict(f"{m.name} is already there", code=Code.CAUCUS_ALREADY_THERE)
        return moved

    def end_caucuses(self, actor: str, now: float) -> list[Event]:
        """Bring everyone back to the joint session and close every caucus."""
        self._actor(actor, Capability.CAUCUS)
        self._mediation()
        events = []
        for m in self.members.values():
            moved = self._move(m, MAIN_ROOM, now, actor)
            if moved:
                events.append(moved)
        closed = list(self.caucuses)
        self.caucuses.clear()
        events.append(Event("caucuses_closed", actor, None, {"caucuses": closed}))
        return events

    def draft_settlement(self, actor: str, text: str, sha256: str, now: float) -> Event:
        self._actor(actor, Capability.CAUCUS)
        self._mediation()
        if not text.strip():
            raise HearingError("the terms are empty", code=Code.INPUT_INVALID)
        if len(text) > MAX_SETTLEMENT_CHARS:
            raise HearingError("the terms are too long", code=Code.INPUT_INVALID)
        self.settlement = Settlement(text, sha256, now)
        return Event("settlement_drafted", actor, None, {"sha256": sha256})

    def confirm_settlement(self, pid: str, sha256: str, typed_name: str, now: float) -> Event:
        m = self._present(pid)
        if m.role is not Role.PARTY:
            raise PermissionDenied("only the parties confirm the settlement",
                                   code=Code.PERMISSION_DENIED)
        if self.settlement is None:
            raise Conflict("there are no terms to confirm", code=Code.SETTLEMENT_NONE)
        if sha256 != self.settlement.sha256:
            raise Conflict("the terms changed; read them again before confirming",
                           code=Code.SETTLEMENT_CHANGED)
        if " ".join(typed_name.split()).casefold() != " ".join(m.name.split()).casefold():
            raise HearingError("type your name exactly as it is shown",
                               code=Code.SETTLEMENT_NAME_MISMATCH)
        if pid in self.settlement.confirmations:
            raise Conflict("you already confirmed these terms", code=Code.SETTLEMENT_CONFIRMED)
        self.settlement.confirmations[pid] = {"name": m.name, "typed_name": typed_name,
                                              "at": now}
        return Event("settlement_confirmed", pid, pid, {"sha256": sha256})

    # ---- joining and leaving -------------------------------------------------

    def join(self, pid: ParticipantId, name: str, role: Role, now: float,
             rejoin_grace: float) -> Event:
        """A connection for ``pid`` arrived (the token was already checked)."""
        if self.phase is Phase.ADJOURNED:
            raise Conflict("this hearing has been adjourned", code=Code.HEARING_ADJOURNED)
        existing = self.members.get(pid)
        direct = can(role, Capability.ENTER_DIRECTLY)
        if existing is not None:
            if existing.presence is Presence.REMOVED:
                raise PermissionDenied("you were removed from this hearing",
                                       code=Code.PARTICIPANT_REMOVED)
            if existing.presence is Presence.DENIED:
                raise PermissionDenied("the court denied your entry to this hearing",
                                       code=Code.PARTICIPANT_DENIED)
            returning = existing.presence is Presence.ADMITTED and (
                existing.connected or now - existing.last_seen <= rejoin_grace
            )
            if existing.presence is not Presence.ADMITTED or not returning:
                existing.room = MAIN_ROOM
            existing.presence = Presence.ADMITTED if (direct or returning) else Presence.LOBBY
            existing.connected = True
            existing.last_seen = now
            if existing.presence is Presence.LOBBY:
                existing.room = MAIN_ROOM
            return Event("rejoined", pid, pid, {"state": existing.presence.value})
        # a locked hearing lets nobody in by themself: a late joiner waits in the lobby,
        # where the court sees them, and only the court's own admit lets them in
        presence = Presence.ADMITTED if direct else Presence.LOBBY
        self.members[pid] = Member(pid, name, role, presence, last_seen=now, room_since=now)
        event = Event("joined", pid, pid, {"role": role.value, "state": presence.value})
        if direct and self.phase is Phase.SCHEDULED and can(role, Capability.CONDUCT):
            self.phase = Phase.OPEN
        return event

    def disconnect(self, pid: str, now: float) -> Event | None:
        m = self.members.get(pid)
        if m is None or not m.connected:
            return None
        m.connected = False
        m.last_seen = now
        return Event("disconnected", pid, pid)

    def leave(self, pid: str, now: float) -> Event | None:
        m = self.members.get(pid)
        if m is None or m.presence in (Presence.REMOVED, Presence.DENIED, Presence.LEFT):
            return None
        m.presence = Presence.LEFT
        m.connected = False
        m.last_seen = now
        return Event("left", pid, pid)

    # ---- moderation ----------------------------------------------------------

    def _actor(self, actor: str, capability: Capability) -> Member:
        m = self.members.get(actor)
        if m is None or m.presence is not Presence.ADMITTED:
            raise PermissionDenied("you are not admitted to this hearing",
                                   code=Code.PERMISSION_DENIED)
        if not can(m.role, capability):
            raise PermissionDenied(
                f"a {m.role.value} may not {capability.value.replace('_', ' ')}",
                code=Code.PERMISSION_DENIED,
            )
        return m

    def _not_over(self) -> None:
        if self.phase is Phase.ADJOURNED:
            raise Conflict("this hearing has been adjourned", code=Code.HEARING_ADJOURNED)

    def admit(self, actor: str, pid: str) -> Event:
        self._actor(actor, Capability.ADMIT)
        self._not_over()
        target = self.member(pid)
        if target.presence is not Presence.LOBBY:
            raise Conflict(f"{target.name} is not waiting in the lobby",
                           code=Code.PARTICIPANT_NOT_IN_LOBBY)
        target.presence = Presence.ADMITTED
        return Event("admitted", actor, pid, {"locked": True} if self.locked else {})

    def send_to_lobby(self, actor: str, pid: str) -> Event:
        """Back to the waiting room (a witness between questions): still admitted-able,
        no media either way until admitted again."""
        self._actor(actor, Capability.ADMIT)
        self._not_over()
        target = self.member(pid)
        if pid == actor or can(target.role, Capability.CONDUCT):
            raise PermissionDenied(f"the {target.role.value} cannot be sent to the lobby",
                                   code=Code.PERMISSION_DENIED)
        if target.presence is not Presence.ADMITTED:
            raise Conflict(f"{target.name} is not in the hearing room",
                           code=Code.PARTICIPANT_NOT_PRESENT)
        target.presence = Presence.LOBBY
        target.room = MAIN_ROOM
        return Event("sent_to_lobby", actor, pid)

    def recall(self, actor: str, pid: str) -> Event:
        """Someone removed, excused or gone may be called back: they wait in the lobby
        (as not connected until they open their link) and are admitted as anyone."""
        self._actor(actor, Capability.ADMIT)
        self._not_over()
        target = self.member(pid)
        if target.presence not in (Presence.REMOVED, Presence.LEFT):
            raise Conflict(f"{target.name} has not left the hearing",
                           code=Code.STATE_CONFLICT)
        target.presence = Presence.LOBBY
        target.room = MAIN_ROOM
        return Event("recalled", actor, pid)

    def deny(self, actor: str, pid: str, reason: str) -> Event:
        self._actor(actor, Capability.ADMIT)
        target = self.member(pid)
        if target.presence is not Presence.LOBBY:
            raise Conflict(f"{target.name} is not waiting in the lobby",
                           code=Code.PARTICIPANT_NOT_IN_LOBBY)
        target.presence = Presence.DENIED
        target.connected = False
        return Event("denied", actor, pid, {"reason": reason})

    def remove(self, actor: str, pid: str, reason: str) -> Event:
        self._actor(actor, Capability.MODERATE)
        target = self.member(pid)
        if pid == actor:
            raise Conflict("you cannot remove yourself; leave instead", code=Code.PARTICIPANT_SELF)
        if can(target.role, Capability.CONDUCT):
            raise PermissionDenied(f"the {target.role.value} cannot be removed",
                                   code=Code.PERMISSION_DENIED)
        if target.presence in (Presence.REMOVED, Presence.LEFT, Presence.DENIED):
            raise Conflict(f"{target.name} is no longer in the hearing",
                           code=Code.PARTICIPANT_NOT_PRESENT)
        target.presence = Presence.REMOVED
        target.connected = False
        return Event("removed", actor, pid, {"reason": reason})

    def mute(self, actor: str, pid: str, kind: MediaKind, force: bool) -> Event:
        self._actor(actor, Capability.MODERATE)
        target = self.member(pid)
        if target.presence is not Presence.ADMITTED:
            raise Conflict(f"{target.name} is not in the hearing room",
                           code=Code.PARTICIPANT_NOT_PRESENT)
        if force:
            if kind is MediaKind.AUDIO:
                target.forced_audio_mute = True
            else:
                target.forced_video_mute = True
            return Event("force_muted", actor, pid, {"kind": kind.value})
        return Event("mute_requested", actor, pid, {"kind": kind.value})

    def unmute(self, actor: str, pid: str, kind: MediaKind) -> Event:
        """Lift a forced mute (the participant then unmutes themself)."""
        self._actor(actor, Capability.MODERATE)
        target = self.member(pid)
        if kind is MediaKind.AUDIO:
            target.forced_audio_mute = False
        else:
            target.forced_video_mute = False
        return Event("force_mute_lifted", actor, pid, {"kind": kind.value})

    def allow_screen(self, actor: str, pid: str, allowed: bool) -> Event:
        """The court lets a party or counsel share their screen, or stops the share
        (separately from their camera)."""
        self._actor(actor, Capability.MODERATE)
        target = self.member(pid)
        if target.presence is not Presence.ADMITTED:
            raise Conflict(f"{target.name} is not in the hearing room",
                           code=Code.PARTICIPANT_NOT_PRESENT)
        if not can(target.role, Capability.SHARE_SCREEN):
            raise PermissionDenied(f"a {target.role.value} may not share a screen",
                                   code=Code.PERMISSION_DENIED)
        target.screen_allowed = allowed
        return Event("screen_allowed" if allowed else "screen_stopped", actor, pid)

    def may_share_screen(self, pid: str) -> bool:
        m = self.members.get(pid)
        return m is not None and can(m.role, Capability.SHARE_SCREEN) and (
            m.screen_allowed or can(m.role, Capability.MODERATE))

    def self_mute(self, pid: str, kind: MediaKind, muted: bool) -> Event:
        m = self.member(pid)
        if m.presence is not Presence.ADMITTED:
            raise Conflict("you are not in the hearing room", code=Code.PARTICIPANT_NOT_PRESENT)
        if kind is MediaKind.AUDIO:
            m.audio_muted = muted
        else:
            m.video_muted = muted
        return Event("self_muted" if muted else "self_unmuted", pid, pid, {"kind": kind.value})

    def lock(self, actor: str, locked: bool) -> Event:
        self._actor(actor, Capability.MODERATE)
        self._not_over()
        self.locked = locked
        return Event("locked" if locked else "unlocked", actor)

    # ---- conduct of the hearing ----------------------------------------------

    def start_session(self, actor: str) -> Event:
        self._actor(actor, Capability.CONDUCT)
        if self.phase not in (Phase.OPEN, Phase.SCHEDULED):
            raise Conflict(f"the hearing is {self.phase.value}", code=Code.HEARING_BAD_PHASE)
        self.phase = Phase.IN_SESSION
        return Event("session_started", actor)

    def recess(self, actor: str) -> list[Event]:
        """A recess pauses the hearing: no media flows and the recording pauses with the
        reason ``recess`` (both resume with the session)."""
        self._actor(actor, Capability.CONDUCT)
        if self.phase is not Phase.IN_SESSION:
            raise Conflict(f"the hearing is {self.phase.value}", code=Code.HEARING_BAD_PHASE)
        self.phase = Phase.RECESS
        events = [Event("recess", actor)]
        if self.recording is RecordingState.ON:
            self.recording = RecordingState.PAUSED
            self.recording_reason = RECESS_REASON
            self.recording_active = False
            events.append(Event("recording_pause", actor, None, {"reason": RECESS_REASON}))
        return events

    def resume(self, actor: str) -> list[Event]:
        self._actor(actor, Capability.CONDUCT)
        if self.phase is not Phase.RECESS:
            raise Conflict(f"the hearing is {self.phase.value}", code=Code.HEARING_BAD_PHASE)
        self.phase = Phase.IN_SESSION
        events = [Event("resumed", actor)]
        if self.recording is RecordingState.PAUSED and self.recording_reason == RECESS_REASON:
            self.recording = RecordingState.ON
            self.recording_reason = ""
            events.append(Event("recording_resume", actor, None, {"reason": RECESS_REASON}))
        return events

    def adjourn(self, actor: str) -> Event:
        self._actor(actor, Capability.CONDUCT)
        self._not_over()
        self.phase = Phase.ADJOURNED
        self.recording = RecordingState.OFF
        self.recording_active = False
        return Event("adjourned", actor)

    def close(self, actor: str, past_end: bool) -> Event:
        """The clerk closes a hearing nobody adjourned, so its record can be sealed: not
        while it sits (or is in recess) unless it is past its scheduled end."""
        self._not_over()
        if self.phase in (Phase.IN_SESSION, Phase.RECESS) and not past_end:
            raise Conflict("the hearing is in session until its scheduled end; "
                           "the court adjourns it", code=Code.HEARING_IN_SESSION)
        before = self.phase
        self.phase = Phase.ADJOURNED
        self.recording = RecordingState.OFF
        self.recording_active = False
        return Event("closed", actor, None, {"from": before.value})

    def set_recording(self, actor: str, action: str, reason: str) -> Event:
        self._actor(actor, Capability.RECORD)
        self._not_over()
        transitions = {
            "start": ({RecordingState.OFF}, RecordingState.ON),
            "pause": ({RecordingState.ON}, RecordingState.PAUSED),
            "resume": ({RecordingState.PAUSED}, RecordingState.ON),
            "stop": ({RecordingState.ON, RecordingState.PAUSED}, RecordingState.OFF),
        }
        if action not in transitions:
            raise HearingError(f"unknown recording action {action!r}", code=Code.INPUT_INVALID)
        allowed, new = transitions[action]
        if self.recording not in allowed:
            raise Conflict(f"recording is {self.recording.value}; cannot {action}",
                           code=Code.RECORDING_BAD_STATE)
        if action in ("pause", "stop") and not reason.strip():
            raise HearingError("a reason is required to pause or stop the recording",
                               code=Code.RECORDING_REASON_REQUIRED)
        self.recording = new
        self.recording_reason = reason
        self.recording_active = False
        return Event("recording_" + action, actor, None, {"reason": reason})

    def add_minute(self, actor: str, text: str) -> Event:
        """A line of the minutes, kept by the clerk (or the judge / mediator) while the
        hearing is open; its time is the event log's."""
        self._actor(actor, Capability.MINUTES)
        self._not_over()
        if not text.strip():
            raise HearingError("a minute needs some text", code=Code.INPUT_INVALID)
        return Event("minute", actor, None, {"text": text.strip()})

    def may_keep_record(self, actor: str) -> None:
        """The clerk's desk: minutes and exhibits (clerk, judge, mediator, admitted)."""
        self._actor(actor, Capability.MINUTES)

    def interrupted(self, since: float, now: float, cause: str) -> list[Event]:
        """The node hosting the hearing stopped (``since``) and the hearing is back
        (``now``): every court decision stands; nobody is connected any more (each has the
        rejoin grace from now to come back to their place); a recording that was on
        resumes by itself, and the gap is stated."""
        if self.phase in (Phase.ADJOURNED, Phase.SCHEDULED):
            return []
        for m in self.members.values():
            if m.connected:
                m.connected = False
                m.last_seen = now
        seconds = round(max(0.0, now - since), 1)
        recording_gap = self.recording is RecordingState.ON and self.phase is Phase.IN_SESSION
        self.recording_active = False
        self.interruption = {"from": round(since, 3), "to": round(now, 3), "seconds": seconds,
                             "cause": cause, "recording_gap": recording_gap}
        events = [Event("hearing_interrupted", None, None, dict(self.interruption))]
        if recording_gap:
            events.append(Event("recording_gap", None, None, {
                "from": round(since, 3), "to": round(now, 3), "seconds": seconds,
                "cause": cause}))
        return events

    def recording_receiving(self) -> Event | None:
        """The recorder reports media arriving: the record is really being made."""
        if self.recording is not RecordingState.ON or self.recording_active:
            return None
        self.recording_active = True
        return Event("recording_receiving", None)

    # ---- serialisation -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["phase"] = self.phase.value
        d["recording"] = self.recording.value
        d["members"] = {
            k: {**asdict(m), "role": m.role.value, "presence": m.presence.value}
            for k, m in self.members.items()
        }
        d["settlement"] = asdict(self.settlement) if self.settlement else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        members = {
            k: Member(**{**m, "role": Role(m["role"]), "presence": Presence(m["presence"])})
            for k, m in d["members"].items()
        }
        return cls(
            hearing_id=HearingId(d["hearing_id"]),
            kind=HearingKind(d["kind"]),
            phase=Phase(d["phase"]),
            locked=d["locked"],
            recording=RecordingState(d["recording"]),
            recording_reason=d["recording_reason"],
            recording_active=bool(d.get("recording_active", False)),
            members=members,
            caucuses=dict(d.get("caucuses", {})),
            caucus_counter=int(d.get("caucus_counter", 0)),
            settlement=Settlement(**d["settlement"]) if d.get("settlement") else None,
            interruption=d.get("interruption"),
            version=d["version"],
        )

    @classmethod
    def for_hearing(cls, hearing: Hearing) -> Session:
        return cls(hearing_id=hearing.id, kind=hearing.kind)
