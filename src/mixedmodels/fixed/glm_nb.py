"""The negative binomial GLM with its size estimated, as MASS's ``glm.nb``: ``mm.glm(...,
family="nbinom2")`` and any family that :attr:`~mixedmodels.families.Family.alternates_in_glm`
(with its parameter held it is a GLM of dispersion 1).

The parameter ``theta`` and the coefficients are estimated by maximum likelihood, alternating
as ``glm.nb`` does: IRLS for ``beta`` at the current ``theta`` (:func:`~mixedmodels.numerics.irls.irls`,
started at the previous linear predictor), then ``theta`` at the means so found (the family's
:meth:`~mixedmodels.families.Family.parameter_given_means`, MASS's ``theta.ml``), until both
settle. Unlike ``glm.nb``, whose ``theta.ml`` stops once a Newton step is under ``1.2e-4`` and
whose alternation stops on a change of the log-likelihood of ``1e-8``, the alternation runs to
the joint maximum (steps of ``theta`` under ``1e-10``); R's ``theta`` is within about ``1e-8``
of it. The reported numbers are ``glm.nb``'s:

    vcov(beta)  = (X'WX)^{-1}   at theta-hat (dispersion 1: theta held, as summary.negbin),
    SE(theta)   = I(theta)^{-1/2}, as theta.ml reports it at the final means,
    2 log L     = 2 sum log p(y_i | mu_i, theta),     AIC = -2 log L + 2 (rank + 1),

with the deviance and null deviance those of the family at ``theta``-hat. ``SE(theta)`` is R's
to the digit: ``theta.ml`` takes the information at its iterate before the last Newton step
(started at the moment estimate), which differs from the information at the maximum by up
to about ``1e-4`` relative; :attr:`GlmNbFit.theta_se_at_estimate` gives the latter.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..families import Family
from ..numerics.irls import IrlsError, IrlsFit, irls
from .glm import GlmFit

__all__ = ["GlmNbFit", "ParameterEstimate", "alternate"]

THETA_TOLERANCE = 1e-10  # the last step of theta at the joint maximum
MAX_ALTERNATIONS = 25  # glm.nb's control$maxit
INNER_EPSILON = 1e-12  # IRLS at each theta: tighter than glm.fit's 1e-8, to reach the maximum


@dataclass(frozen=True)
class ParameterEstimate:
    """The family's parameter as an alternating fit estimated it.

    Attributes
    ----------
    value : float
        The estimate (``theta``).
    se : float
        Its standard error as the family's R counterpart reports it (``glm.nb``'s ``SE.theta``).
    alternations : int
        Rounds of IRLS and the parameter's update.
    warning : str or None
        What the parameter's estimation warned of (``theta.ml``'s warnings; the alternation limit).
    """

    value: float
    se: float
    alternations: int
    warning: str | None = None


def alternate(
    X: np.ndarray,
    y: np.ndarray,
    fam: Family,
    weights: np.ndarray,
    offset: np.ndarray,
    mustart: np.ndarray | None = None,
    etastart: np.ndarray | None = None,
) -> tuple[IrlsFit, Family, ParameterEstimate]:
    """The joint maximum-likelihood fit of ``beta`` and the family's parameter, alternating.

    Starts at the family's parameter (when it has one) or at the estimate at the starting
    means, and returns the final IRLS (glm.fit's, ``epsilon = 1e-8``, at the estimate, started
    at the maximum: its weights give ``vcov``), the family at the estimate with the parameter
    held, and the estimate.
    """
    if mustart is None:
        mustart = fam.initialize(y, weights).mustart
    eta = fam.linkfun(mustart) if etastart is None else etastart
    value = fam.parameter
    if value is None:
        eta = _limit_fit(X, y, fam, weights, offset, eta)
        value = _given_means(fam, y, fam.linkinv(eta), weights, THETA_TOLERANCE)[0]
    warning, count = None, 0
    while True:
        count += 1
        held = fam.with_parameter(value).fixed_parameter()
        inner = irls(X, y, held, weights, offset, etastart=eta, epsilon=INNER_EPSILON, maxit=100, warn=False)
        eta, mu = inner.eta, inner.mu
        new = _given_means(fam, y, mu, weights, THETA_TOLERANCE)[0]
        step, value = new - value, new
        if abs(step) <= THETA_TOLERANCE * max(1.0, value):
            break
        if count == MAX_ALTERNATIONS:
            warning = "alternation limit reached"
            warnings.warn(f"glm: {warning}", RuntimeWarning, stacklevel=4)
            break
    held = fam.with_parameter(value).fixed_parameter()
    final = irls(X, y, held, weights, offset, etastart=eta)
    _, se, note = _given_means(fam, y, final.mu, weights, None)
    return final, held, ParameterEstimate(value, se, count, warning or note)


def _limit_fit(X, y, fam: Family, weights, offset, eta: np.ndarray) -> np.ndarray:
    """The linear predictor that starts the alternation, as ``glm.nb`` starts it: the fit of the
    family's limit (:meth:`~mixedmodels.families.Family.alternation_start`, the Poisson) from
    ``eta``; ``eta`` itself where there is none or it fails. (The starting means themselves,
    ``y + (y == 0) / 6``, equal ``y`` where no count is 0, and give ``theta.ml`` no excess
    variance to start from.)"""
    limit = fam.alternation_start()
    if limit is None:
        return eta
    try:
        return irls(X, y, limit, weights, offset, etastart=eta, warn=False).eta
    except IrlsError:
        return eta


def _given_means(fam: Family, y, mu, weights, tolerance: float | None) -> tuple[float, float, str | None]:
    value, se, note = fam.parameter_given_means(y, mu, weights, tolerance)
    if not 0 < value < math.inf:
        raise IrlsError(
            f"glm: the {fam.parameter_name or 'parameter'} estimate is {value:g} ({note}); "
            "the response varies less than the family allows: fit the Poisson model"
        )
    return value, se, note


@dataclass(frozen=True, eq=False)
class GlmNbFit(GlmFit):
    """A GLM whose family's parameter was estimated by alternation, as MASS's ``glm.nb``.

    :attr:`family` is the family at the estimate, held (R's ``Negative Binomial(0.856)``);
    :attr:`estimated_family` the one the fit started from (refits estimate the parameter again).

    Attributes
    ----------
    estimate : ParameterEstimate
    estimated_family : Family
    """

    estimate: ParameterEstimate | None = None
    estimated_family: Family | None = None

    @property
    def _estimate(self) -> ParameterEstimate:
        if self.estimate is None:
            raise ValueError("this fit has no estimated parameter")
        return self.estimate

    @property
    def theta(self) -> float:
        """The estimated parameter (``glm.nb``'s ``theta``)."""
        return self._estimate.value

    @property
    def theta_se(self) -> float:
        """``glm.nb``'s ``SE.theta`` (see the module's docstring)."""
        return self._estimate.se

    @cached_property
    def theta_se_at_estimate(self) -> float:
        """``I(theta)^{-1/2}`` at the estimate itself (``theta.ml`` iterated to its end)."""
        est = self.estimated_family or self.family
        return est.parameter_given_means(self.y, self.result.mu, self.prior_weights, 1e-14)[1]

    def family_parameters(self) -> dict[str, float]:
        return {self.family.parameter_name or "parameter": self.theta}

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of the family at the estimate (the negative binomial's ``theta``)."""
        return self.family.sigma

    @property
    def twologlik(self) -> float:
        """``2 log L`` (``glm.nb``'s ``twologlik``)."""
        return -self._minus_twologlik

    @cached_property
    def _minus_twologlik(self) -> float:
        return self.family.aic(self.y, self.trials, self.result.mu, self.prior_weights, self.deviance)

    @cached_property
    def aic(self) -> float:
        return self._minus_twologlik + 2 * (self.rank + 1)

    @property
    def npar(self) -> int:
        """The coefficients and the parameter."""
        return self.rank + 1

    @property
    def iterations(self) -> int:
        """The last IRLS's iterations (R's "Fisher Scoring iterations": 1 at the maximum)."""
        return self.result.iterations

    def refit(self, y: np.ndarray, separation=None) -> GlmFit:
        """The model fitted to a new response, the parameter estimated again (from this fit's
        linear predictor and estimate)."""
        if separation is not None:
            raise IrlsError("glm.nb: a response with separated coefficients has no estimate of theta")
        X = self.design.X[:, list(self.kept)]
        y = np.asarray(y, dtype=float)
        start = (self.estimated_family or self.family).with_parameter(self.theta)
        result, held, estimate = alternate(
            X, y, start, self.prior_weights, self.offset, etastart=self.result.eta
        )
        return replace(self, y=y, result=result, family=held, estimate=estimate)

    def to_dict(self) -> dict:
        """:meth:`GlmFit.to_dict` with ``glm.nb``'s numbers, and ``sigma`` and ``parameter``
        (name, estimate, standard error) as :class:`~mixedmodels.fixed.glm_ml.GlmMlFit` has them."""
        out = super().to_dict()
        name = self.family.parameter_name or "parameter"
        out.update(
            sigma=self.sigma,
            parameter={"name": name, "estimate": self.theta, "se": self.theta_se},
            theta=self.theta,
            se_theta=self.theta_se,
            twologlik=self.twologlik,
            theta_warning=self._estimate.warning,
            alternations=self._estimate.alternations,
        )
        return out

    def summary(self) -> str:
        """The summary in MASS's ``summary.negbin`` layout (R 4.2's ``summary.glm`` with the
        dispersion 1, then ``theta``, its standard error and ``2 log L``)."""
        from ..report.glm import glm_nb_summary

        return glm_nb_summary(self)

    def _repr_html_(self) -> str:
        from ..report.glm import glm_nb_summary_html

        return glm_nb_summary_html(self)

    def __repr__(self) -> str:
        return (
            f"<GlmNbFit {self.formula!r}: {self.family.name}({self.link}), theta={self.theta:.6g}, "
            f"nobs={self.nobs}, deviance={self.deviance:.6g}>"
        )
