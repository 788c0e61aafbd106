"""Parametric bootstrap: lme4's bootMer numbers, the fast path against fresh fits, reproducibility."""

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets

# lme4 1.1-31, bootMer(mod, fixef, nsim = 10000, use.u = FALSE / TRUE) on the seed (the question)
LME4_SD = {
    False: {"(Intercept)": 1.915025294, "x": 0.009903413},
    True: {"(Intercept)": 0.055405505, "x": 0.009868006},
}
NSIM = 10_000


@pytest.fixture(scope="module")
def seed_fit():
    return mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))


@pytest.mark.parametrize("use_u", [False, True])
def test_seed_bootstrap_sd_matches_bootmer(seed_fit, use_u):
    boot = mm.bootstrap(seed_fit, NSIM, use_u=use_u, seed=20171219, progress=False)
    assert boot.nsim == NSIM and boot.n_failed == 0
    sd = boot.sd()
    for name, want in LME4_SD[use_u].items():
        # both are Monte Carlo estimates of an SD from 10,000 draws: each has sd/sqrt(2(N-1))
        mc = want / math.sqrt(2 * (NSIM - 1))
        assert abs(sd[name] - want) < 4 * math.sqrt(2) * mc, (name, sd[name], want)


def test_bootstrap_explains_the_two_standard_errors(seed_fit):
    """use_u=False reproduces the mixed model's SE, use_u=True the sum-coded lm's."""
    lm_fit = mm.lm("y ~ x + p", datasets.load("seed"), contrasts={"p": "sum"})
    free = mm.bootstrap(seed_fit, 4000, use_u=False, seed=1, progress=False).sd()
    fixed = mm.bootstrap(seed_fit, 4000, use_u=True, seed=1, progress=False).sd()
    mc = 4 / math.sqrt(2 * 3999)
    assert free["(Intercept)"] == pytest.approx(seed_fit.se["(Intercept)"], rel=mc)
    assert fixed["(Intercept)"] == pytest.approx(lm_fit.se["(Intercept)"], rel=mc)
    assert free["x"] == pytest.approx(fixed["x"], rel=2 * mc)


def _refit_fresh(fit, data, y):
    frame = data.copy()
    frame.loc[fit.design.row_index, fit.design.response] = y
    return mm.lmer(fit.formula, frame, reml=fit.reml)


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("seed", "y ~ x + (1 | p)"),
        ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
        ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
        ("pastes", "strength ~ 1 + (1 | batch/cask)"),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_fast_path_equals_fresh_fits(monkeypatch, name, formula, batched):
    """Batched refits (small models), and refits one replicate at a time (large models; forced
    here), equal fresh fits of the simulated data."""
    if not batched:
        bootstrap_module = importlib.import_module("mixedmodels.replicates.bootstrap")

        class NoBatch(bootstrap_module.BatchCriterion):
            suitable = staticmethod(lambda pls: False)

        monkeypatch.setattr(bootstrap_module, "BatchCriterion", NoBatch)
    data = datasets.load(name)
    data[formula.split("~")[0].strip()] = data[formula.split("~")[0].strip()].astype(float)
    fit = mm.lmer(formula, data)
    boot = mm.bootstrap(fit, 6, seed=3, progress=False)
    sims = fit.simulate(6, seed=np.random.SeedSequence(3).spawn(1)[0])
    for i in range(6):
        fresh = _refit_fresh(fit, data, sims.iloc[:, i].to_numpy())
        row = boot.replicates.iloc[i]
        np.testing.assert_allclose(row[list(fit.fixef_names)], fresh.fixef, rtol=1e-6)
        assert row["sigma"] == pytest.approx(fresh.sigma, rel=1e-6)
        sds = fresh.varcorr[fresh.varcorr.var2.isna()].sdcor.to_numpy()[:-1]
        got = row[[c for c in boot.replicates.columns if c.startswith("sd_")]].to_numpy()
        np.testing.assert_allclose(got, sds, rtol=1e-5, atol=1e-7 * fresh.sigma)


