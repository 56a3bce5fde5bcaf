"""Prometheus ``/metrics``: renders the registry the composition root built."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .openapi import operation

METRICS_REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics", CollectorRegistry)


@operation("getMetrics", "Prometheus metrics (text exposition format)", security=(),
           content="text/plain", tag="operations")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
