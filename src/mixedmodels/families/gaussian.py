"""The Gaussian family of ``glm``, as R's ``gaussian()`` (identity link):

    V(mu) = 1,    d_i = w_i (y_i - mu_i)^2,
    AIC part = n (log(2 pi D / n) + 1) + 2 - sum log w_i      (D the deviance),

the ``+ 2`` counting the variance, as R's ``gaussian()$aic``; its dispersion is estimated.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .family import Family, Initialized
from .links import Link

__all__ = ["Gaussian"]


class Gaussian(Family):
    """R's ``gaussian()`` with the identity link: ``V(mu) = 1``, the dispersion (the residual
    variance) estimated."""

    name = "gaussian"
    links = ("identity",)
    canonical_link: ClassVar[str | None] = "identity"
    dispersion_fixed = False

    def __init__(self, link: Link | str | None = None) -> None:
        if link not in (None, "identity"):
            raise NotImplementedError(
                f"family 'gaussian' with link {link!r}: the Gaussian family with a non-identity link "
                "(R's gaussian(link = ...)) is not available yet; glm fits it with the identity link"
            )
        super().__init__(link)

    def variance(self, mu) -> np.ndarray:
        return np.ones_like(np.asarray(mu, dtype=float))

    def variance_deriv(self, mu) -> np.ndarray:
        return np.zeros_like(np.asarray(mu, dtype=float))

    def dev_resids(self, y, mu, wt) -> np.ndarray:
        return np.asarray(wt, dtype=float) * (np.asarray(y, dtype=float) - np.asarray(mu, dtype=float)) ** 2

    def aic(self, y, n, mu, wt, dev) -> float:
        nobs = len(y)
        wt = np.asarray(wt, dtype=float)
        return float(nobs * (math.log(2 * math.pi * dev / nobs) + 1) + 2 - np.sum(np.log(wt[wt > 0])))

    def initialize(self, y, weights) -> Initialized:
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise ValueError("a Gaussian response is one numeric column, not cbind(...)")
        return Initialized(y, np.ones(len(y)), np.asarray(weights, dtype=float), y.copy())

    def valid_mu(self, mu) -> bool:
        return True

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """``mu + N(0, phi / w)``; a row of weight 0 keeps its mean."""
        w = np.asarray(weights, dtype=float)
        scale = np.sqrt(dispersion / np.where(w > 0, w, np.inf))
        return mu + scale * rng.standard_normal(np.shape(mu))
