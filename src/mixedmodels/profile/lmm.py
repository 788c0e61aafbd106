"""Profile likelihood of a linear mixed model and the confidence intervals read from it.

As lme4's ``profile.merMod``, the profile is of the ML deviance (a REML fit is refitted by ML
first). Each parameter ``p`` (the standard deviations and correlations of the random effects,
``sigma``, each fixed effect) is held at a sequence of values; the others are re-optimized; and

    zeta(p) = sign(p - p_hat) sqrt(dev(p) - dev(p_hat))

is recorded. A ``level`` interval is where ``|zeta| <= z_{(1+level)/2}``, its ends solved for
with every point re-optimized.

- Variance parameters: with ``psi`` the standard deviations and correlations (theta order)
  and ``sigma``, ``theta = chol(cov(psi)) / sigma`` and, with ``beta`` profiled out,

      dev(psi, sigma) = log|L(theta)|^2 + r2(theta) / sigma^2 + n log(2 pi sigma^2),

  minimized over all but the held parameter in the coordinates of :mod:`mixedmodels.profile.varpar`,
  which have no forbidden region (in ``psi`` itself a correlation of +-1 or an invalid
  correlation matrix stops the optimizer short: intervals came out far too narrow). Where a
  standard deviation is 0 a correlation has no effect, so a held correlation's deviance is at
  most that of the standard deviation held at 0: the profile can end in a plateau.
- Fixed effect ``beta_j``: the model with ``y - beta_j x_j`` as response and ``x_j`` dropped
  from ``X``, its ML criterion minimized over theta (an offset formulation).

Each minimization starts from the best of the estimates and the optima found at the nearest
held values, and BOBYQA is started again from where it stopped. lme4's warnings are given
where they apply: a non-monotonic profile, a re-optimization that did not converge, a
deviance below the fit's.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
from scipy import interpolate, optimize, stats

from ..base.cluster import map_on_client
from ..base.messages import warn
from ..base.progress import progress_bar
from ..covariance.layout import sdcor_from_theta
from ..lmm.engine import refit
from ..numerics.objective import criterion_function
from ..numerics.optimize import minimize_theta
from ..numerics.pls import PLS
from ..report.diagnostics import profile_html
from .varpar import HeldCoordinates, psi_bounds

if TYPE_CHECKING:
    from ..lmm.fit import LmerFit

__all__ = ["Optimum", "ProfileResult", "Profiler", "ZetaTracer", "profile"]

MAX_POINTS = 40  # per direction
RESTART_DIM = 3  # from this many free parameters BOBYQA is started again from its optimum


@dataclass(frozen=True)
class Optimum:
    """The re-optimized others at one held value: free coordinates and the deviance."""

    value: float
    x: np.ndarray
    deviance: float


class ZetaTracer:
    """Stepping out from the estimate along one parameter's profile.

    A subclass provides ``estimates`` (the profiled parameters' estimates), ``bounds(index)``,
    ``scale(index)`` (a first step) and ``zeta(index, value)`` (re-optimized), and keeps the
    parameters' ``names``, the optima found per parameter, the count of failed re-optimizations
    and the criterion's minimum ``dev_min`` (for :func:`_check_trace`).
    """

    estimates: np.ndarray
    names: list[str]
    optima: dict[int, list[Optimum]]
    failures: dict[int, int]
    dev_min: float

    def bounds(self, index: int) -> tuple[float, float]:
        raise NotImplementedError

    def scale(self, index: int) -> float:
        raise NotImplementedError

    def zeta(self, index: int, value: float) -> float:
        raise NotImplementedError

    def trace(
        self, index: int, cutoff: float, delta: float | None = None, aim: float | None = None
    ) -> list[tuple[float, float]]:
        """(value, zeta) points from the estimate out to |zeta| >= cutoff or a bound, both ways.

        Steps aim at a rise of ``delta`` (``cutoff / 8`` by default) in |zeta|, from the slope of
        the last, or, with ``aim``, straight at |zeta| = ``aim``; never more than 4 times the last.
        """
        est = self.estimates[index]
        lo, hi = self.bounds(index)
        points = [(est, 0.0)]
        delta = cutoff / 8 if delta is None else delta
        if not math.isfinite(est):  # a correlation of a standard deviation of 0
            return []
        for direction in (-1.0, 1.0):
            value, zeta, step = est, 0.0, self.scale(index)
            for _ in range(MAX_POINTS):
                nxt = value + direction * step
                at_bound = nxt <= lo or nxt >= hi
                nxt = min(max(nxt, lo), hi)
                if nxt == value:
                    break
                z = self.zeta(index, nxt)
                points.append((nxt, z))
                if abs(z) >= cutoff or at_bound or not math.isfinite(z):
                    break
                slope = abs(z - zeta) / abs(nxt - value)
                rise = delta if aim is None else max(aim - abs(z), delta)
                step = min(rise / slope, 4 * step) if slope > 0 else 2 * step
                value, zeta = nxt, z
        points.sort()
        return points


class _Profiler(ZetaTracer):
    """Deviance with one parameter held, minimized over the others.

    Each minimization starts from the best (lowest deviance) of the estimates and the optima
    already found at the nearest held values on either side (in 3 or more free parameters
    BOBYQA is started again from its optimum); what it finds is kept as a start for later
    points. Minimizations that fail are counted per parameter, to be reported.
    """

    def __init__(self, fit: LmerFit) -> None:
        ml = refit(fit, reml=False) if fit.reml else fit
        self.ml = ml
        self.pls = ml.pls
        self.layout = ml.pls.layout
        self.dev_min = ml.objective
        self.nvar = self.layout.ntheta
        sdcor = sdcor_from_theta(self.layout, ml.opt.theta[None], np.array([ml.sigma]))[0]
        self.psi_hat = np.append(sdcor, ml.sigma)
        self.names = [*ml.varpar_names, "sigma", *ml.fixef_names]
        self.estimates = np.append(self.psi_hat, ml.fixef.to_numpy())
        lower, upper = psi_bounds(self.layout)
        self.lower = np.append(lower, 0.0)
        self.upper = np.append(upper, np.inf)
        self.optima: dict[int, list[Optimum]] = {}
        self.failures: dict[int, int] = {}
        self._zero_sd: dict[int, Optimum] = {}
        self._deviance = criterion_function(self.pls, False)  # of theta and sigma, beta profiled out

    # ----------------------------------------------------------- deviances
    @cached_property
    def _coordinates(self) -> dict[int, HeldCoordinates]:
        return {j: HeldCoordinates(self.layout, j) for j in range(self.nvar + 1)}

    def _var_problem(self, j: int, value: float):
        coords = self._coordinates[j]

        def fn(x: np.ndarray) -> float:
            return self._deviance(*coords.theta_sigma(x, value))

        lower, upper = coords.bounds(self.ml.sigma)
        return fn, coords.coordinates(self.psi_hat), lower, upper, lambda x: coords.steps(x, self.ml.sigma)

    @cached_property
    def _offset_parts(self):
        X = self.ml.design.X
        return [(np.delete(X, j, axis=1), X[:, j]) for j in range(X.shape[1])]

    def _beta_problem(self, j: int, value: float):
        """The model with ``y - value x_j`` as response and ``x_j`` dropped, over theta."""
        X, xj = self._offset_parts[j]
        design = self.ml.design
        pls = PLS(design.reterms, X, design.y - value * xj, weights=design.weights, offset=design.offset)

        fn = criterion_function(pls, False)
        lower = self.layout.lower()
        upper = np.full_like(lower, np.inf)

        def steps(x):
            return np.maximum(0.2 * np.abs(x), 0.05)

        return fn, self.ml.opt.theta, lower, upper, steps

    def deviance(self, index: int, value: float) -> float:
        """The deviance with parameter ``index`` held at ``value``, the others re-optimized."""
        fn, x, dev, ok = self._optimize(index, value, self._neighbours(index, value))
        if not ok:
            self.failures[index] = self.failures.get(index, 0) + 1
        if index < self.nvar:
            for sd in self._coordinates[index].correlated():
                x, dev = self._lower_plateau(index, value, sd, fn, x, dev)
        self.optima.setdefault(index, []).append(Optimum(value, x, dev))
        return dev

    def _optimize(self, index: int, value: float, neighbours: list[Optimum]):
        """``(fn, x, dev, ok)``: the problem's function and its minimum from the best start."""
        if index <= self.nvar:
            fn, estimate, lower, upper, steps = self._var_problem(index, value)
        else:
            fn, estimate, lower, upper, steps = self._beta_problem(index - self.nvar - 1, value)
        x, dev, ok = _minimize(fn, [estimate, *(o.x for o in neighbours)], lower, upper, steps)
        return fn, x, dev, ok

    def _lower_plateau(self, index: int, value: float, sd: int, fn, x: np.ndarray, dev: float):
        """``(x, dev)``, or the point with standard deviation ``sd`` at 0 if its deviance is lower.

        That deviance does not depend on the held correlation, but it is often out of reach
        of a search from inside (a local minimum lies between), so it is compared directly.
        """
        if sd not in self._zero_sd:  # from the estimates alone: the same in every trace
            _, x_sd, dev_sd, _ = self._optimize(sd, 0.0, [])
            self._zero_sd[sd] = Optimum(0.0, x_sd, dev_sd)
        at_zero = self._zero_sd[sd]
        if not at_zero.deviance < dev:
            return x, dev
        theta, sigma = self._coordinates[sd].theta_sigma(at_zero.x, 0.0)
        if theta is None:  # no covariance matrix there: nothing to compare with
            return x, dev
        psi = np.append(sdcor_from_theta(self.layout, theta[None], np.array([sigma]))[0], sigma)
        x0 = self._coordinates[index].coordinates(psi)
        dev0 = fn(x0)
        return (x0, dev0) if dev0 < dev else (x, dev)

    def private_copy(self) -> _Profiler:
        """A copy for one task on a cluster: its own work arrays (:meth:`PLS.private_copy`) and
        its own record of optima and failures, so that tasks run as threads of one process
        (a local ``Client(processes=False)``, or a worker with several threads) neither
        overwrite each other's evaluations nor start from each other's optima. Each trace is
        then the serial run's, point for point."""
        other = copy.copy(self)
        other.pls = self.pls.private_copy()
        other._deviance = criterion_function(other.pls, False)
        other.optima = {index: list(found) for index, found in self.optima.items()}
        other.failures = dict(self.failures)
        other._zero_sd = dict(self._zero_sd)
        return other

    def learn(self, optima: dict, failures: dict, zero_sd: dict) -> None:
        """Take in what another copy of this profiler (on a Dask worker) found."""
        for index, found in optima.items():
            self.optima.setdefault(index, []).extend(found)
        for index, count in failures.items():
            self.failures[index] = self.failures.get(index, 0) + count
        self._zero_sd.update(zero_sd)

    def flat_values(self, index: int) -> list[float]:
        """The held values of a correlation where its profile is on a standard deviation's plateau."""
        if index >= self.nvar:
            return []
        sds = [sd for sd in self._coordinates[index].correlated() if sd in self._zero_sd]
        if not sds:
            return []
        level = min(self._zero_sd[sd].deviance for sd in sds)
        return [
            o.value for o in self.optima.get(index, []) if abs(o.deviance - level) <= 1e-8 * (1 + abs(level))
        ]

    def _neighbours(self, index: int, value: float) -> list[Optimum]:
        """The optima found at the nearest held values below and above ``value``."""
        known = self.optima.get(index, [])
        below = [o for o in known if o.value <= value]
        above = [o for o in known if o.value >= value]
        out = []
        if below:
            out.append(max(below, key=lambda o: o.value))
        if above:
            out.append(min(above, key=lambda o: o.value))
        return out

    def zeta(self, index: int, value: float) -> float:
        est = self.estimates[index]
        dev = self.deviance(index, value)
        if not math.isfinite(dev):
            return math.nan
        return math.copysign(math.sqrt(max(dev - self.dev_min, 0.0)), value - est)

    def bounds(self, index: int) -> tuple[float, float]:
        if index <= self.nvar:
            return self.lower[index], self.upper[index]
        return -math.inf, math.inf

    def scale(self, index: int) -> float:
        """A first step: the Wald standard error for fixed effects, a fraction of the value otherwise."""
        if index > self.nvar:
            return float(self.ml.se.iloc[index - self.nvar - 1])
        est = abs(self.estimates[index])
        return 0.1 * est if est > 0 else 0.1 * self.ml.sigma


def _minimize(fn, starts, lower, upper, steps) -> tuple[np.ndarray, float, bool]:
    """Minimize ``fn`` by BOBYQA from the best of ``starts`` (in 3 or more dimensions, twice).

    The second run, from the first's optimum with a tenth of the initial steps, costs a few
    evaluations where the first reached the optimum and recovers where it stopped short.

    Returns the optimum, its value, and whether BOBYQA ended normally (or by rounding) at a
    finite value.
    """
    starts = [np.clip(np.asarray(x, dtype=float), lower, upper) for x in starts]
    values = [fn(x) for x in starts]
    x, value = starts[int(np.argmin(values))], min(values)
    ok = True
    for attempt in range(2 if len(x) >= RESTART_DIM else 1):
        step = steps(x) * (1.0 if attempt == 0 else 0.1)
        try:
            opt = minimize_theta(
                fn,
                x,
                lower,
                ftol_abs=1e-10,
                xtol_abs=1e-10,
                xtol_rel=0.0,
                maxeval=5000,
                boundary_tol=0.0,
                upper=upper,
                initial_step=np.minimum(step, 0.49 * (upper - lower)),
            )
        except (ValueError, RuntimeError):
            ok = False
            break
        ok = opt.converged or opt.return_value == "ROUNDOFF_LIMITED"
        improved = value - opt.fmin
        if opt.fmin < value:
            x, value = opt.theta, opt.fmin
        if attempt > 0 and improved < 1e-8:
            break
    return x, value, ok and math.isfinite(value)


class Profiler(Protocol):
    """What :class:`ProfileResult` needs of a profiler: the parameters' names, re-optimized
    zeta, the count of failed re-optimizations, and where a correlation's profile is flat."""

    names: list[str]
    failures: dict[int, int]

    def zeta(self, index: int, value: float) -> float: ...

    def flat_values(self, index: int) -> list[float]: ...

    def bounds(self, index: int) -> tuple[float, float]: ...


@dataclass(frozen=True, eq=False)
class ProfileResult:
    """Profile zeta traces of the parameters of a mixed model.

    Attributes
    ----------
    table : DataFrame
        Tidy: one row per profiled point, columns ``parameter``, ``value``, ``zeta``.
    estimates : Series
        The ML estimates (zeta = 0) of the profiled parameters.
    """

    table: pd.DataFrame
    estimates: pd.Series
    _profiler: Profiler = field(repr=False)

    def _zeta(self, parameter: str, value: float) -> float:
        """zeta at ``value``, all other parameters re-optimized."""
        return self._profiler.zeta(self._profiler.names.index(parameter), value)

    @property
    def parameters(self) -> list[str]:
        return list(self.estimates.index)

    def trace(self, parameter: str) -> pd.DataFrame:
        return self.table[self.table.parameter == parameter].sort_values("value")

    def spline(self, parameter: str):
        """zeta as an interpolating cubic spline of the parameter value."""
        t = self.trace(parameter)
        return interpolate.CubicSpline(t.value.to_numpy(), t.zeta.to_numpy())

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Profile intervals: where |zeta| <= the normal quantile, solved for exactly.

        A side whose trace ends at a bound (a standard deviation of 0, a correlation of +-1)
        before reaching the quantile gets that bound, as lme4 gives.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        z = stats.norm.ppf((1 + level) / 2)
        a = (1 - level) / 2
        rows = {}
        failed = sum(self._profiler.failures.values())
        for name in self.parameters:
            t = self.trace(name)
            v, zeta = t.value.to_numpy(), t.zeta.to_numpy()
            rows[name] = (self._limit(name, v, zeta, -z), self._limit(name, v, zeta, z))
            self._check_flat(name, *rows[name])
        if sum(self._profiler.failures.values()) > failed:
            warn("a re-optimization at an interval end did not converge; its best point is used")
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=[f"{100 * a:g} %", f"{100 * (1 - a):g} %"]
        )

    def _limit(self, name: str, v: np.ndarray, zeta: np.ndarray, target: float) -> float:
        """Where zeta, going out from the estimate, first reaches ``target``.

        The end is solved for with every point re-optimized. A re-optimization can find a lower
        deviance than the trace did (never a higher one), moving the crossing further out: then
        the search goes on from the next trace point.
        """
        outward = (
            np.flatnonzero(v < self.estimates[name])[::-1]
            if target < 0
            else np.flatnonzero(v > self.estimates[name])
        )
        inner = float(self.estimates[name])

        def gap(x: float) -> float:
            return abs(self._zeta(name, x)) - abs(target)

        for i in outward:
            if not math.isfinite(zeta[i]):
                break
            if abs(zeta[i]) < abs(target):
                inner = float(v[i])
                continue
            if gap(v[i]) < 0:  # re-optimized, it is inside after all
                inner = float(v[i])
                continue
            return self._solve(name, gap, inner, float(v[i]), target)
        if self._at_bound(name, v, target):
            return float(v[0] if target < 0 else v[-1])
        warn(f"the profile of {name} does not reach |zeta| = {abs(target):.3g} on that side: no interval end")
        return math.nan

    def _solve(self, name: str, gap, inner: float, outer: float, target: float) -> float:
        """The root of ``gap`` (re-optimized ``|zeta| - |target|``) between two trace values:
        ``inner`` (inside the interval) and ``outer`` (past ``target``)."""
        a, b = sorted((inner, outer))
        return float(optimize.brentq(gap, a, b, xtol=1e-8 * (1 + abs(a))))

    def _check_flat(self, name: str, lower: float, upper: float) -> None:
        """Warn where a correlation's interval reaches +-1 over a plateau (lme4 warns there too).

        Past the plateau's start, a standard deviation of 0 fits better than any covariance
        with that correlation, so the data say nothing about it.
        """
        flat = self._profiler.flat_values(self._profiler.names.index(name))
        est = self.estimates[name]
        index = self._profiler.names.index(name)
        low, high = self._profiler.bounds(index) if flat else (-1.0, 1.0)
        side = [v for v in flat if (v < est and lower == low) or (v > est and upper == high)]
        if side:
            warn(
                f"non-monotonic profile for {name}: flat from {min(side):.4g} to {max(side):.4g}, where a "
                "standard deviation of 0 fits better and the correlation has no effect"
            )

    def _at_bound(self, name: str, v: np.ndarray, target: float) -> bool:
        """Whether the trace ends at the parameter's bound on that side (a standard deviation
        or ``sigma`` at 0, a correlation at its limit)."""
        lower, upper = self._profiler.bounds(self._profiler.names.index(name))
        if target < 0:
            return bool(v[0] <= lower) if math.isfinite(lower) else False
        return bool(v[-1] >= upper) if math.isfinite(upper) else False

    def _repr_html_(self) -> str:
        return profile_html(self)

    def plot(self, kind: str = "zeta", levels=(0.5, 0.8, 0.9, 0.95, 0.99)):
        """lme4's profile plots: zeta against each parameter, or the profile densities."""
        from ..plotting import profile_figure

        return profile_figure(self, kind=kind, levels=levels)


