"""Entering and leaving a hearing: the link, the node, the welcome, the departure."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ..auth.tokens import JoinClaims, TokenService
from ..domain.errors import Code, Conflict, HearingError, NotFound, TokenError
from ..domain.hearing import LANGUAGES, Hearing, HearingStatus
from ..domain.ids import ParticipantId
from ..domain.roles import role_table
from ..domain.session import Event, Session
from ..settings import Settings
from ..store.nodes import PIN_TTL_SECONDS, Nodes
from .ice import IceServers
from .ports import MediaPort
from .restore import CAUSE_TAKEOVER
from .unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)


class EntryService:
    def __init__(self, work: UnitOfWork, tokens: TokenService, relay: MediaPort,
                 settings: Settings, ice: IceServers, nodes: Nodes | None = None) -> None:
        self._work = work
        self._ice = ice
        self._tokens = tokens
        self._relay = relay
        self._settings = settings
        self._nodes = nodes

    async def authenticate(self, token: Any, hearing_id: str | None = None) -> tuple[
            Hearing, JoinClaims]:
        """Check a join token fully: signature, times, revocation, hearing."""
        store = self._work.store
        claims = self._tokens.verify_join(token, check_expiry=False)
        if hearing_id is not None and hearing_id != claims.hearing_id:
            raise TokenError("this link is for another hearing", code=Code.TOKEN_WRONG_HEARING)
        link = await store.get_link(claims.link_id)
        if link is None or link.hearing_id != claims.hearing_id or \
                link.participant_id != claims.participant_id:
            raise TokenError("this link is not known to the court", code=Code.TOKEN_INVALID)
        if link.revoked:
            raise TokenError("this link was replaced by a newer one; use the latest link",
                             code=Code.TOKEN_REVOKED)
        hearing = await store.get_hearing(claims.hearing_id)
        if hearing is None:
            raise NotFound("the hearing no longer exists", code=Code.HEARING_NOT_FOUND)
        if hearing.status is HearingStatus.CANCELLED:
            raise Conflict("this hearing was cancelled", code=Code.HEARING_CANCELLED)
        spec = hearing.participant(claims.participant_id)
        if spec is None or spec.role is not claims.role:
            raise TokenError("this link does not match the hearing's participants",
                             code=Code.TOKEN_INVALID)
        grace = self._settings.join_link_grace
        until = hearing.links_valid_until(grace)
        if hearing.link_expired(claims.issued_at, claims.expires_at, self._work.clock(), grace):
            raise TokenError("the hearing this link was for is over; ask the court for a new "
                             "link if it goes on", code=Code.TOKEN_EXPIRED)
        return hearing, replace(claims, expires_at=until)

    async def place(self, hearing: Hearing) -> None:
        """Make sure the hearing's media lives on this node, or send the joiner on."""
        if self._nodes is None:
            return
        placement = await self._nodes.place(hearing.id)
        if not placement.here:
            raise HearingError("this hearing is hosted by another node",
                               code=Code.NODE_REDIRECT,
                               extra={"url": placement.url, "node": placement.node_id})
        if placement.moved_from is not None:
            now = self._work.clock()
            lost = placement.moved_from
            since = now - PIN_TTL_SECONDS  # the lost node's pin expired: it was gone by then

            def adopt(s: Session) -> list[Event]:
                moved = Event("hearing_moved", None, None,
                              {"from": lost, "to": placement.node_id})
                return [moved, *s.interrupted(since, now, CAUSE_TAKEOVER)]

            for event in await self._work.change(hearing, adopt):
                self._work.events.append(hearing.id, event)
            logger.warning("hearing %s moved from lost node %s to %s", hearing.id, lost,
                           placement.node_id)

    async def open_link(self, token: Any, address: str, user_agent: str) -> dict[str, Any]:
        """The join page opened a link: record the first opening and describe the hearing."""
        hearing, claims = await self.authenticate(token)
        first = await self._work.store.mark_link_opened(claims.link_id, self._work.clock(),
                                                        address, user_agent)
        if first:
            self._work.events.append(hearing.id, Event(
                "link_opened", claims.participant_id, claims.participant_id,
                {"link_id": claims.link_id, "address": address, "user_agent": user_agent[:300]}))
        spec = hearing.participant(claims.participant_id)
        assert spec is not None
        session = await self._work.store.get_session(hearing.id)
        return {
            "court": self._settings.court_name,
            "court_contact": self._settings.court_contact,
            "default_language": self._settings.default_language,
            "hearing": {
                "id": hearing.id, "case_number": hearing.case_number, "title": hearing.title,
                "kind": hearing.kind.value, "scheduled_at": hearing.scheduled_at.isoformat(),
                # an adjourned hearing's page says so at once, not after the device check
                "phase": session.phase.value if session else "scheduled",
            },
            "you": {"participant_id": spec.id, "name": spec.name, "role": spec.role.value,
                    "language": spec.language},
            "expires_at": claims.expires_at,
            "roles": role_table(),
        }

    def court(self) -> dict[str, Any]:
        """The court's name, contact line and default language (public)."""
        return {"name": self._settings.court_name, "contact": self._settings.court_contact,
                "default_language": self._settings.default_language,
                "languages": list(LANGUAGES)}

    async def join(self, hearing: Hearing, claims: JoinClaims) -> dict[str, Any]:
        """A connection joined: the participant enters (or returns); the welcome."""
        spec = hearing.participant(claims.participant_id)
        assert spec is not None
        now = self._work.clock()
        event = await self._work.change(hearing, lambda s: s.join(
            ParticipantId(spec.id), spec.name, spec.role, now, self._settings.rejoin_grace))
        await self._work.store.mark_link_joined(claims.link_id, now)
        session = await self._work.publish(hearing, [event])
        return {
            "hearing": {"id": hearing.id, "case_number": hearing.case_number,
                        "title": hearing.title, "kind": hearing.kind.value},
            **self.view(session, spec.id),
            "roles": role_table(),
            "codec": {"video": self._settings.video_codec, "audio": "opus"},
            # how long a dropped participant keeps their place (the court's page shows
            # someone who has not returned by then as gone)
            "rejoin_grace": self._settings.rejoin_grace,
        }

    def view(self, session: Session, participant_id: str) -> dict[str, Any]:
        """What one participant may see of the session now (the welcome's live part):
        relay credentials only once admitted (sent with ``admitted`` otherwise)."""
        me = session.members.get(participant_id)
        out: dict[str, Any] = {"state": session.state_for(participant_id), "ice_servers": []}
        if me is not None:
            out["you"] = me.public()
            out["presence"] = session.presence_for(me.role)
            if session.is_admitted(participant_id):
                out["ice_servers"] = self._ice.for_participant(session.hearing_id,
                                                               participant_id)
        return out

    async def hello(self, hearing_id: str, participant_id: str,
                    welcome: dict[str, Any]) -> dict[str, Any]:
        """The welcome again, with the live part brought up to date."""
        session = await self._work.store.get_session(hearing_id)
        if session is None:
            return dict(welcome)
        return {**welcome, **self.view(session, participant_id)}

    async def connection_lost(self, hearing_id: str, participant_id: str,
                              explicit: bool = False) -> None:
        """The participant left (``explicit``) or their connection dropped."""
        hearing = await self._work.store.get_hearing(hearing_id)
        if hearing is None:
            return
        now = self._work.clock()
        if explicit:
            event = await self._work.change(hearing, lambda s: s.leave(participant_id, now))
        else:
            event = await self._work.change(hearing, lambda s: s.disconnect(participant_id, now))
        await self._relay.disconnect(hearing_id, participant_id, "left")
        if event is not None:
            await self._work.publish(hearing, [event])

    async def replaced(self, hearing_id: str, participant_id: str) -> None:
        """A newer connection took over: close the old one's media quietly."""
        await self._relay.disconnect(hearing_id, participant_id, "replaced")
        self._work.events.append(hearing_id, Event("connection_replaced", participant_id,
                                                   participant_id))

    async def session(self, hearing_id: str) -> Session | None:
        return await self._work.store.get_session(hearing_id)
