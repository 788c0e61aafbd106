"""The intraclass correlation of a mixed model, as performance 0.10.2's ``icc``.

From the variance components of :mod:`mixedmodels.checks.r2` (``var_f`` fixed, ``var_r``
random, ``var_res`` residual: the distribution plus the observation-level variance),

    ICC_adjusted = var_r / (var_r + var_res),
    ICC_unadjusted = var_r / (var_f + var_r + var_res).

The adjusted ICC is the share of the variance not explained by the fixed effects that the
grouping explains; the unadjusted one also counts the fixed effects' variance in the total.
For a singular fit (a random-effect variance at zero) performance gives no ICC: both are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .r2 import VarianceComponents, variance_components

__all__ = ["Icc", "icc"]


@dataclass(frozen=True)
class Icc:
    """The ICC of a mixed model (see the module): ``adjusted``, ``unadjusted`` and the
    ``variances`` they come from."""

    adjusted: float
    unadjusted: float
    variances: VarianceComponents

    @classmethod
    def of(cls, v: VarianceComponents) -> Icc:
        """The ICC of the variance components ``v`` (NaN without a random variance: a singular
        fit)."""
        if not v.has_random:
            return cls(math.nan, math.nan, v)
        return cls(v.random / (v.random + v.residual), v.random / (v.fixed + v.random + v.residual), v)

    @property
    def approximation(self) -> str:
        """How the distribution-specific variance was approximated."""
        return self.variances.approximation

    def __str__(self) -> str:
        from ..report.checks_perf import icc_text

        return icc_text(self)

    def _repr_html_(self) -> str:
        from ..report.checks_perf import icc_html

        return icc_html(self)


def icc(fit) -> Icc:
    """The adjusted and unadjusted intraclass correlation of a mixed model, as performance
    0.10.2's ``icc``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit or GlmerNbFit
        Gaussian, binomial, Poisson and negative binomial models (the families of
        :func:`mixedmodels.r2`).

    Returns
    -------
    Icc
        ``adjusted`` and ``unadjusted`` (NaN for a singular fit) and the variance components.

    Raises
    ------
    TypeError
        For a fit without random effects.
    ValueError
        For a family or model part without performance 0.10.2's approximation.
    """
    return Icc.of(variance_components(fit))
