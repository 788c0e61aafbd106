"""Profile likelihood of a generalized linear mixed model and its profile confidence intervals,
as lme4's ``profile.merMod`` and ``confint.merMod`` give them for a ``glmer`` fit.

The criterion is the fit's own, ``crit(theta, beta)``: the Laplace approximation (nagq = 1) or
adaptive Gauss-Hermite quadrature (nagq > 1) to ``-2 log L``, evaluated by PIRLS at the
conditional modes (:func:`mixedmodels.glmm.engine.criterion_function`). There is no scale parameter.
Each profiled parameter ``p`` -- the standard deviations and correlations of the random effects
(lme4's ``.sig01``, ..., here ``sd_(Intercept)|herd``, ``cor_x.(Intercept)|g``), then the fixed
effects -- is held at a sequence of values, the criterion is minimized over all the others, and

    zeta(p) = sign(p - p_hat) sqrt(crit_p(p) - crit(theta_hat, beta_hat))

is recorded, ``crit_p(p)`` the minimum with ``p`` held.

- A standard deviation or correlation held: the other variance parameters in the coordinates
  of :mod:`mixedmodels.profile.varpar` (standard deviations, and angles for the correlations; the scale
  is 1, so ``theta`` is the Cholesky factor of the random effects' covariance) and all of
  ``beta`` free. Where a standard deviation is 0 a correlation with it has no effect, so a held
  correlation's criterion is at most that of the standard deviation held at 0.
- A fixed effect ``beta_j`` held: ``theta`` (its diagonal bounded below by 0) and the other
  fixed effects free.

A fit by maximum likelihood over ``x = (theta, beta[, log phi])`` (glmmTMB's: a family with a
parameter ``phi`` beyond the mean, or the observed information; :mod:`mixedmodels.glmm.laplace_ml`)
is profiled on its own criterion, ``f(x)`` of that module, with ``log phi`` free in every
problem, and the family's parameter is profiled too, as ``sigma`` (glmmTMB's ``sigma()``,
between the variance parameters and the fixed effects, lmer's order): held at a value, ``phi``
is where the family's ``sigma`` is that value and ``theta`` and ``beta`` are free. These
problems take the criterion's gradient in closed form where their free coordinates are
coordinates of ``x`` (every problem but a variance parameter's of a model with more than one).

Each minimization starts from the best of the optima found at the nearest held values and their
linear interpolation (extrapolation past the last one), and takes projected Newton steps on
central differences (:func:`mixedmodels.numerics.newton.minimize_one`): from such a start one or two
steps reach the minimum. Where the steps do not converge, BOBYQA finishes from the best point.

An interval end is where the re-optimized ``|zeta|`` reaches the normal quantile: between the
two trace points that bracket it, secant steps from the estimate of the trace's spline, every
point re-optimized, until ``|zeta|`` is the quantile to ``ZETA_TOL`` (Brent's method where the
steps stall). A standard deviation whose profile reaches 0 below the quantile gets the lower
end 0, as in lme4.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import interpolate, optimize, stats

from ..base.blas import single_threaded_blas
from ..base.progress import progress_bar
from ..covariance.layout import sdcor_from_theta
from ..glmm.engine import SMALL_SCHUR, criterion_function
from ..glmm.laplace_ml import PARAMETER_BOUNDS, estimated_log_parameter, fits_ml, laplace_ml_function
from ..lmm.ranef import varpar_names
from ..numerics.newton import line_search_one, minimize_one
from ..numerics.optimize import minimize_theta
from .lmm import Optimum, ProfileResult, ZetaTracer, trace_table
from .varpar import HeldCoordinates, psi_bounds

if TYPE_CHECKING:
    from ..glmm.fit import GlmerFit
    from ..glmm.pirls import GlmmModel

__all__ = ["GlmerProfile", "GlmmProfiler", "profile", "profile_confint"]

NEWTON_MAX_ITER = 20
QN_MAX_ITER = 10
DIFF_STEP = 1e-4  # central-difference steps, relative to |x| + 0.1
PREDICTED_TOL = 1e-8  # a minimization is done when its next step would lower the criterion less
MAX_HALVINGS = 5  # the BFGS steps try t = 1, 1/2, ... 1/32
ZETA_TOL = 1e-7  # |zeta| at an interval end is the quantile to this
MAX_SECANT = 8  # secant steps for an interval end before Brent's method takes over
LEVEL_AIM = 1.05  # a profile for confint alone aims its steps at this times the quantile


@dataclass(frozen=True)
class _Problem:
    """The criterion with one parameter held, as a function of the free coordinates.

    ``newton_lower`` are the bounds of the Newton steps: the angles of correlations have none
    (the criterion is periodic in them), the standard deviations and theta's diagonal 0.
    """

    fn: Callable[[np.ndarray], float]
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    newton_lower: np.ndarray
    grad: Callable[[np.ndarray], np.ndarray] | None = None  # in closed form, where there is one


class GlmmProfiler(ZetaTracer):
    """The fit's criterion with one parameter held, minimized over the others (see the module).

    The optima found are kept per parameter (``optima``) as starts for later points; failed
    minimizations are counted (``failures``) to be reported.
    """

    def __init__(self, fit: GlmerFit) -> None:
        if fit.nagq == 0:
            raise NotImplementedError(
                "profiles of an nagq = 0 fit are not available: its fixed effects are not at the optimum "
                "of a likelihood; refit with nagq = 1 (Laplace) or more"
            )
        self.model = fit.model
        self.layout = fit.model.layout
        self.nvar = self.layout.ntheta
        self.theta_hat = np.asarray(fit.theta, dtype=float)
        self.beta_hat = np.asarray(fit.beta, dtype=float)
        self.se = fit.se.to_numpy()
        self.dev_min = fit.objective
        self.family = fit.family
        self.ml = fits_ml(fit.family)
        self.nsig = 1 if fit.family.estimates_parameter else 0  # sigma profiled: the family's
        # the fixed effects, then log phi where estimated: the coordinates after theta
        self.rest_hat = np.append(self.beta_hat, estimated_log_parameter(fit.family))
        if self.ml:
            fg = laplace_ml_function(fit.model, fit.optimum.state.u)[0]
            self._criterion = lambda x: fg(x)[0]
            self._gradient: Callable | None = lambda x: fg(x)[1]
        else:
            self._criterion = criterion_function(fit.model, fit.nagq, self.beta_hat)[0]
            self._gradient = None
        self.psi_hat = sdcor_from_theta(self.layout, self.theta_hat[None], np.ones(1))[0]
        sigma = ["sigma"] if self.nsig else []
        self.names = [*varpar_names(fit.design.reterms), *sigma, *fit.fixef_names]
        self.estimates = np.concatenate([self.psi_hat, [fit.family.sigma] * self.nsig, self.beta_hat])
        lower, upper = psi_bounds(self.layout)
        p = len(self.beta_hat)
        self._lower = np.concatenate([lower, [0.0] * self.nsig, np.full(p, -math.inf)])
        self._upper = np.concatenate([upper, [math.inf] * self.nsig, np.full(p, math.inf)])
        self.optima: dict[int, list[Optimum]] = {}
        self.failures: dict[int, int] = {}
        self._zetas: dict[tuple[int, float], float] = {}
        self._zero_sd: dict[int, float] = {}
        self._hessians: dict[int, list[tuple[float, np.ndarray]]] = {}  # per parameter, the last optima's

    # ------------------------------------------------------------ problems
    @cached_property
    def _coordinates(self) -> dict[int, HeldCoordinates]:
        return {j: HeldCoordinates(self.layout, j) for j in range(self.nvar)}

    def problem(self, index: int, value: float) -> _Problem:
        """The criterion with parameter ``index`` held at ``value``, of the free coordinates."""
        if index < self.nvar:
            return self._var_problem(index, value)
        if index < self.nvar + self.nsig:
            return self._sigma_problem(value)
        return self._beta_problem(index - self.nvar - self.nsig, value)

    def _var_problem(self, j: int, value: float) -> _Problem:
        coords = self._coordinates[j]
        m = self.nvar - 1  # free variance coordinates (the varpar scale coordinate, last, is 1)
        criterion = self._criterion

        def fn(x: np.ndarray) -> float:
            theta, _ = coords.theta_sigma(np.append(x[:m], 1.0), value)
            return math.inf if theta is None else criterion(np.concatenate([theta, x[m:]]))

        lower, upper = coords.bounds(1.0)
        r = len(self.rest_hat)
        lower = np.append(lower[:m], np.full(r, -math.inf))
        upper = np.append(upper[:m], np.full(r, math.inf))
        estimate = np.append(coords.coordinates(np.append(self.psi_hat, 1.0))[:m], self.rest_hat)
        newton_lower = np.where(np.isfinite(upper), -math.inf, lower)
        grad = None
        if self._gradient is not None and m == 0:  # theta is the held standard deviation
            gradient = self._gradient

            def grad(x: np.ndarray) -> np.ndarray:
                return gradient(np.concatenate([[value], x]))[1:]

        return _Problem(fn, estimate, lower, upper, newton_lower, grad)

    def _sigma_problem(self, value: float) -> _Problem:
        """The family's ``sigma`` held: ``theta`` and ``beta`` free."""
        criterion, gradient = self._criterion, self._gradient
        assert gradient is not None
        log_phi = _log_parameter(self.family, value)

        def fn(x: np.ndarray) -> float:
            return math.inf if log_phi is None else criterion(np.append(x, [log_phi]))

        def grad(x: np.ndarray) -> np.ndarray:
            return gradient(np.append(x, [log_phi]))[:-1]

        lower = np.append(self.layout.lower(), np.full(len(self.beta_hat), -math.inf))
        upper = np.full(len(lower), math.inf)
        estimate = np.append(self.theta_hat, self.beta_hat)
        return _Problem(fn, estimate, lower, upper, lower, None if log_phi is None else grad)

    def _beta_problem(self, j: int, value: float) -> _Problem:
        nt = self.nvar
        criterion, gradient = self._criterion, self._gradient

        def fn(x: np.ndarray) -> float:
            return criterion(np.concatenate([x[:nt], np.insert(x[nt:], j, value)]))

        grad = None
        if gradient is not None:

            def grad(x: np.ndarray) -> np.ndarray:
                return np.delete(gradient(np.concatenate([x[:nt], np.insert(x[nt:], j, value)])), nt + j)

        lower = np.append(self.layout.lower(), np.full(len(self.rest_hat) - 1, -math.inf))
        upper = np.full(len(lower), math.inf)
        estimate = np.append(self.theta_hat, np.delete(self.rest_hat, j))
        return _Problem(fn, estimate, lower, upper, lower, grad)

    # ------------------------------------------------------------ criterion
    def deviance(self, index: int, value: float) -> float:
        """The criterion with parameter ``index`` held at ``value``, the others re-optimized."""
        problem = self.problem(index, value)
        known = self.optima.setdefault(
            index, [Optimum(float(self.estimates[index]), problem.estimate, self.dev_min)]
        )
        hessians = self._hessians.setdefault(index, [])
        nearest = min(hessians, key=lambda vh: abs(vh[0] - value))[1] if hessians else None
        x, dev, ok, H = _minimize(problem, _starts(known, value, problem), nearest)
        if not ok:
            self.failures[index] = self.failures.get(index, 0) + 1
        if H is not None:
            hessians.append((value, H))
        known.append(Optimum(value, x, dev))
        for sd in self._correlated(index):
            dev = min(dev, self._plateau(sd))
        return dev

    def _correlated(self, index: int) -> list[int]:
        """The standard deviations of a held correlation (else none)."""
        return self._coordinates[index].correlated() if index < self.nvar else []

    def _plateau(self, sd: int) -> float:
        """The criterion with standard deviation ``sd`` held at 0 (once per standard deviation)."""
        if sd not in self._zero_sd:
            problem = self.problem(sd, 0.0)
            self._zero_sd[sd] = _minimize(problem, [problem.estimate])[1]
        return self._zero_sd[sd]

    def flat_values(self, index: int) -> list[float]:
        """The held values of a correlation where its profile is on a standard deviation's plateau."""
        sds = [sd for sd in self._correlated(index) if sd in self._zero_sd]
        if not sds:
            return []
        level = min(self._zero_sd[sd] for sd in sds)
        return [o.value for o in self.optima.get(index, []) if o.deviance >= level - 1e-8 * (1 + abs(level))]

    def zeta(self, index: int, value: float) -> float:
        """Signed root of the criterion's rise with ``index`` held at ``value`` (remembered)."""
        key = (index, float(value))
        if key not in self._zetas:
            est = self.estimates[index]
            dev = self.deviance(index, value)
            self._zetas[key] = (
                math.copysign(math.sqrt(max(dev - self.dev_min, 0.0)), value - est)
                if math.isfinite(dev)
                else math.nan
            )
        return self._zetas[key]

    # ------------------------------------------------------------ stepping
    def bounds(self, index: int) -> tuple[float, float]:
        return float(self._lower[index]), float(self._upper[index])

    def scale(self, index: int) -> float:
        """A first step: the standard error of a fixed effect, a tenth of a variance parameter."""
        if index >= self.nvar + self.nsig:
            return float(self.se[index - self.nvar - self.nsig])
        est = abs(self.estimates[index])
        return 0.1 * est if est > 0 else 0.1


