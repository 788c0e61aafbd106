"""The profiled ML and REML criteria, from the blocked factor.

With ``r2`` the penalized residual sum of squares, ``n`` observations and ``p`` fixed effects:

    ML:   -2 loglik(theta) = log|L|^2 + n (1 + log(2 pi r2 / n))
    REML: crit(theta)      = log|L|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r2 / (n - p)))

and the residual standard deviation is ``sigma^2 = r2 / n`` (ML) or ``r2 / (n - p)`` (REML).
"""

from __future__ import annotations

import math

from .pls import Factor

__all__ = ["criterion", "sigma"]


def _dof(n: int, p: int, reml: bool) -> int:
    return n - p if reml else n


def criterion(f: Factor | None, n: int, p: int, reml: bool) -> float:
    """The REML criterion or the ML deviance at the factor ``f`` (inf where there is none)."""
    if f is None or not f.r2 > 0.0:
        return math.inf
    nu = _dof(n, p, reml)
    value = f.logdet_L + nu * (1.0 + math.log(2.0 * math.pi * f.r2 / nu))
    return value + f.logdet_RX if reml else value


def sigma(f: Factor, n: int, p: int, reml: bool) -> float:
    """The residual standard deviation profiled out of the criterion."""
    return math.sqrt(f.r2 / _dof(n, p, reml))
