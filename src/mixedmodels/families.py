"""Exponential families and their links, as R's ``binomial()`` and ``poisson()``.

A generalized linear model relates the mean ``mu`` of each response to the linear predictor
``eta = X beta (+ Z b) + offset`` through a link ``g``: ``eta = g(mu)``, ``mu = g^{-1}(eta)``.
The family gives the variance function ``V(mu)`` (the response's variance is ``phi V(mu) / w``
with prior weight ``w``; ``phi = 1`` for the binomial and the Poisson), the unit deviances

    binomial:  d_i = 2 w_i [ y_i log(y_i / mu_i) + (1 - y_i) log((1 - y_i) / (1 - mu_i)) ]
    Poisson:   d_i = 2 w_i [ y_i log(y_i / mu_i) - (y_i - mu_i) ]

(``0 log 0 = 0``; a binomial ``y`` is the proportion of successes and ``w`` the number of
trials), and the AIC's ``-2 log p(y | mu)``. The links clamp as R's do, so that a fit that
drives ``mu`` to the boundary stays finite: the logit's inverse keeps ``mu`` within
``[eps, 1 - eps]`` (``eps`` the machine epsilon) and its derivative at least ``eps`` beyond
``|eta| > 30``; the probit and cauchit clamp ``eta`` at the quantile of ``eps``; the
complementary log-log and the log keep ``mu`` at least ``eps``.

``family("binomial", link="probit")`` makes one, from R's spellings; unknown families and
links, and those not supported yet (Gamma, inverse Gaussian, negative binomial), are refused
with a message that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Family", "Initialized", "Link", "family", "make_link"]

EPS = float(np.finfo(float).eps)
_LOGIT_THRESH = 30.0
_PROBIT_THRESH = float(-stats.norm.ppf(EPS))
_CAUCHIT_THRESH = float(-stats.cauchy.ppf(EPS))

Array = np.ndarray
ArrayFn = Callable[[Array], Array]


@dataclass(frozen=True)
class Link:
    """A link function ``eta = g(mu)``: ``linkfun``, its inverse ``linkinv``, ``mu_eta = d mu / d eta``
    and ``mu_eta_deriv = d^2 mu / d eta^2`` (zero where ``mu_eta`` is clamped)."""

    name: str
    linkfun: ArrayFn
    linkinv: ArrayFn
    mu_eta: ArrayFn
    valid_eta: Callable[[Array], bool] = lambda eta: bool(np.all(np.isfinite(eta)))
    mu_eta_deriv: ArrayFn | None = None

    def __repr__(self) -> str:
        return f"Link({self.name!r})"


def _as_array(x) -> Array:
    return np.asarray(x, dtype=float)


# ----------------------------------------------------------------------------- links
def _logit_inv(eta) -> Array:
    """R's C logit inverse: exp(eta) / (1 + exp(eta)) with eta outside [-30, 30] clamped."""
    eta = _as_array(eta)
    mu = np.asarray(special.expit(eta), dtype=float)
    beyond = np.abs(eta) > _LOGIT_THRESH
    if beyond.any():
        mu[beyond] = np.where(eta[beyond] < 0, EPS / (1.0 + EPS), 1.0 / (1.0 + EPS))
    return mu


def _logit_mu_eta(eta) -> Array:
    eta = _as_array(eta)
    e = np.exp(-np.abs(eta))  # exp(eta) / (1 + exp(eta))^2 without overflow
    return np.where(np.abs(eta) > _LOGIT_THRESH, EPS, e / (1.0 + e) ** 2)


def _logit_mu_eta_deriv(eta) -> Array:
    eta = _as_array(eta)
    mu = special.expit(eta)
    return np.where(np.abs(eta) > _LOGIT_THRESH, 0.0, mu * (1.0 - mu) * (1.0 - 2.0 * mu))


_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


def _norm_pdf(eta: Array) -> Array:
    return np.exp(-0.5 * eta * eta) / _SQRT_2PI


def _cauchy_pdf(eta: Array) -> Array:
    return 1.0 / (np.pi * (1.0 + eta * eta))


def _probit_inv(eta) -> Array:
    return special.ndtr(np.clip(_as_array(eta), -_PROBIT_THRESH, _PROBIT_THRESH))


