"""Every kind of line the server writes into a hearing's event log has a label in the
clerk's console, in both languages (a clerk never reads a raw ``recording_gap``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def event_types() -> set[str]:
    types: set[str] = set()
    for path in (ROOT / "hearing_server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Event" \
                    and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    types.add(first.value)
                elif isinstance(first, ast.BinOp) and isinstance(first.left, ast.Constant):
                    # "recording_" + action: the session's recording actions
                    types |= {f"{first.left.value}{a}" for a in ("start", "pause", "resume",
                                                                 "stop")}
    return types


def labels(language: str) -> set[str]:
    text = (ROOT / "web_client" / "js" / "i18n.js").read_text()
    en, zh = text.index("const en = {"), text.index("const zh = {")
    part = text[en:zh] if language == "en" else text[zh:text.index("export const DICTIONARIES")]
    return set(re.findall(r'"ev\.([a-z_]+)"\s*:', part))


def test_the_scan_finds_the_event_types_it_should() -> None:
    found = event_types()
    assert {"admitted", "media_lost", "recording_pause", "recording_gap"} <= found


def test_every_event_type_has_a_label_in_english_and_chinese() -> None:
    types = event_types()
    assert types - labels("en") == set()
    assert types - labels("zh-CN") == set()
