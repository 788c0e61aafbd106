"""Profile confidence intervals of a glm's coefficients, as R's ``confint.glm`` (MASS's
``profile.glm``, and in R 4.4 ``stats``).

For coefficient ``beta_j`` held at ``b``, the other coefficients are refitted by IRLS with
``x_j b`` moved into the offset (warm-started at the previous point's linear predictor). The
signed root of the deviance's increase over the dispersion,

    zeta(b) = sign(b - beta_j) sqrt((D(b) - D) / phi),

is computed at ``b = beta_j -+ k delta se_j``, ``k = 1, 2, ...`` (at most 9 steps each way), until
``|zeta|`` passes ``zmax``: with ``alpha = (1 - level) / 4``, ``zmax^2`` is the ``1 - alpha``
quantile of chi^2_1 (binomial, Poisson) or of F(1, n - p) (estimated dispersion), and
``delta = zmax / 5``. A cubic interpolating spline of ``zeta`` against ``b`` (Forsythe, Malcolm
and Moler's end conditions: its third derivative at each end is that of the cubic through the
four points there), evaluated on ``3 m`` equally spaced ``b`` (``m`` points), is inverted
linearly at the normal quantiles of ``(1 -+ level) / 2``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from ..numerics.irls import irls

if TYPE_CHECKING:
    from ..fixed.glm import GlmFit

__all__ = ["fmm_spline", "profile_confint", "profile_zeta"]

MAXSTEPS = 10


class ProfileError(RuntimeError):
    """Profiling found a lower deviance than the fit's: the fit had not converged."""


def _zmax(fit: GlmFit, alpha: float) -> float:
    if fit.estimates_dispersion:
        return math.sqrt(stats.f.ppf(1 - alpha, 1, len(fit.y) - len(fit.names)))
    return math.sqrt(stats.chi2.ppf(1 - alpha, 1))


def profile_zeta(fit: GlmFit, j: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Values ``b`` of coefficient ``j`` (a kept column) and ``zeta(b)``, sorted by ``zeta``."""
    kept = list(fit.kept)
    X = fit.design.X
    held = _separated_columns(fit)  # held at the fit's stated point (they would run off again)
    others = [k for k in kept if k != j and k not in held]
    beta, se = fit.coef.to_numpy(), fit.se.to_numpy()
    base = fit.offset + X[:, held] @ beta[held]
    zmax = _zmax(fit, alpha)
    delta = zmax / 5
    bs, zs = [beta[j]], [0.0]
    for sign in (-1.0, 1.0):
        eta = X[:, kept] @ beta[kept] + fit.offset
        z, step = 0.0, 0
        while (step := step + 1) < MAXSTEPS and abs(z) < zmax:
            b = beta[j] + sign * step * delta * se[j]
            offset = base + X[:, j] * b
            res = irls(X[:, others], fit.y, fit.family, fit.prior_weights, offset, etastart=eta)
            eta = X[:, others] @ res.beta + offset
            zz = (res.deviance - fit.deviance) / fit.dispersion
            if zz <= -1e-3:
                raise ProfileError(
                    f"profiling {fit.names[j]} found a lower deviance: the fit had not converged"
                )
            z = sign * math.sqrt(max(zz, 0.0))
            bs.append(b)
            zs.append(z)
    order = np.argsort(zs, kind="stable")
    return np.asarray(bs)[order], np.asarray(zs)[order]


def _separated_columns(fit: GlmFit) -> list[int]:
    """The columns of ``X`` of the fit's separated coefficients (:mod:`mixedmodels.numerics.separation`)."""
    sep = fit.separation
    return [] if sep is None else [fit.names.index(c) for c in sep.coefficients]


def _means_of_ties(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` sorted and made unique, ``y`` averaged over equal ``x``."""
    ux, inverse = np.unique(x, return_inverse=True)
    return ux, np.bincount(inverse, weights=y) / np.bincount(inverse)


def fmm_spline(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """The interpolating cubic spline with Forsythe-Malcolm-Moler end conditions, at ``xout``.

    Its second derivatives ``M`` solve, with ``h_i = x_{i+1} - x_i`` and slopes ``s_i``,
    ``h_{i-1} M_{i-1} + 2 (h_{i-1} + h_i) M_i + h_i M_{i+1} = 6 (s_i - s_{i-1})`` inside and
    ``(M_1 - M_0) / h_0 = 6 f[x_0..x_3]`` (likewise at the right end; 0 with three points).
    """
    m = len(x)
    h = np.diff(x)
    s = np.diff(y) / h
    M: np.ndarray = np.zeros(m)
    if m >= 3:
        A = np.zeros((m, m))
        rhs = np.zeros(m)
        for i in range(1, m - 1):
            A[i, i - 1 : i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
            rhs[i] = 6 * (s[i] - s[i - 1])
        A[0, :2] = -1 / h[0], 1 / h[0]
        A[-1, -2:] = -1 / h[-1], 1 / h[-1]
        if m >= 4:
            rhs[0] = 6 * _third_divided_difference(x[:4], y[:4])
            rhs[-1] = 6 * _third_divided_difference(x[-4:], y[-4:])
        M = np.linalg.solve(A, rhs)
    k = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, m - 2)
    hk, left, right = h[k], xout - x[k], x[k + 1] - xout
    return (
        M[k] * right**3 / (6 * hk)
        + M[k + 1] * left**3 / (6 * hk)
        + (y[k] / hk - M[k] * hk / 6) * right
        + (y[k + 1] / hk - M[k + 1] * hk / 6) * left
    )


def _third_divided_difference(x: np.ndarray, y: np.ndarray) -> float:
    d = y.astype(float)
    for order in range(1, 4):
        d = (d[1:] - d[:-1]) / (x[order:] - x[:-order])
    return float(d[0])


def _interval(b: np.ndarray, zeta: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """The ``b`` where the spline of ``zeta`` against ``b`` crosses ``cutoffs`` (NaN beyond it)."""
    points, values = _means_of_ties(b, zeta)
    grid = np.linspace(points[0], points[-1], 3 * len(points))
    curve = fmm_spline(points, values, grid)
    cz, cb = _means_of_ties(curve, grid)
    return np.interp(cutoffs, cz, cb, left=np.nan, right=np.nan)


def profile_confint(fit: GlmFit, level: float = 0.95) -> np.ndarray:
    """Lower and upper bounds of every coefficient (NaN rows for aliased ones), shape (p, 2); a
    separated coefficient's run-off side is infinite (its other side NaN: not profiled), and
    the others are profiled with the separated ones held at their stated point."""
    alpha = (1 - level) / 4
    cutoffs = stats.norm.ppf([(1 - level) / 2, (1 + level) / 2])
    bounds = np.full((len(fit.names), 2), np.nan)
    held = _separated_columns(fit)
    for j in fit.kept:
        if j in held:  # infinite on its run-off side; the other end is not profiled
            assert fit.separation is not None
            runs = fit.separation.signs()[fit.names[j]]
            bounds[j] = [-np.inf, np.nan] if runs == "-infinity" else [np.nan, np.inf]
            continue
        b, zeta = profile_zeta(fit, j, alpha)
        bounds[j] = _interval(b, zeta, cutoffs)
    return bounds
