"""``allfit(fit)``: the model refitted by every optimizer we have, as lme4's ``allFit``.

Each optimizer minimizes the fit's own criterion (the REML criterion or deviance over
``theta`` for lmer; the Laplace or quadrature criterion over ``(theta, beta)`` for glmer, over
``theta`` for nAGQ = 0) from the same start (the identity templates for lmer, the nAGQ = 0 fit
for glmer), on the original parameters, with no polish: BOBYQA (lme4's settings), the
projected quasi-Newton steps of :mod:`mixedmodels.numerics.quasi_newton` (the closed-form gradient of
the Laplace criterion, central differences otherwise), and scipy's bounded Nelder-Mead and
L-BFGS-B. Where they agree (criterion within ``tol`` of the best, fixed effects within
``se_tol`` standard errors of the best's), the optimum does not depend on the optimizer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, minimize

from ..base.protocols import MixedFit
from ..numerics.optimize import minimize_theta
from ..numerics.quasi_newton import minimize_gradient
from ..numerics.restarts import theta_names

__all__ = ["AllFit", "allfit"]

OPTIMIZERS = ("bobyqa", "quasi-Newton", "Nelder-Mead", "L-BFGS-B")


@dataclass(frozen=True)
class AllFit:
    """The refits of one model by each optimizer (see :mod:`mixedmodels.replicates.allfit`).

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per optimizer (and the fit itself, ``"fit"``): criterion, its excess over the
        best, converged, seconds, evaluations, message.
    theta, fixef : pandas.DataFrame
        Each optimizer's ``theta`` and fixed effects.
    best : str
        The optimizer with the lowest criterion.
    agree : bool
        Whether all optimizers that converged reached the best's criterion within ``tol`` and its
        fixed effects within ``se_tol`` standard errors.
    tol, se_tol : float
        The tolerances of the agreement.
    """

    summary: pd.DataFrame
    theta: pd.DataFrame
    fixef: pd.DataFrame
    best: str
    agree: bool
    tol: float
    se_tol: float

    @property
    def verdict(self) -> str:
        """One line: do the optimizers agree, and which is best."""
        if self.agree:
            within = f"criterion within {self.tol:g}, fixed effects within {self.se_tol:g} SE"
            return f"the optimizers agree ({within}); best: {self.best}"
        best = self.summary.loc[self.best, "criterion"]
        return f"the optimizers disagree; best: {self.best} (criterion {best:.6f})"

    def __repr__(self) -> str:
        from ..report.diagnostics import allfit_text

        return allfit_text(self)

    __str__ = __repr__


def allfit(fit, tol: float = 1e-4, se_tol: float = 0.01) -> AllFit:
    """Refit ``fit`` (an :class:`~mixedmodels.LmerFit` or :class:`~mixedmodels.GlmerFit`) with each
    optimizer, as lme4's ``allFit``, and compare the optima.

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    tol : float
        The optimizers agree where each converged one's criterion is within ``tol`` of the best.
    se_tol : float
        ... and its fixed effects within ``se_tol`` standard errors (the fit's) of the best's.

    Returns
    -------
    AllFit
    """
    if not isinstance(fit, MixedFit):
        raise TypeError(f"allfit takes an lmer or glmer fit, not {type(fit).__name__}")
    if not fit.has_rows:  # a Dask fit: its cross-products only
        raise TypeError("allfit refits in memory: fit the model to a pandas DataFrame (compute() it) first")
    problem = _glmer_problem(fit) if fit.is_generalized else _lmer_problem(fit)
    fn, start, lower, fg, estimates, names = problem
    rows, thetas, fixefs = {}, {}, {}
    rows["fit"] = (float(fit.objective), bool(fit.converged), np.nan, np.nan, "; ".join(fit.messages))
    thetas["fit"], fixefs["fit"] = fit.theta, fit.fixef.to_numpy()
    for name in OPTIMIZERS:
        t0 = time.perf_counter()
        x, f, ok, nfev, message = _run(name, fn, fg, start, lower)
        seconds = time.perf_counter() - t0
        theta, beta = estimates(x)
        rows[name], thetas[name], fixefs[name] = (float(f), ok, seconds, nfev, message), theta, beta
    summary = pd.DataFrame.from_dict(
        rows, orient="index", columns=["criterion", "converged", "seconds", "evaluations", "message"]
    )
    best = str(summary["criterion"].idxmin())
    summary.insert(1, "excess", summary["criterion"] - summary.loc[best, "criterion"])
    theta = pd.DataFrame.from_dict(thetas, orient="index", columns=names)
    fixef = pd.DataFrame.from_dict(fixefs, orient="index", columns=list(fit.fixef.index))
    se = fit.se.to_numpy()
    converged = summary.index[summary["converged"].astype(bool)]
    close = (summary.loc[converged, "excess"] <= tol).all()
    shift = np.abs(fixef.loc[converged].to_numpy() - fixef.loc[best].to_numpy()) / se
    agree = bool(close and np.all(shift <= se_tol))
    return AllFit(summary, theta, fixef, best, agree, tol, se_tol)


def _run(name: str, fn, fg, start, lower) -> tuple[np.ndarray, float, bool, int, str]:
    """One optimizer from ``start``: the point, its criterion, converged, evaluations, message."""
    if name == "bobyqa":
        r = minimize_theta(fn, start, lower)
        return r.theta, r.fmin, r.converged, r.feval, r.return_value
    if name == "quasi-Newton":
        q = minimize_gradient(fg, start, lower)
        ok = bool(q.converged[0])
        return q.x[0], float(q.fun[0]), ok, int(q.nfev), "CONVERGED" if ok else "NOT_CONVERGED"
    bounds = Bounds(lower, np.full(len(lower), np.inf))
    safe = _finite(fn)
    if name == "Nelder-Mead":
        options = {"xatol": 1e-8, "fatol": 1e-8, "maxfev": 2000 * len(start)}
        r = minimize(safe, start, method="Nelder-Mead", bounds=bounds, options=options)
    else:
        r = minimize(safe, start, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-14, "gtol": 1e-8})
    x = np.maximum(np.asarray(r.x, dtype=float), lower)
    return x, float(fn(x)), bool(r.success), int(r.nfev), str(r.message)


def _finite(fn: Callable) -> Callable:
    def safe(x: np.ndarray) -> float:
        value = fn(x)
        return float(value) if np.isfinite(value) else 1e300

    return safe


def _central(fn: Callable) -> Callable:
    """``x -> (fn(x), central-difference gradient)`` (steps ``1e-6 (1 + |x|)``)."""

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        f = fn(x)
        g = np.empty(len(x))
        for j in range(len(x)):
            h = 1e-6 * (1.0 + abs(x[j]))
            e = np.zeros(len(x))
            e[j] = h
            g[j] = (fn(x + e) - fn(x - e)) / (2 * h)
        return f, g

    return fg


def _lmer_problem(fit):
    from ..lmm.engine import refit
    from ..numerics.objective import criterion_function

    layout = fit.pls.layout
    fn = criterion_function(fit.pls, fit.reml)

    def estimates(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            beta = refit(fit, theta=theta).fixef.to_numpy()
        except ValueError:
            beta = np.full(fit.pls.p, np.nan)
        return theta, beta

    names = theta_names(fit.design.reterms, layout)
    return fn, layout.start(), layout.lower(), _central(fn), estimates, names


def _glmer_problem(fit):
    from ..glmm.engine import criterion_function, laplace_function

    model, optimum = fit.model, fit.optimum
    layout = model.layout
    nt = layout.ntheta
    names = theta_names(model.reterms, layout)
    stage1_beta = _stage1_beta(fit)
    if fit.nagq == 0:
        fn = criterion_function(model, 0, stage1_beta)[0]
        joint, memo = laplace_function(model, True, stage1_beta, None)

        def estimates0(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            joint(theta)
            state = memo["state"]
            return theta, (np.full(model.p, np.nan) if state is None else state.beta)

        return fn, layout.start(), layout.lower(), joint, estimates0, names
    fn = criterion_function(model, fit.nagq, stage1_beta)[0]
    start = np.concatenate([optimum.stage1.theta, stage1_beta])
    lower = np.concatenate([layout.lower(), np.full(model.p, -np.inf)])
    fg = laplace_function(model, False, stage1_beta, None)[0] if fit.nagq == 1 else _central(fn)

    def estimates(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:nt], x[nt:]

    return fn, start, lower, fg, estimates, names


def _stage1_beta(fit) -> np.ndarray:
    """The fixed effects of the nAGQ = 0 fit (the joint mode at stage 1's ``theta``)."""
    from ..glmm.engine import laplace_function

    optimum = fit.optimum
    beta0 = optimum.glm.beta if optimum.glm is not None else optimum.state.beta
    fg, memo = laplace_function(fit.model, True, beta0, None)
    fg(optimum.stage1.theta)
    return beta0 if memo["state"] is None else memo["state"].beta
