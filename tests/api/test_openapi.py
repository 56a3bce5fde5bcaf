"""The OpenAPI document: generated from the routes' typed models, valid by
openapi-spec-validator, naming every route the app serves (and none it does not),
with the whole error catalogue; real answers match the schemas it declares."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from hearing_server.api.errors import status_of
from hearing_server.api.openapi import api_routes
from hearing_server.domain.errors import CATALOGUE, Kind
from tests.api.helpers import hearing_body, signed_in
from tests.conftest import Running, token_of


async def fetch_document(running: Running) -> dict[str, Any]:
    async with ClientSession() as anon, anon.get(running.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        doc: dict[str, Any] = await r.json()
    return doc


def check(doc: dict[str, Any], path: str, method: str, status: int, value: Any) -> None:
    """``value`` (an answer's JSON) is valid by the schema the document declares."""
    response = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = {**response["content"]["application/json"]["schema"],
              "components": doc["components"]}
    OAS31Validator(schema).validate(value)


async def test_the_openapi_document_is_valid_by_openapi_spec_validator(
        running: Running) -> None:
    doc = await fetch_document(running)
    validate(doc)  # raises on any error (templated paths without their parameters, ...)
    assert doc["openapi"].startswith("3.1")


async def test_every_route_the_app_serves_is_in_the_document_and_nothing_else(
        running: Running) -> None:
    doc = await fetch_document(running)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(path.replace("{path:.+}", "{path}"), method)
              for path, method, _ in api_routes(running.app)}
    assert served == documented
    assert {("/metrics", "GET"), ("/healthz", "GET"), ("/readyz", "GET"),
            ("/api/v1/recordings/{id}/files/{path}", "GET")} <= served
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(documented)


async def test_every_templated_path_declares_its_parameters(running: Running) -> None:
    doc = await fetch_document(running)
    for path, ops in doc["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, op["operationId"])


async def test_the_error_schema_lists_the_whole_catalogue_with_its_statuses(
        running: Running) -> None:
    doc = await fetch_document(running)
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]["code"]["enum"]) == {c.value for c in CATALOGUE}
    responses = doc["components"]["responses"]
    for code, spec in CATALOGUE.items():
        if spec.kind is not Kind.CLIENT:
            assert code.value in responses[f"Error{status_of(code)}"]["x-codes"], code
    sign_in = doc["paths"]["/api/v1/session"]["post"]
    assert sign_in["security"] == [] and "requestBody" in sign_in
    assert doc["paths"]["/api/v1/hearings"]["get"]["security"] == [{"cookie": []},
                                                                   {"bearer": []}]
    assert set(doc["components"]["securitySchemes"]) == {"cookie", "bearer", "join"}


async def test_request_schemas_come_from_the_models_the_routes_parse(running: Running) -> None:
    doc = await fetch_document(running)
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/api/v1/hearings"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["$ref"].endswith("/ScheduleHearing")
    assert set(schemas["ScheduleHearing"]["required"]) == {
        "case_number", "title", "scheduled_at", "participants"}
    assert schemas["AccountChange"]["additionalProperties"] is False
    s = await signed_in(running, "admin1", "admin")
    async with s:
        async with s.patch(running.url + "/api/v1/staff/admin1", json={"colour": "red"}) as r:
            assert r.status == 400
            check(doc, "/api/v1/staff/{username}", "patch", 400, await r.json())
            assert (await r.json())["error"]["code"] == "input.invalid"
        async with s.post(running.url + "/api/v1/apikeys", json={"name": "cms",
                                                                 "scopes": "all"}) as r:
            assert (await r.json())["error"]["code"] == "apikey.bad_scope"


async def test_real_answers_match_the_schemas_the_document_declares(running: Running) -> None:
    doc = await fetch_document(running)
    s = await signed_in(running, "clerk1", "clerk")
    async with s:
        async with s.post(running.url + "/api/v1/hearings", json=hearing_body()) as r:
            assert r.status == 201
            created = await r.json()
            check(doc, "/api/v1/hearings", "post", 201, created)
        hid = created["hearing"]["id"]
        for path, url in (("/api/v1/hearings", "/api/v1/hearings"),
                          ("/api/v1/hearings/{id}", f"/api/v1/hearings/{hid}"),
                          ("/api/v1/hearings/{id}/service", f"/api/v1/hearings/{hid}/service"),
                          ("/api/v1/me", "/api/v1/me")):
            async with s.get(running.url + url) as r:
                assert r.status == 200, url
                check(doc, path, "get", 200, await r.json())
        async with s.get(running.url + "/api/v1/hearings/h_nope") as r:
            check(doc, "/api/v1/hearings/{id}", "get", 404, await r.json())
    async with ClientSession() as anon:
        token = token_of(created["links"]["party"])
        async with anon.post(running.url + "/api/v1/join", json={"token": token}) as r:
            assert r.status == 200
            check(doc, "/api/v1/join", "post", 200, await r.json())
        for path in ("/healthz", "/readyz"):
            async with anon.get(running.url + path) as r:
                check(doc, path, "get", r.status, await r.json())
