"""glmmTMB's ``nbinom1``: a negative binomial whose variance is linear in the mean,

    V(mu) = mu (1 + phi),    y ~ NB(size = mu / phi, prob = 1 / (1 + phi)),

so that ``E[y] = mu``; glmmTMB's ``sigma()`` is ``phi``. With ``s = mu / phi`` and ``L = log(1 + phi)``
the log density is

    log p = lgamma(y + s) - lgamma(s) - lgamma(y + 1) - s L + y (log phi - L),

and (``psi``, ``psi_1``, ``psi_2`` the digamma function and its derivatives; ``A = psi(y + s) -
psi(s) - L``, ``B_k = psi_k(y + s) - psi_k(s)``)

    d log p / d mu        = A / phi,
    d^2 log p / d mu^2    = B_1 / phi^2,
    d^3 log p / d mu^3    = B_2 / phi^3,
    d log p / d log phi   = -s A - s phi / (1 + phi) + y / (1 + phi),
    d^2 log p / d mu d log phi   = -(A + s B_1 + phi / (1 + phi)) / phi,
    d^3 log p / d mu^2 d log phi = -(2 B_1 + s B_2) / phi^2.

There is no deviance of its own: the unit deviance is ``-2 w log p`` itself.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from .family import Initialized
from .links import Array, Link, as_array
from .parametric import ParameterFamily, clip_start
from .poisson import Poisson
from .special import digamma_difference, polygamma_differences

__all__ = ["NegativeBinomial1"]


class NegativeBinomial1(ParameterFamily, Poisson):
    """glmmTMB's ``nbinom1``: counts with ``V(mu) = mu (1 + phi)`` (see the module).

    Parameters
    ----------
    link : Link or str, optional
        "log" (default) or "sqrt".
    phi : float, optional
        The overdispersion (glmmTMB's ``sigma()``); None: estimated by the fit.
    estimate : bool, optional
        Whether a fit estimates ``phi``; by default when ``phi`` is None.
    """

    unit_deviance = False  # dev_resids is -2 w log p itself: no deviance residuals

    name = "nbinom1"
    links: ClassVar[tuple[str, ...]] = ("log", "sqrt")
    canonical_link: ClassVar[str | None] = None
    extra_parameters = ("phi",)
    parameter_name = "phi"
    emmeans_label = "response"  # not a Poisson family for emmeans

    def __init__(
        self, link: Link | str | None = None, phi: float | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(link, phi, estimate)

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of ``nbinom1``: ``phi``."""
        return self._known

    def variance(self, mu) -> Array:
        return as_array(mu) * (1.0 + self._known)

    def variance_deriv(self, mu) -> Array:
        return np.full_like(as_array(mu), 1.0 + self._known)

    def _logp(self, y, mu) -> Array:
        phi = self._known
        s = mu / phi
        L = np.log1p(phi)
        return (
            special.gammaln(y + s) - special.gammaln(s) - special.gammaln(y + 1.0) - s * L
            + y * (np.log(phi) - L)
        )  # fmt: skip

    def dev_resids(self, y, mu, wt) -> Array:
        """``-2 w log p(y | mu, phi)`` (no deviance of its own)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        return -2.0 * wt * self._logp(y, mu)

    def log_prob_zero(self, mu, wt) -> Array:
        """``log p(0) = -(mu / phi) log(1 + phi)``."""
        return -as_array(mu) / self._known * np.log1p(self._known)

    def aic(self, y, n, mu, wt, dev) -> float:
        """``-2 sum w log p``: the sum of :meth:`dev_resids`."""
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def _digammas(self, y, mu) -> tuple[Array, Array, Array, Array]:
        phi = self._known
        s = mu / phi
        A = digamma_difference(y, s) - np.log1p(phi)
        B1, B2 = polygamma_differences(y, s)
        assert B2 is not None
        return s, A, B1, B2

    def deviance_mu_curvature(self, y, mu, wt) -> tuple[Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi = self._known
        s = mu / phi
        A = digamma_difference(y, s) - np.log1p(phi)
        B1, _ = polygamma_differences(y, s, second=False)
        return -2.0 * wt * A / phi, -2.0 * wt * B1 / phi**2

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi = self._known
        _, A, B1, B2 = self._digammas(y, mu)
        return -2.0 * wt * A / phi, -2.0 * wt * B1 / phi**2, -2.0 * wt * B2 / phi**3

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi = self._known
        s, A, B1, B2 = self._digammas(y, mu)
        r = phi / (1.0 + phi)
        dlogp = -s * A - s * r + y / (1.0 + phi)
        dmu = -(A + s * B1 + r) / phi
        dmumu = -(2.0 * B1 + s * B2) / phi**2
        return -2.0 * wt * dlogp, -2.0 * wt * dmu, -2.0 * wt * dmumu

    def parameter_start(self, y, mu, wt) -> float:
        """The moment estimate ``sum w ((y - mu)^2 - mu) / sum w mu``, within [0.01, 100]."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        excess = float(np.sum(wt * ((y - mu) ** 2 - mu)))
        return clip_start(excess / float(np.sum(wt * mu)), 0.01, 100.0, 0.01)

    def response_variance(self, mu) -> Array:
        return self.variance(mu)

    def initialize(self, y, weights) -> Initialized:
        """``mustart = y + (y == 0) / 6``; negative counts refused."""
        y = as_array(y)
        if np.any(y < 0):
            raise ValueError("negative values are not allowed for the nbinom1 family")
        return Initialized(y, np.ones(len(y)), as_array(weights), y + (y == 0) / 6.0)

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        """glmmTMB's warning for non-integer counts (its density then uses the gamma function)."""
        if np.any(np.abs(init.y - np.round(init.y)) > 1e-8):
            return "non-integer counts in a nbinom1 model"
        return None

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """NB(size = mu / phi, prob = 1 / (1 + phi)); a zero mean draws 0."""
        mu = as_array(mu)
        phi = self._known
        size = np.maximum(mu / phi, np.finfo(float).tiny)
        return np.where(mu > 0, rng.negative_binomial(size, 1.0 / (1.0 + phi)), 0).astype(float)
