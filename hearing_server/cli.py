"""``hearing-server``: serve, manage staff and hearings, verify a case record.

Global options (``--config``, ``--data-dir``, ``--public-url``, ``--init``,
``--json``) go before or after the subcommand. Errors are one line on stderr
(JSON with ``--json``) and a distinct exit status:

0 done · 1 verification found problems · 2 usage · 3 configuration ·
4 data folder · 5 cannot listen · 6 needs a terminal · 7 refused (invalid
input, not found, store unavailable) · 70 internal error.

Adding a subcommand: write one ``cmd_*`` (sync) or ``async def _*`` function taking
the parsed arguments and returning the exit status, then register it in
:func:`parser` with ``_leaf(...)`` so the global options work after it too.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import json
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .domain.errors import (
    Code,
    Conflict,
    HearingError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from .logs import configure as configure_logging
from .settings import Settings, load_settings

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_DATA_DIR = 4
EXIT_LISTEN = 5
EXIT_NO_TTY = 6
EXIT_REFUSED = 7
EXIT_INTERNAL = 70

#: error code prefix -> exit status (everything else a HearingError: EXIT_REFUSED)
EXIT_BY_CODE = {"config.": EXIT_CONFIG, "data_dir.": EXIT_DATA_DIR,
                "backup.": EXIT_DATA_DIR, "listen.": EXIT_LISTEN, "tty.": EXIT_NO_TTY}

ROLES = ["judge", "clerk", "mediator", "admin", "reception"]
PARTICIPANT_ROLES = ("judge", "clerk", "mediator", "party", "counsel", "witness",
                     "interpreter", "observer")


def _version() -> str:
    try:
        return version("hearing-server")
    except PackageNotFoundError:
        return "unknown"


# ---- settings and the data folder ----------------------------------------------------


def _load(args: argparse.Namespace) -> Settings:
    """Settings from defaults, the file, the environment and the command line; a
    missing file or a bad value becomes one ``config.*`` error."""
    config = Path(args.config) if args.config else None
    if config is None and os.environ.get("HEARING_CONFIG"):
        config = Path(os.environ["HEARING_CONFIG"])
    if config is not None and not config.is_file():
        raise NotFound(f"no settings file {config}", code=Code.CONFIG_MISSING)
    try:
        return load_settings(
            config_file=config,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            data_dir=args.data_dir,
            public_url=args.public_url,
            court_name=getattr(args, "court_name", None),
            court_contact=getattr(args, "court_contact", None),
            default_language=getattr(args, "default_language", None),
        )
    except OSError as exc:
        raise InvalidInput(f"cannot read {config}: {exc.strerror}",
                           code=Code.CONFIG_UNREADABLE) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(str(exc), code=Code.CONFIG_INVALID) from exc


def _data_dir(settings: Settings, init: bool) -> None:
    """A data folder is created only with ``--init``: a mistyped ``--data-dir`` must
    not start a new, empty store with a new signing key and token secret."""
    path = settings.data_dir
    if path.is_dir():
        return
    if path.exists():
        raise Conflict(f"the data folder {path} is not a folder", code=Code.DATA_DIR_INVALID)
    if not init:
        raise NotFound(f"the data folder {path.resolve()} does not exist; check --data-dir,"
                       " or give --init to create a new one", code=Code.DATA_DIR_MISSING)
    try:
        path.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise Unavailable(f"cannot create the data folder {path}: {exc.strerror}",
                          code=Code.DATA_DIR_UNCREATABLE) from exc


def _settings(args: argparse.Namespace, data: bool = True) -> Settings:
    settings = _load(args)
    if data:
        _data_dir(settings, args.init)
    return settings


def _services(settings: Settings) -> Any:
    from .app import build_store, build_tokens
    from .services.hearings import HearingService
    from .services.staff import StaffService
    from .store.eventlog import EventLog

    store = build_store(settings)
    tokens = build_tokens(settings)
    events = EventLog(settings.data_dir / "hearings")
    return store, HearingService(store, tokens, events, settings.base_url,
                                 settings.join_link_grace), StaffService(store, tokens)


def _operator() -> Any:
    """The command line's principal and the audited check it passes through."""
    from recording.signing import load_or_create_key

    from .auth.authz import operator
    from .services.access import Access
    from .store.audit import AuditLog

    def check(settings: Settings, action: Any, hearing: Any = None) -> Any:
        who = operator(getpass.getuser())
        signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")
        Access(AuditLog(settings.data_dir / "audit.jsonl", signer=signer)).check_now(
            who, action, hearing)
        return who

    return check


