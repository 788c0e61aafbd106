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

A family is an object that owns its arithmetic (:class:`Family`; :class:`Binomial`,
:class:`Poisson`, and in :mod:`mixedmodels.families.quasi` the quasi families and the Gaussian):
its link, variance, unit deviance (with the parts free of ``mu`` computed once per response for
PIRLS and per batch for batched PIRLS), ``-2 log p(y | mu)``, starting means, valid means,
working weights (expected information) and the observed information's pieces, its one
simulator (:meth:`Family.draw`), the checks and warnings of a response, whether its
dispersion is fixed, and the names of its extra parameters. The fits call these and never
test a family's name (``tests/test_family_seam.py``), so a new family is a new class.

``family("binomial", link="probit")`` makes one, from R's spellings; unknown families and
links, and those not supported yet (Gamma, inverse Gaussian, negative binomial), are refused
with a message that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from scipy import special, stats

__all__ = ["Binomial", "Family", "Initialized", "Link", "Poisson", "family", "make_link"]

EPS = float(np.finfo(float).eps)
_EPS10 = 10.0 * EPS  # R's glm.fit: fitted means within this of the boundary are warned of
_LOGIT_THRESH = 30.0
_PROBIT_THRESH = float(-stats.norm.ppf(EPS))
_CAUCHIT_THRESH = float(-stats.cauchy.ppf(EPS))

Array = np.ndarray
ArrayFn = Callable[[Array], Array]


@dataclass(frozen=True)
class Link:
    """A link function ``eta = g(mu)``: ``linkfun``, its inverse ``linkinv``, ``mu_eta = d mu / d eta``
    and ``mu_eta_deriv = d^2 mu / d eta^2`` (zero where ``mu_eta`` is clamped). ``mirrored``: the
    inverse is even (``mu(-eta) = mu(eta)``, the sqrt link's ``eta^2``), so that every ``eta``
    has a mirror image with the same mean and PIRLS must not cross 0 where the deviance has a
    barrier there."""

    name: str
    linkfun: ArrayFn
    linkinv: ArrayFn
    mu_eta: ArrayFn
    valid_eta: Callable[[Array], bool] = lambda eta: bool(np.all(np.isfinite(eta)))
    mu_eta_deriv: ArrayFn | None = None
    mirrored: bool = False

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
        mirrored=True,
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


