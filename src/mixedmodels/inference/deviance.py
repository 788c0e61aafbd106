"""Analysis of deviance of nested generalized linear models, as R's ``anova(glm0, glm1, test = "Chisq")``,
and analysis of variance of nested linear models, as R's ``anova(lm0, lm1)``.

In the order given, each model's residual degrees of freedom and deviance (for a linear model
its residual sum of squares), and against the model before it the differences ``Df`` and
``Deviance`` (``Sum of Sq``), with

    p = P(chi^2_|Df| > Deviance / phi)                         (glm)
    F = (Sum of Sq / |Df|) / s^2,  p = P(F_{|Df|, n_big} > F)   (lm)

``phi`` the dispersion and ``s^2 = RSS / Res.Df`` the residual variance of the model with the
fewest residual degrees of freedom (``n_big`` of them); ``phi`` is 1 for the binomial and
Poisson families.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..fixed.glm import GlmFit
from ..fixed.lm import LmFit
from ..report.glm import deviance_table_html, deviance_table_text

__all__ = ["DevianceTable", "analysis_of_deviance", "analysis_of_variance"]


@dataclass(frozen=True)
class DevianceTable:
    """An analysis of deviance (or, for linear models, of variance) table.

    Attributes
    ----------
    table : DataFrame
        One row per model in the order given: Resid. Df, Resid. Dev, Df, Deviance and Pr(>Chi)
        (glm fits), or Res.Df, RSS, Df, Sum of Sq, F and Pr(>F) (lm fits).
    formulas : tuple of str
        The models' formulas ("Model 1: ...").
    title : str
        The printed title.
    """

    table: pd.DataFrame
    formulas: tuple[str, ...]
    title: str = "Analysis of Deviance Table"

    def __str__(self) -> str:
        return deviance_table_text(self.table, self.formulas, self.title)

    def _repr_html_(self) -> str:
        return deviance_table_html(self.table, self.formulas, self.title)


def _check(fits: Sequence[GlmFit] | Sequence[LmFit]) -> None:
    if len(fits) < 2:
        raise ValueError("anova needs at least two fitted models to compare")
    if len({f.nobs for f in fits}) != 1:
        raise ValueError(
            f"the models were fitted to different numbers of observations: {[f.nobs for f in fits]}"
        )


def _differences(resid_df: np.ndarray, resid_dev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Df`` and the change in deviance against the model before (NaN for the first)."""
    return np.concatenate([[np.nan], -np.diff(resid_df)]), np.concatenate([[np.nan], -np.diff(resid_dev)])


def analysis_of_deviance(fits: Sequence[GlmFit]) -> DevianceTable:
    """The table of ``fits`` (nested glm fits to the same observations), with chi-squared tests."""
    _check(fits)
    if len({f.family.name for f in fits}) != 1:
        raise ValueError(f"the models have different families: {[f.family.name for f in fits]}")
    resid_df = np.array([f.df_residual for f in fits], dtype=float)
    resid_dev = np.array([f.deviance for f in fits])
    df, dev = _differences(resid_df, resid_dev)
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


def analysis_of_variance(fits: Sequence[LmFit]) -> DevianceTable:
    """The table of ``fits`` (nested lm fits to the same observations), with F tests."""
    _check(fits)
    resid_df = np.array([f.df_residual for f in fits], dtype=float)
    rss = np.array([f.rss for f in fits])
    df, ss = _differences(resid_df, rss)
    big = int(np.argmin(resid_df))
    with np.errstate(divide="ignore", invalid="ignore"):
        F = ss / df / (rss[big] / resid_df[big])
    valid = np.isfinite(F) & (df != 0) & (F >= 0)
    p = np.full(len(fits), np.nan)
    p[valid] = stats.f.sf(F[valid], np.abs(df[valid]), resid_df[big])
    table = pd.DataFrame(
        {
            "Res.Df": resid_df,
            "RSS": rss,
            "Df": df,
            "Sum of Sq": ss,
            "F": np.where(valid, F, np.nan),
            "Pr(>F)": p,
        },
        index=[str(i + 1) for i in range(len(fits))],
    )
    return DevianceTable(table, tuple(f.formula for f in fits), "Analysis of Variance Table")
