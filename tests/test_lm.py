"""lm against R's lm (tests/reference/seed_lm_*.json) and the invariances of contrasts."""

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_cases, reference_data

import mixedmodels as mm
from mixedmodels import datasets

CONTRASTS = {"contr.sum": "sum", "contr.helmert": "helmert", "contr.treatment": "treatment"}


def fit_case(case):
    ref = load_reference(case)
    contrasts = {k: CONTRASTS[v] for k, v in (ref.get("contrasts") or {}).items()}
    return ref, mm.lm(ref["formula"], reference_data(ref), contrasts=contrasts or None)


@pytest.mark.parametrize("case", reference_cases("lm"))
def test_matches_r(case):
    ref, fit = fit_case(case)
    got = fit.to_dict()
    assert list(got["coef"]) == ref["coef_names"]
    for key in ("coef", "se", "t"):
        np.testing.assert_allclose(list(got[key].values()), ref[key], rtol=1e-6)
    np.testing.assert_allclose(list(got["p"].values()), ref["p"], rtol=1e-6, atol=1e-300)
    assert got["sigma"] == pytest.approx(ref["sigma"], rel=1e-6)
    assert got["df_residual"] == ref["df_residual"]
    assert got["r_squared"] == pytest.approx(ref["r_squared"], rel=1e-6)
    assert got["adj_r_squared"] == pytest.approx(ref["adj_r_squared"], rel=1e-6)
    np.testing.assert_allclose(got["fstatistic"], ref["fstatistic"], rtol=1e-6)
    for key, rkey in (("loglik", "loglik"), ("aic", "AIC"), ("bic", "BIC")):
        assert got[key] == pytest.approx(ref[rkey], rel=1e-6)


@pytest.mark.parametrize("case", reference_cases("lm"))
def test_summary_prints_as_r(case):
    ref, fit = fit_case(case)
    ours = str(fit).splitlines()
    theirs = ref["summary_text"].splitlines()
    assert ours[3:] == theirs[3:]  # all but the Call line


def test_seed_sum_contrast_prints_the_seed_numbers():
    _, fit = fit_case("seed_lm_sum")
    text = str(fit)
    assert "(Intercept) 21.043157   0.055888  376.52" in text
    assert "x           -1.007443   0.009934" in text
    assert "Residual standard error: 0.08983 on 89 degrees of freedom" in text
    assert "F-statistic: 1.194e+04 on 10 and 89 DF" in text


def test_sum_intercept_is_the_mean_of_the_level_intercepts(seed):
    sum_fit = mm.lm("y ~ x + p", seed, contrasts={"p": "sum"})
    cell = mm.lm("y ~ 0 + p + x", seed)
    level_intercepts = cell.coef[[f"p{i}" for i in range(1, 11)]]
    assert sum_fit.coef["(Intercept)"] == pytest.approx(level_intercepts.mean(), rel=1e-12)


def test_codings_give_the_same_fitted_values(seed):
    fits = [mm.lm("y ~ x + p", seed, contrasts={"p": c}) for c in ("treatment", "sum", "helmert", "poly")]
    for fit in fits[1:]:
        np.testing.assert_allclose(fit.fitted, fits[0].fitted, rtol=1e-10)
        assert fit.sigma == pytest.approx(fits[0].sigma, rel=1e-10)
    matrix = np.vstack([np.eye(9), -np.ones(9)])  # contr.sum(10) as a matrix
    custom = mm.lm("y ~ x + p", seed, contrasts={"p": matrix})
    np.testing.assert_allclose(custom.coef.to_numpy(), fits[1].coef.to_numpy(), rtol=1e-10)


def test_aliased_columns_are_na(seed):
    seed["x2"] = 3 * seed["x"]
    fit = mm.lm("y ~ x + x2", seed)
    assert fit.aliased == ["x2"] and np.isnan(fit.coef["x2"])
    assert fit.to_dict()["coef"]["x2"] is None
    assert "(1 not defined because of singularities)" in str(fit)
    assert fit.df_residual == 98


def test_weights_equal_duplicated_rows(seed):
    w = np.tile([1, 2], 50)
    weighted = mm.lm("y ~ x + p", seed, weights=w)
    doubled = mm.lm("y ~ x + p", pd.concat([seed, seed.iloc[1::2]], ignore_index=True))
    np.testing.assert_allclose(weighted.coef, doubled.coef, rtol=1e-10)
    assert weighted.rss == pytest.approx(doubled.rss, rel=1e-10)
    with pytest.raises(mm.DataError, match="non-negative"):
        mm.lm("y ~ x", seed, weights=-w)


def test_confint_uses_the_t_quantile(seed):
    fit = mm.lm("y ~ x + p", seed, contrasts={"p": "sum"})
    ci = fit.confint(0.9)
    assert list(ci.columns) == ["5 %", "95 %"]
    half = (ci["95 %"] - ci["5 %"]) / 2 / fit.se
    np.testing.assert_allclose(half, 1.6621553, rtol=1e-6)  # qt(0.95, 89) in R


def test_random_terms_are_refused(seed):
    with pytest.raises(ValueError, match="use mm.lmer"):
        mm.lm("y ~ x + (1 | p)", seed)


def test_data_not_modified():
    data = datasets.load("cake")
    before = data.copy()
    mm.lm("angle ~ recipe * temp", data, contrasts={"recipe": "helmert"}, weights="temp")
    pd.testing.assert_frame_equal(data, before)


def test_c_in_the_formula_names_columns_as_r(seed):
    """R: names(coef(lm(y ~ x + C(p, contr.sum), seed))) and the coefficients printed there
    (R 4.2): C(p, contr.sum)1 = -9.00984490754, C(p, contr.helmert)2 = 1.00267848551."""
    by_sum = mm.lm("y ~ x + C(p, contr.sum)", seed)
    assert list(by_sum.coef.index[2:4]) == ["C(p, contr.sum)1", "C(p, contr.sum)2"]
    assert by_sum.coef["C(p, contr.sum)1"] == pytest.approx(-9.00984490754, abs=1e-9)
    by_helmert = mm.lm("y ~ x + C(p,contr.helmert)", seed)
    assert list(by_helmert.coef.index[2:4]) == ["C(p, contr.helmert)1", "C(p, contr.helmert)2"]
    assert by_helmert.coef["C(p, contr.helmert)2"] == pytest.approx(1.00267848551, abs=1e-9)
