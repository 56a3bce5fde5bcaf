"""The OpenAPI document of ``/api/v1`` (kept by hand, checked by a test against the routes)."""

from __future__ import annotations

from typing import Any

_error = {"$ref": "#/components/schemas/Error"}
_auth: list[dict[str, list[str]]] = [{"cookie": []}, {"bearer": []}]


def _op(summary: str, ok: int = 200, body: bool = False, secured: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {"description": "success"},
            "4XX": {"description": "error", "content": {"application/json": {"schema": _error}}},
        },
    }
    if secured:
        op["security"] = _auth
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"type": "object"}}}}
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Hearing Server API", "version": "1"},
    "paths": {
        "/api/v1/session": {
            "post": _op("Sign a staff member in (sets the session cookie)", body=True,
                        secured=False),
            "delete": _op("Sign out", secured=False),
        },
        "/api/v1/me": {"get": _op("The signed-in staff member")},
        "/api/v1/hearings": {
            "get": _op("List hearings (filter with ?case_number=)"),
            "post": _op("Schedule a hearing; returns one join link per participant", 201,
                        body=True),
        },
        "/api/v1/hearings/{id}": {
            "get": _op("A hearing and its live state"),
            "patch": _op("Reschedule (body: scheduled_at)", body=True),
            "delete": _op("Cancel a hearing"),
        },
        "/api/v1/hearings/{id}/assignment": {
            "put": _op("Assign the presiding judge/mediator (presiding) and the clerks "
                       "(clerks: list of usernames)", body=True),
        },
        "/api/v1/staff": {
            "get": _op("Staff accounts (admin)"),
            "post": _op("Create a staff account (admin)", 201, body=True),
        },
        "/api/v1/staff/{username}": {
            "patch": _op("Change role, reset password, disable/enable, end sessions (admin); "
                         "ends the account's sessions", body=True),
            "delete": _op("Remove a staff account (admin); ends its sessions"),
        },
        "/api/v1/apikeys": {
            "get": _op("API keys without their secrets (admin)"),
            "post": _op("Create an API key (name, role, scopes, ttl_days) (admin)", 201,
                        body=True),
        },
        "/api/v1/apikeys/{name}": {"delete": _op("Revoke the API keys of this name (admin)")},
        "/api/v1/hearings/{id}/participants/{pid}/link": {
            "post": _op("Re-issue a participant's join link (revokes the older one)", 201),
        },
        "/api/v1/hearings/{id}/service": {"get": _op("Service record of every link")},
        "/api/v1/hearings/{id}/events": {"get": _op("The hearing's event log")},
        "/api/v1/recordings": {"get": _op(
            "List case records (filter with ?case_number=, ?date=YYYY-MM-DD, ?hearing_id=)")},
        "/api/v1/recordings/{id}/manifest": {"get": _op("The record's signed manifest")},
        "/api/v1/recordings/{id}/attendance": {"get": _op("Who was present when")},
        "/api/v1/recordings/{id}/files/{path}": {"get": _op(
            "Stream (HTTP Range) or download (?download=1) a file listed in the manifest")},
        "/api/v1/recordings/{id}/export": {"get": _op("The whole record as one zip bundle")},
        "/api/v1/recordings/{id}/verify": {"post": _op("Verify the record (hashes, chain, "
                                                       "signature)")},
        "/api/v1/recordings/{id}/composite": {
            "post": _op("Render the composite viewing copy (a background job)", 202),
            "get": _op("The composite job's progress, or the file with ?file=1"),
        },
        "/api/v1/join": {"post": _op("Open a join link (records the first opening)", body=True,
                                     secured=False)},
    },
    "components": {
        "securitySchemes": {
            "cookie": {"type": "apiKey", "in": "cookie", "name": "hs_session"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}}},
        },
    },
}
