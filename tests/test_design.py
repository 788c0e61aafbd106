"""Bad input gets clear errors; the caller's data is never modified; missing values are counted."""

import re

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets


def test_unknown_column_is_named_with_the_columns_there_are(seed):
    with pytest.raises(mm.DataError, match=r"column 'z' .* not in the data; the data has: x, y, p"):
        mm.lmer("y ~ z + (1 | p)", seed)


def test_non_numeric_response(seed):
    seed["word"] = "a"
    with pytest.raises(mm.DataError, match="response 'word' must be numeric"):
        mm.lmer("word ~ x + (1 | p)", seed)


def test_grouping_factor_with_a_level_per_observation(seed):
    seed["id"] = np.arange(len(seed))
    with pytest.raises(mm.DataError, match="'id' has 100 levels for 100 observations"):
        mm.lmer("y ~ x + (1 | id)", seed)


def test_single_level_grouping_factor(seed):
    seed["one"] = "a"
    with pytest.raises(mm.DataError, match="more than one level"):
        mm.lmer("y ~ x + (1 | one)", seed)


def test_infinite_values(seed):
    seed.loc[3, "x"] = np.inf
    with pytest.raises(mm.DataError, match="'x' has infinite values"):
        mm.lmer("y ~ x + (1 | p)", seed)


def test_missing_values_are_dropped_and_counted_or_refused(seed):
    seed.loc[[2, 50], "y"] = np.nan
    seed.loc[7, "x"] = np.nan
    fit = mm.lmer("y ~ x + (1 | p)", seed)
    assert fit.nobs == 97 and fit.design.dropped_rows == 3
    assert "3 rows with missing values dropped" in str(fit)
    assert 2 not in fit.fitted.index and 3 in fit.fitted.index
    with pytest.raises(mm.DataError, match=r"missing values in 'x' \(1\), 'y' \(2\)"):
        mm.lmer("y ~ x + (1 | p)", seed, na_action="raise")


def test_no_rows_left(seed):
    seed["y"] = np.nan
    with pytest.raises(mm.DataError, match="no rows left"):
        mm.lmer("y ~ x + (1 | p)", seed)


def test_data_is_not_modified(seed):
    before = seed.copy()
    seed.loc[0, "y"] = np.nan
    before.loc[0, "y"] = np.nan
    mm.lmer("y ~ x + I(x^2) + (1 | p)", seed)
    pd.testing.assert_frame_equal(seed, before)


def test_rank_deficient_columns_are_dropped_with_a_warning(seed):
    seed["x2"] = 2 * seed["x"]
    with pytest.warns(mm.MixedModelsWarning, match="dropping 1 column.*x2"):
        fit = mm.lmer("y ~ x + x2 + (1 | p)", seed)
    assert list(fit.fixef.index) == ["(Intercept)", "x"]


def test_grouping_column_of_any_type_is_a_factor(seed):
    fits = []
    for convert in (lambda p: p.astype(int), lambda p: p.astype(str), lambda p: pd.Categorical(p)):
        data = seed.copy()
        data["p"] = convert(data["p"].astype(int))
        fits.append(mm.lmer("y ~ x + (1 | p)", data))
    # string labels sort differently ("10" before "2"): the same optimum up to the optimizer's precision
    for fit in fits[1:]:
        assert fit.objective == pytest.approx(fits[0].objective, abs=1e-7)
        np.testing.assert_allclose(fit.theta, fits[0].theta, rtol=1e-5)
        np.testing.assert_allclose(fit.fixef, fits[0].fixef, rtol=1e-6)


def test_r_semantics_of_the_fixed_part():
    cake = datasets.load("cake")
    fit = mm.lmer("angle ~ recipe * temp + I(temp^2) + (1 | recipe:replicate)", cake, reml=False)
    assert list(fit.fixef.index) == [
        "(Intercept)",
        "recipeB",
        "recipeC",
        "temp",
        "I(temp^2)",
        "recipeB:temp",
        "recipeC:temp",
    ]
    fit0 = mm.lmer("angle ~ 0 + recipe + (1 | recipe:replicate)", cake)
    assert list(fit0.fixef.index) == ["recipeA", "recipeB", "recipeC"]
    fit_sum = mm.lmer("angle ~ recipe + (1 | replicate)", cake, contrasts={"recipe": "sum"})
    assert list(fit_sum.fixef.index) == ["(Intercept)", "recipe1", "recipe2"]
    # the sum-coded intercept is the mean of the treatment-coded level means
    fit_trt = mm.lmer("angle ~ recipe + (1 | replicate)", cake)
    b = fit_trt.fixef.to_numpy()
    assert fit_sum.fixef.iloc[0] == pytest.approx(b[0] + (b[1] + b[2]) / 3, rel=1e-6)


def test_unknown_contrast_is_refused(seed):
    with pytest.raises(ValueError, match="unknown coding 'sums'"):
        mm.lmer("y ~ x + (1 | p)", seed, contrasts={"p": "sums"})


def test_stateful_transforms_find_their_column():
    """formulaic does not list the variables of scale() or poly(); they are still used columns,
    and scale(Days) is the standardized column."""
    data = datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ scale(Days) + (1 | Subject)", data)
    days = data.Days
    manual = mm.lmer("Reaction ~ z + (1 | Subject)", data.assign(z=(days - days.mean()) / days.std()))
    np.testing.assert_allclose(fit.fixef.to_numpy(), manual.fixef.to_numpy(), rtol=1e-8)
    assert list(fit.fixef.index) == ["(Intercept)", "scale(Days)"]


@pytest.mark.parametrize(
    ("fit", "formula", "column"),
    [
        (mm.lmer, "Reaction ~ log(Days - 5) + (1 | Subject)", "log(Days - 5)"),
        (mm.lm, "Reaction ~ log(Days - 5)", "log(Days - 5)"),
        (mm.lmer, "Reaction ~ Days + (log(Days - 3) | Subject)", "log(Days - 3)"),
    ],
)
def test_a_transformation_undefined_on_some_rows_is_refused(fit, formula, column):
    # it was dropped as an aliased column (lmer) or reported with a NaN estimate (lm); R stops
    data = datasets.load("sleepstudy")
    with (
        np.errstate(all="ignore"),
        pytest.raises(mm.DataError, match=f"NaN or infinite.*'{re.escape(column)}'"),
    ):
        fit(formula, data)