def test_same_seed_same_replicates_whatever_n_jobs():
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    one = mm.bootstrap(fit, 2500, seed=11, progress=False)
    two = mm.bootstrap(fit, 2500, seed=11, progress=False, n_jobs=2)
    pd.testing.assert_frame_equal(one.replicates, two.replicates)
    other = mm.bootstrap(fit, 2500, seed=12, progress=False)
    assert not np.allclose(one.replicates.to_numpy(), other.replicates.to_numpy())


def test_singular_replicates_are_counted_not_dropped():
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff2"))
    boot = mm.bootstrap(fit, 300, seed=5, progress=False)
    assert len(boot.replicates) == 300
    assert 0 < boot.n_singular < 300
    singular = boot.status == "singular"
    assert (boot.replicates.loc[singular, "sd_(Intercept)|Batch"] == 0).all()
    assert (boot.replicates.loc[~singular, "sd_(Intercept)|Batch"] > 0).all()


def test_lm_bootstrap_reproduces_lm_standard_errors():
    fit = mm.lm("y ~ x + p", datasets.load("seed"), contrasts={"p": "sum"})
    boot = mm.bootstrap(fit, 5000, seed=2, progress=False)
    mc = 4 / math.sqrt(2 * 4999)
    np.testing.assert_allclose(boot.sd()[fit.names], fit.se, rtol=mc)


def test_user_statistic_gets_the_refitted_model(seed_fit):
    boot = mm.bootstrap(
        seed_fit,
        20,
        statistic=lambda f: pd.Series({"slope": f.fixef["x"], "ll": f.loglik}),
        seed=4,
        progress=False,
    )
    default = mm.bootstrap(seed_fit, 20, seed=4, progress=False)
    assert list(boot.replicates.columns) == ["slope", "ll"]
    np.testing.assert_allclose(boot.replicates["slope"], default.replicates["x"], rtol=1e-10)
    assert boot.t0["slope"] == seed_fit.fixef["x"]
    as_dict = mm.bootstrap(seed_fit, 20, statistic=lambda f: {"s": f.sigma}, seed=4, progress=False)
    np.testing.assert_allclose(as_dict.replicates["s"], default.replicates["sigma"], rtol=1e-10)


def test_confidence_intervals(seed_fit):
    boot = mm.bootstrap(seed_fit, 2000, seed=9, progress=False)
    reps = boot.replicates["x"]
    perc = boot.confint("percentile", level=0.9)
    assert list(perc.columns) == ["5 %", "95 %"]
    assert perc.loc["x", "5 %"] == pytest.approx(np.quantile(reps, 0.05))
    basic = boot.confint("basic", level=0.9)
    assert basic.loc["x", "95 %"] == pytest.approx(2 * boot.t0["x"] - np.quantile(reps, 0.05))
    normal = boot.confint("normal", level=0.9)
    half = (normal["95 %"] - normal["5 %"]) / 2
    np.testing.assert_allclose(half, 1.6448536 * boot.sd(), rtol=1e-6)
    short = boot.confint("shortest", level=0.9)
    assert (short["95 %"] - short["5 %"] <= perc["95 %"] - perc["5 %"] + 1e-12).all()
    inside = ((reps >= short.loc["x", "5 %"]) & (reps <= short.loc["x", "95 %"])).mean()
    assert inside >= 0.9
    with pytest.raises(ValueError, match="method must be"):
        boot.confint("bca")


