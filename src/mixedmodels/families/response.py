"""The response of a generalized linear model, fixed (``mm.glm``) or mixed (``mm.glmer``), read
as R's ``glm`` and lme4's ``glmer`` read it.

- ``cbind(successes, failures)``: two count columns (binomial families); the model sees the
  proportion ``successes / (successes + failures)`` with the trials as prior weights (times
  any given weights);
- a two-level factor, booleans or text: the first level (categorical order, else sorted;
  ``False`` for booleans) is a failure, the other a success (binomial families);
- numbers: 0/1, a proportion (with the trials as ``weights``), counts or a Gaussian response.

Each side of ``cbind`` and a numeric response may be an expression of columns
(``size - incidence``). Missing values stay NaN, so that the row is dropped with the others.
Probabilities outside [0, 1], negative counts and factors of other than two levels are
refused; non-integer successes or counts are accepted with R's warning.

:func:`read_response` reads the response of every row; :func:`response_design` builds the
design on the rows kept and gives, through :func:`family_response` (R's
``family$initialize``), the response as the family reads it, the trials of each row, the prior
weights and the starting means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..base.messages import warn
from ..formula.design import (
    DataError,
    Design,
    build_design,
    factor_codes,
    formula_variables,
    refuse_infinite,
    response_values,
    unique_columns,
)
from ..formula.direct import arithmetic
from ..formula.frames import model_columns
from ..formula.safety import admit
from ..formula.terms import ParsedFormula, cbind_arguments
from .family import Family, Initialized

if TYPE_CHECKING:
    from ..glmm.pirls import GlmmModel

__all__ = [
    "degenerate_response",
    "family_response",
    "read_response",
    "response_columns",
    "response_design",
]

_ROW = "__mm_response_row__"  # the response column build_design sees: each row's position


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
    direct = arithmetic(expr, data)  # size - incidence: no formulaic
    if direct is not None:
        return _complete_rows(*direct, expr)
    names = sorted(formula_variables(f"I({expr})", parsed) & set(data.columns))
    ok = ~data[names].isna().any(axis=1).to_numpy() if names else np.ones(len(data), dtype=bool)
    values = np.full(len(data), np.nan)
    if ok.any():
        # in I(): formulaic would read "size - incidence" as the term size without incidence
        values[ok] = response_values(data.loc[ok, names].reset_index(drop=True), f"I({expr})")
    return values


def _complete_rows(values: np.ndarray, complete: np.ndarray, expr: str) -> np.ndarray:
    """``values`` with NaN where a column was missing; other values must be finite (as
    :func:`~mixedmodels.formula.design.response_values` requires of what formulaic evaluates)."""
    if not np.isfinite(values[complete]).all():
        raise DataError(f"the response 'I({expr})' has non-finite values")
    values[~complete] = np.nan
    return values


def _all_booleans(series: pd.Series) -> bool:
    """Whether every value present is a Python bool (a categorical's categories in use, or each
    value of another column)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        booleans = np.asarray([type(c) is bool for c in series.cat.categories], dtype=bool)
        if booleans.all():
            return True
        codes = series.cat.codes.to_numpy()
        used = np.bincount(codes[codes >= 0], minlength=len(booleans)) > 0
        return bool(booleans[used].all())
    return bool(series.dropna().map(type).eq(bool).all())


def _factor(series: pd.Series, name: str) -> np.ndarray:
    """0 for the first level, 1 for the second (NaN where missing)."""
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype) or _all_booleans(series):
        out = np.full(len(series), np.nan)
        out[~missing] = series[~missing].astype(bool).to_numpy(dtype=float)
        return out
    codes, levels = factor_codes(series[~missing] if missing.any() else series)
    if len(levels) > 2:
        raise DataError(
            f"the response {name!r} has {len(levels)} levels ({', '.join(levels[:5])}); "
            "a binomial response has two (the first a failure) or is cbind(successes, failures)"
        )
    out = np.full(len(series), np.nan)
    out[~missing] = codes
    return out


def read_response(parsed: ParsedFormula, data: pd.DataFrame, fam: Family) -> np.ndarray:
    """The response of every row of ``data``: shape (n,), or (n, 2) for ``cbind``; NaN where missing.

    Raises
    ------
    DataError
        A ``cbind`` response that is not two columns or not for a family of successes out of
        trials, or a factor response for another family or with more than two levels.
    """
    binomial = fam.takes_trials
    args = cbind_arguments(parsed.response)
    if args is not None:
        if len(args) != 2 or not all(args):
            raise DataError(
                f"cbind() in the response takes two columns (successes, failures), not {len(args)}"
            )
        if not binomial:
            raise DataError(f"a cbind(successes, failures) response is binomial; the family is {fam.name}")
        return np.column_stack([_numeric(a, data, parsed) for a in args])
    name = parsed.response
    if name in data.columns:
        series = data[name]
        categorical = isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
            series
        )
        if categorical or pd.api.types.is_bool_dtype(series.dtype):
            if not binomial:
                raise DataError(f"the response {name!r} is not numeric; a {fam.name} response must be")
            return _factor(series, name)
    return _numeric(name, data, parsed)


