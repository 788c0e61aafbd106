"""Singularity of a mixed model and a table of several fits' performance, as performance
0.10.2's ``check_singularity`` and ``compare_performance``.

A fit is singular where a random-effects covariance matrix is at the boundary of its space:
a diagonal entry of a term's relative covariance factor (lme4's ``theta`` on a diagonal, whose
lower bound is 0) below the tolerance (lme4's ``isSingular``, 1e-4; performance's own default
is 1e-5). A zero diagonal in column ``j`` of a term means that column's random effect is a
linear combination of the earlier ones (or is zero): the term's covariance has lost a
dimension there. What is at the boundary is named as the term's structure reads it
(:meth:`~mixedmodels.covariance.structures.CovStructure.boundary_names`), as (grouping factor,
name) pairs: for an unstructured or diagonal term (lme4's) the column; for a structured one
(``cs``, ``ar1``, ``toep``, ...) the column whose standard deviation is at zero, or the
correlation parameter at its limit (``rho (cs)`` for compound symmetry at correlation 1),
whose columns' standard deviations are not at zero.

``compare_performance`` puts one row per fit: the information criteria on the ML
log-likelihood (performance's ``estimator = "ML"``: for a REML fit the ML log-likelihood at
the REML estimates, lme4's ``logLik(fit, REML = FALSE)``) with ``k`` the parameters of the
log-likelihood and ``n`` the observations (rows),

    AIC = -2 logLik + 2 k,   AICc = -2 logLik + 2 k n / (n - k - 1),   BIC = -2 logLik + k log n,

each with its Akaike weights ``w_i = exp(-d_i / 2) / sum_j exp(-d_j / 2)``, ``d_i`` the
difference from the smallest; Nakagawa's R^2 and the adjusted ICC of a mixed model
(:func:`~mixedmodels.checks.r2.r2`, :func:`~mixedmodels.checks.icc.icc`), the R^2 and adjusted
R^2 of a linear model, the RMSE of the response residuals (``y - E[y]``; a binomial's
proportions) and ``Sigma`` (R's ``sigma()``: the residual standard deviation of a Gaussian
model, 1 for an lme4 GLMM, glmmTMB's dispersion parameter, ``sqrt(deviance / df.residual)``
for a ``glm``). performance's scoring rules and log-loss columns, and its pseudo-R^2 of a
``glm``, are not computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..base.messages import warn
from ..base.protocols import Fit, fit_of
from .icc import Icc
from .r2 import LinearR2, NakagawaR2, r2, variance_components

__all__ = ["COMPARE_COLUMNS", "Singularity", "check_singularity", "compare_performance"]

LME4_TOLERANCE = 1e-4  # lme4's isSingular
COMPARE_COLUMNS = (
    "Name", "Model", "AIC", "AIC_wt", "AICc", "AICc_wt", "BIC", "BIC_wt",
    "R2_conditional", "R2_marginal", "ICC", "R2", "R2_adjusted", "RMSE", "Sigma",
)  # fmt: skip


@dataclass(frozen=True)
class Singularity:
    """Whether a mixed model is singular (``singular``; also the truth value of the result)
    and what is at the boundary (``terms``: (grouping factor, name) pairs, the name a column
    whose standard deviation is at zero or a structure's correlation parameter at its limit:
    see the module), at ``tolerance``."""

    singular: bool
    terms: tuple[tuple[str, str], ...]
    tolerance: float

    def __bool__(self) -> bool:
        return self.singular

    def __str__(self) -> str:
        from ..report.checks_perf import singularity_text

        return singularity_text(self)

    def _repr_html_(self) -> str:
        from ..report.checks_perf import singularity_html

        return singularity_html(self)


def check_singularity(fit, tolerance: float = LME4_TOLERANCE) -> Singularity:
    """Whether a mixed model's random-effects covariance is at the boundary, as lme4's
    ``isSingular`` and performance's ``check_singularity``, and where.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or GlmerNbFit
    tolerance : float
        A diagonal entry of a term's relative covariance factor below this is at zero (lme4's
        1e-4; performance's ``check_singularity`` takes 1e-5).

    Returns
    -------
    Singularity
        ``singular`` and the boundary ``terms`` as (grouping factor, column or correlation
        parameter).
    """
    if not fit_of(fit, "lmer", "glmer"):
        raise TypeError(
            f"check_singularity needs a mixed model fit (mm.lmer, mm.glmer), not {type(fit).__name__}"
        )
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, not {tolerance!r}")
    reterms = fit.design.reterms
    named = fit.layout.boundary_names(fit.theta, [term.cnames for term in reterms], tolerance)
    at_zero = tuple((term.group, name) for term, names in zip(reterms, named) for name in names)
    return Singularity(bool(at_zero), at_zero, float(tolerance))


def compare_performance(*fits: Fit, names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fit with AIC, AICc and BIC and their weights, R^2, ICC, RMSE and Sigma, as
    performance 0.10.2's ``compare_performance`` (see the module for each column).

    Parameters
    ----------
    *fits : fits of mm.lmer, mm.glmer, mm.glmer_nb, mm.lm or mm.glm
        The fits compared (the weights assume one response and one set of rows: fits on
        different numbers of rows are compared with a warning that names them, as
        performance warns).
    names : sequence of str, optional
        The ``Name`` of each fit ("Model 1", "Model 2", ... when None).

    Returns
    -------
    pandas.DataFrame
        Columns as performance names them (:data:`COMPARE_COLUMNS`; a column that is missing
        for every fit, such as ``R2`` without a linear model, is left out). A mixed model
        without performance's R^2 (a family without its approximation, a zero-inflation model)
        has none, with a warning that says why; a singular one has no conditional R^2 or ICC
        (its ``mm.r2`` notes it). The weights are over the fits that have the criterion (a
        quasi family's fit has no AIC, and no weight).

    Raises
    ------
    TypeError
        For an argument that is not a fit, or ``names`` given as one string.
    ValueError
        For no fits, or a number of names other than the number of fits.
    """
    if not fits:
        raise ValueError("compare_performance needs at least one fit")
    for f in fits:
        if not isinstance(f, Fit):
            raise TypeError(f"compare_performance takes fits, not {type(f).__name__}")
    if names is None:
        names = [f"Model {i + 1}" for i in range(len(fits))]
    elif isinstance(names, str):
        raise TypeError(f"names must be a sequence of names, one per fit, not the string {names!r}")
    elif len(names) != len(fits):
        raise ValueError(f"{len(names)} names for {len(fits)} fits")
    _warn_different_rows(fits, [str(n) for n in names])
    rows = [_performance_row(f, str(name)) for f, name in zip(fits, names)]
    table = pd.DataFrame(rows)
    for ic in ("AIC", "AICc", "BIC"):
        table[f"{ic}_wt"] = _ic_weights(table[ic].to_numpy(dtype=float))
    columns = [c for c in COMPARE_COLUMNS if c in table and not table[c].isna().all()]
    return table[columns]


