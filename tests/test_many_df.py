"""Batched Satterthwaite degrees of freedom of lmer_many: equal to single fits' and lmerTest's."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.numerics.batch import BatchCriterion
from mixedmodels.replicates.many_df import satterthwaite_df

SLEEP = "~ Days + (Days | Subject)"
CROSSED = "~ cond + age + (1 | donor) + (1 | batch)"
REFERENCE = Path(__file__).parent / "reference" / "many"


def _single(data, y, rhs, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer("y " + rhs, data.assign(y=y), reml=reml)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.fixture(scope="module")
def sleep():
    data = datasets.load("sleepstudy")
    Y = mm.lmer("Reaction " + SLEEP, data).simulate(6, seed=8).to_numpy().copy()
    # an unbalanced response: days 0-2 of subject 1, day 9 of three subjects missing
    Y[[0, 1, 2], 1] = np.nan
    Y[[9, 19, 29], 4] = np.nan
    return data, Y


def crossed_design(seed: int = 4, n: int = 96, responses: int = 5):
    """Donors crossed with unbalanced batches, a condition and a covariate."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "donor": np.repeat([f"d{i}" for i in range(16)], n // 16),
            "batch": [f"b{i}" for i in rng.integers(5, size=n)],
            "cond": np.tile(["a", "b"], n // 2),
            "age": rng.normal(50, 10, size=n),
        }
    )
    donor = data["donor"].str[1:].astype(int).to_numpy()
    batch = data["batch"].str[1:].astype(int).to_numpy()
    Y = (
        rng.normal(size=(16, responses))[donor]
        + 0.7 * rng.normal(size=(5, responses))[batch]
        + 0.3 * np.outer(data["cond"].eq("b"), rng.normal(size=responses))
        + rng.normal(size=(n, responses))
    )
    Y[[3, 40], 2] = np.nan
    return data, Y


def _check_against_single_fits(res, data, Y, rhs, reml, tol=1e-4):
    tidy = res.tidy()
    for j, name in enumerate(res.names):
        keep = ~np.isnan(Y[:, j])
        one = _single(data[keep], Y[keep, j], rhs, reml)
        assert _rel(res.df.loc[name], one.satterthwaite_df) < tol
        table = one.coef_table()
        rows = tidy[tidy.response == name].set_index("term").loc[list(table.index)]
        assert _rel(rows["df"], table["df"]) < tol
        np.testing.assert_allclose(rows["p_value"], table["Pr(>|t|)"], rtol=1e-4)


@pytest.mark.parametrize("reml", [True, False])
def test_sleepstudy_df_equal_single_fits(sleep, reml):
    data, Y = sleep
    res = mm.lmer_many(SLEEP, data, Y, reml=reml, progress=False)
    assert list(res.df.columns) == ["(Intercept)", "Days"]
    _check_against_single_fits(res, data, Y, SLEEP, reml)


@pytest.mark.parametrize("reml", [True, False])
def test_crossed_df_equal_single_fits(reml):
    data, Y = crossed_design()
    res = mm.lmer_many(CROSSED, data, Y, reml=reml, progress=False)
    _check_against_single_fits(res, data, Y, CROSSED, reml)


def test_direct_call_matches_to_1e6(sleep):
    """The batched differences agree with the single fit's to about 1e-7 (both carry rounding noise)."""
    data, Y = sleep
    fits = [_single(data, Y[:, j], SLEEP, True) for j in (0, 2, 3)]
    theta = np.array([f.opt.theta for f in fits])
    df = satterthwaite_df(BatchCriterion(fits[0].pls, True), Y[:, [0, 2, 3]], theta)
    assert _rel(df, np.array([f.satterthwaite_df.to_numpy() for f in fits])) < 1e-6


@pytest.mark.parametrize(
    "rhs", ["~ Days + x2 + (Days + x2 | Subject)", "~ Days + (1 | grp) + (1 + x2 | Subject)"]
)
@pytest.mark.parametrize("reml", [True, False])
def test_three_by_three_and_crossed_terms(rhs, reml):
    """A 3 x 3 template (the batch's general first block) and a second term (its rest block),
    singular fits among them, at the single fits' theta."""
    rng = np.random.default_rng(3)
    data = datasets.load("sleepstudy").assign(
        grp=[f"g{i}" for i in rng.integers(6, size=180)], x2=rng.normal(size=180)
    )
    Y = _single(data, data["Reaction"], rhs, True).simulate(4, seed=2).to_numpy()
    fits = [_single(data, Y[:, j], rhs, reml) for j in range(Y.shape[1])]
    theta = np.array([f.opt.theta for f in fits])
    df = satterthwaite_df(BatchCriterion(fits[0].pls, reml), Y, theta)
    assert _rel(df, np.array([f.satterthwaite_df.to_numpy() for f in fits])) < 2e-6


def test_unbatched_model_falls_back_to_single_fits(sleep, monkeypatch):
    data, Y = sleep
    monkeypatch.setattr(BatchCriterion, "suitable", staticmethod(lambda pls: False))
    res = mm.lmer_many(SLEEP, data, Y[:, :2], progress=False)
    _check_against_single_fits(res, data, Y[:, :2], SLEEP, True)


def _lmertest(design: int):
    ref = json.loads((REFERENCE / "many_df.json").read_text())["designs"][design]
    Y = pd.DataFrame({name: ref["responses"][name] for name in ref["names"]}, dtype=float)
    return pd.DataFrame(ref["data"]), Y, ref


@pytest.mark.parametrize("design", [0, 1], ids=["sleepstudy", "crossed"])
def test_against_lmertest(design):
    """Responses fitted by lmerTest (reference/many/make_many_df.R), REML and ML, responses with
    missing values among them: ``coef(summary(fit))``. lme4 stops a little short of the optimum
    (its log-likelihoods are up to 1e-7 lower), which moves the standard errors by up to 5e-5
    and the df by up to 1.5e-4; at lme4's own ``theta`` the batched df equal lmerTest's to 1e-7.
    """
    data, Y, ref = _lmertest(design)
    for case in ref["cases"]:
        res = mm.lmer_many(case["rhs"], data, Y, reml=case["reml"], progress=False)
        tidy = res.tidy().set_index(["response", "term"])
        for name in ref["names"]:
            coef = case["coef"][name]
            columns = ("term", "estimate", "se", "df", "p")
            expected = pd.DataFrame({k: coef[k] for k in columns}).set_index("term")
            got = tidy.loc[name].loc[expected.index]
            assert res.loglik[name] >= coef["loglik"] - 1e-9
            assert np.max(np.abs(got["estimate"] - expected["estimate"]) / expected["se"]) < 1e-4
            assert _rel(got["std_error"], expected["se"]) < 1e-4
            assert _rel(got["df"], expected["df"]) < 5e-4
            np.testing.assert_allclose(np.log(got["p_value"]), np.log(expected["p"]), rtol=5e-4, atol=1e-4)


@pytest.mark.parametrize("design", [0, 1], ids=["sleepstudy", "crossed"])
def test_at_lme4s_theta_equal_to_lmertest(design):
    data, Y, ref = _lmertest(design)
    for case in ref["cases"]:
        for name in ref["names"]:
            expected = case["coef"][name]
            y = Y[name].to_numpy()
            keep = ~np.isnan(y)
            one = _single(data[keep], y[keep], case["rhs"], case["reml"])
            batch = BatchCriterion(one.pls, case["reml"])
            df = satterthwaite_df(batch, y[keep, None], np.array([expected["theta"]]))[0]
            assert _rel(df, expected["df"]) < 1e-6
