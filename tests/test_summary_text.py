"""Summaries against R's printout (tests/reference/summaries/, made by make_summary_reference.R).

The Call: line of the lm and glm summaries and lme4's Formula: line: ``deparse`` breaks a call
past 60 characters, inside the formula too; the arguments follow the function's formals (lm:
weights, contrasts, offset; glm: weights, offset, contrasts); a weights or offset column is
named; the formula's spacing is R's. The coefficient tables as ``printCoefmat`` prints them:
stars left-justified, and neither stars nor legend when no p-value is below 0.1; the weighted
residuals of ``summary.lm``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.report.deparse import deparse, model_call, parse_r
from mixedmodels.report.rformat import SIGNIF_LEGEND

REFERENCE = json.loads((Path(__file__).parent / "reference" / "summaries" / "summaries.json").read_text())
LONG = "Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) + exp(Days/10)"
SUM = {"Subject": "sum"}
# each case of the reference as this package's call: function, formula, keyword arguments
CASES = {
    "lm_long": (mm.lm, LONG, {}),
    "lm_longer": (mm.lm, LONG + " + I(Days^4) + I(Days^5) + I(Days^6)", {}),
    "lm_offset_term": (mm.lm, "Reaction ~ Days + offset(o)", {}),
    "lm_offset_argument": (mm.lm, "Reaction ~ Days", {"offset": "o"}),
    "lm_weights": (mm.lm, "Reaction ~ Days", {"weights": "w"}),
    "lm_weights_offset": (mm.lm, "Reaction ~ Days", {"weights": "w", "offset": "o"}),
    "lm_contrasts_weights_offset": (
        mm.lm, "Reaction ~ Days + Subject", {"contrasts": SUM, "weights": "w", "offset": "o"}
    ),
    "lm_spacing": (mm.lm, "Reaction~Days*o", {}),
    "glm_weights_offset_contrasts": (
        mm.glm, "incidence ~ period + herd",
        {"family": "poisson", "weights": "size", "offset": "prop", "contrasts": {"herd": "sum"}},
    ),
    "glm_spacing": (mm.glm, "cbind(incidence,size-incidence)~period", {"family": "binomial"}),
    "lmer_long": (mm.lmer, LONG + " + (Days | Subject)", {}),
    "lmer_spacing": (mm.lmer, "Reaction~Days*o + (1|Subject)", {"weights": "w", "offset": "o"}),
    "glmer_long": (
        mm.glmer,
        "cbind(incidence, size - incidence) ~ period + log(size) + sqrt(size) + I(size/10) + (1 | herd)",
        {"family": "binomial"},
    ),
    "lm_weighted_stars": (mm.lm, "Reaction ~ Days + Subject", {"contrasts": SUM, "weights": "w"}),
    "lm_no_stars": (mm.lm, "z ~ w", {}),
    "lm_constant_weights": (mm.lm, "Reaction ~ Days", {"weights": "w2"}),
    "lm_zero_weights": (mm.lm, "Reaction ~ Days", {"weights": "w0"}),
    "glmer_no_stars": (mm.glmer, "b ~ w + (1 | Subject)", {"family": "binomial"}),
    "lmer_stars": (mm.lmer, "angle ~ recipe + temp + (1 | replicate)", {}),
    "lmer_no_stars": (mm.lmer, "z100 ~ Days + w + (1 | Subject)", {}),
}  # fmt: skip
# R's whole summary.lm printout is ours for these (the others differ outside what they test:
# R-squared and F with an offset, and a coefficient named exp(Days / 10) rather than R's exp(Days/10))
WHOLE = [
    "lm_weights",
    "lm_spacing",
    "lm_weighted_stars",
    "lm_no_stars",
    "lm_constant_weights",
    "lm_zero_weights",
]


def _data(name: str):
    data = datasets.load(name)
    if name == "sleepstudy":  # the columns the R script adds
        data["o"] = np.log(data["Days"] + 1)
        data["w"] = data["Days"] % 3 + 1
        data["w2"] = 2.0
        data["w0"] = (data["Days"] > 0) * data["w"]
        data["z"] = np.sin(np.arange(1, len(data) + 1))
        data["z100"] = 100 * data["z"]
        data["b"] = (data["z"] > 0).astype(int)
    return data


def _fit(case: str):
    function, formula, kwargs = CASES[case]
    return function(formula, _data(REFERENCE[case]["data"]), **kwargs)


def _heading(lines: list[str]) -> list[str]:
    """A mixed model's summary up to its first blank line (the method, formula, data, weights)."""
    return lines[: lines.index("")]


def test_every_reference_case_is_run():
    assert set(CASES) == set(REFERENCE)


def _call_block(lines: list[str]) -> list[str]:
    """The lines after "Call:" up to the next blank line."""
    start = lines.index("Call:") + 1
    return lines[start : lines.index("", start)]


@pytest.mark.parametrize("case", [c for c in REFERENCE if c.startswith(("lm_", "glm_"))])
def test_lm_and_glm_call_lines_are_rs(case):
    got = _call_block(_fit(case).summary().split("\n"))
    assert got == _call_block(REFERENCE[case]["printed"])


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")  # lmer_long's terms are near collinear
@pytest.mark.parametrize("case", ["lmer_long", "lmer_spacing", "glmer_long"])
def test_mixed_model_formula_lines_are_lme4s(case):
    got = _heading(str(_fit(case)).split("\n"))
    assert got == _heading(REFERENCE[case]["printed"])


def _without_blank_ends(lines: list[str]) -> list[str]:
    while lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


@pytest.mark.parametrize("case", WHOLE)
def test_lm_summaries_are_rs(case):
    got = _without_blank_ends(_fit(case).summary().split("\n"))
    assert got == _without_blank_ends(REFERENCE[case]["printed"])