class Family:
    """A response distribution with its link: every piece of arithmetic a fit asks of a family.

    A family is an object, not a name: the fits (``glm``'s IRLS, ``glmer``'s PIRLS and its
    batched form, the bootstrap, simulation, power) call its methods and read its attributes,
    so that a new family is a new class (a subclass of this one, or of :class:`Binomial` or
    :class:`Poisson` with another link) and no module outside this one needs to know its name.
    The methods take arrays and work on whole arrays (no per-element Python).

    Parameters
    ----------
    link : Link or str, optional
        The link (R's spelling, one of :attr:`links`, or a :class:`Link` object); the family's
        canonical link (``links[0]``) when None.

    Attributes
    ----------
    name : str
        R's name of the family ("binomial", "poisson", ...), for printing.
    links : tuple of str
        The links the family takes by name, its canonical link first.
    dispersion_fixed : bool
        Whether the dispersion is fixed at 1 (z tests) rather than estimated (t tests).
    has_likelihood : bool
        Whether the family has a likelihood (a quasi family has none: no AIC).
    extra_parameters : tuple of str
        Names of the family's parameters beyond the mean (empty for these families).
    takes_trials : bool
        Whether the response may be successes out of trials (``cbind``, a two-level factor).
    reference_mu : float
        A mean inside the family's range, where ``aic - sum(dev_resids)`` (free of ``mu``) is read.
    mean_name : str
        What the mean is called in a sentence ("probability", "mean count").
    """

    name: ClassVar[str] = "family"
    links: ClassVar[tuple[str, ...]] = ()
    bounded_links: ClassVar[tuple[str, ...]] = ()
    dispersion_fixed: ClassVar[bool] = True
    has_likelihood: ClassVar[bool] = True
    extra_parameters: ClassVar[tuple[str, ...]] = ()
    takes_trials: ClassVar[bool] = False
    reference_mu: ClassVar[float] = 1.0
    mean_name: ClassVar[str] = "mean"

    def __init__(self, link: Link | str | None = None) -> None:
        if link is None:
            if not self.links:
                raise ValueError(f"the {self.name} family needs a link")
            link = self.links[0]
        if isinstance(link, str):
            if self.links and link not in self.links:
                allowed = ", ".join(self.links)
                raise ValueError(
                    f"link {link!r} is not available for the {self.name} family: one of {allowed}"
                )
            link = make_link(link)
        self._link = link

    # ------------------------------------------------------------------ the link
    @property
    def link(self) -> Link:
        return self._link

    def with_link(self, link: Link | str) -> Family:
        """The same family with another link."""
        return type(self)(link)

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

    def _link_is(self, names: tuple[str, ...]) -> bool:
        """Whether the link is one of the registered links ``names`` (the object, not its name)."""
        return any(self.link is _LINKS[n] for n in names)

    @cached_property
    def canonical(self) -> bool:
        """Whether the link is the family's canonical one (then the observed information is the
        expected one: ``d''/2 = W``)."""
        return bool(self.links) and self._link_is(self.links[:1])

    @cached_property
    def bounded_eta(self) -> bool:
        """Whether the link maps only part of the line to valid means (binomial log, Poisson sqrt
        and identity): PIRLS then keeps ``eta`` inside, where the penalized deviance is convex
        and its mode unique."""
        return self._link_is(self.bounded_links)

    # ------------------------------------------------------------------ the distribution
    def variance(self, mu) -> Array:
        """``V(mu)``."""
        raise NotImplementedError

    def variance_deriv(self, mu) -> Array:
        """``V'(mu)`` (for the gradient of the GLMM criterion and its observed information)."""
        raise NotImplementedError

    def dev_resids(self, y, mu, wt) -> Array:
        """The unit deviances ``d_i`` (their sum is the deviance), as R's ``family$dev.resids``."""
        raise NotImplementedError

    def aic(self, y, n, mu, wt, dev) -> float:
        """``-2 log p(y | mu)``, R's ``family$aic`` (without ``2 p``)."""
        raise NotImplementedError

    def initialize(self, y, weights) -> Initialized:
        """The response as the family reads it and the starting means (R's ``mustart``)."""
        raise NotImplementedError

    def valid_mu(self, mu) -> bool:
        """Whether means are inside the family's range."""
        return bool(np.all(np.isfinite(_as_array(mu))))

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """One draw of the response for each mean in ``mu`` (any shape; ``weights`` broadcast
        against it): the family's one simulator, used by every simulation and bootstrap.
        A binomial's ``weights`` are the trials (whole numbers) and its draws the successes."""
        raise ValueError(f"the {self.name} family has no distribution to simulate from")

    @property
    def simulates(self) -> bool:
        """Whether the family has a distribution to draw from (:meth:`draw`)."""
        return self.has_likelihood and type(self).draw is not Family.draw

    def draws_as_response(self, draws, weights, empty: float = 0.0) -> Array:
        """Draws of :meth:`draw` on the model's scale (a binomial's proportions of the trials,
        ``empty`` where a row has none)."""
        return np.asarray(draws, dtype=float)

    # ------------------------------------------------------------------ working weights
    def working(self, y, eta, mu) -> tuple[Array, Array]:
        """The working residual ``(y - mu) / mu_eta`` and the working weight per prior weight
        ``mu_eta^2 / V(mu)`` (the expected information of ``eta``) at ``eta``, ``mu``."""
        d = self.mu_eta(eta)
        return (y - mu) / d, d * d / self.variance(mu)

    def unit_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array, Array]:
        """``W``, ``W'``, ``d'`` and ``d''/2`` per observation (derivatives in ``eta``; any shapes
        that broadcast): the expected information ``W = w mu'^2 / V``, its derivative, and the
        first and half the second derivative of the unit deviance (the observed information),

            d'     = -2 w (y - mu) mu' / V,
            d''/2  = W - w (y - mu) (mu'' V - mu'^2 V') / V^2,
            W'     = w (2 mu' mu'' / V - mu'^3 V' / V^2)

        (:mod:`mixedmodels.glmm.laplace_gradient`)."""
        m1 = self.mu_eta(eta)
        deriv = self.link.mu_eta_deriv
        if deriv is None:
            raise NotImplementedError(f"the link {self.link.name!r} has no mu_eta_deriv")
        m2 = deriv(eta)
        V = self.variance(mu)
        dV = self.variance_deriv(mu)
        resid = y - mu
        W = w * m1 * m1 / V
        dW = w * (2.0 * m1 * m2 / V - m1**3 * dV / V**2)
        d1 = -2.0 * w * resid * m1 / V
        half_d2 = W - w * resid * (m2 * V - m1 * m1 * dV) / V**2
        return W, dW, d1, half_d2

    # ------------------------------------------------------------------ one response, many means
    def deviance_parts(self, y, wt) -> tuple:
        """What :meth:`dev_resids_parts` needs of the response ``y``, computed once (PIRLS
        evaluates the deviance of one response at many means)."""
        return (y,)

    def dev_resids_parts(self, parts: tuple, mu, wt) -> Array:
        """The unit deviances at ``mu`` from :meth:`deviance_parts` (here :meth:`dev_resids`)."""
        return self.dev_resids(parts[0], mu, wt)

    def aic_parts(self, y, trials, wt) -> tuple:
        """What :meth:`aic_from_parts` needs of the response, computed once."""
        return (y, trials, wt)

    def aic_from_parts(self, parts: tuple, mu) -> float:
        """:meth:`aic` at ``mu`` from :meth:`aic_parts` (here :meth:`aic` itself)."""
        y, trials, wt = parts
        return self.aic(y, trials, mu, wt, 0.0)

    # ------------------------------------------------------------------ many responses (B, n)
    def batch_deviance_split(self, Y, wt) -> tuple[Array, bool]:
        """For responses ``Y`` (B, n): the part of each response's deviance free of ``mu``
        (B,) and a flag for :meth:`batch_dev_resids` (here zeros: no split)."""
        return np.zeros(len(Y)), False

    def batch_dev_resids(self, Y, mu, wt, flag: bool) -> Array:
        """The unit deviances of ``Y`` (B, n) at ``mu`` less their part free of ``mu``
        (:meth:`batch_deviance_split`)."""
        return self.dev_resids(Y, mu, wt)

    # ------------------------------------------------------------------ checks of a response
    def response_problem(self, response, weights, name: str) -> str | None:
        """Why ``response`` (one column, or ``cbind``'s two) is not one of this family, or None."""
        return None

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        """R's warning for a count response that is not whole numbers, or None."""
        return None

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        """For a response ``y`` (its rows of non-zero weight, described by ``rows``) that puts
        the estimates at infinity: what it is and where the fit runs; else None."""
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        """R's ``glm.fit`` warning for fitted means numerically on the boundary, or None."""
        return None

    def glmm_boundary_note(self, mu, eps: float) -> str | None:
        """glmer's note for fitted means within ``eps`` of the boundary, or None."""
        return None

    @property
    def glmm_refusal(self) -> str | None:
        """Why ``glmer`` cannot fit this family (with this link), or None."""
        if not self.dispersion_fixed:
            return f"the {self.name} family estimates a dispersion, which glmer does not fit yet"
        return None

    def new_response(self, y, weights, cbind: bool) -> Array:
        """A new response (``refit``) on the model's scale, checked: ``cbind`` when the model's
        response is successes out of the trials ``weights``."""
        return _as_array(y)

    def describe_value(self, value: float) -> str:
        """A value of the response on the model's scale, in words."""
        return f"{value:g}"

    # ------------------------------------------------------------------ separation
    @property
    def separable(self) -> bool:
        """Whether the data can put the estimates at infinity (:mod:`mixedmodels.numerics.separation`)."""
        return False

    def separation_sides(self, Y) -> Array:
        """Per entry of ``Y``: +1 where the mean may run up to its bound (successes only), -1
        down (failures only, a zero count), 0 where it must stay."""
        return np.zeros(np.shape(Y))

    no_events: ClassVar[str] = "no events (all 0s) in its rows"

    # ------------------------------------------------------------------ identity
    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.link == other.link

    def __hash__(self) -> int:
        return hash((type(self), self.link))

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link.name!r})"


