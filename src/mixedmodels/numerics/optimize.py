"""Bounded derivative-free minimization of the profiled criterion over ``theta``.

nlopt's BOBYQA with the settings lme4's ``nloptwrap`` ends up with: absolute tolerances of 1e-8
on the criterion and on ``theta`` (lme4's) and a relative tolerance of 1e-4 on ``theta``
(nloptr's default, which lme4 does not override), followed by lme4's boundary check: an
estimate within 1e-5 of its lower bound is moved onto the bound when that does not make the
criterion worse.

Where the criterion is flat, BOBYQA's stopping point moves with rounding noise by 1e-6 or more
relative to the optimum (the seed model's intercept standard error changes in its 6th digit).
:func:`polish` refines it with a few Newton steps on finite differences
(:mod:`mixedmodels.numerics.newton`), so that a fit and a bootstrap refit of the same data agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import nlopt
import numpy as np

from .newton import minimize_one

__all__ = ["BOUNDARY_TOL", "OptSummary", "minimize_theta", "newton", "polish", "snap_to_boundary"]

BOUNDARY_TOL = 1e-5  # lme4's check.boundary: estimates this close to a bound are tried on it

_RESULTS = {
    nlopt.SUCCESS: "SUCCESS",
    nlopt.STOPVAL_REACHED: "STOPVAL_REACHED",
    nlopt.FTOL_REACHED: "FTOL_REACHED",
    nlopt.XTOL_REACHED: "XTOL_REACHED",
    nlopt.MAXEVAL_REACHED: "MAXEVAL_REACHED",
    nlopt.MAXTIME_REACHED: "MAXTIME_REACHED",
    nlopt.ROUNDOFF_LIMITED: "ROUNDOFF_LIMITED",
}
_CONVERGED = (nlopt.SUCCESS, nlopt.FTOL_REACHED, nlopt.XTOL_REACHED)


@dataclass(frozen=True)
class OptSummary:
    """What the optimizer did: start, optimum, evaluations and how it stopped."""

    initial: np.ndarray
    theta: np.ndarray
    fmin: float
    feval: int
    return_value: str
    converged: bool
    message: str = ""
    polished: bool = False
    hessian: np.ndarray | None = None
    gradient: np.ndarray | None = None  # with ``hessian``: the derivatives at ``theta``, where known
    check: Any = None  # the ConvergenceCheck of the fit (:mod:`mixedmodels.numerics.convergence`), once made


def minimize_theta(
    fn: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    ftol_abs: float = 1e-8,
    xtol_abs: float = 1e-8,
    xtol_rel: float = 1e-4,
    maxeval: int = 100_000,
    boundary_tol: float = BOUNDARY_TOL,
    upper: np.ndarray | None = None,
    initial_step: np.ndarray | None = None,
) -> OptSummary:
    """Minimize ``fn`` over ``lower <= theta <= upper`` by BOBYQA, then snap near-boundary estimates.

    Parameters
    ----------
    fn : callable
        The criterion of ``theta``; ``inf`` where it cannot be evaluated.
    start, lower : ndarray
        Starting value and lower bounds (``-inf`` for unbounded entries).
    ftol_abs, xtol_abs, xtol_rel, maxeval : float
        nlopt's stopping rules (0 turns one off); lme4's by default.
    boundary_tol : float
        Estimates this close to a finite lower bound are put on it if no worse (0: never).
    upper : ndarray, optional
        Upper bounds (none by default).
    initial_step : ndarray, optional
        BOBYQA's first steps (nlopt's default: from the start and the bounds).
    """
    start = np.asarray(start, dtype=float)
    upper = np.full_like(start, np.inf) if upper is None else np.asarray(upper, dtype=float)
    count = [0]
    best_x, best_f = [start.copy()], [math.inf]
    isfinite = math.isfinite

    def objective(x, grad):
        count[0] += 1
        value = fn(x)
        if value < best_f[0]:
            best_x[0], best_f[0] = x.copy(), value
        return value if isfinite(value) else 1e300

    opt = nlopt.opt(nlopt.LN_BOBYQA, len(start))
    opt.set_min_objective(objective)
    opt.set_lower_bounds(lower)
    opt.set_upper_bounds(upper)
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_abs(xtol_abs)
    opt.set_xtol_rel(xtol_rel)
    opt.set_maxeval(maxeval)
    if initial_step is not None:
        opt.set_initial_step(initial_step)
    message = ""
    try:
        theta = opt.optimize(np.clip(start, lower, upper))
        code = opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        theta, code, message = best_x[0], nlopt.ROUNDOFF_LIMITED, "stopped by roundoff"
    theta = np.clip(np.asarray(theta, dtype=float), lower, upper)
    if np.array_equal(theta, best_x[0]):  # the best point evaluated: its value is known
        fmin = best_f[0]
    else:
        fmin = fn(theta)
        count[0] += 1
    theta, fmin, extra = snap_to_boundary(fn, theta, fmin, lower, boundary_tol)
    count[0] += extra
    converged = bool(code in _CONVERGED and np.isfinite(fmin))
    return OptSummary(start, theta, fmin, count[0], _RESULTS.get(code, str(code)), converged, message)


def snap_to_boundary(fn, theta, fmin, lower, tol) -> tuple[np.ndarray, float, int]:
    """lme4's check.boundary: put estimates within ``tol`` of a finite bound onto it if no worse."""
    near = np.isfinite(lower) & (theta - lower < tol) & (theta != lower)
    evals = 0
    if near.any():
        trial = np.where(near, lower, theta)
        value = fn(trial)
        evals += 1
        if value <= fmin:
            return trial, value, evals
    return theta, fmin, evals


