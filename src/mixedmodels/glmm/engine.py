"""The GLMM engine: from a :class:`~mixedmodels.glmm.pirls.GlmmModel` to its optimum, as lme4's
``optimizeGlmer`` in two stages, and the finite-difference Hessian behind ``vcov``.

1. The GLM fit (``theta = 0``, :func:`~mixedmodels.numerics.irls.irls`) gives starting ``beta``.
2. Stage 1 (lme4's nAGQ = 0): the Laplace criterion over ``theta`` alone, ``(beta, u)`` found
   together by PIRLS at each ``theta``.
3. Stage 2 (nAGQ >= 1): the criterion over ``(theta, beta)`` from stage 1's optimum, PIRLS for
   ``u`` at each point: Laplace's (nAGQ = 1) or adaptive Gauss-Hermite quadrature's.

The Laplace criterion (both stages) is minimized by quasi-Newton steps with its gradient in
closed form (:mod:`mixedmodels.glmm.laplace_gradient`, :mod:`mixedmodels.numerics.quasi_newton`), to the
optimum itself; where those steps do not converge, and for quadrature, by BOBYQA as lme4 does,
followed by Newton steps on finite differences (:func:`mixedmodels.numerics.optimize.polish`) to the
exact optimum where BOBYQA stops short.

The covariance of ``beta`` is lme4's: ``2 H^{-1}`` restricted to ``beta``, ``H`` the Hessian of
the criterion over ``(theta, beta)`` by central differences (nAGQ >= 1); ``(R_X'R_X)^{-1}`` of
the PIRLS factor for nAGQ = 0. For the Laplace criterion ``H`` is that of the criterion as lme4
evaluates it (:func:`~mixedmodels.glmm.pirls.lme4_laplace`: PIRLS from stage 1's linear predictor,
stopped at lme4's tolerance), whose curvature differs from the converged criterion's by up to a
few percent: the standard errors are then lme4's. The estimates themselves are the converged
criterion's optimum.

That Hessian is checked (:func:`checked_hessian`): its diagonal against the sums of two diagonal
entries that its off-diagonal points give and, where those disagree, against the diagonal at
twice the step (noise in the criterion shows as a disagreement), finite, and ``vcov`` positive
definite (lme4's rule).
Where it fails, the Hessian of the converged criterion from central differences of its
closed-form gradient (:func:`laplace_hessian`, Richardson-extrapolated, checked for symmetry and
two steps) stands in; where that fails too on a boundary fit, that Hessian over the parameters
off their bounds (a variance at 0 held there: glmmTMB's Hessian in its log-SD parameterisation,
whose row of a log SD near -inf vanishes, gives the same ``vcov``), and failing that the
fixed-theta information (as nAGQ = 0). Each replacement is named in a warning
(``GlmmOptimum.notes``). The quadrature criterion's Hessian is
checked the same way.

Cost: every evaluation warm-starts PIRLS from an earlier mode, the points of a finite-difference
stencil that move only ``beta`` share their ``theta`` set-up (:func:`theta_states`), the Hessian's
lme4-style evaluations share their start (:func:`~mixedmodels.glmm.pirls.lme4_start`), and a model
whose Schur complement is small is fitted with one BLAS thread (:mod:`mixedmodels.base.blas`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.blas import single_threaded_blas
from ..numerics.convergence import parameter_scales
from ..numerics.irls import IrlsError, IrlsFit, irls
from ..numerics.optimize import BOUNDARY_TOL, OptSummary, minimize_theta, polish, snap_to_boundary
from ..numerics.quasi_newton import minimize_gradient, minimize_gradient_batch
from .laplace_gradient import laplace_gradient
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

KEEP_THETA_STATES = 16  # a Hessian stencil's distinct theta, for a few theta entries
SMALL_SCHUR = 1000  # a Schur complement of fewer columns is factored faster by one BLAS thread
TIGHT_PIRLS = 1e-14  # PIRLS tolerance where the mode must be exact: gradients, differences
HESSIAN_STEP = 1e-4  # gradient_hessian's step, relative to max(1, |x_i|)
DERIV12_STEP = 1e-4  # the central differences' step of lme4's Hessian (its deriv12)
HESSIAN_TOL = 1e-3  # the largest relative asymmetry or disagreement of two steps a Hessian may show
FALLBACK_TOL = 1e-2  # the same for the gradient's Hessian standing in for lme4's (better than none)

__all__ = [
    "GlmmOptimum",
    "GradientHessian",
    "beta_block",
    "criterion_function",
    "fallback_vcov",
    "fit_glmm",
    "glm_start",
    "gradient_hessian",
    "hessian_problem",
    "laplace_function",
    "laplace_hessian",
    "laplace_vcov",
    "minimize_laplace",
    "optimum_at",
    "stage2_function",
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
    notes: tuple[str, ...] = ()  # what the user is told about the optimum (the vcov's Hessian)
    gradient: np.ndarray | None = None  # the criterion's gradient at the optimum, where known already


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
    return 1e-10 if model.fam.newton else TIGHT_PIRLS


def laplace_function(
    model: GlmmModel, joint: bool, beta0: np.ndarray, u0: np.ndarray | None
) -> tuple[Callable, dict]:
    """``x -> (criterion, gradient)`` of the Laplace criterion (:mod:`mixedmodels.glmm.laplace_gradient`):
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


