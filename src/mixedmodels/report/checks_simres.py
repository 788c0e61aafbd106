"""The text and HTML of simulated residuals (:class:`~mixedmodels.checks.simulated.SimulatedResiduals`)
and of the tests run on them (:class:`~mixedmodels.checks.dharma_tests.ResidualTest`)."""

from __future__ import annotations

import numpy as np

from .rformat import format_pvalues, format_table, html_block, html_lines, html_table, html_title, significant

__all__ = ["residual_test_text", "simulated_residuals_html", "simulated_residuals_text"]


def residual_test_text(test) -> str:
    """One test as R prints an ``htest``: its method, statistic and p-value, the alternative."""
    p = format_pvalues([test.p], digits=4)[0]
    p_text = f"p-value {p}" if p.startswith("<") else f"p-value = {p}"
    return "\n".join(
        [
            f"\t{test.method}",
            "",
            f"{test.statistic_name} = {significant(test.statistic, 5)}, {p_text}",
            f"alternative hypothesis: {test.alternative}",
        ]
    )


def _summary_rows(res) -> list[tuple[str, str, str, str]]:
    tests = [
        ("uniformity (KS)", res.test_uniformity()),
        ("dispersion", res.test_dispersion()),
        ("zero-inflation", res.test_zeroinflation()),
        ("outliers", res.test_outliers()),
    ]
    return [
        (name, t.statistic_name, significant(t.statistic, 4), format_pvalues([t.p], digits=3)[0])
        for name, t in tests
    ]


def _header(res) -> list[str]:
    kind = "conditional on the fitted random effects" if res.conditional else "unconditional"
    q = np.quantile(res.scaled_values, [0, 0.25, 0.5, 0.75, 1])
    return [
        f"Simulated (quantile) residuals: {res.nobs} observations, {res.n} simulations each ({kind})",
        "Scaled residuals (expected Uniform(0, 1)): "
        + " ".join(f"{label} {v:.3f}" for label, v in zip(("min", "Q1", "median", "Q3", "max"), q)),
    ]


def simulated_residuals_text(res) -> str:
    """The residuals' summary and DHARMa's four tests (statistic and p-value each)."""
    summary = _summary_rows(res)
    table = format_table([r[1:] for r in summary], ["statistic", "value", "p"], [r[0] for r in summary])
    return "\n".join([*_header(res), "", table])


def simulated_residuals_html(res) -> str:
    """:func:`simulated_residuals_text` as HTML."""
    header = _header(res)
    summary = _summary_rows(res)
    rows = [list(r[1:]) for r in summary]
    names = [r[0] for r in summary]
    return html_block(
        [html_title(header[0]), html_lines(header[1:]), html_table(rows, ["statistic", "value", "p"], names)]
    )
