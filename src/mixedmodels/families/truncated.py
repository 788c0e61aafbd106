"""glmmTMB's zero-truncated counts, ``truncated_poisson`` and ``truncated_nbinom2``: counts
``y >= 1`` whose linear predictor is the log of the UNtruncated mean ``mu`` (a Poisson's ``lambda``,
a negative binomial's mean), as glmmTMB has it. With ``p0`` the untruncated probability of a zero
(``exp(-mu)``; ``(theta / (theta + mu))^theta``),

    log p_trunc(y) = log p(y) - T,    T = log(1 - p0),
    E[y]   = mu / (1 - p0)                                   (glmmTMB's fitted, predict(type = "response")),
    Var[y] = (mu + mu^2 (1 + 1/theta)) / (1 - p0) - E[y]^2   (1/theta = 0 for the Poisson).

Write ``l0 = log p0`` (``-mu``; ``-theta log(1 + mu / theta)``) and ``r = p0 / (1 - p0) =
1 / expm1(-l0)``; then ``T = h(l0) = log(1 - exp(l0))`` has ``h' = -r``, ``h'' = -r (1 + r)``,
``h''' = -r (1 + r) (1 + 2 r)``, and by the chain rule

    T'   = h' l0',
    T''  = h'' l0'^2 + h' l0'',
    T''' = h''' l0'^3 + 3 h'' l0' l0'' + h' l0'''

(``'`` in ``mu``; in ``log theta`` the same rule with ``dl0 / dlog theta = theta [mu / (theta + mu) -
log(1 + mu / theta)]``). The unit deviance is ``-2 w log p_trunc`` itself.

glmmTMB 1.1.5's Pearson residuals are ``(y - E[y]) / sqrt(V(E[y]))``: its variance function (the
``Var[y]`` above as a function of the untruncated mean) evaluated at the TRUNCATED mean
(:meth:`pearson_variance` reproduces it; :meth:`response_variance` is the response's variance).
glmmTMB refuses a response with zeros; so do these families.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy import special, stats

from .family import Family, Initialized, parameter_text
from .links import Array, Link, as_array
from .negative_binomial import NegativeBinomial
from .parametric import clip_start, row_list
from .poisson import Poisson

__all__ = ["TruncatedNegativeBinomial2", "TruncatedPoisson"]


def _r(l0) -> Array:
    """``p0 / (1 - p0) = 1 / expm1(-l0)``."""
    with np.errstate(over="ignore", divide="ignore"):
        return 1.0 / np.expm1(-l0)


def _log1m_p0(l0) -> Array:
    """``T = log(1 - p0) = log(-expm1(l0))``."""
    return np.log(-np.expm1(l0))


def _h(l0) -> tuple[Array, Array, Array]:
    """``h'``, ``h''``, ``h'''`` of ``h(l0) = log(1 - exp(l0))``."""
    r = _r(l0)
    h1 = -r
    h2 = -r * (1.0 + r)
    return h1, h2, h2 * (1.0 + 2.0 * r)


def _chain(h: tuple[Array, Array, Array], l1, l2, l3) -> tuple[Array, Array, Array]:
    """The first three derivatives of ``h(l0(x))`` from those of ``h`` and ``l0``."""
    h1, h2, h3 = h
    return h1 * l1, h2 * l1 * l1 + h1 * l2, h3 * l1**3 + 3.0 * h2 * l1 * l2 + h1 * l3


def _truncated_moments(mu, l0, inv_theta: float) -> tuple[Array, Array]:
    """``E[y]`` and ``Var[y]`` of the zero-truncated response (see the module)."""
    q = 1.0 + _r(l0)  # 1 / (1 - p0)
    mean = mu * q
    return mean, (mu + mu * mu * (1.0 + inv_theta)) * q - mean * mean


def _variance_deriv(mu, l0, dl0, inv_theta: float) -> Array:
    """``dVar[y] / dmu``, with ``dl0 = l0'``: ``q = 1 + r``, ``q' = r (1 + r) l0'``."""
    r = _r(l0)
    q, dq = 1.0 + r, r * (1.0 + r) * dl0
    m2 = mu + mu * mu * (1.0 + inv_theta)
    dm2 = 1.0 + 2.0 * mu * (1.0 + inv_theta)
    return dm2 * q + m2 * dq - 2.0 * mu * q * q - 2.0 * mu * mu * q * dq


