"""The GLMM engine: from a :class:`~mixedmodels.pirls.GlmmModel` to its optimum, as lme4's
``optimizeGlmer`` in two stages, and the finite-difference Hessian behind ``vcov``.

1. The GLM fit (``theta = 0``, :func:`~mixedmodels.irls.irls`) gives starting ``beta``.
2. Stage 1 (lme4's nAGQ = 0): the Laplace criterion over ``theta`` alone, ``(beta, u)`` found
   together by PIRLS at each ``theta``.
3. Stage 2 (nAGQ >= 1): the criterion over ``(theta, beta)`` from stage 1's optimum, PIRLS for
   ``u`` at each point: Laplace's (nAGQ = 1) or adaptive Gauss-Hermite quadrature's.

The Laplace criterion (both stages) is minimized by quasi-Newton steps with its gradient in
closed form (:mod:`mixedmodels.laplace_gradient`, :mod:`mixedmodels.quasi_newton`), to the
optimum itself; where those steps do not converge, and for quadrature, by BOBYQA as lme4 does,
followed by Newton steps on finite differences (:func:`mixedmodels.optimize.polish`) to the
exact optimum where BOBYQA stops short.

The covariance of ``beta`` is lme4's: ``2 H^{-1}`` restricted to ``beta``, ``H`` the Hessian of
the criterion over ``(theta, beta)`` by central differences (nAGQ >= 1); ``(R_X'R_X)^{-1}`` of
the PIRLS factor for nAGQ = 0. For the Laplace criterion ``H`` is that of the criterion as lme4
evaluates it (:func:`~mixedmodels.pirls.lme4_laplace`: PIRLS from stage 1's linear predictor,
stopped at lme4's tolerance), whose curvature differs from the converged criterion's by up to a
few percent: the standard errors are then lme4's. The estimates themselves are the converged
criterion's optimum.

Cost: every evaluation warm-starts PIRLS from an earlier mode, the points of a finite-difference
stencil that move only ``beta`` share their ``theta`` set-up (:func:`theta_states`), the Hessian's
lme4-style evaluations share their start (:func:`~mixedmodels.pirls.lme4_start`), and a model
whose Schur complement is small is fitted with one BLAS thread (:mod:`mixedmodels.blas`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .blas import single_threaded_blas
from .irls import IrlsError, IrlsFit, irls
from .laplace_gradient import canonical, laplace_gradient
from .optimize import BOUNDARY_TOL, OptSummary, minimize_theta, polish, snap_to_boundary
from .pirls import (
    GlmmModel,
    PirlsState,
    ThetaState,
    agq_deviance,
    laplace_deviance,
    lme4_laplace,
    lme4_start,
    pirls,
    vcov_joint,
)
from .pirls_batch import SingleTermBatch
from .quasi_newton import minimize_gradient

KEEP_THETA_STATES = 16  # a Hessian stencil's distinct theta, for a few theta entries
SMALL_SCHUR = 1000  # a Schur complement of fewer columns is factored faster by one BLAS thread
TIGHT_PIRLS = 1e-14  # PIRLS tolerance where the mode must be exact: gradients, differences

__all__ = [
    "GlmmOptimum",
    "criterion_function",
    "fit_glmm",
    "hessian",
    "laplace_function",
    "laplace_vcov",
    "stage_one",
    "theta_states",
]


@dataclass(frozen=True)
class GlmmOptimum:
    """The optimum: the optimizer's summary, the mode there, the criterion and ``vcov(beta)``."""

    opt: OptSummary
    state: PirlsState
    criterion: float
    vcov: np.ndarray
    glm: IrlsFit | None
    stage1: OptSummary
    hessian: np.ndarray | None


def theta_states(model: GlmmModel) -> Callable[[np.ndarray], ThetaState]:
    """``theta -> ThetaState``, the last few kept: the points of a finite-difference stencil that
    move only ``beta`` share theirs."""
    kept: dict = {}

    def state(theta: np.ndarray) -> ThetaState:
        key = np.asarray(theta, dtype=float).tobytes()
        if key not in kept:
            if len(kept) >= KEEP_THETA_STATES:
                del kept[next(iter(kept))]
            kept[key] = ThetaState(model, theta)
        return kept[key]

    return state


