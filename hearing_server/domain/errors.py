"""One exception hierarchy with stable string codes.

Every boundary (HTTP, socket.io, CLI) translates a :class:`HearingError` in one
place into a body ``{"code": ..., "message": ...}``. The codes are part of the
public protocol: never rename one, add new ones instead.
"""

from __future__ import annotations


class HearingError(Exception):
    """Base of every expected error; ``code`` is stable, ``status`` is the HTTP status."""

    code: str = "error.internal"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 extra: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(HearingError):
    code = "not_found"
    status = 404


class InvalidInput(HearingError):
    code = "input.invalid"
    status = 400


class PermissionDenied(HearingError):
    code = "permission.denied"
    status = 403


class Conflict(HearingError):
    code = "state.conflict"
    status = 409


class AuthError(HearingError):
    code = "auth.required"
    status = 401


class TokenError(HearingError):
    code = "token.invalid"
    status = 401


class RateLimited(HearingError):
    code = "rate.limited"
    status = 429


class Unavailable(HearingError):
    code = "service.unavailable"
    status = 503
