"""The families ``glm`` fits: glmer's binomial and Poisson, their quasi-likelihood versions and
the Gaussian, as R's ``quasibinomial()``, ``quasipoisson()`` and ``gaussian()``.

The quasi families keep the binomial's or the Poisson's variance function, deviance and links,
and estimate a dispersion ``phi`` instead of fixing it at 1 (so they have no likelihood and no
AIC). The Gaussian (identity link) has

    V(mu) = 1,    d_i = w_i (y_i - mu_i)^2,
    AIC part = n (log(2 pi D / n) + 1) + 2 - sum log w_i      (D the deviance),

the ``+ 2`` counting the variance, as R's ``gaussian()$aic``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .families import Family, Initialized, family, make_link

__all__ = ["ESTIMATED_DISPERSION", "glm_family", "has_dispersion"]

ESTIMATED_DISPERSION = ("quasibinomial", "quasipoisson", "gaussian")
_QUASI = {"quasibinomial": "binomial", "quasipoisson": "poisson"}


def _no_aic(y, n, mu, wt, dev) -> float:
    """A quasi family has no likelihood: its AIC is not defined (R's NA)."""
    return math.nan


def _gaussian_dev_resids(y, mu, wt) -> np.ndarray:
    return np.asarray(wt, dtype=float) * (np.asarray(y, dtype=float) - np.asarray(mu, dtype=float)) ** 2


def _gaussian_aic(y, n, mu, wt, dev) -> float:
    nobs = len(y)
    wt = np.asarray(wt, dtype=float)
    return float(nobs * (math.log(2 * math.pi * dev / nobs) + 1) + 2 - np.sum(np.log(wt[wt > 0])))


def _gaussian_initialize(y, weights) -> Initialized:
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError("a Gaussian response is one numeric column, not cbind(...)")
    return Initialized(y, np.ones(len(y)), np.asarray(weights, dtype=float), y.copy())


def _gaussian(link: str | None) -> Family:
    if link not in (None, "identity"):
        raise NotImplementedError(
            f"family 'gaussian' with link {link!r}: the Gaussian family with a non-identity link "
            "(R's gaussian(link = ...)) is not available yet; glm fits it with the identity link"
        )
    return Family(
        "gaussian",
        make_link("identity"),
        lambda mu: np.ones_like(np.asarray(mu, dtype=float)),
        _gaussian_dev_resids,
        _gaussian_aic,
        _gaussian_initialize,
        lambda mu: True,
    )


def glm_family(name: str | Family, link: str | None = None) -> Family:
    """The family ``name`` with ``link`` for :func:`mixedmodels.glm`.

    Parameters
    ----------
    name : str or Family
        "binomial", "poisson", "quasibinomial", "quasipoisson" or "gaussian" (case-insensitive).
    link : str, optional
        The link; the family's canonical link when None.

    Raises
    ------
    ValueError
        An unknown family, or a link the family does not take.
    """
    if isinstance(name, Family):
        return name if link is None else glm_family(name.name, link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial', not {type(name).__name__}")
    key = name.strip().removesuffix("()").strip().lower()
    if key == "gaussian":
        return _gaussian(link)
    if key in _QUASI:
        return replace(family(_QUASI[key], link), name=key, aic=_no_aic)
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
    return fam.name in ESTIMATED_DISPERSION
