"""A participant over the real protocol: socket.io signalling + :class:`MediaClient`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import socketio

from .client import MediaClient
from .media import Clip

NAMESPACE = "/hearing"


class Participant:
    def __init__(self, base_url: str, token: str, name: str,
                 video: Clip | None = None, audio: Clip | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.name = name
        self.media = MediaClient(name, video, audio)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.welcome: dict[str, Any] = {}
        self.errors: list[Any] = []
        self.admitted_at: float | None = None
        self._media_started = False
        self._tasks: set[asyncio.Future[None]] = set()
        self.sio.on("*", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        if event == "admitted":
            self.admitted_at = time.monotonic()
            await self.start_media()
        elif event == "media.offer":
            task = asyncio.ensure_future(self._answer(data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event == "media.tracks":
            self.media.update_tracks(data["tracks"])

    async def _answer(self, offer: dict[str, Any]) -> None:
        try:
            sdp = await self.media.answer(offer)
            ack = await self.call("media.answer", {"sdp": sdp})
            if not ack.get("ok"):
                self.errors.append(ack)
        except Exception as exc:
            self.errors.append(exc)

    async def connect(self) -> dict[str, Any]:
        await self.sio.connect(self.base_url, namespaces=[NAMESPACE],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10)
        self.welcome = await self.call("hello")
        if self.welcome.get("you", {}).get("state") == "admitted":
            self.admitted_at = time.monotonic()
            await self.start_media()
        return self.welcome

    async def start_media(self) -> None:
        if not self._media_started:
            self._media_started = True
            ack = await self.call("media.ready")
            if not ack.get("ok"):
                self.errors.append(ack)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=15)

    def first_frame_delay(self) -> float | None:
        if self.admitted_at is None or self.media.first_frame_at is None:
            return None
        return self.media.first_frame_at - self.admitted_at

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self.sio.disconnect()
        await self.media.close()
