"""Formulas as R users write them: factor(), as.factor(), ordered(), columns named like functions,
what is not supported yet, and R's spellings of arguments (checked against lme4 and R's lm)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
MISC = HERE / "reference" / "misc"
HABITS = json.loads((MISC / "formula_habits.json").read_text())["cases"]


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"{name}.csv")


@pytest.fixture(scope="module")
def co2():
    return _csv("co2")


@pytest.fixture(scope="module")
def cbpp():
    return _csv("cbpp_int")


def _clash(co2: pd.DataFrame) -> pd.DataFrame:
    """R's CO2 with columns named as functions (as make_formula_habits.R builds it)."""
    return pd.DataFrame(
        {
            "uptake": co2["uptake"],
            "Plant": co2["Plant"],
            "I": co2["Type"],
            "log": co2["Treatment"],
            "C": co2["conc"],
            "Sum": co2["Type"],
            "center": co2["conc"],
            "np": co2["conc"] / 100,
        }
    )


def _estimates(fit):
    if isinstance(fit, mm.LmFit):
        return fit.coef.dropna(), fit.se.dropna()
    return fit.fixef, fit.se


def _assert_matches(fit, ref, names=None):
    est, se = _estimates(fit)
    assert list(est.index) == (names or ref["fixef_names"])
    np.testing.assert_allclose(est.to_numpy(), ref["fixef"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(se.to_numpy(), ref["se"], rtol=1e-4, atol=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-6)


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
@pytest.mark.parametrize("case", ["co2_treatment_column", "cbpp_factor_in_formula"])
def test_issue_cases_match_lme4_with_r_names(case):
    ref = json.loads((MISC / f"{case}.json").read_text())
    data = _csv(ref["data"].removesuffix(".csv"))
    before = data.copy()
    _assert_matches(mm.lmer(ref["formula"], data, reml=ref["REML"]), ref)
    pd.testing.assert_frame_equal(data, before)  # the caller's data is not modified


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
@pytest.mark.parametrize("case", HABITS, ids=[c["python_formula"] for c in HABITS])
def test_r_habits_match_r(case, co2, cbpp):
    data = {"cbpp_int": cbpp, "co2_clash": _clash(co2)}[case["data"]]
    fit = (mm.lmer if case["kind"] == "lmer" else mm.lm)(case["python_formula"], data)
    _assert_matches(fit, case)


NAMESPACE = [
    "Treatment", "Sum", "Helmert", "Poly", "Diff", "C", "I", "Q", "center", "scale", "standardize",
    "log", "log2", "log10", "exp", "sqrt", "abs", "np", "poly", "bs", "contr", "lag", "hashed",
    "factor", "ordered",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMESPACE)
def test_a_categorical_column_named_like_a_function(name, co2):
    ref = json.loads((MISC / "co2_treatment_column.json").read_text())
    data = co2.rename(columns={"Treatment": name})
    fit = mm.lmer(f"uptake ~ Type * {name} + log(conc) + (1 | Plant)", data)
    names = [n.replace("Treatment", name) for n in ref["fixef_names"]]
    _assert_matches(fit, ref, names)


@pytest.mark.parametrize("name", [n for n in NAMESPACE if n != "Treatment"])  # co2 has Treatment
def test_a_numeric_column_named_like_a_function_inside_its_call(name, co2):
    """``log(log)``: the call is the function, the argument the column (as R reads it)."""
    ref = json.loads((MISC / "co2_treatment_column.json").read_text())
    data = co2.rename(columns={"conc": name})
    fit = mm.lmer(f"uptake ~ Type * Treatment + log({name}) + (1 | Plant)", data)
    names = [n.replace("log(conc)", f"log({name})") for n in ref["fixef_names"]]
    _assert_matches(fit, ref, names)


def test_a_column_named_C_with_a_contrast_call(co2):
    data = co2.assign(C=co2["conc"] / 1000)
    fit = mm.lm("uptake ~ C(Type) + C + I(C^2)", data)
    plain = mm.lm("uptake ~ C(Type) + x + I(x^2)", co2.assign(x=co2["conc"] / 1000))
    assert list(fit.coef.index) == ["(Intercept)", "C(Type)Quebec", "C", "I(C^2)"]
    np.testing.assert_allclose(fit.coef.to_numpy(), plain.coef.to_numpy(), rtol=1e-10)


def test_integer_columns_stay_numeric_without_factor(cbpp):
    """As in R: an integer column is a slope unless the formula says factor(period)."""
    fit = mm.lm("incidence ~ period", cbpp)
    assert list(fit.coef.index) == ["(Intercept)", "period"]


def test_factor_levels_sort_numerically(cbpp):
    fit = mm.lm("incidence ~ factor(herd)", cbpp)
    assert list(fit.coef.index) == ["(Intercept)"] + [f"factor(herd){k}" for k in range(2, 16)]


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
def test_factor_grouping_is_the_column(cbpp):
    a = mm.lmer("incidence ~ size + (1 | factor(herd))", cbpp)
    b = mm.lmer("incidence ~ size + (1 | as.factor(herd))", cbpp)
    c = mm.lmer("incidence ~ size + (1 | herd)", cbpp)
    np.testing.assert_allclose(a.fixef, c.fixef)
    np.testing.assert_allclose(b.theta, c.theta)


def test_ordered_of_a_categorical_keeps_its_levels(co2):
    data = co2.assign(Plant=pd.Categorical(co2["Plant"], categories=sorted(co2["Plant"].unique())[::-1]))
    fit = mm.lm("uptake ~ ordered(Plant)", data)
    assert list(fit.coef.index)[:3] == ["(Intercept)", "ordered(Plant).L", "ordered(Plant).Q"]
    same = mm.lm("uptake ~ Plant", data.assign(Plant=data["Plant"].cat.as_ordered()))
    np.testing.assert_allclose(fit.coef.to_numpy(), same.coef.to_numpy(), rtol=1e-10)


def test_contrasts_named_as_in_the_formula(cbpp):
    fit = mm.lm("incidence ~ factor(period)", cbpp, contrasts={"factor(period)": "sum"})
    assert list(fit.coef.index) == ["(Intercept)", "factor(period)1", "factor(period)2", "factor(period)3"]
    assert fit.coef.iloc[0] == pytest.approx(cbpp.groupby("period")["incidence"].mean().mean())


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
def test_predict_new_data_codes_factor_as_in_training(cbpp):
    lm_fit = mm.lm("incidence ~ factor(period) * size", cbpp)
    np.testing.assert_allclose(lm_fit.predict(cbpp.iloc[::-1]).to_numpy(), lm_fit.fitted.to_numpy()[::-1])
    fit = mm.lmer("incidence ~ ordered(period) + (1 | herd)", cbpp)
    np.testing.assert_allclose(fit.predict(cbpp).to_numpy(), fit.predict().to_numpy())


def test_factor_needs_a_column(cbpp):
    with pytest.raises(mm.FormulaError, match="takes a column name"):
        mm.lm("incidence ~ factor(period > 2)", cbpp)
    with pytest.raises(mm.DataError, match="'periode'"):
        mm.lm("incidence ~ factor(periode)", cbpp)


def test_r_math_functions(co2):
    fit = mm.lm("uptake ~ sqrt(conc) + abs(conc - 500) + log1p(conc)", co2)
    assert list(fit.coef.index) == ["(Intercept)", "sqrt(conc)", "abs(conc - 500)", "log1p(conc)"]
    x = co2["conc"].to_numpy(float)
    X = np.column_stack([np.ones_like(x), np.sqrt(x), np.abs(x - 500), np.log1p(x)])
    beta = np.linalg.lstsq(X, co2["uptake"].to_numpy(float), rcond=None)[0]
    np.testing.assert_allclose(fit.coef.to_numpy(), beta, rtol=1e-8)


# ------------------------------------------------------------------ not supported yet
def test_offset_outside_the_fixed_part_is_refused(cbpp):
    with pytest.raises(mm.FormulaError, match="fixed part"):
        mm.lmer("incidence ~ period + (offset(size) | herd)", cbpp)
    with pytest.raises(mm.FormulaError, match="fixed part"):
        mm.lm("offset(incidence) ~ size", cbpp)


def test_cbind_response_in_lmer_points_to_glmer_and_glm(cbpp):
    with pytest.raises(mm.FormulaError, match=r"cbind.*mm\.glmer.*mm\.glm") as info:
        mm.lmer("cbind(incidence, size - incidence) ~ factor(period) + (1 | herd)", cbpp)
    assert info.value.position == 0


def test_weights_and_offset_keywords_are_taken(cbpp):
    assert mm.lmer("incidence ~ period + (1 | herd)", cbpp, weights="size").converged
    assert mm.lm("incidence ~ period", cbpp, weights="size", offset="size").coef.notna().all()


# ------------------------------------------------------------------ R's spellings of arguments
def test_REML_suggests_reml(cbpp):
    with pytest.raises(TypeError, match="'REML'; did you mean reml="):
        mm.lmer("incidence ~ period + (1 | herd)", cbpp, REML=False)


def test_na_action_spelled_as_R(cbpp):
    with pytest.raises(TypeError, match="did you mean na_action="):
        mm.lm("incidence ~ period", cbpp, **{"na.action": "omit"})


def test_family_to_lmer_points_to_glmer(cbpp):
    with pytest.raises(TypeError, match="for family= use mm.glmer"):
        mm.lmer("incidence ~ period + (1 | herd)", cbpp, family="binomial")


def test_control_to_lmer_says_there_is_none(cbpp):
    with pytest.raises(TypeError, match="has no control=: the optimizer is fixed"):
        mm.lmer("incidence ~ period + (1 | herd)", cbpp, control={"optimizer": "bobyqa"})


def test_wald_spelled_as_lme4(cbpp):
    fit = mm.lmer("incidence ~ period + (1 | herd)", cbpp)
    pd.testing.assert_frame_equal(fit.confint("Wald"), fit.confint("wald"))


def test_data_before_formula(cbpp):
    with pytest.raises(TypeError, match="formula first"):
        mm.lmer(cbpp, "incidence ~ period + (1 | herd)")
    with pytest.raises(TypeError, match="formula first"):
        mm.lm(cbpp, "incidence ~ period")


def test_unknown_keyword_lists_the_accepted_ones(cbpp):
    with pytest.raises(TypeError, match="it takes formula, data"):
        mm.lm("incidence ~ period", cbpp, zzz=1)


def test_factor_call_on_dask_data_is_refused_clearly(cbpp):
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(mm.DataError, match="factor\\(period\\) in a formula is not supported for a Dask"):
        mm.lmer("incidence ~ factor(period) + (1 | herd)", dd.from_pandas(cbpp, npartitions=2))


def test_warnings_name_the_callers_line_through_the_keyword_check():
    data = pd.DataFrame({"y": [1.0, 1.1, 0.9, 1.0, 1.05, 0.95], "g": list("aabbcc")})
    with pytest.warns(mm.MixedModelsWarning, match="singular") as caught:
        mm.lmer("y ~ 1 + (1 | g)", data)
    assert {Path(w.filename).name for w in caught} == {Path(__file__).name}
