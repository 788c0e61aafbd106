"""A formula with a missing operator is refused where it is missing; a duplicated column name is
named when the model uses it and ignored when it does not (safe mode on or off)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.terms import parse_formula

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def orthodont():
    return pd.read_csv(DATA_DIR / "orthodont.csv")


@pytest.fixture(params=[False, True], ids=["plain", "safe"])
def mode(request):
    previous, mm.options.safe_formulas = mm.options.safe_formulas, request.param
    yield request.param
    mm.options.safe_formulas = previous


# ------------------------------------------------------------------ a missing '+'
MISSING = [
    ("distance ~ age + Sex (1 | Subject)", "'Sex' and '(1 | Subject)'", "(1 | Subject)"),
    ("distance ~ age (1 | Subject)", "'age' and '(1 | Subject)'", "(1 | Subject)"),
    ("distance ~ log(age) (1 | Subject)", "'log(age)' and '(1 | Subject)'", "(1 | Subject)"),
    ("distance ~ (1 | Subject) (0 + age | Subject)", "'(1 | Subject)' and '(0 + age | Subject)'", "(0 +"),
    ("distance ~ (1 | Subject) age", "'(1 | Subject)' and 'age'", "age"),
    ("distance ~ age + (1 | Subject) Sex + (0 + age | Subject)", "'(1 | Subject)' and 'Sex'", "Sex"),
]


@pytest.mark.parametrize(("formula", "between", "at"), MISSING, ids=[m[0] for m in MISSING])
@pytest.mark.parametrize("function", ["lmer", "glmer"])
def test_a_missing_operator_next_to_a_random_term_is_refused(orthodont, mode, function, formula, between, at):
    fit = getattr(mm, function)
    data = orthodont.assign(big=(orthodont["distance"] > 24).astype(int))
    if function == "glmer":
        formula = formula.replace("distance ~", "big ~", 1)
    with pytest.raises(mm.FormulaError, match="expected an operator") as info:
        fit(formula, data) if function == "lmer" else fit(formula, data, family="binomial")
    assert between in str(info.value)
    assert info.value.position == formula.index(at)


@pytest.mark.parametrize("function", ["lm", "glm"])
def test_lm_and_glm_point_at_the_missing_operator_too(orthodont, function):
    """lm and glm read the same parser: the operator is named before "has random-effects terms"."""
    data = orthodont.assign(big=(orthodont["distance"] > 24).astype(int))
    response = "distance" if function == "lm" else "big"
    formula = f"{response} ~ age + Sex (1 | Subject)"
    with pytest.raises(mm.FormulaError, match="expected an operator between 'Sex' and '\\(1 \\| Subject\\)'"):
        getattr(mm, function)(formula, data)
    with pytest.raises(mm.FormulaError, match="Missing operator"):  # without a bar: formulaic's own check
        getattr(mm, function)(f"{response} ~ age Sex", data)


@pytest.mark.parametrize(
    ("formula", "operator"),
    [("y ~ x - (1 | g)", "'-'"), ("y ~ x * (1 | g)", "'*'"), ("y ~ (1 | g):x", "':'")],
)
def test_a_random_term_joined_by_another_operator_is_refused(formula, operator):
    with pytest.raises(mm.FormulaError, match=f"added with '\\+', not {operator}"):
        parse_formula(formula)


ACCEPTED = [
    ("y ~ x + (1 | g)", "x", ["1|g"]),
    ("y ~ (1 | g) + x", "x", ["1|g"]),
    ("y ~ (1 | g)", "1", ["1|g"]),
    ("y ~ 0 + x + (1 | g) - 1", "0 + x - 1", ["1|g"]),
    ("y ~ log(x) + I(x^2) + C(p, contr.sum) + poly(x, 2) + factor(h) + (x || g)", None, ["x|g"]),
    ("y ~ x + offset(log(n)) + (1 | a/b)", "x", ["1|a", "1|b:a"]),
    ("y ~ x + (1 | a:b) + (0 + x | g)", "x", ["1|a:b", "0 + x|g"]),
    ("y~x+(1|g)+(1|h)", "x", ["1|g", "1|h"]),
]


@pytest.mark.parametrize(("formula", "fixed", "random"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_legitimate_formulas_still_parse(formula, fixed, random):
    parsed = parse_formula(formula)
    if fixed is not None:
        assert parsed.fixed == fixed
    assert [f"{t.expr}|{t.group}" for t in parsed.random] == random


def test_cbind_and_calls_still_fit(mode):
    data = mm.datasets.load("cbpp")
    fit = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, family="binomial")
    assert np.isfinite(fit.fixef).all()


# ------------------------------------------------------------------ duplicated column names
@pytest.fixture(scope="module")
def doubled():
    """sleepstudy with two columns named 'z' (unused by the model) and one copy of 'Days' as 'D'."""
    data = mm.datasets.load("sleepstudy")
    return pd.concat([data, pd.DataFrame({"z": 1.0, "z2": 2.0}, index=data.index)], axis=1).rename(
        columns={"z2": "z"}
    )


def test_an_unused_duplicated_column_is_ignored(doubled, mode):
    assert list(doubled.columns).count("z") == 2
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", doubled)
    plain = mm.lmer("Reaction ~ Days + (Days | Subject)", doubled.loc[:, ~doubled.columns.duplicated()])
    pd.testing.assert_series_equal(fit.fixef, plain.fixef)


@pytest.mark.parametrize(
    ("function", "formula", "kwargs"),
    [
        ("lmer", "Reaction ~ Days + z + (1 | Subject)", {}),
        ("lmer", "Reaction ~ Days + (z | Subject)", {}),
        ("lmer", "Reaction ~ Days + offset(z) + (1 | Subject)", {}),
        ("lmer", "Reaction ~ Days + (1 | Subject)", {"weights": "z"}),
        ("lmer", "Reaction ~ Days + (1 | Subject)", {"offset": "z"}),
        ("lm", "Reaction ~ Days + log(z)", {}),
        ("glm", "z ~ Days", {"family": "poisson"}),
        ("glmer", "cbind(z, Days) ~ 1 + (1 | Subject)", {"family": "binomial"}),
    ],
)
def test_a_used_duplicated_column_is_named(doubled, mode, function, formula, kwargs):
    with pytest.raises(mm.DataError, match="the data has 2 columns named 'z', which the model uses"):
        getattr(mm, function)(formula, doubled, **kwargs)


def test_a_duplicated_grouping_factor_is_named(mode):
    data = mm.datasets.load("sleepstudy")
    data = pd.concat([data, data[["Subject"]]], axis=1)
    with pytest.raises(mm.DataError, match="2 columns named 'Subject'"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", data)
