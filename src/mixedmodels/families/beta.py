"""glmmTMB's ``beta_family()``: proportions ``0 < y < 1`` with mean ``mu`` and precision ``phi``,

    y ~ Beta(a = mu phi, b = (1 - mu) phi),    Var y = mu (1 - mu) / (1 + phi),

glmmTMB's variance function ``V(mu) = mu (1 - mu)`` (its Pearson residuals divide by it) and
``sigma() = phi``. The log density and its derivatives (``psi_k`` the polygamma functions):

    log p = lgamma(phi) - lgamma(a) - lgamma(b) + (a - 1) log y + (b - 1) log(1 - y),

    d log p / d mu       = phi G,         G = log(y / (1 - y)) - psi(a) + psi(b),
    d^2 log p / d mu^2   = phi^2 H,       H = -psi_1(a) - psi_1(b),
    d^3 log p / d mu^3   = phi^3 (psi_2(b) - psi_2(a)),
    d log p / d log phi  = phi [psi(phi) - mu psi(a) - (1 - mu) psi(b) + mu log y + (1 - mu) log(1 - y)],
    d^2 log p / d mu d log phi   = phi G + phi^2 ((1 - mu) psi_1(b) - mu psi_1(a)),
    d^3 log p / d mu^2 d log phi = 2 phi^2 H - phi^3 (mu psi_2(a) + (1 - mu) psi_2(b)).

There is no deviance of its own: the unit deviance is ``-2 w log p`` itself.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from .family import Initialized
from .links import Array, Link, as_array
from .parametric import ParameterFamily, clip_start, row_list

__all__ = ["Beta"]


class Beta(ParameterFamily):
    """glmmTMB's ``beta_family()``: a proportion strictly inside (0, 1) (see the module).

    Parameters
    ----------
    link : Link or str, optional
        "logit" (default), "probit" or "cloglog".
    phi : float, optional
        The precision (glmmTMB's ``sigma()``); None: estimated by the fit.
    estimate : bool, optional
        Whether a fit estimates ``phi``; by default when ``phi`` is None.
    """

    unit_deviance = False  # dev_resids is -2 w log p itself: no deviance residuals

    name = "beta"
    links = ("logit", "probit", "cloglog")
    canonical_link: ClassVar[str | None] = None
    extra_parameters = ("phi",)
    parameter_name = "phi"
    zero_support = "a proportion strictly inside (0, 1)"
    reference_mu = 0.5
    mean_name = "mean proportion"

    def __init__(
        self, link: Link | str | None = None, phi: float | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(link, phi, estimate)

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of ``beta_family``: the precision ``phi``."""
        return self._known

    def variance(self, mu) -> Array:
        """glmmTMB's variance function ``mu (1 - mu)`` (the response's variance is this over
        ``1 + phi``: :meth:`response_variance`)."""
        mu = as_array(mu)
        return mu * (1.0 - mu)

    def variance_deriv(self, mu) -> Array:
        return 1.0 - 2.0 * as_array(mu)

    def response_variance(self, mu) -> Array:
        """``mu (1 - mu) / (1 + phi)``."""
        return self.variance(mu) / (1.0 + self._known)

    def _logp(self, y, mu) -> Array:
        phi = self._known
        a, b = mu * phi, (1.0 - mu) * phi
        return (
            special.gammaln(phi) - special.gammaln(a) - special.gammaln(b)
            + special.xlogy(a - 1.0, y) + special.xlog1py(b - 1.0, -y)
        )  # fmt: skip

    def dev_resids(self, y, mu, wt) -> Array:
        """``-2 w log p(y | mu, phi)`` (no deviance of its own)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        return -2.0 * wt * self._logp(y, mu)

    def aic(self, y, n, mu, wt, dev) -> float:
        """``-2 sum w log p``: the sum of :meth:`dev_resids`."""
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def _pieces(self, y, mu):
        phi = self._known
        a, b = mu * phi, (1.0 - mu) * phi
        G = np.log(y) - np.log1p(-y) - special.digamma(a) + special.digamma(b)
        p1a, p1b = special.polygamma(1, a), special.polygamma(1, b)
        p2a, p2b = special.polygamma(2, a), special.polygamma(2, b)
        return phi, a, b, G, p1a, p1b, p2a, p2b

    def deviance_mu_curvature(self, y, mu, wt) -> tuple[Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi = self._known
        a, b = mu * phi, (1.0 - mu) * phi
        G = np.log(y) - np.log1p(-y) - special.digamma(a) + special.digamma(b)
        c = -2.0 * wt
        return c * phi * G, -c * phi**2 * (special.polygamma(1, a) + special.polygamma(1, b))

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi, _, _, G, p1a, p1b, p2a, p2b = self._pieces(y, mu)
        c = -2.0 * wt
        return c * phi * G, -c * phi**2 * (p1a + p1b), c * phi**3 * (p2b - p2a)

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        phi, a, b, G, p1a, p1b, p2a, p2b = self._pieces(y, mu)
        dlogp = phi * (
            special.digamma(phi) - mu * special.digamma(a) - (1.0 - mu) * special.digamma(b)
            + mu * np.log(y) + (1.0 - mu) * np.log1p(-y)
        )  # fmt: skip
        dmu = phi * G + phi**2 * ((1.0 - mu) * p1b - mu * p1a)
        dmumu = -2.0 * phi**2 * (p1a + p1b) - phi**3 * (mu * p2a + (1.0 - mu) * p2b)
        c = -2.0 * wt
        return c * dlogp, c * dmu, c * dmumu

    def parameter_start(self, y, mu, wt) -> float:
        """The moment estimate ``sum w mu (1 - mu) / sum w (y - mu)^2 - 1``, within [0.01, 1e6]."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        spread = float(np.sum(wt * (y - mu) ** 2))
        value = float(np.sum(wt * mu * (1.0 - mu))) / spread - 1.0 if spread > 0 else np.inf
        return clip_start(value, 0.01, 1e6, 1.0 if np.isfinite(value) else 1e6)

    def initialize(self, y, weights) -> Initialized:
        """``mustart = y``; a response outside (0, 1) refused (glmmTMB's message)."""
        y = as_array(y)
        if np.any((y <= 0) | (y >= 1)):
            raise ValueError("y values must be 0 < y < 1")
        return Initialized(y, np.ones(len(y)), as_array(weights), y.copy())

    def response_problem(self, response, weights, name: str) -> str | None:
        response = np.asarray(response, dtype=float)
        if response.ndim != 1:
            return f"the response {name!r} of the beta family is one column of proportions in (0, 1)"
        bad = (np.asarray(weights) != 0) & ~((response > 0) & (response < 1))
        if np.any(bad):
            rows = np.flatnonzero(bad)
            return (
                f"the response {name!r} has {len(rows)} value(s) outside (0, 1) (rows {row_list(rows)}, "
                f"first {response[rows[0]]:g}): y values must be 0 < y < 1 for the beta family"
            )
        return None

    def valid_mu(self, mu) -> bool:
        mu = as_array(mu)
        return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))

    def new_response(self, y, weights, cbind: bool) -> Array:
        y = as_array(y)
        if np.any((y <= 0) | (y >= 1)):
            raise ValueError("a beta response must lie strictly inside (0, 1)")
        return y

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """Beta(mu phi, (1 - mu) phi), kept strictly inside (0, 1) (a draw that rounds to 0 or 1,
        possible where ``mu phi`` or ``(1 - mu) phi`` is small, is moved to the nearest double
        inside, so that it is a valid response to refit)."""
        mu = as_array(mu)
        phi = self._known
        draws = rng.beta(mu * phi, (1.0 - mu) * phi)
        return np.clip(draws, np.finfo(float).tiny, np.nextafter(1.0, 0.0))
