"""The summary of an lmer fit in lme4's layout (``print(summary(lmer(...)))``, with lmerTest's
t tests), and its HTML tables for notebooks, kept apart from the numbers (:mod:`mixedmodels.lmm.fit`).

The blocks that a glmer summary prints alike (the scaled residuals, the random-effects table,
the number of groups, the correlation of the fixed effects, the weights and offset lines) are
public here, and read only what :class:`MixedFitText` names, which both fit classes have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from ..covariance.structures import Structured
from .deparse import deparse, parse_r
from .rformat import (
    SIGNIF_LEGEND,
    cat_fill,
    coef_table_strings,
    coefficient_cells,
    format_table,
    html_block,
    html_heading,
    html_lines,
    html_table,
    html_title,
    legend_html,
    named_vector,
    r_abbreviate,
    r_cat,
    r_format,
    vector_html,
    zapsmall,
)

if TYPE_CHECKING:
    from ..formula.design import Design
    from ..lmm.fit import LmerFit

__all__ = [
    "correlation_html",
    "random_effects_cells",
    "residual_cells",
    "MixedFitText",
    "argument_lines",
    "correlation_block",
    "formula_lines",
    "groups_line",
    "lmer_summary",
    "lmer_summary_html",
    "random_effects_block",
    "scaled_residuals_block",
]


class MixedFitText(Protocol):
    """What the blocks shared by the lmer and glmer summaries read from a fit."""

    @property
    def design(self) -> Design: ...

    @property
    def nobs(self) -> int: ...

    @property
    def ngroups(self) -> dict[str, int]: ...

    @property
    def varcorr(self) -> pd.DataFrame: ...

    def scaled_residual_quantiles(self) -> tuple[np.ndarray, bool]: ...


def _criterion_cells(fit: LmerFit) -> dict[str, str]:
    """The REML criterion, or AIC, BIC, logLik, deviance and df.resid of an ML fit."""
    if fit.reml:
        return {"REML criterion at convergence": r_cat(round(fit.objective, 1))}
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    table = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    table["df.resid"] = str(fit.nobs - fit.npar)
    return table


def _aic_block(fit: LmerFit) -> str:
    cells = _criterion_cells(fit)
    if fit.reml:
        return "".join(f"{name}: {value}" for name, value in cells.items())
    return named_vector(cells)


def residual_cells(fit: MixedFitText) -> tuple[str, dict[str, str]]:
    q, exact = fit.scaled_residual_quantiles()
    shown = r_format(zapsmall(q, 5), 4)
    title = "Scaled residuals:" if exact else "Scaled residuals (quartiles approximate):"
    return title, dict(zip(["Min", "1Q", "Median", "3Q", "Max"], shown))


def scaled_residuals_block(fit: MixedFitText) -> str:
    """The "Scaled residuals:" block: their quartiles, as lme4 prints them for lmer and glmer."""
    title, cells = residual_cells(fit)
    return f"{title} \n" + named_vector(cells)


def random_effects_cells(fit: MixedFitText) -> tuple[list[str], list[list[str]]]:
    """Header and rows of lme4's random-effects table (Groups, Name, Variance, Std.Dev., Corr)."""
    vc = fit.varcorr
    sds = vc[vc.var2.isna()]
    variance = r_format(sds.vcov.to_numpy(), 4)
    stddev = r_format(sds.sdcor.to_numpy(), 4)
    kmax = 1 + max(_corr_columns(t.covariance, t.k) for t in fit.design.reterms)
    rows, last_group = [], None
    corr: dict = {}
    pairs: dict = {}  # each correlation by its group and columns
    corrs = vc[vc.var2.notna()]
    rounded = np.round(corrs.sdcor.to_numpy(dtype=float), 2)
    shown = r_format(rounded, 7, nsmall=2) if len(corrs) else []
    # a correlation with a zero standard deviation (an unstructured term's 0/0): R prints NaN
    shown = ["NaN".rjust(len(t)) if np.isnan(v) else t for v, t in zip(rounded, shown)]
    for r, text in zip(corrs.itertuples(), shown):
        corr.setdefault((r.group, r.var2), []).append(text)
        pairs[(r.group, r.var1, r.var2)] = text
    owners = [(term, j) for term in fit.design.reterms for j in range(term.k)]
    for i, r in enumerate(sds.itertuples()):
        group = "" if r.group == last_group else r.group
        last_group = r.group
        name = r.var1 if isinstance(r.var1, str) else ""
        row = [group, name, variance[i], stddev[i]]
        if kmax > 1:
            structure = owners[i][0].covariance if i < len(owners) else None
            if isinstance(structure, Structured):
                names = list(sds.var1.iloc[i : i + structure.k])
                own = [pairs.get((r.group, names[0], c), "") for c in names[1:]]
                cells = _structured_cells(structure, owners[i][1], own)
            else:
                cells = corr.get((r.group, name), [])
            row += cells + [""] * (kmax - 1 - len(cells))
        rows.append(row)
    header = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] + [""] * (kmax - 2) if kmax > 1 else [])
    return header, rows


