"""What the checks ask of a fit (its Pearson dispersion, its response and simulations as draws,
its confint methods), each against an independent computation: standardized residuals and
Cook's distances of glmer.nb and beta fits, a weighted binomial's predictive checks, tidy's
interval methods, augment's rows with duplicate labels, binned residuals' bins, read-only
results and collinearity of a Dask lmer fit."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.checks import model_check as mc
from mixedmodels.datasets import load

HERE = Path(__file__).parent
MTCARS = pd.read_csv(HERE / "reference" / "checks" / "mtcars.csv")


@pytest.fixture(scope="module")
def salamanders():
    return load("salamanders")


@pytest.fixture(scope="module")
def nb_fit(salamanders):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.glmer_nb("count ~ mined + (1 | site)", salamanders)


@pytest.fixture(scope="module")
def beta_fit():
    data = pd.read_csv(HERE / "data" / "beta_generated.csv")
    return data, mm.glmer("y ~ x + (1 | g)", data, family="beta")


@pytest.fixture(scope="module")
def weighted_cbpp():
    cbpp = load("cbpp")
    return cbpp.assign(w=np.where(np.arange(len(cbpp)) % 2 == 0, 1.0, 2.0))


# ------------------------------------------------------------------ B1: the Pearson dispersion
def _hand_influence(pearson, phi, h, p):
    d = pearson / np.sqrt(phi * (1 - h))
    return d, d**2 * h / (p * (1 - h))


def test_glmer_nb_residuals_are_standardized_by_the_full_variance(nb_fit, salamanders):
    theta = nb_fit.theta_nb
    mu = nb_fit.mu
    y = salamanders["count"].to_numpy(dtype=float)
    pearson = (y - mu) / np.sqrt(mu + mu**2 / theta)  # the NB2 variance: no further dispersion
    np.testing.assert_allclose(nb_fit.pearson_dispersion, 1.0)
    table = mc.influence_table(nb_fit)
    h = table["hat"].to_numpy()
    d, cook = _hand_influence(pearson, 1.0, h, 2)
    np.testing.assert_allclose(table["std_resid"], d, rtol=1e-10)
    np.testing.assert_allclose(table["cooks_distance"], cook, rtol=1e-10)
    # a fit of the right family has standardized residuals of variance about 1 (theta 1/sigma^2
    # would have made them 1.6 times too large)
    assert 0.8 < np.std(d) < 1.2


def test_beta_glmm_residuals_are_standardized_by_its_precision(beta_fit):
    data, fit = beta_fit
    phi = fit.sigma  # glmmTMB's sigma() of a beta: the precision
    mu = fit.mu
    y = data["y"].to_numpy()
    np.testing.assert_allclose(fit.pearson_dispersion, 1 / (1 + phi), rtol=1e-12)
    # glmmTMB 1.1.5 (tests/reference/checks/beta_pearson.R): sigma(fit) and the first residuals of
    # residuals(fit, "pearson") * sqrt(1 + sigma(fit)) (its Pearson residuals divide by mu (1 - mu))
    assert phi == pytest.approx(7.90964491796, rel=1e-5)
    r_standardized = [0.202826549327, 1.85423064609, 2.28403429824, -0.458261183863, -0.689351262236]
    standardized = (y - mu) / np.sqrt(mu * (1 - mu) / (1 + phi))  # Var(y) = mu (1 - mu) / (1 + phi)
    check = mc.model_check(fit, nsim=2, seed=1)
    np.testing.assert_allclose(check.scaled_residuals, standardized, rtol=1e-10)
    np.testing.assert_allclose(check.scaled_residuals[:5], r_standardized, rtol=1e-4)
    assert 0.85 < np.std(check.scaled_residuals) < 1.15  # was 0.005 with phi taken for sigma^2
    table = mc.influence_table(fit)
    d, cook = _hand_influence(fit.resid("pearson").to_numpy(), 1 / (1 + phi), table["hat"].to_numpy(), 2)
    np.testing.assert_allclose(table["std_resid"], d, rtol=1e-10)
    np.testing.assert_allclose(table["cooks_distance"], cook, rtol=1e-10)


def test_gamma_glmm_residuals_are_standardized_by_its_coefficient_of_variation():
    data = pd.read_csv(HERE / "data" / "gamma_generated.csv")
    fit = mm.glmer("y ~ x + (1 | g)", data, family="Gamma", link="log")
    cv, mu = fit.sigma, fit.mu  # glmmTMB's sigma() of a Gamma: 1 / sqrt(shape)
    np.testing.assert_allclose(fit.pearson_dispersion, cv**2, rtol=1e-12)
    table = mc.influence_table(fit)
    standardized = (data["y"].to_numpy() - mu) / (cv * mu)  # Var(y) = cv^2 mu^2
    h = table["hat"].to_numpy()
    np.testing.assert_allclose(table["std_resid"], standardized / np.sqrt(1 - h), rtol=1e-10)
    assert 0.8 < np.std(standardized) < 1.2


def test_gaussian_fits_keep_sigma_squared():
    sleep = load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    np.testing.assert_allclose(fit.pearson_dispersion, fit.sigma**2)
    glm = mm.glm("mpg ~ wt", MTCARS, family="gaussian")
    np.testing.assert_allclose(glm.pearson_dispersion, glm.dispersion)


# ------------------------------------------------------------------ B3: draws of a weighted binomial
@pytest.mark.parametrize("mixed", [False, True])
def test_weighted_binomial_draws_agree_between_the_checks(weighted_cbpp, mixed):
    formula = "cbind(incidence, size - incidence) ~ period"
    if mixed:
        fit = mm.glmer(formula + " + (1 | herd)", weighted_cbpp, family="binomial", weights="w")
    else:
        fit = mm.glm(formula, weighted_cbpp, family="binomial", weights="w")
    w, size = weighted_cbpp["w"].to_numpy(), weighted_cbpp["size"].to_numpy()
    successes = weighted_cbpp["incidence"].to_numpy() * w  # out of size * w trials, as R simulates
    res = mm.simulate_residuals(fit, n=40, seed=1)
    check = mc.model_check(fit, nsim=40, seed=1)
    for observed, simulated in ((res.observed, res.simulated), (check.observed, check.simulated)):
        np.testing.assert_array_equal(observed, successes)
        assert np.all(simulated == np.round(simulated))
        assert np.all((simulated >= 0) & (simulated <= (size * w)[:, None]))
    assert check.discrete
    if not mixed:  # the draws' mean: the trials times the fitted probability (4 standard errors)
        p, trials = fit.fitted.to_numpy(), size * w
        se = np.sqrt(trials * p * (1 - p) / 40)
        assert np.all(np.abs(check.simulated.mean(axis=1) - trials * p) < 4 * se + 1e-12)


# ------------------------------------------------------------------ B7: bins
def test_binned_residuals_refuse_more_bins_than_rows():
    fit = mm.glm("am ~ hp", MTCARS, family="binomial")
    with pytest.raises(ValueError, match="number of observations"):
        mm.binned_residuals(fit, n_bins=33)
    table = mm.binned_residuals(fit, n_bins=16)  # two rows a bin (hp has ties: fewer bins)
    assert table["n"].sum() <= 32 and np.all(table["n"] >= 2) and len(table) <= 16
    single = mm.binned_residuals(fit, n_bins=32)  # one row a bin: only tied predictions make bins
    assert np.all(single["n"] >= 2) and np.allclose(single["x.lo"], single["x.hi"])


# ------------------------------------------------------------------ B4: augment's rows
def test_augment_selects_rows_by_position_with_duplicate_labels():
    sleep = load("sleepstudy")
    dup = sleep.set_axis(list(range(90)) * 2, axis=0)
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", dup)
    table = mm.augment(fit)
    assert len(table) == 180
    np.testing.assert_array_equal(table["Reaction"], sleep["Reaction"])
    np.testing.assert_allclose(table[".cooksd"], mm.cooks_distance(fit).to_numpy())
    holes = dup.copy()
    holes.iloc[[3, 100], holes.columns.get_loc("Reaction")] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.lmer("Reaction ~ Days + (1 | Subject)", holes)
    table = mm.augment(fit)
    keep = np.setdiff1d(np.arange(180), [3, 100])
    np.testing.assert_array_equal(table["Reaction"], sleep["Reaction"].to_numpy()[keep])


def test_augment_reads_model_checks_leverages_and_cooks_distances():
    for fit in (
        mm.lm("mpg ~ wt + hp", MTCARS),
        mm.glm("am ~ wt + hp", MTCARS, family="binomial"),
        mm.lmer("Reaction ~ Days + (Days | Subject)", load("sleepstudy")),
    ):
        table, influence = mm.augment(fit), mc.influence_table(fit)
        np.testing.assert_array_equal(table[".hat"], influence["hat"])
        np.testing.assert_array_equal(table[".cooksd"], influence["cooks_distance"])


# ------------------------------------------------------------------ B5: tidy's intervals
def test_tidy_conf_method_is_honoured_per_fit_type():
    glm = mm.glm("am ~ wt + hp", MTCARS, family="binomial")
    default = mm.tidy(glm, conf_int=True)
    profile = glm.confint("profile")
    np.testing.assert_allclose(default[["conf.low", "conf.high"]], profile.to_numpy())  # broom's
    wald = mm.tidy(glm, conf_int=True, conf_method="Wald")
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(wald["conf.low"], wald["estimate"] - z * wald["std.error"], rtol=1e-12)
    assert not np.allclose(wald["conf.low"], default["conf.low"])
    lm = mm.lm("mpg ~ wt + hp", MTCARS)
    t = stats.t.ppf(0.975, lm.df_residual)
    ci = mm.tidy(lm, conf_int=True)
    np.testing.assert_allclose(ci["conf.high"], ci["estimate"] + t * ci["std.error"], rtol=1e-12)
    for method in ("profile", "boot"):
        with pytest.raises(ValueError, match=f"LmFit has no '{method}' intervals"):
            mm.tidy(lm, conf_int=True, conf_method=method)
    with pytest.raises(ValueError, match="GlmFit has no 'boot' intervals"):
        mm.tidy(glm, conf_int=True, conf_method="boot", nsim=20)
    with pytest.raises(ValueError, match="Wald intervals take none"):
        mm.tidy(glm, conf_int=True, conf_method="Wald", nsim=20)


def test_tidy_forwards_confint_args_to_the_bootstrap():
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", load("sleepstudy"))
    a = mm.tidy(fit, effects="fixed", conf_int=True, conf_method="boot", nsim=20, seed=1)
    b = mm.tidy(fit, effects="fixed", conf_int=True, conf_method="boot", nsim=20, seed=1)
    c = mm.tidy(fit, effects="fixed", conf_int=True, conf_method="boot", nsim=20, seed=2)
    np.testing.assert_array_equal(a["conf.low"], b["conf.low"])
    assert not np.allclose(a["conf.low"], c["conf.low"])
    expected = fit.confint(method="boot", nsim=20, seed=1).loc[list(fit.fixef_names)]
    np.testing.assert_allclose(a[["conf.low", "conf.high"]], expected.to_numpy())


# ------------------------------------------------------------------ D8: read-only results
def test_results_are_read_only_and_tests_computed_once(nb_fit):
    res = mm.simulate_residuals(nb_fit, n=20, seed=1)
    for values in (res.observed, res.simulated, res.scaled_values, res.outliers):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 1
    assert res.test_dispersion() is res.test_dispersion()
    assert res.test_dispersion("greater") is not res.test_dispersion()
    assert int(res.outliers.sum()) == res.test_outliers().observed
    check = mc.model_check(nb_fit, nsim=3, seed=1)
    assert isinstance(check.ranef, tuple)
    with pytest.raises(ValueError, match="read-only"):
        check.simulated[0, 0] = 1


# ------------------------------------------------------------------ D9: a Dask lmer fit
def test_check_collinearity_of_a_dask_lmer_fit():
    dd = pytest.importorskip("dask.dataframe")
    sleep = load("sleepstudy").assign(x=lambda d: d["Days"] ** 2 + np.linspace(0, 1, 180))
    formula = "Reaction ~ Days + x + (1 | Subject)"
    memory = mm.check_collinearity(mm.lmer(formula, sleep))
    lazy = mm.lmer(formula, dd.from_pandas(sleep, npartitions=2))
    pd.testing.assert_frame_equal(mm.check_collinearity(lazy), memory, rtol=1e-6)
