"""A residual standard deviation that goes to 0: the boundary ``sigma = 0`` of a structured term
that can take up the whole covariance of its groups.

A term with at least as many random effects per level as the level has rows (``toep(times + 0 |
id)`` with one row per time) models each group's covariance as ``V_g = sigma^2 (Z_g T T' Z_g' +
I)``, and ``Z_g T T' Z_g'`` alone can be any covariance of the structure. With ``sigma``
profiled out and ``theta`` the template relative to it, ``sigma -> 0`` is ``theta -> infinity``
along a ray ``c theta_0``. The criterion tends there to that of the model without a residual,

    V_g = s^2 W_g,   W_g = Z_g T T' Z_g',   T = T(theta_0),

whose profiled criterion (``s^2`` out, ``beta`` by generalized least squares) is

    ML:   sum_g log|W_g| + n (1 + log(2 pi rho^2 / n))
    REML: sum_g log|W_g| + log|A| + (n - p) (1 + log(2 pi rho^2 / (n - p)))

with ``A = sum_g X_g' W_g^-1 X_g`` and ``rho^2`` the generalized residual sum of squares. It is
the same for every point of the ray, so one scale of ``theta_0`` is fixed at 1. For a structure
with few parameters (Toeplitz, compound symmetry) that model is not the structured model with a
residual, and its likelihood can be higher: the supremum is then on the boundary ``sigma = 0``,
which ``theta`` never reaches (BOBYQA walks out along the ray and stops short; glmmTMB stops
elsewhere).

For a model whose random-effects terms all share the grouping factor of such a term (``(1 | id)
+ ar1(times + 0 | id)`` too), the boundary model is fitted here (its groups' ``W_g`` are small
and dense, padded to the largest group to be handled at once), from the optimizer's point and
from the identity templates, and kept where its criterion is lower than the optimizer's. The
fit reports it at ``theta = SCALE_CAP theta_0``, so ``sigma`` is ``1 / SCALE_CAP`` of the
term's largest standard deviation and the criterion is within ``O(SCALE_CAP^-2)`` of the
boundary's (3e-6 on the long_ar1 data set's Toeplitz model); larger ``theta`` lose more than
that to rounding in the penalized residual sum of squares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..covariance.layout import ThetaLayout
from ..numerics.convergence import IMPROVE_TOL, make_check, scaled_derivatives
from ..numerics.optimize import OptSummary, minimize_theta, polish
from ..numerics.restarts import EXACT, theta_names

__all__ = ["SCALE_CAP", "BoundaryModel", "boundary_optimum"]

SCALE_CAP = 1e3  # theta's largest scale on the boundary: sigma at 1/1000 of the term's largest SD


@dataclass(frozen=True)
class BoundaryModel:
    """The model without a residual (module docs) of random-effects terms on one grouping
    factor, one of them saturating, its groups padded to ``m`` rows (the most a group has):
    ``Z`` one (G, m, k_t) array per term, ``X`` (G, m, p), ``y`` (G, m), ``pad`` (G, m) true on
    the padding, whose rows get a unit variance and no data. With several terms, ``W_g`` is
    the sum of their ``Z_g T T' Z_g'``."""

    layout: ThetaLayout
    saturating: int  # the index of the saturating term
    Z: tuple[np.ndarray, ...]
    X: np.ndarray
    y: np.ndarray
    pad: np.ndarray
    n: int
    reml: bool

    @classmethod
    def of(cls, design, reml: bool, layout: ThetaLayout) -> BoundaryModel | None:
        """The boundary model of ``design``; None unless its random-effects terms share one
        grouping factor and one of them, a structured term, has at least as many random
        effects per level as the level has rows."""
        terms = design.reterms
        if not terms or any(not np.array_equal(t.refs, terms[0].refs) for t in terms[1:]):
            return None
        refs = np.asarray(terms[0].refs)
        rows = np.bincount(refs, minlength=len(terms[0].levels))
        saturated = [t.covariance is not None and rows.max() <= t.z.shape[1] for t in terms]
        if not any(saturated) or rows.min() == 0:
            return None
        order = np.argsort(refs, kind="stable")
        slot = np.arange(len(refs)) - np.repeat(np.cumsum(rows) - rows, rows)
        g = refs[order]
        G, m = len(rows), int(rows.max())
        y = design.y if design.offset is None else design.y - design.offset
        X, Y = np.zeros((G, m, design.X.shape[1])), np.zeros((G, m))
        X[g, slot], Y[g, slot] = design.X[order], y[order]
        Z = []
        for t in terms:
            Zt = np.zeros((G, m, t.z.shape[1]))
            Zt[g, slot] = t.z[order]
            Z.append(Zt)
        pad = np.ones((G, m), dtype=bool)
        pad[g, slot] = False
        return cls(layout, saturated.index(True), tuple(Z), X, Y, pad, len(refs), reml)

    def criterion(self, theta: np.ndarray) -> float:
        """The profiled criterion of the model without a residual at the templates of ``theta``."""
        G, m = self.pad.shape
        W = np.zeros((G, m, m))
        for Z, T in zip(self.Z, self.layout.templates(theta)):
            ZT = Z @ T
            W += ZT @ np.swapaxes(ZT, 1, 2)
        idx = np.arange(m)
        W[:, idx, idx] += self.pad
        try:
            L = np.linalg.cholesky(W)
        except np.linalg.LinAlgError:
            return np.inf
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
        wx = np.linalg.solve(L, self.X)  # L^-1 X_g
        wy = np.linalg.solve(L, self.y[..., None])[..., 0]
        A = np.einsum("gia,gib->ab", wx, wx)
        b = np.einsum("gia,gi->a", wx, wy)
        try:
            beta = np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            return np.inf
        rho2 = float(np.sum(wy * wy) - b @ beta)
        if not rho2 > 0:
            return np.inf
        if not self.reml:
            return logdet + self.n * (1.0 + np.log(2.0 * np.pi * rho2 / self.n))
        dof = self.n - len(b)
        return logdet + float(np.linalg.slogdet(A)[1]) + dof * (1.0 + np.log(2.0 * np.pi * rho2 / dof))


def boundary_optimum(
    fn: Callable[[np.ndarray], float], opt: OptSummary, layout, design, reml: bool
) -> tuple[OptSummary, list[str]] | None:
    """The optimum on the boundary ``sigma = 0`` (module docs), checked, and the fit's note;
    None where the model has no such boundary or the boundary is not lower than ``opt``."""
    model = BoundaryModel.of(design, reml, layout)
    if model is None:
        return None
    scales = np.flatnonzero(np.concatenate([s.scale_mask for s in layout.structures]))
    lo = layout.offsets[model.saturating]
    own = np.flatnonzero(layout.structures[model.saturating].variance_mask) + lo
    searches = []
    for theta0 in _starts(opt.theta, layout, model.saturating):
        j = int(own[np.argmax(theta0[own])])
        start = _normalized(theta0, scales, j)
        searches.append((_fixed_minimum(model.criterion, start, j, layout.lower()), j))
    sub, j = min(searches, key=lambda found: found[0].fmin)
    direction = sub.theta
    theta = direction.copy()
    theta[scales] *= SCALE_CAP
    fmin = fn(theta)
    if not fmin < opt.fmin - IMPROVE_TOL:
        return None
    reached = OptSummary(opt.initial, theta, fmin, opt.feval + sub.feval, "sigma -> 0", sub.converged)
    check = _check(model, direction, sub.fmin, layout, design.reterms, j)
    term = design.reterms[model.saturating]
    note = (
        f"the residual standard deviation goes to 0 (a boundary): the {term.covariance.label} term "
        f"on {term.group!r} has as many random effects per group as observations, and the "
        f"likelihood is highest without a residual; the estimates are those at sigma = "
        f"1/{SCALE_CAP:g} of the term's largest standard deviation"
    )
    return replace(reached, check=check), [note]


def _starts(theta: np.ndarray, layout, saturating: int) -> list[np.ndarray]:
    """Where the boundary model's search starts: the optimizer's point (where the saturating
    term's scales are not all 0) and the identity templates."""
    lo, hi = layout.offsets[saturating], layout.offsets[saturating + 1]
    own = layout.structures[saturating].variance_mask
    starts = [layout.start()]
    if np.all(np.isfinite(theta)) and np.any(theta[lo:hi][own] > 0):
        starts.insert(0, np.asarray(theta, dtype=float))
    return starts


def _fixed_minimum(criterion: Callable, start: np.ndarray, j: int, lower: np.ndarray) -> OptSummary:
    """The minimum of ``criterion`` over every coordinate but ``j`` (held at ``start[j]``),
    as an OptSummary of the whole vector."""
    free = np.arange(len(start)) != j

    def fixed(x: np.ndarray) -> float:
        theta = start.copy()
        theta[free] = x
        return criterion(theta)

    sub = polish(fixed, minimize_theta(fixed, start[free], lower[free]), lower[free], EXACT)
    theta = start.copy()
    theta[free] = sub.theta
    return replace(sub, initial=start, theta=theta)


def _normalized(theta: np.ndarray, scales: np.ndarray, j: int) -> np.ndarray:
    """``theta`` with its scales divided by scale ``j`` (the other parameters kept)."""
    out = theta.copy()
    out[scales] /= theta[j]
    return out


def _check(model: BoundaryModel, direction: np.ndarray, fmin: float, layout, reterms, j: int):
    """The convergence check of the boundary model at ``direction``, coordinate ``j`` held as a
    bound (along the ray the criterion is flat)."""
    scale = np.ones(len(direction))
    g, H = scaled_derivatives(model.criterion, direction, fmin, scale)
    at = direction <= layout.lower()
    at[j] = True
    g[j] = 0.0
    names = theta_names(reterms, layout)
    source = f"finite differences of the criterion without a residual ({names[j]} fixed at 1)"
    return make_check(names, direction, g, scale, H, (at, np.zeros_like(at)), fmin, source)
