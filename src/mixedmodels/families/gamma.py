"""The Gamma family, as R's ``Gamma()`` (``mm.glm``) and glmmTMB's ``Gamma()`` (``mm.glmer``):
positive responses with mean ``mu`` and

    V(mu) = mu^2,    d_i = -2 w_i [ log(y_i / mu_i) - (y_i - mu_i) / mu_i ]   (R's unit deviance).

With shape ``k`` (glmmTMB's ``exp(disp)``; ``sigma() = 1 / sqrt(k)``; the GLM's dispersion is
``1 / k``) the density is Gamma(shape ``k``, scale ``mu / k``):

    log p = k log k - lgamma(k) - k log mu + (k - 1) log y - k y / mu,
    -2 w log p = k d_i - 2 w [k log k - lgamma(k) - k - log y]     (the rest free of ``mu``),

    d log p / d mu       = k (y - mu) / mu^2,
    d^2 log p / d mu^2   = k (mu - 2 y) / mu^3,
    d^3 log p / d mu^3   = k (6 y - 2 mu) / mu^4,
    d log p / d log k    = k [log k + 1 - psi(k) + log(y / mu) - y / mu],

and the mixed derivatives in ``log k`` of the ``mu``-derivatives are the ``mu``-derivatives
themselves (each is ``k`` times a function of ``y`` and ``mu``).

Two uses, one class. Without a shape (``Gamma()``: ``mm.glm``, R's ``glm``) the unit deviances are
R's ``d_i`` and the AIC R's (the dispersion ``D / sum w`` in the density, ``+ 2``), the dispersion
is the GLM's (Pearson's statistic over its degrees of freedom). With a shape (a glmer fit's family,
at every step of its optimization, or ``Gamma(shape=k)``) the unit deviances are ``k d_i`` and the
AIC ``-2 sum w log p`` at ``k``, so that ``aic - sum(dev_resids)`` is free of ``mu``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy import special

from .family import Initialized
from .links import Array, Link, as_array
from .parametric import ParameterFamily, clip_start, row_list

__all__ = ["Gamma"]


def _unit_deviance(y, mu, wt) -> Array:
    """R's ``Gamma()$dev.resids``: ``-2 w [log(y / mu) - (y - mu) / mu]`` (0 log 0 = 0)."""
    with np.errstate(divide="ignore"):
        ratio = np.where(y == 0, 1.0, y / mu)
    return -2.0 * wt * (np.log(ratio) - (y - mu) / mu)