def _binomial_valid_mu(mu) -> bool:
    mu = _as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))


def _poisson_valid_mu(mu) -> bool:
    mu = _as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


class Binomial(Family):
    """R's ``binomial()``: ``y`` the proportion of successes of ``w`` trials, ``V(mu) = mu (1 - mu)``.

    The unit deviance has two forms, kept apart because they round differently (a change would
    move numbers): :meth:`dev_resids` is R's, ``(1 - y) log((1 - y) / (1 - mu))`` by its ratio
    (``glm``'s IRLS, whose deviance reproduces R's to the last digit); :meth:`dev_resids_parts`
    (PIRLS) and :meth:`batch_dev_resids` (batched PIRLS) take ``log1p(-y) - log1p(-mu)``,
    whose rounding does not grow with the trials (a criterion that is smooth at tiny
    probabilities with many trials). For a 0/1 response all three are the same numbers.
    """

    name = "binomial"
    links = ("logit", "probit", "cloglog", "cauchit", "log")
    bounded_links = ("log",)
    takes_trials = True
    reference_mu = 0.5
    mean_name = "probability"

    def variance(self, mu) -> Array:
        mu = _as_array(mu)
        return mu * (1.0 - mu)

    def variance_deriv(self, mu) -> Array:
        return 1.0 - 2.0 * _as_array(mu)

    def dev_resids(self, y, mu, wt) -> Array:
        """R's: ``2 w [y log(y / mu) + (1 - y) log((1 - y) / (1 - mu))]`` (see the class)."""
        return _binomial_dev_resids(y, mu, wt)

    def aic(self, y, n, mu, wt, dev) -> float:
        return _binomial_aic(y, n, mu, wt, dev)

    def initialize(self, y, weights) -> Initialized:
        return _binomial_initialize(y, weights)

    def valid_mu(self, mu) -> bool:
        return _binomial_valid_mu(mu)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """Successes out of ``weights`` trials (R refuses non-integer trials too)."""
        w = np.asarray(weights)
        if np.any(w != np.round(w)):
            raise ValueError("cannot simulate a binomial response with non-integer prior weights (trials)")
        return rng.binomial(w.astype(np.int64), mu)

    def draws_as_response(self, draws, weights, empty: float = 0.0) -> Array:
        draws = np.asarray(draws)
        return np.divide(draws, weights, out=np.full(draws.shape, empty), where=np.asarray(weights) > 0)

    def deviance_parts(self, y, wt) -> tuple:
        """For each ``y log(y / mu)`` term its ``y``, where ``y != 0`` and ``y`` with its zeros
        made 1; for a 0/1 response ``2 w`` and where ``y = 1`` (one of the two terms is 0)."""
        c = 1.0 - y
        if np.all((y == 0.0) | (y == 1.0)):  # one of the two terms is 0: the other's log alone
            return (2.0 * wt, y == 1.0)
        return y, y != 0.0, np.where(y != 0.0, y, 1.0), c, c != 0.0, np.where(c != 0.0, c, 1.0)

    def dev_resids_parts(self, parts: tuple, mu, wt) -> Array:
        """The unit deviances, ``(1 - y)``'s term by ``log1p`` (see the class)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if len(parts) == 2:
                twice_wt, success = parts  # y log(y / mu) with y = 1 is log(1 / mu)
                return twice_wt * np.log(1.0 / np.where(success, mu, 1.0 - mu))
            y, nz, ys, c, cnz, cs = parts
            a = np.where(nz, y * np.log(ys / mu), 0.0)
            return 2.0 * wt * (a + np.where(cnz, c * (np.log1p(-y) - np.log1p(-mu)), 0.0))

    def aic_parts(self, y, trials, wt) -> tuple:
        """(scale, k, m - k, log choose(m, k)): the AIC's terms free of ``mu``."""
        n = np.broadcast_to(trials, y.shape)
        m = np.broadcast_to(n if np.any(n > 1) else wt, y.shape)
        scale = np.divide(wt, m, out=np.zeros_like(y), where=m > 0)
        k, mm = np.round(m * y), np.round(m)
        combiln = special.gammaln(mm + 1) - (special.gammaln(k + 1) + special.gammaln(mm - k + 1))
        return scale, k, mm - k, combiln

    def aic_from_parts(self, parts: tuple, mu) -> float:
        """The same sums as scipy's ``logpmf`` in :meth:`aic`."""
        scale, k, rest, combiln = parts
        logp = combiln + special.xlogy(k, mu) + special.xlog1py(rest, -mu)
        return float(-2.0 * np.sum(np.where(scale != 0.0, scale * logp, 0.0)))

    def batch_deviance_split(self, Y, wt) -> tuple[Array, bool]:
        """``sum 2 w [y log y + (1 - y) log(1 - y)]`` per response, and whether all are 0/1."""
        tw = 2.0 * wt
        c = np.sum(tw * (special.xlogy(Y, Y) + special.xlogy(1.0 - Y, 1.0 - Y)), axis=1)
        return c, bool(np.all((Y == 0.0) | (Y == 1.0)))

    def batch_dev_resids(self, Y, mu, wt, flag: bool) -> Array:
        tw = 2.0 * wt
        if flag:
            return -tw * np.log(np.where(Y == 1.0, mu, 1.0 - mu))
        return -tw * (Y * np.log(mu) + (1.0 - Y) * np.log1p(-mu))

    def response_problem(self, response, weights, name: str) -> str | None:
        response = np.asarray(response)
        if response.ndim == 2:
            if np.any(response < 0):
                return f"the response {name!r} has negative counts: a {self.name} response is counts"
            return None
        outside = (weights != 0) & ((response < 0) | (response > 1))
        if outside.any():
            return (
                f"the response {name!r} has a value {response[outside][0]:g} outside [0, 1]: a binomial "
                "response is 0/1, a proportion (with weights= the trials), a two-level factor or "
                "cbind(successes, failures)"
            )
        return None

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        counts, what = (response, "counts") if response.ndim == 2 else (init.weights * init.y, "#successes")
        if np.any(np.abs(counts - np.round(counts)) > 1e-3):
            return f"non-integer {what} in a binomial glm!"
        return None

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        if np.all(y == 0):
            return (
                f"no successes in {rows}",
                "the fitted probabilities run to 0 and the linear predictor to -infinity",
            )
        if np.all(y == 1):
            return (
                f"no failures in {rows}",
                "the fitted probabilities run to 1 and the linear predictor to +infinity",
            )
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        if np.any(mu > 1 - _EPS10) or np.any(mu < _EPS10):
            return "fitted probabilities numerically 0 or 1 occurred"
        return None

    def glmm_boundary_note(self, mu, eps: float) -> str | None:
        if np.any((mu < eps) | (mu > 1 - eps)):
            return "fitted probabilities numerically 0 or 1 occurred"
        return None

    def new_response(self, y, weights, cbind: bool) -> Array:
        trials = weights if cbind else np.ones(len(y))
        if np.any(y < 0) or np.any(y > trials):
            bound = "its row's trials" if cbind else "1"
            raise ValueError(f"a binomial response must lie between 0 and {bound}")
        return y / trials

    def describe_value(self, value: float) -> str:
        return f"a proportion of {value:g}"

    @property
    def separable(self) -> bool:
        return True

    def separation_sides(self, Y) -> Array:
        side = np.zeros(Y.shape)
        side[Y <= 0] = -1.0
        if not self._link_is(("log",)):  # the log link's means cannot pass 1
            side[Y >= 1] = 1.0
        return side


