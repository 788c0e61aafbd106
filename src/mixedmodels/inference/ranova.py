"""Likelihood-ratio tests of the random-effects terms of a linear mixed model, as lmerTest's
``ranova``.

Each random-effects term of the formula is taken out in turn, the model refitted by the fit's
criterion (REML or ML), and the two compared:

    LRT = 2 (logLik_full - logLik_reduced),   p = P(chi^2_Df > LRT),   Df = npar_full - npar_reduced.

With ``reduce_terms`` (lmerTest's default) a term with an intercept and other columns,
``(1 + x | g)``, is reduced to ``(1 | g)`` (the row "x in (1 + x | g)"); an intercept-only term,
or a term without an intercept, is dropped. A ``||`` term counts as lme4 expands it: ``(x || g)``
is ``(1 | g) + (0 + x | g)``. A term with a covariance structure (``ar1(times + 0 | id)``) is
taken out whole, and keeps its structure in the other rows' models. A model left without
random effects is the linear model, its log-likelihood the REML one for a REML fit (R's
``logLik(lm, REML = TRUE)``,
:attr:`LmFit.reml_loglik <mixedmodels.fixed.lm.LmFit.reml_loglik>`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..base.messages import MixedModelsWarning
from ..base.protocols import fit_of
from ..fixed.lm import lm
from ..formula.terms import RandomTerm
from ..lmm.fit import LmerFit
from ..report.anova import ranova_html, ranova_text

__all__ = ["RanovaTable", "ranova"]


@dataclass(frozen=True)
class RanovaTable:
    """lmerTest's ``ranova`` table.

    Attributes
    ----------
    table : DataFrame
        npar, logLik, AIC, LRT, Df and Pr(>Chisq); the first row (``<none>``) the model itself,
        then one row per random-effects term taken out or reduced.
    formula : str
        The model's formula (a ``||`` term written as lme4 expands it).
    """

    table: pd.DataFrame
    formula: str

    def __str__(self) -> str:
        return ranova_text(self.table, self.formula)

    def _repr_html_(self) -> str:
        return ranova_html(self.table, self.formula)


@dataclass(frozen=True)
class _Piece:
    """One random-effects term as lme4 counts it: its left side's terms and grouping factor."""

    intercept: bool
    terms: tuple[str, ...]
    group: str
    written: str | None = None  # the left side as the formula has it
    structure: str = "us"  # its covariance structure, written around it unless lme4's default

    @property
    def text(self) -> str:
        left = " + ".join(("1" if self.intercept else "0", *self.terms)) if self.terms else "1"
        name = "" if self.structure == "us" else self.structure
        return f"{name}({self.written or left} | {self.group})"


def _split(expr: str) -> tuple[bool, list[str]]:
    """Whether the left side of a bar has an intercept, and its other terms."""
    depth, parts, start = 0, [], 0
    for i, ch in enumerate(expr):
        depth += ch == "("
        depth -= ch == ")"
        if ch in "+-" and depth == 0:
            parts.append(expr[start:i])
            start = i
    parts.append(expr[start:])
    intercept, terms = True, []
    for part in (p.strip() for p in parts):
        sign, body = ("-", part[1:].strip()) if part.startswith("-") else ("+", part.lstrip("+").strip())
        if body in ("0", "1"):
            intercept = body == "1" and sign == "+"
        elif body:
            terms.append(body)
    return intercept, terms


def _pieces(term: RandomTerm) -> list[_Piece]:
    """The term, or for ``||`` its uncorrelated parts."""
    intercept, terms = _split(term.expr)
    group = ":".join(term.factors)
    if term.correlated:
        return [_Piece(intercept, tuple(terms), group, term.expr, getattr(term, "structure", "us"))]
    return ([_Piece(True, (), group)] if intercept else []) + [_Piece(False, (t,), group) for t in terms]


def _reduced(pieces: list[_Piece], i: int, reduce_terms: bool) -> tuple[str, list[_Piece]]:
    """The row's label and the random terms of the model without (or with a reduced) piece ``i``."""
    piece = pieces[i]
    rest = pieces[:i] + pieces[i + 1 :]
    if not reduce_terms or not piece.terms or piece.structure != "us":  # a structure: the whole term
        return piece.text, rest
    label = f"{' + '.join(piece.terms)} in {piece.text}"
    if piece.intercept:
        rest = pieces[:i] + [_Piece(True, (), piece.group)] + pieces[i + 1 :]
    return label, rest


def _formula(fit: LmerFit, pieces: list[_Piece]) -> str:
    parsed = fit.parsed
    parts = [parsed.fixed, *(f"offset({o})" for o in parsed.offsets), *(p.text for p in pieces)]
    return f"{parsed.response} ~ {' + '.join(parts)}"


def _refit(fit: LmerFit, pieces: list[_Piece]) -> tuple[int, float]:
    """npar and logLik of the model with these random terms (the linear model with none)."""
    formula = _formula(fit, pieces)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        if pieces:
            reduced = fit.update(formula=formula)
            return reduced.npar, reduced.loglik
        args = {k: v for k, v in (fit.model_args or {}).items() if k == "weights"}
        linear = lm(formula, fit.data, contrasts=fit.contrasts, na_action=fit.na_action, **args)
    return linear.npar, linear.reml_loglik if fit.reml else linear.loglik


def ranova(fit: LmerFit, reduce_terms: bool = True) -> RanovaTable:
    """Likelihood-ratio tests of the random-effects terms (lmerTest's ``ranova``).

    Parameters
    ----------
    fit : LmerFit
        The model (its data are needed: each reduced model is fitted to them).
    reduce_terms : bool
        Reduce ``(1 + x | g)`` to ``(1 | g)`` rather than take it out (lmerTest's default).

    Returns
    -------
    RanovaTable
        Prints as lmerTest prints it; ``.table`` holds the numbers.
    """
    if not fit_of(fit, "lmer"):
        raise TypeError(f"ranova needs a fit from mm.lmer, not {type(fit).__name__}")
    if fit.data is None:
        raise ValueError("ranova refits the model without each term: it needs the fit's data")
    pieces = [p for term in fit.parsed.random for p in _pieces(term)]
    rows = {"<none>": (fit.npar, fit.loglik)}
    for i in range(len(pieces)):
        label, rest = _reduced(pieces, i, reduce_terms)
        rows[label] = _refit(fit, rest)
    npar = np.array([r[0] for r in rows.values()], dtype=float)
    loglik = np.array([r[1] for r in rows.values()])
    lrt = np.concatenate([[np.nan], 2.0 * (loglik[0] - loglik[1:])])
    df = np.concatenate([[np.nan], npar[0] - npar[1:]])
    with np.errstate(invalid="ignore"):
        p = np.where(df > 0, stats.chi2.sf(np.maximum(lrt, 0.0), np.where(df > 0, df, 1)), np.nan)
    aic = 2.0 * npar - 2.0 * loglik
    table = pd.DataFrame(
        {"npar": npar, "logLik": loglik, "AIC": aic, "LRT": lrt, "Df": df, "Pr(>Chisq)": p}, index=list(rows)
    )
    any_split = any(not t.correlated for t in fit.parsed.random)
    return RanovaTable(table, _formula(fit, pieces) if any_split else fit.formula)
