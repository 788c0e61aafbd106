"""A level of a fixed factor that the fit did not see is refused by every path that builds a
fixed-effects matrix for new data (issue 26). formulaic codes it as the baseline, with only a
``DataMismatchWarning``: Orthodont's ``Sex = "male"`` (the data say ``Male``) was predicted as
Female (23.07). R's predict stops with an error; so do we, naming the level, the factor and the
levels it knows. Unknown levels of a grouping factor keep ``allow_new_levels``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def orthodont() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "orthodont.csv")
    return data.assign(male=(data["Sex"] == "Male").astype(int))


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "cbpp.csv").astype({"herd": str, "period": str})


@pytest.mark.parametrize(
    "fixed",
    ["age + Sex", "age * Sex", "age + C(Sex)", "age * C(Sex, contr.sum)", "age + C(Sex, contr.treatment)"],
)
def test_lmer_refuses_an_unknown_level(orthodont, fixed):
    fit = mm.lmer(f"distance ~ {fixed} + (1 | Subject)", orthodont)
    new = pd.DataFrame({"age": [8], "Sex": ["male"], "Subject": ["M01"]})
    with pytest.raises(DataError, match=r"level 'male' of factor 'Sex'.*'Female', 'Male'"):
        fit.predict(new)
    with pytest.raises(DataError, match="'male'"):
        fit.predict(new, re_form="~0")
    known = fit.predict(new.assign(Sex="Male"))
    assert np.isfinite(known).all()


@pytest.mark.parametrize("spelling", ["factor(male)", "as.factor(male)"])
def test_factor_call_refuses_an_unknown_level(orthodont, spelling):
    fit = mm.lmer(f"distance ~ age + {spelling} + (1 | Subject)", orthodont)
    with pytest.raises(DataError, match=rf"level 2 of factor '{re.escape(spelling)}'.*0, 1"):
        fit.predict(pd.DataFrame({"age": [8], "male": [2], "Subject": ["M01"]}))
    ok = fit.predict(pd.DataFrame({"age": [8, 8], "male": [1, 0], "Subject": ["M01", "F01"]}))
    assert ok.iloc[0] != ok.iloc[1]


def test_unknown_grouping_level_keeps_allow_new_levels(orthodont):
    fit = mm.lmer("distance ~ age + Sex + (1 | Subject)", orthodont)
    new = pd.DataFrame({"age": [8], "Sex": ["Male"], "Subject": ["M99"]})
    with pytest.raises(ValueError, match="new level"):
        fit.predict(new)
    assert fit.predict(new, allow_new_levels=True).iloc[0] == pytest.approx(
        fit.predict(new, re_form="~0").iloc[0]
    )


def test_lm_and_glm_refuse_an_unknown_level(orthodont, cbpp):
    new = pd.DataFrame({"age": [8], "Sex": ["male"]})
    with pytest.raises(DataError, match="'male' of factor 'Sex'"):
        mm.lm("distance ~ age + Sex", orthodont).predict(new)
    with pytest.raises(DataError, match="'male' of factor 'Sex'"):
        mm.lm("distance ~ age + Sex", orthodont).predict(new, interval="confidence")
    glm = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    with pytest.raises(DataError, match=r"level '5' of factor 'period'.*'1', '2', '3', '4'"):
        glm.predict(pd.DataFrame({"period": ["5"], "incidence": [0], "size": [1]}), type="response")


def test_glmer_refuses_an_unknown_level(cbpp):
    fit = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    new = pd.DataFrame({"period": ["5"], "herd": ["1"], "incidence": [0], "size": [1]})
    with pytest.raises(DataError, match=r"level '5' of factor 'period'"):
        fit.predict(new, type="response")
    assert np.isfinite(fit.predict(new.assign(period="4"))).all()


def test_text_in_a_numeric_column_of_new_data_is_named(orthodont):
    """A value that is not a number where the model was fitted with numbers: the column is
    named (pandas' "could not convert string to float" before; trial)."""
    fit = mm.lmer("distance ~ age + (1 | Subject)", orthodont)
    new = pd.DataFrame({"age": ["eight"], "Subject": [orthodont["Subject"].iloc[0]]})
    with pytest.raises(DataError, match=r"column 'age' of the new data .* \('eight'\)"):
        fit.predict(new)
    lm = mm.lm("distance ~ age", orthodont)
    with pytest.raises(DataError, match="column 'age'"):
        lm.predict(new)
