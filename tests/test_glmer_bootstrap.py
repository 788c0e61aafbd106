"""The parametric bootstrap of glmer fits: simulated responses, batched and single refits against
full fits of the same responses, lme4's bootMer spread, and the seed's two ways."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.datasets import load
from mixedmodels.glmm.engine import fit_glmm
from mixedmodels.replicates.glmm_bootstrap import GlmerRefits, glmer_blocks

REF = Path(__file__).parent / "reference" / "glmm"
DATA = Path(__file__).parent / "data"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kw)


@pytest.fixture(scope="module")
def cbpp():
    return _fit(CBPP, load("cbpp"), family="binomial")


@pytest.fixture(scope="module")
def probit():
    ref = json.loads((REF / "probit_binary.json").read_text())
    return ref, _fit(ref["formula"], pd.read_csv(DATA / ref["data"]), family="binomial", link="probit")


def _full_refit(fit, y):
    """A replicate fitted from scratch by the fit's two stages: (theta, beta)."""
    opt = fit_glmm(fit.model.with_response(y), fit.nagq)
    return np.concatenate([opt.opt.theta[: fit.ntheta], opt.state.beta])


def test_simulated_responses_do_not_depend_on_the_block_size(cbpp):
    whole = next(glmer_blocks(cbpp, 12, False, np.random.default_rng(5), 12))
    parts = np.hstack(list(glmer_blocks(cbpp, 12, False, np.random.default_rng(5), 5)))
    np.testing.assert_array_equal(whole, parts)
    trials = cbpp.model.weights
    counts = whole * trials[:, None]
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # proportions of whole trials
    assert np.all((whole >= 0) & (whole <= 1))


