"""The summary of a glmer fit in lme4's layout (``print(summary(glmer(...)))``), and as HTML
for notebooks (the same cells, as an lmer fit's), kept apart from the numbers
(:mod:`mixedmodels.glmm_results`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from .printing import (
    _HEADING,
    SIGNIF_LEGEND,
    _correlation_html,
    _groups_line,
    _legend_html,
    _random_effects,
    _random_effects_cells,
    _residual_cells,
    _scaled_residuals,
    _vector_html,
    argument_lines,
    coef_table_strings,
    correlation_block,
    format_pvalues,
    format_table,
    html_block,
    html_heading,
    html_lines,
    html_table,
    named_vector,
    r_format,
    signif_stars,
)

if TYPE_CHECKING:
    from .glmm_results import GlmerFit

__all__ = ["glmer_summary", "glmer_summary_html"]


def _heading(fit: GlmerFit) -> list[str]:
    if fit.nagq == 1:
        method = [
            "Generalized linear mixed model fit by maximum likelihood (Laplace",
            "  Approximation) [glmerMod]",
        ]
    else:
        method = [
            "Generalized linear mixed model fit by maximum likelihood (Adaptive",
            f"  Gauss-Hermite Quadrature, nAGQ = {fit.nagq}) [glmerMod]",
        ]
    data_line = "   Data: data"
    if fit.design.dropped_rows:
        data_line += f" ({fit.design.dropped_rows} rows with missing values dropped)"
    lines = [*method, f" Family: {fit.family.name}  ( {fit.link} )", f"Formula: {fit.formula}", data_line]
    if fit.fixef_prior is not None:
        sd = ", ".join(f"{v:g}" for v in fit.fixef_prior)
        lines.append(f"Fixef prior: normal(sd = {sd}) (a penalized fit: blme's fixef.prior)")
    return lines + argument_lines(fit.design.labels)


def _criterion_cells(fit: GlmerFit) -> dict[str, str]:
    """AIC, BIC, logLik, deviance and df.resid, as the summary shows them."""
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    cells = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    cells["df.resid"] = str(fit.nobs - fit.npar)
    return cells


def _criterion_block(fit: GlmerFit) -> str:
    return named_vector(_criterion_cells(fit))


def _fixed_effects_cells(fit: GlmerFit) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, row names and cells of the fixed-effects table (Wald z tests)."""
    cells = coef_table_strings(fit.fixef.to_numpy(), fit.se.to_numpy(), fit.zvalues.to_numpy())
    p = fit.pvalues.to_numpy()
    pvals = format_pvalues(p, 3)
    rows = [[c[0], c[1], c[2], pv, signif_stars(pr).ljust(3)] for c, pv, pr in zip(cells, pvals, p)]
    header = ["Estimate", "Std. Error", "z value", "Pr(>|z|)", ""]
    return header, list(fit.fixef_names), rows


def _fixed_effects(fit: GlmerFit) -> str:
    header, names, rows = _fixed_effects_cells(fit)
    return f"Fixed effects:\n{format_table(rows, header, names)}\n---\n{SIGNIF_LEGEND}"


def glmer_summary(fit: GlmerFit) -> str:
    """The summary of a glmer fit in lme4's layout."""
    parts = [
        *_heading(fit),
        "",
        _criterion_block(fit),
        "",
        _scaled_residuals(fit),  # type: ignore[arg-type]  # the same fields as an LmerFit's
        "",
        _random_effects(fit),  # type: ignore[arg-type]
        _groups_line(fit),  # type: ignore[arg-type]
        "",
        _fixed_effects(fit),
    ]
    corr = correlation_block(list(fit.fixef_names), np.asarray(fit.vcov.to_numpy()))
    if corr:
        parts.append(corr)
    parts += list(fit.messages)
    return "\n".join(parts)


def glmer_summary_html(fit: GlmerFit) -> str:
    """The summary of a glmer fit as HTML tables, with the cells of :func:`glmer_summary` (laid
    out as :func:`mixedmodels.printing.lmer_summary_html` lays out an lmer fit's)."""
    heading = [line.strip() for line in _heading(fit)]
    res_title, res_cells = _residual_cells(fit)  # type: ignore[arg-type]  # an LmerFit's fields
    re_header, re_rows = _random_effects_cells(fit)  # type: ignore[arg-type]
    fe_header, fe_names, fe_rows = _fixed_effects_cells(fit)
    parts = [
        f'<p style="{_HEADING}">{html.escape(heading[0])} {html.escape(heading[1])}</p>',
        html_lines(heading[2:]),
        _vector_html(_criterion_cells(fit)),
        html_heading(res_title),
        _vector_html(res_cells),
        html_heading("Random effects:"),
        html_table(re_rows, re_header),
        html_lines([_groups_line(fit)]),  # type: ignore[arg-type]
        html_heading("Fixed effects:"),
        html_table(fe_rows, fe_header, fe_names),
        _legend_html(),
    ]
    parts += _correlation_html(list(fit.fixef_names), np.asarray(fit.vcov.to_numpy()))
    if fit.messages:
        parts.append(html_lines(list(fit.messages), note=True))
    return html_block(parts)