def _print(args: argparse.Namespace, data: Any, text: str | None = None) -> None:
    """JSON with ``--json`` (or when there is no text form), else the text."""
    if args.json or text is None:
        print(json.dumps(data, indent=None if args.json else 2))
    else:
        print(text)


# ---- serve -----------------------------------------------------------------------


def _tomorrow() -> str:
    """Tomorrow at 09:30 UTC: a time whose join links work (they last until the end)."""
    import datetime as dt

    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return f"{day.isoformat()}T09:30:00Z"


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import build_app

    os.umask(0o077)  # everything the node writes (data folder, records, logs) is private
    settings = _settings(args)
    configure_logging(settings.log_level.upper(), settings.log_json, settings.node_id)
    app = build_app(settings)
    base = settings.base_url
    if args.json:
        print(json.dumps({"url": base, "data_dir": str(settings.data_dir.resolve()),
                          "console": f"{base}/console", "version": _version()}), flush=True)
    else:
        print(f"Hearing Server on {base}  (data: {settings.data_dir.resolve()})", flush=True)
        print(f"  staff console: {base}/console", flush=True)
        print("  first hearing: hearing-server staff add clerk --role clerk; then sign in to"
              " the console, or: hearing-server hearing create --case-number C-1 --title Test"
              f" --at {_tomorrow()} --judge 'Judge Ada' --party 'Sam Party'"
              " --assign-clerk clerk", flush=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(app, settings))
    return EXIT_OK


async def _serve(app: Any, settings: Settings) -> None:
    """Run until SIGINT, or drain on SIGTERM: ``/readyz`` fails at once (take no new
    hearings), running ones finish for up to ``drain_timeout`` seconds, what is left
    is handed over, then the node exits. SIGHUP is ignored (settings are read at
    start only: restart the unit to apply them)."""
    import signal

    from aiohttp import web

    from .api.access_log import AccessLogger
    from .api.health import READINESS
    from .app import DRAIN

    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=5.0,
                           access_log_class=AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        where = f"{settings.host}:{settings.port}"
        if exc.errno == errno.EADDRINUSE:
            raise Conflict(f"cannot listen on {where}: the address is already in use",
                           code=Code.LISTEN_ADDRESS_IN_USE) from exc
        if exc.errno == errno.EACCES:
            raise PermissionDenied(f"cannot listen on {where}: permission denied",
                                   code=Code.LISTEN_DENIED) from exc
        raise Unavailable(f"cannot listen on {where}: {exc.strerror or exc}",
                          code=Code.LISTEN_FAILED) from exc
    stop = asyncio.Event()
    drain = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, drain.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: logging.getLogger("hearing_server").info(
        "SIGHUP ignored: settings are read at start; restart the node to apply them"))
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(drain.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    if drain.is_set() and not stop.is_set():
        app[READINESS].start_draining()
        logging.getLogger("hearing_server").warning(
            "SIGTERM: draining (no new hearings; up to %.0f s for running ones)",
            settings.drain_timeout)
        await app[DRAIN].drain(settings.drain_timeout, stop)
    await runner.cleanup()


# ---- check-config ------------------------------------------------------------------


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def cmd_check_config(args: argparse.Namespace) -> int:
    import dataclasses

    settings = _settings(args, data=False)
    shown: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.name == "ice_servers":
            value = [{**s.to_dict(), **({"credential": "***"} if s.credential else {})}
                     for s in value]
        elif f.name == "turn_secret":
            value = "***" if value else ""
        elif f.name == "redis_url":
            value = _masked_url(value)
        elif isinstance(value, Path):
            value = str(value.resolve())
        shown[f.name] = value
    data_dir = settings.data_dir
    state = ("initialised" if (data_dir / "secret.key").exists() else
             "empty" if data_dir.is_dir() else "missing (serve needs --init)")
    out = {"ok": True, "settings": shown, "base_url": settings.base_url,
           "store": "redis" if settings.redis_url else "sqlite", "data_dir_state": state}
    text = "\n".join([f"{k} = {json.dumps(v)}" for k, v in shown.items()] + [
        f"# base_url = {settings.base_url}", f"# store = {out['store']}",
        f"# data folder: {state}", "# settings are valid"])
    _print(args, out, text)
    return EXIT_OK


# ---- staff, api keys, hearings ---------------------------------------------------------


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput("no password on standard input", code=Code.INPUT_INVALID)
        return line
    if args.password:
        return str(args.password)
    if not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the password: pipe it with"
                           " --password-stdin", code=Code.TTY_REQUIRED)
    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ", code=Code.INPUT_INVALID)
    return first