def newton(
    fn: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    fstart: float | None = None,
    tolerances: tuple[float, float] = (1e-9, 1e-13),
) -> tuple[np.ndarray, float, bool, int]:
    """Projected Newton steps (:mod:`mixedmodels.numerics.newton`) from ``start`` on one problem.

    ``fstart``, when given, is ``fn(start)``, known already; ``tolerances`` the steps' ``xtol``
    and ``ftol``. Returns the point reached, its value, whether the steps converged, and the
    evaluations.
    """
    theta, fmin, ok, count, _ = _newton(fn, start, lower, fstart, tolerances)
    return theta, fmin, ok, count


def _newton(fn, start, lower, fstart, tolerances) -> tuple[np.ndarray, float, bool, int, dict]:
    """:func:`newton`, also returning the last point's finite-difference derivatives
    (``record``: ``x``, ``g``, ``H``)."""
    count = [0]

    def counted(theta: np.ndarray) -> float:
        count[0] += 1
        return fn(theta)

    xtol, ftol = tolerances
    record: dict = {}
    theta, fmin, ok = minimize_one(
        counted, np.asarray(start, dtype=float), lower, xtol=xtol, ftol=ftol, max_iter=20, f0=fstart,
        record=record,
    )  # fmt: skip
    return theta, float(fmin), ok, count[0], record


def polish(
    fn: Callable[[np.ndarray], float],
    opt: OptSummary,
    lower: np.ndarray,
    tolerances: tuple[float, float] = (1e-9, 1e-13),
) -> OptSummary:
    """Newton refinement of an optimum; kept only where it lowers the criterion.

    Where the steps converged and their last derivatives were taken at the point kept (to
    ``1e-9 (1 + |theta|)``), those are the result's ``gradient`` and ``hessian``.
    """
    theta, fmin, ok, evaluations, record = _newton(fn, opt.theta, lower, opt.fmin, tolerances)
    if ok and fmin <= opt.fmin:
        derivatives = _derivatives_at(record, theta)
        return replace(
            opt, theta=theta, fmin=fmin, feval=opt.feval + evaluations, polished=True,
            gradient=derivatives[0], hessian=derivatives[1],
        )  # fmt: skip
    return replace(opt, feval=opt.feval + evaluations)


def _derivatives_at(record: dict, theta: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The Newton steps' last gradient and Hessian where they were taken at ``theta``."""
    x = record.get("x")
    if x is None or np.any(np.abs(x - theta) > 1e-9 * (1.0 + np.abs(theta))):
        return None, None
    return record["g"], record["H"]
