"""One frozen settings object: defaults, then an optional TOML file, then
``HEARING_*`` environment variables, then command-line overrides."""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .domain.hearing import LANGUAGES


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"urls": list(self.urls)}
        if self.username:
            d["username"] = self.username
        if self.credential:
            d["credential"] = self.credential
        return d


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    #: Base URL people use to reach this node (join links are built from it).
    public_url: str = ""
    court_name: str = "Hearing Server"
    #: How to reach the court (the clerk's office, telephone, e-mail): said on every page
    #: that refuses a link or ends a hearing, and on the printed notice of hearing.
    court_contact: str = ""
    #: The pages' language when the participant has none and the browser's is not one
    #: the pages speak (``en`` or ``zh-CN``).
    default_language: str = "en"
    node_id: str = field(default_factory=lambda: socket.gethostname())
    #: Join links expire this many seconds after they are issued.
    join_link_ttl: int = 7 * 24 * 3600
    #: Join links work from issue until the hearing's scheduled end plus this (seconds),
    #: checked against the current schedule, so a rescheduled hearing keeps its links.
    join_link_grace: int = 12 * 3600
    staff_session_ttl: int = 12 * 3600
    #: A participant whose connection drops returns to the same place within this time.
    rejoin_grace: float = 30.0
    #: The hearing's video codec: "vp8" (default) or "h264".
    video_codec: str = "vp8"
    #: STUN/TURN servers handed to browsers with their join.
    ice_servers: tuple[IceServer, ...] = ()
    #: TURN REST API (coturn ``use-auth-secret``): the secret shared with coturn's
    #: ``static-auth-secret``; each admitted participant gets their own credential
    #: (username ``expiry:participant``, HMAC-SHA1 of it) for ``turn_urls``.
    turn_secret: str = ""
    #: ``turn:``/``turns:`` URLs of the TURN server(s) the credentials are for.
    turn_urls: tuple[str, ...] = ()
    #: Seconds a minted TURN credential stays valid (coturn refuses it afterwards,
    #: also for refreshing an allocation it granted): longer than a hearing day.
    turn_ttl: int = 12 * 3600
    #: Public IPv4 address of a node behind 1:1 NAT, added as an extra host candidate.
    public_ip: str = ""
    #: UDP port range of the relay's host candidates (one port per media connection per
    #: host address; open it to the node). Both 0: ephemeral ports.
    ice_port_min: int = 0
    ice_port_max: int = 0
    #: Give up on a peer connection that has not connected after this many seconds.
    ice_timeout: float = 20.0
    max_message_bytes: int = 64 * 1024
    events_per_second: float = 20.0
    event_burst: int = 40
    recording_segment_seconds: float = 60.0
    redis_url: str = ""
    #: On SIGTERM, wait this long for running hearings before handing them over.
    drain_timeout: float = 300.0
    #: ``/readyz`` fails (no new hearings) when the data folder's file system has less
    #: free space than this, in MiB.
    min_free_disk_mb: int = 1024
    log_level: str = "INFO"
    log_json: bool = False
    #: Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For/-Proto/-Host are
    #: believed; from anyone else those headers are ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: Failed sign-ins allowed per account and per client address in the window (seconds).
    sign_in_attempts_per_account: int = 5
    sign_in_attempts_per_address: int = 20
    sign_in_window: float = 300.0
    #: Electronic service: the court's SMTP server (empty: e-mail service is off).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "court@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 10.0
    #: Attempts per e-mail (temporary failures only) and the wait before the first retry
    #: (doubled each time).
    smtp_attempts: int = 3
    smtp_retry_delay: float = 2.0
    #: A served document may be at most this many bytes (PDF, PNG or JPEG).
    service_max_document_bytes: int = 10 * 2**20
    #: A service link works this many seconds after it was served.
    service_link_ttl: int = 30 * 24 * 3600
    #: Remote reception desk: the topics a visitor picks from, the opening hours
    #: ("mon-fri 09:00-12:00,13:30-17:00; sat 09:00-12:00", empty: always open), the
    #: holidays (ISO dates) and the desk's time zone (an IANA name).
    reception_topics: tuple[str, ...] = ("Case enquiry", "Filing", "Other")
    reception_hours: str = ""
    reception_holidays: tuple[str, ...] = ()
    reception_timezone: str = "UTC"
    #: Visitors waiting at once, waiting entries per client address, and seconds
    #: without a heartbeat from the visitor's page before the entry is abandoned.
    reception_queue_max: int = 50
    reception_per_address: int = 2
    reception_expire_after: float = 60.0
    #: Whether reception calls are recorded (the visitor is told before joining); each
    #: recorded call is sealed into a reception record like a hearing's
    reception_recorded: bool = False

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def _ice_servers(value: Any) -> tuple[IceServer, ...]:
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(value, list):
        raise ValueError("must be a list of {urls, username, credential} objects")
    servers = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "urls" not in item:
            raise ValueError(f"entry {i} needs 'urls'")
        urls = item["urls"]
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list) or not urls or not all(
                isinstance(u, str) and u.startswith(ICE_SCHEMES) for u in urls):
            raise ValueError(f"entry {i}: 'urls' must be stun:, turn: or turns: URLs")
        username, credential = item.get("username"), item.get("credential")
        if not all(v is None or isinstance(v, str) for v in (username, credential)):
            raise ValueError(f"entry {i}: 'username' and 'credential' must be strings")
        if any(u.startswith(("turn:", "turns:")) for u in urls) and not (
                username and credential):
            raise ValueError(f"entry {i}: a TURN server needs 'username' and 'credential'")
        servers.append(IceServer(tuple(urls), username, credential))
    return tuple(servers)


