"""What a user does with a structured fit after fitting (issue 30): VarCorr, profile intervals,
bootstrap, simulate, predict, Satterthwaite and Kenward-Roger, anova.

glmmTMB 1.1.5 numbers from tests/data/make_covstruct_downstream.R.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.covariance.structures import Toeplitz
from mixedmodels.datasets import load
from mixedmodels.profile.varpar import correlation_parameter

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def long_ar1() -> pd.DataFrame:
    return pd.read_csv(DATA / "long_ar1.csv", dtype={"times": str})


@pytest.fixture(scope="module")
def ar1_fit(long_ar1):
    return mm.lmer("y ~ time + ar1(times + 0 | id)", long_ar1, reml=False)


def test_varcorr_rows_give_every_sd_and_the_ar1_correlations(ar1_fit):
    vc = ar1_fit.varcorr
    sds = vc[(vc.group == "id") & vc.var2.isna()]
    assert len(sds) == 6
    np.testing.assert_allclose(sds.sdcor, 0.9515582041, atol=2e-6)  # glmmTMB's Std.Dev.
    corr = vc[(vc.group == "id") & vc.var2.notna()]
    lag = corr.var2.str[-1].astype(int) - corr.var1.str[-1].astype(int)
    rho = 0.620178
    np.testing.assert_allclose(corr.sdcor, rho**lag, atol=2e-5)
    text = str(ar1_fit.summary())
    assert "0.9516" in text and "0.62" in text


def test_ar1_profile_matches_glmmtmb(ar1_fit):
    ci = ar1_fit.confint(method="profile")
    # glmmTMB confint(method = "profile"): exp of the log-SD limits; rho's upper limit from
    # its parameter a = 1.17512184293 (its lower limit, a = -12, is a failed profile there:
    # glmmTMB's deviance at our lower limit 0.50539 is 3.8465 above the minimum)
    np.testing.assert_allclose(ci.loc["sd_(ar1)|id"], [0.81283919, 1.07952834], atol=2e-5)
    assert abs(ci.loc["rho_(ar1)|id"].iloc[1] - 0.7615725581) < 2e-4
    assert 0.503 < ci.loc["rho_(ar1)|id"].iloc[0] < 0.507


def test_cs_profile_brackets_the_estimates():
    data = pd.read_csv(DATA / "cs_generated.csv")
    fit = mm.lmer("y ~ f + cs(f + 0 | g)", data, reml=False)
    ci = fit.confint(method="profile", parm=["rho_(cs)|g", "sd_fA|g"])
    est = fit.varcorr
    rho = est[(est.group == "g") & est.var2.notna()].sdcor.iloc[0]
    lo, hi = ci.loc["rho_(cs)|g"]
    assert -0.5 < lo < rho < hi < 1.0
    lo, hi = ci.loc["sd_fA|g"]
    assert 0 < lo < 0.8134 < hi


def test_toeplitz_longer_lags_are_refused_by_name():
    with pytest.raises(NotImplementedError, match="toep"):
        correlation_parameter(Toeplitz(4), 1, 0.3)
    a = correlation_parameter(Toeplitz(4), 0, 0.3)  # lag 1: the first partial autocorrelation
    assert abs(a / np.sqrt(1 + a * a) - 0.3) < 1e-12


def test_kenward_roger_refuses_ar1_and_us_equals_default(long_ar1):
    fit = mm.lmer("y ~ time + ar1(times + 0 | id)", long_ar1)
    with pytest.raises(NotImplementedError, match="Ar1.*Satterthwaite"):
        fit.coef_table("Kenward-Roger")
    df = fit.satterthwaite_df
    assert np.all(np.isfinite(df)) and np.all(df > 1)
    s = load("sleepstudy")
    a = mm.lmer("Reaction ~ Days + (Days | Subject)", s)
    b = mm.lmer("Reaction ~ Days + us(Days | Subject)", s)
    np.testing.assert_allclose(b.satterthwaite_df, a.satterthwaite_df, rtol=1e-6)
    np.testing.assert_allclose(b.coef_table("Kenward-Roger"), a.coef_table("Kenward-Roger"), rtol=1e-6)


def test_simulate_draws_the_ar1_covariance(ar1_fit):
    y = np.asarray(ar1_fit.simulate(nsim=300, seed=3))
    r = y - np.asarray(ar1_fit.predict(re_form="NA"))[:, None]
    cov = np.cov(r.reshape(60, 6, 300).transpose(0, 2, 1).reshape(-1, 6).T)
    sd2, rho, s2 = 0.9515582041**2, 0.620178, 0.21919**2
    lags = np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    np.testing.assert_allclose(cov, sd2 * rho**lags + s2 * np.eye(6), atol=0.06)


def test_bootstrap_predict_anova_keep_the_structure(ar1_fit, long_ar1):
    boot = mm.bootstrap(ar1_fit, nsim=4, seed=1)
    assert "rho_(ar1)|id" in str(boot)
    new = long_ar1.iloc[:6].assign(id="new")
    pred = ar1_fit.predict(new, allow_new_levels=True)
    np.testing.assert_allclose(pred, ar1_fit.predict(new, re_form="NA"))
    plain = mm.lmer("y ~ time + (1 | id)", long_ar1, reml=False)
    table = mm.anova(plain, ar1_fit)
    assert "ar1(times + 0 | id)" in str(table)
    assert abs(float(np.asarray(table.table["Chisq"])[-1]) - 2 * (ar1_fit.loglik - plain.loglik)) < 1e-6


def test_glmer_ar1_profile_brackets_the_sd(long_ar1):
    data = long_ar1.assign(yb=(long_ar1.y > long_ar1.y.median()).astype(int))
    fit = mm.glmer("yb ~ time + ar1(times + 0 | id)", data, family="binomial")
    ci = fit.confint(method="profile", parm=["sd_(ar1)|id"])
    sd = fit.varcorr.sdcor.iloc[0]
    lo, hi = ci.loc["sd_(ar1)|id"]
    assert 0 < lo < sd < hi


def test_cs_of_two_columns_is_unstructured_downstream():
    """cs over two columns is the unstructured 2 x 2 covariance in other coordinates: its
    profile intervals and Satterthwaite df are those of lme4's default term."""
    data = pd.read_csv(DATA / "cs_generated.csv")
    data = data[data.f != "C"].iloc[::3].reset_index(drop=True)  # unbalanced
    a = mm.lmer("y ~ f + (f + 0 | g)", data)
    b = mm.lmer("y ~ f + cs(f + 0 | g)", data)
    assert abs(a.loglik - b.loglik) < 1e-7
    np.testing.assert_allclose(b.satterthwaite_df, a.satterthwaite_df, rtol=1e-5)
    pa = a.confint(method="profile", parm=["sd_fA|g", "cor_fB.fA|g"])
    pb = b.confint(method="profile", parm=["sd_fA|g", "rho_(cs)|g"])
    np.testing.assert_allclose(pb.to_numpy(), pa.to_numpy(), atol=2e-5)


