"""``hearing-server``: serve, manage staff and hearings, verify a case record."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .domain.errors import HearingError
from .logs import configure as configure_logging
from .settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        config_file=Path(args.config) if args.config else None,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=args.data_dir,
        public_url=args.public_url,
    )


def _services(settings: Settings) -> Any:
    from .app import build_store, build_tokens
    from .services.hearings import HearingService
    from .services.staff import StaffService
    from .store.eventlog import EventLog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = build_store(settings)
    tokens = build_tokens(settings)
    events = EventLog(settings.data_dir / "hearings")
    return store, HearingService(store, tokens, events, settings.base_url,
                                 settings.join_link_grace), StaffService(
        store, tokens)


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


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import build_app

    os.umask(0o077)  # everything the node writes (data folder, records, logs) is private
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    app = build_app(settings)
    base = settings.base_url
    print(f"Hearing Server on {base}  (data: {settings.data_dir.resolve()})", flush=True)
    print(f"  staff console: {base}/console", flush=True)
    print("  first hearing: hearing-server staff add clerk --role clerk; then sign in to the"
          " console, or: hearing-server hearing create --case-number C-1 --title Test"
          " --at 2026-12-01T10:00:00Z --judge 'Judge Ada' --party 'Sam Party'"
          " --assign-clerk clerk", flush=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(app, settings))
    return 0


async def _serve(app: Any, settings: Settings) -> None:
    """Run until SIGINT, or drain on SIGTERM: take no new hearings, let running ones
    finish for up to ``drain_timeout`` seconds, hand over what is left, then exit."""
    import signal

    from aiohttp import web

    from .app import DRAIN

    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    stop = asyncio.Event()
    drain = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, drain.set)
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(drain.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    if drain.is_set() and not stop.is_set():
        logging.getLogger("hearing_server").warning(
            "SIGTERM: draining (no new hearings; up to %.0f s for running ones)",
            settings.drain_timeout)
        await app[DRAIN].drain(settings.drain_timeout, stop)
    await runner.cleanup()


async def _staff_add(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    password = args.password or getpass.getpass(f"password for {args.username}: ")
    account = await staff.add(args.username, args.name or args.username, args.role, password)
    await store.close()
    print(json.dumps({"username": account.username, "role": account.role.value}))
    return 0


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
    return 0


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
                password = args.password or getpass.getpass(f"new password for {args.username}: ")
                account = await staff.reset_password(args.username, password)
            else:
                account = await staff.end_sessions(args.username)
            out = {"username": account.username, "role": account.role.value,
                   "disabled": account.disabled, "sessions_ended": True}
    finally:
        await store.close()
    print(json.dumps(out))
    return 0


def _register_account_commands(staff: Any) -> None:
    for name, text in (("disable", "disable an account (ends its sessions)"),
                       ("enable", "enable a disabled account"),
                       ("remove", "remove an account (ends its sessions)"),
                       ("role", "change an account's role (ends its sessions)"),
                       ("password", "reset an account's password (ends its sessions)"),
                       ("sign-out", "end every session of an account")):
        cmd = staff.add_parser(name, help=text)
        cmd.add_argument("username")
        if name == "role":
            cmd.add_argument("role", choices=["judge", "clerk", "mediator", "admin"])
        if name == "password":
            cmd.add_argument("--password", help="(prompted when omitted)")
        cmd.set_defaults(afunc=_account_command)


async def _apikey_list(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    _operator()(settings, Action.ACCOUNTS_MANAGE)
    store, _, staff = _services(settings)
    keys = await staff.list_api_keys()
    await store.close()
    print(json.dumps([k.to_dict() for k in keys], indent=2))
    return 0


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
    return 0


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
    print(json.dumps(hearing.to_dict(), indent=2))
    return 0


async def _hearing_create(args: argparse.Namespace) -> int:
    from .auth.authz import Action

    settings = _settings(args)
    store, hearings, _ = _services(settings)
    participants: list[dict[str, str]] = []
    for role in ("judge", "clerk", "mediator", "party", "counsel", "witness", "interpreter",
                 "observer"):
        for name in getattr(args, role) or []:
            participants.append({"name": name, "role": role})
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
    print(json.dumps(out, indent=2))
    return 0


async def _hearing_list(args: argparse.Namespace) -> int:
    from .auth.authz import Action
    from .services.access import Access

    settings = _settings(args)
    who = _operator()(settings, Action.HEARING_LIST)
    store, hearings, _ = _services(settings)
    items = Access.visible(who, await hearings.find(args.case_number))
    await store.close()
    print(json.dumps([h.to_dict() for h in items], indent=2))
    return 0


def cmd_key_export(args: argparse.Namespace) -> int:
    from recording.signing import load_or_create_key

    settings = _settings(args)
    signer = load_or_create_key(settings.data_dir / "node_ed25519.pem")
    sys.stdout.write(signer.public_key_pem())
    return 0


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
    print(json.dumps(items, indent=2))
    return 0


async def _records_export(args: argparse.Namespace) -> int:
    store, records = _audited_records(args)
    try:
        bundle = await _cli_access(records, "export", args.hearing_id,
                                   lambda: records.export(args.hearing_id, Path(args.dest)))
    finally:
        await store.close()
        await records.close()
    print(json.dumps({"bundle": str(bundle)}))
    return 0


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
    return 0


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
    return 0


def add_audit_commands(sub: Any) -> None:
    """``hearing-server audit verify``."""
    audit = sub.add_parser("audit", help="the access audit log")
    asub = audit.add_subparsers(dest="sub", required=True)
    av = asub.add_parser("verify", help="verify the audit log offline (exit 0 when intact)")
    av.add_argument("--data-dir", dest="data_dir", default=argparse.SUPPRESS,
                    help="data folder (default: the global --data-dir, or ./data)")
    av.add_argument("--json", action="store_true", help="print the result as JSON")
    av.set_defaults(func=cmd_audit_verify)


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hearing-server", description=__doc__)
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--data-dir", help="data folder (default ./data)")
    p.add_argument("--public-url", help="base URL of join links (default http://host:port;"
                   " also HEARING_PUBLIC_URL)")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a node")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="sub",
                                                                          required=True)
    add = staff.add_parser("add", help="create or update a staff account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["judge", "clerk", "mediator", "admin"])
    add.add_argument("--name")
    add.add_argument("--password", help="(prompted when omitted)")
    add.set_defaults(afunc=_staff_add)
    _register_account_commands(staff)

    key = sub.add_parser("apikey", help="API keys for a case-management system")
    key_sub = key.add_subparsers(dest="sub", required=True)
    kc = key_sub.add_parser("create")
    kc.add_argument("name")
    kc.add_argument("--role", default="clerk", choices=["judge", "clerk", "mediator", "admin"])
    kc.add_argument("--scope", action="append", choices=["hearings", "records", "accounts"],
                    help="what the key may be used for (repeatable; default: hearings)")
    kc.add_argument("--days", type=float, default=365.0,
                    help="lifetime in days (default 365; 0: never expires)")
    kc.set_defaults(afunc=_apikey_create)
    key_sub.add_parser("list", help="API keys (without secrets)").set_defaults(
        afunc=_apikey_list)
    kr = key_sub.add_parser("revoke", help="revoke the API keys of this name")
    kr.add_argument("name")
    kr.set_defaults(afunc=_apikey_revoke)

    hearing = sub.add_parser("hearing", help="schedule and list hearings")
    hsub = hearing.add_subparsers(dest="sub", required=True)
    hc = hsub.add_parser("create", help="schedule a hearing; prints JSON with the join links")
    hc.add_argument("--case-number", required=True)
    hc.add_argument("--title", required=True)
    hc.add_argument("--kind", default="hearing", choices=["hearing", "mediation"])
    hc.add_argument("--at", required=True, help="ISO 8601 time with zone, e.g. 2026-12-01T10:00Z")
    hc.add_argument("--minutes", type=int, default=60)
    for role in ("judge", "clerk", "mediator", "party", "counsel", "witness", "interpreter",
                 "observer"):
        hc.add_argument(f"--{role}", action="append", metavar="NAME")
    hc.add_argument("--presiding", metavar="USERNAME",
                    help="staff account of the presiding judge (or mediator)")
    hc.add_argument("--assign-clerk", action="append", metavar="USERNAME",
                    help="clerk account assigned to the hearing (repeatable)")
    hc.set_defaults(afunc=_hearing_create)
    ha = hsub.add_parser("assign", help="assign the presiding judge/mediator and the clerks")
    ha.add_argument("hearing_id")
    ha.add_argument("--presiding", metavar="USERNAME", help="'' to clear")
    ha.add_argument("--clerk", action="append", metavar="USERNAME",
                    help="the assigned clerks (repeatable; replaces the list)")
    ha.set_defaults(afunc=_hearing_assign)
    hl = hsub.add_parser("list")
    hl.add_argument("--case-number")
    hl.set_defaults(afunc=_hearing_list)

    key = sub.add_parser("key", help="the node's Ed25519 signing key")
    key.add_subparsers(dest="sub", required=True).add_parser(
        "export", help="print the public key (PEM) that verifies this node's records"
    ).set_defaults(func=cmd_key_export)

    rec = sub.add_parser("records", help="case records (every access is audited)")
    rsub = rec.add_subparsers(dest="sub", required=True)
    rl = rsub.add_parser("list")
    rl.add_argument("--case-number")
    rl.add_argument("--date", help="YYYY-MM-DD")
    rl.add_argument("--hearing-id")
    rl.set_defaults(afunc=_records_list)
    rx = rsub.add_parser("export", help="write the record as one zip bundle")
    rx.add_argument("hearing_id")
    rx.add_argument("--dest", default=".")
    rx.set_defaults(afunc=_records_export)

    rc = rsub.add_parser("composite", help="render the composite viewing copy (progress bar)")
    rc.add_argument("hearing_id")
    rc.add_argument("--out", required=True, help="output file (.webm or .mp4)")
    rc.set_defaults(afunc=_records_composite)

    verify = sub.add_parser("verify", help="verify a hearing folder or exported bundle offline")
    verify.add_argument("path")
    verify.add_argument("--public-key")
    verify.add_argument("--hearing-id", help="the hearing the record must belong to "
                        "(default: the folder's name)")
    verify.add_argument("--case-number")
    verify.add_argument("--seal", help="the record's seal.json kept apart from the record")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)
    add_audit_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if hasattr(args, "afunc"):
            return int(asyncio.run(args.afunc(args)))
        return int(args.func(args))
    except HearingError as exc:
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return 2
    except ValueError as exc:
        print(json.dumps({"error": {"code": "input.invalid", "message": str(exc)}}),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