def criterion_function(model: GlmmModel, nagq: int, beta0: np.ndarray) -> tuple[Callable, dict]:
    """``x -> criterion``: ``x = theta`` (nagq = 0, beta inside PIRLS) or ``(theta, beta)``.

    The last mode is kept (``memo["state"]``) and starts the next PIRLS.
    """
    nt = model.layout.ntheta
    memo: dict = {"state": None, "beta": np.asarray(beta0, dtype=float)}
    states = theta_states(model)
    if nagq > 1:
        nodes, weights = np.polynomial.hermite_e.hermegauss(nagq)

    def fn(x: np.ndarray) -> float:
        last = memo["state"]
        u0 = None if last is None else last.u
        try:
            if nagq == 0:
                beta = memo["beta"] if last is None else last.beta
                st = pirls(model, x, beta, u0, joint=True, ts=states(x))
            else:
                st = pirls(model, x[:nt], x[nt:], u0, ts=states(x[:nt]))
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf
        value = laplace_deviance(model, st) if nagq <= 1 else agq_deviance(model, st, nodes, weights)
        if not np.isfinite(value):
            return np.inf
        memo["state"] = st
        return float(value)

    return fn, memo


def _gradient_tol(model: GlmmModel) -> float:
    """PIRLS's tolerance for a mode the gradient is taken at: Fisher scoring is Newton's method
    for a canonical link (the last step squares the error, 1e-10 leaves none that counts), but
    only linear for another, which needs the tight tolerance."""
    return 1e-10 if canonical(model.fam) else TIGHT_PIRLS


def laplace_function(
    model: GlmmModel, joint: bool, beta0: np.ndarray, u0: np.ndarray | None
) -> tuple[Callable, dict]:
    """``x -> (criterion, gradient)`` of the Laplace criterion (:mod:`mixedmodels.laplace_gradient`):
    over ``x = (theta, beta)``, or, ``joint``, over ``x = theta`` at the joint mode of ``(u, beta)``
    (lme4's nAGQ = 0); ``inf`` where PIRLS fails or does not converge. Each PIRLS starts from
    the mode of the lowest point so far (a trial far off cannot spoil the next start); the last
    mode is kept (``memo["state"]``)."""
    nt = model.layout.ntheta
    memo: dict = {"state": None, "u": u0, "beta": np.asarray(beta0, dtype=float), "best": np.inf}
    states = theta_states(model)

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = x[:nt]
        beta = memo["beta"] if joint else x[nt:]
        try:  # a trial point far off may overflow: its value is then inf, and the steps shorten
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                st = pirls(
                    model, theta, beta, memo["u"], joint=joint, ts=states(theta), tol=_gradient_tol(model)
                )
                value = laplace_deviance(model, st)
                grad = laplace_gradient(model, st)  # needs the mode's Hessian positive definite
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf, np.zeros_like(x)
        if not (st.converged and np.isfinite(value)):
            return np.inf, np.zeros_like(x)
        memo["state"] = st
        if value < memo["best"]:
            memo["best"], memo["u"] = value, st.u
            if joint:
                memo["beta"] = st.beta
        return float(value), grad

    return fg, memo


def hessian(
    fn_many: Callable[[np.ndarray], np.ndarray], x: np.ndarray, f0: float, delta: float = 1e-4
) -> np.ndarray:
    """Central-difference Hessian at ``x`` (steps ``delta``, lme4's ``deriv12``): ``fn_many``
    evaluates the rows of a (points, d) array, here every point of the stencil in one call,
    ``x +- delta e_i`` and ``x +- delta e_i +- delta e_j`` for ``j < i``."""
    d = len(x)
    eye = delta * np.eye(d)
    first, second = np.tril_indices(d, -1)
    signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    pairs = x + signs[None, :, :1] * eye[first][:, None, :] + signs[None, :, 1:] * eye[second][:, None, :]
    points = np.concatenate([x + eye, x - eye, pairs.reshape(-1, d)])
    values = np.asarray(fn_many(points), dtype=float)
    fp, fm, fpairs = values[:d], values[d : 2 * d], values[2 * d :].reshape(-1, 4)
    H = np.diag((fp - 2 * f0 + fm) / delta**2)
    H[first, second] = H[second, first] = (fpairs @ np.array([1.0, -1.0, -1.0, 1.0])) / (4 * delta**2)
    return H


