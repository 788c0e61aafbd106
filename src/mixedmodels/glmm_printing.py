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
    coefficient_cells,
    format_table,
    named_vector,
    r_format,
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
    """lme4's fixed-effects table (``printCoefmat``: stars and legend when a p-value is below 0.1)."""
    names = list(fit.fixef_names)
    estimate, se, z = (s.to_numpy() for s in (fit.fixef, fit.se, fit.zvalues))
    rows, stars = coefficient_cells(estimate, se, z, fit.pvalues.to_numpy())
    header = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"] + ([""] if stars else [])
    text = f"Fixed effects:\n{format_table(rows, header, names)}"
    return f"{text}\n---\n{SIGNIF_LEGEND}" if stars else text


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
