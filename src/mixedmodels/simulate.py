"""New responses from a fitted model, as lme4's ``simulate.merMod`` and R's ``simulate.lm``.

For a mixed model with estimates ``beta``, ``theta``, ``sigma``:

    use_u = False:  y* = X beta + Z Lambda(theta) u* + sigma e,   u* ~ N(0, sigma^2 I), e ~ N(0, I)
    use_u = True:   y* = X beta + Z b_hat + sigma e               (conditional modes held fixed)

and for a linear model ``y* = X beta + sigma e / sqrt(w)``. Draws come from a
``numpy.random.Generator``: first ``u*`` for all replicates (nsim x q), then ``e`` (nsim x n).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from .lm import LmFit
    from .results import LmerFit

__all__ = ["as_generator", "lm_blocks", "lmer_blocks", "simulate_lm", "simulate_lmer"]


def as_generator(seed) -> np.random.Generator:
    """A Generator from a seed, a SeedSequence or a Generator (never the global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def simulate_lmer(fit: LmerFit, nsim: int, use_u: bool, rng: np.random.Generator) -> np.ndarray:
    """Simulated responses of an LmerFit, one column per replicate (n x nsim)."""
    return np.hstack(list(lmer_blocks(fit, nsim, use_u, rng, nsim)))


def lmer_blocks(
    fit: LmerFit, nsim: int, use_u: bool, rng: np.random.Generator, block: int
) -> Iterator[np.ndarray]:
    """The same responses ``block`` replicates at a time (the same numbers for any ``block``)."""
    pls = fit.pls
    sigma = fit.sigma
    random = None  # (Z Lambda, u*) unless the conditional modes are held fixed
    if use_u:
        mean = fit.fitted.to_numpy()
    else:
        mean = fit.design.X @ fit.fixef.to_numpy()
        q = sum(t.q for t in pls.reterms)
        ZLam = sp.hstack([pls.Z1, pls.Zrest], format="csr") @ pls.lambda_matrix(fit.opt.theta)
        random = (ZLam, rng.standard_normal((nsim, q)))
    for lo in range(0, nsim, block):
        hi = min(lo + block, nsim)
        E = rng.standard_normal((hi - lo, pls.n))
        if random is None:
            noise = E.T
        else:
            ZLam, U = random
            noise = np.asarray(ZLam @ U[lo:hi].T) + E.T
        yield mean[:, None] + sigma * noise


def simulate_lm(fit: LmFit, nsim: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated responses of an LmFit (n x nsim); rows with zero weight keep their fitted value."""
    return np.hstack(list(lm_blocks(fit, nsim, rng, nsim)))


def lm_blocks(fit: LmFit, nsim: int, rng: np.random.Generator, block: int) -> Iterator[np.ndarray]:
    """The same responses ``block`` replicates at a time."""
    w = fit.weights
    mean = fit.fitted.to_numpy()
    scale = np.where(w > 0, fit.sigma / np.sqrt(np.where(w > 0, w, 1.0)), 0.0)
    for lo in range(0, nsim, block):
        noise = rng.standard_normal((min(block, nsim - lo), len(mean)))
        yield (mean[None, :] + noise * scale[None, :]).T
