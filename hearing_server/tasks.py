"""Background tasks with an owner: every task started through a :class:`TaskSet` is
kept until it ends, and the owner cancels and awaits what is left when it closes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel(self, keep: asyncio.Future[Any] | None = None) -> None:
        """Cancel every task still running (except ``keep``, e.g. the caller's own), for
        owners that cannot wait (a synchronous close); prefer :meth:`aclose`."""
        for task in list(self._tasks):
            if task is not keep:
                task.cancel()

    async def aclose(self) -> None:
        """Cancel every task still running and wait until each has ended. A task that
        called this (closing its own owner) is left to finish by itself."""
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def __len__(self) -> int:
        return len(self._tasks)