@dataclass(frozen=True, eq=False)
class _Traces:
    """The traces of one profile out to ``cutoff``: one task per parameter on a cluster."""

    prof: _Profiler
    cutoff: float

    def run(self, index: int):
        """The trace, and what the worker's profiler learned (optima, failures) for the client.

        The work is done on a private copy of the profiler: tasks may run at once as threads
        sharing ``self`` (a lower deviance than the fit's, then a failed root search, before)."""
        prof = self.prof.private_copy()
        trace = prof.trace(index, self.cutoff)
        return trace, (
            {index: prof.optima.get(index, [])},
            {index: prof.failures.get(index, 0)},
            prof._zero_sd,
        )


def profile(
    fit: LmerFit, which=None, alpha_max: float = 0.001, progress: bool = True, client=None
) -> ProfileResult:
    """Profile the ML deviance of a mixed model over its parameters, as lme4's ``profile``.

    Parameters
    ----------
    fit : LmerFit
    which : list of str, optional
        Parameters to profile, by lme4's names (``"sd_(Intercept)|p"``, ``"sigma"``,
        ``"(Intercept)"``); all by default. ``"theta_"`` selects the variance parameters and
        sigma, ``"beta_"`` the fixed effects.
    alpha_max : float
        The traces reach ``|zeta| >= sqrt(chi2_{1 - alpha_max}(npar))``, npar the number of
        parameters, as lme4's ``alphamax``.
    progress : bool
        Show a progress bar (only when standard error is a terminal).
    client : dask.distributed.Client, optional
        Profile the parameters on a Dask cluster, one task per parameter (their traces are
        independent); the same traces as the serial run.
    """
    fit.require_rows("profile")
    prof = _Profiler(fit)
    indices = _select(prof.names, which, prof.nvar)
    cutoff = math.sqrt(stats.chi2.ppf(1 - alpha_max, len(prof.names)))
    bar = progress_bar(len(indices), progress, "profile", "param")
    try:
        if client is not None:
            results = map_on_client(
                client, _Traces.run, _Traces(prof, cutoff), indices, [1] * len(indices), bar
            )
            traces = [trace for trace, _ in results]
            for _, learned in results:
                prof.learn(*learned)
        else:
            traces = []
            for index in indices:
                traces.append(prof.trace(index, cutoff))
                bar.update(1)
    finally:
        bar.close()
    table, estimates = trace_table(prof, indices, traces)
    return ProfileResult(table=table, estimates=estimates, _profiler=prof)


