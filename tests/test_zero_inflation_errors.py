"""The mistakes a user makes with ``ziformula`` and ``dispformula`` (issue 29), each refused by a
message that names the problem, or handled as the main formula handles it (missing values).

The data are glmmTMB's Salamanders (tests/data/salamanders.csv).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError

DATA = Path(__file__).parent / "data"
FORMULA = "count ~ spp + mined + (1 | site)"


@pytest.fixture(scope="module")
def sal() -> pd.DataFrame:
    d = pd.read_csv(DATA / "salamanders.csv")
    for col in ("site", "mined", "spp"):
        d[col] = pd.Categorical(d[col].astype(str))
    return d


def fit(data, formula=FORMULA, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.glmer(formula, data, **kwargs)


# ----------------------------------------------------------------------------- the formulas
def test_ziformula_without_tilde_suggests_one(sal):
    with pytest.raises(ValueError, match=r"one-sided formula.*did you mean '~ spp'"):
        fit(sal, family="nbinom2", ziformula="spp")


def test_ziformula_with_a_response_is_refused(sal):
    with pytest.raises(ValueError, match=r"has a left-hand side.*'~ spp'"):
        fit(sal, family="nbinom2", ziformula="count ~ spp")


def test_empty_or_non_string_formula(sal):
    with pytest.raises(ValueError, match="ziformula is empty"):
        fit(sal, family="nbinom2", ziformula="  ")
    with pytest.raises(TypeError, match="one-sided formula string"):
        fit(sal, family="nbinom2", ziformula=["~1"])


@pytest.mark.parametrize("zi", ["~ spp + (1 | site)", "~ (1|site)"])
def test_random_effects_in_ziformula_are_not_available_yet(sal, zi):
    match = r"random effects in the zero-inflation model.*not available yet"
    with pytest.raises(NotImplementedError, match=match):
        fit(sal, family="nbinom2", ziformula=zi)


def test_random_effects_in_dispformula_are_not_available_yet(sal):
    with pytest.raises(NotImplementedError, match="random effects in the dispersion model"):
        fit(sal, family="nbinom2", dispformula="~ (1 | site)")


def test_an_offset_in_ziformula_and_dispformula_zero_are_not_available(sal):
    with pytest.raises(NotImplementedError, match="an offset in ziformula is not available yet"):
        fit(sal, family="nbinom2", ziformula="~ spp + offset(log(cover + 2))")
    with pytest.raises(NotImplementedError, match=r"dispformula='~0'.*not available"):
        fit(sal, family="nbinom2", dispformula="~0")


@pytest.mark.parametrize("kind", ["ziformula", "dispformula"])
def test_a_column_that_does_not_exist_is_named(sal, kind):
    with pytest.raises(DataError, match=rf"{kind} '~ spp \+ habitat' uses 'habitat', not a column"):
        fit(sal, family="nbinom2", **{kind: "~ spp + habitat"})


# ----------------------------------------------------------------------------- the families
@pytest.mark.parametrize(
    "family, formula",
    [("poisson", FORMULA), ("binomial", "I(count > 0) ~ spp + (1 | site)")],
)
def test_dispformula_with_a_family_without_a_parameter(sal, family, formula):
    with pytest.raises(ValueError, match=f"the {family} family has no parameter beyond the mean"):
        fit(sal, formula, family=family, dispformula="~ spp")


@pytest.mark.parametrize(
    "family, formula, support",
    [
        ("Gamma", "I(count + 1) ~ spp + (1 | site)", "positive"),
        ("beta", "I((count + 0.5) / 40) ~ spp + (1 | site)", r"a proportion strictly inside \(0, 1\)"),
    ],
)
def test_ziformula_with_a_family_that_has_no_zeros_is_refused(sal, family, formula, support):
    match = rf"ziformula is not available for the {family} family: its response is {support}.*hurdle"
    with pytest.raises(ValueError, match=match):
        fit(sal, formula, family=family, link="log" if family == "Gamma" else None, ziformula="~1")


def test_gamma_and_beta_refuse_zero_augmentation_as_objects():
    from mixedmodels.families import Beta, Gamma, Poisson, TruncatedPoisson
    from mixedmodels.families.zero_inflated import zero_augmented

    for fam in (Gamma("log"), Beta()):
        with pytest.raises(ValueError, match="cannot be a mixture"):
            zero_augmented(fam, 0.0)
    assert zero_augmented(Poisson(), 0.0).kind == "zero-inflated"
    assert zero_augmented(TruncatedPoisson(), 0.0).kind == "hurdle"


@pytest.mark.parametrize("family", ["truncated_nbinom2", "truncated_poisson"])
def test_a_truncated_family_with_zeros_suggests_ziformula(sal, family):
    with pytest.raises(DataError, match=r"contains zeros \(387 rows.*hurdle model.*ziformula='~1'"):
        fit(sal, family=family)


# ----------------------------------------------------------------------------- fitting options
def test_laplace_expected_is_refused_with_ziformula(sal):
    with pytest.raises(ValueError, match=r"laplace='expected' is not available with ziformula"):
        fit(sal, family="nbinom2", ziformula="~1", laplace="expected")


def test_quadrature_is_refused_with_ziformula(sal):
    with pytest.raises(ValueError, match=r"nagq=5 is not available with ziformula or dispformula"):
        fit(sal, family="poisson", ziformula="~1", nagq=5)


def test_na_action_is_checked(sal):
    with pytest.raises(ValueError, match="na_action must be 'omit' or 'raise', not 'exclude'"):
        fit(sal, family="nbinom2", ziformula="~1", na_action="exclude")


# ----------------------------------------------------------------------------- the data
@pytest.mark.parametrize("kind", ["ziformula", "dispformula"])
def test_a_factor_with_one_level_is_refused(sal, kind):
    data = sal.assign(region=pd.Categorical(["north"] * len(sal)))
    with pytest.raises(DataError, match=rf"{kind} '~ region': the factor 'region' has one level \('north'\)"):
        fit(data, family="nbinom2", **{kind: "~ region"})


def test_a_factor_with_one_level_left_after_missing_rows_are_dropped(sal):
    region = np.where(sal["mined"] == "yes", "north", None)
    data = sal.assign(region=region)
    with pytest.raises(DataError, match="the factor 'region' has one level"):
        fit(data, family="nbinom2", ziformula="~ region")


def _with_missing_cover(sal: pd.DataFrame, every: int = 10) -> pd.DataFrame:
    cover = sal["cover"].where(np.arange(len(sal)) % every != 0)
    return sal.assign(cover=cover)


def test_missing_values_in_zi_variables_drop_rows_and_count_them(sal):
    data = _with_missing_cover(sal)
    missing = int(data["cover"].isna().sum())
    zi = fit(data, family="nbinom2", ziformula="~ cover")
    assert zi.nobs == len(sal) - missing
    assert zi.design.dropped_rows == missing
    assert zi.to_dict()["dropped_rows"] == missing
    # as the main formula drops and counts them
    main = fit(data, "count ~ spp + cover + (1 | site)", family="nbinom2")
    assert main.nobs == zi.nobs and main.design.dropped_rows == zi.design.dropped_rows


def test_missing_values_in_both_formulas_are_counted_once(sal):
    data = _with_missing_cover(sal, every=10)
    doy = data["DOY"].where(np.arange(len(sal)) % 15 != 0)
    data = data.assign(DOY=doy)
    either = int((data["cover"].isna() | data["DOY"].isna()).sum())
    zi = fit(data, "count ~ spp + DOY + (1 | site)", family="nbinom2", ziformula="~ cover")
    assert zi.design.dropped_rows == either
    assert zi.nobs == len(sal) - either


def test_missing_values_in_dispformula_variables(sal):
    data = _with_missing_cover(sal, every=7)
    missing = int(data["cover"].isna().sum())
    disp = fit(data, family="nbinom2", dispformula="~ cover")
    assert disp.design.dropped_rows == missing and disp.nobs == len(sal) - missing


def test_na_action_raise_names_the_zi_variable(sal):
    data = _with_missing_cover(sal)
    missing = int(data["cover"].isna().sum())
    with pytest.raises(DataError, match=rf"missing values in 'cover' \({missing}\); na_action='omit'"):
        fit(data, family="nbinom2", ziformula="~ cover", na_action="raise")


def test_only_missing_values_in_zi_variables(sal):
    data = sal.assign(cover=np.nan)
    with pytest.raises(DataError, match="no rows left"):
        fit(data, family="nbinom2", ziformula="~ cover")


def test_the_callers_data_frame_is_never_modified(sal):
    data = _with_missing_cover(sal).assign(early=np.where(sal["DOY"] < 0, "early", "late"))
    before = data.copy(deep=True)
    fit(data, family="nbinom2", ziformula="~ cover + early", dispformula="~ mined")
    fit(data, family="truncated_nbinom2", ziformula="~ mined")
    pd.testing.assert_frame_equal(data, before)
    assert data.equals(before)
