"""How many times Redis failed this node, by error type: counted where every Redis
error becomes ``store.unavailable`` (``redis_store.unavailable``), read by the metrics.
A process-lifetime count, as a Prometheus counter is."""

from __future__ import annotations

from collections import Counter


class RedisErrors:
    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()

    def add(self, exc: BaseException) -> None:
        self.by_type[type(exc).__name__] += 1


REDIS_ERRORS = RedisErrors()