def test_random_effects_table_shows_the_structure(ar1_fit):
    from mixedmodels.report.lmm import random_effects_block

    lines = random_effects_block(ar1_fit).splitlines()
    assert lines[1].split() == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
    assert lines[2].split() == ["id", "times0", "0.90546", "0.9516", "0.62", "(ar1)"]  # glmmTMB's
    assert lines[3].split() == ["times1", "0.90546", "0.9516"]
    data = pd.read_csv(DATA / "cs_generated.csv")
    fit = mm.lmer("y ~ f + cs(f + 0 | g)", data, reml=False)
    lines = random_effects_block(fit).splitlines()
    # glmmTMB: fA 0.6616 0.8134 0.41 (cs); fB 0.7079 0.8413; fC 0.5149 0.7176; Residual 0.2593 0.5092
    assert lines[2].split() == ["g", "fA", "0.6616", "0.8134", "0.41", "(cs)"]
    assert lines[4].split() == ["fC", "0.5149", "0.7176"]
    assert lines[5].split() == ["Residual", "0.2593", "0.5092"]


def test_ranova_keeps_the_structures_of_the_other_terms(long_ar1):
    data = long_ar1.assign(g=(long_ar1.index % 7).astype(str))
    fit = mm.lmer("y ~ time + ar1(times + 0 | id) + (1 | g)", data, reml=False)
    table = mm.ranova(fit).table
    assert list(table.index) == ["<none>", "ar1(times + 0 | id)", "(1 | g)"]
    without_g = mm.lmer("y ~ time + ar1(times + 0 | id)", data, reml=False)
    assert abs(table.logLik.iloc[2] - without_g.loglik) < 1e-6
    assert table.Df.iloc[1] == 2  # the ar1 term's SD and rho


@pytest.mark.parametrize("structure", ["cs", "ar1"])
def test_batched_bootstrap_refits_equal_single_refits(structure, long_ar1):
    from mixedmodels.replicates.bootstrap import LmerRefits, refit_lmer

    if structure == "cs":
        fit = mm.lmer("y ~ f + cs(f + 0 | g)", pd.read_csv(DATA / "cs_generated.csv"), reml=False)
    else:
        fit = mm.lmer("y ~ time + ar1(times + 0 | id)", long_ar1.iloc[:120], reml=False)
    refits = LmerRefits(fit, None)
    assert refits.batch is not None
    Y = np.asarray(fit.simulate(nsim=3, seed=3))
    _, status, theta = refits.run(Y)
    assert (status == "ok").sum() >= 2
    for i in np.flatnonzero(status == "ok"):
        np.testing.assert_allclose(theta[i], refit_lmer(fit, Y[:, i]).opt.theta, rtol=1e-4, atol=1e-5)


