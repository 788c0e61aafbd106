"""The negative binomial family with a known size ``theta``, as MASS's ``negative.binomial(theta)``:
counts ``y`` with mean ``mu`` and

    V(mu) = mu + mu^2 / theta,
    d_i = 2 w_i [ y_i log(max(y_i, 1) / mu_i) - (y_i + theta) log((y_i + theta) / (mu_i + theta)) ],

``-2 log p(y | mu)`` from the gamma functions (R's ``aic``), and the dispersion fixed at 1. Its log
link is not canonical. ``theta`` is given, not estimated: this is the family lme4's ``glmer``
fits for a fixed size (and ``glmer.nb`` alternates with an estimate of it).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy import special

from .family import Family, Initialized
from .links import Array, Link, as_array
from .poisson import Poisson

__all__ = ["NegativeBinomial"]


class NegativeBinomial(Poisson):
    """MASS's ``negative.binomial(theta, link)``: counts with ``V(mu) = mu + mu^2 / theta``.

    Parameters
    ----------
    theta : float
        The size (shape) parameter, positive; the Poisson is its limit as ``theta`` grows.
    link : Link or str, optional
        "log" (default), "sqrt" or "identity", or a :class:`~mixedmodels.families.Link`.
    """

    links = ("log", "sqrt", "identity")
    canonical_link: ClassVar[str | None] = None

    def __init__(self, theta: float, link: Link | str | None = None) -> None:
        theta = float(theta)
        if not (math.isfinite(theta) and theta > 0):
            raise ValueError(f"the negative binomial's theta must be positive and finite, not {theta}")
        self.theta = theta
        super().__init__(link)

    @property
    def name(self) -> str:  # type: ignore[override]  # R's family name carries theta
        return f"Negative Binomial({round(self.theta, 4):g})"

    def with_link(self, link: Link | str) -> Family:
        return NegativeBinomial(self.theta, link)

    def variance(self, mu) -> Array:
        mu = as_array(mu)
        return mu + mu * mu / self.theta

    def variance_deriv(self, mu) -> Array:
        return 1.0 + 2.0 * as_array(mu) / self.theta

    def dev_resids(self, y, mu, wt) -> Array:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = self.theta
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * wt * (y * np.log(np.maximum(y, 1.0) / mu) - (y + t) * np.log((y + t) / (mu + t)))

    def aic(self, y, n, mu, wt, dev) -> float:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = self.theta
        term = (
            (y + t) * np.log(mu + t) - special.xlogy(y, mu) + special.gammaln(y + 1.0)
            - t * math.log(t) + special.gammaln(t) - special.gammaln(t + y)
        )  # fmt: skip
        return float(2.0 * np.sum(term * wt))

    def initialize(self, y, weights) -> Initialized:
        """MASS's ``initialize``: ``mustart = y + (y == 0) / 6``; negative counts refused."""
        y = as_array(y)
        if np.any(y < 0):
            raise ValueError("negative values are not allowed for the negative binomial family")
        return Initialized(y, np.ones(len(y)), as_array(weights), y + (y == 0) / 6.0)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        mu = as_array(mu)
        return rng.negative_binomial(self.theta, self.theta / (self.theta + mu)).astype(float)

    # the Poisson's precomputed deviance and AIC pieces are its own: the generic ones here
    deviance_parts = Family.deviance_parts
    dev_resids_parts = Family.dev_resids_parts
    aic_parts = Family.aic_parts
    aic_from_parts = Family.aic_from_parts
    batch_deviance_split = Family.batch_deviance_split
    batch_dev_resids = Family.batch_dev_resids

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        return None

    @property
    def glmm_refusal(self) -> str | None:
        if self._link_is(("identity",)):
            return "glmer with the negative binomial's identity link is not supported (as the Poisson's)"
        return None

    def __eq__(self, other) -> bool:
        return isinstance(other, NegativeBinomial) and (self.theta, self.link) == (other.theta, other.link)

    def __hash__(self) -> int:
        return hash((NegativeBinomial, self.theta, self.link))

    def __repr__(self) -> str:
        return f"NegativeBinomial(theta={self.theta:g}, link={self.link.name!r})"
