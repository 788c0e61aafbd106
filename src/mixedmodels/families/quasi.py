"""The families ``glm`` fits: glmer's binomial and Poisson, their quasi-likelihood versions and
the Gaussian, as R's ``quasibinomial()``, ``quasipoisson()`` and ``gaussian()``.

The quasi families keep the binomial's or the Poisson's variance function, deviance and links,
and estimate a dispersion ``phi`` instead of fixing it at 1 (so they have no likelihood, no
AIC and nothing to simulate from). The Gaussian (identity link) has

    V(mu) = 1,    d_i = w_i (y_i - mu_i)^2,
    AIC part = n (log(2 pi D / n) + 1) + 2 - sum log w_i      (D the deviance),

the ``+ 2`` counting the variance, as R's ``gaussian()$aic``; its dispersion is estimated.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .standard import Binomial, Family, Initialized, Link, Poisson, family

__all__ = ["Gaussian", "QuasiBinomial", "QuasiPoisson", "glm_family", "has_dispersion"]


class _Quasi:
    """What a quasi family changes of its likelihood family: the dispersion is estimated, there
    is no likelihood (no AIC, no simulation) and R's warnings about counts and fitted means on
    the boundary are not given."""

    dispersion_fixed = False
    has_likelihood = False
    name: ClassVar[str]

    def aic(self, y, n, mu, wt, dev) -> float:
        """A quasi family has no likelihood: its AIC is not defined (R's NA)."""
        return math.nan

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        raise ValueError(f"the {self.name} family has no distribution to simulate from (a quasi-likelihood)")

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        return None


class QuasiBinomial(_Quasi, Binomial):
    """R's ``quasibinomial()``: the binomial's mean and variance, the dispersion estimated."""

    name = "quasibinomial"


class QuasiPoisson(_Quasi, Poisson):
    """R's ``quasipoisson()``: the Poisson's mean and variance, the dispersion estimated."""

    name = "quasipoisson"


class Gaussian(Family):
    """R's ``gaussian()`` with the identity link: ``V(mu) = 1``, the dispersion (the residual
    variance) estimated."""

    name = "gaussian"
    links = ("identity",)
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


_GLM_ONLY: dict[str, type[Family]] = {
    "gaussian": Gaussian,
    "quasibinomial": QuasiBinomial,
    "quasipoisson": QuasiPoisson,
}


def glm_family(name: str | Family, link: str | None = None) -> Family:
    """The family ``name`` with ``link`` for :func:`mixedmodels.glm`.

    Parameters
    ----------
    name : str or Family
        "binomial", "poisson", "quasibinomial", "quasipoisson" or "gaussian" (case-insensitive),
        or a Family (any subclass of :class:`~mixedmodels.families.standard.Family`).
    link : str, optional
        The link; the family's canonical link when None.

    Raises
    ------
    ValueError
        An unknown family, or a link the family does not take.
    """
    if isinstance(name, Family):
        return name if link is None else name.with_link(link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial', not {type(name).__name__}")
    key = name.strip().removesuffix("()").strip().lower()
    if key in _GLM_ONLY:
        return _GLM_ONLY[key](link)
    try:
        return family(key, link)
    except ValueError as exc:
        if "unknown family" in str(exc):
            raise ValueError(
                f"unknown family {name!r}: one of binomial, poisson, quasibinomial, quasipoisson, gaussian"
            ) from None
        raise


def has_dispersion(fam: Family) -> bool:
    """Whether the family's dispersion is estimated (t tests) rather than fixed at 1 (z tests)."""
    return not fam.dispersion_fixed
