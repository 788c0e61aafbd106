"""A weakly penalized glmer fit: a normal prior on the fixed effects, as blme's ``fixef.prior``.

With ``fixef_prior = s`` (a standard deviation, or one per coefficient) the criterion minimized
over ``(theta, beta)`` is the fit's (Laplace or adaptive Gauss-Hermite) plus

    P(beta) = sum_j beta_j^2 / s_j^2,

minus twice the log-density of independent ``N(0, s_j^2)`` priors on the coefficients (its
constant left out): the posterior mode of the fixed effects with flat priors on the variance
parameters, blme's ``bglmer(..., fixef.prior = normal(sd = s), cov.prior = NULL)``. Its gradient
adds ``2 beta / s^2`` to the criterion's and its Hessian ``2 / s^2`` on the diagonal, so the
covariance of ``beta`` is ``2 (H + 2 diag(1/s^2))^{-1}`` restricted to ``beta``. Where the data
separate a coefficient (:mod:`mixedmodels.numerics.separation`) the prior keeps it finite; as ``s`` grows
the fit tends to the maximum-likelihood one. The fit's ``objective`` and ``loglik`` are the
likelihood's at the penalized estimates (the penalty is not in them).

The penalty enters the second stage (and its derivative-free fallback): the first stage, whose
fixed effects are PIRLS's, only supplies the start, its coefficients clipped to three prior
standard deviations. Not for nAGQ = 0, whose fixed effects are PIRLS's.

Reference: Chung, Y., Rabe-Hesketh, S., Dorie, V., Gelman, A. and Liu, J. (2013). A
nondegenerate penalized likelihood estimator for variance parameters in multilevel models.
Psychometrika 78, 685-709 (the blme package); Gelman, A., Jakulin, A., Pittau, M. G. and Su,
Y.-S. (2008). A weakly informative default prior distribution for logistic and other
regression models. Annals of Applied Statistics 2, 1360-1383.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..base.blas import single_threaded_blas
from ..numerics.optimize import minimize_theta, polish
from .engine import (
    GlmmOptimum,
    agq_derivatives,
    beta_block,
    criterion_function,
    fallback_vcov,
    glm_start,
    hessian_problem,
    laplace_function,
    laplace_vcov,
    minimize_laplace,
    one_blas_thread,
    stage2_function,
    stage_one,
)
from .pirls import GlmmModel, vcov_joint

__all__ = ["fit_glmm_prior", "prior_sd"]


def prior_sd(fixef_prior, names: tuple[str, ...] | list[str]) -> np.ndarray | None:
    """The prior's standard deviation of each coefficient, from a number, a sequence (one per
    coefficient) or a dict ``{name: sd}`` (every coefficient named); None for no prior."""
    if fixef_prior is None:
        return None
    p = len(names)
    if isinstance(fixef_prior, dict):
        missing = [n for n in names if n not in fixef_prior]
        unknown = [k for k in fixef_prior if k not in names]
        if missing or unknown:
            raise ValueError(
                "fixef_prior as a dict needs one standard deviation for each coefficient "
                f"({', '.join(names)})" + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
            )
        sd = np.array([float(fixef_prior[n]) for n in names])
    else:
        sd = np.asarray(fixef_prior, dtype=float)
        if sd.ndim == 0:  # one standard deviation for every coefficient
            sd = np.full(p, float(sd))
    if sd.shape != (p,) or not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        raise ValueError(
            f"fixef_prior must be a positive standard deviation or {p} of them (one per "
            f"coefficient: {', '.join(names)}), not {fixef_prior!r}"
        )
    return sd


def penalty(beta: np.ndarray, sd: np.ndarray) -> float:
    """``sum beta_j^2 / s_j^2``: minus twice the log prior density, its constant left out."""
    return float(np.sum((beta / sd) ** 2))


def _penalized_fg(fg: Callable, nt: int, sd: np.ndarray) -> Callable:
    def pen(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(x)
        if not np.isfinite(f):
            return f, g
        beta = x[nt:]
        g = np.array(g, dtype=float)
        g[nt:] += 2.0 * beta / sd**2
        return f + penalty(beta, sd), g

    return pen


def _penalized_fn(fn: Callable, nt: int, sd: np.ndarray) -> Callable:
    return lambda x: fn(x) + penalty(x[nt:], sd)


def fit_glmm_prior(
    model: GlmmModel, nagq: int, sd: np.ndarray, mustart: np.ndarray | None = None
) -> GlmmOptimum:
    """The penalized optimum (see the module)."""
    if nagq == 0:
        raise NotImplementedError(
            "fixef_prior needs nagq >= 1: with nagq = 0 the fixed effects are estimated inside PIRLS"
        )
    with single_threaded_blas(one_blas_thread(model)):
        return _fit(model, nagq, sd, mustart)


def _fit(model: GlmmModel, nagq: int, sd: np.ndarray, mustart: np.ndarray | None) -> GlmmOptimum:
    layout = model.layout
    nt = layout.ntheta
    glm, beta0 = glm_start(model, mustart)
    beta0 = np.clip(beta0, -3 * sd, 3 * sd)
    stage1, st1 = stage_one(model, beta0)
    beta1 = np.clip(st1.beta, -3 * sd, 3 * sd)
    fn, memo = criterion_function(model, nagq, beta1)
    fn_pen = _penalized_fn(fn, nt, sd)
    x0 = np.concatenate([stage1.theta, beta1])
    lower = np.concatenate([layout.lower(), np.full(model.p, -np.inf)])
    opt = None
    if nagq == 1:
        opt = minimize_laplace(_penalized_fg(stage2_function(model, st1), nt, sd), x0, lower)
    if opt is None or not opt.converged:
        se = np.sqrt(np.diag(vcov_joint(st1)))
        step = np.concatenate(
            [np.maximum(0.1 * np.abs(stage1.theta), 0.05), np.minimum(np.maximum(0.5 * se, 1e-3), sd)]
        )
        opt = polish(fn_pen, minimize_theta(fn_pen, x0, lower, initial_step=step), lower)
    x = opt.theta
    fmin = fn(x)  # the likelihood's criterion at the penalized estimates
    state = memo["state"]
    if nagq == 1:
        _, H = laplace_vcov(model, x, st1.eta, state.u)
        gradient = laplace_function(model, False, x[nt:], state.u)[0](x)[1]
    else:
        H, _, gradient = agq_derivatives(model, nagq, x, state.u)
    H = H.copy()
    H[nt:, nt:] += np.diag(2.0 / sd**2)
    gradient = np.array(gradient, dtype=float)
    gradient[nt:] += 2.0 * x[nt:] / sd**2  # the penalized criterion's: what its check judges
    V, notes = _penalized_vcov(model, H, x, state.u)
    return GlmmOptimum(opt, state, fmin, V, glm, stage1, H, notes, gradient)


def _penalized_vcov(
    model: GlmmModel, H: np.ndarray, x: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``vcov(beta)`` from the penalized criterion's Hessian ``H``; where that is not usable,
    the joint PIRLS system's at the optimum, with the note that says so."""
    nt = model.layout.ntheta
    problem = hessian_problem(H, np.zeros(len(x)), np.ones(len(x), dtype=bool), nt)
    if problem is None:
        return beta_block(H, nt), ()
    V, note = fallback_vcov(model, x, u, f"the Hessian of the penalized criterion {problem}")
    return V, (note,)