def test_refit_keeps_the_structure():
    data = pd.read_csv(DATA / "cs_generated.csv")
    fit = mm.lmer("y ~ f + cs(f + 0 | g)", data, reml=False)
    y = data.y.to_numpy() + 0.3 * np.sin(np.arange(len(data)))
    again = fit.refit(y)
    fresh = mm.lmer("y ~ f + cs(f + 0 | g)", data.assign(y=y), reml=False)
    assert again.loglik == pytest.approx(fresh.loglik, abs=1e-6)
    np.testing.assert_allclose(again.varcorr.sdcor, fresh.varcorr.sdcor, atol=1e-4)
    table = fit.anova()
    assert np.all(np.isfinite(table["DenDF"].to_numpy(dtype=float)))


def test_diag_profile_is_the_split_terms():
    s = load("sleepstudy")
    a = mm.lmer("Reaction ~ Days + (Days || Subject)", s, reml=False)
    b = mm.lmer("Reaction ~ Days + diag(Days | Subject)", s, reml=False)
    pa = a.confint(method="profile", parm=[n for n in a.varpar_names if n.startswith("sd_")])
    pb = b.confint(method="profile", parm=[n for n in b.varpar_names if n.startswith("sd_")])
    np.testing.assert_allclose(pb.to_numpy(), pa.to_numpy(), atol=2e-5)


# ------------------------------------------------------------------ a zero standard deviation
def test_varcorr_gives_a_structures_correlation_where_an_sd_is_zero():
    """VarCorr once showed 0 (0/0) for the correlations of a column whose SD is 0, while the
    fit's other tables gave the structure's rho; glmmTMB shows rho, the covariance 0."""
    data = pd.read_csv(DATA / "pois_ar1_generated.csv", dtype={"times": str})
    with pytest.warns(mm.MixedModelsWarning):
        fit = mm.glmer("y ~ x + cs(times + 0 | id)", data, family="poisson")
    structure = fit.design.reterms[0].structure
    rho = float(structure.correlation_values(fit.theta[structure.nscale :])[0])
    vc = fit.varcorr
    sds = vc[vc.var2.isna()].set_index("var1").sdcor
    assert sds["times0"] == 0 and sds["times1"] == 0 and sds["times2"] > 0.1  # two zero SDs here
    corr = vc[vc.var2.notna()]
    np.testing.assert_allclose(corr.sdcor, rho, rtol=1e-12)
    zero = corr.var1.isin(["times0", "times1"])
    assert zero.sum() == 9 and np.all(corr.vcov[zero] == 0) and np.all(corr.vcov[~zero] > 0)
    assert f"{rho:.2f} (cs)" in str(fit.summary())
    tidy = mm.tidy(fit, "ran_pars")
    np.testing.assert_allclose(tidy[tidy.term.str.startswith("cor__")].estimate, rho, rtol=1e-12)


def test_varcorr_of_an_unstructured_term_with_a_zero_sd_is_nan_as_lme4():
    """lme4 1.1-31 at theta (0, 0, 0.2), sigma 29.728694 (tests/data/varcorr_zero_sd.R, its
    output in comments): as.data.frame(VarCorr) gives the correlation NaN (0/0) with covariance
    0, and print(VarCorr) shows NaN."""
    import dataclasses

    from mixedmodels.lmm.ranef import varcorr_rows
    from mixedmodels.report.lmm import random_effects_block

    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))
    rows = varcorr_rows(fit.design.reterms, [np.array([0.0, 0.0, 0.2])], 29.728694**2)
    np.testing.assert_allclose([r[4] for r in rows[:2]], [0.0, 5.945739], rtol=1e-6)
    assert rows[2][3] == 0 and np.isnan(rows[2][4])
    rows = varcorr_rows(fit.design.reterms, [np.array([0.9, 0.1, 0.0])], 28.377688**2)
    np.testing.assert_allclose([r[4] for r in rows], [25.539919, 2.837769, 1.0], rtol=1e-6)  # lme4's
    zero = dataclasses.replace(fit, opt=dataclasses.replace(fit.opt, theta=np.array([0.0, 0.0, 0.2])))
    assert np.isnan(zero.varcorr.sdcor.iloc[2])
    days = [line for line in random_effects_block(zero).splitlines() if "Days" in line][0]
    assert days.split()[-1] == "NaN"
