"""The summary of a glmer fit in lme4's layout (``print(summary(glmer(...)))``), kept apart
from the numbers (:mod:`mixedmodels.glmm.fit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .deparse import deparse, parse_r
from .lmm import (
    argument_lines,
    correlation_block,
    correlation_html,
    formula_lines,
    groups_line,
    random_effects_block,
    random_effects_cells,
    residual_cells,
    scaled_residuals_block,
)
from .rformat import (
    SIGNIF_LEGEND,
    cat_fill,
    coefficient_cells,
    format_table,
    html_block,
    html_heading,
    html_lines,
    html_table,
    html_title,
    legend_html,
    named_vector,
    r_format,
    vector_html,
)

if TYPE_CHECKING:
    from ..glmm.fit import GlmerFit
    from ..glmm.parts import ModelPart

__all__ = ["glmer_summary", "glmer_summary_html", "glmmtmb_summary", "glmmtmb_summary_html"]


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


def _criterion_cells(fit: GlmerFit) -> dict[str, str]:
    """AIC, BIC, logLik, deviance and df.resid, as the summary shows them."""
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    cells = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    cells["df.resid"] = str(fit.nobs - fit.npar)
    return cells


def _criterion_block(fit: GlmerFit) -> str:
    return named_vector(_criterion_cells(fit))


def _fixed_effects_cells(fit: GlmerFit) -> tuple[list[str], list[list[str]], bool]:
    """Header and cells of the fixed-effects table (Wald z tests), and whether it has stars."""
    estimate, se, z = (s.to_numpy() for s in (fit.fixef, fit.se, fit.zvalues))
    rows, stars = coefficient_cells(estimate, se, z, fit.pvalues.to_numpy())
    header = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"] + ([""] if stars else [])
    return header, rows, stars


def _fixed_effects(fit: GlmerFit) -> str:
    """lme4's fixed-effects table (``printCoefmat``: stars and legend when a p-value is below 0.1)."""
    header, rows, stars = _fixed_effects_cells(fit)
    text = f"Fixed effects:\n{format_table(rows, header, list(fit.fixef_names))}"
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


def glmer_summary_html(fit: GlmerFit) -> str:
    """The summary of a glmer fit as HTML tables, with the cells of :func:`glmer_summary` (laid
    out as :func:`~mixedmodels.report.lmm.lmer_summary_html` lays out an lmer fit's)."""
    heading = [line.strip() for line in _heading(fit)]
    res_title, res_cells = residual_cells(fit)
    re_header, re_rows = random_effects_cells(fit)
    fe_header, fe_rows, stars = _fixed_effects_cells(fit)
    parts = [
        html_title(f"{heading[0]} {heading[1]}"),
        html_lines(heading[2:]),
        vector_html(_criterion_cells(fit)),
        html_heading(res_title),
        vector_html(res_cells),
        html_heading("Random effects:"),
        html_table(re_rows, re_header),
        html_lines([groups_line(fit)]),
        html_heading("Fixed effects:"),
        html_table(fe_rows, fe_header, list(fit.fixef_names)),
    ]
    if stars:
        parts.append(legend_html())
    parts += correlation_html(list(fit.fixef_names), np.asarray(fit.vcov.to_numpy()))
    if fit.messages:
        parts.append(html_lines(list(fit.messages), note=True))
    return html_block(parts)


# ------------------------------------------------------------------ glmmTMB's layout
def _auxiliary_formula_lines(fit: GlmerFit) -> list[str]:
    """glmmTMB's "Zero inflation:" and "Dispersion:" lines (a model other than the default ``~0``,
    ``~1``): its one-sided formula after 17 columns and two more spaces than the response's name
    has characters."""
    aux = fit.model.aux
    if aux is None:
        return []
    response = parse_r(fit.formula).parts[0]
    pad = " " * (len("".join(deparse(response))) + 2)
    lines = []
    for label, part in (("Zero inflation:  ", aux.zi), ("Dispersion:      ", aux.disp)):
        if part is not None:
            lines += cat_fill([f"{label}{pad}{''.join(deparse(parse_r(part.formula)))}"])
    return lines


def _glmmtmb_heading(fit: GlmerFit) -> list[str]:
    """glmmTMB's " Family:", "Formula:" (the formula after 10 columns), "Zero inflation:",
    "Dispersion:" and "Data:" lines, and the weights' and offset's."""
    formula = cat_fill(["Formula:         ", *deparse(parse_r(fit.formula))])
    return [
        f" Family: {fit.family.name}  ( {fit.link} )",
        *formula,
        *_auxiliary_formula_lines(fit),
        "Data: data",
        *argument_lines(fit.design.labels),
    ]


def _trivial_dispersion(fit: GlmerFit) -> bool:
    """Whether the family's parameter is one number (no dispersion model)."""
    return fit.model.aux is None or fit.model.aux.disp is None


def _dispersion_lines(fit: GlmerFit) -> list[str]:
    """glmmTMB's line for the family's dispersion (none for the binomial and the Poisson, nor with
    a dispersion model): its ``sigma()`` formatted as C's ``%4.3g`` (R's ``formatC(digits =
    3)``), squared for its classic dispersion families."""
    fam = fit.family
    if fam.parameter is None or not _trivial_dispersion(fit):
        return []
    if fam.sigma_squared_shown:
        what, value = f"Dispersion estimate for {fam.name} family (sigma^2)", fit.sigma**2
    else:
        what, value = f"Dispersion parameter for {fam.name} family ()", fit.sigma
    return ["", f"{what}: {value:4.3g} "]


