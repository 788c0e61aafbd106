"""Power by simulation for glmer fits: each replicate's refit is the full glmer fit of its
response (z and likelihood-ratio tests, batched and one-by-one refits), a known answer (a
near-GLM whose z test's power is the normal approximation's), the size at effect 0, curves
along a grouping factor, bad input and the command line."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.datasets import load
from mixedmodels.replicates.glmm_bootstrap import glmer_blocks
from mixedmodels.replicates.glmm_power import _LrtRefits, _ZRefits
from mixedmodels.replicates.power_results import PowerCurve, PowerResult

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kw)


@pytest.fixture(scope="module")
def cbpp():
    return _fit(CBPP, load("cbpp"), family="binomial")


@pytest.fixture(scope="module")
def near_glm():
    """A binary response, 100 groups of 4, a random-effect SD of 0.05 (the fit is singular)."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(100), 4)
    x = np.tile([-1.5, -0.5, 0.5, 1.5], 100)
    eta = -0.3 + 0.25 * x + rng.normal(scale=0.05, size=100)[g]
    data = pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))), "x": x, "g": [f"g{i}" for i in g]})
    return _fit("y ~ x + (1 | g)", data, family="binomial")


def _replicates(fit, j, effect, nsim, seed):
    beta = fit.beta.copy()
    beta[j] = effect
    return next(glmer_blocks(fit, nsim, False, np.random.default_rng(seed), nsim, (beta, fit.theta)))


def _with_counts(data, y, trials=None):
    out = data.copy()
    if trials is None:
        out["y"] = y
    else:
        out["incidence"] = np.round(y * trials).astype(int)
    return out


