"""The batched glmer bootstrap of Poisson fits with terms of more than one column (issue 30):
no crash where a trial point's working weights overflow, and each replicate's estimate is the
full refit's (or a lower criterion where the full refit stops on a template's face)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.datasets import load
from mixedmodels.glmm.engine import laplace_function
from mixedmodels.replicates.glmm_bootstrap import GlmerRefits, glmer_blocks, glmer_statistic


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    d = load("long_ar1")
    rng = np.random.default_rng(0)
    ids = d["id"].astype("category").cat.codes.to_numpy()
    b = rng.normal(0, 0.3, ids.max() + 1)[ids]
    return d.assign(cnt=rng.poisson(np.exp(0.2 + 0.1 * d["time"] + b)))


def _fit(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, family="poisson")


def test_bootstrap_of_a_singular_vector_term_runs(counts):
    """A singular (1 + time | id) fit: its first quasi-Newton step tried a slope SD of 471, whose
    working weights overflowed the batched PIRLS blocks (LinAlgError); such a point is now inf."""
    fit = _fit("cnt ~ time + (1 + time | id)", counts)
    assert fit.theta[0] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow at trial points stays quiet
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        boot = mm.bootstrap(fit, nsim=50, seed=1)
    assert not (boot.status == "failed").any()
    assert np.isfinite(boot.replicates["sd_time|id"]).all()


@pytest.mark.parametrize(
    "term",
    [
        "(1 + time | id)",
        pytest.param("ar1(times + 0 | id)", marks=pytest.mark.slow),
        pytest.param("cs(times + 0 | id)", marks=pytest.mark.slow),
    ],
)
def test_batched_replicates_are_full_refits(counts, term):
    fit = _fit(f"cnt ~ time + {term}", counts)
    Y = next(glmer_blocks(fit, 6, False, np.random.default_rng(11), 6))
    engine = GlmerRefits(fit, None, 100, 10)
    assert engine.batch is not None
    x, failed, _ = engine.refit_points(Y)
    assert not failed.any()
    matched = 0
    for i in range(Y.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mm.MixedModelsWarning)
            again = fit.refit(Y[:, i])
        want = np.concatenate([again.theta, again.beta])
        fg, _ = laplace_function(fit.model.with_response(Y[:, i]), False, fit.beta, None)
        f_batch, f_full = fg(x[i])[0], fg(want)[0]
        assert f_batch <= f_full + 1e-7  # never worse than the full refit
        if f_full > f_batch + 1e-5:  # the full refit stopped on the plateau rho -> 1 (cs: a = 10.8
            continue  # and 11.5, the batch 15.9 and 15.2, 1.5e-4 and 4.7e-5 lower)
        nt = fit.ntheta  # the statistics: an ar1 parameter near rho = 1 is flat, its rho is not
        got = glmer_statistic(fit, x[i : i + 1, :nt], x[i : i + 1, nt:])[0]
        expected = glmer_statistic(fit, want[None, :nt], want[None, nt:])[0]
        # the batch stops within REFIT_FTOL (1e-11 relative, 1e-8 here) of the optimum: 2e-5 on a correlation
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=5e-5)
        matched += 1
    assert matched >= Y.shape[1] - 2


def test_batched_laplace_is_inf_where_the_structure_fails():
    """A cs correlation parameter far out makes R singular in rounding (rho = 1): the batch's
    criterion there is inf (the steps shorten), the other problems' values unchanged."""
    from pathlib import Path

    from mixedmodels.glmm.pirls_batch import SingleTermBatch

    data = pd.read_csv(Path(__file__).parent / "data" / "pois_ar1_generated.csv")
    data = data.assign(times=data.times.astype(str), id=data.id.astype(str))
    fit = _fit("y ~ time + x + cs(times + 0 | id)", data)
    batch = SingleTermBatch(fit.model)
    theta = np.tile(fit.theta, (2, 1))
    theta[1, -1] = 60.0  # rho = 1 exactly: the gradient's solves with L raised LinAlgError
    beta = np.tile(fit.beta, (2, 1))
    resp = batch.responses(np.tile(fit.model.y, (2, 1)))
    u0 = np.zeros((2, batch.n1, batch.k))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        f, g, _ = batch.laplace(theta, beta, resp, u0)
    alone, _, _ = batch.laplace(theta[:1], beta[:1], resp.take(np.array([0])), u0[:1])
    assert np.isfinite(f[0]) and f[0] == pytest.approx(alone[0], rel=1e-12)
    assert np.isinf(f[1]) and not g[1].any()
