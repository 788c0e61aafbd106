"""The likelihood-ratio table of lme4's ``anova`` and lmerTest's ``ranova`` table, as R's
``print.anova`` shows them, and their HTML for notebooks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .deparse import formula_text
from .rformat import (
    SIGNIF_LEGEND,
    format_pvalues,
    format_table,
    html_block,
    html_heading,
    html_lines,
    html_table,
    legend_html,
    r_format,
    signif_stars,
    zapsmall,
)

__all__ = [
    "REFIT_NOTE",
    "RANOVA_TITLE",
    "anova_cells",
    "finite_format",
    "with_pvalues",
    "anova_html",
    "anova_text",
    "ranova_cells",
    "ranova_html",
    "ranova_text",
    "table_html",
    "table_text",
    "deletions_html",
    "deletions_text",
]

REFIT_NOTE = "refitting model(s) with ML (instead of REML)"


def finite_format(values: np.ndarray, digits: int, zap: bool = False) -> list[str]:
    """``format`` of the finite entries (zapped as ``zapsmall`` first), "" for the missing ones."""
    out = [""] * len(values)
    ok = np.flatnonzero(np.isfinite(values))
    if ok.size:
        shown = zapsmall(values[ok], digits) if zap else values[ok]
        for i, text in zip(ok, r_format(shown, digits)):
            out[i] = text
    return out


def anova_cells(table: pd.DataFrame, digits: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and whether there are stars, as R's ``print.anova`` formats the table.

    ``npar`` to ``deviance`` are zapped and formatted to ``digits``; ``Chisq`` is rounded to
    ``digits - 1`` decimals first; the p-values go through ``format.pval`` with ``digits - 1``
    digits, followed by significance stars when any p-value is below 0.1.
    """
    dig_tst = max(1, min(5, digits - 1))
    columns = [finite_format(table[c].to_numpy(dtype=float), digits, zap=True) for c in table.columns[:5]]
    chisq = table["Chisq"].to_numpy(dtype=float)
    columns.append(finite_format(np.round(chisq, dig_tst), digits))
    columns.append(finite_format(table["Df"].to_numpy(dtype=float, na_value=np.nan), digits))
    return with_pvalues(table, columns, dig_tst)


def with_pvalues(table: pd.DataFrame, columns: list[list[str]], digits: int):
    """Header, cells and stars: ``columns`` then the table's last column, its p-values (blank
    where missing), formatted by ``format.pval`` to ``digits``, and stars when any is below 0.1."""
    p = table[table.columns[-1]].to_numpy(dtype=float)
    ok = np.isfinite(p)
    pvals = [""] * len(p)
    for i, text in zip(np.flatnonzero(ok), format_pvalues(p[ok], digits)):
        pvals[i] = text
    columns = [*columns, pvals]
    header = [str(c) for c in table.columns]
    stars = bool(np.any(p[ok] < 0.1))
    if stars:
        columns.append([signif_stars(v) if np.isfinite(v) else "" for v in p])
        header.append("")
    return header, [list(row) for row in zip(*columns)], stars


Cells = tuple[list[str], list[list[str]], bool]  # header, cells, stars (as with_pvalues)


def table_text(heading: Sequence[str], table: pd.DataFrame, cells: Cells) -> str:
    """An anova-style table as ``print.anova`` prints it: the ``heading`` lines, the table of
    ``cells`` (rows named by the table's index) and the significance legend where there are
    stars."""
    header, body, stars = cells
    lines = [*heading, format_table(body, header, [str(i) for i in table.index])]
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join(lines)


def table_html(title: str, heading: Sequence[str], table: pd.DataFrame, cells: Cells) -> str:
    """:func:`table_text` as HTML: the ``title``, the ``heading`` lines, the table and the legend."""
    header, body, stars = cells
    parts = [html_heading(title), html_lines(list(heading))]
    parts.append(html_table(body, header, [str(i) for i in table.index]))
    if stars:
        parts.append(legend_html())
    return html_block(parts)


def deletions_text(title: str, formula: str, table: pd.DataFrame, cells: Cells) -> str:
    """A table of single-term deletions (lmerTest's ``ranova``, R's ``drop1``) as it prints."""
    return table_text([title, "", "Model:", formula_text(formula)], table, cells)


def deletions_html(title: str, formula: str, table: pd.DataFrame, cells: Cells) -> str:
    """:func:`deletions_text` as HTML."""
    return table_html(title, ["Model:", formula_text(formula)], table, cells)


def _anova_heading(refitted: bool, models: Sequence[tuple[str, str]]) -> list[str]:
    lines = [REFIT_NOTE] if refitted else []
    lines.append("Data: data")
    if models:
        lines += ["Models:"] + [f"{label}: {formula_text(formula)}" for label, formula in models]
    return lines


def anova_text(table: pd.DataFrame, refitted: bool, models: Sequence[tuple[str, str]] = ()) -> str:
    """The likelihood-ratio table as lme4's ``anova`` prints it.

    Parameters
    ----------
    table : DataFrame
        npar, AIC, BIC, logLik, deviance, Chisq, Df and Pr(>Chisq), one row per model.
    refitted : bool
        Whether REML fits were refitted by maximum likelihood (says so on the first line).
    models : sequence of (label, formula)
        The "Models:" block; none when the labels are the formulas themselves.
    """
    return table_text(_anova_heading(refitted, models), table, anova_cells(table))


def anova_html(table: pd.DataFrame, refitted: bool, models: Sequence[tuple[str, str]] = ()) -> str:
    """The likelihood-ratio table as HTML, with the cells of :func:`anova_text`."""
    header, cells, stars = anova_cells(table)
    heading = _anova_heading(refitted, models)
    parts = [html_lines(heading[:1], note=True)] if refitted else []
    parts.append(html_lines(heading[1 if refitted else 0 :]))
    parts.append(html_table(cells, header, [str(i) for i in table.index]))
    if stars:
        parts.append(legend_html())
    return html_block(parts)


RANOVA_TITLE = "ANOVA-like table for random-effects: Single term deletions"


def ranova_cells(table: pd.DataFrame, digits: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and stars of lmerTest's ``ranova`` table, as ``print.anova`` formats it:
    npar to LRT zapped and formatted to ``digits``, p-values to ``digits - 1``."""
    columns = [finite_format(table[c].to_numpy(dtype=float), digits, zap=True) for c in table.columns[:4]]
    columns.append(finite_format(table["Df"].to_numpy(dtype=float), digits))
    return with_pvalues(table, columns, digits - 1)


def ranova_text(table: pd.DataFrame, formula: str) -> str:
    """lmerTest's ``ranova`` table as it prints."""
    return deletions_text(RANOVA_TITLE, formula, table, ranova_cells(table))


def ranova_html(table: pd.DataFrame, formula: str) -> str:
    """The ``ranova`` table as HTML, with the cells of :func:`ranova_text`."""
    return deletions_html(RANOVA_TITLE, formula, table, ranova_cells(table))
