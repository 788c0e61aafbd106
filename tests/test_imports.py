"""The package's layers import downwards only, its modules without a circle, and no module
imports another's private (underscore) names.

``src/mixedmodels`` is a stack of subpackages (:data:`LAYERS`, lowest first). A module imports
modules of its own layer or of layers below it. The one exception is a fitted model's
convenience method that hands over to a later stage (``fit.profile()``, ``fit.confint(method="boot")``,
``fit.update()``): the fit classes' modules (:data:`DELEGATING`) may import upwards inside a
function, and so may the command line, whose imports are made late so that it starts quickly.
Any result's ``plot()`` may hand over to :mod:`mixedmodels.plotting` inside the method.
Every other import, at module level or inside a function, must point downwards and leave the
graph without a circle. Imports under ``if TYPE_CHECKING:`` (names for type hints, never run)
are no part of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "mixedmodels"
LAYERS = [
    "base",
    "datasets",
    "covariance",
    "formula",
    "families",
    "report",
    "numerics",
    "lmm",
    "fixed",
    "glmm",
    "inference",
    "profile",
    "replicates",
    "checks",
    "app",
]
TOP_LEVEL = {"__init__", "__main__", "plotting"}  # the public entry points, above every layer
DELEGATING = {"lmm.fit", "lmm.dask", "glmm.fit", "fixed.lm", "fixed.glm", "app.cli"}
FIGURES = "plotting"  # the last stage: any result's plot() imports it inside the method
MAX_TOP_LEVEL_MODULES = 12


def _name(path: Path) -> str:
    """``numerics/pls.py`` -> ``"numerics.pls"``; a package's ``__init__`` is the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom, known: set[str]) -> set[str]:
    """The package modules a relative ``from ... import ...`` reaches."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if module in TOP_LEVEL:
        base = []
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
    found = set()
    for alias in node.names:
        candidate = f"{stem}.{alias.name}" if stem else alias.name
        found.add(candidate if candidate in known else stem)
    return {f for f in found if f}


def _imports(path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """The package modules the file imports at module level, and inside functions."""
    tree = ast.parse(path.read_text())
    module, is_package = _name(path), path.stem == "__init__"
    body = {id(n) for n in tree.body}
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for inner in ast.walk(node)
    }
    top, inner = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and id(node) not in typing_only:
            (top if id(node) in body else inner).update(_resolve(module, is_package, node, known))
    return top - {module}, inner - {module}


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _rank(module: str) -> int:
    layer = module.split(".")[0]
    return len(LAYERS) if layer in TOP_LEVEL else LAYERS.index(layer)


def _edges(include_inner) -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for module, path in modules.items():
        top, inner = _imports(path, known)
        graph[module] = top | ((inner - {FIGURES}) if include_inner(module) else set())
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


def _upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((m, t) for m, targets in graph.items() for t in targets if _rank(t) > _rank(m))


def test_every_module_belongs_to_a_layer():
    assert {m.split(".")[0] for m in _modules()} <= set(LAYERS) | TOP_LEVEL


def test_at_most_twelve_modules_at_the_top_level():
    assert len(list(PACKAGE.glob("*.py"))) <= MAX_TOP_LEVEL_MODULES


def test_module_level_imports_point_downwards():
    assert _upward(_edges(lambda module: False)) == []


def test_imports_inside_functions_point_downwards_but_for_delegating_methods():
    assert _upward(_edges(lambda module: module not in DELEGATING)) == []


def test_module_level_imports_have_no_circle():
    assert _cycles(_edges(lambda module: False)) == []


def test_imports_inside_functions_have_no_circle_but_for_delegating_methods():
    assert _cycles(_edges(lambda module: module not in DELEGATING)) == []


def test_type_checking_imports_are_left_out(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    (tmp_path / "lmm").mkdir()
    path = tmp_path / "lmm" / "fit.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nfrom ..numerics import pls\n"
        "if TYPE_CHECKING:\n    from ..glmm.fit import GlmerFit\n"
        "def f():\n    from .engine import refit\n"
    )
    known = {"lmm.fit", "lmm.engine", "numerics.pls", "glmm.fit"}
    assert _imports(path, known) == ({"numerics.pls"}, {"lmm.engine"})


def test_an_upward_import_and_a_circle_are_found():
    graph = {"numerics.pls": {"lmm.fit"}, "lmm.fit": {"numerics.pls"}}
    assert _upward(graph) == [("numerics.pls", "lmm.fit")]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def _private_imports(path: Path) -> list[str]:
    """The underscore names ``path`` imports from other modules of the package."""
    return [
        f"{_name(path)} imports {'.' * node.level}{node.module or ''}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level >= 1
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_module_imports_another_modules_private_names():
    """A helper two modules share is public in the module that defines it."""
    assert [found for path in _modules().values() for found in _private_imports(path)] == []
