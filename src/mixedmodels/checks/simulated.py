"""Simulated (quantile) residuals of a fitted model, as DHARMa's ``simulateResiduals``.

:func:`simulate_residuals` draws ``n`` new responses per observation from the fitted model (the
fit's batched ``simulate_blocks``, all replicates in a few matrix products) and turns each observed
value into its PIT among them (:mod:`mixedmodels.checks.dharma_tests`). Under a correct model the
scaled residuals are Uniform(0, 1) whatever the family, so one plot and a few tests check any
fit: :class:`SimulatedResiduals` holds them with the simulations and runs DHARMa's tests.

Scales: a binomial response is compared as successes out of the trials the simulator draws
from (the prior weights: a ``cbind`` response's trials times any given weights, as R's
``simulate`` of a weighted binomial draws; the fit's ``simulate_draws``), every other response
as it is.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..base.protocols import Fit
from ..base.seeds import as_generator
from .dharma_tests import (
    ALTERNATIVES,
    ResidualTest,
    check_alternative,
    dispersion_test,
    outlier_flags,
    outlier_test,
    scaled_residuals,
    uniformity_test,
    zero_inflation_test,
)

__all__ = ["SimulatedResiduals", "simulate_residuals"]

_CONDITIONAL = ("conditional",)
_UNCONDITIONAL = ("~0", "~ 0", "NA", "unconditional")
_BLOCK_CELLS = 4_000_000  # simulated values drawn per block


def _read_only(values) -> np.ndarray:
    """A read-only float copy of ``values`` (a result's arrays cannot be changed in place)."""
    out = np.array(values, dtype=float)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class SimulatedResiduals:
    """Scaled residuals from simulations of a fitted model (:func:`simulate_residuals`). Its
    arrays are read-only and each test is computed once, when first asked for.

    Attributes
    ----------
    observed : numpy.ndarray
        The response on the simulator's scale (a binomial's successes), one per row of the fit.
    simulated : numpy.ndarray
        The simulated responses on the same scale, ``n_obs x n``.
    fitted : numpy.ndarray
        The population-level predictions of the mean response (no random effects; a binomial's
        probabilities: DHARMa's ``fittedPredictedResponse``), the plot's x-axis.
    centre : numpy.ndarray
        The same predictions on the scale of :attr:`observed` (a binomial's expected successes),
        what the dispersion test takes the variances around.
    scaled_values : numpy.ndarray
        The scaled residuals as an array (:attr:`scaled` is the Series).
    index : pandas.Index
        The fit's rows (of the data it was given).
    conditional : bool
        Whether the simulations held the random effects at their conditional modes.
    """

    observed: np.ndarray
    simulated: np.ndarray
    fitted: np.ndarray
    centre: np.ndarray
    scaled_values: np.ndarray
    index: pd.Index
    conditional: bool

    def __post_init__(self) -> None:
        for name in ("observed", "simulated", "fitted", "centre", "scaled_values"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))

    @property
    def n(self) -> int:
        """The number of simulations per observation."""
        return int(self.simulated.shape[1])

    @property
    def nobs(self) -> int:
        """The number of observations."""
        return len(self.observed)

    @cached_property
    def scaled(self) -> pd.Series:
        """The scaled residuals, one per row, indexed as the data (DHARMa's ``residuals()``)."""
        return pd.Series(self.scaled_values, index=self.index, name="scaled_residuals")

    @property
    def predicted(self) -> np.ndarray:
        """:attr:`fitted` (DHARMa's name)."""
        return self.fitted

    @cached_property
    def outliers(self) -> np.ndarray:
        """Which residuals are outliers, at the margins ``r < 1/(n+1)`` or ``r > n/(n+1)``
        (:func:`~mixedmodels.checks.dharma_tests.outlier_flags`; for a continuous response the
        ones outside every simulated value, at 0 or 1): what :meth:`test_outliers` counts and
        the plot marks."""
        flags = outlier_flags(self.scaled_values, self.n)
        flags.flags.writeable = False
        return flags

    @cached_property
    def _uniformity_tests(self) -> Mapping[str, ResidualTest]:
        r = self.scaled_values
        return MappingProxyType({a: uniformity_test(r, a) for a in ALTERNATIVES})

    @cached_property
    def _dispersion_tests(self) -> Mapping[tuple[str, str], ResidualTest]:
        middles = {"fitted": self.centre, "simulated": self.simulated.mean(axis=1)}
        return MappingProxyType(
            {
                (a, c): dispersion_test(self.observed, self.simulated, middle, a)
                for c, middle in middles.items()
                for a in ALTERNATIVES
            }
        )

    @cached_property
    def _zeroinflation_tests(self) -> Mapping[str, ResidualTest]:
        y, sims = self.observed, self.simulated
        return MappingProxyType({a: zero_inflation_test(y, sims, a) for a in ALTERNATIVES})

    @cached_property
    def _outlier_tests(self) -> Mapping[str, ResidualTest]:
        r, n = self.scaled_values, self.n
        return MappingProxyType({a: outlier_test(r, n, a) for a in ALTERNATIVES})

    def test_uniformity(self, alternative: str = "two.sided") -> ResidualTest:
        """Kolmogorov-Smirnov test of the scaled residuals against Uniform(0, 1)
        (DHARMa's ``testUniformity``)."""
        return self._uniformity_tests[check_alternative(alternative)]

    def test_dispersion(self, alternative: str = "two.sided", centre: str = "fitted") -> ResidualTest:
        """DHARMa's default ``testDispersion`` (``type = "DHARMa"``, ``refit = FALSE``): the
        variance of the response around a centre over the mean of the simulations' variances
        around it; above 1 overdispersion, below 1 underdispersion, p from the simulations.

        Parameters
        ----------
        alternative : {"two.sided", "greater", "less"}
            "greater" tests for overdispersion only.
        centre : {"fitted", "simulated"}
            "fitted" (DHARMa's): the population-level predictions (:attr:`centre`, no random
            effects; DHARMa subtracts ``predict(type = "response")``, a binomial's
            probabilities, from its successes, we the expected successes: the same for a 0/1
            response). "simulated": each row's mean of the simulations (DHARMa's
            ``createDHARMa`` default), with conditional simulations the conditional means: a
            Pearson-like ratio with much more power against observation-level overdispersion
            where the random effects are large (grouseticks), but biased low (a correct model
            is called underdispersed in 13-17% of data sets in our two-sided checks, and a model
            with an observation-level random effect nearly always): use it with
            ``alternative="greater"``.
        """
        if centre not in ("fitted", "simulated"):
            raise ValueError(f"centre must be 'fitted' or 'simulated', not {centre!r}")
        return self._dispersion_tests[(check_alternative(alternative), centre)]

    def test_zeroinflation(self, alternative: str = "two.sided") -> ResidualTest:
        """DHARMa's ``testZeroInflation``: the observed zeros over the mean of the simulated
        zeros (above 1: more zeros than the model expects), p from the simulations."""
        return self._zeroinflation_tests[check_alternative(alternative)]

    def test_outliers(self, alternative: str = "two.sided") -> ResidualTest:
        """DHARMa's ``testOutliers`` with ``type = "binomial"``: the :attr:`outliers` counted
        against their expected frequency ``2 / (n + 1)``.

        DHARMa's default for an integer response with at most 500 observations is a bootstrap
        instead; the binomial test is only approximate for discrete responses (it tends to reject
        too often there), so read a small p-value for counts with that in mind."""
        return self._outlier_tests[check_alternative(alternative)]

    def plot(self):
        """DHARMa's two panels (a matplotlib Figure): the QQ plot of the scaled residuals
        against Uniform(0, 1) with the uniformity, dispersion and outlier tests, and the
        residuals against the rank-transformed predictions with quantile-regression lines at
        0.25, 0.5 and 0.75 (see :func:`mixedmodels.plotting.simulated_residuals_figure`)."""
        from ..plotting import simulated_residuals_figure

        return simulated_residuals_figure(self)

    def __str__(self) -> str:
        from ..report.checks_simres import simulated_residuals_text

        return simulated_residuals_text(self)

    def __repr__(self) -> str:
        kind = "conditional" if self.conditional else "unconditional"
        return f"<SimulatedResiduals nobs={self.nobs} n={self.n} {kind}>"

    def _repr_html_(self) -> str:
        from ..report.checks_simres import simulated_residuals_html

        return simulated_residuals_html(self)