def test_simulate_use_u_and_new_random_effects(seed_fit):
    fixed = seed_fit.simulate(4000, use_u=True, seed=1)
    np.testing.assert_allclose(fixed.mean(axis=1), seed_fit.fitted, atol=5 * seed_fit.sigma / math.sqrt(4000))
    free = seed_fit.simulate(4000, use_u=False, seed=1)
    group = datasets.load("seed")["p"].to_numpy()
    # per replicate, the level means of y* - X beta are b_p + mean(e): variance sd_b^2 + sigma^2/10
    deviations = free.sub(seed_fit.design.X @ seed_fit.fixef.to_numpy(), axis=0)
    level_means = deviations.groupby(group).mean()
    sd_b = seed_fit.varcorr.sdcor.iloc[0]
    assert level_means.var(axis=0).mean() == pytest.approx(sd_b**2 + seed_fit.sigma**2 / 10, rel=0.05)
    assert list(fixed.columns[:2]) == ["sim_1", "sim_2"]


def test_plot_has_a_panel_per_statistic(seed_fit):
    pytest.importorskip("matplotlib")
    boot = mm.bootstrap(seed_fit, 200, seed=1, progress=False)
    fig = boot.plot()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 4
    fig2 = boot.plot(parm=["(Intercept)"], kind="density")
    assert fig2.axes[0].get_title() == "(Intercept)"


def test_bad_arguments(seed_fit):
    with pytest.raises(ValueError, match="nsim"):
        mm.bootstrap(seed_fit, 0)
    with pytest.raises(TypeError, match="mm.lmer, mm.glmer, mm.lm or mm.glm"):
        mm.bootstrap("fit", 10)


@pytest.mark.parametrize("use_u", [False, True])
def test_responses_do_not_depend_on_the_block_size(seed_fit, use_u):
    """Long responses are simulated and refitted a block at a time; the draws are the same."""
    from mixedmodels.lmm.simulate import lmer_blocks, simulate_lmer

    whole = simulate_lmer(seed_fit, 50, use_u, np.random.default_rng(8))
    blocks = np.hstack(list(lmer_blocks(seed_fit, 50, use_u, np.random.default_rng(8), 7)))
    np.testing.assert_array_equal(whole, blocks)


@pytest.mark.parametrize(
    ("name", "formula"),
    [("dyestuff2", "Yield ~ 1 + (1 | Batch)"), ("sleepstudy", "Reaction ~ Days + (Days | Subject)")],
)
def test_no_replicate_stops_on_a_bound_short_of_its_optimum(name, formula):
    """A diagonal entry of theta enters through its square, so on its bound 0 the Newton steps
    see no gradient along it, whether 0 is a minimum or not; a vector term's template can also
    stop there in a rotation that hides the way out. Before the check of the bounds, 5% of
    these replicates were counted singular at a higher criterion than a fresh fit's."""
    data = datasets.load(name)
    response = formula.split("~")[0].strip()
    fit = mm.lmer(formula, data)
    boot = mm.bootstrap(fit, 200, seed=3, progress=False)
    sims = fit.simulate(200, seed=np.random.SeedSequence(3).spawn(1)[0])
    fresh_singular = 0
    for i in range(200):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh = mm.lmer(formula, data.assign(**{response: sims.iloc[:, i].to_numpy()}))
        fresh_singular += fresh.singular
        assert boot.replicates["sigma"].iloc[i] == pytest.approx(fresh.sigma, rel=1e-5)
    assert boot.n_singular == fresh_singular


def test_canonical_template_keeps_the_covariance_and_zeroes_a_column_on_its_bound():
    from mixedmodels.covariance.layout import ThetaLayout

    layout = ThetaLayout((2, 3, 1))
    theta = np.array([0.0, -0.12, 0.16, 0.5, 0.0, 0.3, 0.0, -0.4, 0.9, 0.7])
    canon = layout.canonical(theta)
    for T, C in zip(layout.templates(theta), layout.templates(canon)):
        np.testing.assert_allclose(C @ C.T, T @ T.T, atol=1e-12)
    T2, T3, _ = layout.templates(canon)
    assert T2[1, 0] == 0.0 and T2[1, 1] == pytest.approx(0.2)  # sqrt(0.12^2 + 0.16^2)
    assert np.all(T3[2:, 1] == 0.0)  # the 3x3 term's second diagonal is 0: its column is too
