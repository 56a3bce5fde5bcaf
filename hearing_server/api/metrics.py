"""Prometheus ``/metrics``: the node's registry, its HTTP and edge counters, the
event-loop lag probe, the data folder's free space, Redis errors, process figures
and the build. The relay's collector is registered into it by the composition root."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib import metadata
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..services.ports import RecordingEvents
from ..store.redis_errors import REDIS_ERRORS
from .openapi import operation

METRICS_REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics", CollectorRegistry)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG_PROBE_SECONDS = 0.25
#: long-lived (WebSocket, long-polling) requests would only blur the latency histogram
UNTIMED_PREFIXES = ("/socket.io",)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


class _NodeCollector(Collector):
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    def collect(self) -> Iterator[Metric]:
        free = GaugeMetricFamily("hearing_data_dir_free_bytes",
                                 "Free space of the data folder's file system")
        try:
            free.add_metric([], shutil.disk_usage(self._data_dir).free)
        except OSError:
            pass  # no sample: an alert on absent() sees it
        yield free
        errors = CounterMetricFamily("hearing_redis_errors",
                                     "Redis commands that failed (connection, timeout, ...)",
                                     labels=["error"])
        for name, count in sorted(REDIS_ERRORS.by_type.items()):
            errors.add_metric([name], count)
        yield errors


class NodeMetrics:
    """The node's registry and the edges' counters (implements ``ports.Counters``)."""

    def __init__(self, data_dir: Path, node_id: str = "") -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        build = GaugeMetricFamily("hearing_build_info", "The running build (value 1)",
                                  labels=["version", "python", "aiortc", "node_id"])
        build.add_metric([_version("hearing-server"), platform.python_version(),
                          _version("aiortc"), node_id], 1)

        class _Build(Collector):
            def collect(self) -> Iterator[Metric]:
                yield build

        r.register(_Build())
        r.register(_NodeCollector(data_dir))
        self.http = Histogram("hearing_http_request_duration_seconds",
                              "HTTP requests, by route template, method and status",
                              ["route", "method", "status"], buckets=HTTP_BUCKETS, registry=r)
        self.joins = Counter("hearing_joins", "Socket joins, accepted or refused (by code)",
                             ["outcome", "code"], registry=r)
        self.limited = Counter("hearing_rate_limited",
                               "Requests and events refused by a rate limit, by where "
                               "(signaling: events per connection; http: 429 answers)",
                               ["scope"], registry=r)
        self.recording_failures = Counter("hearing_recording_failures",
                                          "Recording failures, by code", ["code"],
                                          registry=r)
        self.loop_lag = Histogram("hearing_event_loop_lag_seconds",
                                  "How late the event loop woke a probe sleeping "
                                  f"{LAG_PROBE_SECONDS} s", buckets=LAG_BUCKETS, registry=r)

    # ---- ports.Counters ----------------------------------------------------------------

    def join_accepted(self) -> None:
        self.joins.labels("accepted", "").inc()

    def join_refused(self, code: str) -> None:
        self.joins.labels("refused", str(code)).inc()

    def rate_limited(self, scope: str) -> None:
        self.limited.labels(scope).inc()

    # ---- HTTP ----------------------------------------------------------------------------

    def middleware(self) -> Middleware:
        @web.middleware
        async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith(UNTIMED_PREFIXES):
                return await handler(request)
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                self.http.labels(route, request.method, str(status)).observe(
                    time.perf_counter() - started)
                if status == 429:
                    self.rate_limited("http")

        return timed

    # ---- the event loop ----------------------------------------------------------------

    async def probe_loop_lag(self, interval: float = LAG_PROBE_SECONDS) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(interval)
            self.loop_lag.observe(max(0.0, loop.time() - started - interval))

    def lag_probe(self) -> Callable[[web.Application], AsyncIterator[None]]:
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(self.probe_loop_lag())
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return ctx


class CountedRecordingEvents:
    """``ports.RecordingEvents`` that counts failures and hands everything on."""

    def __init__(self, inner: RecordingEvents, metrics: NodeMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def recording_receiving(self, hearing_id: str) -> None:
        await self._inner.recording_receiving(hearing_id)

    async def recording_failed(self, hearing_id: str, code: str) -> None:
        self._metrics.recording_failures.labels(str(code)).inc()
        await self._inner.recording_failed(hearing_id, code)


@operation("getMetrics", "Prometheus metrics (text exposition format)", security=(),
           content="text/plain", tag="operations")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
