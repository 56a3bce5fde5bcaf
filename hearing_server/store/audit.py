"""The access audit log: every read of a case record, every refusal and every failure,
as one JSON line in a keyed hash chain, with a signed head kept beside it.

Line (format 2)::

    {"v": 2, "seq": 7, "at": "...", "actor": "clerk1", "action": "export",
     "hearing_id": "h_1", "outcome": "allowed" | "denied" | "failed",
     "detail": "...", "address": "...", "prev": "<mac of line 6>", "mac": "<hex>"}

    mac = HMAC-SHA256(key, prev + RFC8785(line without "mac")),  prev of line 1 = "0"*64

The key (``audit.key``, 32 random bytes, mode 0600) lives in the data folder, so a
line cannot be edited, inserted or removed with the chain recomputed without it.
``audit.jsonl.head`` names the last line (count and mac), MAC'd with the same key and
signed with the node's Ed25519 key when one is given: cutting lines off the end of
the log (truncation) no longer matches the head. Lines written by format 1 (plain
SHA-256 chain, field ``hash``) are accepted as a prefix of the log.

Every append holds an exclusive ``flock`` on the log, re-reads the tail when another
process (the command line) appended, writes, fsyncs and updates the head: the node and
the CLI never break each other's chain. Appends run in one writer thread per log, in
order, off the event loop. A torn last line (a crash mid-write) is moved aside to
``audit.jsonl.torn-<time>`` at open and an ``audit_recovered`` line says so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

import rfc8785

from recording.seals import locked
from recording.signing import verify_signature

logger = logging.getLogger(__name__)

GENESIS: Final = "0" * 64
VERSION: Final = 2
HEAD_FORMAT: Final = "hearing-server/audit-head"
ALLOWED: Final = "allowed"
DENIED: Final = "denied"
FAILED: Final = "failed"
OUTCOMES: Final = frozenset({ALLOWED, DENIED, FAILED})
_LEGACY_OUTCOMES: Final = {"refused": DENIED}
_TAIL = 64 * 1024
ALGORITHM: Final = "Ed25519"


class HeadSigner(Protocol):
    """What signs the head file: the node's key (``recording.signing.Signer``)."""

    @property
    def public_key_b64(self) -> str: ...

    def sign(self, data: bytes) -> str: ...


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS), as in the record format."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonicalisable: {exc}") from exc


