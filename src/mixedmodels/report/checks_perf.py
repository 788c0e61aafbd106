"""The text and HTML of the model checks of :mod:`mixedmodels.checks` that performance computes:
R^2, the ICC, the overdispersion test and the singularity check."""

from __future__ import annotations

import math

from .rformat import html_block, html_lines

__all__ = [
    "icc_html",
    "icc_text",
    "linear_r2_html",
    "linear_r2_text",
    "overdispersion_html",
    "overdispersion_text",
    "r2_html",
    "r2_text",
    "singularity_html",
    "singularity_text",
]


def _html(lines: list[str]) -> str:
    """The HTML of a check's printed lines (every check's ``_repr_html_``)."""
    return html_block([html_lines(lines)])


def _number(x: float) -> str:
    return "NA" if math.isnan(x) else f"{x:.3f}"


def _variance_lines(v) -> list[str]:
    """The variance components and the approximation (:class:`~mixedmodels.checks.r2.VarianceComponents`)."""
    lines = [
        f"  fixed effects      {v.fixed:.6g}",
        f"  random effects     {'NA' if math.isnan(v.random) else f'{v.random:.6g}'}",
        f"  distribution       {v.distribution:.6g}",
        f"  dispersion (obs.)  {v.dispersion:.6g}",
        f"distribution variance: {v.approximation}",
    ]
    return ["Variance components:", *lines, *[f"Note: {n}" for n in v.notes]]


def _pair_lines(title: str, names: tuple[str, str], values: tuple[float, float], variances) -> list[str]:
    """A title, two aligned values and the variance components (R2's and the ICC's layout)."""
    width = max(len(n) for n in names)
    rows = [f"  {n:>{width}}: {_number(v)}" for n, v in zip(names, values)]
    return [title, "", *rows, "", *_variance_lines(variances)]


def _r2_lines(result) -> list[str]:
    return _pair_lines(
        "# R2 for Mixed Models (Nakagawa; performance 0.10.2)",
        ("Conditional R2", "Marginal R2"),
        (result.conditional, result.marginal),
        result.variances,
    )


def r2_text(result) -> str:
    """A :class:`~mixedmodels.checks.r2.NakagawaR2` as text (performance's print, and the parts)."""
    return "\n".join(_r2_lines(result))


def r2_html(result) -> str:
    return _html(_r2_lines(result))


def linear_r2_text(result) -> str:
    """A :class:`~mixedmodels.checks.r2.LinearR2` as text."""
    return f"# R2 for Linear Regression\n       R2: {result.r2:.3f}\n  adj. R2: {result.adjusted:.3f}"


def _icc_lines(result) -> list[str]:
    return _pair_lines(
        "# Intraclass Correlation Coefficient (performance 0.10.2)",
        ("Adjusted ICC", "Unadjusted ICC"),
        (result.adjusted, result.unadjusted),
        result.variances,
    )


def icc_text(result) -> str:
    """An :class:`~mixedmodels.checks.icc.Icc` as text."""
    return "\n".join(_icc_lines(result))


def icc_html(result) -> str:
    return _html(_icc_lines(result))


def _overdispersion_lines(result) -> list[str]:
    p = "< 0.001" if result.p < 0.001 else f"= {result.p:.3f}"
    verdict = "Overdispersion detected." if result.overdispersed else "No overdispersion detected."
    return [
        "# Overdispersion test",
        "",
        f"       dispersion ratio = {result.ratio:8.3f}",
        f"  Pearson's Chi-Squared = {result.chisq:8.3f}",
        f"            residual df = {result.rdf:8d}",
        f"                p-value {p}",
        "",
        verdict,
    ]


def overdispersion_text(result) -> str:
    """An :class:`~mixedmodels.checks.overdispersion.Overdispersion` as text (performance's print)."""
    return "\n".join(_overdispersion_lines(result))


def overdispersion_html(result) -> str:
    return _html(_overdispersion_lines(result))


def singularity_text(result) -> str:
    """A :class:`~mixedmodels.checks.performance.Singularity` as text."""
    if not result.singular:
        return f"Not singular (no random-effects column at the boundary, tolerance {result.tolerance:g})."
    where = ", ".join(f"{name} | {group}" for group, name in result.terms)
    return f"Singular fit: at the boundary (tolerance {result.tolerance:g}): {where}"


def singularity_html(result) -> str:
    return _html(singularity_text(result).splitlines())


def linear_r2_html(result) -> str:
    return _html(linear_r2_text(result).splitlines())
