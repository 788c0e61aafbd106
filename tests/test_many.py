"""lmer_many: each response's numbers equal a separate lmer fit; missing values; variance fractions."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.replicates.many import bh_adjust

RHS = "~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep():
    data = datasets.load("sleepstudy")
    fit = mm.lmer("Reaction " + RHS, data)
    return data, fit.simulate(12, seed=3)


def _single(data, y, rhs=RHS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer("y " + rhs, data.assign(y=y))


def _close(a, b, tol=1e-6):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.max(np.abs(a - b) / (1 + np.abs(b))) < tol


def _check_equal(res, name, one):
    layout = one.pls.layout
    _close(res.fixef.loc[name], one.fixef)
    _close(res.se.loc[name], one.se)
    _close(res.sigma[name], one.sigma)
    _close(res.loglik[name], one.loglik)
    _close(layout.canonical(res.theta.loc[name].to_numpy()), layout.canonical(one.theta))


def test_each_response_equals_its_own_fit(sleep):
    data, sim = sleep
    res = mm.lmer_many(RHS, data, sim, progress=False)
    assert list(res.fixef.index) == list(sim.columns)
    assert list(res.theta.columns) == ["Subject.(Intercept)", "Subject.Days.(Intercept)", "Subject.Days"]
    assert res.converged.all()
    for name in sim.columns:
        _check_equal(res, name, _single(data, sim[name].to_numpy()))


def test_responses_far_from_the_first_and_on_a_saddle():
    """Regression: from the first response's estimate, the 74th had a nearly flat direction of
    the Hessian; the Newton step was 1e5 long, no halving found a decrease, and the batch took
    the failed search for convergence (criterion 8.2 above the optimum). The 406th of another
    set stopped on the saddle theta = (0, -0.256, 0) (0.13 above). Both now equal single fits."""
    data = datasets.load("sleepstudy")
    fit = mm.lmer("Reaction " + RHS, data)
    first = fit.simulate(300, seed=6).to_numpy()[:, [0, 73]] * 0.3
    second = fit.simulate(1000, seed=6).to_numpy()[:, [0, 405]] * 0.3
    for Y in (first, second):
        res = mm.lmer_many(RHS, data, Y, progress=False)
        _check_equal(res, "r2", _single(data, Y[:, 1]))


def _genomics(rng, n=300, donors=30, batches=6, genes=2000):
    """The genomics-shaped design of benchmarks/many_times.py: donor and batch intercepts."""
    data = pd.DataFrame(
        {
            "donor": [f"d{i}" for i in np.repeat(np.arange(donors), n // donors)],
            "batch": [f"b{i}" for i in rng.integers(batches, size=n)],
            "cond": np.tile(["ctrl", "treat"], n // 2),
            "age": rng.normal(50, 10, size=n),
        }
    )
    d_idx, b_idx = np.repeat(np.arange(donors), n // donors), data["batch"].str[1:].astype(int).to_numpy()
    sd_d, sd_b = rng.uniform(0, 1.5, genes), rng.uniform(0, 1.0, genes)
    effect = rng.normal(0, 0.5, genes) * rng.binomial(1, 0.2, genes)
    Y = (
        5.0
        + np.outer(data["cond"].eq("treat").to_numpy(), effect)
        + (rng.normal(size=(donors, genes)) * sd_d)[d_idx]
        + (rng.normal(size=(batches, genes)) * sd_b)[b_idx]
        + rng.normal(size=(n, genes))
    )
    return data, Y


def test_a_variance_just_inside_its_bound():
    """Regression: the 920th gene's batch variance has its optimum at theta = 0.0075 (criterion
    1.6e-5 below theta = 0); a Newton step projected onto 0 stopped there, where the gradient
    vanishes, and the inward probes (from 0.012 up) all lay above. Now the negative curvature
    at the bound sends the step inward."""
    rhs = "~ cond + age + (1 | donor) + (1 | batch)"
    data, Y = _genomics(np.random.default_rng(1))
    res = mm.lmer_many(rhs, data, Y[:, [0, 919]], progress=False)
    one = _single(data, Y[:, 919], rhs)
    assert one.theta[1] > 0.007
    _check_equal(res, "r2", one)
    assert not res.singular["r2"]


def test_ml_and_array_names(sleep):
    data, sim = sleep
    res = mm.lmer_many(RHS, data, sim.to_numpy()[:, :3], reml=False, progress=False)
    assert list(res.names) == ["r1", "r2", "r3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = mm.lmer("y " + RHS, data.assign(y=sim.iloc[:, 1].to_numpy()), reml=False)
    _check_equal(res, "r2", one)


def test_missing_values_use_each_responses_complete_rows(sleep):
    data, sim = sleep
    Y = sim.iloc[:, :4].copy()
    Y.iloc[[0, 5, 17], 1] = np.nan
    Y.iloc[[0, 5, 17], 3] = np.nan  # the same pattern as column 1
    Y.iloc[[100], 2] = np.nan
    res = mm.lmer_many(RHS, data, Y, progress=False)
    assert res.stats["nobs"].tolist() == [180, 177, 179, 177]
    for name in Y.columns:
        keep = Y[name].notna().to_numpy()
        _check_equal(res, name, _single(data[keep], Y[name].to_numpy()[keep]))


def test_random_intercepts_varpart_and_tidy():
    rng = np.random.default_rng(1)
    n = 120
    data = pd.DataFrame(
        {
            "donor": np.repeat([f"d{i}" for i in range(20)], 6),
            "batch": np.tile([f"b{i}" for i in range(4)], 30),
            "age": rng.normal(size=n),
            "cond": np.tile(["a", "b"], n // 2),
        }
    )
    Y = rng.normal(size=(n, 6)) + rng.normal(size=(20, 6)).repeat(6, axis=0)
    rhs = "~ cond + age + (1 | donor) + (1 | batch)"
    res = mm.lmer_many(rhs, data, Y, progress=False)
    assert list(res.varpart.columns) == ["donor", "batch", "Residual"]
    np.testing.assert_allclose(res.varpart.sum(axis=1), 1.0)
    for j, name in enumerate(res.names):
        one = _single(data, Y[:, j], rhs)
        _check_equal(res, name, one)
        vc = one.varcorr.set_index("group")["vcov"]
        expected = np.array([vc["donor"], vc["batch"], vc["Residual"]])
        _close(res.varpart.loc[name], expected / expected.sum())
    tidy = res.tidy()
    assert len(tidy) == 6 * 3
    columns = ["response", "term", "estimate", "std_error", "df", "statistic", "p_value", "p_adjusted"]
    assert list(tidy.columns) == columns
    p = tidy[tidy.term == "age"]["p_value"].to_numpy()
    np.testing.assert_allclose(tidy[tidy.term == "age"]["p_adjusted"], bh_adjust(p))


def test_bh_adjust_matches_r():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "BH") = 0.04 0.05333333 0.05333333 0.2
    np.testing.assert_allclose(bh_adjust(p)[[0, 1, 2, 4]], [0.04, 0.0533333333, 0.0533333333, 0.2])
    assert np.isnan(bh_adjust(p)[3])


def test_formula_with_response_refused(sleep):
    data, sim = sleep
    with pytest.raises(ValueError, match="no response"):
        mm.lmer_many("Reaction " + RHS, data, sim)
