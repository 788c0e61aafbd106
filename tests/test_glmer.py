"""mm.glmer against lme4's glmer (tests/reference/glmm/*.json, made by the shared make_glmm.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.formula.design import DataError

HERE = Path(__file__).parent
REF_DIR = HERE / "reference" / "glmm"
CASES = sorted(p.stem for p in REF_DIR.glob("*.json") if p.stem != "families")
SLOW = {"grouseticks_poisson", "verbagg_crossed"}


def _load(case: str):
    ref = json.loads((REF_DIR / f"{case}.json").read_text())
    df = pd.read_csv(HERE / "data" / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str) if df[col].dtype == object else df[col])
    return ref, df


def _fit(ref, df):
    kw = {"weights": ref["weights"]} if ref.get("weights") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(
            ref["formula"], df, family=ref["family"], link=ref["link"], nagq=int(ref["nAGQ"]), **kw
        )


@pytest.fixture(scope="module")
def fits():
    return {}


def _cached(fits, case):
    if case not in fits:
        ref, df = _load(case)
        fits[case] = (ref, df, _fit(ref, df))
    return fits[case]


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_matches_lme4(fits, case):
    ref, _, fit = _cached(fits, case)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fit.se.to_numpy(), ref["se"], rtol=1e-3)
    want_sd = sorted(v["sdcor"] for v in ref["varcorr"] if v["var2"] is None)
    got_sd = sorted(fit.varcorr.sdcor[fit.varcorr.var2.isna()])
    np.testing.assert_allclose(got_sd, want_sd, rtol=2e-3)
    assert fit.loglik >= ref["loglik"] - 1e-3
    assert fit.loglik <= ref["loglik"] + 1e-2
    assert fit.deviance == pytest.approx(ref["deviance"], rel=1e-4)
    assert fit.nobs == ref["nobs"] and fit.npar == ref["df"]
    np.testing.assert_allclose(fit.fitted.to_numpy()[:10], ref["fitted_head"], rtol=2e-3)
    np.testing.assert_allclose(fit.predict(type="link").to_numpy()[:10], ref["predict_link_head"], atol=3e-3)
    fixed = fit.predict(re_form="NA", type="response").to_numpy()[:10]
    np.testing.assert_allclose(fixed, ref["predict_fixed_response_head"], rtol=2e-3)
    q = np.quantile(fit.resid("pearson"), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(q, ref["resid_pearson_quantiles"], rtol=5e-3, atol=1e-3)
    d = fit.to_dict()
    assert d["family"] == ref["family"] and d["link"] == ref["link"] and d["nagq"] == ref["nAGQ"]
    assert "sigma" not in d and d["converged"] and not d["singular"]


def test_summary_matches_lme4_layout(fits):
    ref, _, fit = _cached(fits, "cbpp_laplace")
    want = ref["summary_text"].splitlines()
    got = fit.summary().splitlines()
    start = next(i for i, line in enumerate(want) if line.strip().startswith("AIC"))
    assert got[:3] == want[:3] and got[3] == want[3]  # heading, family, formula
    mine = got[got.index(next(line for line in got if line.strip().startswith("AIC"))) :]
    assert mine[:2] == want[start : start + 2]  # the criteria
    assert "Fixed effects:" in mine and any("z value" in line for line in mine)
    for name in ("(Intercept)", "period2", "period3", "period4"):
        row_got = next(
            line for line in mine if line.startswith(name) and "e" in line or line.startswith(name)
        )
        assert row_got.split()[0] == name
    assert mine[-4:] == want[-4:]  # correlation of fixed effects


def test_factor_response_and_cbind_agree(fits):
    ref, df, fit = _cached(fits, "cbpp_laplace")
    prop = mm.glmer("prop ~ period + (1 | herd)", df, weights="size")
    np.testing.assert_allclose(prop.fixef.to_numpy(), fit.fixef.to_numpy(), rtol=1e-6)
    assert df.columns.tolist() == pd.read_csv(HERE / "data" / "cbpp.csv").columns.tolist()  # data untouched


def test_two_level_text_response():
    ref, df = _load("probit_binary")
    text = df.assign(y=np.where(df.y == 1, "yes", "no"))
    a = mm.glmer("y ~ x + (1 | g)", df, link="probit")
    b = mm.glmer("y ~ x + (1 | g)", text, link="probit")
    np.testing.assert_allclose(a.fixef.to_numpy(), b.fixef.to_numpy(), rtol=1e-10)
    c = mm.glmer("y ~ x + (1 | g)", df.assign(y=df.y == 1), link="probit")
    np.testing.assert_allclose(a.fixef.to_numpy(), c.fixef.to_numpy(), rtol=1e-10)


def test_bad_responses_refused():
    _, df = _load("probit_binary")
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        mm.glmer("y ~ x + (1 | g)", df.assign(y=df.y * 2.0))
    with pytest.raises(DataError, match="3 levels"):
        mm.glmer("y ~ x + (1 | g)", df.assign(y=np.resize(["a", "b", "c"], len(df))))
    with pytest.raises(DataError, match="negative"):
        mm.glmer("y ~ x + (1 | g)", df.assign(y=-df.y), family="poisson")
    with pytest.raises(ValueError, match="not supported yet"):
        mm.glmer("y ~ x + (1 | g)", df, family="inverse.gaussian")
    with pytest.raises(ValueError, match="single, scalar"):
        mm.glmer("count ~ x + (x | g)", _load("poisson_offset_slopes")[1], family="poisson", nagq=5)


def test_nagq0_is_a_valid_fit():
    ref, df = _load("cbpp_laplace")
    f0 = mm.glmer(ref["formula"], df, nagq=0)
    f1 = mm.glmer(ref["formula"], df)
    assert f0.loglik <= f1.loglik + 1e-8  # the Laplace optimum is at least as good
    np.testing.assert_allclose(f0.fixef.to_numpy(), f1.fixef.to_numpy(), atol=0.05)


def test_simulate_shapes_and_support(fits):
    _, _, fit = _cached(fits, "cbpp_laplace")
    sims = fit.simulate(3, seed=1)
    assert sims.shape == (fit.nobs, 3)
    assert np.all(sims.to_numpy() >= 0) and np.all(sims.to_numpy() <= fit.model.weights[:, None])
    np.testing.assert_array_equal(sims, fit.simulate(3, seed=1))


def test_shipped_cbpp_fits_as_the_reference():
    """The shipped cbpp (lme4's) gives the reference fit of cbpp_laplace."""
    from mixedmodels import datasets

    ref = json.loads((REF_DIR / "cbpp_laplace.json").read_text())
    fit = mm.glmer(ref["formula"], datasets.load("cbpp"), family="binomial")
    assert fit.loglik >= ref["loglik"] - 1e-3
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-3)


