"""Bounded minimization of many small smooth functions at once: a projected Newton method.

Each row ``i`` of ``theta`` is a separate problem ``min f_i(theta_i)`` subject to
``theta_i >= lower``; ``fn`` evaluates all of them (or any subset) in one call, which is what
makes a bootstrap of thousands of refits one batched computation (:func:`minimize_one` takes
the same steps on a single problem with a function of one point: a fit's polish). Gradient and Hessian come
from central differences with steps relative to ``|theta|``:

    g_j  = (f(x + h_j e_j) - f(x - h_j e_j)) / (2 h_j)
    H_jj = (f(x + h_j e_j) - 2 f(x) + f(x - h_j e_j)) / h_j^2
    H_jk = (f(x + h_j e_j + h_k e_k) - f(x + h_j e_j) - f(x + h_k e_k) + f(x)) / (h_j h_k)

(the Hessian only shapes the steps; where they stop is set by the gradient, which is central).

The step solves ``|H| s = -g`` on the coordinates not held at their bound (a coordinate at its
bound with a positive gradient is held), with ``|H|`` the Hessian with its eigenvalues made
positive, no longer than ``MAX_STEP (1 + max|theta|)`` in any coordinate (a nearly flat
direction of ``H`` gives a step far past the region where the quadratic model holds), then is
projected onto the bounds and halved until the function does not increase.
A problem is done when the step is below ``xtol * (1 + |theta|)`` or the decrease the
quadratic model predicts is below ``ftol * max(1, |f|)``; problems that are not done
after ``max_iter`` steps, whose function is not finite, or whose step found no decrease while
the model predicted more than ``NOISE * max(1, |f|)``, are reported so the caller can refit
them another way.

A problem that stops with a coordinate on its bound is checked: a diagonal entry of ``theta``
enters the criterion through its square, so on the bound 0 the gradient along it vanishes and
a step cannot tell a minimum from a saddle. Points inward along each such coordinate are tried
(:func:`inward_points`, the one escape from a bound of this module and of
:mod:`mixedmodels.numerics.quasi_newton`), and where one is lower the steps start again from it.

The line search and the floor of the eigenvalues differ from the quasi-Newton steps' on
purpose (:func:`_line_search`, :func:`_newton_step` say why).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

__all__ = ["derivatives_one", "minimize_batch", "minimize_one", "stencil_offsets"]

ESCAPE_STEPS = (0.3, 0.1, 0.03, 0.01)  # inward steps from a bound, relative to 0.1 + max|theta|
MAX_ESCAPES = 2  # restarts of a problem from inside its bounds
ESCAPE_GAIN = 1e-10  # an inward point is lower when below f - ESCAPE_GAIN max(1, |f|)
MAX_STEP = 1.0  # longest step, relative to 1 + max|theta|
NOISE = 1e-10  # a predicted decrease below NOISE |f| that no step achieves is rounding


@functools.lru_cache(maxsize=32)
def stencil_offsets(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stencil's unit offsets (m, d): +-e_j, then e_j + e_k for j < k; and the pairs (j, k)."""
    eye = np.eye(d)
    first, second = np.triu_indices(d, 1)
    offsets = np.concatenate([np.stack([eye, -eye], axis=1).reshape(2 * d, d), eye[first] + eye[second]])
    offsets.setflags(write=False)
    return offsets, first, second


