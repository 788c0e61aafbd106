"""Analysis of deviance of nested generalized linear models, as R's ``anova(glm0, glm1, test = "Chisq")``.

In the order given, each model's residual degrees of freedom and deviance, and against the model
before it the differences ``Df`` and ``Deviance``, with

    p = P(chi^2_|Df| > Deviance / phi),

``phi`` the dispersion of the model with the fewest residual degrees of freedom (1 for the
binomial and Poisson families; estimated for the quasi families and the Gaussian).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .glm import GlmFit
from .glm_printing import deviance_table_html, deviance_table_text

__all__ = ["DevianceTable", "analysis_of_deviance"]


@dataclass(frozen=True)
class DevianceTable:
    """An analysis of deviance table.

    Attributes
    ----------
    table : DataFrame
        Resid. Df, Resid. Dev, Df, Deviance and Pr(>Chi), one row per model in the order given.
    formulas : tuple of str
        The models' formulas ("Model 1: ...").
    """

    table: pd.DataFrame
    formulas: tuple[str, ...]

    def __str__(self) -> str:
        return deviance_table_text(self.table, self.formulas)

    def _repr_html_(self) -> str:
        return deviance_table_html(self.table, self.formulas)


def _check(fits: Sequence[GlmFit]) -> None:
    if len(fits) < 2:
        raise ValueError("anova needs at least two fitted models to compare")
    if len({f.nobs for f in fits}) != 1:
        raise ValueError(
            f"the models were fitted to different numbers of observations: {[f.nobs for f in fits]}"
        )
    if len({f.family.name for f in fits}) != 1:
        raise ValueError(f"the models have different families: {[f.family.name for f in fits]}")


def analysis_of_deviance(fits: Sequence[GlmFit]) -> DevianceTable:
    """The table of ``fits`` (nested glm fits to the same observations), with chi-squared tests."""
    _check(fits)
    resid_df = np.array([f.df_residual for f in fits], dtype=float)
    resid_dev = np.array([f.deviance for f in fits])
    df = np.concatenate([[np.nan], -np.diff(resid_df)])
    dev = np.concatenate([[np.nan], -np.diff(resid_dev)])
    scale = fits[int(np.argmin(resid_df))].dispersion
    chisq = dev / scale * np.sign(df)
    valid = np.isfinite(chisq) & (df != 0) & (chisq >= 0)
    p = np.full(len(fits), np.nan)
    p[valid] = stats.chi2.sf(chisq[valid], np.abs(df[valid]))
    table = pd.DataFrame(
        {"Resid. Df": resid_df, "Resid. Dev": resid_dev, "Df": df, "Deviance": dev, "Pr(>Chi)": p},
        index=[str(i + 1) for i in range(len(fits))],
    )
    return DevianceTable(table, tuple(f.formula for f in fits))
