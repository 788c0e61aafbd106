"""``lmer()``: formula and data to matrices, the profiled criterion, its optimum, a fitted model."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .batch import BatchCriterion
from .design import DataError, build_design
from .formula import parse_formula
from .objective import criterion
from .optimize import minimize_theta, polish
from .pls import PLS
from .results import LmerFit, MixedModelsWarning

__all__ = ["lmer", "MixedModelsWarning"]


def lmer(
    formula: str,
    data: pd.DataFrame,
    reml: bool = True,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    start: np.ndarray | None = None,
) -> LmerFit:
    """Fit a linear mixed-effects model by REML (default) or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        An lme4 formula: ``"y ~ x + (1 | g)"``, ``(x || g)``, ``(1 | a/b)``, ``(1 | a:b)``.
    data : pandas.DataFrame
        The data; it is not modified.
    reml : bool
        REML (True, lme4's default) or maximum likelihood.
    contrasts : mapping, optional
        Coding of categorical columns: ``{"p": "sum"}``; "treatment", "sum", "helmert",
        "poly" or a matrix with one row per level.
    na_action : {"omit", "raise"}
        Drop rows with missing values in the model's variables (and report how many) or refuse.
    start : array, optional
        Starting ``theta``; lme4's default (identity templates) when not given.

    Returns
    -------
    LmerFit
    """
    parsed = parse_formula(formula)
    if not parsed.random:
        raise ValueError(f"no random-effects terms in {formula!r}; use mm.lm for a fixed-effects model")
    design = build_design(parsed, data, contrasts=contrasts, na_action=na_action)
    n, p = design.X.shape
    if p >= n:
        raise DataError(f"{p} fixed effects for {n} observations: the model cannot be estimated")
    if design.aliased:
        warnings.warn(
            f"fixed-effect model matrix is rank deficient so dropping {len(design.aliased)} "
            f"column(s): {', '.join(design.aliased)}",
            MixedModelsWarning,
            stacklevel=2,
        )
    pls = PLS(design.reterms, design.X, design.y)
    context = {"data": data, "contrasts": dict(contrasts or {}), "na_action": na_action}
    return fit_pls(formula, design, pls, reml, start, **context)


def fit_pls(formula: str, design, pls: PLS, reml: bool, start=None, **context) -> LmerFit:
    """Optimize the criterion of an assembled model and wrap the optimum as an :class:`LmerFit`."""
    n, p = pls.n, pls.p

    def objective(theta: np.ndarray) -> float:
        return criterion(pls.factor(theta, reuse=True), n, p, reml)

    layout = pls.layout
    theta0 = layout.start() if start is None else np.asarray(start, dtype=float)
    opt = minimize_theta(objective, theta0, layout.lower())
    if BatchCriterion.suitable(pls):  # cheap evaluations: refine to the exact optimum
        opt = polish(objective, opt, layout.lower())
    factor = pls.factor(opt.theta)
    if factor is None or not np.isfinite(opt.fmin):
        raise ValueError("the model could not be fitted: the criterion is not finite at any theta tried")
    fit = LmerFit(formula=formula, reml=reml, design=design, pls=pls, opt=opt, factor=factor, **context)
    if not opt.converged:
        warnings.warn(
            f"the optimizer did not converge ({opt.return_value})", MixedModelsWarning, stacklevel=3
        )
    return fit
