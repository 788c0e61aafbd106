"""Bounded minimization of a smooth function with its gradient: projected quasi-Newton steps.

The Hessian ``H`` starts from forward differences of the gradient (``d`` evaluations, steps
``1e-4 (1 + |x_j|)``, inward from a bound) and is then updated by BFGS from each accepted step
``s`` and the change ``y`` of the gradient (skipped where ``s'y`` is not positive). Each step
solves ``|H| s = -g`` on the coordinates not held at their lower bound (one at its bound with a
positive gradient is held), ``|H|`` the Hessian with its eigenvalues made positive; the step is
projected onto the bounds and halved until the function decreases by at least a small fraction
of what the gradient predicts (points where the function is not finite are halved away from).

Converged when the decrease the quadratic model predicts, ``-g's / 2``, is below
``ftol * max(1, |f|)``, or the step below ``xtol * (1 + |x|)``; a step after which the function no
longer decreases ends the iterations (converged when the model's decrease was already tiny).

A point that stops with a coordinate on its bound is checked as :mod:`mixedmodels.newton`
checks its problems (a diagonal entry of ``theta`` on its bound 0 has a zero gradient whatever
the curvature): points inward along the coordinate are tried, and from the first that is lower
the steps start again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .newton import ESCAPE_STEPS, MAX_ESCAPES

__all__ = ["GradientResult", "minimize_gradient"]

FloatGrad = tuple[float, np.ndarray]


@dataclass(frozen=True)
class GradientResult:
    """The point reached, its value and gradient, evaluations, and whether the steps converged."""

    x: np.ndarray
    fun: float
    grad: np.ndarray
    nfev: int
    converged: bool
    hessian: np.ndarray


def _fd_hessian(fg: Callable[[np.ndarray], FloatGrad], x: np.ndarray, g: np.ndarray, lower: np.ndarray):
    """Forward differences of the gradient (symmetrized); None where a point cannot be evaluated."""
    d = len(x)
    H = np.empty((d, d))
    for j in range(d):
        h = 1e-4 * (1.0 + abs(x[j]))
        xj = x.copy()
        xj[j] += h
        f, gj = fg(xj)
        if not np.isfinite(f):
            return None
        H[:, j] = (gj - g) / h
    return (H + H.T) / 2.0


def _step(g: np.ndarray, H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``-|H_ff|^{-1} g_f`` on the free coordinates, zero on the held ones."""
    s = np.zeros_like(g)
    if not free.any():
        return s
    vals, vecs = np.linalg.eigh(H[np.ix_(free, free)])
    floor = 1e-8 * max(1.0, float(np.max(np.abs(vals))))
    vals = np.maximum(np.abs(vals), floor)
    s[free] = -(vecs @ ((vecs.T @ g[free]) / vals))
    return s


def minimize_gradient(
    fg: Callable[[np.ndarray], FloatGrad],
    x0: np.ndarray,
    lower: np.ndarray,
    ftol: float = 1e-13,
    xtol: float = 1e-10,
    max_iter: int = 200,
) -> GradientResult:
    """Minimize ``fg``'s function from ``x0`` subject to ``x >= lower`` (see the module).

    ``fg(x)`` returns the value and the gradient; ``inf`` (any gradient) where the function
    cannot be evaluated.
    """
    count = [0]

    def counted(x: np.ndarray) -> FloatGrad:
        count[0] += 1
        return fg(x)

    x = np.maximum(np.asarray(x0, dtype=float), lower)
    f, g = counted(x)
    for _ in range(MAX_ESCAPES + 1):
        if not np.isfinite(f):
            return GradientResult(x, f, g, count[0], False, np.eye(len(x)))
        x, f, g, converged, H = _descend(counted, x, f, g, lower, ftol, xtol, max_iter)
        inward = _inward_point(counted, x, f, lower) if converged else None
        if inward is None:
            break
        x, f, g = inward
    return GradientResult(x, float(f), g, count[0], converged, H)


def _inward_point(fg, x: np.ndarray, f: float, lower: np.ndarray):
    """The first point inward from a coordinate on its bound that is lower than ``f``, or None."""
    limit = f - 1e-10 * max(1.0, abs(f))
    scale = 0.1 + float(np.max(np.abs(x)))
    for j in np.flatnonzero(np.isfinite(lower) & (x <= lower)):
        for t in ESCAPE_STEPS:
            trial = x.copy()
            trial[j] = lower[j] + t * scale
            ft, gt = fg(trial)
            if np.isfinite(ft) and ft < limit:
                return trial, ft, gt
    return None


def _descend(counted, x, f, g, lower, ftol, xtol, max_iter):
    """Quasi-Newton steps from ``x`` until converged (see the module)."""
    H = _fd_hessian(counted, x, g, lower)
    if H is None:
        H = np.eye(len(x))
    converged = False
    for _ in range(max_iter):
        free = ~((x <= lower) & (g > 0))
        s = _step(g, H, free)
        predicted = -float(g @ s) / 2.0
        if predicted < ftol * max(1.0, abs(f)):
            converged = True
            break
        accepted = _line_search(counted, x, f, g, s, lower)
        if accepted is None:
            converged = predicted < 1e-6 * max(1.0, abs(f))
            break
        xn, fn, gn = accepted
        dx, dg = xn - x, gn - g
        x, f, g = xn, fn, gn
        if np.max(np.abs(dx) / (1.0 + np.abs(x))) < xtol:
            converged = True
            break
        H = _bfgs_update(H, dx, dg)
    return x, f, g, converged, H


def _line_search(fg, x, f, g, s, lower, max_halvings: int = 40):
    """The first of ``x + t s`` (projected, ``t = 1, 1/2, ...``) that decreases ``f`` enough."""
    t = 1.0
    for _ in range(max_halvings):
        xn = np.maximum(x + t * s, lower)
        fn, gn = fg(xn)
        if np.isfinite(fn) and fn <= f + 1e-4 * float(g @ (xn - x)):
            return xn, fn, gn
        t /= 2.0
    return None


def _bfgs_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BFGS's update of ``H`` from a step ``s`` and the gradient's change ``y``."""
    sy = float(s @ y)
    if sy <= 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
        return H
    Hs = H @ s
    return H - np.outer(Hs, Hs) / float(s @ Hs) + np.outer(y, y) / sy