class _ZeroTruncated:
    """What the two zero-truncated families share: the response's checks, the mean of the
    response, glmmTMB's Pearson variance and its observed information only."""

    unit_deviance = False  # dev_resids is -2 w log p itself: no deviance residuals
    zero_truncated = True  # with a zero-inflation model: a hurdle model

    name: ClassVar[str]
    default_information: ClassVar[str] = "observed"
    observed_information: bool = True  # the generic expected information is not theirs (see below)

    def distribution_variance(self, null_mean: Callable[[], float]) -> tuple[float, str]:
        """Refused: performance 0.10.2 has no settled variance for a zero-truncated family."""
        return Family.distribution_variance(self, null_mean)  # type: ignore[arg-type]

    def response_problem(self, response, weights, name: str) -> str | None:
        response = np.asarray(response, dtype=float)
        if np.any(response < 0):
            return f"the response {name!r} has negative counts: a {self.name} response is counts >= 1"
        zeros = np.flatnonzero(response < 1)
        if len(zeros):
            what = "zeros" if np.all(response[zeros] == 0) else "zeros or values below 1"
            return (
                f"{name!r} contains {what} ({len(zeros)} rows: {row_list(zeros)}): a {self.name} "
                "response is positive counts. For counts with zeros, a hurdle model takes this family "
                "for the positive counts and a model of the probability of a zero: mm.glmer(..., "
                "ziformula='~1') (or '~ x'); or use the untruncated family"
            )
        return None

    def initialize(self, y, weights) -> Initialized:
        """``mustart = y`` (the counts, all >= 1); zeros and negative counts refused."""
        y = as_array(y)
        problem = self.response_problem(y, weights, "the response")
        if problem is not None:
            raise ValueError(problem)
        return Initialized(y, np.ones(len(y)), as_array(weights), y.copy())

    def new_response(self, y, weights, cbind: bool) -> Array:
        y = as_array(y)
        problem = self.response_problem(y, weights, "newresponse")
        if problem is not None:
            raise ValueError(problem)
        return y

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        if np.any(np.abs(init.y - np.round(init.y)) > 1e-8):
            return f"non-integer counts in a {self.name} model"
        return None

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        if np.all(y == 1):
            return f"1 in {rows}", "the untruncated mean runs to 0 and the linear predictor to -infinity"
        return None

    def with_information(self, information: str) -> Family:
        if information == "expected":
            raise ValueError(
                f"the {self.name} family is fitted with the observed information (glmmTMB's); its "
                "expected information is not the generic mu'^2 / V"
            )
        return Family.with_information(self, information)  # type: ignore[arg-type]

    def pearson_variance(self, mu) -> Array:
        """glmmTMB 1.1.5's: the variance function at the truncated mean, ``V(E[y])`` (module)."""
        return self.variance(self.response_mean(mu))  # type: ignore[attr-defined]

    def response_variance(self, mu) -> Array:
        """``Var[y]`` of the zero-truncated response (= :meth:`variance`)."""
        return self.variance(mu)  # type: ignore[attr-defined]

    # the generic deviance parts (the Poisson's precomputed ones are not these deviances)
    deviance_parts = Family.deviance_parts
    dev_resids_parts = Family.dev_resids_parts
    aic_parts = Family.aic_parts
    aic_from_parts = Family.aic_from_parts
    batch_deviance_split = Family.batch_deviance_split
    batch_dev_resids = Family.batch_dev_resids