@pytest.mark.parametrize("use_u", [False, True])
def test_batched_refits_are_the_full_fits_of_the_same_responses(cbpp, use_u):
    Y = next(glmer_blocks(cbpp, 8, use_u, np.random.default_rng(11), 8))
    engine = GlmerRefits(cbpp, None, 100, 10)
    assert engine.batch is not None
    values, status, theta = engine.run(Y)
    assert values.shape == (8, 1 + 4) and not np.any(status == "failed")
    for i in range(8):
        want = _full_refit(cbpp, Y[:, i])
        np.testing.assert_allclose(theta[i], want[:1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(values[i, 1:], want[1:], rtol=1e-5, atol=1e-6)


def test_one_by_one_refits_of_a_crossed_model_are_the_full_fits():
    rng = np.random.default_rng(2)
    n = 240
    g, h, x = rng.integers(0, 10, n), rng.integers(0, 6, n), rng.normal(size=n)
    eta = -0.3 + 0.6 * x + rng.normal(scale=0.7, size=10)[g] + rng.normal(scale=0.5, size=6)[h]
    data = pd.DataFrame({"g": g.astype(str), "h": h.astype(str), "x": x, "y": rng.poisson(np.exp(eta))})
    fit = _fit("y ~ x + (1 | g) + (1 | h)", data, family="poisson")
    Y = next(glmer_blocks(fit, 3, False, np.random.default_rng(1), 3))
    engine = GlmerRefits(fit, None, 100, 10)
    assert engine.batch is None
    values, status, theta = engine.run(Y)
    for i in range(3):
        want = _full_refit(fit, Y[:, i])
        np.testing.assert_allclose(np.concatenate([theta[i], values[i, 2:]]), want, rtol=1e-5, atol=1e-6)


def test_one_by_one_refits_of_three_terms_start_from_the_fits_hessian(monkeypatch):
    """A model with several terms is refitted a replicate at a time from the estimate, with the
    fit's Hessian as the steps' first estimate (no differences per replicate), and each
    replicate's optimum is ``refit``'s: parameters within 1e-5, criterion within 1e-8."""
    from mixedmodels.glmm.engine import laplace_function
    from mixedmodels.replicates import glmm_bootstrap

    rng = np.random.default_rng(4)
    n = 200
    g, h, k, x = rng.integers(0, 12, n), rng.integers(0, 8, n), rng.integers(0, 5, n), rng.normal(size=n)
    eta = 0.4 + 0.5 * x + rng.normal(scale=0.6, size=12)[g] + rng.normal(scale=0.4, size=8)[h]
    eta = eta + rng.normal(scale=0.5, size=5)[k]
    data = pd.DataFrame(
        {"g": g.astype(str), "h": h.astype(str), "k": k.astype(str), "x": x, "y": rng.poisson(np.exp(eta))}
    )
    fit = _fit("y ~ x + (1 | g) + (1 | h) + (1 | k)", data, family="poisson")
    assert fit.optimum.hessian is not None
    starts = []
    original = glmm_bootstrap.minimize_gradient

    def spy(fg, x0, lower, **options):
        starts.append(options.get("H0"))
        return original(fg, x0, lower, **options)

    monkeypatch.setattr(glmm_bootstrap, "minimize_gradient", spy)
    Y = next(glmer_blocks(fit, 3, False, np.random.default_rng(6), 3))
    engine = GlmerRefits(fit, None, 100, 10)
    assert engine.batch is None
    x, failed, _ = engine.refit_points(Y)
    assert not failed.any() and len(starts) == 3
    for H0 in starts:
        np.testing.assert_array_equal(H0, fit.optimum.hessian)
    for i in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mm.MixedModelsWarning)
            want = fit.refit(Y[:, i])
        np.testing.assert_allclose(x[i], np.concatenate([want.theta, want.beta]), atol=1e-5)
        fg, _ = laplace_function(fit.model.with_response(Y[:, i]), False, fit.beta, None)
        assert abs(fg(x[i])[0] - want.optimum.criterion) < 1e-8 * max(1.0, abs(want.optimum.criterion))


def test_bootstrap_names_status_and_the_same_replicates_for_any_n_jobs(cbpp):
    one = mm.bootstrap(cbpp, 30, seed=3, progress=False)
    assert list(one.replicates.columns) == [
        "sd_(Intercept)|herd",
        "(Intercept)",
        "period2",
        "period3",
        "period4",
    ]
    assert one.n_failed == 0
    assert len(one.status) == 30
    two = mm.bootstrap(cbpp, 30, seed=3, progress=False, n_jobs=2)
    pd.testing.assert_frame_equal(one.replicates, two.replicates)


def test_a_custom_statistic_sees_each_refit(cbpp):
    boot = mm.bootstrap(cbpp, 4, statistic=lambda f: f.se.to_numpy(), seed=9, progress=False)
    assert boot.replicates.shape == (4, 4)
    assert np.all(np.isfinite(boot.replicates.to_numpy()))
    assert not np.allclose(boot.replicates.to_numpy()[0], cbpp.se.to_numpy())


@pytest.mark.slow
def test_probit_bootstrap_spread_is_lme4s(probit):
    """lme4's bootMer (500 replicates, use.u = FALSE): the SDs of the fixed effects and of theta;
    ours from 2,000 agree within the Monte Carlo error (10%)."""
    ref, fit = probit
    boot = mm.bootstrap(fit, 2000, seed=2024, progress=False)
    assert boot.n_failed == 0
    sd = boot.replicates.std()
    want = dict(zip(ref["boot"]["names"], ref["boot"]["sd"]))
    assert sd["(Intercept)"] == pytest.approx(want["(Intercept)"], rel=0.10)
    assert sd["x"] == pytest.approx(want["x"], rel=0.10)
    assert sd["sd_(Intercept)|g"] == pytest.approx(want["theta.g.(Intercept)"], rel=0.10)


def test_holding_the_random_effects_shrinks_the_intercepts_spread(probit):
    """The seed's story for a GLMM: new random effects carry the groups' spread into the
    intercept; kept ones (use_u=True) leave only the within-group noise."""
    _, fit = probit
    free = mm.bootstrap(fit, 300, seed=1, progress=False).replicates.std()
    kept = mm.bootstrap(fit, 300, use_u=True, seed=1, progress=False).replicates.std()
    assert kept["(Intercept)"] < 0.75 * free["(Intercept)"]
    assert kept["x"] == pytest.approx(free["x"], rel=0.25)