def _coerce(name: str, value: Any) -> Any:
    default = getattr(Settings(), name)
    if name == "ice_servers":
        return _ice_servers(value)
    if name == "turn_urls":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError("must be a list of turn: or turns: URLs")
        urls = tuple(str(i).strip() for i in items if str(i).strip())
        for url in urls:
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"{url!r} is not a turn: or turns: URL")
        return urls
    if name in ("reception_topics", "reception_holidays"):
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(i).strip() for i in items if str(i).strip())
    if name == "trusted_proxies":
        items = value.split(",") if isinstance(value, str) else list(value)
        out = tuple(str(i).strip() for i in items if str(i).strip())
        import ipaddress

        for item in out:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return out
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, Path):
        return Path(value)
    return str(value)


def load_settings(config_file: Path | None = None, env: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    names = {f.name for f in fields(Settings)}
    path = config_file or (Path(env["HEARING_CONFIG"]) if env.get("HEARING_CONFIG") else None)
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        for key, value in data.items():
            if key not in names:
                raise ValueError(f"unknown setting {key!r} in {path}")
            values[key] = _checked(key, value, str(path))
    for key in names:
        env_key = "HEARING_" + key.upper()
        if env_key in env:
            values[key] = _checked(key, env[env_key], env_key)
    for key, value in overrides.items():
        if value is not None:
            values[key] = _checked(key, value, "the command line")
    settings = Settings(**values)
    if settings.default_language not in LANGUAGES:
        raise ValueError(f"default_language {settings.default_language!r} is not one of "
                         + ", ".join(LANGUAGES))
    if len(settings.court_name) > 200 or len(settings.court_contact) > 300:
        raise ValueError("court_name may have at most 200 and court_contact 300 characters")
    if settings.video_codec not in ("vp8", "h264"):
        raise ValueError("video_codec must be 'vp8' or 'h264'")
    if not 0 <= settings.port <= 65535:
        raise ValueError(f"port {settings.port} is not between 0 and 65535")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"log_level {settings.log_level!r} is not DEBUG, INFO, WARNING,"
                         " ERROR or CRITICAL")
    if settings.min_free_disk_mb < 0 or settings.drain_timeout < 0:
        raise ValueError("min_free_disk_mb and drain_timeout must not be negative")
    _check_turn(settings)
    _check_ice_ports(settings)
    return settings


MIN_TURN_SECRET = 16
MIN_TURN_TTL, MAX_TURN_TTL = 60, 7 * 24 * 3600


def _check_turn(settings: Settings) -> None:
    if settings.turn_urls and not settings.turn_secret:
        raise ValueError("turn_urls needs turn_secret (coturn's static-auth-secret)")
    if settings.turn_secret and not settings.turn_urls:
        raise ValueError("turn_secret needs turn_urls (the TURN server's turn:/turns: URLs)")
    if settings.turn_secret and len(settings.turn_secret) < MIN_TURN_SECRET:
        raise ValueError(f"turn_secret must be at least {MIN_TURN_SECRET} characters")
    if not MIN_TURN_TTL <= settings.turn_ttl <= MAX_TURN_TTL:
        raise ValueError(f"turn_ttl {settings.turn_ttl} is not between {MIN_TURN_TTL}"
                         f" and {MAX_TURN_TTL} seconds")


def _check_ice_ports(settings: Settings) -> None:
    low, high = settings.ice_port_min, settings.ice_port_max
    if (low, high) == (0, 0):
        return
    if not 1024 <= low <= high <= 65535:
        raise ValueError(f"ice_port_min {low} / ice_port_max {high}: a UDP port range for media"
                         " must lie within 1024-65535 with ice_port_min <= ice_port_max"
                         " (both 0: ephemeral ports)")


def _checked(key: str, value: Any, where: str) -> Any:
    """:func:`_coerce`, with the setting and where it came from in the message."""
    try:
        return _coerce(key, value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"setting {key} (from {where}): {exc}") from exc
