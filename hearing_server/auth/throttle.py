"""Sign-in throttling: failed attempts per key (an account, an address) in a sliding window.

Pure and clock-injectable. Failures of unknown usernames count like any other, so the
throttle does not tell which usernames exist.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

#: Keys tracked at most; the oldest idle ones are dropped first (a flood of random
#: usernames cannot grow memory without bound).
MAX_KEYS = 10_000


class FailureThrottle:
    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float] | None:
        q = self._failures.get(key)
        if q is None:
            return None
        cutoff = self._clock() - self.window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[key]
            return None
        return q

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: it may try now)."""
        q = self._recent(key)
        if q is None or len(q) < self.limit:
            return 0
        return max(1, math.ceil(q[-self.limit] + self.window - self._clock()))

    def failed(self, key: str) -> None:
        q = self._recent(key)
        if q is None:
            if len(self._failures) >= MAX_KEYS:
                del self._failures[next(iter(self._failures))]
            q = self._failures[key] = deque(maxlen=self.limit)
        q.append(self._clock())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