def _one_by_one(fn: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda points: np.array([fn(p) for p in points])


def fit_glmm(model: GlmmModel, nagq: int = 1, mustart: np.ndarray | None = None) -> GlmmOptimum:
    """The optimum of the model's criterion (see the module)."""
    with single_threaded_blas(model.q - model.reterms[0].q + model.p < SMALL_SCHUR):
        return _fit_glmm(model, nagq, mustart)


def _fit_glmm(model: GlmmModel, nagq: int, mustart: np.ndarray | None) -> GlmmOptimum:
    layout = model.layout
    nt = layout.ntheta
    glm, beta0 = _start(model, mustart)
    stage1, st1 = stage_one(model, beta0)
    if nagq == 0:
        return GlmmOptimum(stage1, st1, stage1.fmin, vcov_joint(st1), glm, stage1, None)
    fn, memo = criterion_function(model, nagq, st1.beta)
    memo["state"] = st1
    x0 = np.concatenate([stage1.theta, st1.beta])
    lower = np.concatenate([layout.lower(), np.full(model.p, -np.inf)])
    opt = (
        _minimize_laplace(_stage2_function(model, st1), x0, lower, _stage2_hessian(stage1, st1))
        if nagq == 1
        else None
    )
    if opt is None or not opt.converged:  # BOBYQA, then Newton steps on differences
        se = np.sqrt(np.diag(vcov_joint(st1)))
        step = np.concatenate([np.maximum(0.1 * np.abs(stage1.theta), 0.05), np.maximum(0.5 * se, 1e-3)])
        opt = polish(fn, minimize_theta(fn, x0, lower, initial_step=step), lower)
    fmin = fn(opt.theta)
    state = memo["state"]
    if nagq == 1:  # lme4's vcov: the Hessian of the criterion as lme4 evaluates it
        V, H = laplace_vcov(model, opt.theta, st1.eta, state.u)
        return GlmmOptimum(opt, state, fmin, V, glm, stage1, H)
    # quadrature: all points' modes from the optimum's, converged tightly (no noise in the differences)
    batch = SingleTermBatch(model)  # quadrature is for a single scalar term
    u_opt = state.u.reshape(1, batch.n1, 1)

    def agq_many(points: np.ndarray) -> np.ndarray:
        u0 = np.repeat(u_opt, len(points), axis=0)
        return batch.agq(points[:, :nt], points[:, nt:], u0, nagq, tol=TIGHT_PIRLS)

    H = hessian(agq_many, opt.theta, float(agq_many(opt.theta[None, :])[0]))
    return GlmmOptimum(opt, state, fmin, _vcov_from_hessian(model, H, opt.theta, state.u), glm, stage1, H)


def stage_one(
    model: GlmmModel, beta0: np.ndarray, start: np.ndarray | None = None, H0: np.ndarray | None = None
) -> tuple[OptSummary, PirlsState]:
    """Stage 1 (the module's step 2): the optimum over ``theta`` of the Laplace criterion at the
    joint mode of ``(u, beta)``, by quasi-Newton steps from ``start`` (the layout's start by
    default; ``H0`` a starting Hessian), derivative-free from the layout's start where those do
    not converge, as lme4; and the joint mode there."""
    layout = model.layout
    fg0, memo0 = laplace_function(model, True, beta0, None)
    stage1 = _minimize_laplace(fg0, layout.start() if start is None else start, layout.lower(), H0)
    if not stage1.converged:
        stage1 = minimize_theta(criterion_function(model, 0, beta0)[0], layout.start(), layout.lower())
    fg0(stage1.theta)
    state = memo0["state"]
    if state is None:  # the tight PIRLS failed at the optimum: lme4's tolerance, as the search used
        fn, memo = criterion_function(model, 0, beta0)
        fn(stage1.theta)
        state = memo["state"]
    if state is None:
        raise np.linalg.LinAlgError(
            "PIRLS found no conditional mode at the first stage's optimum (theta = "
            f"{np.round(stage1.theta, 4).tolist()}): the fixed effects may be separated or the "
            "link may not suit the data"
        )
    return stage1, state


def laplace_vcov(
    model: GlmmModel, x: np.ndarray, eta0: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """lme4's ``vcov(beta)`` of a Laplace fit at its optimum ``x = (theta, beta)`` and the Hessian
    behind it: of the criterion as lme4 evaluates it from stage 1's linear predictor ``eta0``
    (``u``: the modes at the optimum, for the fallback when that Hessian is not usable)."""
    nt = model.layout.ntheta
    H = hessian(_lme4_laplace_many(model, eta0), x, lme4_laplace(model, x[:nt], x[nt:], eta0))
    return _vcov_from_hessian(model, H, x, u), H


def _vcov_from_hessian(model: GlmmModel, H: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``2 H^{-1}`` restricted to ``beta``; where it is not positive definite, that of the joint
    PIRLS system at the optimum."""
    nt = model.layout.ntheta
    try:
        Hinv = np.linalg.inv(H)
        V = (Hinv + Hinv.T)[nt:, nt:]
        if np.any(np.linalg.eigvalsh(V) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        V = vcov_joint(pirls(model, x[:nt], x[nt:], u, joint=True))
    return V


def _stage2_hessian(stage1: OptSummary, st1: PirlsState) -> np.ndarray | None:
    """A start for stage 2's Hessian over ``(theta, beta)`` with no evaluations: stage 1's over
    ``theta`` and, over ``beta``, twice the penalized weighted system's ``R_X'R_X`` at its mode
    (the Hessian of the penalized deviance over ``beta`` there); none across. The steps' updates
    supply the rest."""
    if stage1.hessian is None:
        return None
    RXt = st1.factor.rx_lower()
    nt = len(stage1.theta)
    H = np.zeros((nt + len(RXt), nt + len(RXt)))
    H[:nt, :nt] = stage1.hessian
    H[nt:, nt:] = 2.0 * RXt @ RXt.T
    return H


def _stage2_function(model: GlmmModel, st1: PirlsState) -> Callable:
    """Stage 2's ``x -> (criterion, gradient)``: of a single random-effects term by the batched
    PIRLS with a batch of one (less work per step), else :func:`laplace_function`."""
    if len(model.reterms) != 1:
        return laplace_function(model, False, st1.beta, st1.u)[0]
    batch = SingleTermBatch(model)
    nt = model.layout.ntheta
    resp = batch.responses(model.y[None, :])
    memo = {"u": st1.u.reshape(1, batch.n1, batch.k), "best": np.inf}

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            f, g, md = batch.laplace(x[None, :nt], x[None, nt:], resp, memo["u"], tol=TIGHT_PIRLS)
        if not np.isfinite(f[0]):
            return np.inf, np.zeros_like(x)
        if f[0] < memo["best"]:
            memo["best"], memo["u"] = f[0], md.u
        return float(f[0]) + model.aic_constant, g[0]

    return fg


def _start(model: GlmmModel, mustart: np.ndarray | None) -> tuple[IrlsFit | None, np.ndarray]:
    """The GLM of the fixed part and its coefficients, the start of stage 1; where that GLM has no
    valid start (as R's ``glm`` has none for some links), the weighted least squares of the
    family's starting linear predictor on ``X`` instead (lme4 starts PIRLS from those means), or
    where that leaves the link's domain, their mean as the intercept."""
    try:
        glm = irls(model.X, model.y, model.fam, model.weights, model.offset, mustart, warn=False)
        return glm, glm.beta
    except IrlsError:
        mu = model.fam.initialize(model.y, model.weights).mustart if mustart is None else mustart
        sw = np.sqrt(model.weights)
        target = model.fam.linkfun(mu) - model.offset
        beta = np.linalg.lstsq(model.X * sw[:, None], target * sw, rcond=None)[0]
        ones = np.flatnonzero(np.all(model.X == 1.0, axis=0))
        if ones.size and np.any(model.offset + model.X @ beta <= 0):
            beta = np.zeros(model.p)  # the intercept alone: a linear predictor inside the domain
            beta[ones[0]] = np.average(target, weights=model.weights)
        return None, beta


def _lme4_laplace_many(model: GlmmModel, eta0: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Points ``(theta, beta)`` -> lme4's Laplace evaluations from ``eta0``: all at once for a
    single random-effects term (:class:`~mixedmodels.pirls_batch.SingleTermBatch`), else one by
    one sharing their start and their ``theta`` set-up."""
    nt = model.layout.ntheta
    if len(model.reterms) == 1:
        batch = SingleTermBatch(model)
        return lambda points: batch.lme4_laplace(points[:, :nt], points[:, nt:], eta0)
    states = theta_states(model)
    start = lme4_start(model, eta0)
    return _one_by_one(lambda x: lme4_laplace(model, x[:nt], x[nt:], eta0, ts=states(x[:nt]), start=start))


def _minimize_laplace(
    fg: Callable, x0: np.ndarray, lower: np.ndarray, H0: np.ndarray | None = None
) -> OptSummary:
    """Quasi-Newton steps with the Laplace criterion's gradient
    (:func:`~mixedmodels.quasi_newton.minimize_gradient`, from the Hessian ``H0`` when given),
    then lme4's boundary check. The Hessian reached is kept as ``opt.hessian``."""
    res = minimize_gradient(fg, x0, lower, H0=H0)
    x, fmin, extra = snap_to_boundary(lambda x: fg(x)[0], res.x[0], float(res.fun[0]), lower, BOUNDARY_TOL)
    ok = bool(res.converged[0])
    code = "CONVERGED" if ok else "NOT_CONVERGED"
    return OptSummary(
        x0, x, fmin, res.nfev + extra, code, ok and bool(np.isfinite(fmin)), hessian=res.hessian[0]
    )
