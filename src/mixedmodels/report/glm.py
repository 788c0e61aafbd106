"""Text of R's ``summary.glm`` (R 4.2's layout, with its deviance residuals) and of the analysis
of deviance table of ``anova(glm0, glm1, test = "Chisq")`` (and of the analysis of variance table
of ``anova(lm0, lm1)``, laid out alike), and their HTML for notebooks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .deparse import formula_text, model_call
from .rformat import (
    SIGNIF_LEGEND,
    coefficient_cells,
    format_pvalues,
    format_table,
    html_block,
    html_heading,
    html_lines,
    html_table,
    legend_html,
    missingness_note,
    named_vector_lines,
    r_format,
    stars_column,
    vector_html,
    zapsmall,
)

if TYPE_CHECKING:
    from ..fixed.glm import GlmFit
    from ..fixed.glm_nb import GlmNbFit

__all__ = [
    "deviance_table_html",
    "deviance_table_text",
    "dispersion_line",
    "glm_call",
    "glm_nb_summary",
    "glm_nb_summary_html",
    "glm_summary",
    "glm_summary_html",
]


def _family_text(fit: GlmFit) -> str:
    name = fit.family.name
    return name if fit.link_given is None else f'{name}(link = "{fit.link_given}")'


def glm_call(fit: GlmFit) -> list[str]:
    """The lines of the Call: ``glm(formula = ..., family = ..., data = data, ...)``."""
    return model_call("glm", fit.formula, fit.design.labels, fit.contrasts, _family_text(fit))


def _row_labels(fit: GlmFit) -> list[str]:
    index = fit.design.row_index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return [str(i + 1) for i in range(len(index))]
    return [str(i) for i in index]


def _residual_heading(fit: GlmFit) -> str:
    """R's "Deviance Residuals:"; "Pearson Residuals:" for a family without a unit deviance."""
    return "Deviance Residuals:" if fit.family.unit_deviance else "Pearson Residuals:"


def _deviance_residual_cells(fit: GlmFit) -> dict[str, str]:
    """Quartiles of the deviance residuals (all of them when df_residual <= 5), as R prints them;
    the Pearson residuals' for a family without a unit deviance (nbinom1, beta, truncated)."""
    resid = fit.residuals("deviance" if fit.family.unit_deviance else "pearson")
    if fit.df_residual > 5:
        q = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
        return dict(zip(["Min", "1Q", "Median", "3Q", "Max"], r_format(zapsmall(q, 5), 4)))
    return dict(zip(_row_labels(fit), r_format(zapsmall(resid, 5), 4)))


def _coefficient_cells(fit: GlmFit) -> tuple[str, list[str], list[list[str]], bool]:
    """Title, header, cells of R's coefficient table (NA rows for aliased columns), and whether
    there are significance stars."""
    coef, se, z, p = (s.to_numpy() for s in (fit.coef, fit.se, fit.zvalues, fit.pvalues))
    cells, stars = coefficient_cells(coef, se, z, p)
    letter = "t" if fit.estimates_dispersion else "z"
    header = ["Estimate", "Std. Error", f"{letter} value", f"Pr(>|{letter}|)"] + ([""] if stars else [])
    nalias = int(np.isnan(coef).sum())
    title = "Coefficients:" + (f" ({nalias} not defined because of singularities)" if nalias else "")
    return title, header, cells, stars


def dispersion_line(fit: GlmFit) -> str:
    """R's "(Dispersion parameter for poisson family taken to be 1)"."""
    dispersion = r_format([fit.dispersion], 7)[0].strip()
    return f"(Dispersion parameter for {fit.family.name} family taken to be {dispersion})"


def _fit_lines(fit: GlmFit) -> list[str]:
    """The dispersion, the null and residual deviances, the AIC and the iterations."""
    devs = r_format([fit.null_deviance, fit.deviance], 5)
    dfs = r_format([fit.df_null, fit.df_residual], 7)
    lines = [
        *fit.dispersion_lines(),
        "",
        f"    Null deviance: {devs[0]}  on {dfs[0]}  degrees of freedom",
        f"Residual deviance: {devs[1]}  on {dfs[1]}  degrees of freedom",
    ]
    if fit.design.dropped_rows:
        lines.append(missingness_note(fit.design.dropped_rows))
    lines += [
        f"AIC: {r_format([fit.aic], 5)[0].strip()}",
        "",
        f"Number of Fisher Scoring iterations: {fit.iterations}",
    ]
    return lines


def glm_summary(fit: GlmFit, call: list[str] | None = None) -> str:
    """The summary of a glm fit in R 4.2's ``summary.glm`` layout (``call``: its lines, if not
    ``glm``'s)."""
    title, header, cells, stars = _coefficient_cells(fit)
    lines = ["", "Call:", *(glm_call(fit) if call is None else call), "", f"{_residual_heading(fit)} "]
    lines += named_vector_lines(_deviance_residual_cells(fit))
    lines += ["", title, format_table(cells, header, fit.names)]
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join([*lines, "", *_fit_lines(fit), ""])


