"""The ML and REML criteria, from the blocked factor: written once, for every caller.

With ``r2`` the penalized residual sum of squares, ``n`` observations, ``p`` fixed effects and
``nu = n - p`` (REML) or ``n`` (ML), at a given ``sigma``

    ML:   dev(theta, sigma)  = log|L|^2 + r2 / sigma^2 + n log(2 pi sigma^2)
    REML: crit(theta, sigma) = log|L|^2 + log|R_X|^2 + r2 / sigma^2 + (n - p) log(2 pi sigma^2)

and with ``sigma`` profiled out (its optimum ``sigma^2 = r2 / nu``)

    ML:   -2 loglik(theta) = log|L|^2 + n (1 + log(2 pi r2 / n))
    REML: crit(theta)      = log|L|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r2 / (n - p)))

With prior weights ``w`` each criterion is the working model's (:mod:`mixedmodels.numerics.pls`) less
``sum(log w)``: the density of ``y`` is that of ``sqrt(w) y`` times ``prod sqrt(w_i)``.

The fit, the bootstrap's batches (arrays of ``r2`` and log-determinants), the profile and the
Satterthwaite derivatives (``sigma`` given) all evaluate them here; the fit's objective reads
the parts from :meth:`mixedmodels.numerics.pls.PLS.parts_function`.
"""

from __future__ import annotations

import math

import numpy as np

from .pls import PLS, Factor

__all__ = ["criterion", "criterion_function", "dof", "from_parts", "sigma"]


def dof(n: int, p: int, reml: bool) -> int:
    """``nu``: the residual degrees of freedom of the criterion."""
    return n - p if reml else n


def from_parts(logdet_L, logdet_RX, r2, n: int, p: int, reml: bool, sigma=None, log_weights: float = 0.0):
    """The criterion from the parts of the factor (floats or arrays of a batch).

    ``sigma`` None profiles it out; otherwise the criterion at that ``sigma``. ``log_weights``
    is ``sum(log w)`` of the prior weights.
    """
    nu = dof(n, p, reml)
    log = math.log if isinstance(r2, float) else np.log  # math's is faster for one value
    if sigma is None:
        value = logdet_L + nu * (1.0 + log(2.0 * math.pi * r2 / nu))
    else:
        value = logdet_L + r2 / sigma**2 + nu * log(2.0 * math.pi * sigma**2)
    value = value - log_weights
    return value + logdet_RX if reml else value


def criterion(
    f: Factor | None, n: int, p: int, reml: bool, sigma: float | None = None, log_weights: float = 0.0
) -> float:
    """The REML criterion or the ML deviance at the factor ``f`` (inf where there is none).

    ``sigma`` None: profiled out (the fit's objective); otherwise at that ``sigma``.
    """
    if f is None or not f.r2 > 0.0 or (sigma is not None and not sigma > 0.0):
        return math.inf
    return float(from_parts(f.logdet_L, f.logdet_RX, f.r2, n, p, reml, sigma, log_weights))


def sigma(f: Factor, n: int, p: int, reml: bool) -> float:
    """The residual standard deviation profiled out of the criterion."""
    return math.sqrt(f.r2 / dof(n, p, reml))


def criterion_function(pls: PLS, reml: bool):
    """The criterion of the model ``pls`` as a function of ``theta`` (and ``sigma``, if given)."""
    parts = pls.parts_function()
    n, p, log_weights = pls.n, pls.p, pls.log_weights
    nu, log, two_pi = dof(n, p, reml), math.log, 2.0 * math.pi

    def fn(theta: np.ndarray, sigma: float | None = None) -> float:
        if theta is None:
            return math.inf
        got = parts(theta)
        if got is None or not got[2] > 0.0 or (sigma is not None and not sigma > 0.0):
            return math.inf
        if sigma is None:  # from_parts' profiled criterion, its operations in its order, inline
            logdet_L, logdet_RX, r2 = got
            value = logdet_L + nu * (1.0 + log(two_pi * r2 / nu)) - log_weights
            return float(value + logdet_RX if reml else value)
        return float(from_parts(got[0], got[1], got[2], n, p, reml, sigma, log_weights))

    return fn
