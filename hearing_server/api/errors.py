"""The REST boundary's one translation of errors: a catalogue code to an HTTP status
and the body ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from recording.errors import RecordingError

from ..domain.errors import CATALOGUE, Code, HearingError, Kind, from_library
from ..logs import bind_log_context

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS: dict[Kind, int] = {
    Kind.INVALID: 400,
    Kind.TOO_LARGE: 413,
    Kind.UNAUTHENTICATED: 401,
    Kind.DENIED: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.RATE_LIMITED: 429,
    Kind.REDIRECT: 307,
    Kind.UNAVAILABLE: 503,
    Kind.INTERNAL: 500,
    Kind.CLIENT: 500,
}
#: the few codes whose HTTP status is more precise than their kind's
STATUS_OF_CODE: dict[Code, int] = {
    Code.ROUTE_METHOD_NOT_ALLOWED: 405,
    Code.RANGE_INVALID: 416,
}


def status_of(code: Code) -> int:
    return STATUS_OF_CODE.get(code, STATUS[CATALOGUE[code].kind])


def error_body(code: Code, message: str, extra: dict[str, str] | None = None,
               ) -> web.Response:
    extra = extra or {}
    headers = {"Retry-After": extra["retry_after"]} if "retry_after" in extra else None
    return web.json_response({"error": {"code": code.value, "message": message, **extra}},
                             status=status_of(code), headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # every record logged for this request (its own task) names the hearing it touches
    bind_log_context(hearing_id=request.match_info.get("id"))
    try:
        return await handler(request)
    except HearingError as exc:
        return error_body(exc.code, exc.message, exc.extra)
    except RecordingError as exc:
        err = from_library(exc.code, str(exc.args[0]))
        return error_body(err.code, err.message)
    except web.HTTPNotFound:
        return error_body(Code.ROUTE_NOT_FOUND, f"no such path {request.path}")
    except web.HTTPMethodNotAllowed:
        return error_body(Code.ROUTE_METHOD_NOT_ALLOWED, f"{request.method} is not allowed here")
    except web.HTTPRequestEntityTooLarge:
        return error_body(Code.REQUEST_TOO_LARGE, "the request body is too large")
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("request %s %s failed", request.method, request.path)
        return error_body(Code.ERROR_INTERNAL, "the server could not handle this request")
