"""New responses from a fitted model, as lme4's ``simulate.merMod`` and R's ``simulate.lm``.

For a mixed model with estimates ``beta``, ``theta``, ``sigma``:

    use_u = False:  y* = o + X beta + sigma (Z Lambda(theta) u* + e / sqrt(w)),   u*, e ~ N(0, I)
    use_u = True:   y* = o + X beta + Z b_hat + sigma e / sqrt(w)   (conditional modes held fixed)

with ``o`` the offset and ``w`` the prior weights (ones without them), and for a linear model
``y* = X beta + sigma e / sqrt(w)``; rows of weight zero get no residual noise. Draws come from a
``numpy.random.Generator``: first ``u*`` for all replicates (nsim x q), then ``e`` (nsim x n).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..numerics.pls import z_matrices

if TYPE_CHECKING:
    from ..fixed.lm import LmFit
    from .fit import LmerFit

__all__ = ["lm_blocks", "lmer_blocks", "simulate_lm", "simulate_lmer"]


def simulate_lmer(fit: LmerFit, nsim: int, use_u: bool, rng: np.random.Generator) -> np.ndarray:
    """Simulated responses of an LmerFit, one column per replicate (n x nsim)."""
    return np.hstack(list(lmer_blocks(fit, nsim, use_u, rng, nsim)))


def lmer_blocks(
    fit: LmerFit,
    nsim: int,
    use_u: bool,
    rng: np.random.Generator,
    block: int,
    params: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> Iterator[np.ndarray]:
    """The same responses ``block`` replicates at a time (the same numbers for any ``block``).

    ``params``, ``(beta, theta, sigma)``, replaces the fit's estimates (new random effects only):
    a power analysis simulates the fit's design with parameters of its choosing.
    """
    pls, design = fit.pls, fit.design
    beta, theta, sigma = (fit.fixef.to_numpy(), fit.opt.theta, fit.sigma) if params is None else params
    if use_u and params is not None:
        raise ValueError("parameters other than the fit's are simulated with new random effects only")
    n = design.X.shape[0]
    random = None  # (Z Lambda, u*) unless the conditional modes are held fixed
    if use_u:
        mean = fit.fitted.to_numpy()
    else:
        mean = design.X @ beta
        if design.offset is not None:
            mean = mean + design.offset
        q = sum(t.q for t in pls.reterms)
        Z = z_matrices(design.reterms, n) if design.weights is not None else (pls.Z1, pls.Zrest)
        ZLam = sp.hstack(list(Z), format="csr") @ pls.lambda_matrix(theta)
        random = (ZLam, rng.standard_normal((nsim, q)))
    scale = None if design.weights is None else _noise_scale(design.weights)
    for lo in range(0, nsim, block):
        hi = min(lo + block, nsim)
        E = rng.standard_normal((hi - lo, n)).T
        if scale is not None:
            E *= scale[:, None]
        if random is None:
            noise = E
        else:
            ZLam, U = random
            noise = np.asarray(ZLam @ U[lo:hi].T) + E
        yield mean[:, None] + sigma * noise


def _noise_scale(w: np.ndarray) -> np.ndarray:
    """``1 / sqrt(w)`` of the residual noise, 0 where the weight is 0."""
    return np.where(w > 0, 1.0 / np.sqrt(np.where(w > 0, w, 1.0)), 0.0)


def simulate_lm(fit: LmFit, nsim: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated responses of an LmFit (n x nsim); rows with zero weight keep their fitted value."""
    return np.hstack(list(lm_blocks(fit, nsim, rng, nsim)))


def lm_blocks(fit: LmFit, nsim: int, rng: np.random.Generator, block: int) -> Iterator[np.ndarray]:
    """The same responses ``block`` replicates at a time."""
    mean = fit.fitted.to_numpy()
    scale = fit.sigma * _noise_scale(fit.weights)
    for lo in range(0, nsim, block):
        noise = rng.standard_normal((min(block, nsim - lo), len(mean)))
        yield (mean[None, :] + noise * scale[None, :]).T
