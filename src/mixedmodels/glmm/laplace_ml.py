"""The Laplace likelihood maximized over every parameter at once, as glmmTMB fits it.

For a family with a parameter beyond the mean (a negative binomial's size, a Gamma's shape, a
beta's precision, a Gaussian's variance: ``phi``) and for fits with the observed information
(:meth:`~mixedmodels.families.Family.with_information`), the criterion

    f(theta, beta, log phi) = -2 sum_i log p(y_i | mu_i, phi) + |u*|^2 + log det(Lambda'Z'DZ Lambda + I)

(``u*`` the conditional mode, ``D`` the information whose log determinant the family gives,
:meth:`~mixedmodels.families.Family.laplace_weights`) is minimized over ``x = (theta, beta,
log phi)`` together by quasi-Newton steps with its gradient in closed form
(:func:`~mixedmodels.glmm.laplace_gradient.laplace_gradient`), from lme4's first stage at the
starting ``phi`` (``theta`` with ``beta`` inside PIRLS). ``vcov(beta)`` is the ``beta`` block of
``2 H^{-1}``, ``H`` the Hessian over all of ``x`` from central differences of the gradient
(relative steps of 1e-4: an error of order 1e-8)
(glmmTMB's ``sdreport``: the inverse Hessian of the outer parameters); the whole ``2 H^{-1}``
is kept for the Wald intervals of ``theta`` and ``phi``.

The first stage runs at the starting ``phi``, which takes in the random effects' variation; its
``theta`` may be singular, and the steps from it may end at a singular local optimum below an
interior maximum. Where the optimum is singular, the steps run once more from the first stage at
the estimated ``phi`` started at random effects the size of the link scale's working residuals
(:func:`singular_restart`, :func:`spread_start`), and the lower of the two is kept
(:func:`~mixedmodels.glmm.restarts.checked_laplace_ml`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy import special

from ..base.blas import single_threaded_blas
from ..families import Family
from ..families.zero_inflated import zero_augmented
from ..numerics.convergence import parameter_scales, theta_scales
from ..numerics.irls import IrlsError, irls
from ..numerics.optimize import OptSummary
from ..numerics.quasi_newton import minimize_gradient
from .auxiliary import PARAMETER_BOUNDS, extra_size, model_at, within_bounds
from .engine import (
    FALLBACK_TOL,
    TIGHT_PIRLS,
    GlmmOptimum,
    fallback_vcov,
    glm_start,
    hessian_from_gradients,
    hessian_stencil,
    minimize_laplace,
    one_blas_thread,
    stage_one,
    theta_states,
)
from .laplace_gradient import laplace_gradient
from .laplace_ml_batch import MlBatch
from .pirls import GlmmModel, PirlsState, laplace_deviance, pirls

__all__ = [
    "estimated_log_parameter",
    "extra_names",
    "extra_size",
    "fit_laplace_ml",
    "fits_ml",
    "laplace_ml_function",
    "model_at",
    "ml_lower",
    "ml_stencil",
    "ml_vcov",
    "parameter_bound_note",
    "runaway_zero_coefficients",
    "runaway_zero_note",
    "refit_laplace_ml",
    "singular_restart",
    "same_covariances",
    "spread_start",
]

RUNAWAY_PI = 1e-6  # a structural-zero probability below this everywhere: its coefficient runs off
ZERO_MODEL_FTOL = 1e-10  # the steps' relative tolerance with a zero-inflation model (see model_ftol)
BOUND_FACTOR = 10.0  # an estimate within this factor of a bound is noted (parameter_bound_note)


def fits_ml(fam: Family) -> bool:
    """Whether a fit with this family is fitted here: the family estimates a parameter, or
    takes the observed information."""
    return fam.estimates_parameter or fam.observed_information


def estimated_log_parameter(fam: Family) -> np.ndarray:
    """``[log phi]`` of a family whose parameter a fit estimates (empty otherwise)."""
    value = fam.parameter
    return np.log([value]) if fam.estimates_parameter and value is not None else np.empty(0)


def parameter_bound_note(fam: Family) -> str | None:
    """The fit's note where the family's estimated parameter is within :data:`BOUND_FACTOR` of
    :data:`PARAMETER_BOUNDS` (the criterion is infinite beyond them): there the likelihood is
    nearly flat in it (a negative binomial's size running to infinity: no overdispersion), the
    steps stopped at the bound or short of a maximum beyond it; None elsewhere."""
    value = fam.parameter
    if not fam.estimates_parameter or value is None:
        return None
    lo, hi = PARAMETER_BOUNDS
    near_lo, near_hi = np.min(value) <= lo * BOUND_FACTOR, np.max(value) >= hi / BOUND_FACTOR
    if not (near_lo or near_hi):
        return None
    value = float(np.min(value) if near_lo else np.max(value))
    bound = lo if near_lo else hi
    return (
        f"the {fam.name} family's {fam.parameter_name} = {value:.4g} is within a factor of "
        f"{BOUND_FACTOR:g} of the bound {bound:g} its estimate is kept within: the likelihood is "
        "nearly flat in it there, and its estimate and standard error are not reliable"
    )


def model_ftol(model: GlmmModel) -> float | None:
    """The quasi-Newton steps' relative tolerance on the criterion: :data:`ZERO_MODEL_FTOL` (the
    relative tolerance of glmmTMB's ``nlminb``) for a model with a zero-inflation model, the
    steps' own (1e-13) otherwise (None). A structural-zero probability may run to 0 where the
    data have no excess zeros (its coefficient to -infinity); the criterion's gain along it then
    falls geometrically and tighter steps only crawl after it (a hundred evaluations for one
    coefficient of Salamanders' zero-inflated model), while the other parameters stay where
    glmmTMB's stop."""
    return ZERO_MODEL_FTOL if model.aux is not None and model.aux.zi is not None else None


def extra_names(model: GlmmModel) -> list[str]:
    """Names of the parameters after ``(theta, beta)``: ``log(theta)`` (the family's parameter's
    log), or ``disp.<column>`` and ``zi.<column>`` for the auxiliary models' coefficients."""
    fam = model.fam
    single = [f"log({fam.parameter_name or 'parameter'})"] if fam.conditional.estimates_parameter else []
    aux = model.aux
    if aux is None:
        return single
    disp = single if aux.disp is None else [f"disp.{n}" for n in aux.disp.names]
    return disp + ([] if aux.zi is None else [f"zi.{n}" for n in aux.zi.names])


def ml_lower(model: GlmmModel) -> np.ndarray:
    """The lower bounds of ``x = (theta, beta, extra)``."""
    return np.concatenate([model.layout.lower(), np.full(model.p + extra_size(model), -np.inf)])


def _starting_family(model: GlmmModel, mustart: np.ndarray | None) -> Family:
    """The family at a starting value of its parameter: the moments of the GLM fitted at
    ``phi = 1`` (itself where the value is given or there is none to estimate)."""
    fam = model.fam
    if not fam.estimates_parameter or fam.parameter is not None:
        return fam
    unit = fam.with_parameter(1.0)
    try:
        mu = irls(model.X, model.y, unit, model.weights, model.offset, mustart, warn=False).mu
    except IrlsError:
        mu = unit.initialize(model.y, model.weights).mustart
    return fam.with_parameter(unit.parameter_start(model.y, mu, model.weights))


def laplace_ml_function(model: GlmmModel, u0: np.ndarray) -> tuple[Callable, dict]:
    """``x -> (f, gradient)`` over ``x = (theta, beta[, log phi])`` (see the module): each PIRLS
    from the modes of the lowest point so far, ``inf`` where it fails; ``memo["state"]`` and
    ``memo["model"]`` the last point's."""
    nt, p = model.layout.ntheta, model.p
    memo: dict = {"state": None, "model": model, "u": u0, "best": np.inf}
    states = theta_states(model)

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        extra = x[nt + p :]
        if not within_bounds(model, extra):
            return np.inf, np.zeros_like(x)
        m = model_at(model, extra)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                st = pirls(m, x[:nt], x[nt : nt + p], memo["u"], ts=states(x[:nt]), tol=TIGHT_PIRLS)
                value = laplace_deviance(m, st)
                grad = laplace_gradient(m, st)
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf, np.zeros_like(x)
        if not (st.converged and np.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros_like(x)
        memo["state"], memo["model"] = st, m
        if value < memo["best"]:
            memo["best"], memo["u"] = value, st.u
        return float(value), grad

    return fg, memo


def fit_laplace_ml(model: GlmmModel, mustart: np.ndarray | None = None) -> tuple[GlmmOptimum, GlmmModel]:
    """The optimum (see the module) and the model at it (its family at the estimated ``phi``).

    ``model.fam`` estimates its parameter (:attr:`~mixedmodels.families.Family.estimates_parameter`)
    or takes the observed information, or both. A small Schur complement is factored with one
    BLAS thread, as :func:`~mixedmodels.glmm.engine.fit_glmm` does."""
    with single_threaded_blas(one_blas_thread(model)):
        return _fit_laplace_ml(model, mustart)


def _fit_laplace_ml(model: GlmmModel, mustart: np.ndarray | None) -> tuple[GlmmOptimum, GlmmModel]:
    if model.aux is not None:
        start, extra = _auxiliary_start(model, mustart)
    else:
        start = model.with_family(_starting_family(model, mustart))
        extra = estimated_log_parameter(start.fam).tolist() if model.fam.estimates_parameter else []
        _check_start(start.fam, extra)
    glm, beta0 = glm_start(start, mustart)
    stage1, st1 = stage_one(start, beta0)
    if model.aux is not None:
        extra = _auxiliary_given_means(model, st1.mu, np.asarray(extra, dtype=float))
    x0 = np.concatenate([stage1.theta, st1.beta, extra])
    fitted = model if len(extra) else start
    return _optimum_from(fitted, x0, st1, glm, stage1)


def _optimum_from(
    fitted: GlmmModel, x0: np.ndarray, st1: PirlsState, glm, stage1: OptSummary
) -> tuple[GlmmOptimum, GlmmModel]:
    """The optimum of the criterion for ``fitted`` (its family estimating its parameter or at its
    given value) by the steps from ``x0``, PIRLS starting from the modes ``st1.u``; its ``vcov``."""
    lower = ml_lower(fitted)
    fg, memo = laplace_ml_function(fitted, st1.u)
    many = _batched(fitted, memo, st1.mu)
    opt = _scaled_minimize(fg, x0, lower, model_ftol(fitted), many, auxiliary_scales(fitted))
    if model_ftol(fitted) is not None:
        opt = _polished(fitted, fg, opt, lower, many)
    fmin, gradient = fg(opt.theta)
    state, at = memo["state"], memo["model"]
    if state is None:
        raise np.linalg.LinAlgError("PIRLS found no conditional mode at the optimum")
    opt = replace(opt, fmin=fmin)
    H, V, notes = ml_vcov(fitted, opt.theta, state.u, _stencil_gradients(fitted, opt.theta, state))
    return GlmmOptimum(opt, state, fmin, V, glm, stage1, H, notes, gradient), at


SAME_COVARIANCE = 0.1  # singular_restart: a first stage this close (relative) adds nothing


def singular_restart(at: GlmmModel, optimum: GlmmOptimum) -> tuple[GlmmOptimum, GlmmModel] | None:
    """The optimum reached from a second start where the first optimum is singular (see the
    module), and the model there; None where no second start is tried: the optimum is not
    singular (neither lme4's ``isSingular`` nor a ``theta`` entry on its bound), the fit
    estimates no parameters after ``(theta, beta)`` (the first stage there would be the first's),
    or the first stage at the estimated parameters ends at the optimum's covariances (within
    :data:`SAME_COVARIANCE`, :func:`same_covariances`: a truly singular fit costs that first
    stage only).

    The first stage ran at the starting ``phi``, the GLM's, which takes in the random effects'
    variation (a Gaussian's variance: several times the residual one); its ``theta`` can then be
    singular and the steps end at a singular local optimum, a Karush-Kuhn-Tucker point whose
    gradient points out of the bound, below an interior maximum (sleepstudy's ``(Days | Subject)``
    with the log link: logLik -889.92 against -876.41). The second start is the first stage at
    the estimated parameters ``at`` holds, from :func:`spread_start` (from lme4's identity
    templates, a standard deviation of 1 on the link scale, its steps end singular there too:
    the first stage's criterion has its own singular local optima)."""
    nt, p = at.layout.ntheta, at.p
    x = np.asarray(optimum.opt.theta, dtype=float)
    theta = x[:nt]
    boundary = at.layout.singular(theta) or bool(np.any(theta <= at.layout.lower()))
    if len(x) == nt + p or not boundary:
        return None
    held = model_at(at, x[nt + p :])
    try:
        stage1, st1 = stage_one(held, x[nt : nt + p], spread_start(held, x[nt : nt + p]))
    except (np.linalg.LinAlgError, IrlsError):
        return None
    if same_covariances(at.layout, stage1.theta, theta):
        return None
    x0 = np.concatenate([stage1.theta, st1.beta, x[nt + p :]])
    try:
        return _optimum_from(at, x0, st1, optimum.glm, stage1)
    except np.linalg.LinAlgError:
        return None


def spread_start(model: GlmmModel, beta: np.ndarray) -> np.ndarray | None:
    """lme4's identity templates with each scale (a template's diagonal entry) at the spread of
    the fixed part's working residuals ``(y - mu) / mu_eta`` on the link scale (their weighted
    root mean square, ``mu`` from ``X beta``; at most 1, lme4's) over its covariate's scale
    (:func:`~mixedmodels.numerics.convergence.theta_scales`): random effects the size of what
    the fixed part leaves, in the link's units; None where that spread is not positive and
    finite (lme4's start then). (Counts with many zeros spread by more than 1 on the log scale:
    a larger start only costs the steps more evaluations.)"""
    layout = model.layout
    eta = model.X @ beta + model.offset
    with np.errstate(all="ignore"):
        mu = model.fam.linkinv(eta)
        r = (model.y - mu) / model.fam.mu_eta(eta)
        w = model.weights
        spread = float(np.sqrt(np.sum(w * r * r) / np.sum(w)))
    if not (np.isfinite(spread) and spread > 0):
        return None
    start = layout.start()
    scales = layout.lower() == 0.0
    start[scales] *= min(spread, 1.0) / theta_scales(layout, model.reterms)[scales]
    return start


def same_covariances(layout, a: np.ndarray, b: np.ndarray, rtol: float = SAME_COVARIANCE) -> bool:
    """Whether every term's covariance ``T T'`` at ``theta = a`` is within ``rtol`` of that at
    ``b`` (Frobenius norms, relative to the larger; free of the link scale's units)."""
    for Ta, Tb in zip(layout.templates(a), layout.templates(b)):
        Sa, Sb = Ta @ Ta.T, Tb @ Tb.T
        size = max(np.linalg.norm(Sa), np.linalg.norm(Sb))
        if np.linalg.norm(Sa - Sb) > rtol * size:
            return False
    return True


def auxiliary_scales(model: GlmmModel) -> np.ndarray:
    """The scale of each parameter's column: 1 for ``theta``, ``beta`` and the one ``log phi``;
    for a dispersion or zero-inflation model's coefficient, the largest absolute value of its
    column where that exceeds 1 (a covariate in large units, whose coefficient is tiny)."""
    scales = [np.ones(model.layout.ntheta + model.p)]
    if model.aux is not None:
        for X in model.aux.designs(model.fam):
            scales.append(np.ones(1) if X is None else np.maximum(1.0, np.max(np.abs(X), axis=0)))
    return np.concatenate(scales)


def _scaled_minimize(
    fg: Callable, x0: np.ndarray, lower: np.ndarray, ftol: float | None, many, scales: np.ndarray
) -> OptSummary:
    """:func:`minimize_laplace` over ``x * scales`` (``x`` itself where every scale is 1), the
    optimum returned on the scale of ``x`` (its Hessian ``S H S``, its gradient ``S g``). The steps'
    starting Hessian is made of differences of a fixed relative size, too large for the
    coefficient of a covariate in large units (its ``log phi`` or ``zeta`` leaves the domain): on
    the scaled coordinates the differences are of the linear predictors' size."""
    if np.all(scales == 1.0):
        return minimize_laplace(fg, x0, lower, ftol=ftol, many=many)

    def fg_scaled(y: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(y / scales)
        return f, g / scales

    many_scaled = None
    if many is not None:

        def many_scaled(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f, G = many(Y / scales)
            return f, G / scales

    opt = minimize_laplace(fg_scaled, x0 * scales, lower * scales, ftol=ftol, many=many_scaled)
    hessian = None if opt.hessian is None else opt.hessian * np.outer(scales, scales)
    gradient = None if opt.gradient is None else opt.gradient * scales
    return replace(opt, initial=x0, theta=opt.theta / scales, hessian=hessian, gradient=gradient)


def runaway_zero_coefficients(model: GlmmModel, x: np.ndarray, gradient: np.ndarray | None) -> list[int]:
    """Positions in ``x`` of the zero-inflation coefficients running to -infinity: wherever the
    coefficient's column is not 0, the structural-zero probability is below :data:`RUNAWAY_PI`,
    and the criterion still falls as it decreases (no excess zeros there: its estimate is
    -infinity, where glmmTMB's optimizer also stops at some large negative value)."""
    aux = model.aux
    if aux is None or aux.zi is None or gradient is None:
        return []
    start = model.layout.ntheta + model.p + aux.disp_size(model.fam)
    pi = special.expit(aux.zi.X @ x[start : start + aux.zi.size])
    out = []
    for j in range(aux.zi.size):
        rows = aux.zi.X[:, j] != 0
        if rows.any() and np.max(pi[rows]) < RUNAWAY_PI and gradient[start + j] > 0:
            out.append(start + j)
    return out


def runaway_zero_note(model: GlmmModel, optimum: GlmmOptimum) -> str | None:
    """The fit's note naming the zero-inflation coefficients that run to -infinity
    (:func:`runaway_zero_coefficients`), or None."""
    x = np.asarray(optimum.opt.theta, dtype=float)
    runaway = runaway_zero_coefficients(model, x, optimum.gradient)
    if not runaway:
        return None
    names = extra_names(model)
    start = model.layout.ntheta + model.p
    shown = ", ".join(f"{names[j - start]} = {x[j]:.4g}" for j in runaway)
    return (
        f"zero-inflation coefficients at -infinity ({shown}): the structural-zero probability is "
        f"below {RUNAWAY_PI:g} wherever they apply (no excess zeros there); their estimates are "
        "where the steps stopped and their standard errors are not meaningful (glmmTMB reports "
        "such a coefficient at some large negative value with a huge standard error): drop the "
        "term from ziformula, or accept the probability 0"
    )


def _polished(model: GlmmModel, fg: Callable, opt: OptSummary, lower: np.ndarray, many) -> OptSummary:
    """The steps continued to their own tolerance (1e-13) from an optimum reached at
    :func:`model_ftol`'s, the zero-inflation coefficients that run to -infinity
    (:func:`runaway_zero_coefficients`) held where they stopped (as lower bounds the gradient
    pushes against); the first optimum where this finds none lower."""
    x = np.asarray(opt.theta, dtype=float)
    gradient = opt.gradient if opt.gradient is not None else fg(x)[1]
    held = lower.copy()
    runaway = runaway_zero_coefficients(model, x, gradient)
    held[runaway] = x[runaway]
    polish = minimize_laplace(fg, x, held, H0=opt.hessian, many=many)
    if not (np.isfinite(polish.fmin) and polish.fmin <= opt.fmin):
        return opt
    return replace(polish, initial=opt.initial, feval=opt.feval + polish.feval)


def _auxiliary_given_means(model: GlmmModel, mu: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """The auxiliary coefficients that maximize the likelihood with the conditional means held at
    ``mu`` (the first stage's): a few quasi-Newton steps over a handful of coefficients, each
    evaluation elementwise (no PIRLS), from ``extra``; ``extra`` itself where they fail. For a
    hurdle model the zero model's are its estimates (the zeros do not depend on ``mu``)."""
    aux = model.aux
    assert aux is not None
    y, w = model.y, model.weights
    eta = model.fam.linkfun(mu)

    def fg(b: np.ndarray) -> tuple[float, np.ndarray]:
        if not within_bounds(model, b):
            return np.inf, np.zeros_like(b)
        fam = aux.family_at(model.fam, b)
        with np.errstate(all="ignore"):
            value = fam.aic(y, model.trials, mu, w, 0.0)
            terms = fam.auxiliary_eta_derivatives(y, w, eta, mu)
        grad = [[float(np.sum(t[0]))] if X is None else X.T @ t[0] for t, X in zip(terms, aux.designs(fam))]
        return float(value), np.concatenate(grad)

    res = minimize_gradient(fg, extra, np.full(len(extra), -np.inf))
    better = np.isfinite(res.fun[0]) and res.fun[0] < fg(extra)[0]
    return res.x[0] if better else extra


def _auxiliary_start(model: GlmmModel, mustart: np.ndarray | None) -> tuple[GlmmModel, np.ndarray]:
    """For a model with dispersion or zero-inflation models: the model at the starting auxiliary
    coefficients and those coefficients. The zero model starts at a constant probability (the
    family's :meth:`~mixedmodels.families.zero_inflated.ZeroAugmented.zero_start`), the
    dispersion at the conditional family's moments at the means of the GLM fitted with ``phi = 1``
    and that zero model, each by least squares on its model's matrix."""
    aux, fam = model.aux, model.fam
    assert aux is not None
    pi0 = 0.5 if aux.zi is None else zero_augmented(fam.conditional, 0.0).zero_start(model.y, model.weights)
    estimates = fam.conditional.estimates_parameter
    unit = model_at(model, aux.start(fam, 0.0 if estimates else None, pi0)).fam
    log_phi = None
    if estimates:
        try:
            mu = irls(model.X, model.y, unit, model.weights, model.offset, mustart, warn=False).mu
        except IrlsError:
            mu = unit.initialize(model.y, model.weights).mustart
        log_phi = float(np.log(unit.parameter_start(model.y, mu, model.weights)))
        _check_start(fam, [log_phi])
    extra = aux.start(fam, log_phi, pi0)
    return model_at(model, extra), extra


def _check_start(fam: Family, extra: list[float]) -> None:
    """Refuse a start outside :data:`PARAMETER_BOUNDS` (the criterion is infinite there), naming it."""
    lo, hi = PARAMETER_BOUNDS
    if extra and not np.log(lo) <= extra[0] <= np.log(hi):
        raise ValueError(
            f"the {fam.name} family's {fam.parameter_name} starts at {np.exp(extra[0]):.4g}, outside "
            f"[{lo:g}, {hi:g}], where its estimate is kept: rescale the response (a Gaussian's "
            "variance is in the response's units squared), or give the parameter a value"
        )


def refit_laplace_ml(
    model: GlmmModel, x0: np.ndarray, u0: np.ndarray, H0: np.ndarray | None = None
) -> tuple[OptSummary, np.ndarray | None]:
    """The optimum of :func:`fit_laplace_ml`'s criterion for ``model`` (a new response, the
    family at any value of its parameter) from ``x0 = (theta, beta[, log phi])`` and the modes
    ``u0`` (a warm start: a replicate from the estimate), ``H0`` the Hessian to start the
    quasi-Newton steps from; and the conditional modes there (None where PIRLS failed there)."""
    fg, memo = laplace_ml_function(model, u0)
    opt = minimize_laplace(fg, x0, ml_lower(model), H0=H0, ftol=model_ftol(model))
    fmin, _ = fg(opt.theta)
    state = memo["state"]
    return replace(opt, fmin=fmin), None if state is None or not np.isfinite(fmin) else state.u


def _batched(model: GlmmModel, memo: dict, mu: np.ndarray) -> Callable | None:
    """Points (m, d) -> the criterion and its gradients at once
    (:class:`~mixedmodels.glmm.laplace_ml_batch.MlBatch`), each PIRLS from the modes of the
    lowest point so far (``memo``, :func:`laplace_ml_function`'s); None where the model is not
    batched (:meth:`~mixedmodels.glmm.laplace_ml_batch.MlBatch.suitable`)."""
    if not MlBatch.suitable(model, mu):
        return None
    batch = MlBatch(model)
    shape = (batch.base.n1, batch.base.k)

    def many(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Y = np.tile(model.y, (len(X), 1))
        u0 = np.tile(np.asarray(memo["u"]).reshape(1, *shape), (len(X), 1, 1))
        with np.errstate(all="ignore"):
            f, g, _ = batch.laplace(X, Y, u0)
        inside = np.array([within_bounds(model, x[model.layout.ntheta + model.p :]) for x in X])
        f[~inside], g[~inside] = np.inf, 0.0
        return f, g

    return many


def _stencil_gradients(model: GlmmModel, x: np.ndarray, state: PirlsState) -> np.ndarray | None:
    """The gradients at :func:`ml_stencil`'s points in one batched evaluation for a model with a
    single random-effects term whose family takes a parameter array
    (:class:`~mixedmodels.glmm.laplace_ml_batch.MlBatch`), each PIRLS from the optimum's modes;
    None otherwise (:func:`ml_vcov` evaluates them one by one)."""
    if not MlBatch.suitable(model, state.mu):
        return None
    batch = MlBatch(model)
    points = ml_stencil(model, x)[0]
    Y = np.broadcast_to(model.y, (len(points), model.n))
    u0 = np.broadcast_to(
        state.u.reshape(1, batch.base.n1, batch.base.k), (len(points), batch.base.n1, batch.base.k)
    )
    with np.errstate(all="ignore"):
        return batch.laplace(points, np.array(Y), np.array(u0))[1]


def ml_stencil(model: GlmmModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points where :func:`ml_vcov` differences the gradient, and the steps."""
    nt, p = model.layout.ntheta, model.p
    columns = auxiliary_scales(model)[nt + p :]  # a covariate's coefficient: its column's units
    extra = np.ones(len(x) - nt - p) if len(columns) != len(x) - nt - p else columns
    scale = np.concatenate([parameter_scales(model)[: nt + p], extra])
    return hessian_stencil(x, scale=scale, richardson=False)


def ml_vcov(
    model: GlmmModel, x: np.ndarray, u: np.ndarray, gradients: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The Hessian over ``x`` from the gradient, ``vcov(beta)`` (its ``beta`` block of ``2 H^{-1}``)
    and the notes: where the Hessian is not usable, the fixed effects' information at fixed
    ``theta`` and ``phi``, named. ``gradients``: those at the points of :func:`ml_stencil`,
    evaluated elsewhere (many replicates' at once); evaluated here when None."""
    nt, p = model.layout.ntheta, model.p
    points, h = ml_stencil(model, x)
    if gradients is None:
        fg, _ = laplace_ml_function(model, u)
        gradients = np.array([fg(pt)[1] for pt in points])
    gh = hessian_from_gradients(gradients, h)
    H = gh.hessian
    problem = None
    if not (gh.asymmetry <= FALLBACK_TOL and gh.step_disagreement <= FALLBACK_TOL):
        problem = "is not consistent at two steps"
    else:
        try:
            V = 2.0 * np.linalg.inv(H)
            V = (V + V.T)[nt : nt + p, nt : nt + p] / 2.0
            if not np.linalg.eigvalsh(V)[0] > 0:
                problem = "gives a vcov(beta) that is not positive definite"
        except np.linalg.LinAlgError:
            problem = "is singular"
    if problem is None:
        return H, V, ()
    at = model_at(model, x[nt + p :])
    V, note = fallback_vcov(at, x[: nt + p], u, f"the Hessian of the Laplace criterion {problem}")
    return H, V, (note,)
