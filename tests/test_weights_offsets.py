"""Prior weights and offsets in lmer and lm, against lme4 1.1-31 and R 4.2.

Reference values: tests/reference/extra/ (sleepstudy_weights.json and sleepstudy_offset.json
from the project's reference set; weights_offsets.json made by weights_offsets.R beside it).
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kr_dense import dense_kenward_roger

import mixedmodels as mm

HERE = Path(__file__).parent
EXTRA = HERE / "reference" / "extra"
RTOL = 1e-4


def rel(got, want) -> float:
    got, want = np.ravel(np.asarray(got, float)), np.ravel(np.asarray(want, float))
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3 * np.max(np.abs(want)))))


@pytest.fixture(scope="module")
def sleep():
    data = pd.read_csv(HERE / "data" / "sleepstudy_weighted.csv")
    data["Subject"] = pd.Categorical(data["Subject"])
    return data


@pytest.fixture(scope="module")
def ref():
    return json.loads((EXTRA / "weights_offsets.json").read_text())


def check_fit(fit, want, se_tol=RTOL):
    assert fit.objective == pytest.approx(want["crit"], abs=1e-4)
    assert rel(fit.fixef, want["fixef"]) < RTOL
    assert rel(fit.se, want["se"]) < se_tol
    assert rel(fit.sigma, want["sigma"]) < RTOL
    np.testing.assert_allclose(fit.theta, want["theta"], atol=2e-5)  # flat: lme4 stops short


@pytest.mark.parametrize("case", ["sleepstudy_weights", "sleepstudy_offset"])
def test_reference_cases(sleep, case):
    want = json.loads((EXTRA / f"{case}.json").read_text())
    fit = mm.lmer(want["formula"], sleep, reml=want["REML"], weights=want["weights"])
    assert fit.objective == pytest.approx(want["objective"], abs=1e-4)
    assert rel(fit.fixef, want["fixef"]) < RTOL
    assert rel(fit.se, want["se"]) < 2e-5
    assert rel(fit.sigma, want["sigma"]) < RTOL
    assert rel(fit.fitted.to_numpy()[:10], want["fitted_head"]) < RTOL
    assert rel(fit.satterthwaite_df, want["satterthwaite_df"]) < 1e-4


def test_ml_weights_with_a_vector_random_effect(sleep, ref):
    want = ref["weights_ml"]
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, reml=False, weights="w")
    check_fit(fit, want)
    assert rel(fit.resid("pearson").to_numpy()[:10], want["pearson_head"]) < RTOL
    assert rel(fit.resid().to_numpy()[:10], want["response_head"]) < RTOL
    assert rel(fit.residuals.to_numpy()[:10], want["response_head"]) < RTOL
    scaled = fit.resid("pearson", scaled=True).to_numpy()
    np.testing.assert_allclose(scaled * fit.sigma, fit.resid("pearson").to_numpy())


def test_weights_given_as_an_array_are_the_column(sleep):
    by_name = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    by_array = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights=sleep["w"].to_numpy())
    assert by_array.objective == pytest.approx(by_name.objective, abs=1e-10)
    assert "Weights: w" in by_name.summary()


def test_weights_and_an_offset_together(sleep, ref):
    want = ref["weights_offset"]
    data = sleep.assign(o=5 * sleep["logdays"])
    fit = mm.lmer("Reaction ~ Days + offset(o) + (1 | Subject)", data, weights="w")
    check_fit(fit, want)
    assert rel(fit.satterthwaite_df, want["df"]) < 1e-4
    assert rel(fit.fitted.to_numpy()[:10], want["fitted_head"]) < RTOL


def test_offset_predictions_on_new_data(sleep, ref):
    want = ref["offset_predict"]
    fit = mm.lmer("Reaction ~ Days + offset(10 * logdays) + (Days || Subject)", sleep)
    check_fit(fit, want)
    new = pd.DataFrame(want["newdata"]).assign(Subject=lambda d: d["Subject"].astype(str))
    assert rel(fit.predict(new), want["predict"]) < RTOL
    assert rel(fit.predict(new, re_form="~0"), want["predict_population"]) < RTOL


def test_offset_argument_as_a_column_and_as_an_array(sleep):
    formula = mm.lmer("Reaction ~ Days + offset(logdays) + (1 | Subject)", sleep)
    column = mm.lmer("Reaction ~ Days + (1 | Subject)", sleep, offset="logdays")
    array = mm.lmer("Reaction ~ Days + (1 | Subject)", sleep, offset=sleep["logdays"].to_numpy())
    for other in (column, array):
        assert other.objective == pytest.approx(formula.objective, abs=1e-9)
        np.testing.assert_allclose(other.fitted, formula.fitted, rtol=1e-9)
    new = sleep.iloc[:5]
    np.testing.assert_allclose(column.predict(new), formula.predict(new), rtol=1e-9)
    with pytest.raises(mm.DataError, match="offset was given as an array"):
        array.predict(new)
    assert " Offset: logdays" in column.summary()


def test_zero_weights_drop_the_rows_influence(sleep, ref):
    """lme4 returns an infinite criterion with zero weights (log 0) and stops at its start; the
    rows' influence is nil, so the fit is that of the data without them (lme4's, checked)."""
    w = np.where(sleep["w"] > 0.9, sleep["w"], 0.0)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights=w)
    check_fit(fit, ref["zero_weights_dropped"])
    assert fit.nobs == int(np.count_nonzero(w))
    assert len(fit.fitted) == len(sleep)  # every row still has its fitted value
    sims = fit.simulate(3, seed=1)
    assert np.isfinite(sims.to_numpy()).all()


def test_lm_with_weights_and_an_offset(sleep, ref):
    """As R's lm; R 4.2's summary.lm computes R^2 and F from fitted values that include the
    offset (a null model without it), ours test against the null model with the same offset."""
    want = ref["lm_weights_offset"]
    fit = mm.lm("Reaction ~ Days + offset(10 * logdays)", sleep, weights="w")
    assert rel(fit.coef, want["coef"]) < 1e-8
    assert rel(fit.se, want["se"]) < 1e-8
    assert rel(fit.sigma, want["sigma"]) < 1e-8
    null = mm.lm("Reaction ~ 1 + offset(10 * logdays)", sleep, weights="w")
    assert fit.r_squared == pytest.approx(1 - fit.rss / null.rss, rel=1e-10)
    assert fit.fstatistic[0] == pytest.approx((null.rss - fit.rss) / fit.sigma**2, rel=1e-10)
    assert rel(fit.fitted.to_numpy()[:10], want["fitted_head"]) < 1e-8
    new = pd.DataFrame(ref["offset_predict"]["newdata"])
    assert rel(fit.predict(new), want["predict"]) < 1e-8


def test_weighted_profile(sleep, ref):
    """The variance parameters' profile intervals as lme4's. lme4's fixed-effect intervals of a
    weighted model are wrong (non-monotonic profiles; [251.09, 251.97] for an intercept with
    standard error 6.8), so ours are checked instead by the deviance of the model refitted with
    the coefficient held at each end as an offset: zeta there is -+1.96."""
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, reml=False, weights="w")
    ci = fit.confint(progress=False)
    want = np.array(ref["weights_ml"]["profile"])
    assert rel(ci.to_numpy()[:4], want[:4]) < 1e-3
    x = fit.design.X[:, 1]
    for end, sign in zip(ci.loc["Days"], (-1, 1)):
        held = mm.lmer("Reaction ~ 1 + (Days | Subject)", sleep, reml=False, weights="w", offset=end * x)
        zeta = sign * math.sqrt(held.objective - fit.objective)
        assert zeta == pytest.approx(sign * 1.959964, abs=2e-3)


@pytest.mark.parametrize(
    "formula", ["Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + offset(logdays) + (1 | Subject)"]
)
def test_bootstrap_with_weights_refits_the_weighted_model(sleep, formula):
    """Batched replicates equal fresh weighted fits of the same simulated responses."""
    fit = mm.lmer(formula, sleep, weights="w")
    boot = mm.bootstrap(fit, 4, seed=3, progress=False)
    sims = fit.simulate(4, seed=np.random.SeedSequence(3).spawn(1)[0])
    for i in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh = mm.lmer(formula, sleep.assign(Reaction=sims.iloc[:, i].to_numpy()), weights="w")
        row = boot.replicates.iloc[i]
        np.testing.assert_allclose(row[list(fit.fixef_names)], fresh.fixef, rtol=1e-6)
        assert row["sigma"] == pytest.approx(fresh.sigma, rel=1e-6)


def test_simulated_noise_has_variance_sigma2_over_w(sleep):
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    sims = fit.simulate(4000, use_u=True, seed=5).to_numpy()
    ratio = (sims - fit.fitted.to_numpy()[:, None]).var(axis=1) * fit.weights / fit.sigma**2
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.corrcoef(sims.var(axis=1), 1 / fit.weights)[0, 1] > 0.95


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(180), "non-negative"),
        (np.ones(10), "one value per row"),
        ("nope", "weights column 'nope' is not in the data"),
        (np.r_[np.inf, np.ones(179)], "finite"),
    ],
)
def test_bad_weights_are_refused(sleep, weights, message):
    with pytest.raises(mm.DataError, match=message):
        mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights=weights)


def test_bad_offsets_are_refused(sleep):
    with pytest.raises(mm.DataError, match="offset must be numbers"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", sleep, offset="Subject")
    with pytest.raises(mm.FormulaError, match="term of its own"):
        mm.lmer("Reaction ~ Days:offset(logdays) + (1 | Subject)", sleep)
    with pytest.raises(mm.FormulaError, match="fixed part"):
        mm.lmer("Reaction ~ Days + (offset(logdays) | Subject)", sleep)


def test_update_and_likelihood_ratio_tests_keep_weights_and_offset(sleep, ref):
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    ml = fit.update(reml=False)
    assert ml.objective == pytest.approx(ref["weights_ml"]["crit"], abs=1e-4)
    small = mm.lmer("Reaction ~ 1 + (Days | Subject)", sleep, weights="w", reml=False)
    table = mm.anova(small, fit).table
    assert table["deviance"].iloc[-1] == pytest.approx(ref["weights_ml"]["crit"], abs=1e-4)
    offset = mm.lmer("Reaction ~ Days + (1 | Subject)", sleep, offset="logdays").update(reml=False)
    assert offset.design.offset is not None


def test_callers_data_is_not_modified(sleep):
    before = sleep.copy()
    mm.lmer("Reaction ~ Days + offset(logdays) + (1 | Subject)", sleep, weights="w", offset="Days")
    pd.testing.assert_frame_equal(sleep, before)


def test_dask_fit_with_weights_and_an_offset(sleep):
    dd = pytest.importorskip("dask.dataframe")
    formula = "Reaction ~ Days + offset(Days) + (Days | Subject)"
    here = mm.lmer(formula, sleep, weights="w", offset="logdays")
    there = mm.lmer(formula, dd.from_pandas(sleep, npartitions=3), weights="w", offset="logdays")
    assert there.objective == pytest.approx(here.objective, abs=1e-8)
    np.testing.assert_allclose(there.fixef, here.fixef, rtol=1e-8)
    np.testing.assert_allclose(there.se, here.se, rtol=1e-7)
    np.testing.assert_allclose(there.fitted.compute(), here.fitted, rtol=1e-9)
    np.testing.assert_allclose(there.resid("pearson").compute(), here.resid("pearson"), rtol=1e-7, atol=1e-9)
    new = sleep.iloc[:6]
    np.testing.assert_allclose(there.predict(new), here.predict(new), rtol=1e-9)
    with pytest.raises(TypeError, match="must be a column name"):
        mm.lmer(formula, dd.from_pandas(sleep, npartitions=3), weights=sleep["w"].to_numpy())


def test_kenward_roger_of_a_weighted_model(sleep):
    """pbkrtest 0.5.2 gives 7.096 and 1.587 here, which are neither these formulas with the
    weights (6.992, 1.566) nor without them (7.488, 1.634): we follow the formulas."""
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    np.testing.assert_allclose(fit.kenward_roger.V, dense_kenward_roger(fit), rtol=1e-8)


def _argument_lines(summary: str) -> list[str]:
    """The heading's lines after "Data:" up to the first blank line."""
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("   Data: "))
    return lines[start + 1 : lines.index("", start)]