def _legacy_canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_or_create_audit_key(path: Path) -> bytes:
    """The audit log's HMAC key at ``path``, created (mode 0600) on first use."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
    key = path.read_bytes()
    if len(key) < 32:
        raise ValueError(f"{path} is not an audit key (needs 32 bytes)")
    return key


def key_path_for(log_path: Path) -> Path:
    """Where the key of the log at ``log_path`` lives (``audit.key`` beside it)."""
    return Path(log_path).with_name("audit.key")


def head_path_for(log_path: Path) -> Path:
    return Path(log_path).with_name(Path(log_path).name + ".head")


def _mac(key: bytes, prev: str, body: dict[str, Any]) -> str:
    return hmac.new(key, prev.encode("ascii") + canonical_json(body), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditCheck:
    """The outcome of :meth:`AuditLog.check`: ``ok``, a one-line ``reason`` when not,
    the index of the first bad line (``None`` when the log as a whole is at fault),
    and how many lines were checked."""

    ok: bool
    reason: str
    index: int | None
    lines: int
    signed_head: bool = False


class AuditLog:
    """The tamper-evident, single-writer audit log at ``path``.

    ``key`` is the HMAC key (default: ``audit.key`` beside the log, created on first
    use); ``signer`` (the node's key) signs the head file. ``append`` keeps the
    original call signature; ``outcome`` is ``allowed`` (default), ``denied`` or
    ``failed`` (``refused`` is read as ``denied``).
    """

    def __init__(self, path: Path, key: bytes | None = None,
                 signer: HeadSigner | None = None) -> None:
        self.path = Path(path)
        self.head_path = head_path_for(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = key if key is not None else load_or_create_audit_key(key_path_for(self.path))
        self._signer = signer
        self._writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="audit-writer")
        self._closed = False
        # What this process last saw at the end of the log: (size, inode, seq, mac).
        self._tail: tuple[int, int, int, str] | None = None
        self.recovered: str | None = None
        self._open()

    # -- writing ------------------------------------------------------------------

    def append(self, actor: str, action: str, hearing_id: str | None = None,
               outcome: str = ALLOWED, detail: str = "", address: str = "") -> dict[str, Any]:
        """Append one line. Called on a running event loop, the write (and fsync) is
        queued to the log's writer thread, in order, and the line is returned without
        its ``seq``/``prev``/``mac``; elsewhere it is written before returning. Use
        :meth:`record` to wait for the line to be durable from async code."""
        body = self._body(actor, action, hearing_id, outcome, detail, address)
        future = self._submit(body)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return future.result()
        future.add_done_callback(_log_failure)
        return body

    async def record(self, actor: str, action: str, hearing_id: str | None = None,
                     outcome: str = ALLOWED, detail: str = "",
                     address: str = "") -> dict[str, Any]:
        """Append one line and wait (off the event loop) until it is on disk."""
        body = self._body(actor, action, hearing_id, outcome, detail, address)
        return await asyncio.wrap_future(self._submit(body))

    async def flush(self) -> None:
        """Wait until every queued line is written."""
        await asyncio.wrap_future(self._writer.submit(lambda: None))

    def close(self) -> None:
        """Write what is queued and stop the writer thread. Idempotent."""
        if not self._closed:
            self._closed = True
            self._writer.shutdown(wait=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def _body(self, actor: str, action: str, hearing_id: str | None, outcome: str,
              detail: str, address: str) -> dict[str, Any]:
        outcome = _LEGACY_OUTCOMES.get(outcome, outcome)
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
        return {
            "v": VERSION,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "actor": str(actor), "action": str(action), "hearing_id": hearing_id,
            "outcome": outcome, "detail": str(detail)[:500], "address": str(address),
        }

    def _submit(self, body: dict[str, Any]) -> concurrent.futures.Future[dict[str, Any]]:
        if self._closed:  # after close (shutdown): write in the caller's thread
            done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
            try:
                done.set_result(self._write(body))
            except Exception as exc:
                done.set_exception(exc)
            return done
        return self._writer.submit(self._write, body)

    def _write(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._locked() as handle:
            info = os.fstat(handle.fileno())
            reread = self._tail is None or self._tail[:2] != (info.st_size, info.st_ino)
            seq, prev = self._current_tail(handle)
            if reread:
                problem = self._head_disagrees(seq, prev)
                if problem is not None:  # leave a keyed trace before anything else
                    logger.error("audit log %s: %s", self.path, problem)
                    seq, prev = self._append_locked(handle, self._body(
                        "system", "audit_integrity", None, FAILED, problem, ""), seq, prev)
            line = self._line(body, seq, prev)
            self._append_locked(handle, body, seq, prev)
        return line

    def _line(self, body: dict[str, Any], seq: int, prev: str) -> dict[str, Any]:
        line = {**body, "seq": seq + 1, "prev": prev}
        line["mac"] = _mac(self._key, prev, line)
        return line

    def _append_locked(self, handle: IO[bytes], body: dict[str, Any], seq: int,
                       prev: str) -> tuple[int, str]:
        line = self._line(body, seq, prev)
        handle.seek(0, os.SEEK_END)
        handle.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
        info = os.fstat(handle.fileno())
        self._tail = (info.st_size, info.st_ino, seq + 1, line["mac"])
        self._write_head(seq + 1, line["mac"])
        return seq + 1, str(line["mac"])

    def _head_disagrees(self, seq: int, mac: str) -> str | None:
        """Why the head file does not match the log's last line (``seq``, ``mac``), or
        ``None``: lines cut off the end, the last line replaced, the head edited or
        removed."""
        head = _read_json(self.head_path)
        if head is None:
            keyed = seq > 0 and len(mac) == 64 and self._tail_is_keyed()
            return "the head file is missing" if keyed else None
        unsigned = {k: v for k, v in head.items() if k not in ("hmac", "signature")}
        try:
            expected = hmac.new(self._key, canonical_json(unsigned), hashlib.sha256).hexdigest()
        except ValueError:
            expected = ""
        if not hmac.compare_digest(expected, str(head.get("hmac"))):
            return "the head file was changed (its MAC does not match)"
        count = head.get("count")
        if not isinstance(count, int) or count > seq:
            return (f"the log has {seq} lines but its head named line {count}: lines were "
                    "cut off the end")
        if count == seq and head.get("mac") != mac:
            return f"line {seq} is not the line the head names: it was replaced"
        return None

    def _tail_is_keyed(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                last = _last_line(handle, os.fstat(handle.fileno()).st_size)
        except (OSError, ValueError):
            return False
        return last is not None and "mac" in last

    def _current_tail(self, handle: IO[bytes]) -> tuple[int, str]:
        """(seq, mac) of the last line, re-read when someone else appended."""
        info = os.fstat(handle.fileno())
        if self._tail is not None and self._tail[:2] == (info.st_size, info.st_ino):
            return self._tail[2], self._tail[3]
        last = _last_line(handle, info.st_size)
        if last is None:
            return 0, GENESIS
        if "mac" in last:
            return int(last.get("seq", 0)), str(last["mac"])
        # A format-1 line: continue its chain; count the lines once.
        handle.seek(0)
        count = sum(1 for raw in handle.read().split(b"\n") if raw.strip())
        return count, str(last.get("hash", GENESIS))

    def _write_head(self, count: int, mac: str) -> None:
        head: dict[str, Any] = {
            "format": HEAD_FORMAT, "version": VERSION, "count": count, "mac": mac,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        }
        head["hmac"] = hmac.new(self._key, canonical_json(head), hashlib.sha256).hexdigest()
        if self._signer is not None:
            head["signature"] = {
                "algorithm": ALGORITHM, "public_key": self._signer.public_key_b64,
                "value": self._signer.sign(canonical_json(head)),
            }
        temp = self.head_path.with_name(self.head_path.name + ".tmp")
        with open(temp, "wb") as fh:
            fh.write(json.dumps(head).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, self.head_path)

    def _locked(self) -> AbstractContextManager[IO[bytes]]:
        return locked(self.path)

    def _open(self) -> None:
        """At open: move a torn last line aside, check the log against its head, and
        leave a line saying what was found (``audit_recovered``, ``audit_integrity``)."""
        with self._locked() as handle:
            data = handle.read()
            good = _good_length(data)
            if good < len(data):
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
                aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
                aside.write_bytes(data[good:])
                handle.truncate(good)
                handle.flush()
                os.fsync(handle.fileno())
                note = (f"torn last line ({len(data) - good} bytes) after a crash moved "
                        f"to {aside.name}")
                logger.warning("audit log %s: %s", self.path, note)
                self.recovered = note
                seq, prev = self._current_tail(handle)
                self._append_locked(handle, self._body(
                    "system", "audit_recovered", None, FAILED, note, ""), seq, prev)
            elif data:
                seq, prev = self._current_tail(handle)
                problem = self._head_disagrees(seq, prev)
                if problem is not None:
                    logger.error("audit log %s: %s", self.path, problem)
                    self._append_locked(handle, self._body(
                        "system", "audit_integrity", None, FAILED, problem, ""), seq, prev)
                elif head_path_for(self.path).exists() is False and seq > 0:
                    self._write_head(seq, prev)  # a format-1 log: start its head

    # -- reading and checking -------------------------------------------------------

    def read(self) -> list[dict[str, Any]]:
        """Every complete line (a torn last line is left out)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [json.loads(raw) for raw in data[:_good_length(data)].split(b"\n") if raw.strip()]

    def verify(self) -> tuple[bool, int | None]:
        """Check the chain and the head; returns (intact, index of the first bad line)."""
        result = self.check()
        return result.ok, result.index

    def check(self, public_key_b64: str | None = None) -> AuditCheck:
        return check_log(self.path, self._key,
                         public_key_b64 or (self._signer.public_key_b64 if self._signer else None))


def _log_failure(future: concurrent.futures.Future[dict[str, Any]]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("could not write the audit log: %s", future.exception())


def _good_length(data: bytes) -> int:
    """Length of ``data`` up to the end of its last complete, readable line."""
    end = data.rfind(b"\n") + 1
    if end == 0:
        return 0
    start = data.rfind(b"\n", 0, end - 1) + 1
    try:
        json.loads(data[start:end])
    except (ValueError, UnicodeDecodeError):
        return start  # the last newline-terminated line is garbage too: a torn write
    return end


def _last_line(handle: IO[bytes], size: int) -> dict[str, Any] | None:
    if size == 0:
        return None
    handle.seek(max(0, size - _TAIL))
    chunk = handle.read()
    if len(chunk) == size or chunk.count(b"\n") >= 2:
        lines = [raw for raw in chunk.split(b"\n") if raw.strip()]
        if lines:
            value = json.loads(lines[-1])
            return value if isinstance(value, dict) else None
    handle.seek(0)
    lines = [raw for raw in handle.read().split(b"\n") if raw.strip()]
    value = json.loads(lines[-1]) if lines else None
    return value if isinstance(value, dict) else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def check_log(path: Path, key: bytes, public_key_b64: str | None = None) -> AuditCheck:
    """Verify the audit log at ``path`` offline with its ``key``: every line's MAC and
    link, the head file (truncation), and the head's signature when a key is given."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    good = _good_length(data)
    count = 0
    prev = GENESIS
    keyed = False
    raw_lines = [raw for raw in data[:good].split(b"\n") if raw.strip()]
    for index, raw in enumerate(raw_lines):
        count = index + 1
        try:
            line = json.loads(raw)
            if not isinstance(line, dict):
                raise ValueError
        except ValueError:
            return AuditCheck(False, f"line {count} is not JSON", index, count)
        if line.get("prev") != prev:
            return AuditCheck(False, f"line {count} does not follow line {index} "
                              "(lines removed, inserted or reordered)", index, count)
        if "mac" in line:
            keyed = True
            body = {k: v for k, v in line.items() if k != "mac"}
            if line.get("seq") != count:
                return AuditCheck(False, f"line {count} has sequence number "
                                  f"{line.get('seq')!r}", index, count)
            try:
                expected = _mac(key, prev, body)
            except ValueError:
                expected = ""
            if not hmac.compare_digest(expected, str(line.get("mac"))):
                return AuditCheck(False, f"line {count} was changed (its MAC does not match)",
                                  index, count)
            prev = str(line["mac"])
        else:
            if keyed:
                return AuditCheck(False, f"line {count} is an unkeyed line after keyed ones",
                                  index, count)
            body = {k: v for k, v in line.items() if k != "hash"}
            digest = hashlib.sha256(prev.encode() + _legacy_canonical(body)).hexdigest()
            if digest != line.get("hash"):
                return AuditCheck(False, f"line {count} was changed (format-1 hash)", index,
                                  count)
            prev = digest
    if good < len(data):
        return AuditCheck(False, f"the last line is torn (incomplete write after line {count}); "
                          "the node moves it aside at its next start", None, count)
    head = _read_json(head_path_for(path))
    if head is None:
        if count == 0:
            return AuditCheck(True, "", None, 0)
        return AuditCheck(False, "the head file is missing (the log cannot be checked for "
                          "truncation)", None, count)
    unsigned = {k: v for k, v in head.items() if k not in ("hmac", "signature")}
    try:
        head_mac = hmac.new(key, canonical_json(unsigned), hashlib.sha256).hexdigest()
    except ValueError:
        head_mac = ""
    if not hmac.compare_digest(head_mac, str(head.get("hmac"))):
        return AuditCheck(False, "the head file was changed (its MAC does not match)", None,
                          count)
    signed = False
    signature = head.get("signature")
    if signature is not None:  # (a writer without the node key leaves it out; the MAC stays)
        with_mac = {k: v for k, v in head.items() if k != "signature"}
        if not isinstance(signature, dict) or not verify_signature(
                str(signature.get("public_key")), canonical_json(with_mac),
                str(signature.get("value"))):
            return AuditCheck(False, "the head file's signature is missing or invalid", None,
                              count)
        if public_key_b64 is not None and signature.get("public_key") != public_key_b64:
            return AuditCheck(False, "the head file is signed by another key", None, count)
        signed = True
    head_count = head.get("count")
    if not isinstance(head_count, int) or head_count > count:
        return AuditCheck(False, f"the log has {count} lines but its head names line "
                          f"{head_count}: lines were cut off the end", None, count)
    at_head = json.loads(raw_lines[head_count - 1]) if head_count > 0 else None
    head_line_mac = GENESIS if at_head is None else str(at_head.get("mac", at_head.get("hash")))
    if head.get("mac") != head_line_mac:
        return AuditCheck(False, f"line {head_count} is not the line the head names", None,
                          count)
    if count - head_count > 1:
        return AuditCheck(False, f"{count - head_count} lines follow the head (a crash leaves "
                          "at most one)", None, count)
    for index, raw in enumerate(raw_lines):
        if b'"audit_integrity"' in raw:
            line = json.loads(raw)
            if line.get("action") == "audit_integrity" and line.get("actor") == "system":
                return AuditCheck(False, f"line {index + 1} records tampering found by the "
                                  f"node: {line.get('detail')}", index, count, signed)
    return AuditCheck(True, "", None, count, signed)
