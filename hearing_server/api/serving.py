"""Electronic service: the clerk's routes (documents, notices, serve, the service record
and certificate) and the recipient's (open, download, acknowledge: the service token
is the credential, sent in the body, never in a URL a proxy would log)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from ..auth.authz import Action
from ..domain.errors import Code, InvalidInput
from ..services.serving import ServingService
from . import models as m
from .openapi import Query, operation
from .routes import NO_STORE, hearing_allowed, parsed, reply

SERVING: web.AppKey[ServingService] = web.AppKey("serving", ServingService)

routes = web.RouteTableDef()


def _file(content: bytes, media_type: str, name: str, attach: bool = True) -> web.Response:
    how = "attachment" if attach else "inline"
    return web.Response(body=content, content_type=media_type, headers={
        "Cache-Control": "private, no-store",
        "Content-Disposition": f"{how}; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


async def _read_upload(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise InvalidInput(f"a document may be at most {limit} bytes",
                           code=Code.SERVICE_DOCUMENT_TOO_LARGE)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise InvalidInput(f"a document may be at most {limit} bytes",
                               code=Code.SERVICE_DOCUMENT_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


@routes.post("/api/v1/hearings/{id}/documents")
@operation("uploadDocument", "Upload a document to serve (the raw bytes of a PDF, PNG or "
           "JPEG file as the body; its type is told by its content; hashed with SHA-256)",
           response=m.DocumentOne, status=201, tag="service",
           query=(Query("name", "the file name shown to the recipient"),))
async def upload(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.LINK_ISSUE)
    serving = request.app[SERVING]
    content = await _read_upload(request, serving.max_bytes)
    doc = await serving.upload(hearing, content, request.query.get("name", ""), who.username)
    return reply(m.DocumentOne(document=doc.to_dict()), status=201)


@routes.get("/api/v1/hearings/{id}/documents")
@operation("listDocuments", "The hearing's documents for service", response=m.DocumentList,
           tag="service")
async def documents(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    docs = await request.app[SERVING].documents(hearing.id)
    return reply(m.DocumentList(documents=[d.to_dict() for d in docs]))


@routes.get("/api/v1/hearings/{id}/documents/{doc}")
@operation("getDocument", "A document's bytes (as served)", tag="service",
           content="application/octet-stream", params=(("doc", "the document's SHA-256"),))
async def document(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    doc, content = await request.app[SERVING].document(hearing.id, request.match_info["doc"])
    return _file(content, doc.media_type, doc.name)


@routes.post("/api/v1/hearings/{id}/participants/{pid}/notice")
@operation("makeNotice", "Generate the participant's notice of hearing (PDF, with a new "
           "join link and its QR code; the older link is revoked) as a document to serve",
           response=m.DocumentOne, status=201, tag="service",
           params=(("pid", "the participant id"),))
async def notice(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.LINK_ISSUE)
    doc = await request.app[SERVING].notice(hearing, request.match_info["pid"], who.username)
    return reply(m.DocumentOne(document=doc.to_dict()), status=201, headers=NO_STORE)


@routes.post("/api/v1/hearings/{id}/services")
@operation("serve", "Serve documents and/or the join link to a participant by e-mail "
           "(temporary mail failures are retried; the answer says sent or failed)",
           body=m.Serve, response=m.ServiceOne, status=201, tag="service")
async def serve(request: web.Request) -> web.Response:
    who, hearing = await hearing_allowed(request, Action.LINK_ISSUE)
    body, _ = await parsed(request, m.Serve)
    service = await request.app[SERVING].serve(hearing, body.participant_id, body.email,
                                               list(body.documents), body.include_link,
                                               who.username)
    return reply(m.ServiceOne(service=service), status=201, headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}/services")
@operation("getServices", "The service record: every service with its steps",
           response=m.Services, tag="service")
async def services(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    return reply(m.Services(services=await request.app[SERVING].record(hearing.id)),
                 headers=NO_STORE)


@routes.get("/api/v1/hearings/{id}/services/certificate")
@operation("getCertificateOfService", "The printable certificate of service (PDF)",
           tag="service", content="application/pdf")
async def certificate(request: web.Request) -> web.Response:
    _, hearing = await hearing_allowed(request, Action.HEARING_READ)
    pdf = await request.app[SERVING].certificate(hearing)
    return _file(pdf, "application/pdf", f"certificate-of-service-{hearing.case_number}.pdf",
                 attach=False)


@routes.post("/api/v1/served/open")
@operation("openService", "The recipient opens their service (recorded with time and "
           "address)", body=m.ServiceToken, response=m.ServedInfo, security=(),
           tag="service")
async def served_open(request: web.Request) -> web.Response:
    body, _ = await parsed(request, m.ServiceToken)
    info = await request.app[SERVING].open(body.token, request.remote or "",
                                           request.headers.get("User-Agent", ""))
    return web.json_response(info, headers=NO_STORE)


@routes.post("/api/v1/served/download")
@operation("downloadServed", "The recipient downloads one served document (recorded)",
           body=m.ServedDownload, security=(), tag="service",
           content="application/octet-stream")
async def served_download(request: web.Request) -> web.Response:
    body, _ = await parsed(request, m.ServedDownload)
    doc, content = await request.app[SERVING].download(body.token, body.document,
                                                       request.remote or "")
    return _file(content, doc.media_type, doc.name)


@routes.post("/api/v1/served/acknowledge")
@operation("acknowledgeService", "The recipient acknowledges receipt (typed name and an "
           "explicit confirmation)", body=m.Acknowledge, response=m.Acknowledged,
           security=(), tag="service")
async def served_acknowledge(request: web.Request) -> web.Response:
    body, _ = await parsed(request, m.Acknowledge)
    ack = await request.app[SERVING].acknowledge(body.token, body.name, body.confirm,
                                                 request.remote or "")
    return reply(m.Acknowledged(acknowledged=ack), headers=NO_STORE)
