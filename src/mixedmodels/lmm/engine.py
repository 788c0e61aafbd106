"""The engine: from an assembled model to its optimum, and the one refit path.

The stages of :func:`mixedmodels.lmer`, each in its own module, are

    formula (formula/terms.py, formula/rsyntax.py) -> design (formula/design.py)
    -> blocked factor (numerics/pls.py) -> engine (this module: the criterion's optimum)
    -> fitted model (lmm/fit.py)

as lme4's ``lFormula -> mkLmerDevfun -> optimizeLmer -> mkMerMod``. The engine minimizes the
profiled criterion of :mod:`mixedmodels.numerics.objective` over ``theta`` by BOBYQA
(:mod:`mixedmodels.numerics.optimize`), polishes small models to the exact optimum, and wraps the
optimum as an :class:`~mixedmodels.lmm.fit.LmerFit`. :func:`refit` serves every refit: a new
response (``fit.refit``, the bootstrap), another criterion (the profile's ML refit of a REML
fit) or a known optimum.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..base.messages import warn
from ..formula.design import Design
from ..numerics.objective import criterion, criterion_function
from ..numerics.optimize import OptSummary, minimize_theta, newton, polish
from ..numerics.pls import PLS
from ..numerics.restarts import checked_lmer
from .fit import LmerFit
from .residual_boundary import boundary_optimum

EXACT = (1e-12, 1e-15)  # the polish's xtol and ftol: the optimum to the criterion's rounding

__all__ = [
    "aliased_notes",
    "fit_model",
    "model_pls",
    "refit",
]


def model_pls(design: Design, y: np.ndarray | None = None, memory_limit: float | None = None) -> PLS:
    """The blocked factor's cross-products of ``design`` (with response ``y``, the design's when
    not given), its prior weights and offset applied: the working model of :mod:`mixedmodels.numerics.pls`."""
    y = design.y if y is None else y
    return PLS(design.reterms, design.X, y, memory_limit, weights=design.weights, offset=design.offset)


def fit_model(
    formula: str,
    design,
    pls: PLS,
    reml: bool,
    start: np.ndarray | None = None,
    notes=(),
    result_type: type[LmerFit] = LmerFit,
    **context,
) -> LmerFit:
    """Optimize the criterion of an assembled model and wrap the optimum as an :class:`LmerFit`
    (or ``result_type``, a subclass; ``context`` holds its further fields).

    The optimum is checked (:mod:`mixedmodels.numerics.restarts`: gradient and Hessian on the scaled
    ``theta``) and, where it fails the check, the model is fitted again from a few starts.
    What is worth knowing about the fit (dropped columns, a singular fit, an optimizer that did
    not converge, a restart that improved the optimum) is recorded on it (``fit.messages``) and
    issued as MixedModelsWarning.
    """
    fn = criterion_function(pls, reml)
    layout = pls.layout
    theta0 = layout.start() if start is None else np.asarray(start, dtype=float)
    opt = minimize_theta(fn, theta0, layout.lower())
    if not pls.large:  # evaluations cheap enough: refine to the exact optimum (lme4 stops short)
        opt = polish(fn, opt, layout.lower(), EXACT)
    if not np.isfinite(opt.fmin):
        raise ValueError("the model could not be fitted: the criterion is not finite at any theta tried")
    boundary = boundary_optimum(fn, opt, layout, design, reml)
    opt, restart_notes = boundary if boundary is not None else checked_lmer(fn, opt, layout, design.reterms)
    factor = pls.factor(opt.theta)
    if factor is None:
        raise ValueError("the model could not be fitted: the criterion is not finite at any theta tried")
    notes = list(notes) + restart_notes
    if not opt.converged:
        notes.append(f"the optimizer did not converge ({opt.return_value})")
    if layout.singular(opt.theta):
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
        warn(note)
    return fit


def refit(
    fit: LmerFit,
    y: np.ndarray | None = None,
    reml: bool | None = None,
    start: np.ndarray | None = None,
    theta: np.ndarray | None = None,
) -> LmerFit:
    """The model of ``fit`` fitted again: to response ``y``, by ``reml``, or at a known optimum.

    Parameters
    ----------
    fit : LmerFit
    y : ndarray, optional
        A new response, one value per row used in the fit (the fit's own when not given: then
        the data stays on the result).
    reml : bool, optional
        The criterion (the fit's when not given).
    start : ndarray, optional
        A ``theta`` near the optimum: Newton steps from it reach the exact optimum in a few
        evaluations (a bootstrap replicate started from the estimate); BOBYQA from the fit's
        ``theta`` where they do not converge. Without it, BOBYQA from the fit's ``theta``.
    theta : ndarray, optional
        The optimum, already known: no optimization.
    """
    reml = fit.reml if reml is None else reml
    same_y = y is None
    design = fit.design if same_y else replace(fit.design, y=np.asarray(y, dtype=float))
    pls = fit.pls if same_y else model_pls(design)
    context: dict[str, Any] = {
        "data": fit.data if same_y else None,
        "contrasts": fit.contrasts,
        "na_action": fit.na_action,
        "model_args": fit.model_args,
    }
    feval = 0
    if theta is None and start is not None:
        reached, _, ok, feval = newton(criterion_function(pls, reml), start, pls.layout.lower())
        theta = reached if ok else None
    if theta is None:
        return fit_model(fit.formula, design, pls, reml, start=fit.opt.theta, **context)
    factor = pls.factor(theta)
    if factor is None:
        raise ValueError("the model could not be refitted: the criterion is not finite at the given theta")
    fmin = criterion(factor, pls.n, pls.p, reml, None, pls.log_weights)
    opt = OptSummary(fit.opt.theta, np.asarray(theta, dtype=float), fmin, feval, "refit", True)
    return LmerFit(formula=fit.formula, reml=reml, design=design, pls=pls, opt=opt, factor=factor, **context)


def aliased_notes(aliased) -> list[str]:
    """lme4's message for dropped fixed-effects columns (none when there are none)."""
    if not aliased:
        return []
    names = ", ".join(aliased)
    return [f"fixed-effect model matrix is rank deficient so dropping {len(aliased)} column(s): {names}"]
