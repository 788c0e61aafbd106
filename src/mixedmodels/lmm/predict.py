"""Predictions from fitted models, with lme4's and R's semantics.

For a mixed model, ``o_new + X_new beta + sum over the chosen terms of z_new b[level]``, with
``o_new`` the model's offset evaluated on the new data (a formula's ``offset(expr)`` terms and an
``offset=`` column; one given as an array cannot be, and is refused): ``re_form``
None uses every random-effects term, ``"~0"`` or ``"NA"`` none, a formula the terms (and
columns) it names. Levels are matched by label. A level not seen in the fit contributes 0 (the
population prediction) when ``allow_new_levels`` is true, else it is an error that names the
factor and the levels. For a generalized linear model, ``eta = o_new + X_new beta`` (``type="link"``) or
``g^{-1}(eta)`` (``type="response"``), with standard errors ``sqrt(x'Vx)`` on the link scale and
``|d mu / d eta| sqrt(x'Vx)`` on the response scale. For a linear model,
``interval="confidence"`` or ``"prediction"`` adds
``x'beta -+ t s`` with ``s^2 = x'Vx`` (confidence) or ``x'Vx + sigma^2`` (prediction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..formula.design import (
    DataError,
    ReTerm,
    factor_codes,
    formula_variables,
    model_frame,
    offset_rhs,
)
from ..formula.frames import as_pandas, check_frame, is_polars_frame
from ..formula.terms import parse_formula

if TYPE_CHECKING:
    from ..fixed.glm import GlmFit
    from ..fixed.lm import LmFit
    from .fit import LmerFit

__all__ = ["new_frame", "predict_glm", "predict_lm", "predict_lmer"]


def _selected_terms(fit: LmerFit, re_form) -> list[tuple[int, list[int]]]:
    """(term index, columns) of the random-effects terms to use."""
    terms = fit.design.reterms
    if re_form is None:
        return [(i, list(range(t.k))) for i, t in enumerate(terms)]
    text = str(re_form).strip()
    if text in ("~0", "~ 0", "NA", "nan") or (isinstance(re_form, float) and np.isnan(re_form)):
        return []
    parsed = parse_formula(f"y {text}" if text.startswith("~") else f"y ~ {text}")
    chosen = []
    for rt in parsed.random:
        matches = [i for i, t in enumerate(terms) if t.group == rt.group]
        if not matches:
            groups = sorted({t.group for t in terms})
            raise ValueError(
                f"re_form names grouping factor {rt.group!r}, which the model does not have: {groups}"
            )
        wanted = _column_names(rt.expr)
        for i in matches:
            cols = [j for j, c in enumerate(terms[i].cnames) if c in wanted]
            if cols:
                chosen.append((i, cols))
    return chosen


def _column_names(expr: str) -> set[str]:
    parts = {p.strip() for p in expr.split("+")}
    names = {p for p in parts if p not in ("0", "1", "-1")}
    if "0" not in parts and "-1" not in expr.replace(" ", ""):
        names.add("(Intercept)")
    return names


def new_frame(fit: LmerFit | LmFit | GlmFit, newdata, needed: set[str]) -> pd.DataFrame:
    """The model's columns of newdata (pandas, or polars converted), categorical ones matched to
    the fit's levels by label."""
    missing = sorted(needed - set(newdata.columns))
    if missing:
        raise DataError(f"newdata lacks column(s) {', '.join(map(repr, missing))} that the model uses")
    columns = [c for c in newdata.columns if c in needed]
    frame, _ = model_frame(as_pandas(newdata, columns, "newdata"), columns, "raise")
    train = as_pandas(fit.data, columns) if is_polars_frame(fit.data) else fit.data  # pandas or Dask
    for col in columns:
        if train is None or col not in train.columns or not isinstance(train[col].dtype, pd.CategoricalDtype):
            continue
        categories = train[col].cat.categories
        by_label = {str(c): c for c in categories}
        values = frame[col].astype(str)
        unknown = sorted(set(values) - set(by_label))
        if unknown and col in _fixed_columns(fit):
            raise DataError(f"newdata column {col!r} has level(s) not in the fit: {', '.join(unknown[:10])}")
        frame[col] = (
            pd.Categorical(values.map(by_label), categories=categories) if not unknown else frame[col]
        )
    return frame


def _fixed_columns(fit: LmerFit | LmFit | GlmFit) -> set[str]:
    return formula_variables(fit.parsed.fixed)


def _offset_columns(fit: LmerFit | LmFit | GlmFit) -> set[str]:
    """The columns the model's offset is evaluated from."""
    return {c for expr in fit.design.offset_terms for c in formula_variables(offset_rhs(expr))}


def predict_lmer(fit: LmerFit, newdata, re_form, allow_new_levels: bool) -> pd.Series:
    terms = _selected_terms(fit, re_form)
    if newdata is None:
        values = fit.design.X @ fit.fixef.to_numpy()
        if fit.design.offset is not None:
            values = values + fit.design.offset
        for i, cols in terms:
            t = fit.design.reterms[i]
            values = values + np.einsum("nk,nk->n", t.z[:, cols], fit.b_terms[i][t.refs][:, cols])
        return pd.Series(values, index=fit.design.row_index, name="predicted")
    check_frame(newdata, "newdata")
    parsed = fit.parsed
    needed = _fixed_columns(fit)
    for i, _ in terms:
        needed |= set(fit.design.reterms[i].group.split(":"))
    for rt in parsed.random:
        needed |= formula_variables(rt.expr)
    needed |= _offset_columns(fit)
    needed -= {"1", "0"}
    frame = new_frame(fit, newdata, needed)
    values = fit.design.fixed_matrix(frame) @ fit.fixef.to_numpy()
    offset = fit.design.new_offset(frame)
    if offset is not None:
        values = values + offset
    for i, cols in terms:
        t = fit.design.reterms[i]
        z = t.new_z(frame)[:, cols]
        idx = _match_levels(t, frame, allow_new_levels)
        b = np.zeros((len(frame), len(cols)))
        seen = idx >= 0
        b[seen] = fit.b_terms[i][idx[seen]][:, cols]
        values = values + np.einsum("nk,nk->n", z, b)
    return pd.Series(values, index=_row_index(newdata), name="predicted")


