"""The import structure DESIGN.md draws: the drivers reach the sandbox only as an endpoint
override (no import), checks stay pure, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _imports() -> dict[str, set[str]]:
    """Every ``clamp`` module and the ``clamp`` and SDK modules it imports (at any depth)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((SRC / "clamp").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[module] = found
    return graph


GRAPH = _imports()


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_drivers_never_import_the_sandbox() -> None:
    offenders = {
        m: sorted(i for i in imported if _under(i, "clamp.sandbox"))
        for m, imported in GRAPH.items()
        if _under(m, "clamp.providers")
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_checks_import_no_cloud_sdk_and_no_driver() -> None:
    forbidden = ("azure", "google", "googleapiclient", "msgraph", "clamp.providers")
    offenders = {
        m: sorted(i for i in imported if any(_under(i, f) for f in forbidden))
        for m, imported in GRAPH.items()
        if _under(m, "clamp.checks")
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_modules_import_each_other_in_a_circle() -> None:
    modules = set(GRAPH)
    edges = {m: {i for i in imported if i in modules and i != m} for m, imported in GRAPH.items()}
    # a package's __init__ re-exporting its own modules is not a circle of ideas
    for m in edges:
        edges[m] = {i for i in edges[m] if not _under(i, m)}
    seen: dict[str, int] = {}  # 1 on the path, 2 done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges[node]):
            if seen.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for module in sorted(edges):
        if module not in seen:
            visit(module, [module])
    assert circles == []


def test_providers_import_no_check_and_no_action() -> None:
    offenders = {
        m: sorted(i for i in imported if _under(i, "clamp.checks") or _under(i, "clamp.actions"))
        for m, imported in GRAPH.items()
        if _under(m, "clamp.providers")
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_only_the_command_line_reaches_the_service() -> None:
    """``api`` and ``web`` sit on top: nothing below them imports them (only ``cli``), and
    the service holds no cloud knowledge (no SDK, no driver module but the factory)."""
    top = ("clamp.api", "clamp.web")
    below = {
        m: sorted(i for i in imported if any(_under(i, t) for t in top))
        for m, imported in GRAPH.items()
        if not any(_under(m, t) for t in (*top, "clamp.cli"))
    }
    assert {m: i for m, i in below.items() if i} == {}
    sdk = ("azure", "google", "googleapiclient", "msgraph")
    cloudy = {
        m: sorted(i for i in imported if any(_under(i, s) for s in sdk))
        for m, imported in GRAPH.items()
        if any(_under(m, t) for t in top)
    }
    assert {m: i for m, i in cloudy.items() if i} == {}
