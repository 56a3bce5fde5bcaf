"""The command line as an operator and a script use it: options after the
subcommand, one-line errors with distinct exit codes, --json, --init, help text."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
from contextlib import closing
from pathlib import Path

from hearing_server import cli
from recording.signing import load_or_create_key
from tests.cli.helpers import CLI, ROOT, free_port, one_line_error, run, stop, wait_healthy
from tests.recording.hearing import sealed_hearing
from tests.when import soon


def init_data(folder: Path) -> Path:
    done = run("--data-dir", str(folder), "--init", "hearing", "list")
    assert done.returncode == 0, done.stderr
    return folder


def test_version_names_the_installed_package() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.startswith("hearing-server 0.")


def test_global_options_work_after_the_subcommand_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = run("hearing", "create", "--case-number", "C-9", "--title", "After",
               "--at", soon(), "--judge", "J", "--data-dir", str(data),
               "--init", "--public-url", "https://court.example", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["participants"][0]["link"].startswith("https://court.example/")
    listed = json.loads(run("hearing", "list", "--data-dir", str(data)).stdout)
    assert [h["id"] for h in listed] == [created["hearing_id"]]
    # before the subcommand still works, and a value before is kept when none is after
    again = json.loads(run("--data-dir", str(data), "hearing", "list", "--json").stdout)
    assert [h["id"] for h in again] == [created["hearing_id"]]


def test_serve_accepts_data_dir_host_and_port_after_the_subcommand(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    proc = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--init", "--host",
                             "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert (data / "secret.key").exists()
    finally:
        stop(proc)


def test_a_mistyped_data_dir_is_refused_and_creates_no_store_or_secret(tmp_path: Path) -> None:
    typo = tmp_path / "dta"
    for args in (["serve", "--port", str(free_port())], ["hearing", "list"],
                 ["key", "export"], ["apikey", "create", "cms"]):
        done = run("--data-dir", str(typo), *args)
        line = one_line_error(done, cli.EXIT_DATA_DIR, "data_dir.missing")
        assert "--init" in line
    assert not typo.exists()


def test_an_uncreatable_data_folder_is_one_line_with_its_own_exit_code(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    done = run("--data-dir", str(tmp_path / "a-file" / "data"), "--init", "hearing", "list")
    one_line_error(done, cli.EXIT_DATA_DIR, "data_dir.uncreatable")


def test_a_missing_config_file_is_one_line_with_its_own_exit_code(tmp_path: Path) -> None:
    done = run("--config", str(tmp_path / "nope.toml"), "serve")
    assert "nope.toml" in one_line_error(done, cli.EXIT_CONFIG, "config.missing")
    done = run("check-config", env={"HEARING_CONFIG": str(tmp_path / "gone.toml")})
    one_line_error(done, cli.EXIT_CONFIG, "config.missing")


def test_bad_ice_servers_are_one_line_naming_the_setting_and_its_source(tmp_path: Path) -> None:
    for value in ("not json", '{"urls": "stun:x"}', '[{"urls": "http://x"}]',
                  '[{"urls": ["turn:t.example:3478"]}]', '[{"username": "u"}]'):
        done = run("check-config", env={"HEARING_ICE_SERVERS": value})
        line = one_line_error(done, cli.EXIT_CONFIG, "config.invalid")
        assert "ice_servers" in line and "HEARING_ICE_SERVERS" in line
    config = tmp_path / "node.toml"
    config.write_text('ice_servers = [{urls = "stun:stun.example:3478"}]\nport = "eighty"\n')
    line = one_line_error(run("--config", str(config), "check-config"), cli.EXIT_CONFIG,
                          "config.invalid")
    assert "port" in line and "node.toml" in line
    one_line_error(run("check-config", env={"HEARING_LOG_LEVEL": "LOUD"}), cli.EXIT_CONFIG,
                   "config.invalid")
    config.write_text("port = [\n")
    one_line_error(run("--config", str(config), "check-config"), cli.EXIT_CONFIG,
                   "config.invalid")


def test_a_port_in_use_is_one_line_with_its_own_exit_code(tmp_path: Path) -> None:
    data = init_data(tmp_path / "data")
    with closing(socket.socket()) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port",
                   str(port))
    assert "already in use" in one_line_error(done, cli.EXIT_LISTEN, "listen.address_in_use")


def test_staff_add_without_a_terminal_says_to_use_password_stdin(tmp_path: Path) -> None:
    data = init_data(tmp_path / "data")
    done = run("staff", "add", "clerk1", "--role", "clerk", "--data-dir", str(data))
    assert "--password-stdin" in one_line_error(done, cli.EXIT_NO_TTY, "tty.required")


def test_password_stdin_sets_the_password_from_a_pipe(tmp_path: Path) -> None:
    data = init_data(tmp_path / "data")
    done = run("staff", "add", "clerk1", "--role", "clerk", "--password-stdin",
               "--data-dir", str(data), stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"username": "clerk1", "role": "clerk"}
    weak = run("staff", "add", "c2", "--role", "clerk", "--password-stdin", "--data-dir",
               str(data), stdin="short\n")
    one_line_error(weak, cli.EXIT_REFUSED, "password.weak")


def test_json_errors_are_one_json_object_on_stderr(tmp_path: Path) -> None:
    done = run("--json", "--data-dir", str(tmp_path / "missing"), "hearing", "list")
    assert done.returncode == cli.EXIT_DATA_DIR
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "data_dir.missing" and str(tmp_path) in error["message"]


def test_check_config_prints_what_a_node_would_use_with_secrets_masked(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('port = 9443\nredis_url = "redis://:hunter2@127.0.0.1:6379/0"\n'
                      'ice_servers = [{urls = ["turn:turn.example:3478"], username = "u",'
                      ' credential = "s3cret"}]\n')
    done = run("check-config", "--config", str(config), "--json",
               env={"HEARING_COURT_NAME": "Example Court"})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] is True and out["store"] == "redis"
    assert out["settings"]["port"] == 9443
    assert out["settings"]["court_name"] == "Example Court"
    assert "hunter2" not in done.stdout and "s3cret" not in done.stdout
    text = run("check-config", "--config", str(config))
    assert text.returncode == 0 and "port = 9443" in text.stdout
    assert "hunter2" not in text.stdout and "s3cret" not in text.stdout


def test_verify_honours_json_and_exits_1_on_a_changed_record(tmp_path: Path) -> None:
    signer = load_or_create_key(tmp_path / "key.pem")
    folder = sealed_hearing(tmp_path / "H-1", signer)
    pub = tmp_path / "court.pub"
    pub.write_text(signer.public_key_pem())
    done = run("verify", str(folder), "--public-key", str(pub), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True
    (folder / "minutes.txt").write_text("changed")
    done = run("--json", "verify", str(folder), "--public-key", str(pub))
    report = json.loads(done.stdout)
    assert done.returncode == cli.EXIT_PROBLEMS and report["ok"] is False
    assert report["problems"]


def test_key_export_json_gives_the_pem_and_the_raw_key(tmp_path: Path) -> None:
    data = init_data(tmp_path / "data")
    out = json.loads(run("key", "export", "--data-dir", str(data), "--json").stdout)
    pem = run("key", "export", "--data-dir", str(data)).stdout
    assert out["public_key_pem"] == pem and len(out["public_key_b64"]) == 44


def test_every_option_of_every_subcommand_has_help_text() -> None:
    missing: list[str] = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(cli.parser(), "hearing-server")
    assert missing == []


def test_hearing_create_gives_a_participant_a_page_language(tmp_path: Path) -> None:
    data = init_data(tmp_path / "data")
    done = run("--data-dir", str(data), "hearing", "create", "--case-number", "C-L",
               "--title", "Li v. Doe", "--at", soon(), "--judge", "Judge Ada",
               "--party", "Li Wei", "--party", "Sam", "--language", "Li Wei=zh-CN", "--json")
    assert done.returncode == 0, done.stderr
    langs = {p["name"]: p["language"] for p in json.loads(done.stdout)["participants"]}
    assert langs == {"Judge Ada": "", "Li Wei": "zh-CN", "Sam": ""}
    bad = run("--data-dir", str(data), "hearing", "create", "--case-number", "C-L",
              "--title", "T", "--at", soon(), "--judge", "J", "--language", "J=fr")
    one_line_error(bad, bad.returncode, "input.invalid")


def test_check_config_takes_the_court_on_the_command_line(tmp_path: Path) -> None:
    done = run("check-config", "--court-name", "Example District Court", "--court-contact",
               "Clerk's office, +1 555 0100", "--default-language", "zh-CN", "--json",
               "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)["settings"]
    assert (settings["court_name"], settings["court_contact"], settings["default_language"]) == (
        "Example District Court", "Clerk's office, +1 555 0100", "zh-CN")
    bad = run("check-config", "--default-language", "fr", "--data-dir", str(tmp_path))
    one_line_error(bad, bad.returncode, "config.invalid")
