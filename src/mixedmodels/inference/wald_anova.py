"""One model's tests of its terms: Wald chi-square tables of types II and III (car's ``Anova``)
and likelihood-ratio tests of dropping each term (R's ``drop1(fit, test = "Chisq")``), for glm
and glmer fits.

Wald tests. With ``beta`` the estimated coefficients, ``V`` their covariance (``vcov(fit)``) and
``L`` a matrix whose rows pick coefficients, the Wald statistic of ``L beta = 0`` is

    W(L) = (L beta)' (L V L')^{-1} (L beta),   on rank(L) degrees of freedom (chi-square).

Type III tests each term's coefficients as the model codes them, the intercept included:
``W`` of the rows of the term's columns. With treatment contrasts a main effect's coefficients
compare levels at the reference level of the factors it interacts with; for the usual type III
tests fit with sum-to-zero contrasts (``contrasts={"f": "contr.sum"}``), as car's users do.

Type II tests each term after the terms that do not contain it: with ``R`` the columns of the
term's relatives (the terms whose variables include all of the term's) and ``T`` the term's
own, the statistic is ``W(R + T) - W(R)`` on ``|T|`` degrees of freedom. This is car's test
of the conjugate complement of the span of ``R`` in that of ``R + T`` in the inner product
``V``: that complement's estimates are uncorrelated with ``R``'s, so the two statistics add.
Terms without relatives test their own coefficients. The intercept is not tested.

Dropping terms. The terms that may be dropped are those no other term contains (R's
``drop.scope``). A glmer fit is refitted without each (lme4's ``drop1``), as lme4's ``update``
refits (:meth:`~mixedmodels.glmm.fit.GlmerFit.update_formula`: a ``glmer.nb`` fit's size held)
on the rows the fit used (where a dropped variable has missing values lme4 stops, "number of
rows in use has changed"; the refits here are R's on the data without those rows): ``npar``
the number of parameters fewer, ``AIC`` the refit's, ``LRT`` the increase in deviance ``-2 logLik`` and
its chi-square p-value on ``npar`` degrees of freedom. A glm fit is refitted without the term's
columns of the model matrix (R's ``drop1.glm``): ``Df`` the columns fewer, ``Deviance`` the
refit's, and with ``D`` R's criterion (the family's
:meth:`~mixedmodels.families.Family.drop1_criterion`: the deviance over the dispersion; the
Gaussian family's ``n log(deviance / n)``) ``AIC = D + 2 rank``, shifted to give the full model
its own AIC (left out for a quasi family, which has none), and ``LRT =
D_dropped - D_full`` (named "scaled dev." when the dispersion is estimated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats

from ..base.protocols import fit_of
from ..fixed.glm import GlmFit
from ..formula.design import drop_aliased
from ..formula.frames import as_pandas
from ..glmm.fit import GlmerFit
from ..numerics.irls import irls
from .terms import anova_type, column_terms, term_columns, term_variables

__all__ = ["Drop1Table", "WaldAnovaTable", "drop1", "droppable", "relatives", "wald_anova", "wald_table"]


# ------------------------------------------------------------------ the terms of a fit
def _terms(fit: GlmerFit | GlmFit) -> tuple[list[str], list[str]]:
    """The names of the estimated coefficients and each one's formula term."""
    aliased = set(fit.aliased)
    names = [str(n) for n in fit.fixef.index if n not in aliased]
    return names, column_terms(fit, names)


def relatives(term: str, terms: Sequence[str]) -> list[str]:
    """The terms other than ``term`` whose variables include all of ``term``'s (car's
    ``relatives``: ``a:b`` of ``a``); none for the intercept."""
    if term == "(Intercept)":
        return []
    own = set(term_variables(term))
    return [t for t in terms if t not in (term, "(Intercept)") and own <= set(term_variables(t))]


def _wald(beta: np.ndarray, V: np.ndarray, cols: Sequence[int]) -> float:
    """``W(L)`` of the coefficients ``cols`` (see the module)."""
    if not cols:
        return 0.0
    idx = list(cols)
    b = beta[idx]
    return float(b @ np.linalg.solve(V[np.ix_(idx, idx)], b))


# ------------------------------------------------------------------ Wald tables
@dataclass(frozen=True)
class WaldAnovaTable:
    """Wald chi-square tests of a fit's terms, as car's ``Anova`` (made by :func:`wald_anova`).

    Attributes
    ----------
    table : DataFrame
        One row per term: ``Chisq``, ``Df`` and ``Pr(>Chisq)`` (a glmer fit's columns in car's
        order for lme4 fits; ``Df`` first for a glm fit, as car prints ``Anova(glm, test.statistic
        = "Wald")``).
    anova_type : int
        2 or 3 (car's ``type``).
    response : str
        The model's response, as the printout's "Response:" line shows it.
    mixed : bool
        Whether the fit is a glmer fit (car's heading says "Wald chisquare tests" for those).
    """

    table: pd.DataFrame
    anova_type: int
    response: str
    mixed: bool

    @property
    def title(self) -> str:
        """car's heading."""
        kind = "II" if self.anova_type == 2 else "III"
        what = "Wald chisquare tests" if self.mixed else "tests"
        return f"Analysis of Deviance Table (Type {kind} {what})"

    def __str__(self) -> str:
        from ..report.wald_anova import wald_anova_text

        return wald_anova_text(self.table, self.title, self.response)

    def _repr_html_(self) -> str:
        from ..report.wald_anova import wald_anova_html

        return wald_anova_html(self.table, self.title, self.response)


