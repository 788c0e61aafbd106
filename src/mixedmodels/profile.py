"""Profile likelihood of a linear mixed model and the confidence intervals read from it.

As lme4's ``profile.merMod``, the profile is of the ML deviance (a REML fit is refitted by ML
first). Each parameter ``p`` (the standard deviations and correlations of the random effects,
``sigma``, each fixed effect) is held at a sequence of values; the others are re-optimized; and

    zeta(p) = sign(p - p_hat) sqrt(dev(p) - dev(p_hat))

is recorded. A ``level`` interval is where ``|zeta| <= z_{(1+level)/2}``.

- Variance parameters: with ``psi`` the standard deviations and correlations (theta order)
  and ``sigma``, ``theta = chol(cov(psi)) / sigma`` and, with ``beta`` profiled out,

      dev(psi, sigma) = log|L(theta)|^2 + r2(theta) / sigma^2 + n log(2 pi sigma^2),

  minimized over all but the held parameter.
- Fixed effect ``beta_j``: the model with ``y - beta_j x_j`` as response and ``x_j`` dropped
  from ``X``, its ML criterion minimized over theta (an offset formulation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import nlopt
import numpy as np
import pandas as pd
from scipy import interpolate, optimize, stats

from .cluster import map_on_client
from .covariance import sdcor_from_theta, theta_from_sdcor
from .objective import criterion
from .optimize import minimize_theta
from .pls import PLS
from .printing import html_pre
from .progress import progress_bar

__all__ = ["ProfileResult", "profile"]

MAX_POINTS = 40  # per direction


class _Profiler:
    """Deviance with one parameter held, minimized over the others."""

    def __init__(self, fit):
        from .lmer import fit_pls

        ml = (
            fit
            if not fit.reml
            else fit_pls(fit.formula, fit.design, fit.pls, reml=False, start=fit.opt.theta)
        )
        self.ml = ml
        self.pls, self.n = ml.pls, ml.nobs
        self.layout = ml.pls.layout
        self.dev_min = ml.objective
        self.nvar = self.layout.ntheta
        sdcor = sdcor_from_theta(self.layout, ml.opt.theta[None], np.array([ml.sigma]))[0]
        self.psi_hat = np.append(sdcor, ml.sigma)
        self.names = [*ml.varpar_names, "sigma", *ml.fixef_names]
        self.estimates = np.append(self.psi_hat, ml.fixef.to_numpy())
        diag = self.layout.diagonal_mask()
        self.lower = np.append(np.where(diag, 0.0, -1.0), 1e-12 * ml.sigma)
        self.upper = np.append(np.where(diag, np.inf, 1.0), np.inf)
        self._start: dict[int, np.ndarray] = {}

    # ----------------------------------------------------------- deviances
    def dev_psi(self, psi: np.ndarray) -> float:
        """ML deviance at standard deviations/correlations and sigma, beta profiled out."""
        sigma = psi[-1]
        theta = theta_from_sdcor(self.layout, psi[:-1], sigma)
        if theta is None or not sigma > 0:
            return math.inf
        f = self.pls.factor(theta, reuse=True)
        if f is None:
            return math.inf
        return f.logdet_L + f.r2 / sigma**2 + self.n * math.log(2 * math.pi * sigma**2)

    def dev_var(self, j: int, value: float) -> float:
        """Deviance with variance parameter j (or sigma, j = nvar) held at value."""
        free = [i for i in range(self.nvar + 1) if i != j]
        # from the estimates, not the last point: a warm start far out along the trace (a
        # standard deviation near 0) can leave BOBYQA in a poor local search
        start = self.psi_hat[free]
        psi = self.psi_hat.copy()
        psi[j] = value
        best = [None, math.inf]

        def fn(x, grad):
            psi[free] = x
            v = self.dev_psi(psi)
            if v < best[1]:
                best[0], best[1] = x.copy(), v
            return v if math.isfinite(v) else 1e300

        opt = nlopt.opt(nlopt.LN_BOBYQA, len(free))
        opt.set_min_objective(fn)
        lo, hi = self.lower[free], self.upper[free]
        opt.set_lower_bounds(lo)
        opt.set_upper_bounds(hi)
        opt.set_ftol_abs(1e-10)
        opt.set_xtol_abs(1e-10)
        opt.set_maxeval(5000)
        x0 = np.clip(start, lo, hi)
        opt.set_initial_step(np.maximum(0.2 * np.abs(x0), 1e-3 * self.ml.sigma))
        try:
            x = opt.optimize(x0)
        except nlopt.RoundoffLimited:  # stopped by rounding: the best point it saw
            x = best[0] if best[0] is not None else x0
        value_min = fn(x, None)
        return value_min

    @cached_property
    def _offset_parts(self):
        X = self.ml.design.X
        return [(np.delete(X, j, axis=1), X[:, j]) for j in range(X.shape[1])]

    def dev_beta(self, j: int, value: float) -> float:
        """Deviance with fixed effect j held at value: the offset model refitted by ML."""
        X, xj = self._offset_parts[j]
        y = self.ml.design.y - value * xj
        pls = PLS(self.ml.design.reterms, X, y)
        start = self._start.get(self.nvar + 1 + j, self.ml.opt.theta)

        def objective(theta):
            return criterion(pls.factor(theta, reuse=True), pls.n, pls.p, False)

        opt = minimize_theta(objective, start, self.layout.lower())
        self._start[self.nvar + 1 + j] = opt.theta
        return opt.fmin

    def deviance(self, index: int, value: float) -> float:
        if index <= self.nvar:
            return self.dev_var(index, value)
        return self.dev_beta(index - self.nvar - 1, value)

    def zeta(self, index: int, value: float) -> float:
        est = self.estimates[index]
        dev = self.deviance(index, value)
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

    # ------------------------------------------------------------ stepping
    def trace(self, index: int, cutoff: float) -> list[tuple[float, float]]:
        """(value, zeta) points from the estimate out to |zeta| >= cutoff or a bound, both ways."""
        est = self.estimates[index]
        lo, hi = self.bounds(index)
        points = [(est, 0.0)]
        delta = cutoff / 8
        for direction in (-1.0, 1.0):
            self._start.pop(index, None)
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
                step = min(delta / slope, 4 * step) if slope > 0 else 2 * step
                value, zeta = nxt, z
        points.sort()
        return points


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
    _zeta: Callable = field(repr=False)

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
        for name in self.parameters:
            t = self.trace(name)
            v, zeta = t.value.to_numpy(), t.zeta.to_numpy()
            rows[name] = (self._limit(name, v, zeta, -z), self._limit(name, v, zeta, z))
        out = pd.DataFrame.from_dict(rows, orient="index", columns=[f"{100 * a:g} %", f"{100 * (1 - a):g} %"])
        return out

    def _limit(self, name: str, v: np.ndarray, zeta: np.ndarray, target: float) -> float:
        side = zeta <= target if target < 0 else zeta >= target
        if not side.any():
            return float(v[0] if target < 0 else v[-1]) if self._at_bound(name, v, target) else math.nan
        i = np.flatnonzero(side)[-1] if target < 0 else np.flatnonzero(side)[0] - 1
        a, b = v[i], v[i + 1]

        def gap(x: float) -> float:
            return self._zeta(name, x) - target

        ga, gb = gap(a), gap(b)
        if ga * gb > 0:  # re-optimized ends disagree with the trace by rounding: interpolate it
            return float(np.interp(target, zeta[i : i + 2], v[i : i + 2]))
        return float(optimize.brentq(gap, a, b, xtol=1e-10 * (1 + abs(a))))

    def _at_bound(self, name: str, v: np.ndarray, target: float) -> bool:
        if target < 0 and (name.startswith("sd_") or name == "sigma"):
            return v[0] <= 0.0
        if name.startswith("cor_"):
            return v[0] <= -1.0 if target < 0 else v[-1] >= 1.0
        return False

    def _repr_html_(self) -> str:
        return html_pre(f"Profile of {len(self.parameters)} parameters\n{self.confint().to_string()}")

    def plot(self, kind: str = "zeta", levels=(0.5, 0.8, 0.9, 0.95, 0.99)):
        """lme4's profile plots: zeta against each parameter, or the profile densities."""
        from .plotting import profile_figure

        return profile_figure(self, kind=kind, levels=levels)