def response_design(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    fam: Family,
    *,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    weights=None,
    offset=None,
    drop: bool = True,
    residual: bool = True,
) -> tuple[Design, Initialized]:
    """The design on the rows kept and the response as the family reads it.

    The response is read from every row (:func:`read_response`); the design is built on the
    rows where it, the covariates, the weights and the offset are all present, its ``y`` the
    family's response of those rows (a binomial's proportions), its ``row_index`` the labels
    of ``data``.

    Parameters
    ----------
    parsed : ParsedFormula
    data : pandas.DataFrame
        Not modified.
    fam : Family
    contrasts, na_action, weights, offset, drop, residual
        As for :func:`~mixedmodels.formula.design.build_design` (``weights`` the given prior weights).

    Returns
    -------
    design : Design
    response : Initialized
        ``y``, ``trials``, prior ``weights`` (the trials times the given weights) and
        ``mustart`` of the rows kept (:func:`family_response`).

    Raises
    ------
    DataError
        A response that cannot be read, or missing values in it with ``na_action="raise"``.
    """
    admit(parsed, data, contrasts=contrasts)  # before anything is evaluated
    unique_columns(data, response_columns(parsed))
    used = [parsed.response] if parsed.response in data.columns else response_columns(parsed)
    data = model_columns(data, used, ())
    refuse_infinite(data, [c for c in used if c in data.columns])  # as lmer's and lm's model frame
    Y = read_response(parsed, data, fam)
    missing = np.isnan(Y).any(axis=1) if Y.ndim == 2 else np.isnan(Y)
    if missing.any() and na_action == "raise":
        raise DataError(
            f"the response has {int(missing.sum())} missing values; na_action='omit' drops those rows"
        )
    positions = np.where(missing, np.nan, np.arange(len(data), dtype=float))
    design = build_design(
        replace(parsed, response=_ROW), data.assign(**{_ROW: positions}), contrasts=contrasts,
        na_action=na_action, drop=drop, weights=weights, offset=offset, residual=residual,
    )  # fmt: skip
    response = family_response(Y[design.y.astype(np.int64)], design.weights, fam, parsed.response)
    if not np.any(response.weights > 0):
        raise DataError(
            f"all {len(response.weights)} prior weights (the trials times any given weights) are "
            "zero: no observation informs the fit"
        )
    return replace(design, y=response.y, response=parsed.response, parsed=parsed), response


def family_response(response: np.ndarray, weights: np.ndarray | None, fam: Family, name: str) -> Initialized:
    """The response as the family reads it, with R's checks (``family$initialize``).

    Parameters
    ----------
    response : ndarray (n,) or (n, 2)
        The response of the rows kept (:func:`read_response`): ``cbind``'s two columns, or one.
    weights : ndarray (n,), optional
        The given prior weights (ones when None).
    fam : Family
    name : str
        The response as the formula writes it, for the messages.

    Returns
    -------
    Initialized
        ``y`` (a binomial's proportions), ``trials``, prior ``weights`` (trials times the given
        weights) and starting means ``mustart``.

    Raises
    ------
    DataError
        Negative counts, or a binomial response outside [0, 1] in a row of non-zero weight.
    """
    given = np.ones(len(response)) if weights is None else np.asarray(weights, dtype=float)
    problem = fam.response_problem(response, given, name)
    if problem is not None:
        raise DataError(problem)
    init = fam.initialize(response, given)
    note = fam.non_integer_warning(response, init)  # R's, for non-integer counts
    if note is not None:
        warn(note)
    return init


def degenerate_response(fam: Family, init: Initialized | GlmmModel, name: str) -> str | None:
    """Why a binomial or Poisson response has no finite estimates, or None: counts that are 0
    in every row, a binomial response with no successes, or no failures, in any trial. Rows of
    weight 0 do not count. ``init`` has the family's ``y``, prior ``weights`` and ``trials``."""
    used = init.weights > 0
    y = init.y[used]
    n = int(used.sum())
    if n == 0:
        return None
    rows = f"any trial of the {n} rows" if np.any(init.trials[used] > 1) else f"any of the {n} rows"
    found = fam.degenerate(y, rows)
    if found is None:
        return None
    what, limit = found
    return f"the response {name!r} is constant ({what}): {limit}"