def _probit_mu_eta(eta) -> Array:
    return np.maximum(_norm_pdf(_as_array(eta)), EPS)


def _probit_mu_eta_deriv(eta) -> Array:
    eta = _as_array(eta)
    d = _norm_pdf(eta)
    return np.where(d > EPS, -eta * d, 0.0)


def _cauchit_inv(eta) -> Array:
    return stats.cauchy.cdf(np.clip(_as_array(eta), -_CAUCHIT_THRESH, _CAUCHIT_THRESH))


def _cauchit_mu_eta(eta) -> Array:
    return np.maximum(_cauchy_pdf(_as_array(eta)), EPS)


def _cauchit_mu_eta_deriv(eta) -> Array:
    eta = _as_array(eta)
    d = _cauchy_pdf(eta)
    return np.where(d > EPS, -2.0 * eta * np.pi * d * d, 0.0)


def _cloglog_inv(eta) -> Array:
    with np.errstate(over="ignore"):
        return np.clip(-np.expm1(-np.exp(_as_array(eta))), EPS, 1.0 - EPS)


def _cloglog_mu_eta(eta) -> Array:
    eta = np.minimum(_as_array(eta), 700.0)
    return np.maximum(np.exp(eta - np.exp(eta)), EPS)


def _cloglog_mu_eta_deriv(eta) -> Array:
    eta = np.minimum(_as_array(eta), 700.0)
    d = np.exp(eta - np.exp(eta))
    return np.where(d > EPS, d * (1.0 - np.exp(eta)), 0.0)


def _log_inv(eta) -> Array:
    return np.maximum(np.exp(_as_array(eta)), EPS)


def _log_mu_eta_deriv(eta) -> Array:
    mu = np.exp(_as_array(eta))
    return np.where(mu > EPS, mu, 0.0)


def _sqrt_valid(eta) -> bool:
    eta = _as_array(eta)
    return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))


_LINKS: dict[str, Link] = {
    "logit": Link(
        "logit",
        lambda mu: special.logit(_as_array(mu)),
        _logit_inv,
        _logit_mu_eta,
        mu_eta_deriv=_logit_mu_eta_deriv,
    ),
    "probit": Link(
        "probit",
        lambda mu: special.ndtri(_as_array(mu)),
        _probit_inv,
        _probit_mu_eta,
        mu_eta_deriv=_probit_mu_eta_deriv,
    ),
    "cauchit": Link(
        "cauchit",
        lambda mu: stats.cauchy.ppf(_as_array(mu)),
        _cauchit_inv,
        _cauchit_mu_eta,
        mu_eta_deriv=_cauchit_mu_eta_deriv,
    ),
    "cloglog": Link(
        "cloglog",
        lambda mu: np.log(-np.log1p(-_as_array(mu))),
        _cloglog_inv,
        _cloglog_mu_eta,
        mu_eta_deriv=_cloglog_mu_eta_deriv,
    ),
    "log": Link("log", lambda mu: np.log(_as_array(mu)), _log_inv, _log_inv, mu_eta_deriv=_log_mu_eta_deriv),
    "sqrt": Link(
        "sqrt",
        lambda mu: np.sqrt(_as_array(mu)),
        lambda eta: _as_array(eta) ** 2,
        lambda eta: 2.0 * _as_array(eta),
        _sqrt_valid,
        mu_eta_deriv=lambda eta: np.full_like(_as_array(eta), 2.0),
    ),
    "identity": Link(
        "identity",
        _as_array,
        _as_array,
        lambda eta: np.ones_like(_as_array(eta)),
        mu_eta_deriv=lambda eta: np.zeros_like(_as_array(eta)),
    ),
}


def make_link(name: str) -> Link:
    """The link called ``name`` (R's spelling: "logit", "probit", "cloglog", "cauchit", "log",
    "sqrt", "identity")."""
    try:
        return _LINKS[name]
    except KeyError:
        raise ValueError(f"unknown link {name!r}: one of {', '.join(sorted(_LINKS))}") from None


# ----------------------------------------------------------------------------- families
@dataclass(frozen=True)
class Initialized:
    """What a family's ``initialize`` makes of a response, as R's ``family$initialize``.

    ``y`` the response the model sees (a binomial's proportion of successes), ``trials`` the
    number of trials of each row (ones for a Poisson or a 0/1 response), ``weights`` the prior
    weights (a binomial ``cbind`` response's trials times the given weights) and ``mustart``
    the starting means.
    """

    y: Array
    trials: Array
    weights: Array
    mustart: Array


