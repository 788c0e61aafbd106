"""The summary of a glmer fit in lme4's layout (``print(summary(glmer(...)))``), kept apart
from the numbers (:mod:`mixedmodels.glmm_results`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .lmm_printing import (
    argument_lines,
    correlation_block,
    formula_lines,
    groups_line,
    random_effects_block,
    scaled_residuals_block,
)
from .rformat import (
    SIGNIF_LEGEND,
    coef_table_strings,
    format_pvalues,
    format_table,
    named_vector,
    r_format,
    signif_stars,
)

if TYPE_CHECKING:
    from .glmm_results import GlmerFit

__all__ = ["glmer_summary"]


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
    lines = [*method, f" Family: {fit.family.name}  ( {fit.link} )", *formula_lines(fit.formula), data_line]
    if fit.fixef_prior is not None:
        sd = ", ".join(f"{v:g}" for v in fit.fixef_prior)
        lines.append(f"Fixef prior: normal(sd = {sd}) (a penalized fit: blme's fixef.prior)")
    return lines + argument_lines(fit.design.labels)


def _criterion_block(fit: GlmerFit) -> str:
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    cells = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    cells["df.resid"] = str(fit.nobs - fit.npar)
    return named_vector(cells)


def _fixed_effects(fit: GlmerFit) -> str:
    names = list(fit.fixef_names)
    cells = coef_table_strings(fit.fixef.to_numpy(), fit.se.to_numpy(), fit.zvalues.to_numpy())
    p = fit.pvalues.to_numpy()
    pvals = format_pvalues(p, 3)
    rows = [[c[0], c[1], c[2], pv, signif_stars(pr).ljust(3)] for c, pv, pr in zip(cells, pvals, p)]
    header = ["Estimate", "Std. Error", "z value", "Pr(>|z|)", ""]
    return f"Fixed effects:\n{format_table(rows, header, names)}\n---\n{SIGNIF_LEGEND}"


def glmer_summary(fit: GlmerFit) -> str:
    """The summary of a glmer fit in lme4's layout."""
    parts = [
        *_heading(fit),
        "",
        _criterion_block(fit),
        "",
        scaled_residuals_block(fit),
        "",
        random_effects_block(fit),
        groups_line(fit),
        "",
        _fixed_effects(fit),
    ]
    corr = correlation_block(list(fit.fixef_names), np.asarray(fit.vcov.to_numpy()))
    if corr:
        parts.append(corr)
    parts += list(fit.messages)
    return "\n".join(parts)
