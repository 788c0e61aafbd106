"""The common simple cases of a formula, read straight from the data's arrays without formulaic.

formulaic parses and evaluates every formula in a general way that costs milliseconds even for
56 rows. Most formulas are simpler than that, and this module reads them directly:

- a response expression of numeric columns and numbers joined by ``+ - * /`` (``size -
  incidence``, one side of ``cbind(incidence, size - incidence)``), evaluated as formulaic
  evaluates it (NumPy arithmetic in the columns' own types) and then made floats;
- a right-hand side of column names joined by ``+`` with an intercept, each column numeric or
  an unordered categorical: R's default treatment coding, a 0/1 column per level but the first,
  named as R names it (``period2``).

Each function returns None for anything else, and the caller goes through formulaic: the
results are the same either way (the tests compare them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from .contrasts import r_column_name
from .frames import column_array

__all__ = ["additive_matrix", "arithmetic", "column_array", "simple_terms"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_OPERATORS: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
}
_MAX_CONSTANT = 2**31  # integer constants beyond this are left to formulaic (overflow rules)


def simple_terms(rhs: str) -> list[str] | None:
    """The terms of ``rhs`` when it is only '1', '0' and column names joined by '+', else None."""
    terms = [t.strip() for t in rhs.split("+")]
    if all(t in ("0", "1") or _IDENT.match(t) for t in terms):
        return terms
    return None


# ----------------------------------------------------------------- response expressions
def arithmetic(expr: str, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """``expr`` evaluated on every row of ``data``, if it is plain arithmetic of numeric columns.

    Parameters
    ----------
    expr : str
        A response expression such as ``"size - incidence"``.
    data : pandas.DataFrame
        Not modified.

    Returns
    -------
    values : ndarray of float, shape (n,)
        The expression of each row, computed in the columns' own NumPy types (as formulaic
        computes it on pandas columns) and then made floats.
    complete : ndarray of bool, shape (n,)
        The rows where no column it uses is missing (NaN).

    None when ``expr`` is anything else: a call, a power, a non-numeric or nullable column, a
    name that is not a column, a constant alone.
    """
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return None
    arrays: dict[str, np.ndarray] = {}
    if not _readable(tree, data, arrays) or not arrays:
        return None
    with np.errstate(all="ignore"):
        values = np.array(_evaluate(tree, arrays), dtype=float)  # a copy, never the data's array
    complete = np.ones(len(data), dtype=bool)
    for array in arrays.values():
        if array.dtype.kind == "f":
            complete &= ~np.isnan(array)
    return values, complete


def _readable(node: ast.AST, data: pd.DataFrame, arrays: dict[str, np.ndarray]) -> bool:
    """Whether ``node`` is arithmetic of numeric columns and numbers (collecting the columns)."""
    if isinstance(node, ast.BinOp):
        return (
            type(node.op) in _OPERATORS
            and _readable(node.left, data, arrays)
            and _readable(node.right, data, arrays)
        )
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.UAdd, ast.USub)) and _readable(node.operand, data, arrays)
    if isinstance(node, ast.Constant):
        value = node.value
        return isinstance(value, float) or (
            isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_CONSTANT
        )
    if isinstance(node, ast.Name):
        return _numeric_column(node.id, data, arrays)
    return False


def _numeric_column(name: str, data: pd.DataFrame, arrays: dict[str, np.ndarray]) -> bool:
    if name in arrays:
        return True
    if name not in data.columns:
        return False
    array = column_array(data, name)
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "if":
        return False
    arrays[name] = array
    return True


def _evaluate(node: ast.AST, arrays: dict[str, np.ndarray]):
    """The value of an expression :func:`_readable` accepted."""
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_evaluate(node.left, arrays), _evaluate(node.right, arrays))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, arrays)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant):
        return node.value
    assert isinstance(node, ast.Name)
    return arrays[node.id]


# ----------------------------------------------------------------- right-hand sides
def additive_matrix(rhs: str, frame: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]] | None:
    """The model matrix of ``rhs`` when it is column names joined by ``+``, treatment-coded.

    Parameters
    ----------
    rhs : str
        A right-hand side such as ``"period + x"`` (an intercept unless it has a ``0`` term).
    frame : pandas.DataFrame
        The model frame: no missing values, unused levels dropped.

    Returns
    -------
    X : ndarray, shape (n, p)
    names : list of str
        R's column names (``(Intercept)``, ``x``, ``period2``).
    terms : list of str
        The term of each column (``(Intercept)``, ``x``, ``period``).

    None for anything else: a term repeated, a column neither NumPy numbers nor an unordered
    categorical or text of at least two levels without missing values, a factor without an
    intercept (its coding would be full-rank), level labels R would spell otherwise.
    """
    terms = simple_terms(rhs)
    if terms is None or len(frame) == 0:
        return None
    columns = [t for t in terms if t not in ("0", "1")]
    if len(set(columns)) != len(columns):
        return None
    intercept = "0" not in terms
    blocks = [_block(name, frame, intercept) for name in columns]
    if any(b is None for b in blocks):
        return None
    return _assemble(len(frame), intercept, [b for b in blocks if b is not None])


def _block(name: str, frame: pd.DataFrame, intercept: bool):
    """(name, numbers or codes, level labels or None) of one column, or None if not simple."""
    array = column_array(frame, name)
    if isinstance(array, np.ndarray) and array.dtype.kind in "iuf":
        return name, array, None
    if not intercept:
        return None
    if isinstance(array, pd.Categorical):
        if array.ordered:
            return None
        codes, categories = array.codes, array.categories
    elif pd.api.types.infer_dtype(array, skipna=False) == "string":  # formulaic sorts the levels
        codes, categories = pd.factorize(array, sort=True)
    else:
        return None
    labels = [str(level) for level in categories]
    if len(labels) < 2 or (len(codes) and codes.min() < 0) or any(_awkward(s) for s in labels):
        return None
    return name, codes, labels


def _awkward(label: str) -> bool:
    """A level label that formulaic's column names would not carry through as it is."""
    return any(ch in label for ch in "[]:") or label != label.strip() or not label


def _assemble(n: int, intercept: bool, blocks) -> tuple[np.ndarray, list[str], list[str]]:
    widths = [1 if labels is None else len(labels) - 1 for _, _, labels in blocks]
    X = np.empty((n, int(intercept) + sum(widths)))
    names, terms = (["(Intercept)"], ["(Intercept)"]) if intercept else ([], [])
    if intercept:
        X[:, 0] = 1.0
    at = int(intercept)
    for (name, values, labels), width in zip(blocks, widths):
        if labels is None:
            X[:, at] = values
            names.append(name)
        else:
            X[:, at : at + width] = values[:, None] == np.arange(1, width + 1)
            names += [r_column_name(f"{name}[T.{level}]", {}) for level in labels[1:]]
        terms += [name] * width
        at += width
    return X, names, terms