def _xlogy_ratio(y: Array, mu: Array) -> Array:
    """y log(y / mu), 0 where y = 0 (R's y_log_y)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0.0, y * np.log(np.where(y != 0.0, y, 1.0) / mu), 0.0)


def _binomial_dev_resids(y, mu, wt) -> Array:
    y, mu, wt = _as_array(y), _as_array(mu), _as_array(wt)
    return 2.0 * wt * (_xlogy_ratio(y, mu) + _xlogy_ratio(1.0 - y, 1.0 - mu))


def _poisson_dev_resids(y, mu, wt) -> Array:
    y, mu, wt = _as_array(y), _as_array(mu), _as_array(wt)
    return 2.0 * np.where(y > 0, wt * (_xlogy_ratio(y, mu) - (y - mu)), mu * wt)


def _binomial_aic(y, n, mu, wt, dev) -> float:
    """R's binomial()$aic: -2 sum (wt / m) log dbinom(round(m y), round(m), mu), m the trials
    (``n`` where any exceeds 1, else the weights)."""
    y, n, mu, wt = _as_array(y), _as_array(n), _as_array(mu), _as_array(wt)
    n = np.broadcast_to(n, y.shape)
    m = n if np.any(n > 1) else wt
    m = np.broadcast_to(m, y.shape)
    scale = np.divide(wt, m, out=np.zeros_like(y), where=m > 0)
    logp = stats.binom.logpmf(np.round(m * y), np.round(m), mu)
    return float(-2.0 * np.sum(np.where(scale != 0.0, scale * logp, 0.0)))


def _poisson_aic(y, n, mu, wt, dev) -> float:
    """R's poisson()$aic: -2 sum wt log dpois(y, mu)."""
    y, mu, wt = _as_array(y), _as_array(mu), _as_array(wt)
    logp = stats.poisson.logpmf(y, mu)
    return float(-2.0 * np.sum(np.where(wt != 0.0, wt * logp, 0.0)))


def _binomial_initialize(y, weights) -> Initialized:
    """R's binomial()$initialize: a proportion (with trials as weights) or two columns
    (successes, failures)."""
    y = _as_array(y)
    weights = _as_array(weights)
    if y.ndim == 2:
        if y.shape[1] != 2:
            raise ValueError(
                f"a binomial response has one column or two (successes, failures), not {y.shape[1]}"
            )
        if np.any(y < 0):
            raise ValueError("a binomial cbind(successes, failures) response has negative counts")
        trials = y[:, 0] + y[:, 1]
        prop = np.divide(y[:, 0], trials, out=np.zeros(len(y)), where=trials != 0)
        return Initialized(prop, trials, weights * trials, (trials * prop + 0.5) / (trials + 1.0))
    y = np.where(weights == 0, 0.0, y)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("a binomial response must lie in [0, 1] (a proportion, with weights the trials)")
    return Initialized(y, np.ones(len(y)), weights, (weights * y + 0.5) / (weights + 1.0))


def _poisson_initialize(y, weights) -> Initialized:
    """R's poisson()$initialize: mustart = y + 0.1; negative counts refused."""
    y = _as_array(y)
    if np.any(y < 0):
        raise ValueError("negative values are not allowed for the Poisson family")
    return Initialized(y, np.ones(len(y)), _as_array(weights), y + 0.1)


