"""R-squared of a fit: Nakagawa's marginal and conditional R^2 of a mixed model, as performance
0.10.2's ``r2_nakagawa`` computes them (with insight 0.19.0's ``get_variance``), and the
ordinary R^2 of a linear model.

The variance of a mixed model's linear predictor is split into four parts (Nakagawa,
Johnson & Schielzeth 2017):

- the fixed effects, ``var_f``: the sample variance (``n - 1``) of ``X beta`` (no offset);
- the random effects, ``var_r``: for each random-effects term whose grouping factor does not
  have one level per row, ``mean_i z_i' Sigma z_i`` with ``Sigma`` the term's covariance and
  ``z_i`` the row of the fixed-effects model matrix at the term's columns (an intercept column
  added where the model matrix has none; a column the model matrix lacks is left out), summed
  over the terms. Of several terms on one grouping factor (``(x || g)``) only the first counts,
  as insight 0.19.0 indexes the variance components by the factor's name;
- the distribution, ``var_d``: the Gaussian residual variance ``sigma^2`` of an ``lmer`` fit,
  otherwise the family's approximation
  (:meth:`~mixedmodels.families.Family.distribution_variance`: ``pi^2/3`` for the logit link,
  1 for probit, ``pi^2/6`` for cloglog; the lognormal ``log(1 + V(mu0) / mu0^2)`` for counts on
  the log link, ``mu0 = exp`` of the intercept of the null model, the response on the
  random-effects terms alone, refitted);
- the dispersion, ``var_e``: for a generalized model, the random-effects terms whose factor has
  one level per row (observation-level effects), computed as ``var_r``.

Then, with the residual ``var_res = var_d + var_e``,

    R2_marginal = var_f / (var_f + var_r + var_res),
    R2_conditional = (var_f + var_r) / (var_f + var_r + var_res).

A model with a structured random-effects covariance (glmmTMB's ``cs``, ``ar1``, ``toep``,
``homcs``, ``homdiag``: :attr:`~mixedmodels.covariance.structures.CovStructure.variance_decomposition`
False) is refused: its term's columns are a factor's levels, not covariates of ``X``, so the
decomposition would leave its variance out (performance 0.10.2's numbers for it mean nothing).

Where a random-effects standard deviation is at zero (lme4's ``isSingular`` at 1e-5: a
template's diagonal entry below it, the covariance layout's test; glmmTMB's variance below
1e-5), performance drops the random variance: the marginal
R^2 is then ``var_f / (var_f + var_res)`` and the conditional is missing (NaN).

performance's later releases changed some of this (how the null model's mean enters the count
families' variance, a choice of approximations such as the trigamma one, the treatment of
singular fits): the numbers here are 0.10.2's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..base.protocols import fit_of

__all__ = ["LinearR2", "NakagawaR2", "VarianceComponents", "r2", "variance_components"]

SINGULAR_TOLERANCE = 1e-5  # insight 0.19.0's tolerance for a random-effect variance at zero
SMALL_MEAN = 6.0  # insight's warning: a null-model mean below this makes the count variance unreliable


@dataclass(frozen=True)
class VarianceComponents:
    """The variances of a mixed model's linear predictor that R^2 and the ICC divide
    (:mod:`mixedmodels.checks.r2`; insight's ``get_variance``).

    Attributes
    ----------
    fixed, random, distribution, dispersion : float
        ``var_f``, ``var_r`` (NaN where a variance is at zero: singular), ``var_d``, ``var_e``.
    approximation : str
        How ``var_d`` was computed (the family's approximation).
    notes : tuple of str
        Warnings performance would give (a singular fit, a small null-model mean).
    """

    fixed: float
    random: float
    distribution: float
    dispersion: float
    approximation: str
    notes: tuple[str, ...] = ()

    @property
    def residual(self) -> float:
        """``var_d + var_e``."""
        return self.distribution + self.dispersion

    @property
    def has_random(self) -> bool:
        """Whether the random variance was computed (False for a singular fit)."""
        return not math.isnan(self.random)


@dataclass(frozen=True)
class NakagawaR2:
    """Nakagawa's R^2 of a mixed model (see the module): ``conditional`` (fixed and random
    effects), ``marginal`` (fixed effects alone) and the ``variances`` they come from."""

    conditional: float
    marginal: float
    variances: VarianceComponents

    @classmethod
    def of(cls, v: VarianceComponents) -> NakagawaR2:
        """The R^2 of the variance components ``v`` (the conditional one NaN without a random
        variance: a singular fit)."""
        total = v.fixed + (v.random if v.has_random else 0.0) + v.residual
        conditional = (v.fixed + v.random) / total if v.has_random else math.nan
        return cls(conditional, v.fixed / total, v)

    @property
    def approximation(self) -> str:
        """How the distribution-specific variance was approximated."""
        return self.variances.approximation

    def __str__(self) -> str:
        from ..report.checks_perf import r2_text

        return r2_text(self)

    def _repr_html_(self) -> str:
        from ..report.checks_perf import r2_html

        return r2_html(self)


@dataclass(frozen=True)
class LinearR2:
    """The R^2 of a linear model and its adjusted form (R's ``summary.lm``; performance's
    ``r2`` of an ``lm`` fit)."""

    r2: float
    adjusted: float

    def __str__(self) -> str:
        from ..report.checks_perf import linear_r2_text

        return linear_r2_text(self)

    def _repr_html_(self) -> str:
        from ..report.checks_perf import linear_r2_html

        return linear_r2_html(self)


def r2(fit) -> NakagawaR2 | LinearR2:
    """R-squared of a fit, as performance 0.10.2's ``r2``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, GlmerNbFit or LmFit
        A mixed model (Gaussian, binomial, Poisson, negative binomial: lme4's ``glmer.nb`` and
        glmmTMB's ``nbinom2``, ``nbinom1``) or a linear model.

    Returns
    -------
    NakagawaR2 or LinearR2
        For a mixed model Nakagawa's ``conditional`` and ``marginal`` R^2 with the variance
        components (see :mod:`mixedmodels.checks.r2`); for an ``lm`` fit the ordinary ``r2``
        and ``adjusted``.

    Raises
    ------
    TypeError
        For a fit that is neither (a ``glm`` fit: performance gives pseudo-R^2 there, not
        computed here).
    ValueError
        For a family or model part without performance 0.10.2's approximation (zero-inflation,
        a dispersion model, a Gamma or beta family, ...).
    """
    if fit_of(fit, "lm"):
        return LinearR2(float(fit.r_squared), float(fit.adj_r_squared))
    return NakagawaR2.of(variance_components(fit))


def variance_components(fit, tolerance: float = SINGULAR_TOLERANCE) -> VarianceComponents:
    """The variance components of a mixed model's linear predictor (see the module).

    A generalized model's count families refit the null model each call (a fit is not
    changed: nothing is cached; ``r2`` and ``icc`` of one fit refit it each, as performance's
    do; :func:`~mixedmodels.checks.performance.compare_performance` computes the components
    once for both).

    Parameters
    ----------
    fit : LmerFit, GlmerFit or GlmerNbFit
    tolerance : float
        A random-effect standard deviation (a template's diagonal entry, lme4's diagonal
        ``theta``; glmmTMB's variance) below this counts as zero: the random variance is then
        not computed (NaN).
    """
    _require_mixed(fit, "R^2 and the ICC")
    covariances = _term_covariances(fit)
    moments = _Moments.of(fit)
    notes: list[str] = []
    singular = _variance_at_zero(fit, covariances, tolerance)
    observation_level = [term.nlevels == moments.n for term in fit.design.reterms]
    first = _first_of_each_factor(fit.design.reterms)
    random = math.nan
    fixed_names = set(moments.names)
    if any(
        c not in fixed_names and not c.startswith("(Intercept)") for t in fit.design.reterms for c in t.cnames
    ):
        notes.append(
            "random slopes not present as fixed effects: left out of the random variance "
            "(performance warns that this distorts the conditional R^2)"
        )
    if singular:
        notes.append(
            "a random-effect variance is at zero (singular fit): the random variance is not "
            "computed, the conditional R^2 and the ICC are missing"
        )
    else:
        random = sum(
            moments.term_variance(term.cnames, cov)
            for term, cov, obs, keep in zip(fit.design.reterms, covariances, observation_level, first)
            if keep and not obs
        )
    fixed = moments.fixed_variance()
    if fit_of(fit, "lmer"):
        sigma2 = float(fit.sigma) ** 2
        return VarianceComponents(
            fixed, random, sigma2, 0.0, "Gaussian residual variance sigma^2", tuple(notes)
        )
    dispersion = sum(
        moments.term_variance(term.cnames, cov)
        for term, cov, obs, keep in zip(fit.design.reterms, covariances, observation_level, first)
        if keep and obs
    )
    null_means: list[float] = []

    def null_mean() -> float:
        null_means.append(_null_model_mean(fit))
        return null_means[-1]

    distribution, approximation = fit.family.distribution_variance(null_mean)
    if null_means and null_means[-1] < SMALL_MEAN:
        notes.append(
            f"the null model's mean {null_means[-1]:.3g} is below {SMALL_MEAN:g}: the lognormal "
            "approximation of the distribution variance may be unreliable (performance warns)"
        )
    return VarianceComponents(
        fixed, random, float(distribution), float(dispersion), approximation, tuple(notes)
    )


# ------------------------------------------------------------------ pieces of the fit
def _require_mixed(fit, what: str) -> None:
    if not fit_of(fit, "lmer", "glmer"):
        raise TypeError(
            f"{what} need a mixed model fit (mm.lmer, mm.glmer, mm.glmer_nb), not {type(fit).__name__}"
        )
    if fit_of(fit, "glmer") and fit.model.aux is not None:
        raise ValueError(
            f"{what}: the fit has a zero-inflation or dispersion model; performance 0.10.2's "
            "variance decomposition used here covers the conditional model of a fit without them"
        )
    structured = [t for t in fit.design.reterms if not t.structure.variance_decomposition]
    if structured:
        names = ", ".join(_term_label(t) for t in structured)
        raise ValueError(
            f"{what} are not defined for a structured random-effects covariance ({names}): "
            "Nakagawa's decomposition reads each term's variance at the columns of the "
            "fixed-effects model matrix, which a structured term's columns (the levels of a "
            "factor, correlated by a pattern) are not, so its random variance would be left out "
            "(performance 0.10.2 gives R2 conditional = marginal and an ICC of 0); compare such "
            "models by their likelihood (mm.anova, AIC) instead"
        )


def _term_label(term) -> str:
    """A structured term as the formula writes it, e.g. ``cs(agef8 + ... | Subject)``."""
    cnames = list(term.cnames)
    shown = " + ".join(cnames if len(cnames) <= 3 else [cnames[0], "...", cnames[-1]])
    label = getattr(term.structure, "label", "") or type(term.structure).__name__
    return f"{label}({shown} | {term.group})"


def _term_covariances(fit) -> list[np.ndarray]:
    """Each random-effects term's covariance matrix (lme4's ``VarCorr``)."""
    scale = float(fit.sigma) ** 2 if fit_of(fit, "lmer") else 1.0
    return [scale * (T @ T.T) for T in fit.layout.templates(fit.theta)]


@dataclass(frozen=True)
class _Moments:
    """What the variances need of the fixed-effects model matrix ``X`` (aliased columns left
    out), with a column of ones in front: the rows ``n``, the column means ``m`` and the second
    moments ``M = [1 X]'[1 X] / n``; ``beta`` the estimates (0 for the column of ones)."""

    n: int
    names: tuple[str, ...]
    m: np.ndarray
    M: np.ndarray
    beta: np.ndarray
    direct_fixed_variance: float | None = None  # var(X beta) from X itself where it is in memory

    @classmethod
    def of(cls, fit) -> _Moments:
        beta = fit.fixef.to_numpy(dtype=float)
        keep = ~np.isnan(beta)
        X = getattr(fit.design, "X", None)
        if isinstance(X, np.ndarray) and X.ndim == 2:
            X = X[:, keep]
            n, sums, cross = X.shape[0], X.sum(axis=0), X.T @ X
            direct = float(np.var(X @ beta[keep], ddof=1))
        else:  # a fit whose rows are not in memory (Dask): one pass over the data
            n, sums, cross = fit.model_matrix_moments()
            sums, cross = np.asarray(sums)[keep], np.asarray(cross)[np.ix_(keep, keep)]
            direct = None
        p = int(keep.sum())
        M = np.empty((p + 1, p + 1))
        M[0, 0], M[0, 1:], M[1:, 0], M[1:, 1:] = n, sums, sums, cross
        names = ("(ones)", *(c for c, k in zip(fit.fixef.index, keep) if k))
        return cls(n, names, M[0] / n, M / n, np.concatenate([[0.0], beta[keep]]), direct)

    def fixed_variance(self) -> float:
        """The sample variance (``n - 1``) of ``X beta`` (from the moments where ``X`` is not in
        memory)."""
        if self.direct_fixed_variance is not None:
            return self.direct_fixed_variance
        mean = float(self.m @ self.beta)
        return (float(self.beta @ self.M @ self.beta) - mean**2) * self.n / (self.n - 1)

    def term_variance(self, cnames, cov: np.ndarray) -> float:
        """``mean_i z_i' Sigma z_i = trace(Sigma M_zz)``, ``z_i`` the row of ``X`` at the term's
        columns (the column of ones for an intercept the model matrix lacks; a column it lacks
        otherwise left out, as insight)."""
        index = {c: j for j, c in enumerate(self.names)}
        if not any(c.startswith("(Intercept)") for c in self.names):
            index["(Intercept)"] = 0
        keep = [j for j, c in enumerate(cnames) if c in index]
        if not keep:
            return 0.0
        cols = [index[cnames[j]] for j in keep]
        return float(np.sum(cov[np.ix_(keep, keep)] * self.M[np.ix_(cols, cols)]))