def _warn_different_rows(fits: Sequence[Fit], names: Sequence[str]) -> None:
    """Warn, as performance does ("probably not all models were fit from same data"), where the
    fits use different numbers of rows: their information criteria and weights then compare
    likelihoods of different data."""
    counts = [int(f.nobs) for f in fits]
    if len(set(counts)) > 1:
        each = ", ".join(f"{name!r} {n}" for name, n in zip(names, counts))
        warn(
            "compare_performance: the fits were not all fitted to the same rows (observations: "
            f"{each}); their AIC, BIC and weights compare likelihoods of different data"
        )


def _ic_weights(values: np.ndarray) -> np.ndarray:
    """Akaike weights of information criteria (smaller is better), over the fits that have one
    (a quasi family's fit has none: its weight is NaN)."""
    out = np.full(len(values), math.nan)
    have = np.isfinite(values)
    if have.any():
        e = np.exp(-0.5 * (values[have] - np.min(values[have])))
        out[have] = e / np.sum(e)
    return out


def _performance_row(fit: Fit, name: str) -> dict:
    ml_loglik = -float(fit.deviance) / 2.0 if fit_of(fit, "lmer") else float(fit.loglik)  # type: ignore[attr-defined]
    k, n = int(fit.npar), int(fit.nobs)  # type: ignore[attr-defined]
    row: dict = {
        "Name": name,
        "Model": _r_class(fit),
        "AIC": -2.0 * ml_loglik + 2.0 * k,
        "AICc": -2.0 * ml_loglik + 2.0 * k * n / (n - k - 1) if n - k - 1 > 0 else math.nan,
        "BIC": -2.0 * ml_loglik + k * math.log(n),
        "RMSE": float(np.sqrt(np.mean(np.asarray(fit.resid("response"), dtype=float) ** 2))),
        "Sigma": fit.r_sigma,
    }
    if fit.is_mixed:
        try:
            v = variance_components(fit)  # once for both: a count family refits its null model
        except ValueError as exc:  # a family without performance's approximation: missing, as R's NA
            warn(f"compare_performance: no R2 or ICC for {name!r}: {exc}")
            return row
        rsq, intraclass = NakagawaR2.of(v), Icc.of(v)
        row.update(R2_conditional=rsq.conditional, R2_marginal=rsq.marginal, ICC=intraclass.adjusted)
    elif fit_of(fit, "lm"):
        linear = r2(fit)
        assert isinstance(linear, LinearR2)
        row.update(R2=linear.r2, R2_adjusted=linear.adjusted)
    return row


def _r_class(fit: Fit) -> str:
    """The class of the R object the fit matches (performance's ``Model`` column)."""
    if fit_of(fit, "lmer"):
        return "lmerMod"
    if fit_of(fit, "glmer"):
        return "glmmTMB" if fit.glmmtmb_style else "glmerMod"  # type: ignore[attr-defined]
    return fit.kind
