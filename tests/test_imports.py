"""The package's modules import one another without a circle.

The stages import downwards only (formula -> design -> pls -> engine -> results' users). Two
kinds of import inside a function are allowed to point upwards: a result class's convenience
method that hands over to a later stage (``fit.profile()``, ``fit.update()``), and the
command line's imports, made late so that it starts quickly. Every other import, at module
level or inside a function, must leave the graph without a circle. Imports under
``if TYPE_CHECKING:`` (names for type hints, never run) are no part of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "mixedmodels"
DELEGATING = {"results", "glmm_results", "lm", "cli"}  # modules whose functions may import later stages


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """The package modules ``path`` imports at module level, and inside functions."""
    tree = ast.parse(path.read_text())
    top, inner = set(), set()
    level_of = {id(n): "top" for n in tree.body}
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in typing_only:
            names = [node.module] if node.module else [a.name for a in node.names]
            targets = {n.split(".")[0] for n in names}
            (top if level_of.get(id(node)) == "top" else inner).update(targets)
    return top, inner


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _graph(include_inner) -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.glob("*.py"):
        top, inner = _imports(path)
        graph[path.stem] = top | (inner if include_inner(path.stem) else set())
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(module: str, stack: list[str]) -> None:
        if module in stack:
            found.append([*stack[stack.index(module) :], module])
            return
        if module in done or module not in graph:
            return
        for target in sorted(graph[module]):
            visit(target, [*stack, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_module_level_imports_have_no_circle():
    assert _cycles(_graph(lambda module: False)) == []


def test_imports_inside_functions_have_no_circle_but_for_delegating_methods():
    assert _cycles(_graph(lambda module: module not in DELEGATING)) == []


def test_type_checking_imports_are_left_out(tmp_path):
    path = tmp_path / "module.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nfrom . import a\nif TYPE_CHECKING:\n    from .b import B\n"
    )
    assert _imports(path) == ({"a"}, set())


def test_a_circle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
