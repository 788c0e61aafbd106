"""Random-effects terms that cannot be estimated are refused as lme4's defaults refuse them
(issue 26): ``check.nlev.gtr.1`` (a grouping factor with one level: lmer and glmer),
``check.nobs.vs.nlev`` (lmer: as many levels as observations) and ``check.nobs.vs.nRE`` (lmer:
as many random effects as observations; glmer, whose lme4 check allows as many, only more:
``(x + x2 | g)`` with 18 random effects for 12 observations used to fit with a "singular" note).
lme4's verdicts on data of the same shape are in tests/reference/issue26/issue26.json
("checks", made by make_issue26_reference.R): each refusal there is one here, each fit a fit."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError

CHECKS = json.loads((Path(__file__).parent / "reference" / "issue26" / "issue26.json").read_text())["checks"]
CASES = {
    "lmer_x_g": ("lmer", "y ~ 1 + (x | g)", None),
    "lmer_i": ("lmer", "y ~ 1 + (1 | i)", None),
    "lmer_one_level": ("lmer", "y ~ 1 + (1 | x) + (1 | g)", 1.0),
    "glmer_x_g": ("glmer", "k ~ 1 + (x | g)", None),
    "glmer_i": ("glmer", "k ~ 1 + (1 | i)", None),
    "glmer_x_x2_g": ("glmer", "k ~ 1 + (x + x2 | g)", None),
    "glmer_one_level": ("glmer", "k ~ 1 + (1 | x) + (1 | g)", 1.0),
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "y": rng.normal(size=12),
            "k": rng.poisson(3.0, size=12),
            "b": np.tile([0, 1, 1, 0], 3),
            "x": np.tile([1.0, 2.0, 3.0], 4),
            "x2": rng.normal(size=12),
            "g": np.repeat(np.arange(6), 2),
            "i": np.arange(12),
        }
    )


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ 1 + (x | g)", r"\(x \| g\) has 12 random effects for 12 observations"),
        ("y ~ 1 + (x + x2 | g)", r"\(x \+ x2 \| g\) has 18 random effects for 12 observations"),
        ("y ~ 1 + (1 | i)", "'i' has 12 levels for 12 observations"),
        ("y ~ 1 + (1 | g) + (1 | i)", "'i' has 12 levels for 12 observations"),
    ],
)
def test_lmer_refuses(data, formula, message):
    with pytest.raises(DataError, match=message):
        mm.lmer(formula, data)


def test_one_level_refused(data):
    one = data[data["x"] == 1.0]
    with pytest.raises(DataError, match="'x' must have more than one level"):
        mm.lmer("y ~ 1 + (1 | x) + (1 | g)", one)
    with pytest.raises(DataError, match="'x' must have more than one level"):
        mm.glmer("k ~ 1 + (1 | x) + (1 | g)", one, family="poisson")


@pytest.mark.parametrize("family", ["poisson", "binomial"])
def test_glmer_refuses_more_random_effects_than_observations(data, family):
    response = "k" if family == "poisson" else "b"
    with pytest.raises(DataError, match=r"\(x \+ x2 \| g\) has 18 random effects for 12 observations"):
        mm.glmer(f"{response} ~ 1 + (x + x2 | g)", data, family=family)


def test_glmer_allows_as_many_random_effects_as_observations(data):
    """lme4's glmer: as many levels, or random effects, as observations are allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert mm.glmer("k ~ 1 + (x | g)", data, family="poisson").nobs == 12
        assert mm.glmer("k ~ 1 + (1 | i)", data, family="poisson").nobs == 12


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_where_lme4_refuses(data, case):
    kind, formula, x = CASES[case]
    rows = data if x is None else data[data["x"] == x]
    fit = (
        (lambda: mm.lmer(formula, rows))
        if kind == "lmer"
        else (lambda: mm.glmer(formula, rows, family="poisson"))
    )
    if CHECKS[case] == "fitted":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert fit().nobs == len(rows)
    else:
        with pytest.raises(DataError, match="identifiable|level"):
            fit()