def _check_fit(fit, what: str) -> None:
    if not fit_of(fit, "glmer", "glm"):
        raise TypeError(f"{what} needs a fit from mm.glmer or mm.glm, not {type(fit).__name__}")


def wald_anova(fit: GlmerFit | GlmFit, type: int | str = 2) -> WaldAnovaTable:
    """Wald chi-square tests of a glmer or glm fit's terms, as car's ``Anova(fit, type)``.

    Parameters
    ----------
    fit : GlmerFit or GlmFit
        The model (R: ``car::Anova(glmer_fit)``; for a glm fit ``car::Anova(glm_fit,
        test.statistic = "Wald")``).
    type : {2, 3, "II", "III"}
        Type II (the default, as car's): each term after every term that does not contain it.
        Type III: each term's coefficients as coded, the intercept included; fit with
        sum-to-zero contrasts (``contrasts={"f": "contr.sum"}``) for the usual type III tests.

    Returns
    -------
    WaldAnovaTable
        ``.table`` with ``Chisq``, ``Df``, ``Pr(>Chisq)``; prints as car does.
    """
    _check_fit(fit, "a Wald chi-square table")
    kind = anova_type(type)
    if kind == 1:
        raise ValueError(f"type must be 2 or 3 ('II' or 'III'), not {type!r}")
    names, column_terms = _terms(fit)
    beta = fit.fixef.loc[names].to_numpy(dtype=float)
    V = fit.vcov.loc[names, names].to_numpy(dtype=float)
    table = wald_table(beta, V, column_terms, kind)
    if not fit.is_mixed:  # car's column order for a glm
        table = table[["Df", "Chisq", "Pr(>Chisq)"]]
    return WaldAnovaTable(table, kind, fit.parsed.response, fit.is_mixed)


def wald_table(beta: np.ndarray, V: np.ndarray, column_terms: Sequence[str], kind: int) -> pd.DataFrame:
    """The Wald chi-square tests of type ``kind`` (2 or 3) of the terms of coefficients
    ``beta`` with covariance ``V``, ``column_terms`` the term of each coefficient (see the
    module): ``Chisq``, ``Df``, ``Pr(>Chisq)``, one row per term."""
    columns = term_columns(column_terms, intercept=True)
    terms = list(columns) if kind == 3 else [t for t in columns if t != "(Intercept)"]
    chisq, df = [], []
    for term in terms:
        own = columns[term]
        rel = [j for r in (relatives(term, list(columns)) if kind == 2 else []) for j in columns[r]]
        chisq.append(_wald(beta, V, rel + own) - _wald(beta, V, rel))
        df.append(len(own))
    chisq_a, df_a = np.array(chisq), np.array(df)
    return pd.DataFrame(
        {"Chisq": chisq_a, "Df": df_a, "Pr(>Chisq)": stats.chi2.sf(chisq_a, df_a)}, index=terms
    )


# ------------------------------------------------------------------ drop1
@dataclass(frozen=True)
class Drop1Table:
    """Likelihood-ratio tests of dropping each term, as R's ``drop1(fit, test = "Chisq")``.

    Attributes
    ----------
    table : DataFrame
        A row ``<none>`` for the model, then one per term that may be dropped: a glmer fit's
        ``npar``, ``AIC``, ``LRT``, ``Pr(Chi)`` (lme4's), a glm fit's ``Df``, ``Deviance``,
        ``AIC``, ``LRT`` (or ``scaled dev.``), ``Pr(>Chi)`` (R's ``drop1.glm``).
    formula : str
        The model's formula ("Model:" in the printout).
    """

    table: pd.DataFrame
    formula: str

    def __str__(self) -> str:
        from ..report.wald_anova import drop1_text

        return drop1_text(self.table, self.formula)

    def _repr_html_(self) -> str:
        from ..report.wald_anova import drop1_html

        return drop1_html(self.table, self.formula)


def droppable(terms: Sequence[str]) -> list[str]:
    """The terms no other term contains (R's ``drop.scope``), the intercept left out."""
    terms = [t for t in terms if t != "(Intercept)"]
    return [t for t in terms if not relatives(t, terms)]


