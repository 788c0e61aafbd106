"""The Gaussian family: R's ``gaussian()`` for ``glm`` and glmmTMB's ``gaussian(link)`` for
``glmer`` with a link other than the identity (with the identity a mixed model is ``lmer``'s):

    V(mu) = 1,    d_i = w_i (y_i - mu_i)^2,

for ``glm`` (no variance given): AIC part = n (log(2 pi D / n) + 1) + 2 - sum log w_i (D the
deviance), the ``+ 2`` counting the variance, as R's ``gaussian()$aic``; the dispersion is
estimated by the GLM. With the variance ``s2 = sigma^2`` known (glmmTMB's ``exp(disp)``; a glmer
fit's family at every step of its optimization, or ``Gaussian(variance=s2)``), glmmTMB's
density, whose prior weights multiply the log density:

    -2 w log p = w [log(2 pi s2) + (y - mu)^2 / s2],      d_i = w (y - mu)^2 / s2,

    d d_i / d mu = -2 w (y - mu) / s2,  d^2 d_i / d mu^2 = 2 w / s2,  d^3 = 0,
    d(-2 w log p) / d log s2 = w [1 - (y - mu)^2 / s2], and of the mu-derivatives
    2 w (y - mu) / s2 and -2 w / s2.

``sigma() = sqrt(s2)``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .family import Initialized
from .links import Array, Link, as_array
from .parametric import ParameterFamily, clip_start

__all__ = ["Gaussian"]


class Gaussian(ParameterFamily):
    """R's ``gaussian(link)``: ``V(mu) = 1``, the variance ``sigma^2`` estimated (see the module).

    Parameters
    ----------
    link : Link or str, optional
        "identity" (default), "log" or "inverse".
    variance : float, optional
        The residual variance ``sigma^2``; None: estimated (by ``mm.glm`` as R's ``glm``; by a
        glmer fit jointly, as glmmTMB).
    estimate : bool, optional
        Whether a glmer fit estimates the variance; by default when no variance is given and the
        link is not the identity (the identity's Gaussian family is ``glm``'s and ``lmer``'s).
    """

    sigma_squared_shown = True  # glmmTMB prints its dispersion as sigma^2
    residual_row_shown = True  # and its random effects with a Residual row

    name = "gaussian"
    links = ("identity", "log", "inverse")
    canonical_link: ClassVar[str | None] = "identity"
    dispersion_fixed = False
    extra_parameters = ()  # the variance is the dispersion (dispersion_fixed False), named by parameter_name
    parameter_name = "variance"
    emmeans_residual_df = True  # emmeans: t intervals on a glm's residual df
    default_information: ClassVar[str] = "observed"

    def __init__(
        self, link: Link | str | None = None, variance: float | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(link, variance, estimate)

    def _default_estimate(self, value: float | None) -> bool:
        return value is None and not self._link_is(("identity",))

    @property
    def sigma(self):
        """glmmTMB's ``sigma()`` of ``gaussian``: the residual standard deviation (one per
        observation where the variance is, with a dispersion model)."""
        value = self._known
        return math.sqrt(value) if np.ndim(value) == 0 else np.sqrt(value)

    def variance(self, mu) -> Array:
        return np.ones_like(np.asarray(mu, dtype=float))

    def variance_deriv(self, mu) -> Array:
        return np.zeros_like(np.asarray(mu, dtype=float))

    def response_variance(self, mu) -> Array:
        """``sigma^2``."""
        return np.full_like(np.asarray(mu, dtype=float), self._known)

    def dev_resids(self, y, mu, wt) -> Array:
        """``w (y - mu)^2``, over the variance when it is known (see the module)."""
        d = np.asarray(wt, dtype=float) * (np.asarray(y, dtype=float) - np.asarray(mu, dtype=float)) ** 2
        return d if self._value is None else d / self._value

    def residual_deviances(self, y, mu, wt) -> Array:
        """R's ``gaussian()$dev.resids``, ``w (y - mu)^2`` without the variance (lme4's)."""
        return as_array(wt) * (as_array(y) - as_array(mu)) ** 2

    def drop1_criterion(self, deviance, n: int, dispersion: float) -> Array:
        """R's ``drop1.glm`` criterion of a Gaussian fit: ``n log(deviance / n)``."""
        return n * np.log(np.asarray(deviance, dtype=float) / n)

    def aic(self, y, n, mu, wt, dev) -> float:
        """R's ``gaussian()$aic`` without a variance; ``-2 sum w log p`` with one (the module)."""
        wt = np.asarray(wt, dtype=float)
        if self._value is None:
            nobs = len(y)
            return float(nobs * (math.log(2 * math.pi * dev / nobs) + 1) + 2 - np.sum(np.log(wt[wt > 0])))
        s2 = self._value
        return float(np.sum(wt * np.log(2.0 * math.pi * s2)) + np.sum(self.dev_resids(y, mu, wt)))

    def log_prob_zero(self, mu, wt) -> Array:
        """The log density at 0 (a zero-inflated Gaussian, as glmmTMB has it): ``-(mu^2 / s2 +
        log(2 pi s2)) / 2``."""
        mu = as_array(mu)
        s2 = self._known
        return -0.5 * (mu * mu / s2 + np.log(2.0 * math.pi * s2))

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        s2 = 1.0 if self._value is None else self._value
        return (
            -2.0 * wt * (y - mu) / s2,
            np.broadcast_to(2.0 * wt / s2, np.shape(mu)).copy(),
            np.zeros_like(mu),
        )

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        s2 = self._known
        r = y - mu
        return (
            wt * (1.0 - r * r / s2),
            2.0 * wt * r / s2,
            np.broadcast_to(-2.0 * wt / s2, np.shape(mu)).copy(),
        )

    def parameter_start(self, y, mu, wt) -> float:
        """The mean square ``sum w (y - mu)^2 / sum w`` (at least 1e-8 of the response's)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        ms = float(np.sum(wt * (y - mu) ** 2) / np.sum(wt))
        scale = float(np.sum(wt * (y - np.average(y, weights=wt)) ** 2) / np.sum(wt)) or 1.0
        return clip_start(ms, 1e-8 * scale, math.inf, scale)

    def initialize(self, y, weights) -> Initialized:
        """``mustart = y``; with the log link a response <= 0, with the inverse a zero, refused (R's
        "cannot find valid starting values")."""
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise ValueError("a Gaussian response is one numeric column, not cbind(...)")
        if (self._link_is(("log",)) and np.any(y <= 0)) or (self._link_is(("inverse",)) and np.any(y == 0)):
            raise ValueError(
                f"cannot find valid starting values for the gaussian family with the {self.link.name} "
                "link: the response has values where the link is not defined"
            )
        return Initialized(y, np.ones(len(y)), np.asarray(weights, dtype=float), y.copy())

    def valid_mu(self, mu) -> bool:
        return True

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """``mu + N(0, phi / w)``, ``phi`` the variance when the family has one, else
        ``dispersion``; a row of weight 0 keeps its mean."""
        w = np.asarray(weights, dtype=float)
        phi = dispersion if self._value is None else self._value
        scale = np.sqrt(phi / np.where(w > 0, w, np.inf))
        return mu + scale * rng.standard_normal(np.shape(mu))

    @property
    def glmm_refusal(self) -> str | None:
        if self._link_is(("identity",)) and not self._estimate:
            return "a Gaussian model with the identity link is a linear mixed model: use mm.lmer"
        return super().glmm_refusal
