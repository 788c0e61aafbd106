"""A fit's auxiliary models as fitted: glmmTMB's zero-inflation (``fit.zi``) and dispersion
(``fit.disp``) models, each with its estimates, covariance and Wald ``z`` tests.

The covariance is the block of ``2 H^{-1}`` (``H`` the Hessian of ``-2 log L`` over every
parameter, :mod:`~mixedmodels.glmm.laplace_ml`) of the model's coefficients, as glmmTMB's
``vcov(fit)$zi`` and ``vcov(fit)$disp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["ModelPart"]

TITLES = {"zi": "Zero-inflation model", "disp": "Dispersion model"}


@dataclass(frozen=True, eq=False)
class ModelPart:
    """One auxiliary model of a fit: ``kind`` "zi" (its coefficients on the logit scale of the
    structural-zero probability) or "disp" (on the log scale of the family's parameter).

    Attributes
    ----------
    formula : str
        The model's one-sided formula (``"~1"`` for a family's one parameter).
    names : tuple of str
        Its coefficients' names, as R names model-matrix columns.
    estimates : numpy.ndarray
    covariance : numpy.ndarray
        Their covariance (NaN where the fit has no usable Hessian).
    """

    kind: str
    formula: str
    names: tuple[str, ...]
    estimates: np.ndarray
    covariance: np.ndarray

    @property
    def title(self) -> str:
        """glmmTMB's heading of the model's table in the summary."""
        return TITLES[self.kind]

    @cached_property
    def fixef(self) -> pd.Series:
        """The coefficients by name."""
        return pd.Series(self.estimates, index=list(self.names), name="Estimate")

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Their covariance by name."""
        return pd.DataFrame(self.covariance, index=list(self.names), columns=list(self.names))

    @cached_property
    def se(self) -> pd.Series:
        """Their standard errors (NaN where the covariance is)."""
        with np.errstate(invalid="ignore"):
            return pd.Series(np.sqrt(np.diag(self.covariance)), index=list(self.names), name="Std. Error")

    @cached_property
    def zvalues(self) -> pd.Series:
        """Wald's ``z = estimate / se``."""
        return pd.Series(self.estimates / self.se.to_numpy(), index=list(self.names), name="z value")

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the ``z`` tests (the standard normal's)."""
        p = 2.0 * stats.norm.sf(np.abs(self.zvalues.to_numpy()))
        return pd.Series(p, index=list(self.names), name="Pr(>|z|)")

    def coef_table(self) -> pd.DataFrame:
        """Estimate, Std. Error, z value and Pr(>|z|), one row per coefficient (glmmTMB's
        summary table of the model)."""
        return pd.concat([self.fixef, self.se, self.zvalues, self.pvalues], axis=1)

    def to_dict(self) -> dict:
        """``{"formula": ..., "fixef": {name: value}, "se": {name: value}}``."""
        names = list(self.names)
        return {
            "formula": self.formula,
            "fixef": dict(zip(names, map(float, self.estimates))),
            "se": dict(zip(names, map(float, self.se))),
        }

    def __repr__(self) -> str:
        return f"<ModelPart {self.kind} {self.formula!r}: {len(self.names)} coefficients>"
