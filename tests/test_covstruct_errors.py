"""Covariance structures written wrongly, as a user meets them: each refusal names the fix.

glmmTMB 1.1.5 (what it does with the same formulas, checked in R): ``ar1(times | id)`` warns
"AR1 not meaningful with intercept" and fits; ``ar1(x + 0 | id)`` with a numeric ``x`` is an
error ("expects a single, factor variable"); ``cs(1 | g)`` fits with a non-positive-definite
Hessian and an NA logLik; ``arl(...)`` is "could not find function"; ``ar1(f + 0 || g)`` fails
inside glmmTMB. Here a structure with correlations around one column is refused, an intercept
beside the factor is warned about, and misspellings and ``||`` are refused by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.base.messages import MixedModelsWarning
from mixedmodels.formula.design import build_design
from mixedmodels.formula.frames import DataError
from mixedmodels.formula.terms import FormulaError, parse_formula

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def longitudinal() -> pd.DataFrame:
    """60 subjects at 6 visits (long_ar1.csv), ``times`` the visit as a factor, a numeric
    ``x``, a ``site`` above the subjects and a column named ``ar1``."""
    df = pd.read_csv(DATA / "long_ar1.csv")
    df["times"] = pd.Categorical(df["times"].astype(str))
    df["id"] = pd.Categorical(df["id"])
    df["x"] = np.random.default_rng(30).normal(size=len(df))
    df["site"] = pd.Categorical(np.where(df["id"].cat.codes % 2 == 0, "s1", "s2"))
    df["ar1"] = df["x"]
    return df


@pytest.fixture(scope="module")
def blocks() -> pd.DataFrame:
    """cs_generated.csv: a factor ``f`` within blocks ``g``."""
    df = pd.read_csv(DATA / "cs_generated.csv")
    return df.astype({"f": "category", "g": "category"})


def design(formula: str, data: pd.DataFrame):
    return build_design(parse_formula(formula), data)


def test_ar1_with_an_intercept_warns_naming_the_fix(longitudinal):
    with pytest.warns(MixedModelsWarning, match=r"write ar1\(times \+ 0 \| id\)"):
        d = design("y ~ time + ar1(times | id)", longitudinal)
    assert d.reterms[0].cnames[0] == "(Intercept)"  # fitted anyway, as glmmTMB does


def test_ar1_without_an_intercept_does_not_warn(longitudinal, recwarn):
    design("y ~ time + ar1(times + 0 | id)", longitudinal)
    assert not [w for w in recwarn if issubclass(w.category, MixedModelsWarning)]


@pytest.mark.parametrize("name", ["ar1", "toep", "cs", "homcs"])
def test_a_correlation_structure_of_one_numeric_column_is_refused(longitudinal, name):
    with pytest.raises(DataError, match=rf"{name}\(x \+ 0 \| id\) has one column \(x\).*\(x \+ 0 \| id\)"):
        design(f"y ~ time + {name}(x + 0 | id)", longitudinal)


def test_cs_of_an_intercept_is_refused(blocks):
    with pytest.raises(DataError, match=r"cs\(1 \| g\) has one column.*write \(1 \| g\)"):
        design("y ~ f + cs(1 | g)", blocks)


@pytest.mark.parametrize("name", ["diag", "homdiag", "us"])
def test_one_column_without_correlations_is_allowed(longitudinal, name):
    d = design(f"y ~ time + {name}(x + 0 | id)", longitudinal)
    assert d.reterms[0].cnames == ("x",)


def test_ou_is_refused_by_name():
    with pytest.raises(FormulaError, match=r"ou\(\.\.\.\) is not available; available: us"):
        parse_formula("y ~ time + ou(times + 0 | id)")


def test_double_bar_in_a_structure_is_refused_naming_the_fix():
    with pytest.raises(FormulaError, match=r"single '\|'.*write ar1\(f \+ 0 \| g\)"):
        parse_formula("y ~ f + ar1(f + 0 || g)")


def test_a_misspelled_structure_is_named_with_a_suggestion():
    with pytest.raises(FormulaError, match=r"unknown covariance structure 'arl'.*did you mean ar1\(\.\.\.\)"):
        parse_formula("y ~ time + arl(times + 0 | id)")


def test_an_unknown_name_far_from_any_structure_gets_no_suggestion():
    with pytest.raises(FormulaError, match="unknown covariance structure 'smooth'") as err:
        parse_formula("y ~ time + smooth(times + 0 | id)")
    assert "did you mean" not in str(err.value)


def test_a_missing_operator_is_still_a_missing_operator():
    with pytest.raises(FormulaError, match="expected an operator"):
        parse_formula("y ~ x (1 | g)")


def test_a_structure_name_is_a_column_in_the_fixed_part(longitudinal):
    parsed = parse_formula("y ~ ar1 + (1 | id)")
    assert parsed.random[0].structure == "us"
    d = design("y ~ ar1 + (1 | id)", longitudinal)
    assert d.fixef_names == ("(Intercept)", "ar1")


def test_a_structure_with_a_nested_grouping_factor(longitudinal):
    parsed = parse_formula("y ~ time + ar1(times + 0 | id:site)")
    assert [(t.structure, t.factors) for t in parsed.random] == [("ar1", ("id", "site"))]
    d = design("y ~ time + ar1(times + 0 | id:site)", longitudinal)
    assert d.reterms[0].group == "id:site" and len(d.reterms[0].cnames) == 6


@pytest.mark.parametrize("fit", [mm.lm, mm.glm])
def test_a_structure_in_a_model_without_random_effects_is_refused(longitudinal, fit):
    with pytest.raises(ValueError, match=r"has random-effects terms; use mm\.(lmer|glmer)"):
        fit("y ~ time + ar1(times + 0 | id)", longitudinal)
