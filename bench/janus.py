"""Janus 1.1.2 VideoRoom as the benchmark's peer: a configuration folder that runs
it on loopback with only the VideoRoom plugin and the HTTP transport, and aiortc
clients that publish the same pre-encoded media or subscribe without decoding.

Janus (libnice) skips loopback interfaces when it gathers, so it gathers on the
machine's own interface and binds its media sockets there. Two things bring it onto
loopback: a tiny ``LD_PRELOAD`` shim (``loopback_shim``, compiled once with the C
compiler) makes the machine's IPv4 interfaces report 127.0.0.1 and turns every
IPv4 ``bind`` to another address into a bind to 127.0.0.1, and
``nat_1_1_mapping = "127.0.0.1"`` (without keeping the private host) makes the
candidates in its SDP say so. No packet leaves loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiortc import RTCPeerConnection, RTCSessionDescription

from .client import MediaClient, rtc_configuration
from .media import CACHE_DIR, Clip, ClipTrack

JANUS = shutil.which("janus") or "/usr/sbin/janus"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
ROOM = 1234


def write_config(folder: Path, port: int, event_loops: int = 0) -> Path:
    """A configuration folder for one Janus on ``127.0.0.1:port``; returns janus.jcfg."""
    folder.mkdir(parents=True, exist_ok=True)
    plugins = sorted(p.name for p in (LIBDIR / "plugins").glob("*.so")
                     if p.name != "libjanus_videoroom.so")
    transports = sorted(p.name for p in (LIBDIR / "transports").glob("*.so")
                        if p.name != "libjanus_http.so")
    loops = f"\tevent_loops = {event_loops}\n" if event_loops else ""
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'\tconfigs_folder = "{folder}"\n'
        f'\tplugins_folder = "{LIBDIR / "plugins"}"\n'
        f'\ttransports_folder = "{LIBDIR / "transports"}"\n'
        f'\tevents_folder = "{LIBDIR / "events"}"\n'
        f'\tloggers_folder = "{LIBDIR / "loggers"}"\n'
        "\tdebug_level = 3\n"
        f"{loops}"
        "}\n"
        "media: {\n\tipv6 = false\n}\n"
        "nat: {\n"
        '\tnat_1_1_mapping = "127.0.0.1"\n'
        "\tkeep_private_host = false\n"
        "\tignore_mdns = true\n"
        "}\n"
        f'plugins: {{\n\tdisable = "{",".join(plugins)}"\n}}\n'
        f'transports: {{\n\tdisable = "{",".join(transports)}"\n}}\n'
        'loggers: {\n\tdisable = "libjanus_jsonlog.so"\n}\n'
        "events: {\n\tbroadcast = false\n}\n")
    (folder / "janus.transport.http.jcfg").write_text(
        "general: {\n\tjson = \"compact\"\n\tbase_path = \"/janus\"\n\thttp = true\n"
        f'\tport = {port}\n\tip = "127.0.0.1"\n\thttps = false\n}}\n'
        "admin: {\n\tadmin_http = false\n}\n")
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        "general: {\n}\n"
        f"room-{ROOM}: {{\n\tdescription = \"bench\"\n\tpublishers = 4\n\tbitrate = 0\n"
        "\tfir_freq = 10\n\taudiocodec = \"opus\"\n\tvideocodec = \"vp8\"\n}\n")
    return folder / "janus.jcfg"


SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, addr, sizeof in);
        unsigned int a = ntohl(in.sin_addr.s_addr);
        if (a != 0 && (a >> 24) != 127) {
            in.sin_addr.s_addr = htonl(0x7f000001);
            return real(fd, (const struct sockaddr *)&in, sizeof in);
        }
    }
    return real(fd, addr, len);
}

int getifaddrs(struct ifaddrs **out) {
    static int (*real)(struct ifaddrs **);
    if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(out);
    if (rc == 0) {
        for (struct ifaddrs *i = *out; i; i = i->ifa_next) {
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)i->ifa_addr;
                if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
                    in->sin_addr.s_addr = htonl(0x7f000001);
            }
        }
    }
    return rc;
}
"""


def loopback_shim(cache: Path = CACHE_DIR) -> Path:
    """The bind-to-loopback shim, compiled once into the media cache folder."""
    lib = cache / "janus-loopback-v2.so"
    if not lib.exists():
        cache.mkdir(parents=True, exist_ok=True)
        src = cache / "janus-loopback-v2.c"
        src.write_text(SHIM_C)
        tmp = lib.with_suffix(".tmp")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src), "-ldl"],
                       check=True)
        tmp.replace(lib)
    return lib


