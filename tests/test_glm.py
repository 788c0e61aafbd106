"""mm.glm against R 4.2's glm (tests/reference/glm/, made by make_glm_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError
from mixedmodels.profile.glm import fmm_spline

HERE = Path(__file__).parent
REFERENCE = HERE / "reference" / "glm"
DATA = HERE / "data"
TOL = 1e-6
# the two cases copied from the shared misc references: their factors, and the link R used
MISC = {"cbpp_glm_sum": ["herd", "period"], "grouseticks_glm_poisson": ["YEAR"]}


def _cases(kind: str) -> list[str]:
    cases = []
    for path in sorted(REFERENCE.glob("*.json")):
        ref = json.loads(path.read_text())
        if ("formulas" in ref) == (kind == "anova"):
            cases.append(path.stem)
    return cases


def _reference(case: str) -> dict:
    return json.loads((REFERENCE / f"{case}.json").read_text())


def _data(ref: dict) -> pd.DataFrame:
    data = pd.read_csv(DATA / ref["data"])
    for col in ref.get("factors") or MISC.get(ref["case"], []):
        data[col] = pd.Categorical(data[col])
    if ref.get("rows"):
        data = data.iloc[[r - 1 for r in ref["rows"]]]
    return data


def _fit(ref: dict) -> mm.GlmFit:
    contrasts = {k: v.removeprefix("contr.") for k, v in (ref.get("contrasts") or {}).items()} or None
    link = None if ref["case"] in MISC else ref["link"]
    return mm.glm(
        ref["formula"], _data(ref), family=ref["family"], link=link,
        weights=ref.get("weights"), offset=ref.get("offset"), contrasts=contrasts,
    )  # fmt: skip


def _values(x) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(x)], dtype=float)


def assert_close(got, want, tol: float = TOL, scale_floor: float = 1e-3) -> None:
    """Relative error at most ``tol``, relative to ``scale_floor`` of the largest |want| for small
    entries; NaN where R has NA."""
    got = np.ravel(np.asarray(got, dtype=float))
    want = _values(want)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    if not ok.any():
        return
    floor = scale_floor * np.max(np.abs(want[ok]))
    err = np.abs(got[ok] - want[ok]) / np.maximum(np.abs(want[ok]), max(floor, 1e-300))
    assert err.max() <= tol, f"largest relative error {err.max():.2e}"


@pytest.fixture(scope="module", params=_cases("fit"))
def case(request):
    ref = _reference(request.param)
    return ref, _fit(ref)


def test_coefficients_against_r(case):
    ref, fit = case
    assert fit.names == ref["coef_names"]
    assert_close(fit.coef, ref["coef"])
    assert_close(fit.se, ref["se"])
    stat = "t" if "t" in ref else "z"
    assert_close(fit.zvalues, ref[stat])
    assert_close(fit.pvalues, ref["p"], scale_floor=1e-12)
    assert stat in fit.to_dict()


def test_deviances_and_criteria_against_r(case):
    ref, fit = case
    assert_close(fit.deviance, ref["deviance"])
    assert_close(fit.null_deviance, ref["null_deviance"])
    assert fit.df_residual == ref["df_residual"]
    assert_close(fit.dispersion, ref["dispersion"])
    if ref["aic"] is None:
        assert np.isnan(fit.aic) and fit.to_dict()["aic"] is None
    else:
        assert_close(fit.aic, ref["aic"])
        assert_close(fit.loglik, ref["loglik"])
    if "bic" in ref and ref["bic"] is not None:
        assert_close(fit.bic, ref["bic"])
    if "iter" in ref:
        assert fit.iterations == ref["iter"]
        assert fit.df_null == ref["df_null"]
        assert fit.nobs == ref["nobs"]


def test_per_observation_values_against_r(case):
    ref, fit = case
    if "fitted" not in ref:
        pytest.skip("the shared misc reference has no per-observation values")
    assert_close(fit.vcov.to_numpy(), ref["vcov"])
    assert_close(fit.fitted, ref["fitted"])
    assert_close(fit.linear_predictor, ref["linear_predictor"])
    for kind in ("deviance", "pearson", "response", "working"):
        assert_close(fit.resid(kind), ref[f"resid_{kind}"], scale_floor=1e-6)


def test_wald_confint_and_predictions_against_r(case):
    ref, fit = case
    if "confint_wald" not in ref:
        pytest.skip("the shared misc reference has no intervals")
    assert_close(fit.confint("wald").to_numpy(), ref["confint_wald"])
    newdata = _data(ref).iloc[[r - 1 for r in ref["predict_rows"]]]
    link = fit.predict(newdata, type="link", se_fit=True)
    response = fit.predict(newdata, type="response", se_fit=True)
    assert_close(link["fit"], ref["predict_link"])
    assert_close(link["se_fit"], ref["predict_link_se"])
    assert_close(response["fit"], ref["predict_response"])
    assert_close(response["se_fit"], ref["predict_response_se"])
    assert_close(link.attrs["residual_scale"], ref["residual_scale"])


def test_summary_text_is_rs(case):
    ref, fit = case
    got, want = fit.summary(), ref["summary_text"]
    if ref["case"] in MISC:  # R's call there was made by do.call: compare from the residuals on
        got, want = got[got.index("Deviance Residuals") :], want[want.index("Deviance Residuals") :]
    assert got == want
    assert "<table" in fit._repr_html_()


@pytest.mark.parametrize("case_name", [c for c in _cases("fit") if "confint_profile" in _reference(c)])
def test_profile_confint_against_r(case_name):
    ref = _reference(case_name)
    assert_close(_fit(ref).confint("profile").to_numpy(), ref["confint_profile"])


@pytest.mark.parametrize("case_name", _cases("anova"))
def test_analysis_of_deviance_against_r(case_name):
    ref = _reference(case_name)
    data = _data(ref)
    fits = [mm.glm(f, data, family=ref["family"]) for f in ref["formulas"]]
    result = mm.anova(*fits)
    table = result.table
    assert_close(table["Resid. Df"], ref["resid_df"])
    assert_close(table["Resid. Dev"], ref["resid_dev"])
    assert_close(table["Df"], ref["df"])
    assert_close(table["Deviance"], ref["deviance"])
    assert_close(table["Pr(>Chi)"], ref["p"], scale_floor=1e-300)
    assert str(result) == ref["text"]


# --------------------------------------------------------------------------- responses
@pytest.fixture(scope="module")
def binary():
    return pd.read_csv(DATA / "probit_binary.csv")


@pytest.mark.parametrize(
    "make",
    [
        lambda y: y == 1,
        lambda y: pd.Categorical(np.where(y == 1, "yes", "no")),
        lambda y: np.where(y == 1, "yes", "no"),
    ],
    ids=["booleans", "factor", "text"],
)
def test_binary_response_forms_fit_as_zero_one(binary, make):
    ref = _reference("binary_probit")
    data = binary.assign(y=make(binary["y"].to_numpy()))
    fit = mm.glm("y ~ x", data, family="binomial", link="probit")
    assert_close(fit.coef, ref["coef"])
    assert_close(fit.deviance, ref["deviance"])


def test_cbind_equals_proportion_with_trials_as_weights():
    ref = _reference("cbpp_proportion_weights")
    data = _data(ref)
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", data, family="binomial")
    assert_close(fit.coef, ref["coef"])
    assert_close(fit.se, ref["se"])
    assert_close(fit.aic, ref["aic"])


def test_offset_argument_equals_formula_offset():
    ref = _reference("poisson_offset")
    data = _data(ref)
    fit = mm.glm("count ~ x", data, family="poisson", offset=np.log(data["exposure"].to_numpy()))
    assert_close(fit.coef, ref["coef"])
    assert_close(fit.null_deviance, ref["null_deviance"])


def test_missing_response_rows_are_dropped_and_counted():
    ref = _reference("cbpp_probit")
    data = _data(ref)
    data.loc[[0, 5], "incidence"] = np.nan
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", data, family="binomial", link="probit")
    assert fit.nobs == len(data) - 2
    assert "(2 observations deleted due to missingness)" in fit.summary()
    assert list(fit.fitted.index[:5]) == [1, 2, 3, 4, 6]
    with pytest.raises(DataError, match="missing"):
        mm.glm("cbind(incidence, size - incidence) ~ period", data, na_action="raise")
    # R 4.2's naprint: "(1 observation deleted due to missingness)" for one row
    data.loc[5, "incidence"] = 2.0
    one = mm.glm("cbind(incidence, size - incidence) ~ period", data, family="binomial", link="probit")
    assert "(1 observation deleted due to missingness)" in one.summary()
    assert "(1 observation deleted due to missingness)" in mm.lm("size ~ incidence", data).summary()


def test_predict_without_newdata_is_the_fit():
    ref = _reference("cbpp_cloglog")
    fit = _fit(ref)
    np.testing.assert_allclose(fit.predict(type="response"), fit.fitted, rtol=1e-12)
    np.testing.assert_allclose(fit.predict(), fit.linear_predictor, rtol=1e-12)


@pytest.mark.parametrize(
    ("formula", "family", "link", "message"),
    [
        ("cbind(incidence, size - incidence) ~ period", "poisson", None, "binomial"),
        ("herd ~ period", "binomial", None, "levels"),
        ("incidence ~ period", "binomial", None, r"\[0, 1\]"),
        ("incidence ~ period", "gamma", None, "Gamma"),
        ("incidence ~ period", "poisson", "logit", "not available"),
        ("incidence ~ period", "tweedie", None, "unknown family"),
        ("cbind(incidence) ~ period", "binomial", None, "two columns"),
    ],
)
def test_bad_input_is_refused_with_a_reason(formula, family, link, message):
    data = _data(_reference("cbpp_probit"))
    with pytest.raises(ValueError, match=message):
        mm.glm(formula, data, family=family, link=link)


def test_non_integer_counts_warn_as_r_does():
    data = _data(_reference("cbpp_probit"))
    with pytest.warns(mm.MixedModelsWarning, match="non-integer #successes in a binomial glm!"):
        mm.glm("I(incidence / size) ~ period", data, weights=1.5 * data["size"].to_numpy())
    with pytest.warns(mm.MixedModelsWarning, match="non-integer counts in a binomial glm!"):
        mm.glm("cbind(incidence + 0.5, size - incidence) ~ period", data)


def test_glmer_starts_from_the_glm_fit():
    """One response reader and one IRLS: glmer's fit at theta = 0 is mm.glm's fit."""
    data = _data(_reference("cbpp_probit"))
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", data, link="probit")
    mixed = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, link="probit")
    np.testing.assert_array_equal(mixed.optimum.glm.beta, fit.result.beta)
    np.testing.assert_array_equal(mixed.model.weights, fit.prior_weights)


def test_random_effects_are_refused():
    data = _data(_reference("cbpp_probit"))
    with pytest.raises(ValueError, match="glmer"):
        mm.glm("incidence ~ period + (1 | herd)", data, family="poisson")


# --------------------------------------------------------------------------- simulation
def test_simulate_draws_counts_over_the_trials_reproducibly():
    fit = _fit(_reference("cbpp_probit"))
    sims = fit.simulate(3, seed=7)
    assert sims.shape == (fit.nobs, 3)
    successes = sims.to_numpy() * fit.prior_weights[:, None]
    np.testing.assert_allclose(successes, np.round(successes), atol=1e-9)
    pd.testing.assert_frame_equal(sims, fit.simulate(3, seed=7))
    assert fit.simulate(5, seed=7).iloc[:, :3].equals(sims)


def test_quasi_families_cannot_be_simulated():
    fit = _fit(_reference("grouseticks_quasipoisson"))
    with pytest.raises(ValueError, match="quasi"):
        fit.simulate(1, seed=1)


def test_bootstrap_of_a_glm_refits_by_irls():
    fit = _fit(_reference("poisson_offset"))
    boot = mm.bootstrap(fit, 200, seed=3, progress=False)
    assert list(boot.replicates.columns) == fit.names
    assert boot.n_failed == 0
    np.testing.assert_allclose(boot.sd(), fit.se, rtol=0.2)
    again = mm.bootstrap(fit, 200, seed=3, progress=False)
    pd.testing.assert_frame_equal(boot.replicates, again.replicates)


def test_fmm_spline_reproduces_a_cubic():
    x = np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0])
    cubic = lambda t: 1 - 2 * t + 0.5 * t**2 - 0.3 * t**3  # noqa: E731
    grid = np.linspace(0, 4, 17)
    np.testing.assert_allclose(fmm_spline(x, cubic(x), grid), cubic(grid), rtol=1e-12, atol=1e-12)
