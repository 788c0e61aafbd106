"""The response of a generalized model, read as R's ``glm`` and lme4's ``glmer`` read it.

A binomial response is one of

- ``cbind(successes, failures)`` in the formula (each any expression of the columns, such as
  ``size - incidence``): the model sees the proportion ``successes / (successes + failures)``
  with the trials as prior weights (times any given weights);
- 0/1 numbers, or a proportion with ``weights=`` the numbers of trials;
- booleans, or a two-level factor or text column: the first level (categorical order, else
  sorted; ``False`` for booleans) is failure, the other success.

A Poisson response is counts (non-integer counts are accepted with a warning, as R does).
Probabilities outside [0, 1], negative counts and factors of other than two levels are refused.

:func:`prepare_response` rewrites the data and formula so that :func:`~mixedmodels.design.build_design`
reads the response as a plain numeric column (a new frame: the caller's data is not modified),
and :func:`finish_response` makes the family's ``y``, trials and prior weights for the rows kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .design import DataError, response_values
from .families import Family, Initialized
from .formula import ParsedFormula
from .messages import warn

__all__ = ["PreparedResponse", "finish_response", "prepare_response", "split_cbind"]

SUCCESSES = "(successes)"
TRIALS = "(trials)"
_CBIND = re.compile(r"^\s*cbind\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class PreparedResponse:
    """The data and formula the design is built from, and what the response was.

    ``data`` has a 0..n-1 index (``index`` holds the caller's labels of its rows); ``weights``
    is the column name of the prior weights to give ``build_design`` (the trials of a
    ``cbind`` response times the given weights), or the caller's own argument.
    """

    data: pd.DataFrame
    parsed: ParsedFormula
    weights: object
    index: pd.Index
    cbind: bool
    levels: tuple[str, str] | None = None  # a factor response's (failure, success)
    trials: np.ndarray | None = None  # a cbind response's successes + failures, every row of data


def split_cbind(response: str) -> tuple[str, str] | None:
    """The two expressions of ``cbind(a, b)`` (None for another response)."""
    match = _CBIND.match(response)
    if not match:
        return None
    depth, parts, start = 0, [], 0
    inner = match.group(1)
    for pos, ch in enumerate(inner):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:pos])
            start = pos + 1
    parts.append(inner[start:])
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise DataError(
            f"cbind() in the response takes two expressions (successes, failures), not {response!r}"
        )
    return parts[0].strip(), parts[1].strip()


def _evaluate(data: pd.DataFrame, expr: str) -> np.ndarray:
    """A numeric expression of the columns, one value per row (missing values kept as NaN)."""
    if expr in data.columns:
        series = data[expr]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise DataError(f"{expr!r} in cbind() must be numeric counts, not {series.dtype}")
        return series.to_numpy(dtype=float, na_value=np.nan)
    try:
        values = data.eval(expr, engine="python")
    except Exception:
        complete = data.dropna()
        if len(complete) != len(data):
            raise DataError(f"cannot evaluate {expr!r} on rows with missing values") from None
        return response_values(data, expr)
    return np.asarray(values, dtype=float).reshape(-1)


def _given_weights(data: pd.DataFrame, weights) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    if isinstance(weights, str):
        if weights not in data.columns:
            raise DataError(f"weights column {weights!r} is not in the data")
        return data[weights].to_numpy(dtype=float, na_value=np.nan)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != len(data):
        raise DataError(f"weights has {len(w)} values for {len(data)} rows of data")
    return w


def _factor_response(series: pd.Series, name: str) -> tuple[np.ndarray, tuple[str, str]]:
    """0/1 from a boolean, two-level factor or text column: the first level is failure."""
    if pd.api.types.is_bool_dtype(series):
        levels = ("FALSE", "TRUE")
        values = series.map({False: 0.0, True: 1.0})
        return values.to_numpy(dtype=float, na_value=np.nan), levels
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = [c for c in series.cat.categories if (series == c).any()]
    else:
        present = sorted(series.dropna().astype(str).unique())
        series = series.astype(str).where(series.notna())
    if len(present) != 2:
        raise DataError(
            f"the response {name!r} has {len(present)} levels ({', '.join(map(str, present[:5]))}): "
            "a binomial response needs two (the first is failure) or 0/1 numbers"
        )
    failure, success = present
    values = np.where(series.isna(), np.nan, (series == success).to_numpy(dtype=float))
    return values, (str(failure), str(success))


def prepare_response(parsed: ParsedFormula, data: pd.DataFrame, fam: Family, weights) -> PreparedResponse:
    """The frame and formula that make the response a plain numeric column (see the module)."""
    frame = data.reset_index(drop=True)  # a new frame; the caller's is never assigned to
    pairs = split_cbind(parsed.response)
    if pairs is not None:
        if fam.name != "binomial":
            raise DataError(
                f"a cbind(successes, failures) response needs the binomial family, not {fam.name}"
            )
        successes, failures = (_evaluate(frame, e) for e in pairs)
        if np.any(successes < 0) or np.any(failures < 0):
            raise DataError(f"the response {parsed.response} has negative counts")
        trials = successes + failures
        frame = frame.assign(**{SUCCESSES: successes, TRIALS: trials * _given_weights(frame, weights)})
        return PreparedResponse(
            frame, replace(parsed, response=SUCCESSES), TRIALS, data.index, True, trials=trials
        )
    name = parsed.response.strip()
    if name in frame.columns:
        series = frame[name]
        categorical = isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
            series
        )
        if categorical or pd.api.types.is_bool_dtype(series):
            if fam.name != "binomial":
                raise DataError(f"the response {name!r} is not numeric: a {fam.name} response is counts")
            values, levels = _factor_response(series, name)
            frame = frame.assign(**{SUCCESSES: values})
            return PreparedResponse(
                frame, replace(parsed, response=SUCCESSES), weights, data.index, False, levels
            )
    return PreparedResponse(frame, parsed, weights, data.index, False)


def finish_response(
    y: np.ndarray,
    weights: np.ndarray | None,
    fam: Family,
    prepared: PreparedResponse,
    rows: np.ndarray,
    response: str,
) -> Initialized:
    """The family's response, trials, prior weights and starting means for the kept rows.

    ``y`` is the design's response (the successes of a ``cbind`` response), ``weights`` its
    prior weights (a ``cbind`` response's trials times the given weights) and ``rows`` the
    positions of the kept rows in ``prepared.data``.
    """
    n = len(y)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if prepared.trials is not None:
        trials = prepared.trials[rows]
        given = np.divide(w, trials, out=np.ones(n), where=trials > 0)
        init = fam.initialize(np.column_stack([y, trials - y]), given)
    else:
        if fam.name == "binomial" and np.any((y < 0) | (y > 1)):
            bad = y[(y < 0) | (y > 1)][0]
            raise DataError(
                f"the response {response!r} has a value {bad:g} outside [0, 1]: a binomial response is 0/1, "
                "a proportion (with weights= the trials), a two-level factor or cbind(successes, failures)"
            )
        if fam.name == "poisson" and np.any(y < 0):
            raise DataError(f"the response {response!r} has negative counts: a Poisson response is counts")
        init = fam.initialize(y, w)
    _warn_non_integer(init, fam)
    return init


def _warn_non_integer(init: Initialized, fam: Family) -> None:
    if fam.name == "binomial":
        m = init.weights * init.y
        if np.any(np.abs(m - np.round(m)) > 1e-3):
            warn("non-integer #successes in a binomial glm!")
    elif np.any(np.abs(init.y - np.round(init.y)) > 1e-8):
        warn(
            "non-integer counts in a Poisson response: its log-likelihood is not defined there (R gives -Inf)"
        )
