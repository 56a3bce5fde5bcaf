"""A participant over the real protocol: socket.io signalling + :class:`MediaClient`."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import socketio

from hearing_server.tasks import TaskSet

from .client import MediaClient
from .media import Clip

NAMESPACE = "/hearing"


class Participant:
    def __init__(self, base_url: str, token: str, name: str,
                 video: Clip | None = None, audio: Clip | None = None,
                 relay_only: bool = False) -> None:
        self.base_url = base_url
        self.token = token
        self.name = name
        self.relay_only = relay_only
        self.media = MediaClient(name, video, audio, relay_only)
        #: the STUN/TURN servers the server handed us (welcome or ``admitted``)
        self.ice_servers: list[dict[str, Any]] = []
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.welcome: dict[str, Any] = {}
        self.errors: list[Any] = []
        self.admitted_at: float | None = None
        self._media_started = False
        self._tasks = TaskSet()
        self.sio.on("*", self._on_event, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        self.refusal: dict[str, Any] | None = None
        self.redirects: list[str] = []

    async def _on_connect_error(self, data: Any = None) -> None:
        body = data.get("data") if isinstance(data, dict) else None
        self.refusal = body if isinstance(body, dict) else {"message": str(data)}

    async def _on_event(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        if event == "admitted":
            self.admitted_at = time.monotonic()
            if isinstance(data, dict) and isinstance(data.get("ice_servers"), list):
                self.ice_servers = data["ice_servers"]
            await self.start_media()
        elif event == "media.offer":
            self._tasks.spawn(self._answer(data))
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

    async def connect(self, max_redirects: int = 3) -> dict[str, Any]:
        """Connect, following ``node.redirect`` to the node that hosts the hearing."""
        for _ in range(max_redirects + 1):
            self.refusal = None
            try:
                await self.sio.connect(self.base_url, namespaces=[NAMESPACE],
                                       auth={"token": self.token}, transports=["websocket"],
                                       wait_timeout=10)
                break
            except socketio.exceptions.ConnectionError:
                await self._discard(self.sio)
                refusal: dict[str, Any] = self.refusal or {}
                if refusal.get("code") == "node.redirect" and refusal.get("url"):
                    self.redirects.append(str(refusal["url"]))
                    self.base_url = str(refusal["url"])
                    self.sio = self._fresh_client()
                    continue
                raise
        self.welcome = await self.call("hello")
        self.ice_servers = list(self.welcome.get("ice_servers") or [])
        if self.welcome.get("you", {}).get("state") == "admitted":
            self.admitted_at = time.monotonic()
            await self.start_media()
        return self.welcome

    @staticmethod
    async def _discard(sio: socketio.AsyncClient) -> None:
        """A refused client keeps its HTTP session open: close it."""
        with contextlib.suppress(Exception):
            await sio.disconnect()
        http = getattr(sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    def _fresh_client(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("*", self._on_event, namespace=NAMESPACE)
        sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        return sio

    async def reconnect(self, base_url: str | None = None) -> dict[str, Any]:
        """A new connection and a new media session (as a browser does after a drop)."""
        await self._discard(self.sio)
        await self.media.close()
        video = self.media._sources["camera"]
        audio = self.media._sources["microphone"]
        self.media = MediaClient(self.name, video.clip if video else None,
                                 audio.clip if audio else None, self.relay_only)
        self._media_started = False
        self.admitted_at = None
        if base_url:
            self.base_url = base_url
        self.sio = self._fresh_client()
        return await self.connect()

    async def start_media(self) -> None:
        if not self._media_started:
            self._media_started = True
            if self.ice_servers:
                await self.media.use_ice_servers(self.ice_servers)
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
        await self._discard(self.sio)
        await self.media.close()