def _row_index(newdata) -> pd.Index:
    """The index of a pandas frame; 0..n-1 for a polars frame, which has none."""
    return newdata.index if isinstance(newdata, pd.DataFrame) else pd.RangeIndex(len(newdata))


def _match_levels(term: ReTerm, frame: pd.DataFrame, allow_new_levels: bool) -> np.ndarray:
    """Index of each new row's level among the fit's levels, -1 for a level not in the fit."""
    labels: np.ndarray | None = None
    for name in term.group.split(":"):
        codes, levels = factor_codes(frame[name])
        part = np.array(levels, dtype=object)[codes]
        labels = (
            part if labels is None else np.array([f"{a}:{b}" for a, b in zip(labels, part)], dtype=object)
        )
    assert labels is not None  # a grouping factor names at least one column
    position = {label: j for j, label in enumerate(term.levels)}
    idx = np.array([position.get(str(label), -1) for label in labels])
    if (idx < 0).any() and not allow_new_levels:
        new = sorted({str(label) for label, j in zip(labels, idx) if j < 0})
        shown = ", ".join(new[:10]) + (f", ... ({len(new)} in all)" if len(new) > 10 else "")
        raise ValueError(
            f"new level(s) of grouping factor {term.group!r} not in the fit: {shown}; "
            "use allow_new_levels=True for the population prediction"
        )
    return idx


def predict_lm(fit: LmFit, newdata, interval, level: float) -> pd.Series | pd.DataFrame:
    kept = fit.qr[0]
    beta = fit.coef.to_numpy()[kept]
    if newdata is None:
        X = fit.design.X[:, kept]
        index = fit.design.row_index
    else:
        check_frame(newdata, "newdata")
        frame = new_frame(fit, newdata, _fixed_columns(fit) | _offset_columns(fit))
        xspec = fit.design.xspec
        assert xspec is not None  # the plan of X, kept by every design made from data
        X = xspec.matrix(frame)[:, kept]
        index = _row_index(newdata)
    values = X @ beta
    offset = fit.design.offset if newdata is None else fit.design.new_offset(frame)
    if offset is not None:
        values = values + offset
    if interval is None:
        return pd.Series(values, index=index, name="predicted")
    if interval not in ("confidence", "prediction"):
        raise ValueError(f"interval must be None, 'confidence' or 'prediction', not {interval!r}")
    V = fit.vcov.to_numpy()[np.ix_(kept, kept)]
    var = np.einsum("ni,ij,nj->n", X, V, X)
    if interval == "prediction":
        var = var + fit.sigma**2
    q = stats.t.ppf(0.5 + level / 2, fit.df_residual)
    half = q * np.sqrt(var)
    return pd.DataFrame({"fit": values, "lwr": values - half, "upr": values + half}, index=index)


def _fixed_part(
    fit: LmFit | GlmFit, kept: list[int], newdata
) -> tuple[np.ndarray, np.ndarray | None, pd.Index]:
    """``X`` (kept columns), the offset and the row labels, of the fit's data or of ``newdata``."""
    if newdata is None:
        return fit.design.X[:, kept], fit.design.offset, fit.design.row_index
    check_frame(newdata, "newdata")
    frame = new_frame(fit, newdata, _fixed_columns(fit) | _offset_columns(fit))
    xspec = fit.design.xspec
    assert xspec is not None  # the plan of X, kept by every design made from data
    return xspec.matrix(frame)[:, kept], fit.design.new_offset(frame), _row_index(newdata)


def _response_slope(fam, eta: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``d E[y] / d eta`` for the delta method: ``mu_eta``, or where the response's mean is not
    ``mu`` (a zero-truncated family) a central difference of it."""
    mu = fam.linkinv(eta)
    if np.array_equal(response, mu):
        return fam.mu_eta(eta)
    h = 1e-6 * np.maximum(1.0, np.abs(eta))
    return (fam.response_mean(fam.linkinv(eta + h)) - fam.response_mean(fam.linkinv(eta - h))) / (2.0 * h)


def predict_glm(fit: GlmFit, newdata, type: str, se_fit: bool) -> pd.Series | pd.DataFrame:
    if type not in ("link", "response"):
        raise ValueError(f"type must be 'link' or 'response', not {type!r}")
    kept = list(fit.kept)
    X, offset, index = _fixed_part(fit, kept, newdata)
    eta = X @ fit.coef.to_numpy()[kept]
    if offset is not None:
        eta = eta + offset
    fam = fit.family
    values = eta if type == "link" else fam.response_mean(fam.linkinv(eta))  # a truncated family's E[y]
    if not se_fit:
        return pd.Series(values, index=index, name="predicted")
    V = fit.vcov.to_numpy()[np.ix_(kept, kept)]
    se = np.sqrt(np.einsum("ni,ij,nj->n", X, V, X))
    if type == "response":
        se = se * np.abs(_response_slope(fam, eta, values))
    out = pd.DataFrame({"fit": values, "se_fit": se}, index=index)
    out.attrs["residual_scale"] = float(np.sqrt(fit.dispersion))
    return out