def _fixed_effects(lines: list[str]) -> list[str]:
    """The fixed-effects block: its title to the next blank line (the legend included)."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Fixed effects"))
    return lines[start : lines.index("", start)]


def _from_statistic(row: str, leading: int) -> str:
    """A table row from its statistic on (its first ``leading`` fields, up to the standard error
    or the df, left out), spaces kept."""
    return row[re.match(rf"\s*(?:\S+\s+){{{leading - 1}}}\S+", row).end() :]


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")  # singular fits
@pytest.mark.parametrize(
    ("case", "leading"), [("lmer_stars", 4), ("lmer_no_stars", 4), ("glmer_no_stars", 3)]
)
def test_mixed_model_stars_are_printcoefmats(case, leading):
    """Stars and legend as lmerTest's and lme4's tables show them (their numbers are tested
    elsewhere; lmerTest's df has more decimals than ours): the columns from the statistic on,
    and whether a legend follows."""
    got = _fixed_effects(str(_fit(case)).split("\n"))
    want = _fixed_effects(REFERENCE[case]["printed"])
    assert (SIGNIF_LEGEND in got) == (SIGNIF_LEGEND in want)
    nrows = len(want) - 2 - (2 if SIGNIF_LEGEND in want else 0)
    assert nrows > 0 and len(got) == len(want)
    for g, w in zip(got[2 : 2 + nrows], want[2 : 2 + nrows]):
        assert _from_statistic(g, leading) == _from_statistic(w, leading)


def test_html_call_is_on_one_line():
    html = _fit("lm_longer")._repr_html_()
    assert "log(Days + 1) + sqrt(Days)" in html and "I(Days^6), data = data)" in html


@pytest.mark.parametrize(
    ("text", "r"),
    [
        ("y~a*b", "y ~ a * b"),
        ("y ~ x**2 + a/b + a:b + a%in%b + a%%b", "y ~ x^2 + a/b + a:b + a %in% b + a%%b"),
        ("y~-1+x", "y ~ -1 + x"),
        ("f(x,k=2)", "f(x, k = 2)"),
        ("x + 1e3 + 100000 + .5 + 2L + 1.50", "x + 1000 + 1e+05 + 0.5 + 2L + 1.5"),
        ("f('s')", 'f("s")'),
        ("-2^2", "-2^2"),
        ("(-1):2", "(-1):2"),
        ("y ~ (a+b)^2 + I(x>2) + (1|g) + (x||h)", "y ~ (a + b)^2 + I(x > 2) + (1 | g) + (x || h)"),
        ("`a b` + c", "`a b` + c"),
        ("x[[1]] + y[2] + z$w", "x[[1]] + y[2] + z$w"),
    ],
)
def test_deparse_normalizes_as_r(text, r):
    """Each ``r`` is what R 4.2's ``deparse(parse(text = text)[[1]])`` gives."""
    assert deparse(parse_r(text)) == [r]


def test_deparse_breaks_at_operators_past_60_characters():
    text = "y~a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+yy+zz+aaaaa+bbbbb"
    assert deparse(parse_r(text)) == [  # R 4.2
        "y ~ a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + ",
        "    p + q + r + s + t + u + v + w + x + yy + zz + aaaaa + bbbbb",
    ]


def test_text_that_does_not_parse_is_kept():
    assert deparse(parse_r("y ~ x[,1] + {")) == ["y ~ x[,1] + {"]
    assert model_call("lm", "y ~ x", contrasts={"g": np.eye(2)}) == [
        "lm(formula = y ~ x, data = data, contrasts = list(g = <matrix>))"
    ]


def test_an_array_of_weights_is_named_by_its_argument():
    assert model_call("glm", "y ~ x", ("given", "given"), family="poisson") == [
        "glm(formula = y ~ x, family = poisson, data = data, weights = weights, ",
        "    offset = offset)",
    ]


def test_model_lines_of_anova_tables_are_deparsed_as_r():
    """The formulas of anova's and ranova's model lines as R deparses them, whatever spacing the
    user typed. R 4.2.2, lme4 1.1-31, lmerTest 3.1-3:
    ``anova(m0, m1)`` of ``lmer(Reaction~1+(Days|Subject), sleepstudy, REML=FALSE)`` and
    ``Reaction~Days+(Days|Subject)`` prints ``m0: Reaction ~ 1 + (Days | Subject)``;
    ``ranova(lmer(Reaction~Days+(Days|Subject), sleepstudy))`` prints ``Reaction ~ Days +
    (Days | Subject)`` under "Model:"; ``anova(lm(Reaction~1, d), lm(Reaction~Days, d))`` prints
    ``Model 2: Reaction ~ Days``."""
    sleep = datasets.load("sleepstudy")
    m0 = mm.lmer("Reaction~1+(Days|Subject)", sleep, reml=False)
    m1 = mm.lmer("Reaction~Days+(Days|Subject)", sleep, reml=False)
    lines = str(mm.anova(m0, m1, names=["m0", "m1"])).splitlines()
    assert lines[1:4] == [
        "Models:",
        "m0: Reaction ~ 1 + (Days | Subject)",
        "m1: Reaction ~ Days + (Days | Subject)",
    ]
    ranova = str(mm.ranova(mm.lmer("Reaction~Days+(Days|Subject)", sleep))).splitlines()
    assert ranova[2:4] == ["Model:", "Reaction ~ Days + (Days | Subject)"]
    table = str(mm.anova(mm.lm("Reaction~1", sleep), mm.lm("Reaction~Days", sleep))).splitlines()
    assert table[2:4] == ["Model 1: Reaction ~ 1", "Model 2: Reaction ~ Days"]
