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
                             "hearing_server.store", "recording"},
    "hearing_server.relay": {"hearing_server.domain", "hearing_server.relay",
                             "hearing_server.tasks", "recording"},
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
                           "hearing_server.logs", "hearing_server.api", "recording"},
}
#: the only relay modules a service may use: the façade and its frame type
RELAY_FACADE = {"hearing_server.relay.sfu", "hearing_server.relay.frames"}
#: services are plain use cases: no transport, no media stack, no database client
BANNED_IN_SERVICES = ("aiortc", "aioice", "aiohttp", "socketio", "engineio", "redis", "av")
COMPOSITION_ROOT = ("hearing_server/app.py", "hearing_server/cli.py")
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


def all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def package_of(module: str) -> str:
    layer = layer_of(module)
    return layer if layer is not None else module.rsplit(".", 1)[0] if "." in module else module


def test_the_package_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for top in ("hearing_server", "signaling", "recording"):
        for path in (ROOT / top).rglob("*.py"):
            mod = module_name(path)
            if layer_of(mod) is None:
                continue
            here = package_of(mod)
            for imported in imports(path):
                there = package_of(imported)
                if there != here and layer_of(imported) is not None:
                    graph.setdefault(here, set()).add(there)
    seen: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if seen.get(node) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*trail, node]))
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])
        seen[node] = 2

    for node in sorted(graph):
        visit(node, [])


def test_services_import_no_transport_media_stack_or_database_client() -> None:
    problems = []
    for path in (ROOT / "hearing_server" / "services").rglob("*.py"):
        for imported in all_imports(path):
            if imported.split(".")[0] in BANNED_IN_SERVICES:
                problems.append(f"{module_name(path)} imports {imported}")
            if imported.startswith("hearing_server.relay") and imported not in RELAY_FACADE:
                problems.append(f"{module_name(path)} reaches into {imported}")
        for imported in imports(path):
            if imported.startswith("hearing_server.relay") and imported not in RELAY_FACADE:
                problems.append(f"{module_name(path)} reaches into {imported}")
    assert problems == []


def test_the_architecture_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself works: an upward import in a domain module is reported."""
    module = ROOT / "hearing_server" / "domain" / "_probe_upward.py"
    module.write_text("from ..services import entry\nimport aiohttp\n")
    try:
        found = imports(module)
        assert "hearing_server.services.entry" in found or "hearing_server.services" in found
        assert not any(t.startswith("hearing_server.services") for t in
                       LAYERS["hearing_server.domain"])
        assert "aiohttp" in all_imports(module)
    finally:
        module.unlink()


def test_the_composition_root_needs_no_type_ignore_or_late_binding() -> None:
    for name in COMPOSITION_ROOT[:1]:
        text = (ROOT / name).read_text()
        assert "type: ignore" not in text
        assert "Late" not in text and "._" not in text.replace("self._", "")


def test_no_service_module_is_over_250_lines() -> None:
    for path in (ROOT / "hearing_server" / "services").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 260, path


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
