"""The family of a response: what a generalized linear (mixed) model asks of it.

The family gives the variance function ``V(mu)`` (the response's variance is ``phi V(mu) / w``
with prior weight ``w``), the unit deviances ``d_i`` (their sum is the deviance), and the AIC's
``-2 log p(y | mu)``. A family is an object that owns its arithmetic (:class:`Family`): its link
(:mod:`~mixedmodels.families.links`), variance, unit deviance (with the parts free of ``mu``
computed once per response for PIRLS and per batch for batched PIRLS), ``-2 log p(y | mu)``,
starting means, valid means, working weights (expected information) and the observed
information's pieces, its one simulator (:meth:`Family.draw`), the checks and warnings of a
response, whether its dispersion is fixed, and the names of its extra parameters. The fits call
these and never test a family's name (``tests/test_family_seam.py``), so a new family is a new
class (``tests/test_toy_family.py`` writes one).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from .links import EPS, LINKS, Array, ArrayFn, Link, as_array, make_link

__all__ = ["EPS10", "Family", "Initialized", "parameter_key", "parameter_text", "xlogy_ratio"]

EPS10 = 10.0 * EPS  # R's glm.fit: fitted means within this of the boundary are warned of


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


def parameter_key(value) -> float | tuple | None:
    """A family's parameter as a key of its identity: the value, or a batch's values (an array,
    :meth:`Family.with_parameter`) as a tuple, so that equality and hashing never ask an array
    for its truth value."""
    if value is None or np.ndim(value) == 0:
        return value
    return (np.shape(value), tuple(np.ravel(value).tolist()))


def parameter_text(value) -> str:
    """A family's parameter for its ``repr``: the value, or a batch's shape."""
    return f"{value:g}" if np.ndim(value) == 0 else f"<{np.shape(value)} values>"


def xlogy_ratio(y: Array, mu: Array) -> Array:
    """y log(y / mu), 0 where y = 0 (R's y_log_y)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0.0, y * np.log(np.where(y != 0.0, y, 1.0) / mu), 0.0)


class Family:
    """A response distribution with its link: every piece of arithmetic a fit asks of a family.

    A family is an object, not a name: the fits (``glm``'s IRLS, ``glmer``'s PIRLS and its
    batched form, the bootstrap, simulation, power) call its methods and read its attributes,
    so that a new family is a new class (a subclass of this one, or of
    :class:`~mixedmodels.families.Binomial` or :class:`~mixedmodels.families.Poisson` with another
    link) and no module outside the families subpackage needs to know its name.
    The methods take arrays and work on whole arrays (no per-element Python).

    Parameters
    ----------
    link : Link or str, optional
        The link (R's spelling, one of :attr:`links`, or a :class:`Link` object); the family's
        default (``links[0]``) when None.

    Attributes
    ----------
    name : str
        R's name of the family ("binomial", "poisson", ...), for printing.
    links : tuple of str
        The links the family takes by name, its default first.
    canonical_link : str or None
        The name of the family's canonical link (``g' = 1 / V``: the observed information is
        then the expected one, and the Laplace gradient takes its shorter path), or None where
        the family has none or does not say. Only a link of this name is treated as canonical.
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
    canonical_link: ClassVar[str | None] = None
    bounded_links: ClassVar[tuple[str, ...]] = ()
    dispersion_fixed: ClassVar[bool] = True
    has_likelihood: ClassVar[bool] = True
    extra_parameters: ClassVar[tuple[str, ...]] = ()
    takes_trials: ClassVar[bool] = False
    reference_mu: ClassVar[float] = 1.0
    mean_name: ClassVar[str] = "mean"
    # emmeans' name of a back-transformed mean: "prob" (binomial families), "rate" (Poisson
    # families), "response" (the others)
    emmeans_label: ClassVar[str] = "response"
    # whether emmeans 1.8.4-1 gives a glm of the family its residual degrees of freedom (t
    # intervals): the Gaussian and the Gamma; every other family, quasi ones included, gets
    # infinitely many (z intervals)
    emmeans_residual_df: ClassVar[bool] = False

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
        """The same family with another link (and the same information, :meth:`with_information`)."""
        return self._same_information(type(self)(link))

    def _same_information(self, other: Family) -> Family:
        """``other`` with this family's kind of information."""
        return other.with_information("observed") if self.observed_information else other

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
        return any(self.link is LINKS[n] for n in names)

    @cached_property
    def canonical(self) -> bool:
        """Whether the link is the family's canonical one (then the observed information is the
        expected one: ``d''/2 = W``)."""
        return self.canonical_link is not None and self._link_is((self.canonical_link,))

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

    def drop1_criterion(self, deviance, n: int, dispersion: float) -> Array:
        """R's ``drop1.glm`` criterion of fits with residual deviance ``deviance`` (its AIC is
        this plus ``2 rank``, its test statistic the difference): the deviance over the
        full model's dispersion (a Gaussian family: ``n log(deviance / n)``)."""
        return np.asarray(deviance, dtype=float) / dispersion

    def initialize(self, y, weights) -> Initialized:
        """The response as the family reads it and the starting means (R's ``mustart``)."""
        raise NotImplementedError

    def valid_mu(self, mu) -> bool:
        """Whether means are inside the family's range."""
        return bool(np.all(np.isfinite(as_array(mu))))

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """One draw of the response for each mean in ``mu`` (any shape; ``weights`` broadcast
        against it): the family's one simulator, used by every simulation and bootstrap.
        A binomial's ``weights`` are the trials (whole numbers) and its draws the successes."""
        raise ValueError(f"the {self.name} family has no distribution to simulate from")

    def response_mean(self, mu) -> Array:
        """``E[y]`` at the link's mean ``mu``: ``mu`` itself, except where the response's mean is
        another function of it (a zero-truncated family's ``mu / (1 - p0)``, glmmTMB's fitted)."""
        return as_array(mu)

    def response_variance(self, mu) -> Array:
        """``Var[y]`` per unit prior weight at the link's mean ``mu`` with the family's parameter
        (``V(mu)`` for a family whose dispersion is fixed at 1)."""
        return self.variance(mu)

    def pearson_variance(self, mu) -> Array:
        """What glmmTMB's Pearson residuals ``(y - E[y]) / sqrt(v)`` divide by, at the link's mean
        ``mu``: ``V(mu)`` (the variance function without the dispersion), except where a family
        says otherwise (a zero-truncated family's ``V(E[y])``)."""
        return self.variance(mu)

    @property
    def simulates(self) -> bool:
        """Whether the family has a distribution to draw from (:meth:`draw`)."""
        return self.has_likelihood and type(self).draw is not Family.draw

    def draws_as_response(self, draws, weights, empty: float = 0.0) -> Array:
        """Draws of :meth:`draw` on the model's scale (a binomial's proportions of the trials,
        ``empty`` where a row has none)."""
        return np.asarray(draws, dtype=float)

    def response_as_draws(self, values, weights, means: bool = False) -> Array:
        """The inverse of :meth:`draws_as_response`: responses on the model's scale as the
        :meth:`draw` scale has them (a binomial's successes, rounded to whole numbers so that
        ties between observed and simulated values are exact; ``means``: the values are means,
        not responses, and are not rounded)."""
        return np.asarray(values, dtype=float)

    # ------------------------------------------------------------------ working weights
    observed_information: bool = False
    default_information: ClassVar[str] = "expected"  # lme4's, for the families glmer has

    def with_information(self, information: str) -> Family:
        """The family whose fits take the ``"expected"`` (Fisher; lme4's) or the ``"observed"``
        information (glmmTMB's) as the working weights of PIRLS and in the Laplace approximation."""
        if information not in ("expected", "observed"):
            raise ValueError(f"laplace must be 'expected' or 'observed', not {information!r}")
        other = copy.copy(self)
        other.__dict__.pop("newton", None)
        other.observed_information = information == "observed"
        return other

    @cached_property
    def newton(self) -> bool:
        """Whether the working weights at the mode are the Hessian of the deviance in ``eta`` (the
        observed information, or a canonical link's expected one): PIRLS is then Newton's method
        and the Laplace gradient takes its shorter path."""
        return self.canonical or self.observed_information

    def working(self, y, eta, mu) -> tuple[Array, Array]:
        """The working residual and the working weight per prior weight at ``eta``, ``mu``: by
        default ``(y - mu) / mu_eta`` and ``mu_eta^2 / V(mu)`` (the expected information of
        ``eta``); with the observed information ``-d'/(2 D)`` and ``D = d''/2`` (a Newton step,
        :meth:`observed_derivatives`), ``|D|`` where ``D <= 0`` (a descent step still)."""
        d = self.mu_eta(eta)
        if not self.observed_information:
            return (y - mu) / d, d * d / self.variance(mu)
        d1, D = self.observed_information_eta(y, 1.0, eta, mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            floor = 1e-8 * d * d / self.variance(mu)
        W = np.where(D > 0, D, np.maximum(-D, floor))
        return -d1 / (2.0 * W), W

    def observed_information_eta(self, y, w, eta, mu) -> tuple[Array, Array]:
        """``d'`` and ``D = d''/2`` of :meth:`observed_derivatives` without ``D'``."""
        link = self.link
        if link.mu_eta_deriv is None:
            raise NotImplementedError(f"the link {link.name!r} has no second derivative")
        m1, m2 = self.mu_eta(eta), link.mu_eta_deriv(eta)
        n1, n2 = self.deviance_mu_curvature(y, mu, w)
        return n1 * m1, (n2 * m1 * m1 + n1 * m2) / 2.0

    def observed_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array]:
        """``d'``, ``D = d''/2`` and ``D'`` of the unit deviances in ``eta`` (prior weights ``w``):
        with ``m_k`` the link's ``k``-th derivative of ``mu`` and ``d_mu`` those in ``mu``
        (:meth:`deviance_mu_derivatives`),

            d'  = d_mu m_1,
            D   = (d_mumu m_1^2 + d_mu m_2) / 2,
            D'  = (d_mumumu m_1^3 + 3 d_mumu m_1 m_2 + d_mu m_3) / 2.
        """
        m1, m2, m3 = self._link_derivatives(eta)
        n1, n2, n3 = self.deviance_mu_derivatives(y, mu, w)
        return n1 * m1, (n2 * m1 * m1 + n1 * m2) / 2.0, (n3 * m1**3 + 3.0 * n2 * m1 * m2 + n1 * m3) / 2.0

    def unit_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array, Array]:
        """``W``, ``W'``, ``d'`` and ``d''/2`` per observation (derivatives in ``eta``; any shapes
        that broadcast): the expected information ``W = w mu'^2 / V``, its derivative, and the
        first and half the second derivative of the unit deviance (the observed information),

            d'     = -2 w (y - mu) mu' / V,
            d''/2  = W - w (y - mu) (mu'' V - mu'^2 V') / V^2,
            W'     = w (2 mu' mu'' / V - mu'^3 V' / V^2)

        (:mod:`mixedmodels.glmm.laplace_gradient`)."""
        if self.observed_information:
            d1, D, dD = self.observed_derivatives(y, w, eta, mu)
            return D, dD, d1, D
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

    # ------------------------------------------------------------------ the observed information
    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        """The first three derivatives in ``mu`` of the unit deviances ``d_i`` (``-2 w_i log p(y_i |
        mu_i)`` up to terms free of ``mu``): what the observed information in ``eta`` and its
        derivative are made of (:mod:`mixedmodels.families.observed`)."""
        raise NotImplementedError(f"the {self.name} family has no observed information")

    def deviance_mu_curvature(self, y, mu, wt) -> tuple[Array, Array]:
        """The first two of :meth:`deviance_mu_derivatives` (what a Newton step needs; a family
        whose third derivative costs more computes these alone)."""
        d_mu, d_mumu, _ = self.deviance_mu_derivatives(y, mu, wt)
        return d_mu, d_mumu

    def laplace_weights(self, y, eta, mu) -> Array:
        """The weights per prior weight whose penalized system's log determinant enters the
        Laplace approximation: the working weights (the expected information, lme4's), or the
        observed information ``D`` itself (glmmTMB's; :meth:`working` may have replaced some)."""
        if self.observed_information:
            return self.observed_information_eta(y, 1.0, eta, mu)[1]
        return self.working(y, eta, mu)[1]

    # ------------------------------------------------------------------ an estimated parameter
    parameter_name: ClassVar[str | None] = None

    @property
    def parameter(self) -> float | None:
        """The value of the family's parameter beyond the mean (glmmTMB's ``exp`` of its
        dispersion model's intercept: a negative binomial's size, a Gamma's shape, ...), None
        for a family without one or where it is still to be estimated."""
        return None

    @property
    def estimates_parameter(self) -> bool:
        """Whether a fit estimates :attr:`parameter` (jointly, by maximum likelihood)."""
        return False

    lme4_counts_parameter: ClassVar[bool] = False
    """Whether lme4 counts the family's parameter in a glmer fit's degrees of freedom even where
    it is given (lme4 counts a negative binomial's size: ``glmer.nb``'s fit is a ``glmer`` at the
    estimated size, ``logLik(glmer(..., negative.binomial(2)))`` has ``df = ntheta + p + 1``)."""

    def with_parameter(self, value: float) -> Family:
        """The same family at ``parameter = value`` (still estimated by a fit, if it was).

        ``value`` may also be an array of shape (B, 1), one value per problem of a batch
        (:mod:`mixedmodels.glmm.laplace_ml_batch`: a bootstrap's replicates): the family's
        elementwise methods (``linkinv``, ``variance``, ``dev_resids``,
        ``deviance_mu_derivatives``, ``observed_derivatives``, ``working``,
        ``parameter_derivatives``) must then broadcast it against (B, n) arrays of ``y`` and
        ``mu`` (numpy functions, not ``math``'s)."""
        raise ValueError(f"the {self.name} family has no parameter beyond the mean")

    def fixed_parameter(self) -> Family:
        """The family with its parameter held at its value (a fit then does not estimate it)."""
        return self

    def estimating(self) -> Family:
        """The family with its parameter estimated by a fit (from its value, if it has one):
        what a dispersion model asks of it. A family without a parameter is itself."""
        return self

    def glm_form(self) -> Family:
        """The family as ``mm.glm`` takes it (:func:`~mixedmodels.families.glm_family`): itself,
        except that a family whose parameter is the GLM's dispersion (Gamma, Gaussian) is not
        also estimated by the likelihood there."""
        return self

    def parameter_start(self, y, mu, wt) -> float:
        """A starting value of :attr:`parameter` from the response and means (moments)."""
        raise ValueError(f"the {self.name} family has no parameter beyond the mean")

    def parameter_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        """The derivatives in ``log(parameter)`` of ``-2 w_i log p(y_i | mu_i)`` and of its first
        and second derivatives in ``mu`` (for the Laplace criterion's gradient)."""
        raise ValueError(f"the {self.name} family has no parameter beyond the mean")

    def parameter_eta_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array]:
        """The derivatives in ``log(parameter)`` at fixed ``eta`` of ``n = -2 w log p``, of ``d'``
        and of ``D = d''/2`` (:meth:`observed_derivatives`): ``(dn, dn_mu m_1, (dn_mumu m_1^2 +
        dn_mu m_2) / 2)`` from :meth:`parameter_derivatives`."""
        n_p, n1_p, n2_p = self.parameter_derivatives(y, mu, w)
        m1, m2 = self._link_derivatives(eta)[:2]
        return n_p, n1_p * m1, (n2_p * m1 * m1 + n1_p * m2) / 2.0

    def _link_derivatives(self, eta) -> tuple[Array, Array, Array]:
        """The first three derivatives of ``mu`` in ``eta``."""
        link = self.link
        if link.mu_eta_deriv is None or link.mu_eta_deriv2 is None:
            raise NotImplementedError(f"the link {link.name!r} has no second and third derivatives")
        return self.mu_eta(eta), link.mu_eta_deriv(eta), link.mu_eta_deriv2(eta)

    def alternation_start(self) -> Family | None:
        """For lme4's fit of the parameter by alternation (``glmer.nb``: a 1-D search over the
        parameter, a fit at each value held fixed, :mod:`mixedmodels.glmm.glmer_nb`), the family
        whose fit gives the means that start it (the negative binomial's: the Poisson, its limit);
        None where lme4 has no such fit of the family."""
        return None

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` for the family: 1 for a family without a dispersion parameter."""
        return 1.0

    sigma_squared_shown: ClassVar[bool] = False
    """Whether glmmTMB's summary shows the dispersion as ``sigma^2`` ("Dispersion estimate for
    ... (sigma^2)": its classic dispersion families, the Gaussian and the Gamma) rather than as
    ``sigma`` ("Dispersion parameter for ... ()")."""

    residual_row_shown: ClassVar[bool] = False
    """Whether glmmTMB's random-effects table has a "Residual" row (its ``sigma()``: the Gaussian's
    standard deviation, NA with a dispersion model)."""

    unit_deviance: ClassVar[bool] = True
    """Whether :meth:`dev_resids` is a unit deviance (zero where ``mu = y``), so that deviance
    residuals are defined; False for a family whose ``dev_resids`` is ``-2 w log p`` itself."""

    def residual_deviances(self, y, mu, wt) -> Array | None:
        """The unit deviances of deviance residuals where they are not :meth:`dev_resids`: R's
        ``family$dev.resids``, without a dispersion parameter that :meth:`dev_resids` scales by
        (the Gamma's shape, the Gaussian's variance); None: :meth:`dev_resids` themselves."""
        return None

    alternates_in_glm: ClassVar[bool] = False  # the parameter of mm.glm as MASS's glm.nb estimates it

    def parameter_given_means(
        self, y, mu, wt, tolerance: float | None = None, limit: int = 25
    ) -> tuple[float, float, str | None]:
        """For a family that :attr:`alternates_in_glm` (with its parameter held it is a GLM of
        dispersion 1): the maximum-likelihood estimate of the parameter with the means held at
        ``mu``, its standard error and a warning (or None), as its R counterpart computes them
        (MASS's ``theta.ml``); ``tolerance`` the last step's size (R's by default)."""
        raise ValueError(f"the {self.name} family's parameter is not estimated by alternation")

    # ------------------------------------------------------------------ zero-inflation, auxiliary models
    @property
    def conditional(self) -> Family:
        """The conditional family: itself, or a zero-inflated or hurdle family's count family
        (:mod:`~mixedmodels.families.zero_inflated`)."""
        return self

    def log_prob_zero(self, mu, wt) -> Array:
        """``log f(0 | mu)`` per observation (``wt`` a binomial's trials, else 1): here minus half
        the unit deviance at ``y = 0``, which it is where the saturated model gives a zero
        probability 1 (counts, successes); a family where it is not says otherwise."""
        return -0.5 * self.dev_resids(np.zeros(np.shape(mu)), mu, wt)

    zero_truncated: ClassVar[bool] = False
    """Whether the family is zero-truncated: with a zero-inflation model it is then glmmTMB's
    hurdle model (:func:`~mixedmodels.families.zero_inflated.zero_augmented`)."""

    zero_support: ClassVar[str | None] = None
    """Where a family's response cannot be 0 (a positive or a (0, 1) response), what it is: a
    zero-inflation model is then refused (:func:`~mixedmodels.families.zero_inflated.zero_augmented`);
    None: zeros are the family's."""

    def auxiliary_eta_derivatives(self, y, w, eta, mu) -> tuple[tuple[Array, Array, Array], ...]:
        """Per auxiliary linear predictor of the family (its parameter's log where a fit estimates
        it; a zero-inflation model's ``zeta``): the derivatives in it at fixed ``eta`` of ``n =
        -2 w log p``, of ``d'`` and of ``D = d''/2``, per observation (what the Laplace gradient
        takes, :mod:`mixedmodels.glmm.laplace_gradient`)."""
        if not self.estimates_parameter:
            return ()
        return (self.parameter_eta_derivatives(y, w, eta, mu),)

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
        return as_array(y)

    def describe_value(self, value: float) -> str:
        """A value of the response on the model's scale, in words."""
        return f"{value:g}"

    # ------------------------------------------------------------------ model checks (performance's)
    def distribution_variance(self, null_mean: Callable[[], float]) -> tuple[float, str]:
        """Nakagawa's distribution-specific variance on the link scale, as performance 0.10.2
        (insight 0.19.0) computes it for R^2 and the ICC (:mod:`mixedmodels.checks.r2`), and the
        approximation's name.

        ``null_mean`` gives, when called, ``exp`` of the intercept of the null model (the
        response on the random-effects terms alone, refitted): the mean count of a family
        whose variance needs it. A family without an approximation in performance 0.10.2
        refuses with ``ValueError`` (here: every family that does not say otherwise)."""
        raise ValueError(
            f"no distribution-specific variance for the {self.name} family with the "
            f"{self.link.name} link: R^2 and the ICC (performance 0.10.2's) are computed for "
            "Gaussian, binomial, Poisson and negative binomial models"
        )

    def overdispersion_problem(self, trials) -> str | None:
        """Why Pearson's chi-square test of overdispersion (performance's
        ``check_overdispersion``) does not apply to a response of this family with ``trials``
        per row (the prior weights: a binomial's numbers of trials in either spelling), or None
        where it does (counts; a binomial with more than one trial)."""
        return (
            f"the {self.name} family: the test of overdispersion is for count responses and "
            "binomial responses with more than one trial"
        )

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
    def same_family(self, other: Family) -> bool:
        """Whether ``other`` is of this family, whatever its link, information and the value of its
        parameter (two ``glmer.nb`` fits, each at its own size, are of one family)."""
        return type(self) is type(other)

    def _key(self) -> tuple:
        """What makes two families of one class equal: the link and the information (a family with
        a parameter adds it, :func:`parameter_key`)."""
        return (self.link, self.observed_information)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), *self._key()))

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link.name!r})"
