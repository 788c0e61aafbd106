"""The summary of an lm fit in R's ``summary.lm`` layout, and its HTML tables for notebooks,
kept apart from the numbers (:mod:`mixedmodels.fixed.lm`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .deparse import model_call
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
    named_vector,
    r_format,
    signif,
    vector_html,
    zapsmall,
)

if TYPE_CHECKING:
    from ..fixed.lm import LmFit

__all__ = ["lm_summary", "lm_summary_html"]


def _lm_call(fit: LmFit) -> list[str]:
    """The lines of the Call: as ``deparse`` writes R's ``lm(formula = ..., data = data, ...)``."""
    return model_call("lm", fit.formula, fit.design.labels, fit.contrasts)


def _lm_residual_cells(fit: LmFit) -> tuple[str, dict[str, str]]:
    """The residuals' quartiles (all of them when df_residual <= 5), as ``summary.lm`` shows
    them: weighted, ``sqrt(w) * r`` (0 where the weight is 0), titled so when weights vary."""
    resid = fit.residuals.to_numpy() * np.sqrt(fit.weights)
    weighted = fit.design.weights is not None and np.ptp(fit.weights) > 0
    title = "Weighted Residuals:" if weighted else "Residuals:"
    if fit.df_residual > 5:
        q = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
        return title, dict(zip(["Min", "1Q", "Median", "3Q", "Max"], r_format(zapsmall(q, 5), 4)))
    labels = [str(i + 1) for i in range(len(resid))]
    return title, dict(zip(labels, r_format(resid, 4)))


def _lm_residuals(fit: LmFit) -> str:
    title, cells = _lm_residual_cells(fit)
    return f"{title}\n" + named_vector(cells)


def _lm_coefficient_cells(fit: LmFit) -> tuple[str, list[str], list[list[str]], bool]:
    """Title, header and cells of R's coefficient table (NA rows for aliased columns), and
    whether it has significance stars (only when a p-value is below 0.1, as R)."""
    coef, se, t, p = (s.to_numpy() for s in (fit.coef, fit.se, fit.tvalues, fit.pvalues))
    cells, stars = coefficient_cells(coef, se, t, p)
    header = ["Estimate", "Std. Error", "t value", "Pr(>|t|)"] + ([""] if stars else [])
    nalias = int(np.isnan(coef).sum())
    title = "Coefficients:" + (f" ({nalias} not defined because of singularities)" if nalias else "")
    return title, header, cells, stars


def _lm_coefficients(fit: LmFit) -> str:
    title, header, cells, stars = _lm_coefficient_cells(fit)
    table = format_table(cells, header, fit.names)
    return f"{title}\n{table}" + (f"\n---\n{SIGNIF_LEGEND}" if stars else "")


def _lm_fit_lines(fit: LmFit) -> list[str]:
    """Residual standard error, R-squared and the F test, as R's summary.lm ends."""
    sigma = r_format([signif(fit.sigma, 4)], 4)[0] if math.isfinite(fit.sigma) else "NaN"
    lines = [f"Residual standard error: {sigma} on {fit.df_residual} degrees of freedom"]
    if fit.design.dropped_rows:
        lines.append(missingness_note(fit.design.dropped_rows))
    value, numdf, dendf = fit.fstatistic
    if numdf > 0:
        lines.append(
            f"Multiple R-squared:  {fit.r_squared:.4g},\tAdjusted R-squared:  {fit.adj_r_squared:.4g} "
        )
        pval = format_pvalues([fit.f_pvalue], 4)[0]
        lines.append(f"F-statistic: {value:.4g} on {numdf} and {dendf} DF,  p-value: {pval}")
    return lines


def lm_summary(fit: LmFit) -> str:
    """The summary of an lm fit in R's ``summary.lm`` layout."""
    parts = ["", "Call:", *_lm_call(fit), "", _lm_residuals(fit), "", _lm_coefficients(fit), ""]
    return "\n".join(parts + _lm_fit_lines(fit))


def lm_summary_html(fit: LmFit) -> str:
    """The summary of an lm fit as HTML tables, with the same cells as :func:`lm_summary`."""
    res_title, res_cells = _lm_residual_cells(fit)
    coef_title, header, cells, stars = _lm_coefficient_cells(fit)
    parts = [
        html_heading("Call:"),
        html_lines([" ".join(line.strip() for line in _lm_call(fit))]),
        html_heading(res_title),
        vector_html(res_cells),
        html_heading(coef_title),
        html_table(cells, header, fit.names),
        *([legend_html()] if stars else []),
        html_lines([line.strip().replace("\t", " ") for line in _lm_fit_lines(fit)]),
    ]
    return html_block(parts)