class Poisson(Family):
    """R's ``poisson()``: counts, ``V(mu) = mu``. One unit deviance, ``2 w [y log(y / mu) - (y - mu)]``
    (``2 w mu`` where ``y = 0``): :meth:`dev_resids` is :meth:`dev_resids_parts` of its own
    parts; the batched form splits off the terms free of ``mu`` (:meth:`batch_dev_resids`)."""

    name = "poisson"
    links = ("log", "sqrt", "identity")
    bounded_links = ("sqrt", "identity")
    reference_mu = 1.0
    mean_name = "mean count"
    no_events = "its rows have no events (all counts 0)"

    def variance(self, mu) -> Array:
        return _as_array(mu)

    def variance_deriv(self, mu) -> Array:
        return np.ones_like(_as_array(mu))

    def dev_resids(self, y, mu, wt) -> Array:
        y, mu, wt = _as_array(y), _as_array(mu), _as_array(wt)
        return self.dev_resids_parts(self.deviance_parts(y, wt), mu, wt)

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
        if np.any(np.asarray(response) < 0):
            return f"the response {name!r} has negative counts: a {self.name} response is counts"
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
        if np.any(mu < _EPS10):
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


_FAMILIES: dict[str, type[Family]] = {"binomial": Binomial, "poisson": Poisson}
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
        "binomial" or "poisson" (case-insensitive; "binomial()" also accepted); a Family (an
        instance of any subclass of :class:`Family`, the package's or one's own) is returned as
        it is (with ``link``, if given, replacing its link).
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
        return name if link is None or link == name.link.name else name.with_link(link)
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
    cls = _FAMILIES[key]
    if link is not None and link not in cls.links:
        allowed = ", ".join(cls.links)
        raise ValueError(f"link {link!r} is not available for the {key} family: one of {allowed}")
    return cls(link)