def test_a_missing_column_is_named_without_internal_columns():
    cbpp = mm.datasets.load("cbpp")
    with pytest.raises(DataError, match=r"'perio' .* the data has: herd, incidence, size, period, prop$"):
        mm.glmer("cbind(incidence, size - incidence) ~ perio + (1 | herd)", cbpp, family="binomial")


def test_refit_and_update_as_lme4():
    """refit(simulate(fit)) equals a full fit of that response; update keeps family and options."""
    cbpp = mm.datasets.load("cbpp")
    g = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    k = g.simulate(1, seed=3).iloc[:, 0].to_numpy()
    again = g.refit(k)
    full = mm.glmer("cbind(k, size - k) ~ period + (1 | herd)", cbpp.assign(k=k), family="binomial")
    np.testing.assert_allclose(again.fixef, full.fixef, rtol=1e-10)
    np.testing.assert_allclose(again.se, full.se, rtol=1e-8)
    assert again.loglik == pytest.approx(full.loglik, rel=1e-12)
    with pytest.raises(ValueError, match="between 0 and its row's trials"):
        g.refit(k + 100)
    with pytest.raises(ValueError, match="56 finite numbers"):
        g.refit(k[:-1])
    smaller = g.update("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", nagq=5)
    direct = mm.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp, family="binomial", nagq=5)
    assert smaller.loglik == pytest.approx(direct.loglik, rel=1e-12) and smaller.nagq == 5


def test_refit_of_a_poisson_fit_with_an_offset():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"g": np.repeat(np.arange(20), 5), "t": rng.uniform(1, 3, 100)})
    data["y"] = rng.poisson(data["t"] * np.exp(rng.normal(0, 0.5, 20))[data["g"]])
    fit = mm.glmer("y ~ 1 + (1 | g)", data, family="poisson", offset=np.log(data["t"]))
    y = fit.simulate(1, seed=1).iloc[:, 0].to_numpy()
    full = mm.glmer("y ~ 1 + (1 | g)", data.assign(y=y), family="poisson", offset=np.log(data["t"]))
    assert fit.refit(y).loglik == pytest.approx(full.loglik, rel=1e-12)
    assert fit.update(data=data.assign(y=y)).loglik == pytest.approx(full.loglik, rel=1e-12)
    with pytest.raises(ValueError, match="non-negative counts"):
        fit.refit(-y - 1)