def _use_u(re_form) -> bool:
    """Whether ``re_form`` asks for simulations conditional on the fitted random effects."""
    if re_form is None:
        return True
    if isinstance(re_form, float) and np.isnan(re_form):
        return False
    if isinstance(re_form, str):
        text = re_form.strip()
        if text in _CONDITIONAL:
            return True
        if text in _UNCONDITIONAL:
            return False
    raise ValueError(
        "re_form must be None or 'conditional' (simulate given the fitted random effects) or "
        f"'~0', 'NA' or 'unconditional' (draw new random effects), not {re_form!r}; simulations "
        "conditional on some of the random-effect terms are not available"
    )


def _sample_count(n) -> int:
    whole = isinstance(n, numbers.Real) and not isinstance(n, bool) and float(n).is_integer()
    if not whole or int(n) < 2:
        raise ValueError(f"n must be a whole number of simulations, at least 2, not {n!r}")
    return int(n)


def _simulating_fit(fit) -> Fit:
    """``fit``, checked: a fit whose family can be simulated from, with its rows."""
    if not isinstance(fit, Fit):
        raise TypeError(
            "simulate_residuals needs a fit from mm.lmer, mm.glmer, mm.glmer_nb, mm.lm or mm.glm "
            f"(one that can simulate), not {type(fit).__name__}"
        )
    fit.require_rows("simulate_residuals")
    family = getattr(fit, "family", None)
    if fit.is_generalized and family is not None and not family.simulates:
        raise ValueError(
            f"simulate_residuals cannot simulate from the {family.name} family: it has no distribution "
            "to draw from (a quasi family?); fit a family with a likelihood"
        )
    return fit


