"""Bounded minimization of smooth functions with their gradients: projected quasi-Newton steps,
for one problem or many at once.

Each problem's Hessian ``H`` starts from a given matrix or from forward differences of the
gradient (``d`` evaluations, steps ``1e-4 (1 + |x_j|)``) and is then updated from each accepted
step ``s`` and the change ``y`` of the gradient by the symmetric rank-one formula, which keeps it
an estimate of the Hessian where the function is not convex.
Each step solves ``|H| s = -g`` on the coordinates not held at their lower bound (one at its
bound with a positive gradient is held), ``|H|`` the Hessian with its eigenvalues made positive;
the step is shortened to stop at the first bound it meets (a coordinate within ``NEAR_BOUND``
of its bound, where such a step leaves it, is clipped onto it instead: it would shorten every
step to nothing, and the problem would stop there as converged) and halved until the function
decreases by at least a small fraction of what the gradient predicts (points where it is not
finite are halved away from). ``fg(X, rows)`` evaluates the points ``X`` (m, d) of problems
``rows`` in one call: a batch of problems is one batched computation per step.

A problem has converged when the decrease its quadratic model predicts, ``-g's / 2``, is below
``ftol * max(1, |f|)``, or its step is below ``xtol * (1 + |x|)``; one whose line search fails
stops (converged when the model's decrease was already tiny).

A problem that stops with a coordinate on (or within ``NEAR_BOUND`` of) its bound is checked by
the escape of :mod:`mixedmodels.numerics.newton`
(:func:`~mixedmodels.numerics.newton.inward_points`: a diagonal entry of ``theta`` on its bound
0 has a zero gradient whatever the curvature): points inward
along the coordinate are tried, and from the first that is lower the steps start again.
A step that had to be halved below ``POOR_STEP`` of its length (the quadratic model was far
off, as where the function is far from convex) starts the Hessian again from differences at
the new point. The line search and the floor of the eigenvalues differ from Newton's on
purpose (:func:`_line_search`, :func:`_steps` say why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .newton import MAX_ESCAPES, inward_points

__all__ = ["GradientResult", "minimize_gradient", "minimize_gradient_batch"]

NEAR_BOUND = 1e-8  # checked as on its bound: a step shortened to a bound lands within rounding of it
POOR_STEP = 1.0 / 16.0  # a step halved this far restarts the Hessian from differences
ManyFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class GradientResult:
    """Where each problem stopped: points (B, d), values and gradients, whether it converged,
    its last Hessian (B, d, d) and the evaluations (points evaluated, all problems together)."""

    x: np.ndarray
    fun: np.ndarray
    grad: np.ndarray
    converged: np.ndarray
    hessian: np.ndarray
    nfev: int


def minimize_gradient(
    fg: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, lower: np.ndarray, **options
) -> GradientResult:
    """One problem: ``fg(x)`` returns the value and the gradient (``inf`` where the function
    cannot be evaluated). The result's arrays have a leading axis of length 1."""

    def many(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = [fg(x) for x in X]
        return np.array([f for f, _ in out], dtype=float), np.array([g for _, g in out], dtype=float)

    return minimize_gradient_batch(many, np.atleast_2d(x0), lower, **options)


def minimize_gradient_batch(
    fg: ManyFn,
    x0: np.ndarray,
    lower: np.ndarray,
    H0: np.ndarray | None = None,
    ftol: float = 1e-13,
    xtol: float = 1e-10,
    max_iter: int = 100,
) -> GradientResult:
    """Minimize problems ``b`` from rows ``x0[b]`` subject to ``x >= lower`` (see the module).

    ``H0`` (d, d), the starting Hessian of every problem; forward differences when None.
    """
    count = [0]

    def counted(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count[0] += len(rows)
        return fg(X, rows)

    x = np.maximum(np.array(x0, dtype=float), lower)
    B, d = x.shape
    rows = np.arange(B)
    f, g = counted(x, rows)
    H = np.empty((B, d, d))
    converged = np.zeros(B, dtype=bool)
    todo = np.flatnonzero(np.isfinite(f))
    for _ in range(MAX_ESCAPES + 1):
        if not todo.size:
            break
        H[todo] = _start_hessian(counted, x[todo], g[todo], todo, H0)
        converged[todo] = False
        _descend(counted, x, f, g, H, converged, todo, lower, ftol, xtol, max_iter)
        todo = _inward_points(counted, x, f, g, converged & np.isin(rows, todo), lower)
    return GradientResult(x, f, g, converged, H, count[0])


def _start_hessian(fg: ManyFn, x: np.ndarray, g: np.ndarray, rows: np.ndarray, H0) -> np.ndarray:
    """``H0`` for each problem, or forward differences of the gradient (symmetrized; the identity
    where a point cannot be evaluated)."""
    m, d = x.shape
    if H0 is not None:
        return np.broadcast_to(H0, (m, d, d)).copy()
    h = 1e-4 * (1.0 + np.abs(x))  # (m, d)
    points = x[:, None, :] + h[:, None, :] * np.eye(d)[None]  # (m, d, d): problem, point, coordinate
    fp, gp = fg(points.reshape(-1, d), np.repeat(rows, d))
    H = (gp.reshape(m, d, d) - g[:, None, :]) / h[:, :, None]  # row j: d g / d x_j
    H = (H + H.transpose(0, 2, 1)) / 2.0
    bad = ~np.all(np.isfinite(fp.reshape(m, d)), axis=1)
    H[bad] = np.eye(d)
    return H


def _descend(fg, x, f, g, H, converged, rows, lower, ftol, xtol, max_iter) -> None:
    """Quasi-Newton steps for problems ``rows`` until each converges or stops (in place)."""
    act = rows.copy()
    for _ in range(max_iter):
        if not act.size:
            return
        free = ~((x[act] <= lower) & (g[act] > 0))
        s = _steps(g[act], H[act], free)
        predicted = -np.einsum("bd,bd->b", g[act], s) / 2.0
        small = predicted < ftol * np.maximum(1.0, np.abs(f[act]))
        converged[act[small]] = True
        act, s, predicted = act[~small], s[~small], predicted[~small]
        if not act.size:
            return
        ok, xn, fn, gn, t = _line_search(fg, x[act], f[act], g[act], s, act, lower)
        failed = act[~ok]
        converged[failed] = predicted[~ok] < 1e-6 * np.maximum(1.0, np.abs(f[failed]))
        act, xn, fn, gn, t = act[ok], xn[ok], fn[ok], gn[ok], t[ok]
        dx, dg = xn - x[act], gn - g[act]
        x[act], f[act], g[act] = xn, fn, gn
        tiny = np.max(np.abs(dx) / (1.0 + np.abs(xn)), axis=1) < xtol
        converged[act[tiny]] = True
        H[act] = _sr1_update(H[act], dx, dg)
        act, t = act[~tiny], t[~tiny]
        poor = act[t < POOR_STEP]  # the quadratic model was far off: differences again
        if poor.size:
            H[poor] = _start_hessian(fg, x[poor], g[poor], poor, None)


def _steps(g: np.ndarray, H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``-|H_ff|^{-1} g_f`` for each problem on its free coordinates, zero on the held ones.

    The eigenvalues of ``|H|`` are floored at ``1e-8 max(1, max|lambda|)``: higher than
    :func:`mixedmodels.numerics.newton._newton_step`'s ``1e-10 max|lambda|`` and never below ``1e-8``,
    on purpose. A rank-one-updated estimate can be near singular by accident and these steps
    have no cap on their length, while Newton's Hessian of central differences is accurate and
    its steps are capped. Each floor is pinned by ``tests/test_optimizer_rules.py``; one floor
    for both moves the steps of fits whose floor binds.
    """
    d = g.shape[1]
    Hf = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
    Hf[:, range(d), range(d)] = np.where(free, Hf[:, range(d), range(d)], 1.0)
    vals, vecs = np.linalg.eigh(Hf)
    floor = 1e-8 * np.maximum(1.0, np.max(np.abs(vals), axis=1, keepdims=True))
    vals = np.maximum(np.abs(vals), floor)
    gf = np.where(free, g, 0.0)
    return -np.einsum("bij,bj->bi", vecs, np.einsum("bji,bj->bi", vecs, gf) / vals)


def _line_search(fg, x, f, g, s, rows, lower, max_halvings: int = 40):
    """For each problem the first of ``x + t s`` (``t = t_0, t_0/2, ...``) that decreases ``f``
    enough: whether found, the point, value and gradient, and ``t / t_0``. ``t_0 = 1``, or less where the step
    would cross a bound (the whole step is shortened: its direction stays a descent direction,
    which a step cut off at the bound coordinate by coordinate need not be).

    Enough is Armijo's sufficient decrease, ``f(x + t s) <= f + 1e-4 g'(x + t s - x)``.
    It differs from :func:`mixedmodels.numerics.newton._line_search` on purpose, and each rule is pinned
    by ``tests/test_optimizer_rules.py`` (one rule for both moves the iterates of every fit):
    Newton's steps come from a Hessian of central differences, are projected coordinate by
    coordinate and taken when ``f`` does not increase; these come from an estimated Hessian,
    which can be far off, and a step taken because it did not increase ``f`` lets the
    iteration creep. The gradient at the point taken updates the estimate, so the halvings are
    evaluated one at a time, each with its gradient.
    """
    m = len(rows)
    s = np.where((x <= lower) & (s < 0), 0.0, s)  # a coordinate on its bound cannot go down
    # one within rounding of its bound (where a shortened step left it) would shorten the whole
    # step to nothing, and the problem stop there as converged: the clip puts it on the bound
    rounding = x - lower < NEAR_BOUND
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where((s < 0) & ~rounding, (lower - x) / s, np.inf)
    t0 = np.minimum(1.0, np.min(room, axis=1))
    t = t0.copy()
    ok = np.zeros(m, dtype=bool)
    xn, fn, gn = x.copy(), f.copy(), g.copy()
    pending = np.arange(m)
    for _ in range(max_halvings):
        if not pending.size:
            break
        trial = np.maximum(x[pending] + t[pending, None] * s[pending], lower)
        ft, gt = fg(trial, rows[pending])
        expected = np.einsum("bd,bd->b", g[pending], trial - x[pending])
        good = np.isfinite(ft) & (ft <= f[pending] + 1e-4 * expected)
        done = pending[good]
        ok[done], xn[done], fn[done], gn[done] = True, trial[good], ft[good], gt[good]
        pending = pending[~good]
        t[pending] /= 2.0
    return ok, xn, fn, gn, t / t0


def _sr1_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The symmetric rank-one update of each problem's ``H`` from its step ``s`` and gradient
    change ``y``: ``H + r r' / (r's)``, ``r = y - H s`` (skipped where ``r's`` is tiny). Unlike
    BFGS's it keeps ``H`` an estimate of the Hessian where that is not positive definite."""
    r = y - np.einsum("bij,bj->bi", H, s)
    rs = np.einsum("bd,bd->b", r, s)
    use = np.abs(rs) > 1e-8 * np.linalg.norm(s, axis=1) * np.linalg.norm(r, axis=1)
    out = H.copy()
    if use.any():
        ru = r[use]
        out[use] += ru[:, :, None] * ru[:, None, :] / rs[use][:, None, None]
    return out


def _inward_points(fg, x, f, g, stopped, lower) -> np.ndarray:
    """Problems stopped with a coordinate on (or within ``NEAR_BOUND`` of) its bound where the
    function falls inward, by :func:`mixedmodels.numerics.newton.inward_points` (the one escape from a
    bound of both minimizers; this one's step lands within rounding of a bound, not on it):
    moved (in place, with their gradients) to the first lower point; returns their indices, to
    be minimized again from there."""
    moved, points, values, grads = inward_points(fg, x, f, stopped, lower, near=NEAR_BOUND)
    if moved.size:
        x[moved], f[moved], g[moved] = points, values, grads
    return moved