@dataclass(frozen=True)
class _WithResidual:
    """A fit's random-effects rows with glmmTMB's "Residual" row after them (its ``sigma()``: NA
    with a dispersion model), for :func:`~mixedmodels.report.lmm.random_effects_cells`."""

    fit: GlmerFit

    @property
    def design(self):
        return self.fit.design

    @property
    def nobs(self) -> int:
        return self.fit.nobs

    @property
    def ngroups(self) -> dict[str, int]:
        return self.fit.ngroups

    @property
    def varcorr(self) -> pd.DataFrame:
        sigma = float(self.fit.sigma)
        row = {"group": "Residual", "var1": np.nan, "var2": np.nan, "vcov": sigma**2, "sdcor": sigma}
        return pd.concat([self.fit.varcorr, pd.DataFrame([row])], ignore_index=True)

    def scaled_residual_quantiles(self) -> tuple[np.ndarray, bool]:
        return self.fit.scaled_residual_quantiles()


def _glmmtmb_random_effects_cells(fit: GlmerFit) -> tuple[list[str], list[list[str]]]:
    """lme4's random-effects cells (with glmmTMB's "Residual" row for the Gaussian), with
    glmmTMB's one more (empty) correlation column: its correlations keep every column of the
    matrix, lme4's drop the last."""
    header, rows = random_effects_cells(_WithResidual(fit) if fit.family.residual_row_shown else fit)
    if "Corr" not in header:
        return header, rows
    return [*header, ""], [[*row, ""] for row in rows]


def _part_cells(part: ModelPart) -> tuple[list[str], list[list[str]], bool]:
    """Header and cells of an auxiliary model's table (Wald z tests), and whether it has stars."""
    table = part.coef_table()
    rows, stars = coefficient_cells(*(table[c].to_numpy() for c in table.columns))
    header = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"] + ([""] if stars else [])
    return header, rows, stars


def _model_parts(fit: GlmerFit) -> list[ModelPart]:
    """The auxiliary models glmmTMB's summary shows: the zero-inflation model, and the
    dispersion model where it is one (not the family's one parameter)."""
    parts = [] if fit.zi is None else [fit.zi]
    if fit.disp is not None and not _trivial_dispersion(fit):
        parts.append(fit.disp)
    return parts


def _coefficient_block(title: str, header: list[str], rows: list[list[str]], names, stars: bool) -> list[str]:
    """A titled coefficient table (with the significance legend where it has stars)."""
    table = format_table(rows, header, list(names))
    return ["", f"{title}:", f"{table}\n---\n{SIGNIF_LEGEND}" if stars else table]


def glmmtmb_summary(fit: GlmerFit) -> str:
    """The summary of a fit glmmTMB's way (the observed information, an estimated family
    parameter) in glmmTMB's layout (``print(summary(glmmTMB(...)))``): the criteria, the
    random effects, the fixed effects as the "Conditional model", then the "Zero-inflation
    model" and the "Dispersion model" where the fit has them."""
    header, rows, stars = _fixed_effects_cells(fit)
    re_header, re_rows = _glmmtmb_random_effects_cells(fit)
    parts = [
        *_glmmtmb_heading(fit),
        "",
        _criterion_block(fit),
        "",
        "Random effects:",
        "",
        "Conditional model:",
        format_table(re_rows, re_header, right=False),
        groups_line(fit),
        *_dispersion_lines(fit),
        *_coefficient_block("Conditional model", header, rows, fit.fixef_names, stars),
    ]
    for part in _model_parts(fit):
        part_header, part_rows, part_stars = _part_cells(part)
        parts += _coefficient_block(part.title, part_header, part_rows, part.names, part_stars)
    return "\n".join([*parts, *fit.messages])


def glmmtmb_summary_html(fit: GlmerFit) -> str:
    """The summary of a fit glmmTMB's way as HTML tables, with the cells of :func:`glmmtmb_summary`."""
    heading = [" ".join(line.split()) for line in _glmmtmb_heading(fit)]
    re_header, re_rows = _glmmtmb_random_effects_cells(fit)
    fe_header, fe_rows, stars = _fixed_effects_cells(fit)
    parts = [
        html_title(heading[0]),
        html_lines(heading[1:]),
        vector_html(_criterion_cells(fit)),
        html_heading("Random effects (conditional model):"),
        html_table(re_rows, re_header),
        html_lines([groups_line(fit), *(" ".join(line.split()) for line in _dispersion_lines(fit) if line)]),
        html_heading("Conditional model:"),
        html_table(fe_rows, fe_header, list(fit.fixef_names)),
    ]
    for part in _model_parts(fit):
        header, rows, part_stars = _part_cells(part)
        parts += [html_heading(f"{part.title}:"), html_table(rows, header, list(part.names))]
        stars = stars or part_stars
    if stars:
        parts.append(legend_html())
    if fit.messages:
        parts.append(html_lines(list(fit.messages), note=True))
    return html_block(parts)
