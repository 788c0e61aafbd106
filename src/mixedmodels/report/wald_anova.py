"""car's ``Anova`` Wald chi-square table and R's ``drop1`` table, as R's ``print.anova`` shows
them, and their HTML for notebooks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .anova import deletions_html, deletions_text, finite_format, table_html, table_text, with_pvalues

__all__ = ["drop1_html", "drop1_text", "wald_anova_html", "wald_anova_text"]

DROP1_TITLE = "Single term deletions"


def _cells(table: pd.DataFrame, digits: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and stars as ``print.anova`` formats them: a ``Chisq`` column rounded to
    ``digits - 1`` decimals and formatted to ``digits``, a column ending in "Df" formatted, the
    others zapped (``zapsmall``) and formatted, the p-values by ``format.pval`` to ``digits - 1``
    digits; missing cells blank."""
    dig_tst = max(1, min(5, digits - 1))
    columns = []
    for name in table.columns[:-1]:
        values = table[name].to_numpy(dtype=float, na_value=np.nan)
        if name == "Chisq":
            columns.append(finite_format(np.round(values, dig_tst), digits))
        else:
            columns.append(finite_format(values, digits, zap=not str(name).endswith("Df")))
    header, cells, stars = with_pvalues(table, columns, dig_tst)
    if stars:  # R's format() of the stars pads them on the right
        width = max(len(row[-1]) for row in cells)
        cells = [[*row[:-1], row[-1].ljust(width)] for row in cells]
    return header, cells, stars


def wald_anova_text(table: pd.DataFrame, title: str, response: str) -> str:
    """car's ``Anova`` table as it prints."""
    return table_text([title, "", f"Response: {response}"], table, _cells(table))


def wald_anova_html(table: pd.DataFrame, title: str, response: str) -> str:
    """car's ``Anova`` table as HTML, with the cells of :func:`wald_anova_text`."""
    return table_html(title, [f"Response: {response}"], table, _cells(table))


def drop1_text(table: pd.DataFrame, formula: str) -> str:
    """R's ``drop1`` table as it prints."""
    return deletions_text(DROP1_TITLE, formula, table, _cells(table))


def drop1_html(table: pd.DataFrame, formula: str) -> str:
    """R's ``drop1`` table as HTML, with the cells of :func:`drop1_text`."""
    return deletions_html(DROP1_TITLE, formula, table, _cells(table))
