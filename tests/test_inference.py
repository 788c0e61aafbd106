"""Likelihood-ratio tests, F tests, type III ANOVA and predictions against R (inference.json,
made by tests/reference/make_inference_reference.R)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference

import mixedmodels as mm
from mixedmodels import datasets

REF = load_reference("inference")


@pytest.fixture(scope="module")
def sleep():
    data = datasets.load("sleepstudy")
    return (
        mm.lmer("Reaction ~ Days + (1 | Subject)", data),
        mm.lmer("Reaction ~ Days + (Days | Subject)", data),
    )


def test_likelihood_ratio_test_matches_lme4(sleep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refitting note is in the printout, not a warning too
        result = mm.anova(*sleep, names=["m0", "m1"])
    assert result.refitted and str(result).count("refitting model(s) with ML") == 1
    want = REF["anova_sleepstudy"]
    t = result.table
    assert list(t.index) == ["m0", "m1"] and list(t.npar) == want["npar"]
    for ours, theirs in (("AIC", "AIC"), ("BIC", "BIC"), ("logLik", "logLik"), ("deviance", "deviance")):
        np.testing.assert_allclose(t[ours], want[theirs], rtol=1e-7)
    assert t["Chisq"].iloc[1] == pytest.approx(want["Chisq"][1], rel=1e-6)
    assert t["Df"].iloc[1] == 2
    assert t["Pr(>Chisq)"].iloc[1] == pytest.approx(want["p"][1], rel=1e-5)


def test_anova_orders_by_parameters_and_checks_inputs(sleep):
    m0, m1 = sleep
    ml = [m.update(reml=False) for m in (m1, m0)]
    t = mm.anova(*ml).table
    assert list(t.npar) == [4, 6]
    lm_fit = mm.lm("Reaction ~ Days", datasets.load("sleepstudy"))
    both = mm.anova(lm_fit, ml[1]).table
    assert both["Chisq"].iloc[1] == pytest.approx(2 * (ml[1].loglik - lm_fit.loglik))
    with pytest.raises(ValueError, match="at least two"):
        mm.anova(m0)
    with pytest.raises(ValueError, match="different numbers of observations"):
        mm.anova(m0, mm.lmer("y ~ x + (1 | p)", datasets.load("seed")))


def test_predictions_match_lme4(sleep):
    _, m1 = sleep
    newdata = pd.DataFrame(REF["predict_newdata"])
    np.testing.assert_allclose(m1.predict(newdata, allow_new_levels=True), REF["predict_all"], rtol=2e-6)
    np.testing.assert_allclose(m1.predict(newdata, re_form="~0"), REF["predict_none"], rtol=1e-9)
    np.testing.assert_allclose(m1.predict(newdata, re_form="NA"), REF["predict_none"], rtol=1e-9)
    subject = m1.predict(newdata, re_form="~(1 | Subject)", allow_new_levels=True)
    np.testing.assert_allclose(subject, REF["predict_subject_intercept"], rtol=2e-6)
    np.testing.assert_allclose(m1.predict()[:5], REF["predict_fitted_head"], rtol=2e-6)
    np.testing.assert_allclose(m1.predict(), m1.fitted)


def test_new_levels_are_refused_by_name(sleep):
    _, m1 = sleep
    newdata = pd.DataFrame({"Days": [1, 2], "Subject": ["308", "999"]})
    with pytest.raises(ValueError, match=r"grouping factor 'Subject' not in the fit: 999"):
        m1.predict(newdata)


def test_levels_are_matched_by_label_not_position(sleep):
    _, m1 = sleep
    newdata = pd.DataFrame({"Days": [3.0, 3.0], "Subject": ["372", "308"]})
    shuffled = newdata.assign(Subject=pd.Categorical(newdata.Subject, categories=["372", "308"]))
    as_int = newdata.assign(Subject=newdata.Subject.astype(int))
    expected = m1.predict(newdata)
    np.testing.assert_allclose(m1.predict(shuffled), expected)
    np.testing.assert_allclose(m1.predict(as_int), expected)
    b = m1.ranef()["Subject"]
    assert expected.iloc[0] == pytest.approx(
        m1.fixef.iloc[0] + b.loc["372"].iloc[0] + 3 * (m1.fixef.iloc[1] + b.loc["372"].iloc[1])
    )


def test_lm_prediction_intervals_match_r():
    fit = mm.lm("y ~ x + p", datasets.load("seed"), contrasts={"p": "sum"})
    newdata = pd.DataFrame({"x": [0.5, 3.0], "p": ["2", "7"]})
    np.testing.assert_allclose(fit.predict(newdata, interval="confidence"), REF["lm_confidence"], rtol=1e-10)
    np.testing.assert_allclose(
        fit.predict(newdata, interval="prediction", level=0.9), REF["lm_prediction"], rtol=1e-10
    )
    with pytest.raises(mm.DataError, match="level"):
        fit.predict(pd.DataFrame({"x": [1.0], "p": ["11"]}))


@pytest.fixture(scope="module")
def cake():
    return mm.lmer("angle ~ recipe * temp + (1 | recipe:replicate)", datasets.load("cake"))


def test_contrast_f_test_matches_lmertest(cake):
    want = REF["contest_cake"]
    got = cake.contest(np.array(want["L"]))
    assert got["NumDF"] == want["NumDF"]
    assert got["F value"] == pytest.approx(want["F"], rel=1e-6)
    assert got["DenDF"] == pytest.approx(want["DenDF"], rel=1e-3)
    assert got["Pr(>F)"] == pytest.approx(want["p"], rel=1e-4)


def test_type3_anova_matches_lmertest(cake):
    want = REF["anova3_cake"]
    got = cake.anova()
    assert list(got.index) == want["terms"]
    np.testing.assert_allclose(got["F value"], want["F"], rtol=1e-6)
    np.testing.assert_allclose(got["NumDF"], want["NumDF"])
    np.testing.assert_allclose(got["DenDF"], want["DenDF"], rtol=1e-3)
    np.testing.assert_allclose(got["Pr(>F)"], want["p"], rtol=1e-3)
    # the table does not depend on the coding of recipe
    helmert = mm.lmer(cake.formula, datasets.load("cake"), contrasts={"recipe": "helmert"}).anova()
    np.testing.assert_allclose(helmert["F value"], got["F value"], rtol=1e-6)


def test_refit_and_update(sleep):
    m0, m1 = sleep
    same = m1.refit(m1.design.y)
    np.testing.assert_allclose(same.fixef, m1.fixef, rtol=1e-8)
    shifted = m1.refit(m1.design.y + 10)
    assert shifted.fixef.iloc[0] == pytest.approx(m1.fixef.iloc[0] + 10, rel=1e-7)
    ml = m1.update(reml=False)
    assert not ml.reml and ml.loglik == pytest.approx(REF["anova_sleepstudy"]["logLik"][1], rel=1e-8)
    other = m1.update(formula="Reaction ~ Days + (1 | Subject)")
    assert other.objective == pytest.approx(m0.objective)
    with pytest.raises(ValueError, match="new response"):
        m1.refit(np.ones(3))


def test_deviance_of_a_reml_fit_is_lme4s_ml_deviance_at_the_reml_estimate():
    """R: deviance(fit, REML = FALSE) of lme4 1.1-31's REML fits (not the REML criterion)."""
    sleep = mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    assert sleep.deviance == pytest.approx(1751.985866432, rel=1e-7)  # theta differs by ~1e-6
    dyes = mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
    assert dyes.deviance == pytest.approx(327.403942674356, rel=1e-9)
    ml = mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"), reml=False)
    assert ml.deviance == ml.objective
