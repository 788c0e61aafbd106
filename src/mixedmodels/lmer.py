"""``lmer()``: formula and data to matrices, the profiled criterion, its optimum, a fitted model."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .daskfit import is_dask_frame, lmer_dask
from .design import DataError, build_design
from .formula import FormulaError, parse_formula
from .frames import check_frame
from .objective import criterion
from .optimize import minimize_theta, polish
from .options import options
from .pls import PLS
from .results import SINGULAR_TOL, LmerFit, MixedModelsWarning
from .rformula import r_keywords

__all__ = ["lmer", "MixedModelsWarning"]


@r_keywords
def lmer(
    formula: str,
    data: pd.DataFrame,
    reml: bool = True,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    start: np.ndarray | None = None,
    memory_limit: float | None = None,
) -> LmerFit:
    """Fit a linear mixed-effects model by REML (default) or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        An lme4 formula: ``"y ~ x + (1 | g)"``, ``(x || g)``, ``(1 | a/b)``, ``(1 | a:b)``.
    data : pandas.DataFrame, polars.DataFrame or dask.dataframe.DataFrame
        The data; it is not modified. Of a polars DataFrame only the columns the model uses are
        converted (:mod:`mixedmodels.frames`). A Dask DataFrame is fitted from cross-products
        summed over its partitions (:mod:`mixedmodels.daskfit`), with the same estimates.
    reml : bool
        REML (True, lme4's default) or maximum likelihood.
    contrasts : mapping, optional
        Coding of categorical columns: ``{"p": "sum"}``; "treatment", "sum", "helmert",
        "poly" or a matrix with one row per level.
    na_action : {"omit", "raise"}
        Drop rows with missing values in the model's variables (and report how many) or refuse.
    start : array, optional
        Starting ``theta``; lme4's default (identity templates) when not given.
    memory_limit : float, optional
        Bytes the dense block of the Cholesky factor (or the map of pair products that updates
        it) may take (default ``mixedmodels.options.memory_limit``, 8 GiB); a larger model is
        refused before it is built.

    Returns
    -------
    LmerFit
    """
    check_frame(data, dask=True)
    parsed = parse_formula(formula)
    if not parsed.random:
        raise FormulaError(
            formula,
            len(formula),
            "no random-effects terms such as (1 | g): use mm.lm for a fixed-effects model",
        )
    if is_dask_frame(data):
        return lmer_dask(formula, parsed, data, reml, contrasts, na_action, start, memory_limit)
    design = build_design(parsed, data, contrasts=contrasts, na_action=na_action)
    n, p = design.X.shape
    if p >= n:
        raise DataError(f"{p} fixed effects for {n} observations: the model cannot be estimated")
    if np.ptp(design.y) == 0:
        raise DataError(
            f"the response {design.response!r} is constant ({design.y[0]:g} in all {n} rows): "
            "there is no variation to model"
        )
    check_memory(design.reterms, p, memory_limit)
    pls = PLS(design.reterms, design.X, design.y, memory_limit)
    context = {"data": data, "contrasts": dict(contrasts or {}), "na_action": na_action}
    return fit_pls(formula, design, pls, reml, start, notes=aliased_notes(design.aliased), **context)


def aliased_notes(aliased) -> list[str]:
    """lme4's message for dropped fixed-effects columns (none when there are none)."""
    if not aliased:
        return []
    names = ", ".join(aliased)
    return [f"fixed-effect model matrix is rank deficient so dropping {len(aliased)} column(s): {names}"]


def fit_pls(
    formula: str, design, pls: PLS, reml: bool, start=None, notes=(), result_type=LmerFit, **context
) -> LmerFit:
    """Optimize the criterion of an assembled model and wrap the optimum as an :class:`LmerFit`
    (or ``result_type``, a subclass; ``context`` holds its further fields).

    What is worth knowing about the fit (dropped columns, a singular fit, an optimizer that did
    not converge) is recorded on it (``fit.messages``) and issued as MixedModelsWarning.
    """
    n, p = pls.n, pls.p

    def objective(theta: np.ndarray) -> float:
        return criterion(pls.factor(theta, reuse=True), n, p, reml)

    layout = pls.layout
    theta0 = layout.start() if start is None else np.asarray(start, dtype=float)
    opt = minimize_theta(objective, theta0, layout.lower())
    if not pls.large:  # evaluations cheap enough: refine to the exact optimum (lme4 stops short)
        opt = polish(objective, opt, layout.lower())
    factor = pls.factor(opt.theta)
    if factor is None or not np.isfinite(opt.fmin):
        raise ValueError("the model could not be fitted: the criterion is not finite at any theta tried")
    notes = list(notes)
    if not opt.converged:
        notes.append(f"the optimizer did not converge ({opt.return_value})")
    if np.any(opt.theta[layout.diagonal_mask()] < SINGULAR_TOL):
        notes.append("boundary (singular) fit: a random-effect variance or correlation is on its boundary")
    fit = result_type(
        formula=formula,
        reml=reml,
        design=design,
        pls=pls,
        opt=opt,
        factor=factor,
        messages=tuple(notes),
        **context,
    )
    for note in notes:
        warnings.warn(note, MixedModelsWarning, stacklevel=_user_stacklevel())
    return fit


def _user_stacklevel() -> int:
    """The ``stacklevel`` (for the caller of this function) of the first frame outside the package,
    so that a warning names the user's line whichever way the fit was reached."""
    frame, level = sys._getframe(1), 1
    package = os.path.dirname(os.path.abspath(__file__))
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def check_memory(reterms, p: int, limit: float | None) -> None:
    """Refuse a model whose dense block of the Cholesky factor would exceed ``limit`` bytes.

    The block is square in the columns of every term but the one with most levels, plus ``X``
    and ``y``: crossed factors with many levels make it large.
    """
    limit = options.memory_limit if limit is None else limit
    ordered = sorted(reterms, key=lambda t: -t.nlevels)
    q = sum(t.q for t in ordered[1:]) + p + 1
    need = 8.0 * q * q * 3  # the block, its work copy and the correction P w
    if need > limit:
        terms = ", ".join(f"{t.group!r} ({t.nlevels} levels)" for t in ordered[1:])
        raise MemoryError(
            f"the dense block of the Cholesky factor would need {need / 2**30:.1f} GiB "
            f"({q} x {q} doubles, three times): the terms {terms} are crossed with "
            f"{ordered[0].group!r} ({ordered[0].nlevels} levels). The limit is {limit / 2**30:.1f} GiB; "
            "raise it with memory_limit= or mixedmodels.options.memory_limit"
        )
