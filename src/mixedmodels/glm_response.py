"""The response of a generalized linear model, read as R's ``glm`` reads it.

- ``cbind(successes, failures)``: two count columns (binomial families);
- a two-level factor, booleans or text: the first level (``False``) is a failure, the other a
  success (binomial families);
- numbers: 0/1, a proportion (with the trials as ``weights``), counts or a Gaussian response.

Each side of ``cbind`` and a numeric response may be an expression of columns
(``size - incidence``). Missing values stay NaN, so that the row is dropped with the others.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from .design import DataError, factor_codes, formula_variables, response_values
from .formula import ParsedFormula
from .options import options
from .safety import check_safe

__all__ = ["cbind_arguments", "read_response", "response_columns"]

_CBIND = re.compile(r"^\s*cbind\s*\((?P<args>.*)\)\s*$", re.S)


def cbind_arguments(response: str) -> list[str] | None:
    """The arguments of ``cbind(a, b)`` split at top-level commas, or None for another response."""
    match = _CBIND.match(response)
    if match is None:
        return None
    args, depth, current = [], 0, ""
    for ch in match.group("args"):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += ch
    return args + [current.strip()]


def response_columns(parsed: ParsedFormula) -> set[str]:
    """The data columns the response is made from."""
    parts = cbind_arguments(parsed.response) or [parsed.response]
    return {name for part in parts for name in formula_variables(f"I({part})", parsed)}


def _numeric(expr: str, data: pd.DataFrame, parsed: ParsedFormula) -> np.ndarray:
    """One number per row of ``data`` (NaN where a column it uses is missing)."""
    if expr in data.columns:
        series = data[expr]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
            raise DataError(f"{expr!r} in the response must be numeric, not {series.dtype}")
        return series.to_numpy(dtype=float, na_value=np.nan)
    names = sorted(formula_variables(f"I({expr})", parsed) & set(data.columns))
    if options.safe_formulas:
        check_safe(replace(parsed, response=expr, fixed="1", random=()), data)
    ok = ~data[names].isna().any(axis=1).to_numpy() if names else np.ones(len(data), dtype=bool)
    values = np.full(len(data), np.nan)
    if ok.any():
        # in I(): formulaic would read "size - incidence" as the term size without incidence
        values[ok] = response_values(data.loc[ok, names].reset_index(drop=True), f"I({expr})")
    return values


def _factor(series: pd.Series, name: str) -> np.ndarray:
    """0 for the first level, 1 for the second (NaN where missing)."""
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype) or series.dropna().map(type).eq(bool).all():
        out = np.full(len(series), np.nan)
        out[~missing] = series[~missing].astype(bool).to_numpy(dtype=float)
        return out
    codes, levels = factor_codes(series[~missing])
    if len(levels) > 2:
        raise DataError(
            f"the response {name!r} has {len(levels)} levels ({', '.join(levels[:5])}); "
            "a binomial response has two (the first a failure) or is cbind(successes, failures)"
        )
    out = np.full(len(series), np.nan)
    out[~missing] = codes
    return out


def read_response(parsed: ParsedFormula, data: pd.DataFrame, family_name: str) -> np.ndarray:
    """The response of every row of ``data``: shape (n,), or (n, 2) for ``cbind``; NaN where missing.

    Raises
    ------
    DataError
        A ``cbind`` response that is not two columns or not for a binomial family, or a factor
        response for another family or with more than two levels.
    """
    binomial = family_name in ("binomial", "quasibinomial")
    args = cbind_arguments(parsed.response)
    if args is not None:
        if len(args) != 2 or not all(args):
            raise DataError(
                f"cbind() in the response takes two columns (successes, failures), not {len(args)}"
            )
        if not binomial:
            raise DataError(f"a cbind(successes, failures) response is binomial; the family is {family_name}")
        return np.column_stack([_numeric(a, data, parsed) for a in args])
    name = parsed.response
    if name in data.columns:
        series = data[name]
        categorical = isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
            series
        )
        if categorical or pd.api.types.is_bool_dtype(series.dtype):
            if not binomial:
                raise DataError(f"the response {name!r} is not numeric; a {family_name} response must be")
            return _factor(series, name)
    return _numeric(name, data, parsed)
