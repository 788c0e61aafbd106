"""The Poisson family, as R's ``poisson()``: counts ``y`` with mean ``mu``.

    V(mu) = mu,    d_i = 2 w_i [ y_i log(y_i / mu_i) - (y_i - mu_i) ]   (0 log 0 = 0),

and ``phi = 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy import special, stats

from .family import EPS10, Family, Initialized, xlogy_ratio
from .links import Array, as_array

__all__ = ["Poisson"]


def _poisson_dev_resids(y, mu, wt) -> Array:
    y, mu, wt = as_array(y), as_array(mu), as_array(wt)
    return 2.0 * np.where(y > 0, wt * (xlogy_ratio(y, mu) - (y - mu)), mu * wt)


def _poisson_aic(y, n, mu, wt, dev) -> float:
    """R's poisson()$aic: -2 sum wt log dpois(y, mu)."""
    y, mu, wt = as_array(y), as_array(mu), as_array(wt)
    logp = stats.poisson.logpmf(y, mu)
    return float(-2.0 * np.sum(np.where(wt != 0.0, wt * logp, 0.0)))


def _poisson_initialize(y, weights) -> Initialized:
    """R's poisson()$initialize: mustart = y + 0.1; negative counts refused."""
    y = as_array(y)
    if np.any(y < 0):
        raise ValueError("negative values are not allowed for the Poisson family")
    return Initialized(y, np.ones(len(y)), as_array(weights), y + 0.1)


def _poisson_valid_mu(mu) -> bool:
    mu = as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


class Poisson(Family):
    """R's ``poisson()``: counts, ``V(mu) = mu``. One unit deviance, ``2 w [y log(y / mu) - (y - mu)]``
    (``2 w mu`` where ``y = 0``): :meth:`dev_resids` is :meth:`dev_resids_parts` of its own
    parts; the batched form splits off the terms free of ``mu`` (:meth:`batch_dev_resids`)."""

    name = "poisson"
    links: ClassVar[tuple[str, ...]] = ("log", "sqrt", "identity")
    canonical_link: ClassVar[str | None] = "log"
    bounded_links: ClassVar[tuple[str, ...]] = ("sqrt", "identity")
    reference_mu = 1.0
    mean_name = "mean count"
    emmeans_label = "rate"
    no_events = "its rows have no events (all counts 0)"

    def variance(self, mu) -> Array:
        return as_array(mu)

    def distribution_variance(self, null_mean: Callable[[], float]) -> tuple[float, str]:
        """Log link: the lognormal approximation ``log(1 + V(mu0) / mu0^2)``, ``mu0`` the null
        model's mean (``exp`` of its intercept) and ``V`` this family's variance function (with
        its parameter: ``1 / mu0 + 1 / theta`` for the negative binomial, ``(1 + phi) / mu0``
        for nbinom1); sqrt link: 0.25. As performance 0.10.2 (insight 0.19.0); its later
        releases take the null model's mean otherwise and offer other approximations."""
        if self._link_is(("log",)):
            mu0 = float(null_mean())
            return float(np.log1p(float(self.variance(mu0)) / mu0**2)), (
                f"lognormal: log(1 + V(mu0) / mu0^2) at the null model's mean mu0 = {mu0:.6g}"
            )
        if self._link_is(("sqrt",)):
            return 0.25, "sqrt link: 0.25"
        return super().distribution_variance(null_mean)

    def overdispersion_problem(self, trials) -> str | None:
        """None: a count response is what the test is for."""
        return None

    def variance_deriv(self, mu) -> Array:
        return np.ones_like(as_array(mu))

    def dev_resids(self, y, mu, wt) -> Array:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        return self.dev_resids_parts(self.deviance_parts(y, wt), mu, wt)

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        """``2 w (1 - y/mu)``, ``2 w y/mu^2``, ``-4 w y/mu^3``."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        r = y / mu
        return 2.0 * wt * (1.0 - r), 2.0 * wt * r / mu, -4.0 * wt * r / (mu * mu)

    def aic(self, y, n, mu, wt, dev) -> float:
        return _poisson_aic(y, n, mu, wt, dev)

    def initialize(self, y, weights) -> Initialized:
        return _poisson_initialize(y, weights)

    def valid_mu(self, mu) -> bool:
        return _poisson_valid_mu(mu)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        return rng.poisson(mu)

    def deviance_parts(self, y, wt) -> tuple:
        return y, y != 0.0, np.where(y != 0.0, y, 1.0), y > 0

    def dev_resids_parts(self, parts: tuple, mu, wt) -> Array:
        y, nz, ys, pos = parts
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(nz, y * np.log(ys / mu), 0.0)
            return 2.0 * np.where(pos, wt * (a - (y - mu)), mu * wt)

    def aic_parts(self, y, trials, wt) -> tuple:
        return wt, y, special.gammaln(y + 1)

    def aic_from_parts(self, parts: tuple, mu) -> float:
        wt, y, lgam = parts
        logp = special.xlogy(y, mu) - lgam - mu
        return float(-2.0 * np.sum(np.where(wt != 0.0, wt * logp, 0.0)))

    def batch_deviance_split(self, Y, wt) -> tuple[Array, bool]:
        """``sum 2 w [y log y - y]`` per response."""
        return np.sum(2.0 * wt * (special.xlogy(Y, Y) - Y), axis=1), False

    def batch_dev_resids(self, Y, mu, wt, flag: bool) -> Array:
        return 2.0 * wt * (mu - Y * np.log(mu))

    def response_problem(self, response, weights, name: str) -> str | None:
        from .parametric import row_list

        negative = np.flatnonzero(np.asarray(response) < 0)
        if len(negative):
            return (
                f"the response {name!r} has negative counts ({len(negative)} rows: {row_list(negative)}; "
                f"first {np.asarray(response)[negative[0]]:g}): a {self.name} response is counts"
            )
        return None

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        if np.any(np.abs(init.y - np.round(init.y)) > 1e-8):
            return (
                "non-integer counts in a Poisson response: its log-likelihood is not defined (R gives -Inf)"
            )
        return None

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        if np.all(y == 0):
            n = len(y)
            return f"0 in all {n} rows", "the fitted means run to 0 and the linear predictor to -infinity"
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        if np.any(mu < EPS10):
            return "fitted rates numerically 0 occurred"
        return None

    @property
    def glmm_refusal(self) -> str | None:
        if self._link_is(("identity",)):
            return (
                "glmer with the Poisson identity link is not supported yet: a zero count pulls its mean "
                "onto the boundary 0 of the link's domain, where the Laplace approximation's mode is not "
                "a stationary point (lme4 fails on such data too); the sqrt and log links are supported"
            )
        return super().glmm_refusal

    def new_response(self, y, weights, cbind: bool) -> Array:
        if np.any(y < 0):
            raise ValueError("a Poisson response must be non-negative counts")
        return y

    @property
    def separable(self) -> bool:
        return self._link_is(("log",))

    def separation_sides(self, Y) -> Array:
        side = np.zeros(Y.shape)
        side[Y <= 0] = -1.0
        return side