def test_weights_and_offset_lines_follow_one_rule_in_lmer_and_glmer(sleep):
    """A column is named, an array is "given", nothing given prints no line (lmer and glmer)."""
    formula = "Reaction ~ Days + (1 | Subject)"
    w, o = sleep["w"].to_numpy(), sleep["logdays"].to_numpy()
    assert _argument_lines(mm.lmer(formula, sleep).summary()) == []
    assert _argument_lines(mm.lmer(formula, sleep, weights="w").summary()) == ["Weights: w"]
    assert _argument_lines(mm.lmer(formula, sleep, weights=w, offset="logdays").summary()) == [
        "Weights: given",
        " Offset: logdays",
    ]
    assert _argument_lines(mm.lmer(formula, sleep, offset=o).summary()) == [" Offset: given"]
    cbpp = pd.read_csv(HERE / "data" / "cbpp.csv").assign(ls=lambda d: np.log(d["size"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        fits = {
            "none": mm.glmer("prop ~ period + (1 | herd)", cbpp),
            "column": mm.glmer("prop ~ period + (1 | herd)", cbpp, weights="size", offset="ls"),
            "array": mm.glmer(
                "prop ~ period + (1 | herd)",
                cbpp,
                weights=cbpp["size"].to_numpy(),
                offset=cbpp["ls"].to_numpy(),
            ),
        }
    assert _argument_lines(fits["none"].summary()) == []
    assert _argument_lines(fits["column"].summary()) == ["Weights: size", " Offset: ls"]
    assert _argument_lines(fits["array"].summary()) == ["Weights: given", " Offset: given"]
    assert fits["array"].loglik == pytest.approx(fits["column"].loglik, rel=1e-10)