def simulate_residuals(fit, n: int = 250, seed=None, re_form=None) -> SimulatedResiduals:
    """Scaled (quantile) residuals from ``n`` simulations of a fitted model, as DHARMa's
    ``simulateResiduals`` (its PIT method).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, GlmerNbFit, LmFit or GlmFit
        A fitted model whose family can be simulated from (any glmer family, glmmTMB's
        zero-inflated, truncated, nbinom1/2, Gamma and beta among them).
    n : int
        Simulations per observation, at least 2 (DHARMa's default 250).
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        The randomness (the simulations, then the uniform draws that break ties); None draws
        fresh entropy, so two calls differ (DHARMa fixes its seed at 123 by default: pass a seed
        for reproducible residuals).
    re_form : None, "conditional", "~0", "NA" or "unconditional"
        None (the default; lme4's ``re.form = NULL``) or ``"conditional"``: simulate given the
        fitted random effects (their conditional modes; ``use_u=True``). ``"~0"``/``"NA"``
        (lme4's ``re.form = NA``) or ``"unconditional"``: draw new random effects in each
        simulation. Ignored for fits without random effects.

    Returns
    -------
    SimulatedResiduals
        The scaled residuals (``.scaled``), the simulations, and DHARMa's tests and plot.

    Notes
    -----
    The default is conditional simulation, as DHARMa's since version 0.5.0 (2025; pull request
    #499, ``simulateREs = "conditional"``): with the random effects held at their fitted values
    each residual checks the observation-level distribution given its groups, which is what the
    dispersion and zero-inflation tests are about; re-simulating the random effects adds their
    variance to every simulation and correlates the residuals within a group, which costs the
    dispersion test power (DHARMa changed its default for this reason). Unconditional
    simulations check the model as a whole, including the random effects' distribution: ask
    for them with ``re_form="~0"``.

    Each scaled residual is the fraction of simulations below the observed value; where some
    simulations equal it (counts, binomial successes, a point mass at zero) it is drawn
    uniformly between the fractions below and at or below (the randomized PIT;
    :mod:`mixedmodels.checks.dharma_tests` has the equations). A binomial response is compared
    as successes out of its trials.

    Examples
    --------
    >>> res = mm.simulate_residuals(fit, seed=1)  # doctest: +SKIP
    >>> res.test_dispersion().p  # doctest: +SKIP
    """
    count = _sample_count(n)
    use_u = _use_u(re_form)
    fit = _simulating_fit(fit)
    rng = as_generator(seed)
    block = max(1, min(count, _BLOCK_CELLS // max(1, fit.nobs)))
    observed, simulated = fit.simulate_draws(count, rng, use_u=use_u, block=block)
    fitted = fit.population_fitted
    return SimulatedResiduals(
        observed=observed,
        simulated=simulated,
        fitted=fitted,
        centre=fit.response_as_draws(fitted, means=True),
        scaled_values=scaled_residuals(observed, simulated, rng),
        index=fit.design.row_index,
        conditional=use_u and fit.is_mixed,
    )