def _log_parameter(family, sigma: float) -> float | None:
    """``log phi`` where the family's ``sigma`` is ``sigma`` (None outside the parameter's
    bounds): the family's ``sigma`` is monotone in its parameter, solved for in ``log phi``."""
    if not (sigma > 0 and math.isfinite(sigma)):
        return None

    def gap(log_phi: float) -> float:
        return math.log(family.with_parameter(math.exp(log_phi)).sigma) - math.log(sigma)

    lo, hi = np.log(PARAMETER_BOUNDS)
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo * g_hi > 0:
        return None
    return float(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def _starts(known: list[Optimum], value: float, problem: _Problem) -> list[np.ndarray]:
    """Starts at ``value``: the optima at the nearest held values on each side, and their linear
    interpolation (or the extrapolation of the two nearest on one side)."""
    below = sorted((o for o in known if o.value < value), key=lambda o: o.value)
    above = sorted((o for o in known if o.value > value), key=lambda o: o.value)
    if below and above:
        pair = (below[-1], above[0])
    elif len(below) >= 2 or len(above) >= 2:
        pair = (below[-2], below[-1]) if below else (above[1], above[0])
    else:
        return [o.x for o in below[-1:] + above[:1]] or [problem.estimate]
    a, b = pair
    t = (value - a.value) / (b.value - a.value)
    line = np.clip(a.x + t * (b.x - a.x), problem.lower, problem.upper)
    return [line, *(o.x for o in below[-1:] + above[:1])]


def _minimize(
    problem: _Problem, starts: list[np.ndarray], H: np.ndarray | None = None
) -> tuple[np.ndarray, float, bool, np.ndarray | None]:
    """Quasi-Newton steps from the best of ``starts`` (``H`` a Hessian to start with); where they
    do not converge, or stop on a bound, projected Newton steps, then BOBYQA.

    A standard deviation (or a diagonal entry of theta) enters the criterion through its square,
    so on its bound 0 the gradient along it vanishes and quasi-Newton steps cannot tell a minimum
    from a saddle: where they end within a difference step of a bound, that coordinate is put on
    the bound and :func:`mixedmodels.numerics.newton.minimize_one` takes over, which tries points inward.

    Returns the optimum, the criterion there, whether a method converged at a finite value, and
    the quasi-Newton Hessian there (None where it did not converge).
    """
    fn = problem.fn
    values = [fn(x) for x in starts]
    best = int(np.argmin(values))
    x, value = np.asarray(starts[best], dtype=float), float(values[best])
    if not math.isfinite(value):
        return (*_bobyqa(problem, x, value), None)
    xq, fq, Hq, ok = _quasi_newton(fn, x, value, H, problem.newton_lower, problem.grad)
    if ok and not np.any(_near_bound(xq, problem.newton_lower)):
        return xq, fq, True, Hq
    if fq <= value:
        x, value = xq, fq
    x = _snap(x, problem.newton_lower)
    xn, fn_value, ok = minimize_one(fn, x, problem.newton_lower, max_iter=NEWTON_MAX_ITER)
    if fn_value <= value:
        x, value = xn, float(fn_value)
    if ok and math.isfinite(value):
        return x, value, True, None
    return (*_bobyqa(problem, x, value), None)


def _near_bound(x: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The coordinates within a difference step of their finite lower bound."""
    return np.isfinite(lower) & (x - lower < _steps(x))


def _snap(x: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``x`` with the coordinates near their lower bound put on it (where Newton's method looks
    inward from a bound)."""
    return np.where(_near_bound(x, lower), lower, x)


def _quasi_newton(
    fn: Callable[[np.ndarray], float],
    x: np.ndarray,
    f: float,
    H: np.ndarray | None,
    lower: np.ndarray,
    grad: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """BFGS steps on central-difference gradients (``grad``'s, where given), from Hessian ``H``
    (by differences if None: of ``grad`` where given).

    Done when the step's predicted decrease ``-g's / 2`` is below ``PREDICTED_TOL`` and ``H`` is
    positive definite there; gives up (not converged) where a step would cross ``lower`` or does
    not lower ``fn`` (the Newton path's line search,
    :func:`~mixedmodels.numerics.newton.line_search_one`: t = 1, 1/2, ... 1/32), or at a
    stationary point that is not a minimum. The update is BFGS, not the SR1 of
    :mod:`mixedmodels.numerics.quasi_newton`: these steps stay in the interior (a bound hands
    the point to BOBYQA), where a positive-definite ``H`` is what the stopping rule reads, while
    SR1 follows the indefinite curvature the escape from a bound needs there.
    """
    gradient = (lambda z: _gradient(fn, z)) if grad is None else grad
    if H is None:
        g, H = _derivatives(fn, x, f) if grad is None else _gradient_derivatives(grad, x)
    else:
        g = gradient(x)
    for _ in range(QN_MAX_ITER):
        s = _descent(g, H)
        if -0.5 * float(g @ s) <= PREDICTED_TOL:
            return x, f, H, bool(np.linalg.eigvalsh(H)[0] > 0)  # a saddle is not a minimum
        if np.any(x + s < lower):
            break
        x_new, f_new, moved = line_search_one(fn, x, f, s, lower, MAX_HALVINGS)
        if not moved:
            break
        g_new = gradient(x_new)
        H = _bfgs(H, x_new - x, g_new - g)
        x, f, g = x_new, f_new, g_new
    return x, f, H, False


def _steps(x: np.ndarray) -> np.ndarray:
    return DIFF_STEP * (np.abs(x) + 0.1)


def _gradient(fn: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central differences."""
    h = _steps(x)
    g = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h[j]
        g[j] = (fn(x + e) - fn(x - e)) / (2 * h[j])
    return g


def _derivatives(fn: Callable[[np.ndarray], float], x: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian by central differences (``2d + d(d - 1) / 2`` evaluations)."""
    d, h = len(x), _steps(x)
    eye = np.diag(h)
    fp = np.array([fn(x + eye[j]) for j in range(d)])
    fm = np.array([fn(x - eye[j]) for j in range(d)])
    H = np.diag((fp - 2 * f + fm) / h**2)
    for j in range(d):
        for k in range(j):
            H[j, k] = H[k, j] = (fn(x + eye[j] + eye[k]) - fp[j] - fp[k] + f) / (h[j] * h[k])
    return (fp - fm) / (2 * h), H


def _gradient_derivatives(
    grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient and the Hessian by central differences of the gradient (symmetrized)."""
    h = _steps(x)
    eye = np.diag(h)
    H = np.column_stack([(grad(x + eye[j]) - grad(x - eye[j])) / (2 * h[j]) for j in range(len(x))])
    return grad(x), (H + H.T) / 2


def _descent(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """``-|H|^{-1} g``, ``|H|`` with the eigenvalues of ``H`` made positive."""
    lam, V = np.linalg.eigh(H)
    lam = np.abs(lam)
    lam = np.maximum(lam, 1e-10 * max(float(lam.max()), 1e-300))
    return -(V @ ((V.T @ g) / lam))


def _bfgs(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The BFGS update of ``H`` by step ``s`` and gradient change ``y`` (kept where ``s'y <= 0``)."""
    sy = float(s @ y)
    Hs = H @ s
    sHs = float(s @ Hs)
    if sy <= 0 or sHs <= 0:
        return H
    return H - np.outer(Hs, Hs) / sHs + np.outer(y, y) / sy


def _bobyqa(problem: _Problem, x: np.ndarray, value: float) -> tuple[np.ndarray, float, bool]:
    """BOBYQA from ``x`` (clipped to the bounds), tight tolerances; the better of it and ``x``."""
    start = np.clip(x, problem.lower, problem.upper)
    step = np.where(np.isfinite(problem.upper), 0.2, np.maximum(0.2 * np.abs(start), 0.05))
    try:
        opt = minimize_theta(
            problem.fn,
            start,
            problem.lower,
            ftol_abs=1e-10,
            xtol_abs=1e-10,
            xtol_rel=0.0,
            maxeval=5000,
            boundary_tol=0.0,
            upper=problem.upper,
            initial_step=np.minimum(step, 0.49 * (problem.upper - problem.lower)),
        )
    except (ValueError, RuntimeError):
        return x, value, False
    ok = (opt.converged or opt.return_value == "ROUNDOFF_LIMITED") and math.isfinite(opt.fmin)
    if opt.fmin < value or not math.isfinite(value):
        return opt.theta, float(opt.fmin), ok
    return x, value, ok


@dataclass(frozen=True, eq=False)
class GlmerProfile(ProfileResult):
    """Profile zeta traces of a glmer fit's parameters (see :class:`mixedmodels.profile.lmm.ProfileResult`:
    ``table``, ``estimates``, ``trace``, ``spline``, ``confint``, ``plot``).

    Interval ends are solved for by secant steps on the re-optimized zeta (see the module).
    """

    _one_blas_thread: bool = field(default=False, repr=False)

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Profile intervals: where the re-optimized |zeta| is the normal quantile (see the module)."""
        with single_threaded_blas(self._one_blas_thread):
            return super().confint(level)

    def _solve(self, name: str, gap, inner: float, outer: float, target: float) -> float:
        """The root of ``gap`` between ``inner`` (gap < 0) and ``outer`` (gap >= 0)."""
        a, ga, b, gb = inner, gap(inner), outer, gap(outer)
        x, prev, gprev = self._spline_guess(name, inner, outer, target), None, 0.0
        for _ in range(MAX_SECANT):
            gx = gap(x)
            if abs(gx) <= ZETA_TOL:
                return float(x)
            if gx < 0:
                a, ga = x, gx
            else:
                b, gb = x, gx
            nxt = x - gx * (x - prev) / (gx - gprev) if prev is not None and gx != gprev else math.nan
            if not min(a, b) < nxt < max(a, b):
                nxt = a - ga * (b - a) / (gb - ga)  # regula falsi on the bracket
            prev, gprev, x = x, gx, nxt
        return super()._solve(name, gap, a, b, target)

    def _spline_guess(self, name: str, inner: float, outer: float, target: float) -> float:
        """Where the trace's interpolating spline reaches ``target`` between the two values."""
        t = self.trace(name)
        lo, hi = sorted((inner, outer))
        spline = interpolate.CubicSpline(t.value.to_numpy(), t.zeta.to_numpy())
        roots = [r for r in spline.solve(target, extrapolate=False) if lo < r < hi]
        return float(roots[0]) if roots else 0.5 * (inner + outer)


def _select(names: list[str], which, nvar: int, nsig: int = 0) -> list[int]:
    """Indices of the parameters named in ``which`` ("theta_": the variance parameters,
    "beta_": the fixed effects, after the ``nsig`` family's parameter); all by default."""
    if which is None:
        return list(range(len(names)))
    out: list[int] = []
    for w in [which] if isinstance(which, str) else which:
        if w == "theta_":
            out += range(nvar)
        elif w == "beta_":
            out += range(nvar + nsig, len(names))
        elif w in names:
            out.append(names.index(w))
        else:
            raise ValueError(f"no parameter {w!r} to profile; the parameters are: {', '.join(names)}")
    return sorted(set(out))


def _small_schur(model: GlmmModel) -> bool:
    """Whether one BLAS thread is faster for the model (as in :func:`mixedmodels.glmm.engine.fit_glmm`)."""
    return model.q - model.reterms[0].q + model.p < SMALL_SCHUR


def _profile(
    fit: GlmerFit, which, cutoff: float, delta: float | None, progress: bool, aim: float | None = None
) -> GlmerProfile:
    """The traces of the parameters in ``which`` out to ``|zeta| >= cutoff`` (see ``ZetaTracer.trace``)."""
    prof = GlmmProfiler(fit)
    indices = _select(prof.names, which, prof.nvar, prof.nsig)
    bar = progress_bar(len(indices), progress, "profile", "param")
    traces = []
    try:
        with single_threaded_blas(_small_schur(fit.model)):
            for index in indices:
                traces.append(prof.trace(index, cutoff, delta, aim))
                bar.update(1)
    finally:
        bar.close()
    table, estimates = trace_table(prof, indices, traces)
    return GlmerProfile(
        table=table, estimates=estimates, _profiler=prof, _one_blas_thread=_small_schur(fit.model)
    )


def profile(fit: GlmerFit, which=None, alpha_max: float = 0.01, progress: bool = True) -> GlmerProfile:
    """Profile the criterion of a glmer fit over its parameters, as lme4's ``profile``.

    Parameters
    ----------
    fit : GlmerFit
        A fit with ``nagq >= 1`` (the Laplace or the quadrature criterion is profiled).
    which : list of str, optional
        Parameters to profile, by lme4's names (``"sd_(Intercept)|herd"``, ``"period2"``); all by
        default. ``"theta_"`` selects the variance parameters, ``"beta_"`` the fixed effects.
    alpha_max : float
        The traces reach ``|zeta| >= sqrt(chi2_{1 - alpha_max}(npar))``, npar the number of
        parameters (lme4's ``alphamax``, 0.01 by default as there).
    progress : bool
        Show a progress bar (only when standard error is a terminal).

    Returns
    -------
    GlmerProfile
    """
    npar = len(fit.varpar_names) + len(fit.fixef_names) + (1 if fit.family.estimates_parameter else 0)
    cutoff = math.sqrt(stats.chi2.ppf(1 - alpha_max, npar))
    return _profile(fit, which, cutoff, None, progress)


def profile_confint(fit: GlmerFit, level: float = 0.95, which=None, progress: bool = True) -> pd.DataFrame:
    """Profile intervals alone: each trace only just past the level's normal quantile.

    The ends are those of ``profile(fit).confint(level)`` (each solved for with re-optimized
    points); the traces are shorter.
    """
    z = float(stats.norm.ppf((1 + level) / 2))
    return _profile(fit, which, z, None, progress, aim=LEVEL_AIM * z).confint(level)