def trace_table(prof, indices, traces) -> tuple[pd.DataFrame, pd.Series]:
    """The traces as one long table (parameter, value, zeta) and the estimates of the profiled
    parameters, each trace checked (:func:`_check_trace`)."""
    rows = [(prof.names[i], value, zeta) for i, trace in zip(indices, traces) for value, zeta in trace]
    table = pd.DataFrame(rows, columns=["parameter", "value", "zeta"])
    estimates = pd.Series(prof.estimates[indices], index=[prof.names[i] for i in indices], name="estimate")
    for index, trace in zip(indices, traces):
        _check_trace(prof, index, trace)
    return table, estimates


def _check_trace(prof: ZetaTracer, index: int, trace: list[tuple[float, float]]) -> None:
    """Warn, as lme4 does, where a profile is not monotonic or a re-optimization failed."""
    name = prof.names[index]
    zeta = np.array([z for _, z in trace])
    if np.any(np.diff(zeta) < -1e-4):
        warn(f"non-monotonic profile for {name}")
    if prof.failures.get(index):
        warn(f"profile of {name}: {prof.failures[index]} re-optimizations did not converge")
    deviances = [o.deviance for o in prof.optima.get(index, [])]
    if deviances and min(deviances) < prof.dev_min - 1e-6:
        warn(
            f"profiling {name} found a lower deviance ({min(deviances):.6f}) than the fit's "
            f"({prof.dev_min:.6f}): the fit is not at the optimum"
        )


def _select(names: list[str], which, nvar: int) -> list[int]:
    if which is None:
        return list(range(len(names)))
    if isinstance(which, str):
        which = [which]
    out = []
    for w in which:
        if w == "theta_":
            out += list(range(nvar + 1))
        elif w == "beta_":
            out += list(range(nvar + 1, len(names)))
        elif w in names:
            out.append(names.index(w))
        else:
            raise ValueError(f"no parameter {w!r} to profile; the parameters are: {', '.join(names)}")
    return sorted(set(out))
