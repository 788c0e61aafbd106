"""simulate_residuals: DHARMa's scaled (PIT) residuals and tests (mixedmodels.checks)."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.checks.dharma_tests import (
    dispersion_test,
    linear_quantile_regression,
    outlier_test,
    scaled_residuals,
    simulation_p,
    uniformity_test,
    zero_inflation_test,
)
from mixedmodels.datasets import load

DATA = Path(__file__).parent / "data"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def cbpp():
    return load("cbpp")


@pytest.fixture(scope="module")
def cbpp_fit(cbpp):
    return mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")


@pytest.fixture(scope="module")
def sleep_fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))


@pytest.fixture(scope="module")
def grouseticks():
    return pd.read_csv(DATA / "grouseticks.csv", dtype={"BROOD": str, "YEAR": str, "LOCATION": str})


@pytest.fixture(scope="module")
def grouse_fit(grouseticks):
    return mm.glmer("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", grouseticks, family="poisson")


def _replay(fit, res, n: int, seed: int, use_u: bool = True) -> None:
    """The residuals recomputed from the fit's own draws with the same seed: the simulations
    equal, and each residual the fraction of simulations below the observed value, drawn
    uniformly up to the fraction at or below it with the next uniform of the stream."""
    rng = np.random.default_rng(seed)
    observed, simulated = fit.simulate_draws(n, rng, use_u=use_u)
    np.testing.assert_array_equal(res.observed, observed)
    np.testing.assert_array_equal(res.simulated, simulated)
    below = (simulated < observed[:, None]).mean(axis=1)
    at = (simulated <= observed[:, None]).mean(axis=1)
    np.testing.assert_allclose(res.scaled_values, below + rng.random(len(below)) * (at - below), atol=1e-15)


def _draws_follow_the_model(fit, res, tolerance: float = 0.1) -> None:
    """Conditional draws have the fit's conditional means and the model's variances: the pooled
    mean deviation within 4 standard errors, the pooled variance ratio within ``tolerance``."""
    scale = fit.response_as_draws(np.ones(fit.nobs), means=True)  # a binomial's trials, else 1
    mean, variance = scale * fit.fitted.to_numpy(), scale**2 * fit.response_variance
    deviations = res.simulated - mean[:, None]
    se = np.sqrt(variance.sum() * res.n) / deviations.size
    assert abs(deviations.mean()) < 4 * se
    assert abs(np.mean(deviations**2 / variance[:, None]) - 1) < tolerance


def _grouped(seed: int, groups: int = 20, per: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "g": pd.Categorical(np.repeat([f"g{i:02d}" for i in range(groups)], per)),
            "x": rng.standard_normal(groups * per),
        }
    )
    d["eta"] = 0.3 + 0.5 * d.x + rng.normal(0, 0.6, groups)[d.g.cat.codes]
    return d


# ------------------------------------------------------------------ the PIT
def test_continuous_pit_is_the_ecdf():
    rng = np.random.default_rng(1)
    sims = rng.standard_normal((50, 40))
    y = rng.standard_normal(50)
    r = scaled_residuals(y, sims, np.random.default_rng(2))
    ecdf = np.array([np.mean(sims[i] <= y[i]) for i in range(50)])
    np.testing.assert_array_equal(r, ecdf)


def test_discrete_pit_lies_between_the_ecdf_below_and_at_y():
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.5, 4, 300)
    sims = rng.poisson(mu[:, None], (300, 60)).astype(float)
    y = rng.poisson(mu).astype(float)
    r = scaled_residuals(y, sims, np.random.default_rng(4))
    below = np.array([np.mean(sims[i] <= y[i] - 1) for i in range(300)])
    at = np.array([np.mean(sims[i] <= y[i]) for i in range(300)])
    assert np.all(r >= below) and np.all(r <= at)
    tied = below < at
    assert tied.sum() > 250 and np.all((r[tied] > below[tied]) & (r[tied] < at[tied]))
    # and uniform between them: the draw's position is U(0, 1)
    u = (r[tied] - below[tied]) / (at[tied] - below[tied])
    assert stats.kstest(u, "uniform").pvalue > 0.001


def test_observed_outside_all_simulations_is_zero_or_one():
    sims = np.tile(np.arange(10.0), (3, 1))
    r = scaled_residuals(np.array([-1.0, 20.0, 4.5]), sims, np.random.default_rng(0))
    np.testing.assert_array_equal(r, [0.0, 1.0, 0.5])


# ------------------------------------------------------------------ the tests on arrays
def test_simulation_p_is_dharmas_getp():
    sims = np.arange(1.0, 11.0)
    assert simulation_p(sims, 9.0, "greater") == 0.2
    assert simulation_p(sims, 9.0, "less") == 0.9
    assert simulation_p(sims, 9.0, "two.sided") == 0.4
    assert simulation_p(sims, 5.5, "two.sided") == 1.0


def test_dispersion_statistic_is_the_variance_ratio():
    rng = np.random.default_rng(5)
    f = rng.uniform(1, 5, 40)
    sims = rng.poisson(f[:, None], (40, 30)).astype(float)
    y = rng.poisson(f * 1.0).astype(float) * 2
    t = dispersion_test(y, sims, f)
    expected = np.var(y - f, ddof=1) / np.mean(np.var(sims - f[:, None], axis=0, ddof=1))
    assert t.statistic == pytest.approx(expected)
    assert t.statistic_name == "dispersion" and t.p < 0.05


def test_zero_inflation_statistic_counts_zeros():
    sims = np.array([[0.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    t = zero_inflation_test(np.array([0.0, 0.0, 0.0]), sims)
    assert t.statistic == pytest.approx(3 / 2) and t.statistic_name == "ratioObsSim"
    assert t.observed == 3 and t.expected == 2


def test_outlier_test_is_rs_binom_test():
    r = np.r_[np.zeros(3), np.ones(2), np.linspace(0.1, 0.9, 95)]
    t = outlier_test(r, nsim=99)
    assert t.statistic == 5 and t.expected == pytest.approx(2.0)
    # R 4.2.2 (tests/reference/checks/simulated_residuals.R): binom.test(5, 100, p = 2/100)$p.value
    assert t.p == pytest.approx(0.05083044537, rel=1e-9)


def test_uniformity_test_is_rs_ks_test():
    r = np.linspace(0.005, 0.995, 100) ** 1.3
    t = uniformity_test(r)
    # R 4.2.2: ks.test(seq(0.005, 0.995, length.out = 100)^1.3, "punif")
    assert t.statistic == pytest.approx(0.1012409486, rel=1e-9)
    assert t.p == pytest.approx(0.2569343212, rel=1e-9)
    assert t.method.startswith("Asymptotic")
    assert uniformity_test(r[:50]).method.startswith("Exact")


def test_bad_alternative_is_named():
    with pytest.raises(ValueError, match="alternative must be one of"):
        uniformity_test(np.linspace(0, 1, 10), "bigger")


def test_linear_quantile_regression_is_quantreg_rq():
    x = np.arange(101) / 100
    y = 2 + 3 * x + np.sin(37 * x) + 0.5 * np.cos(11 * x**2)
    # R 4.2.2, quantreg: coef(rq(y ~ x, tau = tau)) for the same x and y
    reference = {0.25: (1.80583400003, 2.20300542643), 0.5: (2.71179144045, 1.64688327519)}
    reference[0.75] = (3.19618953293, 1.90467693528)
    for tau, (a, b) in reference.items():
        assert linear_quantile_regression(x, y, tau) == pytest.approx((a, b), rel=1e-8)


# ------------------------------------------------------------------ simulate_residuals on fits
def test_seeded_reproducibility(cbpp_fit):
    a = mm.simulate_residuals(cbpp_fit, n=50, seed=7)
    b = mm.simulate_residuals(cbpp_fit, n=50, seed=7)
    c = mm.simulate_residuals(cbpp_fit, n=50, seed=8)
    np.testing.assert_array_equal(a.scaled_values, b.scaled_values)
    np.testing.assert_array_equal(a.simulated, b.simulated)
    assert not np.array_equal(a.scaled_values, c.scaled_values)
    assert a.simulated.shape == (len(cbpp_fit.fitted), 50)


def test_binomial_is_compared_as_successes(cbpp, cbpp_fit):
    res = mm.simulate_residuals(cbpp_fit, n=100, seed=1)
    np.testing.assert_array_equal(res.observed, cbpp.incidence.to_numpy())
    assert np.all(res.simulated == np.round(res.simulated)) and np.all(
        res.simulated <= cbpp["size"].to_numpy()[:, None]
    )
    np.testing.assert_allclose(res.centre, res.fitted * cbpp["size"].to_numpy())
    # the same model as proportions with weights gives the same residuals
    prop = mm.glmer(
        "incidence / size ~ period + (1 | herd)", cbpp, family="binomial", weights=cbpp["size"].to_numpy()
    )
    other = mm.simulate_residuals(prop, n=100, seed=1)
    np.testing.assert_allclose(other.observed, res.observed)
    assert np.mean(np.abs(other.scaled_values - res.scaled_values) < 0.02) > 0.9


def test_scaled_is_a_series_indexed_as_the_data(sleep_fit):
    res = mm.simulate_residuals(sleep_fit, n=20, seed=1)
    assert isinstance(res.scaled, pd.Series) and res.scaled.index.equals(sleep_fit.fitted.index)
    assert res.scaled.between(0, 1).all()
    assert res.conditional


def test_conditional_and_unconditional_differ(sleep_fit):
    cond = mm.simulate_residuals(sleep_fit, n=200, seed=1)
    uncond = mm.simulate_residuals(sleep_fit, n=200, seed=1, re_form="~0")
    assert not uncond.conditional
    # new random effects spread each row's simulations more widely than fixed ones
    assert np.mean(uncond.simulated.std(axis=1)) > 1.5 * np.mean(cond.simulated.std(axis=1))
    # both center on the population-level predictions
    np.testing.assert_allclose(cond.fitted, sleep_fit.predict(re_form="~0").to_numpy())


@pytest.mark.parametrize(
    "family, response",
    [("nbinom2", "count"), ("nbinom1", "count"), ("poisson", "count"), ("truncated_poisson", "count")],
)
def test_count_families(family, response):
    sal = load("salamanders")
    data = sal[sal["count"] > 0] if family.startswith("truncated") else sal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(f"{response} ~ mined + (1 | site)", data, family=family)
    res = mm.simulate_residuals(fit, n=60, seed=1)
    assert res.scaled_values.shape == (len(data),) and np.all(
        (res.scaled_values >= 0) & (res.scaled_values <= 1)
    )
    assert np.all(res.simulated == np.round(res.simulated))
    if family.startswith("truncated"):
        assert res.simulated.min() >= 1
    _replay(fit, res, 60, 1)
    _draws_follow_the_model(fit, res)
    # the dispersion test's centre: the population-level means exp(X beta) (E[y] if truncated)
    eta = fit.design.X @ fit.fixef.to_numpy()
    np.testing.assert_allclose(res.centre, fit.family.response_mean(np.exp(eta)), rtol=1e-10)
    # its statistic, from the definitions, and the zero-inflation test's
    var_sim = np.var(res.simulated - res.centre[:, None], axis=0, ddof=1)
    dispersion = res.test_dispersion()
    assert dispersion.statistic == pytest.approx(np.var(res.observed - res.centre, ddof=1) / var_sim.mean())
    assert dispersion.p == pytest.approx(
        2 * min(np.mean(var_sim <= dispersion.observed), np.mean(var_sim >= dispersion.observed))
    )
    zeros = np.count_nonzero(res.simulated == 0, axis=0)
    if family.startswith("truncated"):
        assert zeros.max() == 0 and np.isnan(res.test_zeroinflation().statistic)
        return
    assert res.test_zeroinflation().statistic == pytest.approx(np.sum(res.observed == 0) / zeros.mean())


def test_glmer_nb_and_a_dispersion_model():
    sal = load("salamanders")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = mm.glmer_nb("count ~ mined + (1 | site)", sal)
        disp = mm.glmer("count ~ mined + (1 | site)", sal, family="nbinom2", dispformula="~ mined")
    assert isinstance(nb, mm.GlmerNbFit)
    for fit in (nb, disp):
        res = mm.simulate_residuals(fit, n=100, seed=1)
        _replay(fit, res, 100, 1)
        # the draws' variance is the NB2's mu + mu^2 / theta (theta per row with the dispersion
        # model): a theta taken as 1 / theta would be off by far more than 10%
        _draws_follow_the_model(fit, res)
        dispersion, zeros = res.test_dispersion(), res.test_zeroinflation()
        assert 0.8 < dispersion.statistic < 1.25 and dispersion.p > 0.05
        assert 0.8 < zeros.statistic < 1.25 and zeros.p > 0.05


def test_zero_inflated_family_simulates_its_zeros():
    sal = load("salamanders")
    fit = mm.glmer("count ~ mined + (1 | site)", sal, family="poisson", ziformula="~ mined")
    plain = mm.glmer("count ~ mined + (1 | site)", sal, family="poisson")
    zi = mm.simulate_residuals(fit, n=200, seed=2).test_zeroinflation()
    no = mm.simulate_residuals(plain, n=200, seed=2).test_zeroinflation()
    assert abs(zi.statistic - 1) < abs(no.statistic - 1)
    assert no.statistic > 1.2 and no.p < 0.01


@pytest.mark.parametrize("name, family", [("gamma_generated", "Gamma"), ("beta_generated", "beta")])
def test_continuous_families(name, family):
    data = pd.read_csv(DATA / f"{name}.csv")
    kw = {"link": "log"} if family == "Gamma" else {}
    fit = mm.glmer("y ~ x + (1 | g)", data, family=family, **kw)
    res = mm.simulate_residuals(fit, n=100, seed=3)
    # no ties: the PIT is the ECDF, a multiple of 1/n
    np.testing.assert_allclose(res.scaled_values * 100, np.round(res.scaled_values * 100), atol=1e-9)
    assert res.test_uniformity().p > 0.001


def test_lm_and_glm(cbpp):
    lm_fit = mm.lm("Reaction ~ Days", load("sleepstudy"))
    res = mm.simulate_residuals(lm_fit, n=100, seed=1)
    np.testing.assert_allclose(res.fitted, lm_fit.fitted.to_numpy())
    np.testing.assert_array_equal(res.observed, load("sleepstudy")["Reaction"].to_numpy())
    assert not res.conditional
    _replay(lm_fit, res, 100, 1)
    _draws_follow_the_model(lm_fit, res, tolerance=0.03)  # N(fitted, sigma^2): 18,000 draws
    glm_fit = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    g = mm.simulate_residuals(glm_fit, n=100, seed=1)
    np.testing.assert_array_equal(g.observed, cbpp.incidence.to_numpy())
    assert np.all((g.simulated >= 0) & (g.simulated <= cbpp["size"].to_numpy()[:, None]))
    np.testing.assert_allclose(g.centre, glm_fit.fitted.to_numpy() * cbpp["size"].to_numpy())
    _replay(glm_fit, g, 100, 1)
    _draws_follow_the_model(glm_fit, g)
    # cbpp's herd variation, without its random effect: a variance ratio well above 1
    assert 1.5 < g.test_dispersion().statistic < 3.5 and g.test_dispersion().p < 0.05


def test_text_html_and_plot(cbpp_fit):
    res = mm.simulate_residuals(cbpp_fit, n=50, seed=1)
    text = str(res)
    for word in ("uniformity (KS)", "dispersion", "zero-inflation", "outliers", "50 simulations"):
        assert word in text
    assert "<table" in res._repr_html_()
    assert "dispersion = " in str(res.test_dispersion())
    fig = res.plot()
    assert len(fig.axes) == 2
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "KS test" in texts and "Dispersion test" in texts and "Outlier test" in texts
    assert len(fig.axes[1].lines) >= 6  # 3 reference lines, 3 quantile regressions


# ------------------------------------------------------------------ bad input
def test_bad_input(cbpp_fit, cbpp):
    with pytest.raises(ValueError, match="at least 2"):
        mm.simulate_residuals(cbpp_fit, n=1)
    with pytest.raises(ValueError, match="at least 2"):
        mm.simulate_residuals(cbpp_fit, n=2.5)
    with pytest.raises(ValueError, match="re_form must be"):
        mm.simulate_residuals(cbpp_fit, n=10, re_form="~(1 | herd)")
    with pytest.raises(TypeError, match="simulate_residuals needs a fit"):
        mm.simulate_residuals("not a fit")
    quasi = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="quasibinomial")
    with pytest.raises(ValueError, match="quasibinomial"):
        mm.simulate_residuals(quasi, n=10)
    res = mm.simulate_residuals(cbpp_fit, n=10, seed=1)
    with pytest.raises(ValueError, match="centre must be"):
        res.test_dispersion(centre="median")


# ------------------------------------------------------------------ power: the tests find problems
def test_grouseticks_is_overdispersed(grouse_fit):
    """A Poisson GLMM of grouseticks without its observation-level random effect."""
    res = mm.simulate_residuals(grouse_fit, n=250, seed=1)
    # DHARMa's statistic (centred on the population-level predictions) sees it, weakly: the
    # brood effects dominate the variance around those predictions
    dharma = res.test_dispersion()
    assert dharma.statistic > 1.05 and dharma.p < 0.1
    # centred on the simulations' (conditional) means, the overdispersion is plain
    pearson_like = res.test_dispersion("greater", centre="simulated")
    assert pearson_like.statistic > 2.5 and pearson_like.p < 0.01
    assert res.test_uniformity().p < 0.05
    assert res.test_outliers().p < 0.01


def test_added_zeros_are_found():
    d = _grouped(11, groups=20, per=20)
    rng = np.random.default_rng(12)
    d["y"] = rng.poisson(np.exp(d.eta)) * (rng.random(len(d)) > 0.25)
    fit = mm.glmer("y ~ x + (1 | g)", d, family="poisson")
    zi = mm.simulate_residuals(fit, n=250, seed=1).test_zeroinflation()
    assert zi.statistic > 1.2 and zi.p < 0.01


# ------------------------------------------------------------------ calibration
def _grouped_fit(kind: str, seed: int):
    d = _grouped(seed, groups=20, per=15)
    rng = np.random.default_rng(seed + 1)
    mu = np.exp(d.eta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "poisson":
            d["y"] = rng.poisson(mu)
            return mm.glmer("y ~ x + (1 | g)", d, family="poisson")
        if kind == "binomial":
            d["n"] = 4
            d["k"] = rng.binomial(4, 1 / (1 + np.exp(-d.eta)))
            return mm.glmer("cbind(k, n - k) ~ x + (1 | g)", d, family="binomial")
        if kind == "nbinom2":
            d["y"] = rng.negative_binomial(2, 2 / (2 + mu))
            return mm.glmer("y ~ x + (1 | g)", d, family="nbinom2")
        d["y"] = d.eta + rng.standard_normal(len(d))
        return mm.lmer("y ~ x + (1 | g)", d)


def _rejections(p: np.ndarray) -> float:
    return float(np.mean(p < 0.05))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["poisson", "binomial", "nbinom2", "gaussian"])
def test_tests_are_calibrated_when_the_model_is_true(kind):
    """Data sets drawn from the fitted model itself (conditional on its random effects, as the
    simulations are): observed and simulated responses are exchangeable, so the KS and
    dispersion p-values are uniform and reject 5% of 300 data sets (within 3 Monte Carlo SEs)."""
    fit = _grouped_fit(kind, 21)
    base = mm.simulate_residuals(fit, n=2, seed=0)
    datasets, nsim = 300, 100
    draws = mm.simulate_residuals(fit, n=datasets * (nsim + 1), seed=5).simulated
    rng = np.random.default_rng(9)
    pu, pd_ = [], []
    for j in range(datasets):
        block = draws[:, j * (nsim + 1) : (j + 1) * (nsim + 1)]
        y, sims = block[:, 0], block[:, 1:]
        res = replace(base, observed=y, simulated=sims, scaled_values=scaled_residuals(y, sims, rng))
        pu.append(res.test_uniformity().p)
        pd_.append(res.test_dispersion().p)
    se = np.sqrt(0.05 * 0.95 / datasets)
    for p in (np.array(pu), np.array(pd_)):
        assert abs(_rejections(p) - 0.05) < 3 * se + 0.005, _rejections(p)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["poisson", "binomial", "nbinom2", "gaussian"])
def test_tests_do_not_reject_too_often_after_refitting(kind):
    """The whole path: 100 data sets simulated from a fit (new random effects), each refitted
    and its residuals simulated. With estimated parameters the tests are conservative (their
    p-values are not uniform but larger, as for any goodness-of-fit test with estimated
    parameters): they reject at most 5% plus 3 Monte Carlo SEs."""
    fit = _grouped_fit(kind, 31)
    datasets = 100
    new = fit.simulate(datasets, seed=3).to_numpy()
    pu, pd_ = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(datasets):
            res = mm.simulate_residuals(fit.refit(new[:, j]), n=100, seed=j)
            pu.append(res.test_uniformity().p)
            pd_.append(res.test_dispersion().p)
    limit = 0.05 + 3 * np.sqrt(0.05 * 0.95 / datasets)
    assert _rejections(np.array(pu)) <= limit and _rejections(np.array(pd_)) <= limit


def _covered_points(fig) -> int:
    """How many QQ points lie under the test annotations (display coordinates)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    qq = fig.axes[0]
    points = qq.transData.transform(qq.collections[0].get_offsets())
    covered = 0
    for text in qq.texts:
        box = text.get_bbox_patch().get_window_extent(renderer)
        covered += int(
            np.sum(
                (points[:, 0] >= box.x0)
                & (points[:, 0] <= box.x1)
                & (points[:, 1] >= box.y0)
                & (points[:, 1] <= box.y1)
            )
        )
    return covered


def test_plot_annotations_leave_the_qq_points_free(cbpp_fit):
    """The dispersion test's text once sat in the middle of the QQ panel, on the points of a
    curve through the centre (an overdispersed Poisson fit: Arabidopsis)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y = rng.negative_binomial(0.8, 0.8 / (0.8 + np.exp(1 + 0.5 * x)))
    over = mm.glm("y ~ x", pd.DataFrame({"x": x, "y": y}), family="poisson")
    for fit in (cbpp_fit, over):
        fig = mm.simulate_residuals(fit, n=100, seed=1).plot()
        assert len(fig.axes[0].texts) == 3
        assert _covered_points(fig) == 0
    r = np.sort(mm.simulate_residuals(over, n=100, seed=1).scaled_values)
    expected = (np.arange(1, len(r) + 1) - 0.5) / len(r)
    centre = (np.abs(expected - 0.5) < 0.2) & (np.abs(r - 0.5) < 0.1)
    assert centre.sum() > 5  # its curve passes the panel's centre, where the text once was