def _corr_columns(structure, k: int) -> int:
    """How many Corr cells a term's rows take (a structure's own: one per correlation)."""
    if isinstance(structure, Structured):
        return structure.ncorrelation
    return k - 1 if structure is None or structure.correlated else 0


def _structured_cells(structure: Structured, column: int, shown: list[str]) -> list[str]:
    """The Corr cells of a structured term's row, as glmmTMB prints them: the structure's own
    correlations on its first row (ar1, cs: ``rho``; toep: one per lag, the correlations of the
    first column with the others), its name after them, nothing on the other rows.

    ``shown`` are the correlations of the term's first column with columns 1, 2, ... as printed."""
    if column or not structure.ncorrelation or not shown:
        return []
    cells = list(shown[: structure.ncorrelation if structure.ncorrelation > 1 else 1])
    cells[-1] = f"{cells[-1].strip()} ({structure.label})"
    return cells


def random_effects_block(fit: MixedFitText) -> str:
    """The "Random effects:" table (Groups, Name, Variance, Std.Dev., Corr) of lme4's summary."""
    header, rows = random_effects_cells(fit)
    return "Random effects:\n" + format_table(rows, header, right=False)


def groups_line(fit: MixedFitText) -> str:
    """lme4's "Number of obs: n, groups:  g, m" line."""
    groups = "; ".join(f"{g}, {n}" for g, n in fit.ngroups.items())
    return f"Number of obs: {fit.nobs}, groups:  {groups}"


def _fixed_effects_cells(
    fit: LmerFit, ddf: str | None
) -> tuple[str, list[str], list[str], list[list[str]], bool]:
    """Title, header, row names and cells of the fixed-effects table (lme4's or lmerTest's), and
    whether it has significance stars (lmerTest's, when a p-value is below 0.1)."""
    names = list(fit.fixef_names)
    if ddf is None:
        cells = coef_table_strings(fit.fixef.to_numpy(), fit.se.to_numpy(), fit.tvalues.to_numpy())
        return "Fixed effects:", ["Estimate", "Std. Error", "t value"], names, cells, False
    table = fit.coef_table(ddf)
    columns = (table[c].to_numpy() for c in ("Estimate", "Std. Error", "t value", "Pr(>|t|)"))
    cells, stars = coefficient_cells(*columns)
    df = r_format(np.round(table["df"].to_numpy(), 2), 4)
    cells = [[*c[:2], d, *c[2:]] for c, d in zip(cells, df)]
    header = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"] + ([""] if stars else [])
    return f"Fixed effects (t tests use {ddf}'s method):", header, names, cells, stars


def _fixed_effects(fit: LmerFit, ddf: str | None) -> str:
    title, header, names, cells, stars = _fixed_effects_cells(fit, ddf)
    text = f"{title}\n{format_table(cells, header, names)}"
    return f"{text}\n---\n{SIGNIF_LEGEND}" if stars else text


