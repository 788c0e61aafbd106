"""Pearson's chi-square test of overdispersion, as performance 0.10.2's ``check_overdispersion``.

For a count model or a binomial model with more than one trial per row, the Pearson
chi-square ``X^2 = sum_i r_i^2`` (``r_i`` the Pearson residuals: ``(y_i - E[y_i])`` over the
square root of the family's variance at the fitted mean, with the prior weights) is compared
with a chi-square on the residual degrees of freedom: ``nobs - npar`` for a mixed model (lme4's
and glmmTMB's ``df.residual``: every parameter of the likelihood counted), ``nobs - rank`` for
a ``glm`` (R's). The ratio ``X^2 / rdf`` is near 1 for a model whose variance fits the data;
above 1 is overdispersion, and ``p = P(chi^2_rdf > X^2)``.

A binomial's number of trials in a row is its prior weight, as in R: the ``n`` of
``cbind(s, n - s)``, or the ``weights=`` of a response given as proportions (the two spellings
give one test). A model with a zero-inflation or dispersion model (glmmTMB's way) is tested as
performance tests it: glmmTMB 1.1.5's Pearson residuals (``(y - E[y]) / sqrt(Var[y])``, the
mean and variance of the zero-inflated distribution, the dispersion of each row) on
glmmTMB's ``df.residual``, ``nobs - npar``, every parameter counted (those of the
zero-inflation and dispersion models too).

Where it does not apply, it is refused: a Gaussian model (``lmer``, ``lm``) estimates its
residual variance, so the ratio is that estimate's scale, not a test; a Bernoulli response
(every row one trial) has a Pearson chi-square that depends on the fitted probabilities alone
(performance 0.10.2 means to refuse Bernoulli models, though its check misses 0/1 ``glmer``
fits and gives a number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..base.protocols import fit_of

__all__ = ["Overdispersion", "check_overdispersion"]


@dataclass(frozen=True)
class Overdispersion:
    """Pearson's test of overdispersion (see the module): ``chisq`` (Pearson's chi-square),
    ``ratio`` (``chisq / rdf``), ``rdf`` (residual degrees of freedom) and ``p`` (upper tail)."""

    chisq: float
    ratio: float
    rdf: int
    p: float

    @property
    def overdispersed(self) -> bool:
        """performance's verdict: overdispersion detected where ``p < 0.05`` and ``ratio > 1``."""
        return bool(self.p < 0.05 and self.ratio > 1.0)

    def __str__(self) -> str:
        from ..report.checks_perf import overdispersion_text

        return overdispersion_text(self)

    def _repr_html_(self) -> str:
        from ..report.checks_perf import overdispersion_html

        return overdispersion_html(self)


def check_overdispersion(fit) -> Overdispersion:
    """Pearson's chi-square test of overdispersion, as performance 0.10.2's
    ``check_overdispersion``.

    Parameters
    ----------
    fit : GlmerFit, GlmerNbFit or GlmFit
        A Poisson, negative binomial (lme4's ``glmer.nb``, glmmTMB's ``nbinom2``, ``nbinom1``),
        other count or binomial (trials > 1: ``cbind`` or proportions with ``weights=``)
        model, with or without zero inflation or a dispersion model.

    Returns
    -------
    Overdispersion
        ``chisq``, ``ratio``, ``rdf``, ``p``.

    Raises
    ------
    TypeError
        For a Gaussian linear (mixed) model, whose residual variance is estimated.
    ValueError
        For a family or response the test does not apply to (see the module), or a model
        without residual degrees of freedom.
    """
    if fit_of(fit, "lmer", "lm"):
        raise TypeError(
            f"check_overdispersion does not apply to a Gaussian linear model ({type(fit).__name__}): "
            "its residual variance sigma^2 is estimated, so the Pearson chi-square over the "
            "residual df is that estimate's scale, not a test of overdispersion; the test is for "
            "count and binomial models (mm.glmer, mm.glmer_nb, mm.glm)"
        )
    if not fit_of(fit, "glmer", "glm"):
        raise TypeError(
            f"check_overdispersion needs a fit of mm.glmer, mm.glmer_nb or mm.glm, not {type(fit).__name__}"
        )
    if fit_of(fit, "glmer"):  # the prior weights: a binomial's trials in either spelling
        family, trials, rdf = fit.family, fit.model.weights, int(fit.nobs - fit.npar)
    else:
        family, trials, rdf = fit.family, fit.prior_weights, int(fit.df_residual)
    problem = family.overdispersion_problem(np.asarray(trials, dtype=float))
    if problem is not None:
        raise ValueError(f"check_overdispersion does not apply: {problem}")
    if rdf <= 0:
        raise ValueError(
            f"check_overdispersion needs residual degrees of freedom: the model has {rdf} "
            f"({fit.nobs} observations, as many parameters or more), so the Pearson chi-square "
            "has no reference distribution"
        )
    residuals = np.asarray(fit.resid("pearson"), dtype=float)
    chisq = float(np.sum(residuals**2))
    return Overdispersion(chisq, chisq / rdf, rdf, float(stats.chi2.sf(chisq, rdf)))
