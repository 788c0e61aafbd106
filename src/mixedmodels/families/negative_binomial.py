"""The negative binomial family with a known size ``theta``, as MASS's ``negative.binomial(theta)``:
counts ``y`` with mean ``mu`` and

    V(mu) = mu + mu^2 / theta,
    d_i = 2 w_i [ y_i log(max(y_i, 1) / mu_i) - (y_i + theta) log((y_i + theta) / (mu_i + theta)) ],

``-2 log p(y | mu)`` from the gamma functions (R's ``aic``), and the dispersion fixed at 1. Its log
link is not canonical. With ``theta`` given this is the family lme4's ``glmer`` fits for a fixed
size (and ``glmer.nb`` alternates with an estimate of it); without, glmmTMB's ``nbinom2``, whose
size a fit estimates with the rest. In ``log theta`` (the fits' coordinate; ``log p`` the
density, ``psi`` the digamma function)

    d log p / d log theta     = theta [psi(y + theta) - psi(theta) + log theta + 1
                                       - log(mu + theta) - (y + theta) / (mu + theta)],
    d^2 log p / d mu d log theta   = theta (y - mu) / (mu + theta)^2,
    d^3 log p / d mu^2 d log theta = theta (mu - theta - 2 y) / (mu + theta)^3.
"""

from __future__ import annotations

import math
from typing import ClassVar, cast

import numpy as np
from scipy import special

from .family import Family, Initialized, parameter_key, parameter_text
from .links import Array, Link, as_array
from .poisson import Poisson

__all__ = ["NegativeBinomial"]


def _theta_score_information(y: Array, mu: Array, wt: Array, t: float) -> tuple[float, float]:
    """``U(theta)`` and ``I(theta)`` of :meth:`NegativeBinomial.parameter_given_means`."""
    mt = mu + t
    dpsi = special.digamma(y + t) - special.digamma(t)
    score = np.sum(wt * (dpsi + math.log(t) + 1.0 - np.log(mt) - (y + t) / mt))
    dtri = special.polygamma(1, t) - special.polygamma(1, y + t)
    information = np.sum(wt * (dtri - 1.0 / t + 2.0 / mt - (y + t) / mt**2))
    return float(score), float(information)


