"""Imports point down the layers only (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# a module in layer L may import from the layers listed for it (and itself)
LAYERS = {
    "hearing_server.domain": {"hearing_server.domain"},
    "hearing_server.tasks": set(),
    # logging helpers (log_context; standard library only): a leaf every layer may import
    "hearing_server.logs": set(),
    "hearing_server.auth": {"hearing_server.domain", "hearing_server.auth"},
    "hearing_server.store": {"hearing_server.domain", "hearing_server.auth",
                             "hearing_server.store"},
    "hearing_server.relay": {"hearing_server.domain", "hearing_server.relay",
                             "hearing_server.tasks"},
    "recording": {"recording"},
    "hearing_server.services": {"hearing_server.domain", "hearing_server.auth",
                                "hearing_server.store", "hearing_server.relay",
                                "hearing_server.services", "hearing_server.settings",
                                "hearing_server.tasks", "hearing_server.logs",
                                "recording"},
    "signaling": {"hearing_server.domain", "hearing_server.services", "hearing_server.logs",
                  "signaling"},
    "hearing_server.api": {"hearing_server.domain", "hearing_server.auth",
                           "hearing_server.services", "hearing_server.store",
                           "hearing_server.logs", "hearing_server.api"},
}
PROJECT = ("hearing_server", "signaling", "recording", "bench")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                out.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                out.add(node.module)
    return {i for i in out if i.split(".")[0] in PROJECT}


def layer_of(module: str) -> str | None:
    best = None
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def test_imports_point_down_the_layers_only() -> None:
    problems = []
    for top in ("hearing_server", "signaling", "recording"):
        for path in (ROOT / top).rglob("*.py"):
            mod = module_name(path)
            layer = layer_of(mod)
            if layer is None:
                continue  # composition root (app, cli) and settings may import anything
            allowed = LAYERS[layer]
            for imported in imports(path):
                target = layer_of(imported) or imported
                if not any(target == a or target.startswith(a + ".") for a in allowed):
                    problems.append(f"{mod} imports {imported}")
    assert problems == []


def test_domain_imports_nothing_async_or_external() -> None:
    for path in (ROOT / "hearing_server" / "domain").rglob("*.py"):
        text = path.read_text()
        for banned in ("asyncio", "aiohttp", "aiortc", "redis", "socketio"):
            assert f"import {banned}" not in text, (path, banned)


def test_json_logs_are_one_object_a_line() -> None:
    import json
    import logging

    from hearing_server.logs import JsonFormatter

    record = logging.LogRecord("hearing_server.x", logging.INFO, __file__, 1, "admitted %s",
                               ("p1",), None)
    record.hearing_id = "h1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "admitted p1" and line["hearing_id"] == "h1"
    assert line["level"] == "info"