async def _staff_add(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    password = _password(args)
    store, _, staff = _services(settings)
    try:
        account = await staff.add(args.username, args.name or args.username, args.role,
                                  password)
    finally:
        await store.close()
    print(json.dumps({"username": account.username, "role": account.role.value}))
    return EXIT_OK


async def _apikey_create(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    scopes = tuple(args.scope or ["hearings"])
    key = await staff.create_api_key(args.name, args.role, scopes,
                                     None if args.days <= 0 else args.days * 86400.0)
    await store.close()
    print(json.dumps({"name": args.name, "role": args.role, "scopes": list(scopes),
                      "api_key": key}))
    return EXIT_OK


async def _account_command(args: argparse.Namespace) -> int:
    """``staff disable|enable|remove|role|password|sign-out USERNAME``: each ends the
    account's sessions."""
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    try:
        if args.sub == "remove":
            await staff.remove(args.username)
            out: dict[str, Any] = {"removed": args.username}
        else:
            if args.sub in ("disable", "enable"):
                account = await staff.set_disabled(args.username, args.sub == "disable")
            elif args.sub == "role":
                account = await staff.set_role(args.username, args.role)
            elif args.sub == "password":
                password = _password(args)
                account = await staff.reset_password(args.username, password)
            else:
                account = await staff.end_sessions(args.username)
            out = {"username": account.username, "role": account.role.value,
                   "disabled": account.disabled, "sessions_ended": True}
    finally:
        await store.close()
    print(json.dumps(out))
    return EXIT_OK


def _register_account_commands(staff: Any) -> None:
    for name, text in (("disable", "disable an account (ends its sessions)"),
                       ("enable", "enable a disabled account"),
                       ("remove", "remove an account (ends its sessions)"),
                       ("role", "change an account's role (ends its sessions)"),
                       ("password", "reset an account's password (ends its sessions)"),
                       ("sign-out", "end every session of an account")):
        cmd = _leaf(staff, name, text)
        cmd.add_argument("username", help="the account")
        if name == "role":
            cmd.add_argument("role", choices=ROLES, help="the new role")
        if name == "password":
            pw = cmd.add_mutually_exclusive_group()
            pw.add_argument("--password", help="the new password (prefer the prompt or"
                            " --password-stdin)")
            pw.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input")
        cmd.set_defaults(afunc=_account_command)


async def _apikey_list(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    keys = await staff.list_api_keys()
    await store.close()
    print(json.dumps([k.to_dict() for k in keys], indent=None if args.json else 2))
    return EXIT_OK


async def _apikey_revoke(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    try:
        count = await staff.revoke_api_key(args.name)
    finally:
        await store.close()
    print(json.dumps({"revoked": args.name, "keys": count}))
    return EXIT_OK


async def _hearing_assign(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    store, hearings, _ = _services(settings)
    try:
        hearing = await hearings.get(args.hearing_id)
        who = _operator()(settings, Action.HEARING_ASSIGN, hearing)
        data: dict[str, Any] = {}
        if args.presiding is not None:
            data["presiding"] = args.presiding
        if args.clerk is not None:
            data["clerks"] = [c for c in args.clerk if c]
        hearing = await hearings.assign(hearing, data, who.username)
    finally:
        await store.close()
    print(json.dumps(hearing.to_dict(), indent=None if args.json else 2))
    return EXIT_OK


def _languages(pairs: list[str]) -> dict[str, str]:
    """``--language "NAME=LANG"`` options: participant name -> page language."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, lang = pair.rpartition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--language {pair!r}: give NAME=LANGUAGE, e.g. 'Li Wei=zh-CN'")
        out[name.strip()] = lang.strip()
    return out


async def _hearing_create(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    store, hearings, _ = _services(settings)
    participants: list[dict[str, str]] = []
    languages = _languages(args.language or [])
    for role in PARTICIPANT_ROLES:
        for name in getattr(args, role) or []:
            participants.append({"name": name, "role": role,
                                 **({"language": languages[name]} if name in languages else {})})
    check = _operator()
    try:
        hearing = hearings.prepare({
            "case_number": args.case_number, "title": args.title, "kind": args.kind,
            "scheduled_at": args.at, "duration_minutes": args.minutes,
            "participants": participants, "presiding": args.presiding or "",
            "clerks": args.assign_clerk or [],
        }, actor="cli")
        check(settings, Action.HEARING_CREATE, hearing)
        await hearings.check_assignment(hearing)
        hearing, links = await hearings.schedule(hearing, "cli")
    finally:
        await store.close()
    out = {"hearing_id": hearing.id, "case_number": hearing.case_number, "participants": [
        {**p.to_dict(), "link": links[p.id]} for p in hearing.participants]}
    print(json.dumps(out, indent=None if args.json else 2))
    return EXIT_OK


async def _hearing_list(args: argparse.Namespace) -> int:
    from .auth.authz import Action
    from .services.access import Access

    settings = _settings(args)
    who = _operator()(settings, Action.HEARING_LIST)
    store, hearings, _ = _services(settings)
    items = Access.visible(who, await hearings.find(args.case_number))
    await store.close()
    print(json.dumps([h.to_dict() for h in items], indent=None if args.json else 2))
    return EXIT_OK


# ---- keys, records, verify ---------------------------------------------------------


def cmd_key_export(args: argparse.Namespace) -> int:
    from recording.signing import load_or_create_key

    settings = _settings(args)
    signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")
    if args.json:
        print(json.dumps({"public_key_pem": signer.public_key_pem(),
                          "public_key_b64": signer.public_key_b64}))
    else:
        sys.stdout.write(signer.public_key_pem())
    return EXIT_OK


def _audited_records(args: argparse.Namespace) -> Any:
    from recording.seals import SealRegistry
    from recording.signing import load_or_create_key

    from .auth.authz import Action
    from .services.records import RecordsService
    from .store.audit import AuditLog

    settings = _settings(args)
    _operator()(settings, Action.RECORDS_LIST if getattr(args, "hearing_id", None) is None
                else Action.RECORDS_READ)
    signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")
    store, _, _ = _services(settings)
    # The same keyed log as the node's: appends take its file lock, so they interleave
    # safely with a running node's.
    records = RecordsService(settings.data_dir / "records", store,
                             AuditLog(settings.data_dir / "audit.jsonl", signer=signer),
                             signer.public_key_b64,
                             SealRegistry(settings.data_dir / "seals.jsonl", signer))
    return store, records


async def _cli_access(records: Any, action: str, hearing_id: str | None,
                      work: Any) -> Any:
    """Run ``work()`` (a coroutine function) and audit its true outcome."""
    from recording.errors import RecordingError

    actor = f"cli:{getpass.getuser()}"
    try:
        result = await work()
    except (HearingError, RecordingError, OSError) as exc:
        await records.outcome(actor, action, hearing_id, "failed",
                              f"command line ({getattr(exc, 'code', type(exc).__name__)})")
        raise
    await records.outcome(actor, action, hearing_id, "allowed", "command line")
    return result


async def _records_list(args: argparse.Namespace) -> int:
    store, records = _audited_records(args)
    try:
        items = await _cli_access(records, "list", args.hearing_id, lambda: records.find(
            args.case_number, args.date, args.hearing_id))
    finally:
        await store.close()
        await records.close()
    print(json.dumps(items, indent=None if args.json else 2))
    return EXIT_OK


async def _records_export(args: argparse.Namespace) -> int:
    store, records = _audited_records(args)
    try:
        bundle = await _cli_access(records, "export", args.hearing_id,
                                   lambda: records.export(args.hearing_id, Path(args.dest)))
    finally:
        await store.close()
        await records.close()
    print(json.dumps({"bundle": str(bundle)}))
    return EXIT_OK


async def _records_composite(args: argparse.Namespace) -> int:
    from recording.composite import render_composite

    store, records = _audited_records(args)
    await store.close()

    def bar(fraction: float) -> None:
        done = int(fraction * 40)
        sys.stderr.write(f"\r[{'#' * done}{'.' * (40 - done)}] {fraction * 100:5.1f}%")
        sys.stderr.flush()

    async def render() -> Path:
        folder = records.folder(args.hearing_id)
        return await render_composite(folder, Path(args.out), on_progress=bar)

    try:
        out = await _cli_access(records, "render_composite", args.hearing_id, render)
    finally:
        await records.close()
    sys.stderr.write("\n")
    print(json.dumps({"composite": str(out)}))
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """``hearing-server audit verify [--data-dir D] [--json]``: 0 only when intact.

    Read-only: needs the data folder's ``audit.key`` (and checks the head's signature
    with the node's public key when ``node_ed25519.pem`` is there)."""
    from recording.signing import load_or_create_key

    from .store.audit import check_log, key_path_for

    data_dir = Path(args.data_dir) if args.data_dir else _settings(args).data_dir
    log_path = data_dir / "audit.jsonl"
    key_path = key_path_for(log_path)

    def fail(reason: str, code: int = 1) -> int:
        if args.json:
            print(json.dumps({"ok": False, "log": str(log_path), "reason": reason}))
        else:
            print(f"NOT INTACT: {reason}")
        return code

    if not key_path.is_file():
        if not log_path.exists():
            return fail(f"no audit log in {data_dir}", 2)
        return fail(f"the audit key {key_path} is missing: the log cannot be verified", 2)
    public_key = None
    if (data_dir / "node_ed25519.pem").is_file():
        public_key = load_or_create_key(data_dir / "node_ed25519.pem").public_key_b64
    result = check_log(log_path, key_path.read_bytes(), public_key)
    if not result.ok:
        return fail(result.reason)
    if args.json:
        print(json.dumps({"ok": True, "log": str(log_path), "lines": result.lines,
                          "signed_head": result.signed_head}))
    else:
        print(f"INTACT: {result.lines} line(s), keyed chain and head valid"
              + (", head signed by the node key" if result.signed_head else ""))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from recording.verify import main as verify_main

    argv = [args.path] + (["--public-key", args.public_key] if args.public_key else [])
    for flag, value in (("--hearing-id", args.hearing_id), ("--case-number", args.case_number),
                        ("--seal", args.seal)):
        if value:
            argv += [flag, value]
    if args.json:
        argv.append("--json")
    return int(verify_main(argv))


# ---- backup and restore --------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    from .backup import backup

    settings = _settings(args)
    summary = backup(settings.data_dir, Path(args.out), settings.node_id)
    summary["store"] = "redis" if settings.redis_url else "sqlite"
    note = ("  (the store is Redis: back up its AOF/RDB too)" if settings.redis_url else "")
    _print(args, summary, f"backup written to {summary['backup']}: {summary['files']} files,"
           f" {summary['bytes']} bytes{note}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from .backup import restore

    settings = _settings(args, data=False)
    summary = restore(Path(args.file), settings.data_dir, force=args.force)
    _print(args, summary, f"restored {summary['files']} files into {summary['restored']}")
    return EXIT_OK


# ---- the parser ------------------------------------------------------------------------


def _globals(p: argparse.ArgumentParser, defaults: bool) -> None:
    """The global options; on subcommands their default is "not given" so a value
    given before the subcommand is kept."""

    def d(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    p.add_argument("--config", metavar="FILE", default=d(None),
                   help="TOML settings file (also HEARING_CONFIG)")
    p.add_argument("--data-dir", metavar="DIR", default=d(None),
                   help="data folder (default ./data; also HEARING_DATA_DIR)")
    p.add_argument("--public-url", metavar="URL", default=d(None),
                   help="base URL of join links (default http://host:port;"
                        " also HEARING_PUBLIC_URL)")
    p.add_argument("--init", action="store_true", default=d(False),
                   help="create the data folder if it does not exist (without it a"
                        " missing folder is an error)")
    p.add_argument("--json", action="store_true", default=d(False),
                   help="machine-readable output and errors (one JSON object)")


_GLOBALS = argparse.ArgumentParser(add_help=False)
_globals(_GLOBALS, defaults=False)


def _leaf(sub: Any, name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
    """A subcommand that also accepts the global options after its name."""
    leaf: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help,
                                                   parents=[_GLOBALS], **kw)
    return leaf


def _court_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--court-name", help="the court's name on every page (also court_name)")
    p.add_argument("--court-contact", help="the contact line on refusals and notices, e.g."
                   " \"Clerk's office, +1 555 0100, clerk@court.example\" (also court_contact)")
    p.add_argument("--default-language", help="the pages' language when neither the"
                   " participant's nor the browser's is available: en or zh-CN")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hearing-server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"hearing-server {_version()}")
    _globals(p, defaults=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _leaf(sub, "serve", "run a node")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    _court_options(serve)
    serve.set_defaults(func=cmd_serve)

    check = _leaf(sub, "check-config", "load and validate the settings, print what a node"
                  " would use (secrets masked)")
    check.add_argument("--host", help="as for serve")
    check.add_argument("--port", type=int, help="as for serve")
    _court_options(check)
    check.set_defaults(func=cmd_check_config)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    add = _leaf(staff, "add", "create or update a staff account")
    add.add_argument("username", help="sign-in name")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    add.add_argument("--name", help="display name (default the username)")
    pw = add.add_mutually_exclusive_group()
    pw.add_argument("--password", help="the password (visible to other users of this"
                    " machine: prefer the prompt or --password-stdin)")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of standard input")
    add.set_defaults(afunc=_staff_add)
    _register_account_commands(staff)

    key = sub.add_parser("apikey", help="API keys for a case-management system")
    key_sub = key.add_subparsers(dest="sub", required=True, metavar="ACTION")
    kc = _leaf(key_sub, "create", "create an API key (printed once)")
    kc.add_argument("name", help="what the key is for, e.g. the system's name")
    kc.add_argument("--role", default="clerk", choices=ROLES,
                    help="what the key may do (default clerk)")
    kc.add_argument("--scope", action="append", choices=["hearings", "records", "accounts"],
                    help="what the key may be used for (repeatable; default: hearings)")
    kc.add_argument("--days", type=float, default=365.0,
                    help="lifetime in days (default 365; 0: never expires)")
    kc.set_defaults(afunc=_apikey_create)
    _leaf(key_sub, "list", "API keys (without secrets)").set_defaults(afunc=_apikey_list)
    kr = _leaf(key_sub, "revoke", "revoke the API keys of this name")
    kr.add_argument("name", help="the keys' name")
    kr.set_defaults(afunc=_apikey_revoke)

    hearing = sub.add_parser("hearing", help="schedule and list hearings")
    hsub = hearing.add_subparsers(dest="sub", required=True, metavar="ACTION")
    hc = _leaf(hsub, "create", "schedule a hearing; prints JSON with the join links")
    hc.add_argument("--case-number", required=True, help="the court's case number")
    hc.add_argument("--title", required=True, help="title shown to participants")
    hc.add_argument("--kind", default="hearing", choices=["hearing", "mediation"],
                    help="hearing (default) or mediation (caucus rooms)")
    hc.add_argument("--at", required=True, help="ISO 8601 time with zone, e.g. 2026-12-01T10:00Z")
    hc.add_argument("--minutes", type=int, default=60, help="planned length (default 60)")
    for role in PARTICIPANT_ROLES:
        hc.add_argument(f"--{role}", action="append", metavar="NAME",
                        help=f"a {role} by name (repeat for several)")
    hc.add_argument("--language", action="append", metavar="NAME=LANG",
                    help="the page language of the participant of that name (en, zh-CN;"
                         " repeatable; default: their browser's, then default_language)")
    hc.add_argument("--presiding", metavar="USERNAME",
                    help="staff account of the presiding judge (or mediator)")
    hc.add_argument("--assign-clerk", action="append", metavar="USERNAME",
                    help="clerk account assigned to the hearing (repeatable)")
    hc.set_defaults(afunc=_hearing_create)
    ha = _leaf(hsub, "assign", "assign the presiding judge/mediator and the clerks")
    ha.add_argument("hearing_id", help="the hearing")
    ha.add_argument("--presiding", metavar="USERNAME", help="the presiding account ('' clears)")
    ha.add_argument("--clerk", action="append", metavar="USERNAME",
                    help="the assigned clerks (repeatable; replaces the list)")
    ha.set_defaults(afunc=_hearing_assign)
    hl = _leaf(hsub, "list", "list hearings as JSON")
    hl.add_argument("--case-number", help="only this case")
    hl.set_defaults(afunc=_hearing_list)

    key = sub.add_parser("key", help="the node's Ed25519 signing key")
    _leaf(key.add_subparsers(dest="sub", required=True, metavar="ACTION"), "export",
          "print the public key (PEM) that verifies this node's records"
          ).set_defaults(func=cmd_key_export)

    rec = sub.add_parser("records", help="case records (every access is audited)")
    rsub = rec.add_subparsers(dest="sub", required=True, metavar="ACTION")
    rl = _leaf(rsub, "list", "list case records as JSON")
    rl.add_argument("--case-number", help="only this case")
    rl.add_argument("--date", help="only this day, YYYY-MM-DD")
    rl.add_argument("--hearing-id", help="only this hearing")
    rl.set_defaults(afunc=_records_list)
    rx = _leaf(rsub, "export", "write the record as one zip bundle")
    rx.add_argument("hearing_id", help="the hearing whose record to export")
    rx.add_argument("--dest", default=".", help="folder for the bundle (default .)")
    rx.set_defaults(afunc=_records_export)
    rc = _leaf(rsub, "composite", "render the composite viewing copy (progress bar)")
    rc.add_argument("hearing_id", help="the hearing whose record to render")
    rc.add_argument("--out", required=True, help="output file (.webm or .mp4)")
    rc.set_defaults(afunc=_records_composite)

    verify = _leaf(sub, "verify", "verify a hearing folder or exported bundle offline"
                   " (exit 1 when it has problems)")
    verify.add_argument("path", help="hearing folder or .zip bundle")
    verify.add_argument("--public-key", metavar="FILE",
                        help="the court's public key (PEM or base64)")
    verify.add_argument("--hearing-id", help="the hearing the record must belong to"
                        " (default: the folder's or bundle's name)")
    verify.add_argument("--case-number", help="the case the record must belong to")
    verify.add_argument("--seal", metavar="FILE",
                        help="the record's seal.json (or registry line) kept apart from it")
    verify.set_defaults(func=cmd_verify)

    audit = sub.add_parser("audit", help="the access audit log")
    _leaf(audit.add_subparsers(dest="sub", required=True, metavar="ACTION"), "verify",
          "verify the audit log offline (exit 0 when intact)").set_defaults(
              func=cmd_audit_verify)

    backup = _leaf(sub, "backup", "write the data folder (SQLite store, records, keys,"
                   " secrets) to one .tar.gz; safe while the node runs")
    backup.add_argument("--out", required=True, metavar="FILE",
                        help="the archive to write (mode 0600: it holds the secrets)")
    backup.set_defaults(func=cmd_backup)

    restore = _leaf(sub, "restore", "restore a backup into the data folder (stop the node"
                    " first)")
    restore.add_argument("file", help="an archive written by backup")
    restore.add_argument("--force", action="store_true",
                         help="restore even over a non-empty data folder")
    restore.set_defaults(func=cmd_restore)
    return p


def _fail(args: argparse.Namespace | None, code: str, message: str, status: int) -> int:
    if args is not None and getattr(args, "json", False):
        print(json.dumps({"error": {"code": code, "message": message}}), file=sys.stderr)
    else:
        print(f"hearing-server: error: {message} [{code}]", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if hasattr(args, "afunc"):
            return int(asyncio.run(args.afunc(args)))
        return int(args.func(args))
    except HearingError as exc:
        status = next((s for prefix, s in EXIT_BY_CODE.items() if exc.code.startswith(prefix)),
                      EXIT_REFUSED)
        return _fail(args, exc.code, exc.message, status)
    except ValueError as exc:
        return _fail(args, "input.invalid", str(exc), EXIT_REFUSED)
    except KeyboardInterrupt:
        return _fail(args, "cli.interrupted", "interrupted", 130)
    except Exception as exc:
        if os.environ.get("HEARING_TRACEBACK"):
            raise
        return _fail(args, "error.internal", f"{type(exc).__name__}: {exc} (run with"
                     " HEARING_TRACEBACK=1 for the traceback)", EXIT_INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
