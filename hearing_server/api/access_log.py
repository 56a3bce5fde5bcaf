"""The aiohttp access log as structured fields (method, path without its query
string, status, latency_ms, remote) rather than an Apache line; never a token."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class AccessLogger(AbstractAccessLogger):
    """One record per request. The path is logged without its query string (a token
    could be in it) and nothing from the body or headers. Records logged while the
    request ran carry its hearing/participant ids (``hearing_server.logs``); this
    one does too when the handler bound them with ``bind_log_context``."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        latency_ms = round(time * 1000, 1)
        fields = {"method": request.method, "path": request.path,
                  "status": response.status, "latency_ms": latency_ms,
                  "remote": request.remote or ""}
        self.logger.info("%s %s %d %.1f ms from %s", request.method, request.path,
                         response.status, latency_ms, fields["remote"], extra=fields)