def start(folder: Path, port: int, event_loops: int = 0,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    config = write_config(folder, port, event_loops)
    env = {**os.environ, "LD_PRELOAD": str(loopback_shim())}
    with open(log or folder / "janus.log", "wb") as out:  # the child keeps its copy
        return subprocess.Popen([JANUS, "-C", str(config), "-F", str(folder)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


class JanusSession:
    """One Janus session with one VideoRoom handle, over the HTTP long-poll API."""

    _ids = itertools.count(1)

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/janus"
        self.http = ClientSession()
        self.session = 0
        self.handle = 0
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": f"t{next(self._ids)}"}
        async with self.http.post(self.url + path, json=body) as r:
            data: dict[str, Any] = await r.json(content_type=None)
        if data.get("janus") == "error":
            raise RuntimeError(f"janus: {data.get('error')}")
        return data

    async def open(self) -> None:
        self.session = (await self._post("", {"janus": "create"}))["data"]["id"]
        self.handle = (await self._post(f"/{self.session}", {
            "janus": "attach", "plugin": "janus.plugin.videoroom"}))["data"]["id"]
        self._poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session}?maxev=5") as r:
                    data = await r.json(content_type=None)
            except (TimeoutError, OSError):
                await asyncio.sleep(0.2)
                continue
            for event in data if isinstance(data, list) else [data]:
                if event.get("janus") == "event":
                    self.events.put_nowait(event)

    async def request(self, body: dict[str, Any], jsep: dict[str, Any] | None = None,
                      want: str | None = None, timeout: float = 15) -> dict[str, Any]:
        """Send a plugin message; return the plugin event that answers it."""
        msg: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self._post(f"/{self.session}/{self.handle}", msg)
        if reply.get("janus") == "success":
            return reply
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(self.events.get(), deadline - time.monotonic())
            data = event.get("plugindata", {}).get("data", {})
            if "error" in data:
                raise RuntimeError(f"janus videoroom: {data['error']}")
            if want is None or want in data or data.get("videoroom") == want:
                return event

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        with contextlib.suppress(Exception):
            await self._post(f"/{self.session}", {"janus": "destroy"})
        await self.http.close()


class JanusPublisher:
    """Publishes the clips into the room (Janus expects the publisher's offer)."""

    def __init__(self, url: str, room: int, video: Clip, audio: Clip) -> None:
        self.janus = JanusSession(url)
        self.room = room
        self.media = MediaClient("publisher")  # counts nothing: for the common interface
        self.pc = RTCPeerConnection(rtc_configuration())
        self.tracks = [ClipTrack(audio), ClipTrack(video)]
        self.feed = 0
        self.started_at = time.monotonic()

    async def start(self) -> None:
        await self.janus.open()
        joined = await self.janus.request({"request": "join", "ptype": "publisher",
                                           "room": self.room, "display": "bench"},
                                          want="joined")
        self.feed = int(joined["plugindata"]["data"]["id"])
        for track in self.tracks:
            t = self.pc.addTransceiver(track, direction="sendonly")
            t.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "sdp": self.pc.localDescription.sdp, "trickle": False}
        event = await self.janus.request({"request": "publish", "audio": True, "video": True},
                                         jsep=offer, want="configured")
        await self.pc.setRemoteDescription(RTCSessionDescription(event["jsep"]["sdp"],
                                                                 "answer"))
        deadline = time.monotonic() + 15
        while self.pc.connectionState != "connected":  # subscribers need a live feed
            if time.monotonic() > deadline or self.pc.connectionState == "failed":
                raise RuntimeError(f"janus publisher: connection {self.pc.connectionState}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()
        await self.media.close()
        await self.janus.close()


class JanusSubscriber:
    """Subscribes to one feed and counts its frames without decoding."""

    def __init__(self, url: str, room: int, feed: int, name: str) -> None:
        self.janus = JanusSession(url)
        self.room = room
        self.feed = feed
        self.media = MediaClient(name)
        self.started_at = time.monotonic()

    async def start(self) -> None:
        await self.janus.open()
        self.started_at = time.monotonic()
        event = await self.janus.request({"request": "join", "ptype": "subscriber",
                                          "room": self.room,
                                          "streams": [{"feed": self.feed}]}, want="attached")
        sdp = await self.media.answer({"sdp": event["jsep"]["sdp"]})
        answer = {"type": "answer", "sdp": sdp, "trickle": False}
        await self.janus.request({"request": "start"}, jsep=answer, want="started")

    async def close(self) -> None:
        await self.media.close()
        await self.janus.close()
