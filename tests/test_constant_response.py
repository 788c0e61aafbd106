"""A binomial or Poisson response without variation (issue 26): glmer refuses it, as lme4
("Response is constant"), MixedModels.jl and our lmer do (it returned SD 1.0, the start, with
``converged=True``); glm fits it as R does (R says nothing) and warns that the estimates ran
off to infinity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 40
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "g": np.repeat(np.arange(8), 5),
            "zero": np.zeros(n, dtype=int),
            "one": np.ones(n, dtype=int),
            "size": np.full(n, 5),
            "k": rng.poisson(2.0, size=n),
            "w": np.r_[np.zeros(n - 1), 1.0],
        }
    )


CASES = [
    ("zero ~ x + (1 | g)", "poisson", r"'zero' is constant \(0 in all 40 rows\)"),
    ("zero ~ x + (1 | g)", "binomial", r"'zero' is constant \(no successes in any of the 40 rows\)"),
    ("one ~ x + (1 | g)", "binomial", r"'one' is constant \(no failures in any of the 40 rows\)"),
    ("cbind(zero, size) ~ x + (1 | g)", "binomial", "no successes in any trial of the 40 rows"),
    ("cbind(size, zero) ~ x + (1 | g)", "binomial", "no failures in any trial of the 40 rows"),
]


@pytest.mark.parametrize(("formula", "family", "message"), CASES)
def test_glmer_refuses_a_constant_response(data, formula, family, message):
    with pytest.raises(DataError, match=message):
        mm.glmer(formula, data, family=family)


@pytest.mark.parametrize(("formula", "family", "message"), CASES)
def test_glm_warns_of_a_constant_response(data, formula, family, message):
    with pytest.warns(RuntimeWarning, match=message + ".*standard errors are meaningless"):
        fit = mm.glm(formula.replace(" + (1 | g)", ""), data, family=family)
    assert abs(fit.coef.iloc[0]) > 20  # where R stops too (-26.3 for the Poisson, -26.6 binomial)


def test_varying_responses_are_fitted(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mm.glm("k ~ x", data, family="poisson")
    fit = mm.glmer("k ~ x + (1 | g)", data, family="poisson")
    assert np.isfinite(fit.fixef).all()
    mm.glm("cbind(one, size - one) ~ x", data, family="binomial")  # constant, not degenerate


@pytest.mark.parametrize(
    ("formula", "family", "message"),
    [
        (
            "cbind(one, size - one) ~ x + (1 | g)",
            "binomial",
            r"constant \(a proportion of 0.2 in all 40 rows\)",
        ),
        ("size ~ x + (1 | g)", "poisson", r"constant \(5 in all 40 rows\)"),
    ],
)
def test_glmer_refuses_any_constant_response(data, formula, family, message):
    """As lme4 does (its check looks at the distinct values of the response); it was a
    ZeroDivisionError in PIRLS (a deviance of exactly 0)."""
    with pytest.raises(DataError, match=message):
        mm.glmer(formula, data, family=family)


def test_refit_refuses_a_constant_response(data):
    fit = mm.glmer("k ~ x + (1 | g)", data, family="poisson")
    with pytest.raises(DataError, match=r"'newresponse' is constant \(0 in all 40 rows\)"):
        fit.refit(np.zeros(40))
