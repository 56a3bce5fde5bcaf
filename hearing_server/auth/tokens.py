"""Signed, short-lived tokens (PyJWT, algorithm pinned to HS256).

Join tokens carry the hearing, participant, role and link id; the role is
taken from here, never from a message. Staff session tokens go in an
HttpOnly cookie. Revocation (re-issued links) is checked by the services
against the store, since it needs state.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from ..domain.errors import Code, TokenError
from ..domain.ids import HearingId, LinkId, ParticipantId
from ..domain.roles import Role, StaffRole

ALGORITHM = "HS256"  # pinned: tokens with any other "alg" (including "none") are refused
JOIN_AUDIENCE = "hearing-join"
STAFF_AUDIENCE = "hearing-staff"
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class JoinClaims:
    hearing_id: HearingId
    participant_id: ParticipantId
    role: Role
    link_id: LinkId
    issued_at: float
    expires_at: float


class PrincipalKind:
    ACCOUNT = "account"      # a signed-in staff account (session cookie)
    API_KEY = "api_key"      # a case-management system (Authorization: Bearer)
    OPERATOR = "operator"    # the command line on the node itself (holds the data folder)


@dataclass(frozen=True)
class StaffClaims:
    """Who is asking: the principal every authorisation decision is made for."""

    username: str
    role: StaffRole
    expires_at: float
    #: The account's session generation when the token was issued (see StaffAccount.epoch).
    epoch: int = 0
    #: The session token's id (``jti``), revoked on sign-out.
    token_id: str = ""
    kind: str = PrincipalKind.ACCOUNT
    #: What an API key may be used for (accounts and the operator are not scoped).
    scopes: frozenset[str] = field(default_factory=frozenset)


class TokenService:
    def __init__(self, secret: bytes, issuer: str, join_ttl: float, staff_ttl: float) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 bytes")
        self._secret = secret
        self._issuer = issuer
        self.join_ttl = join_ttl
        self.staff_ttl = staff_ttl

    def issue_join(self, hearing_id: HearingId, participant_id: ParticipantId, role: Role,
                   link_id: LinkId, now: float | None = None, ttl: float | None = None,
                   expires_at: float | None = None) -> str:
        """A join token; ``expires_at`` (the hearing's end plus grace) wins over ``ttl``."""
        now = time.time() if now is None else now
        claims = {
            "iss": self._issuer,
            "aud": JOIN_AUDIENCE,
            "sub": participant_id,
            "hid": hearing_id,
            "role": role.value,
            "jti": link_id,
            "iat": int(now),
            "nbf": int(now) - 5,
            "exp": int(expires_at if expires_at is not None
                       else now + (self.join_ttl if ttl is None else ttl)),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_join(self, token: Any, check_expiry: bool = True) -> JoinClaims:
        """Verify a join token. ``check_expiry=False`` leaves the lifetime to the caller,
        who checks it against the hearing's current schedule (a rescheduled hearing)."""
        claims = self._decode(token, JOIN_AUDIENCE, ["sub", "hid", "role", "jti"],
                              check_expiry)
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise TokenError("the token names an unknown role", code=Code.TOKEN_INVALID) from exc
        return JoinClaims(
            hearing_id=HearingId(str(claims["hid"])),
            participant_id=ParticipantId(str(claims["sub"])),
            role=role,
            link_id=LinkId(str(claims["jti"])),
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
        )

    def issue_staff(self, username: str, role: StaffRole, now: float | None = None,
                    epoch: int = 0) -> str:
        now = time.time() if now is None else now
        claims = {
            "iss": self._issuer, "aud": STAFF_AUDIENCE, "sub": username, "role": role.value,
            "gen": epoch, "jti": secrets.token_urlsafe(12),
            "iat": int(now), "nbf": int(now) - 5, "exp": int(now + self.staff_ttl),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_staff(self, token: Any) -> StaffClaims:
        claims = self._decode(token, STAFF_AUDIENCE, ["sub", "role", "gen", "jti"])
        try:
            role = StaffRole(claims["role"])
        except ValueError as exc:
            raise TokenError("the token names an unknown role", code=Code.TOKEN_INVALID) from exc
        if not isinstance(claims["gen"], int):
            raise TokenError("the token's session generation is invalid", code=Code.TOKEN_INVALID)
        return StaffClaims(str(claims["sub"]), role, float(claims["exp"]),
                           epoch=claims["gen"], token_id=str(claims["jti"]))

    def _decode(self, token: Any, audience: str, required: list[str],
                check_expiry: bool = True) -> dict[str, Any]:
        if not token:
            raise TokenError("no token was given", code=Code.TOKEN_MISSING)
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise TokenError("the token is not a valid token string", code=Code.TOKEN_MALFORMED)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise TokenError("the token is malformed", code=Code.TOKEN_MALFORMED) from exc
        if header.get("alg") != ALGORITHM:
            raise TokenError(
                f"the token's algorithm {header.get('alg')!r} is not accepted",
                code=Code.TOKEN_ALGORITHM,
            )
        try:
            decoded: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", *required],
                         "verify_exp": check_expiry},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the link has expired; ask the court for a new one",
                             code=Code.TOKEN_EXPIRED) from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenError("the link is not valid yet", code=Code.TOKEN_NOT_YET_VALID) from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("the token's signature is invalid",
                             code=Code.TOKEN_BAD_SIGNATURE) from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenError("the token is not meant for this use",
                             code=Code.TOKEN_INVALID) from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the token is invalid: {exc}", code=Code.TOKEN_INVALID) from exc
        return decoded