def _correlation_cells(names: Sequence[str], vcov: np.ndarray):
    """Header, row names and lower-triangle cells of the correlation of the fixed effects."""
    p = len(names)
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    shown = np.array(r_format(np.round(corr, 3).ravel(), 7, nsmall=3)).reshape(p, p)
    rows = [[shown[i, j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    header = [r_abbreviate(n, 6) for n in names[:-1]]
    rownames = [r_abbreviate(n, 11) for n in names[1:]]
    return header, rownames, rows


def correlation_block(names: Sequence[str], vcov: np.ndarray, max_p: int = 12) -> str:
    """lme4's 'Correlation of Fixed Effects' block (empty for one coefficient)."""
    p = len(names)
    if p <= 1:
        return ""
    if p > max_p:
        return f"\nCorrelation matrix not shown by default, as p = {p} > {max_p}."
    header, rownames, rows = _correlation_cells(names, vcov)
    return "\nCorrelation of Fixed Effects:\n" + format_table(rows, header, rownames, right=False)


def formula_lines(formula: str, one_line: bool = False) -> list[str]:
    """lme4's "Formula:" line: the deparsed formula after the label, as ``cat(fill = TRUE)``
    wraps them at 80 columns (a formula past 60 characters is deparsed on several lines).

    Parameters
    ----------
    formula : str
        The model formula as written (R's parse and deparse normalize its spacing).
    one_line : bool
        Join the deparsed pieces on one line (for HTML, which wraps by itself).
    """
    pieces = deparse(parse_r(formula))
    if one_line:
        return [f"Formula: {' '.join(piece.strip() for piece in pieces)}"]
    return cat_fill(["Formula:", *pieces])


def _lmer_heading(fit: LmerFit, one_line: bool = False) -> list[str]:
    method = "REML " if fit.reml else "maximum likelihood  "
    data_line = "   Data: data"
    if fit.design.dropped_rows:
        data_line += f" ({fit.design.dropped_rows} rows with missing values dropped)"
    lines = [
        f"Linear mixed model fit by {method}['lmerMod']",
        *formula_lines(fit.formula, one_line),
        data_line,
    ]
    return lines + argument_lines(fit.design.labels)


def argument_lines(labels: tuple[str | None, str | None]) -> list[str]:
    """lme4's "Weights:" and " Offset:" lines of a summary heading (lmer and glmer alike).

    Parameters
    ----------
    labels : (str or None, str or None)
        What ``weights=`` and ``offset=`` were (``Design.labels``): a column's name, "given"
        for an array, None when not given (no line).

    Returns
    -------
    list of str
        lme4 prints the argument as the call wrote it; a column is named, an array is "given".
    """
    weights, offset = labels
    lines = [] if weights is None else [f"Weights: {weights}"]
    return lines + ([] if offset is None else [f" Offset: {offset}"])


def lmer_summary(fit: LmerFit, ddf: str | None = "Satterthwaite") -> str:
    """The summary of an lmer fit in lme4's layout."""
    parts = [
        *_lmer_heading(fit),
        "",
        _aic_block(fit),
        "",
        scaled_residuals_block(fit),
        "",
        random_effects_block(fit),
        groups_line(fit),
        "",
        _fixed_effects(fit, ddf),
    ]
    corr = correlation_block(list(fit.fixef_names), fit.vcov.to_numpy())
    if corr:
        parts.append(corr)
    parts += list(fit.messages)
    return "\n".join(parts)


def lmer_summary_html(fit: LmerFit, ddf: str | None = "Satterthwaite") -> str:
    """The summary of an lmer fit as HTML tables, with the same cells as :func:`lmer_summary`."""
    heading = [line.strip() for line in _lmer_heading(fit, one_line=True)]
    res_title, res_cells = residual_cells(fit)
    re_header, re_rows = random_effects_cells(fit)
    fe_title, fe_header, fe_names, fe_cells, stars = _fixed_effects_cells(fit, ddf)
    parts = [
        html_title(heading[0]),
        html_lines(heading[1:]),
        vector_html(_criterion_cells(fit)),
        html_heading(res_title),
        vector_html(res_cells),
        html_heading("Random effects:"),
        html_table(re_rows, re_header),
        html_lines([groups_line(fit)]),
        html_heading(fe_title),
        html_table(fe_cells, fe_header, fe_names),
    ]
    if stars:
        parts.append(legend_html())
    parts += correlation_html(list(fit.fixef_names), fit.vcov.to_numpy())
    if fit.messages:
        parts.append(html_lines(list(fit.messages), note=True))
    return html_block(parts)


def correlation_html(names: Sequence[str], vcov: np.ndarray, max_p: int = 12) -> list[str]:
    if len(names) <= 1:
        return []
    if len(names) > max_p:
        return [html_lines([f"Correlation matrix not shown by default, as p = {len(names)} > {max_p}."])]
    header, rownames, rows = _correlation_cells(names, vcov)
    return [html_heading("Correlation of Fixed Effects:"), html_table(rows, header, rownames)]
