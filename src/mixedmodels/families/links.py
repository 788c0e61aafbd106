"""Links between a response's mean and the linear predictor, as R's ``make.link``.

A generalized linear model relates the mean ``mu`` of each response to the linear predictor
``eta = X beta (+ Z b) + offset`` through a link ``g``: ``eta = g(mu)``, ``mu = g^{-1}(eta)``.
The links clamp as R's do, so that a fit that drives ``mu`` to the boundary stays finite: the
logit's inverse keeps ``mu`` within ``[eps, 1 - eps]`` (``eps`` the machine epsilon) and its
derivative at least ``eps`` beyond ``|eta| > 30``; the probit and cauchit clamp ``eta`` at the
quantile of ``eps``; the complementary log-log and the log keep ``mu`` at least ``eps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Array", "ArrayFn", "EPS", "LINKS", "Link", "as_array", "make_link"]

EPS = float(np.finfo(float).eps)
_LOGIT_THRESH = 30.0
_PROBIT_THRESH = float(-stats.norm.ppf(EPS))
_CAUCHIT_THRESH = float(-stats.cauchy.ppf(EPS))
Array = np.ndarray
ArrayFn = Callable[[Array], Array]


@dataclass(frozen=True)
class Link:
    """A link function ``eta = g(mu)``: ``linkfun``, its inverse ``linkinv``, ``mu_eta = d mu / d eta``,
    ``mu_eta_deriv = d^2 mu / d eta^2`` (zero where ``mu_eta`` is clamped) and ``mu_eta_deriv2 =
    d^3 mu / d eta^3`` (for the gradient of a Laplace criterion with the observed information).
    ``mirrored``: the inverse is even (``mu(-eta) = mu(eta)``, the sqrt link's ``eta^2``), so that
    every ``eta`` has a mirror image with the same mean and PIRLS must not cross 0 where the deviance has a
    barrier there. ``valid_eta`` says which linear predictors the link maps to valid means (all
    finite ones by default); a link that covers only part of the line (a mirrored link: ``eta
    >= 0``) must say so, or the fit may step to the mirror image, another model.

    ``ratio`` and ``ratio_scale``: for a link whose differences are logs of ratios of
    back-transformed quantities (the log: ratios of means; the logit: odds ratios), emmeans'
    name of the back-transformed contrast ("ratio", "odds.ratio") and of the scale of the
    differences ("log", "log odds ratio"); None for the other links, whose contrasts stay on
    the link scale."""

    name: str
    linkfun: ArrayFn
    linkinv: ArrayFn
    mu_eta: ArrayFn
    valid_eta: Callable[[Array], bool] = lambda eta: bool(np.all(np.isfinite(eta)))
    mu_eta_deriv: ArrayFn | None = None
    mirrored: bool = False
    mu_eta_deriv2: ArrayFn | None = None
    ratio: str | None = None
    ratio_scale: str | None = None

    @property
    def transforms(self) -> bool:
        """Whether the link changes the scale (every link but the identity)."""
        return self.name != "identity"

    def back_transform(self, eta, se) -> tuple[Array, Array]:
        """Means ``mu = g^{-1}(eta)`` of linear predictors ``eta`` with standard errors ``se``,
        and the delta-method standard errors of the means, ``se |d mu / d eta|``."""
        eta = as_array(eta)
        return self.linkinv(eta), as_array(se) * np.abs(self.mu_eta(eta))

    def __repr__(self) -> str:
        return f"Link({self.name!r})"


def as_array(x) -> Array:
    return np.asarray(x, dtype=float)


# ----------------------------------------------------------------------------- links
def _logit_inv(eta) -> Array:
    """R's C logit inverse: exp(eta) / (1 + exp(eta)) with eta outside [-30, 30] clamped."""
    eta = as_array(eta)
    mu = np.asarray(special.expit(eta), dtype=float)
    beyond = np.abs(eta) > _LOGIT_THRESH
    if beyond.any():
        mu[beyond] = np.where(eta[beyond] < 0, EPS / (1.0 + EPS), 1.0 / (1.0 + EPS))
    return mu


def _logit_mu_eta(eta) -> Array:
    eta = as_array(eta)
    e = np.exp(-np.abs(eta))  # exp(eta) / (1 + exp(eta))^2 without overflow
    return np.where(np.abs(eta) > _LOGIT_THRESH, EPS, e / (1.0 + e) ** 2)


def _logit_mu_eta_deriv(eta) -> Array:
    eta = as_array(eta)
    mu = special.expit(eta)
    return np.where(np.abs(eta) > _LOGIT_THRESH, 0.0, mu * (1.0 - mu) * (1.0 - 2.0 * mu))


def _logit_mu_eta_deriv2(eta) -> Array:
    eta = as_array(eta)
    mu = special.expit(eta)
    return np.where(np.abs(eta) > _LOGIT_THRESH, 0.0, mu * (1.0 - mu) * (1.0 - 6.0 * mu * (1.0 - mu)))


_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


def _norm_pdf(eta: Array) -> Array:
    return np.exp(-0.5 * eta * eta) / _SQRT_2PI


def _cauchy_pdf(eta: Array) -> Array:
    return 1.0 / (np.pi * (1.0 + eta * eta))


def _probit_inv(eta) -> Array:
    return special.ndtr(np.clip(as_array(eta), -_PROBIT_THRESH, _PROBIT_THRESH))


def _probit_mu_eta(eta) -> Array:
    return np.maximum(_norm_pdf(as_array(eta)), EPS)


def _probit_mu_eta_deriv(eta) -> Array:
    eta = as_array(eta)
    d = _norm_pdf(eta)
    return np.where(d > EPS, -eta * d, 0.0)


def _probit_mu_eta_deriv2(eta) -> Array:
    eta = as_array(eta)
    d = _norm_pdf(eta)
    return np.where(d > EPS, (eta * eta - 1.0) * d, 0.0)


def _cauchit_inv(eta) -> Array:
    return stats.cauchy.cdf(np.clip(as_array(eta), -_CAUCHIT_THRESH, _CAUCHIT_THRESH))


def _cauchit_mu_eta(eta) -> Array:
    return np.maximum(_cauchy_pdf(as_array(eta)), EPS)


def _cauchit_mu_eta_deriv(eta) -> Array:
    eta = as_array(eta)
    d = _cauchy_pdf(eta)
    return np.where(d > EPS, -2.0 * eta * np.pi * d * d, 0.0)


def _cauchit_mu_eta_deriv2(eta) -> Array:
    eta = as_array(eta)
    d = _cauchy_pdf(eta)
    return np.where(d > EPS, (6.0 * eta * eta - 2.0) * np.pi**2 * d**3, 0.0)


def _cloglog_inv(eta) -> Array:
    with np.errstate(over="ignore"):
        return np.clip(-np.expm1(-np.exp(as_array(eta))), EPS, 1.0 - EPS)


def _cloglog_mu_eta(eta) -> Array:
    eta = np.minimum(as_array(eta), 700.0)
    return np.maximum(np.exp(eta - np.exp(eta)), EPS)


def _cloglog_mu_eta_deriv(eta) -> Array:
    eta = np.minimum(as_array(eta), 700.0)
    d = np.exp(eta - np.exp(eta))
    return np.where(d > EPS, d * (1.0 - np.exp(eta)), 0.0)


def _cloglog_mu_eta_deriv2(eta) -> Array:
    eta = np.minimum(as_array(eta), 700.0)
    e = np.exp(eta)
    d = np.exp(eta - e)
    return np.where(d > EPS, d * ((1.0 - e) ** 2 - e), 0.0)


def _log_inv(eta) -> Array:
    return np.maximum(np.exp(as_array(eta)), EPS)


def _log_mu_eta_deriv(eta) -> Array:
    mu = np.exp(as_array(eta))
    return np.where(mu > EPS, mu, 0.0)


def _inverse_valid(eta) -> bool:
    eta = as_array(eta)
    return bool(np.all(np.isfinite(eta)) and np.all(eta != 0))


def _sqrt_valid(eta) -> bool:
    eta = as_array(eta)
    return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))