def drop1(fit: GlmerFit | GlmFit) -> Drop1Table:
    """Likelihood-ratio tests of dropping each term of a glmer or glm fit that no other term
    contains, as R's ``drop1(fit, test = "Chisq")`` (see the module for the columns).

    Parameters
    ----------
    fit : GlmerFit or GlmFit
        The model, with its data (a glmer fit is refitted without each term: one fit per term).

    Returns
    -------
    Drop1Table
        ``.table``; prints as R does.
    """
    _check_fit(fit, "drop1")
    scope = droppable(list(term_columns(_terms(fit)[1])))
    if not scope:
        raise ValueError("the model has no term to drop (only an intercept)")
    if fit_of(fit, "glm"):
        return Drop1Table(_glm_drop1(cast(GlmFit, fit), scope), fit.formula)
    return Drop1Table(_glmer_drop1(cast(GlmerFit, fit), scope), fit.formula)


def _glmer_drop1(fit: GlmerFit, scope: list[str]) -> pd.DataFrame:
    """lme4's ``drop1``: a refit without each term, as lme4's ``update`` refits (the family's
    parameters held as the fit's call holds them: a ``glmer.nb`` fit's size), on the fit's rows."""
    rows = _rows_of(fit)
    refits = [fit.update_formula(f"{fit.formula} - {term}", rows) for term in scope]
    if any(r.nobs != fit.nobs for r in refits):
        raise ValueError("drop1: the number of rows in use has changed in a refit: remove the missing values")
    npar = np.array([np.nan] + [fit.npar - r.npar for r in refits])
    aic = np.array([fit.aic] + [r.aic for r in refits])
    deviance = -2 * np.array([fit.loglik] + [r.loglik for r in refits])
    lrt = deviance - deviance[0]
    lrt[0] = np.nan
    p = np.full(len(lrt), np.nan)
    p[1:] = stats.chi2.sf(lrt[1:], npar[1:])
    table = pd.DataFrame({"npar": npar, "AIC": aic, "LRT": lrt, "Pr(Chi)": p}, index=["<none>", *scope])
    return table.astype({"npar": "Int64"})


def _rows_of(fit: GlmerFit) -> pd.DataFrame:
    """The rows of the fit's data that the fit used (lme4's ``drop1`` stops where a refit
    would use more: rows with a missing value only in the dropped variable; here every refit
    uses the fit's rows, as R's on the data with those rows removed)."""
    if fit.data is None:
        raise ValueError("drop1 refits the model without each term and needs the fit's data")
    data, used = as_pandas(fit.data), fit.design.row_index
    if len(used) == len(data):
        return data
    if not data.index.is_unique:
        raise ValueError(
            "drop1: the fit dropped rows with missing values and the data's index has duplicate "
            "labels, so the refits cannot be restricted to the fit's rows: remove the missing "
            "values (or reset the index) and fit again"
        )
    return data.loc[used]


def _glm_drop1(fit: GlmFit, scope: list[str]) -> pd.DataFrame:
    """R's ``drop1.glm``: a fit without each term's columns of the model matrix."""
    if type(fit) is not GlmFit:
        raise NotImplementedError(
            f"drop1 of a {type(fit).__name__} (a family parameter estimated with the coefficients) "
            "is not supported; compare refits with mm.anova"
        )
    X, names = fit.design.X, tuple(fit.names)
    term_of = column_terms(fit, names)
    good = fit.prior_weights > 0
    deviance, rank = [fit.deviance], [fit.rank]
    for term in scope:
        keep = [j for j, t in enumerate(term_of) if t != term]
        _, kept_names, _ = drop_aliased(X[good][:, keep], tuple(names[j] for j in keep))
        cols = [names.index(n) for n in kept_names]
        result = irls(
            X[:, cols], fit.y, fit.family, fit.prior_weights, fit.offset, etastart=fit.result.eta, warn=False
        )
        deviance.append(result.deviance)
        rank.append(len(cols))
    dev, ranks = np.array(deviance), np.array(rank, dtype=float)
    dispersion = float(fit.dispersion)
    criterion = np.asarray(fit.family.drop1_criterion(dev, fit.nobs, dispersion), dtype=float)
    aic = criterion + 2 * ranks
    aic = aic + (fit.aic - aic[0])
    lrt = np.maximum(0.0, criterion - criterion[0])
    lrt[0] = np.nan
    df = ranks[0] - ranks
    df[0] = np.nan
    p = np.full(len(lrt), np.nan)
    p[1:] = stats.chi2.sf(lrt[1:], df[1:])
    name = "LRT" if dispersion == 1 else "scaled dev."
    table = pd.DataFrame(
        {"Df": df, "Deviance": dev, "AIC": aic, name: lrt, "Pr(>Chi)": p}, index=["<none>", *scope]
    )
    if np.isnan(aic).all():  # a quasi family has no likelihood: R leaves the column out
        table = table.drop(columns="AIC")
    return table.astype({"Df": "Int64"})