class TruncatedPoisson(_ZeroTruncated, Poisson):
    """glmmTMB's ``truncated_poisson``: a Poisson count conditioned on ``y >= 1``, ``mu`` the
    untruncated mean ``lambda`` (see the module). No parameter beyond the mean.

    Parameters
    ----------
    link : Link or str, optional
        "log" (the only one, as glmmTMB's).

    Notes
    -----
    :meth:`variance` is the variance of the truncated response, ``V(lambda) = (lambda + lambda^2)
    / (1 - exp(-lambda)) - E[y]^2``, as glmmTMB's ``truncated_poisson()$variance``;
    :meth:`response_mean` is ``E[y] = lambda / (1 - exp(-lambda))``.
    """

    name = "truncated_poisson"
    links: ClassVar[tuple[str, ...]] = ("log",)
    canonical_link: ClassVar[str | None] = None
    bounded_links: ClassVar[tuple[str, ...]] = ()

    def __init__(self, link: Link | str | None = None) -> None:
        super().__init__(link)

    def response_mean(self, mu) -> Array:
        """``E[y] = lambda / (1 - exp(-lambda))``."""
        mu = as_array(mu)
        return _truncated_moments(mu, -mu, 0.0)[0]

    def variance(self, mu) -> Array:
        """``Var[y]`` of the truncated response at the untruncated mean ``lambda = mu``."""
        mu = as_array(mu)
        return _truncated_moments(mu, -mu, 0.0)[1]

    def variance_deriv(self, mu) -> Array:
        mu = as_array(mu)
        return _variance_deriv(mu, -mu, -1.0, 0.0)

    def dev_resids(self, y, mu, wt) -> Array:
        """``-2 w log p_trunc(y | lambda)``."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        logp = special.xlogy(y, mu) - mu - special.gammaln(y + 1.0) - _log1m_p0(-mu)
        return -2.0 * wt * logp

    def aic(self, y, n, mu, wt, dev) -> float:
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        zero = np.zeros_like(mu)
        T1, T2, T3 = _chain(_h(-mu), -1.0, zero, zero)
        c = -2.0 * wt
        return c * (y / mu - 1.0 - T1), c * (-y / mu**2 - T2), c * (2.0 * y / mu**3 - T3)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """A Poisson count conditioned on ``y >= 1``, exactly: the first event of a Poisson process
        of rate ``lambda`` on [0, 1] given one, at ``t`` (inverse CDF), then ``1 +
        Poisson(lambda (1 - t))``."""
        mu = as_array(mu)
        u = rng.random(np.shape(mu))
        t = -np.log1p(u * np.expm1(-mu)) / mu
        return 1.0 + rng.poisson(mu * np.clip(1.0 - t, 0.0, 1.0))

    def __repr__(self) -> str:
        return f"TruncatedPoisson(link={self.link.name!r})"


class TruncatedNegativeBinomial2(_ZeroTruncated, NegativeBinomial):
    """glmmTMB's ``truncated_nbinom2``: an NB2 count (``V = mu + mu^2 / theta`` before truncation)
    conditioned on ``y >= 1``, ``mu`` the untruncated mean (see the module); the NB2's
    arithmetic (:class:`NegativeBinomial`) plus the truncation's ``T``.

    Parameters
    ----------
    theta : float, optional
        The size (glmmTMB's ``sigma()``); None: estimated by the fit.
    link : Link or str, optional
        "log" (the only one, as glmmTMB's).
    estimate : bool, optional
        Whether a fit estimates ``theta``; by default when ``theta`` is None.

    Notes
    -----
    :meth:`variance` is the variance of the truncated response at the untruncated mean, as
    glmmTMB's ``truncated_nbinom2()$variance``; :meth:`response_mean` is ``E[y] = mu / (1 - p0)``.
    """

    links: ClassVar[tuple[str, ...]] = ("log",)
    bounded_links: ClassVar[tuple[str, ...]] = ()
    # MASS's theta.ml and lme4's alternation are the untruncated NB2's: not this family's (its
    # size is estimated with the coefficients, mm.glm's method="ml" and glmer's joint fit)
    alternates_in_glm = False
    parameter_given_means = Family.parameter_given_means
    alternation_start = Family.alternation_start

    def __init__(
        self, theta: float | None = None, link: Link | str | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(theta, link, estimate)

    @property
    def name(self) -> str:  # type: ignore[override]
        return "truncated_nbinom2"

    @property
    def default_information(self) -> str:  # type: ignore[override]
        return "observed"

    def with_link(self, link: Link | str) -> Family:
        return self._same_information(TruncatedNegativeBinomial2(self.theta, link, self._estimate))

    def with_parameter(self, value: float) -> Family:
        return self._same_information(TruncatedNegativeBinomial2(value, self.link, self._estimate))

    def fixed_parameter(self) -> Family:
        return self._same_information(TruncatedNegativeBinomial2(self._theta, self.link, False))

    # ------------------------------------------------------------------ log p0 and its derivatives
    def _l0(self, mu) -> Array:
        t = self._theta
        return -t * np.log1p(mu / t)

    def _l0_mu(self, mu) -> tuple[Array, Array, Array]:
        t = self._theta
        mt = mu + t
        return -t / mt, t / mt**2, -2.0 * t / mt**3

    def response_mean(self, mu) -> Array:
        """``E[y] = mu / (1 - p0)``."""
        mu = as_array(mu)
        return _truncated_moments(mu, self._l0(mu), 1.0 / self._theta)[0]

    def variance(self, mu) -> Array:
        """``Var[y]`` of the truncated response at the untruncated mean ``mu``."""
        mu = as_array(mu)
        return _truncated_moments(mu, self._l0(mu), 1.0 / self._theta)[1]

    def variance_deriv(self, mu) -> Array:
        mu = as_array(mu)
        return _variance_deriv(mu, self._l0(mu), self._l0_mu(mu)[0], 1.0 / self._theta)

    def _nb_logp2(self, y, mu, wt) -> Array:
        """``-2 w log p(y | mu, theta)`` of the untruncated NB2."""
        t = self._theta
        term = (
            (y + t) * np.log(mu + t) - special.xlogy(y, mu) + special.gammaln(y + 1.0)
            - t * np.log(t) + special.gammaln(t) - special.gammaln(t + y)
        )  # fmt: skip
        return 2.0 * wt * term

    def dev_resids(self, y, mu, wt) -> Array:
        """``-2 w log p_trunc(y | mu, theta)``."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        return self._nb_logp2(y, mu, wt) + 2.0 * wt * _log1m_p0(self._l0(mu))

    def aic(self, y, n, mu, wt, dev) -> float:
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        n1, n2, n3 = NegativeBinomial.deviance_mu_derivatives(self, y, mu, wt)
        T1, T2, T3 = _chain(_h(self._l0(mu)), *self._l0_mu(mu))
        return n1 + 2.0 * wt * T1, n2 + 2.0 * wt * T2, n3 + 2.0 * wt * T3

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        n, n1, n2 = NegativeBinomial.parameter_derivatives(self, y, mu, wt)
        t = self._theta
        mt = mu + t
        l0 = self._l0(mu)
        l1, l2, _ = self._l0_mu(mu)
        L = t * (mu / mt - np.log1p(mu / t))  # d l0 / d log theta
        l1_t, l2_t = -t * mu / mt**2, t * (mu - t) / mt**3  # d l0' / d log theta, d l0'' / d log theta
        h1, h2, h3 = _h(l0)
        T = h1 * L
        T1 = h2 * L * l1 + h1 * l1_t
        T2 = h3 * L * l1 * l1 + 2.0 * h2 * l1 * l1_t + h2 * L * l2 + h1 * l2_t
        return n + 2.0 * wt * T, n1 + 2.0 * wt * T1, n2 + 2.0 * wt * T2

    def parameter_start(self, y, mu, wt) -> float:
        """The NB2's moment estimate with the truncated mean (at this family's ``theta``, or at 1
        while it is not known), within [0.01, 100]."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        t = 1.0 if self.theta is None else self._theta
        m = _truncated_moments(mu, -t * np.log1p(mu / t), 1.0 / t)[0]
        excess = float(np.sum(wt * ((y - m) ** 2 - m)))
        return clip_start(float(np.sum(wt * m * m)) / excess if excess > 0 else math.inf, 0.01, 100.0, 100.0)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """An NB2 count conditioned on ``y >= 1``: NB2 draws with the zeros drawn again (where
        ``1 - p0 >= 0.05``, at most 100 rounds), else the inverse CDF at ``p0 + U (1 - p0)``."""
        mu = np.broadcast_to(as_array(mu), np.shape(mu)).astype(float)
        t = np.broadcast_to(self._theta, mu.shape)  # one per row with a dispersion model
        prob = t / (t + mu)
        l0 = self._l0(mu)
        out = np.zeros(mu.shape)
        redraw = -np.expm1(l0) >= 0.05
        for _ in range(100):
            todo = redraw & (out < 1.0)
            if not todo.any():
                break
            out[todo] = rng.negative_binomial(t[todo], prob[todo])
        rest = out < 1.0
        if rest.any():
            u = np.exp(l0[rest]) + rng.random(int(rest.sum())) * -np.expm1(l0[rest])
            out[rest] = np.maximum(stats.nbinom.ppf(u, t[rest], prob[rest]), 1.0)
        return out

    @property
    def glmm_refusal(self) -> str | None:
        return None

    def __repr__(self) -> str:
        theta = "estimated" if self.theta is None else parameter_text(self.theta)
        return f"TruncatedNegativeBinomial2(theta={theta}, link={self.link.name!r})"