def glm_summary_html(fit: GlmFit, call: list[str] | None = None, extra: Sequence[str] = ()) -> str:
    """The summary as HTML tables, with the cells of :func:`glm_summary` (``extra``: lines after it)."""
    title, header, cells, stars = _coefficient_cells(fit)
    parts = [
        html_heading("Call:"),
        html_lines([" ".join(line.strip() for line in (glm_call(fit) if call is None else call))]),
        html_heading(_residual_heading(fit)),
        vector_html(_deviance_residual_cells(fit)),
        html_heading(title),
        html_table(cells, header, fit.names),
    ]
    if stars:
        parts.append(legend_html())
    parts.append(html_lines([line for line in [*_fit_lines(fit), *extra] if line]))
    return html_block(parts)


# ------------------------------------------------------------------ MASS's glm.nb
def glm_nb_call(fit: GlmNbFit) -> list[str]:
    """``glm.nb(formula = ..., data = data, init.theta = 0.8560246274, link = log)``: the call
    as ``glm.nb`` stores it (``theta`` to 10 significant digits; ``link`` where it was given,
    ``init.theta`` then follows it)."""
    theta = f"{fit.theta:.10g}"
    if fit.link_given is None:
        extra = {"init.theta": theta, "link": fit.link}
    else:
        extra = {"link": fit.link, "init.theta": theta}
    return model_call("glm.nb", fit.formula, fit.design.labels, fit.contrasts, None, extra)


def theta_lines(fit: GlmNbFit) -> list[str]:
    """MASS's ``print.summary.negbin`` lines after the glm summary: theta and its standard
    error rounded to ``dp = max(2 - floor(log10(SE)), 0)`` decimals, ``2 log L`` to 3."""
    se = fit.theta_se
    dp = max(2 - math.floor(math.log10(se)), 0) if math.isfinite(se) and se > 0 else 0
    theta, theta_se = (r_format([round(v, dp)], 7, nsmall=dp)[0] for v in (fit.theta, se))
    lines = ["", f"              Theta:  {theta} ", f"          Std. Err.:  {theta_se} "]
    if fit.estimate is not None and fit.estimate.warning:
        lines.append(f"Warning while fitting theta: {fit.estimate.warning} ")
    twologlik = r_format([round(fit.twologlik, 3)], 7, nsmall=dp)[0]
    return [*lines, "", f" 2 x log-likelihood:  {twologlik} "]


def glm_nb_summary(fit: GlmNbFit) -> str:
    """The summary of a ``glm.nb`` fit as MASS prints ``summary(fit)``."""
    return glm_summary(fit, glm_nb_call(fit)) + "\n".join(["", *theta_lines(fit), ""])


def glm_nb_summary_html(fit: GlmNbFit) -> str:
    """:func:`glm_nb_summary` as HTML."""
    return glm_summary_html(fit, glm_nb_call(fit), [line.strip() for line in theta_lines(fit)])


# ------------------------------------------------------------------ analysis of deviance
def _column(values: np.ndarray, digits: int = 5, statistic: bool = False) -> list[str]:
    """``format`` of a column with its missing entries blank: zapped as R's ``print.anova``
    zaps its columns, or, for a test statistic (F), rounded to ``digits - 1`` decimals."""
    finite = np.isfinite(values)
    shown = np.where(finite, values, 0.0)
    if finite.any():
        shown[finite] = (
            np.round(values[finite], digits - 1) if statistic else zapsmall(values[finite], digits)
        )
    text = r_format(np.where(finite, shown, np.nan), digits)
    width = max(len(t) for t in text)
    return [t if ok else " " * width for t, ok in zip(text, finite)]


def deviance_table_cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and whether there are stars, as ``print.anova`` shows the table (its last
    column the p-values)."""
    header = [str(c) for c in table.columns]
    columns = [_column(table[c].to_numpy(dtype=float), statistic=c == "F") for c in table.columns[:-1]]
    p = table[table.columns[-1]].to_numpy(dtype=float)
    ok = np.isfinite(p)
    pvals = [""] * len(p)
    for i, text in zip(np.flatnonzero(ok), format_pvalues(p[ok], 4)):
        pvals[i] = text
    columns.append(pvals)
    stars = bool(np.any(p[ok] < 0.1))
    if stars:
        marks = iter(stars_column(p[ok]))
        columns.append([next(marks) if np.isfinite(v) else "" for v in p])
        header.append("")
    return header, [list(row) for row in zip(*columns)], stars


def deviance_table_text(table: pd.DataFrame, formulas: Sequence[str], title: str) -> str:
    """The table as R prints ``anova(glm0, glm1, test = "Chisq")`` or ``anova(lm0, lm1)``."""
    header, cells, stars = deviance_table_cells(table)
    lines = [title, ""]
    lines += [f"Model {i + 1}: {formula_text(f)}" for i, f in enumerate(formulas)]
    lines.append(format_table(cells, header, [str(i + 1) for i in range(len(table))]))
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join(lines)


def deviance_table_html(table: pd.DataFrame, formulas: Sequence[str], title: str) -> str:
    """The analysis of deviance table as HTML, with the cells of :func:`deviance_table_text`."""
    header, cells, stars = deviance_table_cells(table)
    parts = [
        html_heading(title),
        html_lines([f"Model {i + 1}: {f}" for i, f in enumerate(formulas)]),
        html_table(cells, header, [str(i + 1) for i in range(len(table))]),
    ]
    if stars:
        parts.append(legend_html())
    return html_block(parts)