def test_batched_refits_are_full_glmer_fits(cbpp):
    data = load("cbpp")
    Y = _replicates(cbpp, 1, -0.8, 4, seed=11)
    z = _ZRefits(cbpp, 1)
    assert z.refits.batch is not None
    pz = z.run(Y)[0][:, 0]
    plrt = _LrtRefits(cbpp, [1]).run(Y)[0][:, 0]
    for i in range(4):
        sim = _with_counts(data, Y[:, i], data["size"].to_numpy())
        full = _fit(CBPP, sim, family="binomial")
        for level in ("3", "4"):  # the model without the column period2: period 2 pooled with 1
            sim[f"p{level}"] = (sim["period"].astype(str) == level).astype(float)
        reduced = _fit("cbind(incidence, size - incidence) ~ p3 + p4 + (1 | herd)", sim, family="binomial")
        assert stats.norm.isf(pz[i] / 2) == pytest.approx(abs(full.zvalues["period2"]), rel=1e-5)
        chisq = stats.chi2.isf(plrt[i], 1)
        assert chisq == pytest.approx(reduced.objective - full.objective, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("nagq", [0, 5])
def test_refits_of_other_criteria_are_full_glmer_fits(nagq):
    """nAGQ = 0 and quadrature: replicates refitted one by one by the fit's criterion."""
    data = load("cbpp")
    fit = _fit(CBPP, data, family="binomial", nagq=nagq)
    Y = _replicates(fit, 1, -0.8, 2, seed=1)
    pz = _ZRefits(fit, 1).run(Y)[0][:, 0]
    plrt = _LrtRefits(fit, [1]).run(Y)[0][:, 0]
    for i in range(2):
        sim = _with_counts(data, Y[:, i], data["size"].to_numpy())
        full = _fit(CBPP, sim, family="binomial", nagq=nagq)
        for level in ("3", "4"):
            sim[f"p{level}"] = (sim["period"].astype(str) == level).astype(float)
        reduced = _fit(
            "cbind(incidence, size - incidence) ~ p3 + p4 + (1 | herd)", sim, family="binomial", nagq=nagq
        )
        assert pz[i] == pytest.approx(full.pvalues["period2"], rel=1e-8)
        assert stats.chi2.isf(plrt[i], 1) == pytest.approx(reduced.objective - full.objective, rel=1e-6)


def test_one_by_one_refits_with_an_offset_are_full_glmer_fits():
    """Two random-effects terms (refitted one replicate at a time), Poisson with an offset."""
    rng = np.random.default_rng(2)
    n = 240
    g, h, x = rng.integers(0, 10, n), rng.integers(0, 6, n), rng.normal(size=n)
    off = np.log(rng.uniform(1, 3, n))
    eta = off - 0.3 + 0.4 * x + rng.normal(scale=0.7, size=10)[g] + rng.normal(scale=0.5, size=6)[h]
    data = pd.DataFrame(
        {"g": g.astype(str), "h": h.astype(str), "x": x, "off": off, "y": rng.poisson(np.exp(eta))}
    )
    formula = "y ~ x + offset(off) + (1 | g) + (1 | h)"
    fit = _fit(formula, data, family="poisson")
    Y = _replicates(fit, 1, 0.2, 2, seed=4)
    pz = _ZRefits(fit, 1).run(Y)[0][:, 0]
    engine = _LrtRefits(fit, [1])
    assert engine.models[0].batch is None
    plrt = engine.run(Y)[0][:, 0]
    for i in range(2):
        sim = _with_counts(data, Y[:, i])
        full = _fit(formula, sim, family="poisson")
        reduced = _fit("y ~ 1 + offset(off) + (1 | g) + (1 | h)", sim, family="poisson")
        assert stats.norm.isf(pz[i] / 2) == pytest.approx(abs(full.zvalues["x"]), rel=1e-5)
        assert stats.chi2.isf(plrt[i], 1) == pytest.approx(reduced.objective - full.objective, rel=1e-5)


def test_simulation_uses_the_effect_and_keeps_the_trials(cbpp):
    trials = cbpp.model.weights
    low = _replicates(cbpp, 1, -3.0, 400, seed=1)
    high = _replicates(cbpp, 1, 3.0, 400, seed=1)
    counts = low * trials[:, None]
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    in_period2 = cbpp.model.X[:, 1] == 1
    assert high[in_period2].mean() > 3 * low[in_period2].mean()
    np.testing.assert_array_equal(low[~in_period2], high[~in_period2])  # the same draws elsewhere


def _normal_power(fit, j, effect, alpha):
    """The z test's power by the normal approximation, with the GLM's standard error at ``effect``."""
    beta = fit.beta.copy()
    beta[j] = effect
    X = fit.model.X
    mu = 1 / (1 + np.exp(-X @ beta))
    se = np.sqrt(np.linalg.inv(X.T @ (X * (mu * (1 - mu))[:, None]))[j, j])
    zc = stats.norm.ppf(1 - alpha / 2)
    return stats.norm.cdf(abs(effect) / se - zc) + stats.norm.cdf(-abs(effect) / se - zc)


@pytest.mark.slow
def test_z_power_of_a_near_glm_is_the_normal_approximation(near_glm):
    """700 replicates: Monte Carlo SE about 0.016 at a power near 0.78."""
    want = _normal_power(near_glm, 1, 0.25, 0.05)
    assert 0.7 < want < 0.85
    result = mm.power(near_glm, "x", 0.25, nsim=700, test="z", seed=3, progress=False)
    assert isinstance(result, PowerResult) and result.n_failed == 0
    mc_se = np.sqrt(want * (1 - want) / result.nsim)
    assert abs(result.power - want) < 3 * mc_se
    assert result.ci[0] < result.power < result.ci[1]
    assert "Wald z test" in str(result)


@pytest.mark.parametrize("test", ["z", "lrt"])
def test_effect_zero_gives_alpha(near_glm, test):
    """200 replicates at effect 0: Monte Carlo SE about 0.015 around 0.05."""
    result = mm.power(near_glm, "x", 0.0, nsim=200, test=test, seed=5, progress=False)
    assert result.n_failed == 0
    assert abs(result.power - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 200)


def test_same_seed_same_pvalues_and_a_curve(cbpp):
    one = mm.power(cbpp, "period2", -1.0, nsim=6, test="lrt", seed=2, progress=False)
    two = mm.power(cbpp, "period2", -1.0, nsim=6, test="lrt", seed=2, progress=False)
    np.testing.assert_array_equal(one.pvalues, two.pvalues)
    curve = mm.power(
        cbpp, "period2", -1.0, nsim=4, test="z", seed=2, along="herd", sizes=[8, 20], progress=False
    )
    assert isinstance(curve, PowerCurve)
    assert list(curve.table.index) == [8, 20] and list(curve.table["nsim"]) == [4, 4]
    assert curve.table["n_failed"].sum() == 0


def test_bad_input_is_refused(cbpp):
    with pytest.raises(ValueError, match="a fixed effect or a term of the formula"):
        mm.power(cbpp, "period5", 1.0, nsim=5)
    with pytest.raises(ValueError, match=r"'period' has 3 columns .* test='lrt'"):
        mm.power(cbpp, "period", [1.0, 1.0, 1.0], nsim=5, test="z")
    with pytest.raises(ValueError, match="Satterthwaite's t test is for lmer"):
        mm.power(cbpp, "period2", 1.0, nsim=5, test="satterthwaite")
    with pytest.raises(ValueError, match="nsim"):
        mm.power(cbpp, "period2", 1.0, nsim=0, test="z")
    with pytest.raises(ValueError, match="along and sizes"):
        mm.power(cbpp, "period2", 1.0, nsim=5, test="z", along="herd")


def test_power_verb_with_family(capsys):
    from mixedmodels.app.cli import main

    argv = ["power", "cbpp", CBPP, "--family", "binomial", "--term", "period2", "--effect", "-1"]
    assert main([*argv, "--nsim", "5", "--test", "z"]) == 0
    assert "Wald z test" in capsys.readouterr().out
    assert main([*argv, "--nsim", "5", "--test", "satterthwaite"]) == 2
    assert "lmer" in capsys.readouterr().err
    assert main([*argv, "--nsim", "5", "--ml"]) == 2


def test_a_factor_as_a_whole_by_its_likelihood_ratio_test(cbpp):
    """period's three columns dropped together: the LRT of the data's own response is mm.anova's."""
    p = _LrtRefits(cbpp, [1, 2, 3]).run(cbpp.model.y[:, None])[0][0, 0]  # proportions, as simulated
    reduced = _fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", load("cbpp"), family="binomial")
    assert p == pytest.approx(mm.anova(reduced, cbpp).table["Pr(>Chisq)"].iloc[1], rel=1e-5)
    result = mm.power(cbpp, "period", [-1.0, -1.1, -1.6], nsim=20, test="lrt", seed=1, progress=False)
    assert result.effect == (-1.0, -1.1, -1.6) and result.n_failed == 0
