"""The layout keeps data flowing one way: the numeric core imports nothing above it, and no two
packages import each other (directly or round a circle). Every import counts, including those
inside functions and under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "abroad"

CORE = ("geo", "demand", "queueing", "planning", "tours", "ops")
EDGES = ("cli", "server")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "model": ("io", "network", "results", "jobs", "report", *CORE, *EDGES),
    **{core: ("io", "network", "results", "jobs", "report", *EDGES) for core in CORE},
    "network": ("io", "results", "jobs", "report", *EDGES),
    "results": ("io", "jobs", "report", *EDGES),
    "io": ("jobs", "report", *EDGES),
    "report": ("jobs", "io", *EDGES),
    "jobs": EDGES,
}
"""Packages (first name under ``abroad``) each package may not import."""


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "abroad" and len(parts) > 1 else None


def _own_package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imports_by_package() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ["file:line", ...] (imports of itself left out)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(SRC.rglob("*.py")):
        own = _own_package(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "abroad":
                    names = [f"abroad.{a.name}" for a in node.names]
            for name in names:
                pkg = _package(name)
                if pkg is not None and pkg != own:
                    graph[own][pkg].append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, {})):
            if state.get(m) == 1:
                found.append([*stack[stack.index(m) :], m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found


def test_the_walker_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    graph = imports_by_package()
    # abroad.cli imports its jobs inside the command functions only, and the result types
    # under TYPE_CHECKING only
    assert "jobs" in graph["cli"]
    assert "results" in graph["cli"]
    # the core is seen: demand uses geo and the model
    assert {"geo", "model"} <= set(graph["demand"])


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package: str) -> None:
    graph = imports_by_package()
    bad = {
        other: where
        for other, where in graph.get(package, {}).items()
        if other in FORBIDDEN[package]
    }
    assert not bad, f"abroad.{package} imports what it may not: {bad}"


def test_no_import_cycle_between_packages() -> None:
    assert _cycles(imports_by_package()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    graph: dict[str, dict[str, list[str]]] = {
        "report": {"jobs": ["x"]},
        "jobs": {"report": ["y"]},
        "io": {},
    }
    assert _cycles(graph) == [["jobs", "report", "jobs"]]
