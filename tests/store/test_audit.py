"""The audit log is keyed, truncation-evident, single-writer, truthful and recoverable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hearing_server.cli import main as cli_main
from hearing_server.store.audit import AuditLog, check_log
from recording.signing import Signer, load_or_create_key


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def audit_log(data: Path) -> AuditLog:
    return AuditLog(data / "audit.jsonl", signer=load_or_create_key(data / "node_ed25519.pem"))


def lines_of(log: AuditLog) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in log.path.read_text().splitlines()]


def write_lines(log: AuditLog, lines: list[dict[str, object]]) -> None:
    log.path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_outcomes_are_recorded_truthfully(data: Path) -> None:
    log = audit_log(data)
    log.append("clerk1", "export", "h1", "allowed")
    log.append("mediator1", "read_manifest", "h1", "refused")  # the old word: denied
    log.append("clerk1", "export", "h1", outcome="failed", detail="records.not_found")
    log.append("clerk1", "list", None)  # the original call signature still works
    assert [line["outcome"] for line in log.read()] == ["allowed", "denied", "failed", "allowed"]
    with pytest.raises(ValueError):
        log.append("clerk1", "list", None, "maybe")
    assert log.verify() == (True, None)
    log.close()


def test_edited_line_with_a_recomputed_chain_is_detected(data: Path) -> None:
    log = audit_log(data)
    for actor in ("a", "b", "c"):
        log.append(actor, "play", "h1", "denied")
    lines = lines_of(log)
    lines[1]["outcome"] = "allowed"
    prev = lines[0]["mac"]
    for line in lines[1:]:  # recompute with anything but the key
        line["prev"] = prev
        body = {k: v for k, v in line.items() if k != "mac"}
        line["mac"] = prev = hashlib.sha256(str(prev).encode() + json.dumps(body).encode()
                                            ).hexdigest()
    write_lines(log, lines)
    ok, index = log.verify()
    assert (ok, index) == (False, 1)
    assert "changed" in log.check().reason
    log.close()


def test_truncated_tail_is_detected(data: Path) -> None:
    log = audit_log(data)
    for number in range(4):
        log.append("clerk1", "play", f"h{number}")
    write_lines(log, lines_of(log)[:2])
    result = log.check()
    assert not result.ok and "cut off the end" in result.reason
    log.close()


def test_head_file_replaced_by_an_older_one_is_detected(data: Path) -> None:
    log = audit_log(data)
    log.append("clerk1", "play", "h1")
    old_head = log.head_path.read_bytes()
    log.append("clerk1", "play", "h2")
    write_lines(log, lines_of(log)[:1])
    log.head_path.write_bytes(old_head)  # consistent with the cut log, but...
    assert check_log(log.path, (data / "audit.key").read_bytes()).ok  # ...no later head
    forged = json.loads(old_head)
    forged["count"] = 5
    log.head_path.write_text(json.dumps(forged))
    assert not log.check().ok  # the head's MAC and signature cover the count
    log.close()


def test_torn_last_line_is_moved_aside_and_the_log_opens(data: Path) -> None:
    log = audit_log(data)
    log.append("clerk1", "play", "h1")
    log.close()
    with open(log.path, "ab") as fh:
        fh.write(b'{"v": 2, "seq": 2, "actor": "cle')  # the node died mid-write
    assert not check_log(log.path, (data / "audit.key").read_bytes()).ok
    reopened = audit_log(data)
    assert reopened.recovered is not None
    lines = reopened.read()
    assert [(x["action"], x["outcome"]) for x in lines] == [
        ("play", "allowed"), ("audit_recovered", "failed")]
    torn = list(data.glob("audit.jsonl.torn-*"))
    assert len(torn) == 1 and torn[0].read_bytes().startswith(b'{"v": 2, "seq": 2')
    reopened.append("clerk1", "play", "h2")
    assert reopened.verify() == (True, None)
    reopened.close()


def test_two_writers_on_one_log_keep_one_chain(data: Path) -> None:
    node, cli = audit_log(data), audit_log(data)

    def write(log: AuditLog, actor: str) -> None:
        for number in range(40):
            log.append(actor, "play", f"h{number}")

    threads = [threading.Thread(target=write, args=(log, name))
               for log, name in ((node, "node"), (cli, "cli"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = node.read()
    assert len(lines) == 80 and [line["seq"] for line in lines] == list(range(1, 81))
    assert node.verify() == (True, None)
    node.close()
    cli.close()


def test_a_command_line_process_appends_through_the_node_lock(data: Path) -> None:
    node = audit_log(data)
    node.append("clerk1", "play", "h1")
    code = (
        "import sys; from pathlib import Path; from hearing_server.store.audit import AuditLog;"
        "log = AuditLog(Path(sys.argv[1]) / 'audit.jsonl');"
        "[log.append('cli:clerk', 'list', None) for _ in range(20)]; log.close()"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(data)])
    for number in range(20):
        node.append("clerk1", "play", f"h{number}")
    assert child.wait(timeout=30) == 0
    node.append("clerk1", "play", "last")
    assert len(node.read()) == 42
    assert node.verify() == (True, None)
    node.close()


def test_format_1_lines_are_accepted_as_the_start_of_the_log(data: Path) -> None:
    data.mkdir()
    prev = "0" * 64
    with open(data / "audit.jsonl", "w") as fh:
        for actor in ("a", "b"):
            body = {"at": "2026-01-01T00:00:00.000+00:00", "actor": actor, "action": "list",
                    "hearing_id": None, "outcome": "allowed", "detail": "", "address": "",
                    "prev": prev}
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
            prev = hashlib.sha256(prev.encode() + canonical).hexdigest()
            fh.write(json.dumps({**body, "hash": prev}, sort_keys=True) + "\n")
    log = audit_log(data)
    log.append("c", "list", None)
    lines = log.read()
    assert [line["seq"] for line in lines[2:]] == [3] and lines[2]["prev"] == prev
    assert log.verify() == (True, None)
    log.close()


def test_audit_verify_command_exits_non_zero_with_a_one_line_reason(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = audit_log(data)
    for number in range(3):
        log.append("clerk1", "play", f"h{number}")
    log.close()
    assert cli_main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.startswith("INTACT: 3 line(s)")
    assert cli_main(["--data-dir", str(data), "audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    text = log.path.read_text().replace("h1", "h9")
    log.path.write_text(text)
    assert cli_main(["audit", "verify", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("NOT INTACT: line 2 was changed")
    os.remove(data / "audit.key")
    assert cli_main(["audit", "verify", "--data-dir", str(data), "--json"]) == 2
    assert "key" in json.loads(capsys.readouterr().out)["reason"]


def test_head_signed_by_another_node_is_reported(data: Path) -> None:
    log = AuditLog(data / "audit.jsonl", signer=Signer.generate())
    log.append("clerk1", "play", "h1")
    node = load_or_create_key(data / "node_ed25519.pem")
    assert "another key" in log.check(node.public_key_b64).reason
    log.close()


def test_truncation_while_the_node_was_down_is_recorded_when_it_starts(data: Path) -> None:
    log = audit_log(data)
    for number in range(4):
        log.append("clerk1", "play", f"h{number}")
    log.close()
    write_lines(log, lines_of(log)[:2])
    restarted = audit_log(data)
    restarted.append("clerk1", "play", "h9")
    lines = restarted.read()
    assert [(x["action"], x["outcome"]) for x in lines[2:]] == [
        ("audit_integrity", "failed"), ("play", "allowed")]
    assert "cut off the end" in str(lines[2]["detail"])
    result = restarted.check()
    assert not result.ok and "records tampering" in result.reason  # for good
    restarted.close()
