"""The engine: from an assembled model to its optimum, and the one refit path.

The stages of :func:`mixedmodels.lmer`, each in its own module, are

    formula (formula.py, rformula.py) -> design (design.py) -> blocked factor (pls.py)
    -> engine (this module: the criterion's optimum) -> fitted model (results.py)

as lme4's ``lFormula -> mkLmerDevfun -> optimizeLmer -> mkMerMod``. The engine minimizes the
profiled criterion of :mod:`mixedmodels.objective` over ``theta`` by BOBYQA
(:mod:`mixedmodels.optimize`), polishes small models to the exact optimum, and wraps the
optimum as an :class:`~mixedmodels.results.LmerFit`. :func:`refit` serves every refit: a new
response (``fit.refit``, the bootstrap), another criterion (the profile's ML refit of a REML
fit) or a known optimum.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .design import Design
from .messages import warn
from .objective import criterion, criterion_function
from .optimize import OptSummary, minimize_theta, newton, polish
from .options import format_bytes, options
from .pirls import PAIR_COST
from .pls import PLS
from .restarts import checked_lmer
from .results import LmerFit

EXACT = (1e-12, 1e-15)  # the polish's xtol and ftol: the optimum to the criterion's rounding

__all__ = [
    "aliased_notes",
    "check_glmm_memory",
    "check_memory",
    "check_rows_memory",
    "fit_model",
    "model_pls",
    "refit",
]


def model_pls(design: Design, y: np.ndarray | None = None, memory_limit: float | None = None) -> PLS:
    """The blocked factor's cross-products of ``design`` (with response ``y``, the design's when
    not given), its prior weights and offset applied: the working model of :mod:`mixedmodels.pls`."""
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

    The optimum is checked (:mod:`mixedmodels.restarts`: gradient and Hessian on the scaled
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
    opt, restart_notes = checked_lmer(fn, opt, layout, design.reterms)
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
            f"the dense block of the Cholesky factor would need {format_bytes(need)} "
            f"({q} x {q} doubles, three times): the terms {terms} are crossed with "
            f"{ordered[0].group!r} ({ordered[0].nlevels} levels). The limit is {format_bytes(limit)}; "
            "raise it with memory_limit= or mixedmodels.options.memory_limit"
        )


def check_glmm_memory(reterms, p: int, limit: float | None) -> None:
    """Refuse, before anything is built, a GLMM whose PIRLS system would exceed ``limit`` bytes.

    PIRLS (:mod:`mixedmodels.pirls`) holds the dense Schur complement of the other terms'
    columns and ``X`` (as lmer's factor: :func:`check_memory`), and the products of the first
    term's levels with the other terms' columns: a dense ``(q_r, q_1)`` array for crossed
    terms, or the pairs of non-zero blocks within each level, whichever is smaller. Each
    level's blocks are bounded by its rows times the other terms' columns per row (and by
    ``q_r``), so the bound is computed from the levels' counts alone.
    """
    check_memory(reterms, p, limit)
    limit = options.memory_limit if limit is None else limit
    first, rest = reterms[0], reterms[1:]
    if not rest:
        return
    qr = sum(t.q for t in rest)
    rows = np.bincount(first.refs, minlength=first.nlevels).astype(float)
    blocks = np.minimum(rows * sum(t.k for t in rest), qr)  # at least the level's blocks
    pairs = float(np.sum(blocks * blocks))  # ordered pairs of blocks within a level, at most
    if pairs * PAIR_COST >= qr * qr * first.q:  # PIRLS's own rule: a dense (q_r, q_1) array
        need, made = 24.0 * qr * first.q, f"a dense {qr} x {first.q} array of products"
    else:  # the pairs' indices while they are made, then their products
        need, made = 8.0 * (5 + 3 * first.k) * pairs, f"{pairs:.0f} products of pairs of columns"
    if need > limit:
        terms = ", ".join(f"{t.group!r} ({t.nlevels} levels)" for t in rest)
        raise MemoryError(
            f"the GLMM's penalized least-squares system would need about {format_bytes(need)} "
            f"({made} of the terms {terms} within the levels of {first.group!r}, "
            f"{first.nlevels} levels). The limit is {format_bytes(limit)}; raise it with "
            "memory_limit= or mixedmodels.options.memory_limit"
        )


def check_rows_memory(n: int, p: int, copies: int, limit: float | None, what: str) -> None:
    """Refuse a fixed-effects fit whose ``copies`` dense ``n x p`` arrays (the model matrix,
    its weighted copy, its QR's ``Q``) would exceed ``limit`` bytes."""
    limit = options.memory_limit if limit is None else limit
    need = 8.0 * n * p * copies
    if need > limit:
        raise MemoryError(
            f"{what} would need about {format_bytes(need)} ({copies} dense {n} x {p} arrays of "
            f"doubles: {n} rows, {p} fixed-effect columns). The limit is {format_bytes(limit)}; "
            "raise it with memory_limit= or mixedmodels.options.memory_limit"
        )