def _stencil(x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Points around each row of ``x`` (R, d): +-h_j e_j, then h_j e_j + h_k e_k for j < k."""
    R, d = x.shape
    offsets, first, second = stencil_offsets(d)
    points = x[:, None, :] + offsets[None, :, :] * h[:, None, :]
    return points.reshape(-1, d), (first, second)


def _derivatives(f0: np.ndarray, F: np.ndarray, h: np.ndarray, pairs) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian from the stencil's values ``F`` (R, m)."""
    R, d = h.shape
    first, second = pairs
    fp, fm = F[:, 0 : 2 * d : 2], F[:, 1 : 2 * d : 2]
    g = (fp - fm) / (2 * h)
    H = np.empty((R, d, d))
    diagonal = np.arange(d)
    H[:, diagonal, diagonal] = (fp - 2 * f0[:, None] + fm) / h**2
    if len(first):
        off = (F[:, 2 * d :] - fp[:, first] - fp[:, second] + f0[:, None]) / (h[:, first] * h[:, second])
        H[:, first, second] = H[:, second, first] = off
    return g, H


def _newton_step(g: np.ndarray, H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Solve |H| s = -g on the free coordinates (held ones get s = 0).

    The eigenvalues of ``|H|`` are floored at ``1e-10 max|lambda|``, relative to the largest
    alone. :func:`mixedmodels.numerics.quasi_newton._steps` floors at ``1e-8 max(1, max|lambda|)``,
    on purpose: this Hessian is of central differences, accurate in every direction, so a
    small eigenvalue is a flat direction of the criterion, taken with the step's length capped
    by ``MAX_STEP``; a rank-one-updated estimate there can be near singular by accident, and
    its steps have no cap. Each floor is pinned by ``tests/test_optimizer_rules.py``; one floor
    for both moves the steps of fits whose floor binds.
    """
    d = g.shape[1]
    diagonal = np.arange(d)
    if free.all():
        Hf = H.copy()
    else:
        Hf = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
        Hf[:, diagonal, diagonal] = np.where(free, Hf[:, diagonal, diagonal], 1.0)
    if not np.isfinite(Hf).all():
        Hf = np.where(np.isfinite(Hf), Hf, 0.0)
    lam, V = np.linalg.eigh(Hf)
    lam = np.abs(lam)
    scale = np.max(lam, axis=1, keepdims=True)
    lam = np.maximum(lam, 1e-10 * np.maximum(scale, 1e-300))
    gf = np.where(free, g, 0.0)
    s = -np.einsum("rij,rj,rkj,rk->ri", V, 1.0 / lam, V, gf)
    return np.where(free, s, 0.0)


def _step(g: np.ndarray, H: np.ndarray, x: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One iteration's steps (R, d) and which of them leave a bound inward (R,).

    A coordinate on its bound with a nonnegative gradient is held, unless the curvature along
    it is negative: a diagonal entry of ``theta`` on its bound 0 has a zero gradient whatever
    lies inward, and there a negative second derivative says the criterion falls inward
    (an optimum just inside the bound, which a step projected onto the bound had overshot).
    Such a coordinate is given the inward step ``ESCAPE_STEPS[0] (0.1 + max|theta|)``, which
    the line search shortens until the criterion falls.
    """
    at_bound = (x <= lower) & (g >= 0)
    curvature = np.diagonal(H, axis1=1, axis2=2)
    inward = at_bound & (curvature < 0)
    s = _capped(_newton_step(g, H, ~(at_bound & ~inward)), x)
    scale = ESCAPE_STEPS[0] * (0.1 + np.max(np.abs(x), axis=1))
    s = np.where(inward, scale[:, None], s)
    return s, np.any(inward, axis=1)


def _capped(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Steps ``s`` (R, d) shortened to at most ``MAX_STEP (1 + max|x|)`` in any coordinate."""
    limit = MAX_STEP * (1.0 + np.max(np.abs(x), axis=1))
    longest = np.max(np.abs(s), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(longest > limit, limit / longest, 1.0)
    return s * factor[:, None]


def _capped_one(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:func:`_capped` of one problem (d,), on Python floats: the same operations (a maximum is
    exact; a step not shortened is ``s`` itself, as ``s * 1.0``); a step that is not finite
    goes through :func:`_capped`."""
    steps, xs = s.tolist(), x.tolist()
    if not steps or not all(map(math.isfinite, steps + xs)):
        return _capped(s[None, :], x[None, :])[0]
    limit = MAX_STEP * (1.0 + max(map(abs, xs)))
    longest = max(map(abs, steps))
    return s * (limit / longest) if longest > limit else s


def _stalled(f_old, f_new, predicted):
    """Steps that changed the function by rounding only, where the model predicted no more than
    the rounding of the criterion either (``NOISE |f|``): a tolerance below what the
    criterion's rounding can resolve is met there."""
    scale = np.maximum(1.0, np.abs(f_old))
    return (f_old - f_new <= 1e-14 * scale) & (predicted <= NOISE * scale)


def minimize_batch(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta0: np.ndarray,
    lower: np.ndarray,
    xtol: float = 1e-9,
    ftol: float = 1e-13,
    max_iter: int = 60,
    rel_step: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimize ``fn(theta[idx], idx)`` row by row from ``theta0``, subject to ``theta >= lower``.

    Parameters
    ----------
    fn : callable
        ``fn(points, rows)``: the function of problem ``rows[i]`` at ``points[i]``.
    theta0 : ndarray (R, d)
        Starting points.
    lower : ndarray (d,)
        Lower bounds (``-inf`` for none).

    Returns
    -------
    theta, fmin, done : ndarrays (R, d), (R,), (R,)
        ``done`` is False for the problems that did not converge (or are not finite).
    """
    theta, f, converged, hessian = _newton_batch(fn, theta0, lower, xtol, ftol, max_iter, rel_step)
    for _ in range(MAX_ESCAPES):
        moved, inward, f_in, _ = inward_points(_values(fn), theta, f, converged, lower, hessian=hessian)
        if not len(moved):
            break
        theta[moved], f[moved], converged[moved], hessian[moved] = _newton_batch(
            _rows_of(fn, moved), inward, lower, xtol, ftol, max_iter, rel_step
        )
    return theta, f, converged


def _rows_of(fn, rows):
    """``fn`` of the problems ``rows``, indexed from 0."""
    return lambda points, index: fn(points, rows[index])


def _newton_batch(fn, theta0, lower, xtol, ftol, max_iter, rel_step):
    """The projected Newton steps of :func:`minimize_batch`, without the check of the bounds.

    Also returns the Hessian at each problem's last point where the steps stopped there (NaN
    for the others).
    """
    theta = np.maximum(np.array(theta0, dtype=float), lower)
    R, d = theta.shape
    rows = np.arange(R)
    hessian = np.full((R, d, d), np.nan)
    f = fn(theta, rows)
    done = ~np.isfinite(f)
    failed = done.copy()
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        x, fx = theta[act], f[act]
        h = rel_step * (np.abs(x) + 0.1)
        points, pairs = _stencil(x, h)
        m = len(points) // len(act)
        F = fn(points, np.repeat(act, m)).reshape(len(act), m)
        g, H = _derivatives(fx, F, h, pairs)
        s, leaving = _step(g, H, x, lower)
        finite = np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(s), axis=1)
        # the decrease the quadratic model predicts for the full step: below the noise, stop
        predicted = -0.5 * np.einsum("ri,ri->r", g, s)
        stop = ~finite | (predicted <= ftol * np.maximum(1.0, np.abs(fx)))
        stop |= np.all(np.abs(s) <= xtol * (1.0 + np.abs(x)), axis=1)
        stop &= ~leaving | ~finite
        go = ~stop
        x_new, f_new, moved = _line_search(fn, act[go], x[go], fx[go], s[go], lower)
        small = np.all(np.abs(x_new - x[go]) <= xtol * (1.0 + np.abs(x[go])), axis=1)
        small |= _stalled(fx[go], f_new, predicted[go])
        theta[act[go]], f[act[go]] = x_new, f_new
        done[act[stop]] = True
        hessian[act[stop]] = H[stop]
        done[act[go]] = small | ~moved
        failed[act] = ~finite
        failed[act[go]] |= ~moved & ~leaving[go] & (predicted[go] > NOISE * np.maximum(1.0, np.abs(fx[go])))
    converged = done & ~failed & np.isfinite(f)
    return theta, f, converged, hessian


def inward_points(
    evaluate: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray | None]],
    x: np.ndarray,
    f: np.ndarray,
    stopped: np.ndarray,
    lower: np.ndarray,
    near: float = 0.0,
    hessian: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The escape from a bound of both minimizers: stopped problems with a coordinate on its
    bound where the function falls inward.

    A diagonal entry of ``theta`` enters the criterion through its square, so on its bound 0
    the gradient along it vanishes whatever the curvature: neither a Newton nor a quasi-Newton
    step can tell a minimum there from a saddle or a maximum. Each coordinate on its bound
    (within ``near`` of it) is put at ``lower + t (0.1 + max|x|)``, for t in ESCAPE_STEPS
    (longest first), one coordinate after another. Where that does not lower the function and
    the ``hessian`` at the point is known, the point is moved along the direction of its most
    negative curvature instead (turned to point inward, its outward components at a bound
    dropped): a template with a zero diagonal entry and a nonzero entry below it is such a
    saddle, left only by moving both. A point is lower when its value is below
    ``f - ESCAPE_GAIN max(1, |f|)``; each problem keeps the first such point.

    The two callers differ in ``near`` and ``hessian``, for reasons of their own steps:
    :func:`minimize_batch` and :func:`minimize_one` project each step onto the bounds
    coordinate by coordinate, so a coordinate that reaches its bound is exactly on it
    (``near = 0``), and their Hessian is of central differences (passed); the quasi-Newton
    steps of :mod:`mixedmodels.numerics.quasi_newton` shorten a step to reach the first bound, whose
    rounding leaves the coordinate within rounding of the bound (a cbpp replicate stopped at
    theta = 1e-16; ``near = NEAR_BOUND``), and their Hessian is a rank-one-updated estimate
    (not passed: its direction of negative curvature moves the glmer fits and power
    simulations of the tests). So a Newton problem that stops short of a bound by rounding is
    not checked (``tests/test_optimizer_rules.py`` pins both rules).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(points, rows)``: the values of problems ``rows`` at ``points`` (m, d), and
        an array with a row for each point kept with the point (a gradient), or None.
    x, f : ndarray (R, d), (R,)
        Where each problem stopped and its value there.
    stopped : ndarray (R,) of bool
        The problems to check (those that converged).
    lower : ndarray (d,)
        Lower bounds (``-inf`` for none).
    near : float
        A coordinate within ``near`` of its finite bound counts as on it.
    hessian : ndarray (R, d, d), optional
        The Hessian at each point (NaN where not known).

    Returns
    -------
    rows, points, values, extra
        The problems whose function falls inward (indices into ``x``, increasing), the first
        lower point of each, its value and what ``evaluate`` gave with it (None if nothing):
        to be minimized again from there.
    """
    on_bound = np.isfinite(lower) & (x <= lower + near)
    stuck = np.flatnonzero(stopped & np.any(on_bound, axis=1))
    if not stuck.size:
        return stuck, x[stuck], f[stuck], None
    x, fx, on_bound = x[stuck], f[stuck], on_bound[stuck]
    best, fbest = x.copy(), fx.copy()
    kept: dict[str, np.ndarray] = {}  # what evaluate gave with each best point
    limit = fx - ESCAPE_GAIN * np.maximum(1.0, np.abs(fx))
    scale = 0.1 + np.max(np.abs(x), axis=1)

    def keep_lower(open_: np.ndarray, trial: np.ndarray) -> None:
        ft, at = evaluate(trial, stuck[open_])
        lower_f = np.isfinite(ft) & (ft < limit[open_])
        best[open_[lower_f]], fbest[open_[lower_f]] = trial[lower_f], ft[lower_f]
        if at is not None:
            extra = kept.setdefault("extra", np.zeros((len(x),) + at.shape[1:]))
            extra[open_[lower_f]] = at[lower_f]

    for j in range(x.shape[1]):
        for t in ESCAPE_STEPS:
            open_ = np.flatnonzero(on_bound[:, j] & (fbest >= limit))
            if not open_.size:
                break
            trial = x[open_].copy()
            trial[:, j] = lower[j] + t * scale[open_]
            keep_lower(open_, trial)
    if hessian is not None:
        v = _negative_curvature(hessian[stuck], on_bound)
        for t in ESCAPE_STEPS:
            open_ = np.flatnonzero(np.any(v != 0, axis=1) & (fbest >= limit))
            if not open_.size:
                break
            keep_lower(open_, np.maximum(x[open_] + t * scale[open_, None] * v[open_], lower))
    moved = np.flatnonzero(fbest < limit)
    extra = kept.get("extra")
    return stuck[moved], best[moved], fbest[moved], None if extra is None else extra[moved]


def _values(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """``fn`` as :func:`inward_points` evaluates: values, nothing kept with them."""
    return lambda points, rows: (fn(points, rows), None)


def _negative_curvature(H: np.ndarray, at_bound: np.ndarray) -> np.ndarray:
    """Unit direction of each Hessian's most negative curvature, pointing inward at the bounds.

    Zero rows where the curvature is not negative (or the Hessian is not known). The sign is
    chosen so the components at a bound are mostly positive; negative ones there are dropped.
    """
    out = np.zeros(H.shape[:2])
    ok = np.flatnonzero(np.isfinite(H).all(axis=(1, 2)))
    if not ok.size:
        return out
    lam, V = np.linalg.eigh(H[ok])
    negative = lam[:, 0] < -1e-8 * np.max(np.abs(lam), axis=1)
    v = V[:, :, 0]
    flip = np.sum(np.where(at_bound[ok], v, 0.0), axis=1) < 0
    v = np.where(flip[:, None], -v, v)
    v = np.where(at_bound[ok] & (v < 0), 0.0, v)
    norm = np.linalg.norm(v, axis=1)
    keep = negative & (norm > 0) & np.any(at_bound[ok] & (v > 0), axis=1)
    out[ok[keep]] = v[keep] / norm[keep, None]
    return out


def minimize_one(
    fn: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    lower: np.ndarray,
    xtol: float = 1e-9,
    ftol: float = 1e-13,
    max_iter: int = 60,
    rel_step: float = 1e-4,
    f0: float | None = None,
    record: dict | None = None,
) -> tuple[np.ndarray, float, bool]:
    """:func:`minimize_batch` of one problem whose function takes one point: the same
    arithmetic, step for step, with the control flow on Python scalars (a batch's masks cost
    more than its steps). The polish of a fit and a refit from a start use it.

    ``fn`` is the function of one point (d,); ``f0``, when given, is its value at ``theta0``
    (not evaluated again). The line search tries the shorter steps one at a time, longest
    first, and stops at the first that does not increase ``fn``: the step :func:`_line_search`
    takes, with fewer evaluations. Returns the point reached, its value and whether it
    converged. ``record``, when given, receives the last point's derivatives (``x``, ``g``, ``H``).

    (A batched function is not evaluated this way: its value at a point can depend, in the
    last bits, on the other points of the batch, so :func:`minimize_batch` keeps its batches
    even for one problem.)
    """
    theta, f, converged = _newton_one(fn, theta0, lower, xtol, ftol, max_iter, rel_step, f0, record)
    for _ in range(MAX_ESCAPES):
        batch = lambda points, rows: (np.array([fn(point) for point in points]), None)  # noqa: E731
        moved, inward, f_in, _ = inward_points(
            batch, theta[None, :], np.array([f]), np.array([converged]), lower
        )
        if not len(moved):
            break
        theta, f, converged = _newton_one(
            fn, inward[0], lower, xtol, ftol, max_iter, rel_step, float(f_in[0]), record
        )
    return theta, f, converged


def _newton_one(fn, theta0, lower, xtol, ftol, max_iter, rel_step, f0, record=None):
    """The Newton steps of :func:`minimize_one`, without the check of the bounds."""
    theta = np.maximum(np.array(theta0, dtype=float), lower)
    f = fn(theta) if f0 is None else f0
    if not math.isfinite(f):
        return theta, f, False
    offsets = stencil_offsets(len(theta))[0]
    low = lower.tolist()
    for _ in range(max_iter):
        x, fx = theta, f
        h = rel_step * (np.abs(x) + 0.1)
        g, H = derivatives_one(fx, [fn(point) for point in x + offsets * h], h.tolist())
        if record is not None:
            record.update(x=x, g=g, H=H)
        xs, gs = x.tolist(), g.tolist()
        held = [v <= b and d >= 0 for v, b, d in zip(xs, low, gs)]
        inward = [h_ and H[j, j] < 0 for j, h_ in enumerate(held)]
        free = np.array([not h_ or i for h_, i in zip(held, inward)])
        s = _capped_one(_newton_step_one(g, H, free), x)
        leaving = any(inward)
        if leaving:  # as _step: inward from a bound where the curvature is negative
            s = np.where(inward, ESCAPE_STEPS[0] * (0.1 + float(np.max(np.abs(x)))), s)
        steps = s.tolist()
        if not all(map(math.isfinite, gs + steps)):
            return theta, f, False
        # the decrease the quadratic model predicts for the full step: below the noise, stop
        predicted = -0.5 * float(np.einsum("ri,ri->r", g[None, :], s[None, :])[0])
        bound = [xtol * (1.0 + abs(v)) for v in xs]
        small = all(abs(v) <= b for v, b in zip(steps, bound))
        if not leaving and (predicted <= ftol * max(1.0, abs(fx)) or small):
            return theta, f, True
        theta, f, moved = line_search_one(fn, x, fx, s, lower)
        if not moved:
            return theta, f, math.isfinite(f) and (leaving or predicted <= NOISE * max(1.0, abs(fx)))
        if all(abs(a - v) <= b for a, v, b in zip(theta.tolist(), xs, bound)) or _stalled(fx, f, predicted):
            return theta, f, math.isfinite(f)
    return theta, f, False


def derivatives_one(f0: float, F: list[float], h: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_derivatives` of one problem, on Python floats (the same operations in the same
    order): ``F`` the stencil's values, ``h`` its steps. Returns ``g`` (d,) and ``H`` (d, d)."""
    d = len(h)
    _, first, second = stencil_offsets(d)
    fp, fm = F[0 : 2 * d : 2], F[1 : 2 * d : 2]
    H = [[0.0] * d for _ in range(d)]
    for j in range(d):
        H[j][j] = (fp[j] - 2 * f0 + fm[j]) / (h[j] * h[j])
    for i, (j, k) in enumerate(zip(first.tolist(), second.tolist())):
        H[j][k] = H[k][j] = (F[2 * d + i] - fp[j] - fp[k] + f0) / (h[j] * h[k])
    return np.array([(p - m) / (2 * hj) for p, m, hj in zip(fp, fm, h)]), np.array(H)


def _newton_step_one(g: np.ndarray, H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """:func:`_newton_step` of one problem; with one coordinate, its closed form.

    (A 1 x 1 matrix is its own eigenvalue with eigenvector 1, so the step is ``-g / |H|``,
    computed as ``-(1 / |H|) g`` as the general formula rounds it.)
    """
    if len(g) > 1:
        if not free.all():
            return _newton_step(g[None, :], H[None, :, :], free[None, :])[0]
        Hf = H if np.isfinite(H).all() else np.where(np.isfinite(H), H, 0.0)
        eigenvalues, V = np.linalg.eigh(Hf[None, :, :])
        lam = np.abs(eigenvalues)
        lam = np.maximum(lam, 1e-10 * max(float(lam.max()), 1e-300))
        return -np.einsum("rij,rj,rkj,rk->ri", V, 1.0 / lam, V, g[None, :])[0]
    if not free[0]:
        return np.zeros(1)
    curvature = abs(float(H[0, 0])) if math.isfinite(H[0, 0]) else 0.0
    curvature = max(curvature, 1e-10 * max(curvature, 1e-300))
    return np.array([-((1.0 / curvature) * float(g[0]))])


def line_search_one(fn, x, fx, s, lower, max_halvings: int = 12):
    """:func:`_line_search` of one problem (its rule, see there): t = 1, 1/2, 1/4 ... in turn."""
    limit = fx + 1e-12 * max(1.0, abs(fx))
    trial = np.maximum(x + s, lower)
    ft = fn(trial)
    t = 1.0
    for _ in range(max_halvings + 1):
        if math.isfinite(ft) and ft <= limit:
            return trial, ft, True
        t *= 0.5
        if t < 0.5**max_halvings:
            break
        trial = np.maximum(x + t * s, lower)
        ft = fn(trial)
    return x, fx, False


def _line_search(fn, act, x, fx, s, lower, max_halvings: int = 12):
    """Projected backtracking: the longest of t = 1, 1/2, 1/4 ... with f not increased.

    The full step is tried for all rows; the rows where it fails get all shorter steps in one
    call (one batched evaluation costs about as much as a few rows).

    It differs from :func:`mixedmodels.numerics.quasi_newton._line_search` on purpose, and each rule is
    pinned by ``tests/test_optimizer_rules.py`` (one rule for both moves the iterates of every
    fit): here a trial point is projected onto the bounds coordinate by coordinate, and taken
    when ``f`` is not above ``f + 1e-12 max(1, |f|)``. The Hessian is of central differences,
    so the step is a good one and the last steps, whose decrease is at the rounding of the
    criterion, are still taken (:func:`_stalled` tells rounding from progress); no gradient is
    needed at the trial points, so all halvings go in one batched call. The quasi-Newton steps
    of an estimated Hessian ask for a sufficient decrease instead (see there).
    """
    tol = 1e-12 * np.maximum(1.0, np.abs(fx))
    x_new, f_new = x.copy(), fx.copy()
    moved = np.zeros(len(act), dtype=bool)
    trial = np.maximum(x + s, lower)
    ft = fn(trial, act) if len(act) else np.zeros(0)
    ok = np.isfinite(ft) & (ft <= fx + tol)
    x_new[ok], f_new[ok], moved[ok] = trial[ok], ft[ok], True
    pending = np.flatnonzero(~ok)
    if pending.size:
        t = 0.5 ** np.arange(1, max_halvings + 1)  # (h,)
        trials = np.maximum(x[pending, None, :] + t[None, :, None] * s[pending, None, :], lower)
        fts = fn(trials.reshape(-1, x.shape[1]), np.repeat(act[pending], len(t))).reshape(
            len(pending), len(t)
        )
        good = np.isfinite(fts) & (fts <= (fx + tol)[pending, None])
        first = np.argmax(good, axis=1)
        found = good[np.arange(len(pending)), first]
        rows = pending[found]
        x_new[rows] = trials[found, first[found]]
        f_new[rows] = fts[found, first[found]]
        moved[rows] = True
    return x_new, f_new, moved