@dataclass(frozen=True, eq=False)
class _Traces:
    """The traces of one profile out to ``cutoff``: one task per parameter on a cluster."""

    prof: _Profiler
    cutoff: float

    def run(self, index: int) -> list[tuple[float, float]]:
        return self.prof.trace(index, self.cutoff)


def profile(fit, which=None, alpha_max: float = 0.001, progress: bool = True, client=None) -> ProfileResult:
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
    prof = _Profiler(fit)
    indices = _select(prof.names, which, prof.nvar)
    cutoff = math.sqrt(stats.chi2.ppf(1 - alpha_max, len(prof.names)))
    bar = progress_bar(len(indices), progress, "profile", "param")
    try:
        if client is not None:
            traces = map_on_client(
                client, _Traces.run, _Traces(prof, cutoff), indices, [1] * len(indices), bar
            )
        else:
            traces = []
            for index in indices:
                traces.append(prof.trace(index, cutoff))
                bar.update(1)
    finally:
        bar.close()
    rows = [(prof.names[i], value, zeta) for i, trace in zip(indices, traces) for value, zeta in trace]
    table = pd.DataFrame(rows, columns=["parameter", "value", "zeta"])
    estimates = pd.Series(prof.estimates[indices], index=[prof.names[i] for i in indices], name="estimate")
    lookup = {prof.names[i]: i for i in indices}

    def zeta(name: str, value: float) -> float:
        return prof.zeta(lookup[name], value)

    return ProfileResult(table=table, estimates=estimates, _zeta=zeta)


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