class Gamma(ParameterFamily):
    """R's and glmmTMB's ``Gamma``: ``V(mu) = mu^2``, shape ``k`` (see the module).

    Parameters
    ----------
    link : Link or str, optional
        "inverse" (default, R's), "log" or "identity".
    shape : float, optional
        The shape ``k``; None: a glmer fit estimates it (``mm.glm`` estimates the dispersion
        ``1 / k`` by Pearson's statistic, as R's ``glm``).
    estimate : bool, optional
        Whether a glmer fit estimates the shape; by default when ``shape`` is None.

    Notes
    -----
    ``dispersion_fixed`` is False (the GLM's t tests, its dispersion counted once in its AIC):
    ``mm.glm`` takes the family with ``estimate=False`` (:meth:`glm_form`, so that the shape is
    not counted a second time).
    """

    sigma_squared_shown = True  # glmmTMB prints its dispersion as sigma^2
    emmeans_residual_df = True  # emmeans: t intervals on a glm's residual df

    name = "Gamma"
    links = ("inverse", "log", "identity")
    canonical_link: ClassVar[str | None] = "inverse"
    bounded_links = ("inverse", "identity")
    dispersion_fixed = False
    extra_parameters = ()  # the shape is the dispersion (dispersion_fixed False), named by parameter_name
    parameter_name = "shape"
    zero_support = "positive"
    mean_name = "mean"

    def __init__(
        self, link: Link | str | None = None, shape: float | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(link, shape, estimate)

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of ``Gamma``: ``1 / sqrt(shape)`` (one per observation with a
        dispersion model)."""
        value = self._known
        return 1.0 / math.sqrt(value) if np.ndim(value) == 0 else 1.0 / np.sqrt(value)

    def variance(self, mu) -> Array:
        mu = as_array(mu)
        return mu * mu

    def variance_deriv(self, mu) -> Array:
        return 2.0 * as_array(mu)

    def response_variance(self, mu) -> Array:
        """``mu^2 / k``."""
        return self.variance(mu) / self._known

    def dev_resids(self, y, mu, wt) -> Array:
        """R's ``d_i`` without a shape; ``k d_i`` with one (see the module)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        d = _unit_deviance(y, mu, wt)
        return d if self._value is None else self._value * d

    def residual_deviances(self, y, mu, wt) -> Array:
        """R's ``Gamma()$dev.resids``, ``d_i`` without the shape (lme4's deviance residuals)."""
        return _unit_deviance(as_array(y), as_array(mu), as_array(wt))

    def aic(self, y, n, mu, wt, dev) -> float:
        """Without a shape R's ``Gamma()$aic``, ``-2 sum w log p`` at the dispersion ``dev / sum w``
        plus 2; with one ``-2 sum w log p`` at that shape (see the module)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        if self._value is None:
            k = float(np.sum(wt)) / dev
            return float(-2.0 * np.sum(wt * self._logp(y, mu, k)) + 2.0)
        return float(-2.0 * np.sum(wt * self._logp(y, mu, self._value)))

    @staticmethod
    def _logp(y, mu, k: float) -> Array:
        with np.errstate(divide="ignore"):
            return k * np.log(k) - special.gammaln(k) - k * np.log(mu) + (k - 1.0) * np.log(y) - k * y / mu

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        """The ``mu``-derivatives of :meth:`dev_resids` (``k = 1`` without a shape)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        c = -2.0 * wt * (1.0 if self._value is None else self._value)
        return c * (y - mu) / mu**2, c * (mu - 2.0 * y) / mu**3, c * (6.0 * y - 2.0 * mu) / mu**4

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        k = self._known
        dlogp = k * (np.log(k) + 1.0 - special.digamma(k) + np.log(y / mu) - y / mu)
        c = -2.0 * wt * k
        return -2.0 * wt * dlogp, c * (y - mu) / mu**2, c * (mu - 2.0 * y) / mu**3

    def parameter_start(self, y, mu, wt) -> float:
        """The moment estimate ``sum w / sum w ((y - mu) / mu)^2`` (one over the Pearson
        dispersion), within [0.01, 1e6]."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        pearson = float(np.sum(wt * ((y - mu) / mu) ** 2))
        return clip_start(float(np.sum(wt)) / pearson if pearson > 0 else math.inf, 0.01, 1e6, 1e6)

    def initialize(self, y, weights) -> Initialized:
        """R's ``Gamma()$initialize``: ``mustart = y``; non-positive values refused."""
        y = as_array(y)
        if np.any(y <= 0):
            raise ValueError("non-positive values not allowed for the 'Gamma' family")
        return Initialized(y, np.ones(len(y)), as_array(weights), y.copy())

    def valid_mu(self, mu) -> bool:
        mu = as_array(mu)
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))

    def response_problem(self, response, weights, name: str) -> str | None:
        bad = (np.asarray(weights) != 0) & ~(np.asarray(response) > 0)
        if np.any(bad):
            rows = np.flatnonzero(bad)
            return (
                f"the response {name!r} has {len(rows)} value(s) <= 0 (rows {row_list(rows)}): "
                "non-positive values not allowed for the 'Gamma' family"
            )
        return None

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """Gamma(shape ``k``, scale ``mu / k``): ``k`` the family's shape, or ``1 / dispersion``
        (``w / dispersion`` with prior weights ``w``) for a GLM's family without one."""
        mu = as_array(mu)
        if self._value is not None:
            k = np.broadcast_to(self._value, np.shape(mu))
        else:
            w = np.asarray(weights, dtype=float)
            k = np.broadcast_to(np.where(w > 0, w, np.nan) / dispersion, np.shape(mu))
        return rng.gamma(k, mu / k)
