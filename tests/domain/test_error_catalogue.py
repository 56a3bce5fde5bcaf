"""One error catalogue: the code, the docs and the web client say the same."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hearing_server.domain.commands import CLIENT_EVENTS
from hearing_server.domain.errors import CATALOGUE, Code, HearingError, Kind
from recording import errors as recording_errors

ROOT = Path(__file__).resolve().parent.parent.parent


def i18n_codes(language: str) -> set[str]:
    text = (ROOT / "web_client" / "js" / "i18n.js").read_text()
    en, zh = text.index("const en = {"), text.index("const zh = {")
    part = text[en:zh] if language == "en" else text[zh:text.index("export const DICTIONARIES")]
    return set(re.findall(r'"err\.([a-z_.]+)"\s*:', part))


def test_every_code_is_declared_once_with_a_kind_and_a_meaning() -> None:
    assert set(CATALOGUE) == set(Code)
    assert len({c.value for c in Code}) == len(Code)
    for code, spec in CATALOGUE.items():
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", code.value), code
        assert spec.meaning and isinstance(spec.kind, Kind)


def test_the_protocol_document_lists_exactly_the_catalogue() -> None:
    import scripts.error_catalogue as generator

    text = (ROOT / "docs" / "protocol.md").read_text()
    assert generator.section(text) == generator.table(), \
        "run .venv/bin/python scripts/error_catalogue.py --write"


def test_every_code_the_protocol_document_names_is_in_the_catalogue() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text()
    named = set(re.findall(r"`([a-z]+\.[a-z_]+)`", text))
    codes = {c.value for c in Code}
    # event names share the dotted form; only names that look like codes of a known family
    families = {c.split(".")[0] for c in codes}
    # every client event (the parsers' table) and the server's dotted events
    events = set(CLIENT_EVENTS) | {
        "exhibit.shown", "media.held_back", "media.health", "media.offer", "media.answer", "media.candidate",
        "media.ready", "media.tracks", "media.publish", "media.unpublish", "mute.request",
        "recording.failed", "node.moving", "media.closed", "screen.allowed", "screen.stopped",
        "reception.transferred"}
    unknown = {n for n in named - codes - events
               if n.split(".")[0] in families and not n.endswith((".txt", ".json"))}
    assert unknown == set()


def test_the_web_client_has_a_message_for_exactly_every_code_in_both_languages() -> None:
    codes = {c.value for c in Code}
    assert i18n_codes("en") == codes
    assert i18n_codes("zh-CN") == codes


def test_the_recording_library_codes_are_in_the_catalogue() -> None:
    library = {v for k, v in vars(recording_errors).items()
               if k.isupper() and isinstance(v, str)}
    assert library <= {c.value for c in Code}


def test_no_code_is_written_as_a_loose_string_in_the_server() -> None:
    problems = []
    for top in ("hearing_server", "signaling"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.keyword) and node.arg == "code" and \
                        isinstance(node.value, ast.Constant):
                    problems.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    assert problems == []


def test_an_error_without_a_message_says_what_its_code_means() -> None:
    err = HearingError(code=Code.HEARING_LOCKED)
    assert err.to_dict() == {"code": "hearing.locked",
                             "message": CATALOGUE[Code.HEARING_LOCKED].meaning}