LINKS: dict[str, Link] = {
    "logit": Link(
        "logit",
        lambda mu: special.logit(as_array(mu)),
        _logit_inv,
        _logit_mu_eta,
        mu_eta_deriv=_logit_mu_eta_deriv,
        mu_eta_deriv2=_logit_mu_eta_deriv2,
        ratio="odds.ratio",
        ratio_scale="log odds ratio",
    ),
    "probit": Link(
        "probit",
        lambda mu: special.ndtri(as_array(mu)),
        _probit_inv,
        _probit_mu_eta,
        mu_eta_deriv=_probit_mu_eta_deriv,
        mu_eta_deriv2=_probit_mu_eta_deriv2,
    ),
    "cauchit": Link(
        "cauchit",
        lambda mu: stats.cauchy.ppf(as_array(mu)),
        _cauchit_inv,
        _cauchit_mu_eta,
        mu_eta_deriv=_cauchit_mu_eta_deriv,
        mu_eta_deriv2=_cauchit_mu_eta_deriv2,
    ),
    "cloglog": Link(
        "cloglog",
        lambda mu: np.log(-np.log1p(-as_array(mu))),
        _cloglog_inv,
        _cloglog_mu_eta,
        mu_eta_deriv=_cloglog_mu_eta_deriv,
        mu_eta_deriv2=_cloglog_mu_eta_deriv2,
    ),
    "log": Link(
        "log",
        lambda mu: np.log(as_array(mu)),
        _log_inv,
        _log_inv,
        mu_eta_deriv=_log_mu_eta_deriv,
        mu_eta_deriv2=_log_mu_eta_deriv,
        ratio="ratio",
        ratio_scale="log",
    ),
    "sqrt": Link(
        "sqrt",
        lambda mu: np.sqrt(as_array(mu)),
        lambda eta: as_array(eta) ** 2,
        lambda eta: 2.0 * as_array(eta),
        _sqrt_valid,
        mu_eta_deriv=lambda eta: np.full_like(as_array(eta), 2.0),
        mirrored=True,
        mu_eta_deriv2=lambda eta: np.zeros_like(as_array(eta)),
    ),
    "identity": Link(
        "identity",
        as_array,
        as_array,
        lambda eta: np.ones_like(as_array(eta)),
        mu_eta_deriv=lambda eta: np.zeros_like(as_array(eta)),
        mu_eta_deriv2=lambda eta: np.zeros_like(as_array(eta)),
    ),
    "inverse": Link(
        "inverse",
        lambda mu: 1.0 / as_array(mu),
        lambda eta: 1.0 / as_array(eta),
        lambda eta: -1.0 / as_array(eta) ** 2,
        _inverse_valid,
        mu_eta_deriv=lambda eta: 2.0 / as_array(eta) ** 3,
        mu_eta_deriv2=lambda eta: -6.0 / as_array(eta) ** 4,
    ),
}


def make_link(name: str) -> Link:
    """The link called ``name`` (R's spelling: "logit", "probit", "cloglog", "cauchit", "log",
    "sqrt", "identity", "inverse")."""
    try:
        return LINKS[name]
    except KeyError:
        raise ValueError(f"unknown link {name!r}: one of {', '.join(sorted(LINKS))}") from None
