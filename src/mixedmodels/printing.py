"""The former home of the printed text, kept so that ``from mixedmodels.printing import ...``
still works: R's formatting now lives in :mod:`~mixedmodels.rformat`, the text of each kind of
result in its own module (:mod:`~mixedmodels.lmm_printing`, :mod:`~mixedmodels.lm_printing`,
:mod:`~mixedmodels.glm_printing`, :mod:`~mixedmodels.glmm_printing`,
:mod:`~mixedmodels.anova_printing`, :mod:`~mixedmodels.diagnostics_printing`). The package's
own modules import from those.
"""

from __future__ import annotations

from .anova_printing import anova_html, anova_text, ranova_html, ranova_text
from .diagnostics_printing import allfit_text, convergence_text, profile_html
from .lm_printing import lm_summary, lm_summary_html
from .lmm_printing import argument_lines, lmer_summary, lmer_summary_html
from .rformat import (
    coef_table_strings,
    format_pvalues,
    format_table,
    html_block,
    html_frame,
    html_heading,
    html_lines,
    html_table,
    named_vector,
    r_abbreviate,
    r_format,
    signif_stars,
)

__all__ = [
    "allfit_text",
    "anova_html",
    "anova_text",
    "ranova_html",
    "ranova_text",
    "argument_lines",
    "coef_table_strings",
    "convergence_text",
    "format_pvalues",
    "format_table",
    "html_block",
    "html_frame",
    "html_heading",
    "html_lines",
    "html_table",
    "lm_summary",
    "lm_summary_html",
    "lmer_summary",
    "lmer_summary_html",
    "named_vector",
    "profile_html",
    "r_abbreviate",
    "r_format",
    "signif_stars",
]
