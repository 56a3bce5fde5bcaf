"""What every HTTP request and response passes through before and after the routes:
the trusted-proxy view of the client, the cross-site request check and the security
headers. Wired by the composition root (``build_app``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..domain.errors import Code, PermissionDenied

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FRAME_ANCESTORS = "frame-ancestors 'none'"


def parse_networks(items: tuple[str, ...]) -> list[Network]:
    """``trusted_proxies`` entries: addresses or CIDR blocks (ValueError when invalid)."""
    out: list[Network] = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {item!r} is not an address or CIDR block") \
                from exc
    return out


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _last(request: web.Request, header: str) -> str | None:
    values = [v.strip() for h in request.headers.getall(header, []) for v in h.split(",")]
    values = [v for v in values if v]
    return values[-1] if values else None


def forwarded_middleware(trusted_proxies: tuple[str, ...]) -> Middleware:
    """Take the client's address, scheme and host from ``X-Forwarded-For/-Proto/-Host``
    only when the connection comes from a trusted proxy; otherwise ignore those headers.

    The client is the right-most ``X-Forwarded-For`` entry that is not itself a trusted
    proxy (entries further left were written by the client and prove nothing)."""
    networks = parse_networks(trusted_proxies)

    def trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return addr is not None and any(addr in n for n in networks)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not networks or not trusted(_address(request.remote or "")):
            return await handler(request)
        overrides: dict[str, Any] = {}
        chain = [v.strip() for h in request.headers.getall("X-Forwarded-For", [])
                 for v in h.split(",") if v.strip()]
        for entry in reversed(chain):
            addr = _address(entry)
            if addr is None:
                break  # a garbled entry: keep the last trustworthy address we had
            overrides["remote"] = str(addr)
            if not trusted(addr):
                break
        proto = _last(request, "X-Forwarded-Proto")
        if proto in ("http", "https"):
            overrides["scheme"] = proto
        host = _last(request, "X-Forwarded-Host")
        if host:
            overrides["host"] = host
        return await handler(request.clone(**overrides) if overrides else request)

    return middleware


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


#: API routes that never read the session cookie (the join page may call another node).
COOKIELESS = frozenset({"/api/v1/join"})


def cross_site_middleware(base_url: str, session_cookie: str,
                          sign_in_path: str = "/api/v1/session") -> Middleware:
    """Refuse a state-changing request authenticated by the session cookie (and the
    sign-in itself) unless it comes from this site: ``Sec-Fetch-Site`` (when the browser
    sends it) must be ``same-origin`` or ``none`` and ``Origin`` (when sent) must be this
    node's origin. API-key requests (``Authorization: Bearer``) carry no ambient
    credential and are not checked; clients that send neither header are not browsers."""
    public = origin_of(base_url)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.method not in SAFE_METHODS
                and request.path.startswith("/api/") and request.path not in COOKIELESS
                and not request.headers.get("Authorization", "").startswith("Bearer ")
                and (session_cookie in request.cookies or request.path == sign_in_path)):
            site = request.headers.get("Sec-Fetch-Site")
            origin = request.headers.get("Origin")
            if site is not None and site not in ("same-origin", "none"):
                raise PermissionDenied(f"a {site} request may not use the staff session",
                                       code=Code.REQUEST_CROSS_SITE)
            if origin is not None and origin not in (
                    public, f"{request.scheme}://{request.host}"):
                raise PermissionDenied("a request from another site may not use the staff "
                                       "session", code=Code.REQUEST_CROSS_SITE)
        return await handler(request)

    return middleware


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: no framing, no MIME sniffing, on every response."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    csp = headers.get("Content-Security-Policy")
    if csp is None:
        headers["Content-Security-Policy"] = FRAME_ANCESTORS
    elif "frame-ancestors" not in csp:
        headers["Content-Security-Policy"] = f"{csp}; {FRAME_ANCESTORS}"