def checked_hessian(
    fn_many: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    f0: float,
    delta: float = DERIV12_STEP,
    free: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The central-difference Hessian at ``x`` (steps ``delta``, lme4's ``deriv12``: ``fn_many``
    evaluates the rows of a (points, d) array, here every point of the stencil in one call,
    ``x +- delta e_i`` and ``x +- delta e_i +- delta e_j`` for ``j < i``) and, per coordinate,
    the relative disagreement of its diagonal with another estimate (``free``: the coordinates
    to judge, all by default; a variance parameter at its bound 0 has a kink there).

    First from the same points: the four points of a pair ``(i, j)`` sum to ``4 f0 + 2 delta^2
    (H_ii + H_jj)`` up to ``delta^4``; noise of size ``e`` in the criterion shows as a gap of
    ``e / delta^2`` between that and the diagonal. Where every gap is within
    :data:`HESSIAN_TOL` of the diagonal entries, that is the answer (no evaluation more). Else,
    since a gap can also be the pair's ``delta^4`` term where curvatures differ in scale, the
    diagonal is computed again at ``2 delta`` (``2 d`` more points): a smooth criterion's two
    agree to ``delta^2``, noise shows as ``e / delta^2``."""
    d = len(x)
    stencil = _stencil(x, delta)
    values = np.asarray(fn_many(stencil), dtype=float)
    H = _stencil_hessian(values, f0, d, delta)
    diagonal = np.diag(H)
    judged = np.ones(d, dtype=bool) if free is None else free
    pairs = _pair_disagreement(values[2 * d :], f0, diagonal, delta, judged)
    if np.all(pairs[judged] <= HESSIAN_TOL):
        return H, pairs
    wide = 2.0 * delta * np.eye(d)
    far = np.asarray(fn_many(np.concatenate([x + wide, x - wide])), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        wide_diagonal = (far[:d] - 2 * f0 + far[d:]) / (2.0 * delta) ** 2
        disagreement = np.abs(diagonal - wide_diagonal) / np.abs(diagonal)
    return H, np.where(np.isnan(disagreement), np.inf, disagreement)


def _pair_disagreement(
    pair_values: np.ndarray, f0: float, diagonal: np.ndarray, delta: float, judged: np.ndarray
) -> np.ndarray:
    """Per coordinate: the largest gap between a pair's ``H_ii + H_jj`` and the diagonal's, over
    its pairs with another judged coordinate, relative to ``|H_ii|`` (see :func:`checked_hessian`)."""
    d = len(diagonal)
    first, second = np.tril_indices(d, -1)
    out = np.zeros(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = (pair_values.reshape(-1, 4).sum(axis=1) - 4.0 * f0) / (2.0 * delta**2)
        gaps = np.abs(sums - diagonal[first] - diagonal[second])
        gaps[~(judged[first] & judged[second])] = 0.0
        np.maximum.at(out, first, gaps)
        np.maximum.at(out, second, gaps)
        out = out / np.abs(diagonal)
    return np.where(np.isnan(out), np.inf, out)


def _stencil(x: np.ndarray, delta: float) -> np.ndarray:
    """The points of :func:`checked_hessian`'s stencil: ``x +- delta e_i``, then the pairs."""
    d = len(x)
    eye = delta * np.eye(d)
    first, second = np.tril_indices(d, -1)
    signs = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    pairs = x + signs[None, :, :1] * eye[first][:, None, :] + signs[None, :, 1:] * eye[second][:, None, :]
    return np.concatenate([x + eye, x - eye, pairs.reshape(-1, d)])


def _stencil_hessian(values: np.ndarray, f0: float, d: int, delta: float) -> np.ndarray:
    """The central-difference Hessian from the criterion at :func:`_stencil`'s points."""
    first, second = np.tril_indices(d, -1)
    fp, fm, fpairs = values[:d], values[d : 2 * d], values[2 * d :].reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        H = np.diag((fp - 2 * f0 + fm) / delta**2)
        H[first, second] = H[second, first] = (fpairs @ np.array([1.0, -1.0, -1.0, 1.0])) / (4 * delta**2)
    return H


def _relative_disagreement(A: np.ndarray, B: np.ndarray) -> float:
    """``max |A_ij - B_ij| / sqrt(|A_ii A_jj|)`` (a floor for a zero diagonal); ``inf`` where
    either is not finite."""
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
        return np.inf
    diag = np.abs(np.diag(A))
    scale = np.maximum(np.sqrt(np.outer(diag, diag)), 1e-8 * max(float(np.max(diag, initial=0.0)), 1e-300))
    return float(np.max(np.abs(A - B) / scale, initial=0.0))


@dataclass(frozen=True)
class GradientHessian:
    """A Hessian from central differences of a closed-form gradient, with its checks.

    ``hessian`` is the Richardson extrapolation ``(4 H(h/2) - H(h)) / 3`` of the symmetrized
    differences at steps ``h`` and ``h/2``; ``asymmetry`` the largest ``|H_ij - H_ji|`` and
    ``step_disagreement`` the largest ``|H(h)_ij - H(h/2)_ij|``, both relative to
    ``sqrt(|H_ii H_jj|)``: the gradient is smooth and exact where both are small.
    """

    hessian: np.ndarray
    asymmetry: float
    step_disagreement: float

    @property
    def consistent(self) -> bool:
        """Whether symmetry and the two steps agree to :data:`HESSIAN_TOL`."""
        return bool(self.asymmetry <= HESSIAN_TOL and self.step_disagreement <= HESSIAN_TOL)

    @property
    def positive_definite(self) -> bool:
        """Whether the Hessian is finite and positive definite (a minimum's)."""
        H = self.hessian
        return bool(np.all(np.isfinite(H)) and len(H) > 0 and np.linalg.eigvalsh(H)[0] > 0)


def gradient_hessian(
    grad_many: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    step: float = HESSIAN_STEP,
    scale: np.ndarray | None = None,
    richardson: bool = True,
) -> GradientHessian:
    """The Hessian at ``x`` from central differences of the gradient (see
    :class:`GradientHessian`): ``grad_many`` maps a (points, d) array to the gradients at its
    rows, here the ``4 d`` points ``x +- h_i e_i``, ``x +- h_i e_i / 2`` in one call, with
    ``h_i = step * max(1, |x_i s_i|) / s_i``: relative steps on the parameters ``x s``
    (``scale``, 1 by default; a coefficient of a covariate in other units has its steps in
    those units). Without ``richardson`` only the ``2 d`` points ``x +- h_i e_i``: the symmetrized
    central differences, their error of order ``h^2`` (``step_disagreement`` then 0: not measured)."""
    points, h = hessian_stencil(x, step, scale, richardson)
    return hessian_from_gradients(np.asarray(grad_many(points), dtype=float), h)


def hessian_stencil(
    x: np.ndarray, step: float = HESSIAN_STEP, scale: np.ndarray | None = None, richardson: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The points of :func:`gradient_hessian` at ``x`` (``4 d``, or ``2 d`` without
    ``richardson``) and the steps ``h``."""
    x = np.asarray(x, dtype=float)
    s = np.ones(len(x)) if scale is None else np.asarray(scale, dtype=float)
    h = step * np.maximum(1.0, np.abs(x * s)) / s
    eye = np.diag(h)
    if not richardson:
        return np.concatenate([x + eye, x - eye]), h
    return np.concatenate([x + eye, x - eye, x + eye / 2, x - eye / 2]), h


def hessian_from_gradients(gradients: np.ndarray, h: np.ndarray) -> GradientHessian:
    """:func:`gradient_hessian` from the gradients at the points of :func:`hessian_stencil`
    (``2 d`` of them: central differences alone; ``4 d``: Richardson-extrapolated)."""
    d = len(h)
    if len(gradients) == 2 * d:
        g2 = gradients.reshape(2, d, d)
        raw2 = (g2[0] - g2[1]) / (2.0 * h[:, None])
        H2 = (raw2 + raw2.T) / 2.0
        return GradientHessian(H2, _relative_disagreement(H2, raw2), 0.0)
    g = gradients.reshape(4, d, d)
    coarse = (g[0] - g[1]) / (2.0 * h[:, None])  # row i: d grad / d x_i
    fine = (g[2] - g[3]) / h[:, None]
    raw = (4.0 * fine - coarse) / 3.0
    H = (raw + raw.T) / 2.0
    asym = _relative_disagreement(H, raw)
    steps = _relative_disagreement((fine + fine.T) / 2.0, (coarse + coarse.T) / 2.0)
    return GradientHessian(H, asym, steps)


def laplace_hessian(model: GlmmModel, x: np.ndarray, u: np.ndarray) -> GradientHessian:
    """The Hessian of the (converged) Laplace criterion over ``x = (theta, beta)`` from its
    closed-form gradient (:func:`gradient_hessian`, steps on the parameters scaled by their
    columns' scales, :func:`~mixedmodels.numerics.convergence.parameter_scales`), every PIRLS started
    from the modes ``u`` at ``x`` and converged tightly: all points at once for a single
    random-effects term, else one by one. A point where PIRLS fails gives a gradient of NaN (the
    checks then fail). A variance parameter within a step of its bound 0 makes a kink (the
    criterion depends on ``|theta|``): there the differences of its coordinate measure the kink,
    not a curvature."""
    nt = model.layout.ntheta
    if len(model.reterms) == 1:
        batch = SingleTermBatch(model)
        resp = batch.responses(model.y[None, :])
        u0 = np.asarray(u, dtype=float).reshape(1, batch.n1, batch.k)

        def grad_many(points: np.ndarray) -> np.ndarray:
            m = len(points)
            y = resp.take(np.zeros(m, dtype=int))
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                f, g, _ = batch.laplace(points[:, :nt], points[:, nt:], y, np.repeat(u0, m, axis=0))
            g[~np.isfinite(f)] = np.nan
            return g

    else:
        states = theta_states(model)

        def grad_one(p: np.ndarray) -> np.ndarray:
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    st = pirls(model, p[:nt], p[nt:], u, ts=states(p[:nt]), tol=TIGHT_PIRLS)
                    if st.converged:
                        return laplace_gradient(model, st)
            except (np.linalg.LinAlgError, FloatingPointError):
                pass
            return np.full(len(p), np.nan)

        def grad_many(points: np.ndarray) -> np.ndarray:
            return np.array([grad_one(p) for p in points])

    return gradient_hessian(grad_many, x, scale=parameter_scales(model))


def _one_by_one(fn: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda points: np.array([fn(p) for p in points])


def one_blas_thread(model: GlmmModel) -> bool:
    """Whether the model's Schur complement (the random effects past the first term's, and the
    fixed effects) is small enough to be factored faster by one BLAS thread."""
    return model.q - model.reterms[0].q + model.p < SMALL_SCHUR


def fit_glmm(model: GlmmModel, nagq: int = 1, mustart: np.ndarray | None = None) -> GlmmOptimum:
    """The optimum of the model's criterion (see the module)."""
    with single_threaded_blas(one_blas_thread(model)):
        return _fit_glmm(model, nagq, mustart)


def _fit_glmm(model: GlmmModel, nagq: int, mustart: np.ndarray | None) -> GlmmOptimum:
    layout = model.layout
    glm, beta0 = glm_start(model, mustart)
    stage1, st1 = stage_one(model, beta0)
    if nagq == 0:
        return GlmmOptimum(stage1, st1, stage1.fmin, vcov_joint(st1), glm, stage1, None)
    fn, memo = criterion_function(model, nagq, st1.beta)
    memo["state"] = st1
    x0 = np.concatenate([stage1.theta, st1.beta])
    lower = np.concatenate([layout.lower(), np.full(model.p, -np.inf)])
    opt = (
        minimize_laplace(stage2_function(model, st1), x0, lower, _stage2_hessian(stage1, st1))
        if nagq == 1
        else None
    )
    if opt is None or not opt.converged:  # BOBYQA, then Newton steps on differences
        se = np.sqrt(np.diag(vcov_joint(st1)))
        step = np.concatenate([np.maximum(0.1 * np.abs(stage1.theta), 0.05), np.maximum(0.5 * se, 1e-3)])
        opt = polish(fn, minimize_theta(fn, x0, lower, initial_step=step), lower)
    return optimum_at(model, nagq, opt, glm, stage1, st1, (fn, memo))


def optimum_at(
    model: GlmmModel,
    nagq: int,
    opt: OptSummary,
    glm: IrlsFit | None,
    stage1: OptSummary,
    st1: PirlsState,
    function: tuple[Callable, dict] | None = None,
) -> GlmmOptimum:
    """Stage 2's optimum ``opt`` (nagq >= 1) wrapped: the mode there, the criterion, ``vcov`` and
    the Hessian behind it. ``function``: the criterion and its memo, where made already."""
    nt = model.layout.ntheta
    fn, memo = criterion_function(model, nagq, st1.beta) if function is None else function
    if function is None:
        memo["state"] = st1
    fmin = fn(opt.theta)
    state = memo["state"]
    if nagq == 1:  # lme4's vcov: the Hessian of the criterion as lme4 evaluates it
        V, H, notes = _laplace_vcov(model, opt.theta, st1.eta, state.u)
        return GlmmOptimum(opt, state, fmin, V, glm, stage1, H, notes)
    free = _free(model, opt.theta)
    H, disagreement, gradient = agq_derivatives(model, nagq, opt.theta, state.u, free)
    problem = hessian_problem(H, disagreement, free, nt)
    if problem is None:
        return GlmmOptimum(opt, state, fmin, beta_block(H, nt), glm, stage1, H, gradient=gradient)
    what = f"the Hessian of the quadrature criterion over (theta, beta) {problem}"
    V, note = fallback_vcov(model, opt.theta, state.u, what)
    return GlmmOptimum(opt, state, fmin, V, glm, stage1, H, (note,), gradient)


def agq_derivatives(
    model: GlmmModel, nagq: int, x: np.ndarray, u: np.ndarray, free: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The quadrature criterion's Hessian at ``x = (theta, beta)`` (:func:`checked_hessian`,
    ``free`` as there), its disagreement, and the gradient from the same stencil (its first
    points are ``x +- delta e_i``). Every point's modes start from the optimum's ``u`` and are
    converged tightly (no noise in the differences)."""
    nt = model.layout.ntheta
    batch = SingleTermBatch(model)  # quadrature is for a single scalar term
    u_opt = np.asarray(u, dtype=float).reshape(1, batch.n1, 1)
    last: list[np.ndarray] = []

    def agq_many(points: np.ndarray) -> np.ndarray:
        u0 = np.repeat(u_opt, len(points), axis=0)
        values = batch.agq(points[:, :nt], points[:, nt:], u0, nagq, tol=TIGHT_PIRLS)
        if not last:
            last.append(values)  # the stencil's call (the next is the wider diagonal's, if any)
        return values

    f0 = float(agq_many(x[None, :])[0])
    last.clear()
    H, disagreement = checked_hessian(agq_many, x, f0, free=free)
    d = len(x)
    gradient = (last[0][:d] - last[0][d : 2 * d]) / (2.0 * DERIV12_STEP)
    return H, disagreement, gradient


def stage_one(
    model: GlmmModel, beta0: np.ndarray, start: np.ndarray | None = None, H0: np.ndarray | None = None
) -> tuple[OptSummary, PirlsState]:
    """Stage 1 (the module's step 2): the optimum over ``theta`` of the Laplace criterion at the
    joint mode of ``(u, beta)``, by quasi-Newton steps from ``start`` (the layout's start by
    default; ``H0`` a starting Hessian), derivative-free from the layout's start where those do
    not converge, as lme4; and the joint mode there."""
    layout = model.layout
    fg0, memo0 = laplace_function(model, True, beta0, None)
    stage1 = minimize_laplace(fg0, layout.start() if start is None else start, layout.lower(), H0)
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
    V, H, _ = _laplace_vcov(model, x, eta0, u)
    return V, H


def _laplace_vcov(
    model: GlmmModel, x: np.ndarray, eta0: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """:func:`laplace_vcov` and what to tell the user. lme4's Hessian is checked
    (:func:`hessian_problem`); where it is unusable, the Hessian of the converged criterion from
    its closed-form gradient (:func:`laplace_hessian`) replaces it if that one is usable; else
    the joint PIRLS system's covariance at the optimum (:func:`fallback_vcov`)."""
    nt = model.layout.ntheta
    f0 = lme4_laplace(model, x[:nt], x[nt:], eta0)
    free = _free(model, x)
    H, disagreement = checked_hessian(_lme4_laplace_many(model, eta0), x, f0, free=free)
    problem = hessian_problem(H, disagreement, free, nt)
    if problem is None:
        return beta_block(H, nt), H, ()
    what = f"the Hessian of the Laplace criterion as lme4 evaluates it {problem}"
    exact = laplace_hessian(model, x, u)
    steps = np.full(len(x), exact.step_disagreement if exact.asymmetry <= FALLBACK_TOL else np.inf)
    exact_problem = hessian_problem(exact.hessian, steps, _free(model, x), nt, FALLBACK_TOL)
    if exact_problem is None:
        note = f"{what}: standard errors from the Hessian of the converged criterion (from its gradient)"
        return beta_block(exact.hessian, nt), exact.hessian, (note,)
    what = f"{what}; the one from its gradient {exact_problem}"
    free = _free(model, x)
    if not free.all():  # a boundary fit: the variances at 0 held there
        nt_free = int(free[:nt].sum())
        block = exact.hessian[np.ix_(free, free)]
        if (
            hessian_problem(block, steps[free], np.ones(len(block), dtype=bool), nt_free, FALLBACK_TOL)
            is None
        ):
            note = (
                f"{what}: standard errors from its Hessian over the parameters off their bounds "
                "(the variances at 0 held there)"
            )
            return beta_block(block, nt_free), exact.hessian, (note,)
    V, note = fallback_vcov(model, x, u, what)
    return V, H, (note,)


def _free(model: GlmmModel, x: np.ndarray, delta: float = 1e-4) -> np.ndarray:
    """The coordinates of ``x = (theta, beta)`` whose differences are smooth: all but a variance
    parameter within ``2.5 delta`` of its bound 0 (the criterion there depends on ``|theta|``)."""
    nt = model.layout.ntheta
    lower = model.layout.lower()
    near = np.isfinite(lower) & (np.abs(x[:nt] - np.where(np.isfinite(lower), lower, 0.0)) < 2.5 * delta)
    return np.concatenate([~near, np.ones(len(x) - nt, dtype=bool)])


def hessian_problem(
    H: np.ndarray, disagreement: np.ndarray, free: np.ndarray, nt: int, tol: float = HESSIAN_TOL
) -> str | None:
    """What makes a Hessian over ``(theta, beta)`` (``nt`` theta) unusable for ``vcov``, in
    words; None if nothing. It must be finite, its diagonal must agree with the one at another
    step to ``tol`` on the ``free`` coordinates (:func:`checked_hessian`, :func:`_free`), and
    ``vcov``, the ``beta`` block of ``2 H^{-1}``, must be positive definite (lme4's rule)."""
    if not np.all(np.isfinite(H)):
        return "is not finite (the criterion failed near the optimum)"
    worst = float(np.max(disagreement[free], initial=0.0))
    if worst > tol:
        return f"is noisy (at two steps it disagrees by {worst:.1e} relative)"
    try:
        V = beta_block(H, nt)
    except np.linalg.LinAlgError:
        return "is singular"
    smallest = float(np.linalg.eigvalsh(V)[0]) if len(V) else 1.0
    if not smallest > 0:
        return f"gives a vcov(beta) that is not positive definite (smallest eigenvalue {smallest:.3g})"
    return None


def beta_block(H: np.ndarray, nt: int) -> np.ndarray:
    """``2 H^{-1}`` restricted to ``beta`` (``H`` positive definite)."""
    Hinv = np.linalg.inv(H)
    return (Hinv + Hinv.T)[nt:, nt:]


def fallback_vcov(model: GlmmModel, x: np.ndarray, u: np.ndarray, what: str) -> tuple[np.ndarray, str]:
    """``vcov(beta)`` of the joint PIRLS system at the optimum, ``(R_X'R_X)^{-1}`` at fixed
    ``theta`` (as nAGQ = 0's), and the note that says why and what it ignores."""
    nt = model.layout.ntheta
    try:
        V = vcov_joint(pirls(model, x[:nt], x[nt:], u, joint=True))
    except (np.linalg.LinAlgError, FloatingPointError):
        V = np.full((model.p, model.p), np.nan)
    if not np.all(np.isfinite(V)):
        return (
            V,
            f"{what}; the fixed effects' information at fixed theta is not finite: no standard errors (NaN)",
        )
    note = f"{what}: standard errors from the fixed effects' information at fixed theta (as nAGQ = 0)"
    return V, note


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


def stage2_function(model: GlmmModel, st1: PirlsState) -> Callable:
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


def glm_start(model: GlmmModel, mustart: np.ndarray | None) -> tuple[IrlsFit | None, np.ndarray]:
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
    single random-effects term (:class:`~mixedmodels.glmm.pirls_batch.SingleTermBatch`), else one by
    one sharing their start and their ``theta`` set-up."""
    nt = model.layout.ntheta
    if len(model.reterms) == 1:
        batch = SingleTermBatch(model)
        return lambda points: batch.lme4_laplace(points[:, :nt], points[:, nt:], eta0)
    states = theta_states(model)
    start = lme4_start(model, eta0)
    return _one_by_one(lambda x: lme4_laplace(model, x[:nt], x[nt:], eta0, ts=states(x[:nt]), start=start))


def minimize_laplace(
    fg: Callable,
    x0: np.ndarray,
    lower: np.ndarray,
    H0: np.ndarray | None = None,
    ftol: float | None = None,
    many: Callable | None = None,
) -> OptSummary:
    """Quasi-Newton steps with the Laplace criterion's gradient
    (:func:`~mixedmodels.numerics.quasi_newton.minimize_gradient`, from the Hessian ``H0`` when given,
    to the relative tolerance ``ftol`` when given), then lme4's boundary check. The Hessian
    reached is kept as ``opt.hessian``, the gradient at the point kept as ``opt.gradient`` (where
    the boundary check did not move it). ``many``: points (m, d) -> values and gradients at once
    (a batched evaluation), used where the steps ask for several points (the starting
    Hessian's differences)."""
    options: dict[str, Any] = {} if ftol is None else {"ftol": ftol}
    if many is None:
        res = minimize_gradient(fg, x0, lower, H0=H0, **options)
    else:

        def points(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if len(X) > 1:
                return many(X)
            f, g = fg(X[0])
            return np.array([f], dtype=float), np.array([g], dtype=float)

        res = minimize_gradient_batch(points, np.atleast_2d(x0), lower, H0=H0, **options)
    x, fmin, extra = snap_to_boundary(lambda x: fg(x)[0], res.x[0], float(res.fun[0]), lower, BOUNDARY_TOL)
    ok = bool(res.converged[0])
    code = "CONVERGED" if ok else "NOT_CONVERGED"
    gradient = res.grad[0] if np.array_equal(x, res.x[0]) else None  # not where the bounds moved it
    return OptSummary(
        x0, x, fmin, res.nfev + extra, code, ok and bool(np.isfinite(fmin)),
        hessian=res.hessian[0], gradient=gradient,
    )  # fmt: skip
