"""No import circle inside robot.core, lazy (function-level) imports included: a module
pair that imports each other only works in one import order (issue 11 item 10 removed
``langpack`` <-> ``lang_*`` and ``numerals`` <-> ``numerals_ko``)."""

from __future__ import annotations

import ast
from pathlib import Path

import robot.core

CORE = Path(robot.core.__file__).parent


def core_imports() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for path in CORE.rglob("*.py"):
        parts = ("robot", "core", *path.relative_to(CORE).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        modules[name] = found
    return {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                found.append(path)
            elif nxt > start and nxt not in path:
                walk(start, nxt, [*path, nxt])

    for module in sorted(graph):
        walk(module, module, [module])
    return found


def test_the_checker_sees_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]


def test_core_has_no_import_circle() -> None:
    graph = core_imports()
    assert "robot.core.langpack" in graph and "robot.core.numerals_ko" in graph
    assert cycles(graph) == []