@dataclass(frozen=True)
class Family:
    """An exponential family with its link, as an R family object.

    Attributes
    ----------
    name : str
        "binomial" or "poisson".
    link : Link
    variance : callable
        ``V(mu)``.
    dev_resids : callable
        ``(y, mu, wt) -> d``, the unit deviances (their sum is the deviance).
    aic : callable
        ``(y, n, mu, wt, dev) -> -2 log p(y | mu)``, R's ``family$aic`` (without ``2 p``).
    initialize : callable
        ``(y, weights) -> Initialized``.
    valid_mu : callable
        Whether means are inside the family's range.
    variance_deriv : callable, optional
        ``V'(mu)`` (for the gradient of the GLMM criterion).
    """

    name: str
    link: Link
    variance: ArrayFn
    dev_resids: Callable[[Array, Array, Array], Array]
    aic: Callable[..., float]
    initialize: Callable[[Array, Array], Initialized]
    valid_mu: Callable[[Array], bool]
    variance_deriv: ArrayFn | None = None

    @property
    def valid_eta(self) -> Callable[[Array], bool]:
        """The link's ``valid_eta``."""
        return self.link.valid_eta

    @property
    def linkfun(self) -> ArrayFn:
        return self.link.linkfun

    @property
    def linkinv(self) -> ArrayFn:
        return self.link.linkinv

    @property
    def mu_eta(self) -> ArrayFn:
        return self.link.mu_eta

    @property
    def dispersion_fixed(self) -> bool:
        """Whether the dispersion is 1 (binomial, Poisson): z statistics, not t."""
        return True

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link.name!r})"


def _binomial_valid_mu(mu) -> bool:
    mu = _as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))


def _poisson_valid_mu(mu) -> bool:
    mu = _as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


_FAMILIES = {
    "binomial": (("logit", "probit", "cloglog", "cauchit", "log"), "logit"),
    "poisson": (("log", "sqrt", "identity"), "log"),
}
_NOT_YET = {
    "gaussian": "a Gaussian model with the identity link is a linear mixed model: use mm.lmer",
    "gamma": "the Gamma family is not supported yet",
    "inverse.gaussian": "the inverse Gaussian family is not supported yet",
    "inverse_gaussian": "the inverse Gaussian family is not supported yet",
    "negative.binomial": "the negative binomial family is not supported yet",
    "negative_binomial": "the negative binomial family is not supported yet",
    "quasibinomial": "quasi-likelihood families are not available in glmer (lme4 refuses them "
    "too); mm.glm fits them without random effects",
    "quasipoisson": "quasi-likelihood families are not available in glmer (lme4 refuses them "
    "too); mm.glm fits them without random effects",
}


def family(name: str | Family = "binomial", link: str | None = None) -> Family:
    """The family ``name`` with ``link`` (its canonical link when None), as R's ``binomial(link=)``.

    Parameters
    ----------
    name : str or Family
        "binomial" or "poisson" (case-insensitive; "binomial()" also accepted); a Family is
        returned as it is (with ``link``, if given, replacing its link).
    link : str, optional
        binomial: "logit" (default), "probit", "cloglog", "cauchit", "log";
        poisson: "log" (default), "sqrt", "identity".

    Raises
    ------
    ValueError
        An unknown family or link, one the family does not take, or a family not supported yet.
    NotImplementedError
        The Gaussian family with a link other than the identity (R's ``gaussian(link = "log")``).
    """
    if isinstance(name, Family):
        return name if link is None or link == name.link.name else family(name.name, link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial' or a Family, not {type(name).__name__}")
    key = name.strip().removesuffix("()").strip().lower()
    if key == "gaussian" and link not in (None, "identity"):
        raise NotImplementedError(
            f"family {name!r} with link {link!r}: the Gaussian family with a non-identity link "
            "is not available yet (in glmer nor in glm); with the identity link it is a linear "
            "mixed model (mm.lmer)"
        )
    if key in _NOT_YET:
        raise ValueError(f"family {name!r}: {_NOT_YET[key]}")
    if key not in _FAMILIES:
        raise ValueError(f"unknown family {name!r}: 'binomial' or 'poisson'")
    allowed, default = _FAMILIES[key]
    link = default if link is None else link
    if link not in allowed:
        raise ValueError(f"link {link!r} is not available for the {key} family: one of {', '.join(allowed)}")
    lk = make_link(link)
    if key == "binomial":
        return Family(
            "binomial",
            lk,
            lambda mu: _as_array(mu) * (1.0 - _as_array(mu)),
            _binomial_dev_resids,
            _binomial_aic,
            _binomial_initialize,
            _binomial_valid_mu,
            lambda mu: 1.0 - 2.0 * _as_array(mu),
        )
    return Family(
        "poisson",
        lk,
        _as_array,
        _poisson_dev_resids,
        _poisson_aic,
        _poisson_initialize,
        _poisson_valid_mu,
        lambda mu: np.ones_like(_as_array(mu)),
    )
