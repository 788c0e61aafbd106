"""R's contrast codings for categorical columns, and R's names for the coded columns.

R codes a factor with ``k`` levels by ``k - 1`` columns chosen by its contrasts:

- ``treatment`` (R's ``contr.treatment``, the default): level ``j`` against the first level,
  columns named by level (``pB``);
- ``sum`` (``contr.sum``): level ``j`` against the last, coefficients sum to zero over levels,
  columns numbered (``p1 .. p(k-1)``), so the intercept is the mean over levels;
- ``helmert`` (``contr.helmert``): level ``j + 1`` against the mean of levels ``1..j``;
- ``poly`` (``contr.poly``, R's default for ordered factors): orthonormal polynomials in the
  level index, columns ``p.L``, ``p.Q``, ``p.C``, ``p^4`` ...;
- a matrix with ``k`` rows, used as it is, columns numbered.

formulaic computes these codings (they agree with R's); this module maps a user's ``contrasts``
argument onto them and formulaic's column labels back onto R's names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.parser.types import Factor
from formulaic.transforms.contrasts import (
    HelmertContrasts,
    PolyContrasts,
    SumContrasts,
    TreatmentContrasts,
)

from .terms import split_arguments

__all__ = ["CONTRASTS", "contrast_object", "r_column_name", "sum_coded_matrix"]

CONTRASTS = {
    "treatment": TreatmentContrasts,
    "sum": SumContrasts,
    "helmert": HelmertContrasts,
    "poly": PolyContrasts,
}
_R_ALIASES = {f"contr.{name}": name for name in CONTRASTS}


def contrast_object(column: str, spec, nlevels: int):
    """The formulaic contrast for ``spec`` ("sum", "contr.sum", a k x (k-1) matrix ...)."""
    if isinstance(spec, str):
        name = _R_ALIASES.get(spec, spec)
        if name not in CONTRASTS:
            raise ValueError(
                f"contrasts for column {column!r}: unknown coding {spec!r}; "
                f"use one of {sorted(CONTRASTS)} or a matrix"
            )
        return CONTRASTS[name]()
    matrix = np.asarray(spec, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != nlevels:
        raise ValueError(
            f"contrasts for column {column!r}: a matrix needs one row per level "
            f"({nlevels} levels), got shape {matrix.shape}"
        )
    return matrix


_LABELLED = re.compile(r"^(?P<var>.*)\[(?P<label>[^\[\]]*)\]$")
_WRAPPED = re.compile(r"^C\((?P<var>.+?), __mm_contrast_\d+\)$")


def _r_label(label: str, coding: tuple[str, list[str]] | None) -> str:
    """formulaic's label of one coded column -> R's suffix.

    formulaic labels sum and Helmert columns by level (``S.A``, ``H.B``); R numbers them
    ``1 .. k-1`` (the sum column of level ``j`` is ``j``; the Helmert column of level ``j+1`` is ``j``).
    """
    if coding is None or coding[0] == "treatment":
        return label[2:] if label.startswith("T.") else label
    name, levels = coding
    if name in ("sum", "helmert") and label[:2] in ("S.", "H.") and label[2:] in levels:
        return str(levels.index(label[2:]) + (name == "sum"))
    return label  # poly (.L, .Q, ^4) and matrices (1, 2, ...) need nothing


def r_column_name(name: str, codings: Mapping[str, tuple[str, list[str]]]) -> str:
    """R's name for a formulaic model-matrix column: ``recipe[T.B]:temp`` -> ``recipeB:temp``.

    ``codings`` maps a wrapped column name to its coding name ("sum", "poly", "matrix" ...)
    and its levels.
    """
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        match = _LABELLED.match(part)
        if match is None:
            parts.append(re.sub(r"\s*\*\*\s*", "^", part))
            continue
        var = match.group("var")
        wrapped = _WRAPPED.match(var)
        if wrapped:
            var = wrapped.group("var")
        parts.append(var + _r_label(match.group("label"), codings.get(var)))
    return ":".join(parts)


# ------------------------------------------------------------------ every factor sum-coded
def _uncoded(expr: str) -> str:
    """The factor inside a coding call: ``C(x, contr.sum)`` -> ``x``; anything else as it is."""
    text = expr.strip()
    if text.startswith("C(") and text.endswith(")"):
        arguments = split_arguments(text[2:-1])
        if arguments and arguments[0].strip():
            return _uncoded(arguments[0])
    return text


def _expr_text(factor: Factor) -> str:
    expr = factor.expr
    if factor.eval_method.value == "lookup" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        return f"`{expr}`"
    return expr


def sum_coded_matrix(
    model_spec: Any, frame: pd.DataFrame, context: Mapping | None
) -> tuple[np.ndarray, list[int]]:
    """The model matrix of formulaic's ``model_spec`` on ``frame`` with every categorical
    factor sum-coded, however the formula spelled it (a string column, ``factor(x)``,
    ``C(x)``, ``C(x, contr.treatment)`` ...): the coding in which type III hypotheses are
    the coefficients.

    Returns the matrix and, for each of its columns, the index of its term in
    ``model_spec.formula`` (the terms of the model's own matrix, in the same order).
    """
    categorical = {
        expr for expr, state in model_spec.encoder_state.items() if state[0].value == "categorical"
    }
    terms = list(model_spec.formula)
    parts, intercept = [], False
    for term in terms:
        exprs = [f.expr for f in term.factors]
        if exprs == ["1"]:
            intercept = True
            continue
        coded = [
            f"C({_uncoded(_expr_text(f))}, contr.sum)" if f.expr in categorical else _expr_text(f)
            for f in term.factors
        ]
        parts.append(":".join(coded))
    text = " + ".join(["1" if intercept else "0", *parts])
    matrix = model_matrix(text, frame, context=dict(context or {}), na_action="ignore")
    slices = list(matrix.model_spec.term_slices.values())
    degrees = [len(t.factors) for t in matrix.model_spec.formula]
    if len(slices) != len(terms) or degrees != [len(t.factors) for t in terms]:
        raise RuntimeError(f"the sum-coded formula {text!r} does not have the model's terms {terms}")
    column_term = [-1] * matrix.shape[1]
    for i, cols in enumerate(slices):
        for j in range(cols.start, cols.stop):
            column_term[j] = i
    return np.asarray(matrix, dtype=float), column_term


# ------------------------------------------------------------------ levels of new data
def _column_of(expr: str) -> str | None:
    """The data column a categorical factor reads: ``Sex``, ``C(Sex, contr.sum)`` -> ``Sex``."""
    name = _uncoded(expr)
    if name.startswith("`") and name.endswith("`"):
        return name[1:-1]
    return name if re.fullmatch(r"[A-Za-z_.][\w.]*", name) else None


def _unknown(values: pd.Series, levels) -> list:
    """The distinct non-missing values of ``values`` that are not among ``levels``."""
    values = pd.Series(np.asarray(values, dtype=object)).dropna()
    found = pd.Index(list(levels), dtype=object).get_indexer(values.to_numpy()) if len(values) else []
    return list(dict.fromkeys(values[np.asarray(found) < 0]))


def unknown_level_message(model_spec: Any, derived: tuple, frame: pd.DataFrame) -> str | None:
    """Why a model matrix cannot be made for new data: a value of a categorical factor that
    the model was not fitted with (formulaic would code it as the baseline). None if all are
    known.

    ``derived`` are the ``factor(x)`` columns made for the evaluation (checked against their
    levels before they are made); ``model_spec`` is formulaic's specification (or None).
    """
    checks: list[tuple[str, str, list]] = []  # (factor's name, column, levels)
    for d in derived:
        if d.kind in ("factor", "ordered"):
            checks.append((d.label, d.source, list(d.levels)))
    aliases = {d.alias for d in derived}
    if model_spec is not None:
        for factor, state in model_spec.factor_contrasts.items():
            column = _column_of(factor.expr)
            if column is not None and column not in aliases:
                checks.append((column, column, list(state.levels)))
    for name, column, levels in checks:
        if column not in frame.columns:
            continue
        unknown = _unknown(frame[column], levels)
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            known = ", ".join(repr(v) for v in levels[:20]) + (" ..." if len(levels) > 20 else "")
            return (
                f"level {shown} of factor {name!r} is not one the model was fitted with "
                f"(its levels: {known}); a fixed effect cannot be predicted for a level it has not seen"
            )
    return None