class NegativeBinomial(Poisson):
    """The negative binomial: counts with ``V(mu) = mu + mu^2 / theta``, as MASS's
    ``negative.binomial(theta, link)`` (``theta`` given) or glmmTMB's ``nbinom2`` (estimated).

    Parameters
    ----------
    theta : float, optional
        The size (shape) parameter, positive; the Poisson is its limit as ``theta`` grows. None
        (the default): estimated by the fit, with the other parameters.
    link : Link or str, optional
        "log" (default), "sqrt" or "identity", or a :class:`~mixedmodels.families.Link`.
    estimate : bool, optional
        Whether a fit estimates ``theta`` (starting from the value given); by default when
        ``theta`` is None.
    """

    links: ClassVar[tuple[str, ...]] = ("log", "sqrt", "identity")
    canonical_link: ClassVar[str | None] = None
    extra_parameters = ("theta",)
    parameter_name = "theta"
    lme4_counts_parameter = True
    emmeans_label = "response"  # not a Poisson family for emmeans

    def __init__(
        self, theta: float | None = None, link: Link | str | None = None, estimate: bool | None = None
    ) -> None:
        value: float | np.ndarray | None = None  # a number, or one per problem of a batch (B, 1)
        if theta is not None:
            value = float(theta) if np.ndim(theta) == 0 else np.asarray(theta, dtype=float)
            if not np.all(np.isfinite(value) & (np.asarray(value) > 0)):
                raise ValueError(f"the negative binomial's theta must be positive and finite, not {theta}")
        self.theta = cast("float | None", value)  # an array is used elementwise, as a float
        self._estimate = theta is None if estimate is None else bool(estimate)
        super().__init__(link)

    @property
    def name(self) -> str:  # type: ignore[override]  # R's family name carries theta
        if self._estimate:
            return "nbinom2"
        return f"Negative Binomial({round(self._theta, 4):g})"

    @property
    def default_information(self) -> str:  # type: ignore[override]
        """glmmTMB's observed information for ``nbinom2``; lme4's expected one at a given size."""
        return "observed" if self._estimate else "expected"

    @property
    def _theta(self) -> float:
        if self.theta is None:
            raise ValueError("the negative binomial's theta is not known yet (a fit estimates it)")
        return self.theta

    def with_link(self, link: Link | str) -> Family:
        return self._same_information(NegativeBinomial(self.theta, link, self._estimate))

    # ------------------------------------------------------------------ the size as a parameter
    @property
    def parameter(self) -> float | None:
        return self.theta

    @property
    def estimates_parameter(self) -> bool:
        return self._estimate

    def with_parameter(self, value: float) -> Family:
        return self._same_information(NegativeBinomial(value, self.link, self._estimate))

    def fixed_parameter(self) -> Family:
        return self._same_information(NegativeBinomial(self._theta, self.link, False))

    def estimating(self) -> Family:
        return self._same_information(type(self)(self.theta, self.link, True))

    def parameter_start(self, y, mu, wt) -> float:
        """The moment estimate ``sum mu^2 / sum((y - mu)^2 - mu)``, within [0.01, 100]."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        excess = float(np.sum(wt * ((y - mu) ** 2 - mu)))
        return float(np.clip(np.sum(wt * mu * mu) / excess, 0.01, 100.0)) if excess > 0 else 100.0

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = self._theta
        mt = mu + t
        dlogp = special.digamma(y + t) - special.digamma(t) + np.log(t) + 1.0 - np.log(mt) - (y + t) / mt
        return (
            -2.0 * wt * t * dlogp,
            -2.0 * wt * t * (y - mu) / mt**2,
            -2.0 * wt * t * (mu - t - 2.0 * y) / mt**3,
        )

    def alternation_start(self) -> Family | None:
        """lme4's ``glmer.nb`` starts from a Poisson fit (the limit as ``theta`` grows)."""
        return Poisson(self.link)

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of ``nbinom2``: ``theta``."""
        return self._theta

    alternates_in_glm = True  # with theta held, a GLM of dispersion 1: mm.glm is MASS's glm.nb

    def parameter_given_means(
        self, y, mu, wt, tolerance: float | None = None, limit: int = 25
    ) -> tuple[float, float, str | None]:
        """``theta`` maximizing the likelihood at the means ``mu``, as MASS's ``theta.ml`` (``limit``
        iterations at most: 25 for ``glm.nb``, 20 for lme4's ``glmer.nb``): Newton's method in
        ``theta`` from the moment estimate ``sum w / sum w (y / mu - 1)^2`` until a step is under
        ``tolerance`` (R's ``eps^(1/4)`` = 1.2e-4 by default), with the score and information of
        ``log p`` (``psi``, ``psi'`` the digamma and trigamma functions)

            U(theta) = sum w [psi(y + theta) - psi(theta) + log theta + 1 - log(mu + theta)
                              - (y + theta) / (mu + theta)],
            I(theta) = sum w [psi'(theta) - psi'(y + theta) - 1 / theta + 2 / (mu + theta)
                              - (y + theta) / (mu + theta)^2].

        The standard error is ``I^(-1/2)`` at the iterate before the last step (R's)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        tolerance = np.finfo(float).eps ** 0.25 if tolerance is None else tolerance
        excess = float(np.sum(wt * (y / mu - 1.0) ** 2))
        if not excess > 0:
            return math.inf, math.nan, "the response varies no more than a Poisson's: theta is infinite"
        t = float(np.sum(wt)) / excess
        step, info, it = 1.0, math.nan, 1
        while it < limit and abs(step) > tolerance and math.isfinite(t):
            t = abs(t)
            score, info = _theta_score_information(y, mu, wt, t)
            step = score / info if info != 0 else math.inf
            t += step
            it += 1
        warning = None
        if not math.isfinite(t):
            return math.inf, math.nan, "theta ran off to infinity: the response varies as a Poisson's"
        if t < 0:
            t, warning = 0.0, "estimate truncated at zero"
        elif it == limit:
            warning = "iteration limit reached"
        return t, math.sqrt(1.0 / info) if info > 0 else math.nan, warning

    def variance(self, mu) -> Array:
        mu = as_array(mu)
        return mu + mu * mu / self._theta

    def variance_deriv(self, mu) -> Array:
        return 1.0 + 2.0 * as_array(mu) / self._theta

    def dev_resids(self, y, mu, wt) -> Array:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = self._theta
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * wt * (y * np.log(np.maximum(y, 1.0) / mu) - (y + t) * np.log((y + t) / (mu + t)))

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        a, b = y / mu, (y + self._theta) / (mu + self._theta)
        mt = mu + self._theta
        return -2.0 * wt * (a - b), -2.0 * wt * (b / mt - a / mu), -4.0 * wt * (a / mu**2 - b / mt**2)

    def aic(self, y, n, mu, wt, dev) -> float:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = self._theta
        term = (
            (y + t) * np.log(mu + t) - special.xlogy(y, mu) + special.gammaln(y + 1.0)
            - t * np.log(t) + special.gammaln(t) - special.gammaln(t + y)
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
        return rng.negative_binomial(self._theta, self._theta / (self._theta + mu)).astype(float)

    # the Poisson's precomputed deviance and AIC pieces are its own: the generic ones here
    deviance_parts = Family.deviance_parts
    dev_resids_parts = Family.dev_resids_parts
    aic_parts = Family.aic_parts
    aic_from_parts = Family.aic_from_parts
    batch_deviance_split = Family.batch_deviance_split
    batch_dev_resids = Family.batch_dev_resids

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        """glmmTMB's warning for non-integer counts where the size is estimated (R's ``glm.nb``
        and ``glmer.nb`` warn too, from their first Poisson fit); none at a given size, as MASS's
        ``negative.binomial(theta)``."""
        if self._estimate and np.any(np.abs(init.y - np.round(init.y)) > 1e-8):
            return f"non-integer counts in a {self.name} model"
        return None

    @property
    def glmm_refusal(self) -> str | None:
        if self._link_is(("identity",)):
            return "glmer with the negative binomial's identity link is not supported (as the Poisson's)"
        return None

    def _key(self) -> tuple:
        return (parameter_key(self.theta), self._estimate, *super()._key())

    def __repr__(self) -> str:
        theta = "estimated" if self.theta is None else parameter_text(self.theta)
        return f"NegativeBinomial(theta={theta}, link={self.link.name!r})"
