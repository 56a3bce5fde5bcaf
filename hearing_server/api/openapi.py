"""The OpenAPI 3.1 document of the node's HTTP API, generated from the routes.

Each handler is declared with :func:`operation` (an operation id, a summary, the
typed request and response models of :mod:`hearing_server.api.models`, its query
parameters); :func:`document` walks the application's router, so a route without a
declaration fails the test suite and a declaration cannot name a path nobody serves.
Path parameters come from the route's own template. The error body's ``code`` is the
whole catalogue (:data:`hearing_server.domain.errors.CATALOGUE`) and every error
status is the one :func:`hearing_server.api.errors.status_of` answers with.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from ..domain.errors import CATALOGUE, Code, Kind
from .errors import status_of
from .models import DOMAIN_SCHEMAS, Model, models_used, schema_of

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])

#: Either credential is accepted by every staff route.
STAFF_AUTH: tuple[str, ...] = ("cookie", "bearer")
OPERATION_ATTR = "__openapi_operation__"


@dataclass(frozen=True)
class Query:
    name: str
    doc: str
    type: str = "string"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    body: type[Model] | None = None
    response: type[Model] | None = None
    status: int = 200
    #: security schemes that authorise it (empty: anyone)
    security: tuple[str, ...] = STAFF_AUTH
    query: tuple[Query, ...] = ()
    #: media type of a success that is not JSON (a file, Prometheus text)
    content: str | None = None
    tag: str = "hearings"
    params: tuple[tuple[str, str], ...] = ()


def operation(operation_id: str, summary: str, **kw: Any) -> Callable[[H], H]:
    """Declare a handler's place in the API description (apply below ``@routes.get``)."""
    op = Operation(operation_id, summary, **kw)

    def mark(handler: H) -> H:
        setattr(handler, OPERATION_ATTR, op)
        return handler

    return mark


def operation_of(handler: Any) -> Operation | None:
    op = getattr(handler, OPERATION_ATTR, None)
    return op if isinstance(op, Operation) else None


def is_api_path(path: str) -> bool:
    """Paths the document covers: the API, health and metrics (not the pages)."""
    return path.startswith("/api/") or path in ("/metrics", "/healthz", "/readyz")


def route_path(route: web.AbstractRoute) -> str | None:
    info = route.resource.get_info() if route.resource is not None else {}
    path = info.get("path") or info.get("formatter")
    return path if isinstance(path, str) else None


def api_routes(app: web.Application) -> list[tuple[str, str, Any]]:
    """(path, method, handler) of every documented-to-be route the app serves."""
    out = []
    for route in app.router.routes():
        path = route_path(route)
        if path is None or route.method in ("HEAD", "*") or not is_api_path(path):
            continue
        out.append((path, route.method, route.handler))
    return out


# ---- errors -----------------------------------------------------------------------------------

def server_codes() -> list[Code]:
    """Every code the server may answer with (the client-only kind excluded)."""
    return [c for c, s in CATALOGUE.items() if s.kind is not Kind.CLIENT]


def error_statuses() -> dict[int, list[Code]]:
    out: dict[int, list[Code]] = {}
    for code in server_codes():
        out.setdefault(status_of(code), []).append(code)
    return dict(sorted(out.items()))


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": [c.value for c in CATALOGUE],
                         "description": "a stable code of the catalogue (docs/protocol.md)"},
                "message": {"type": "string", "description": "for people; may change"},
                "retry_after": {"type": "string", "description": "seconds (rate.limited)"},
                "url": {"type": "string", "description": "the owning node (node.redirect)"},
            },
            "additionalProperties": {"type": "string"},
        }},
    }


def _error_responses() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, codes in error_statuses().items():
        out[f"Error{status}"] = {
            "description": "codes: " + ", ".join(c.value for c in codes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            "x-codes": [c.value for c in codes],
        }
    return out


# ---- the document ---------------------------------------------------------------------------

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _operation(op: Operation, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}}}
    elif op.content is not None:
        success["content"] = {op.content: {"schema": {"type": "string", "format": "binary"}}}
    responses[str(op.status)] = success
    for status in error_statuses():
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    params_doc = {"id": "the hearing id", **dict(op.params)}
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
         "description": params_doc.get(name, name)}
        for name in _PARAM.findall(path)]
    parameters += [{"name": q.name, "in": "query", "required": False,
                    "schema": {"type": q.type}, "description": q.doc} for q in op.query]
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary,
                           "tags": [op.tag], "responses": responses,
                           "security": [{s: []} for s in op.security] if op.security else []}
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
    return out


def document(app: web.Application, version: str = "1") -> dict[str, Any]:
    """The OpenAPI document of every API route ``app`` serves (ValueError: one is not
    declared with :func:`operation`)."""
    paths: dict[str, dict[str, Any]] = {}
    models: list[type[Model]] = []
    for path, method, handler in api_routes(app):
        op = operation_of(handler)
        if op is None:
            raise ValueError(f"{method} {path} is not declared with openapi.operation")
        template = _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
        paths.setdefault(template, {})[method.lower()] = _operation(op, path)
        for model in (op.body, op.response):
            if model is not None:
                models += [m for m in models_used(model) if m not in models]
    schemas: dict[str, Any] = {"Error": _error_schema(), **DOMAIN_SCHEMAS}
    schemas.update({m.__name__: schema_of(m) for m in models})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hearing Server API", "version": version,
                 "description": "REST API of one Hearing Server node. Errors are "
                                "{\"error\": {\"code\", \"message\"}} with a stable code."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "hs_session",
                           "description": "staff session, set by POST /api/v1/session"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "API key (hearing-server apikey create)"},
                "join": {"type": "apiKey", "in": "header", "name": "X-Join-Token",
                         "description": "a participant's join link token"},
            },
            "schemas": schemas,
            "responses": _error_responses(),
        },
    }