def _first_of_each_factor(reterms) -> list[bool]:
    """True for the first term on each grouping factor (insight's VarCorr lookup by name)."""
    seen: set[str] = set()
    out = []
    for term in reterms:
        out.append(term.group not in seen)
        seen.add(term.group)
    return out


def _variance_at_zero(fit, covariances: list[np.ndarray], tolerance: float) -> bool:
    """insight's ``.is_singular``: lme4's ``isSingular`` at ``tolerance`` (a template's diagonal
    entry below it: the layout's test) for lme4's fits, a variance of ``VarCorr`` below it for
    glmmTMB's."""
    if fit_of(fit, "glmer") and fit.glmmtmb_style:
        return any(bool(np.any(np.diag(c) < tolerance)) for c in covariances)
    return fit.layout.singular(fit.theta, tolerance)


def null_formula(fit) -> str:
    """The null model's formula: the response on the random-effects terms alone (and the
    formula's offsets), as insight's ``null_model``."""
    parsed = fit.parsed
    parts = []
    for term in parsed.random:
        bar = "|" if term.correlated else "||"
        text = f"{term.expr} {bar} {term.group}"
        parts.append(f"({text})" if term.structure == "us" else f"{term.structure}({text})")
    parts += [f"offset({o})" for o in parsed.offsets]
    return f"{parsed.response} ~ {' + '.join(parts)}"


def _null_model_mean(fit) -> float:
    """``exp`` of the intercept of the null model, refitted as insight refits it: with the
    fit's family (a ``glmer.nb`` fit's size held, as lme4's ``update`` of it; glmmTMB's
    parameter estimated again), weights, offset and quadrature."""
    formula = null_formula(fit)
    try:
        null = fit.update_formula(formula)  # as R's update: a glmer.nb fit's size is held
    except Exception as exc:  # the refit's own error, said in the context of R^2
        raise ValueError(
            f"the null model {formula!r} (for the distribution variance) could not be fitted: {exc}"
        ) from exc
    return float(np.exp(null.fixef.iloc[0]))
