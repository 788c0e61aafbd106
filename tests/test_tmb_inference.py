"""Inference for glmer fits by maximum likelihood over every parameter (glmmTMB's way: nbinom2, the
observed information): the bootstrap's replicates against full refits of the same responses, sigma
among its statistics, and profile intervals against glmmTMB's (Salamanders NB2; Gamma(log) when
that family is available). References: tests/reference/families/make_profile.R."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.replicates.glmm_bootstrap import GlmerRefits, glmer_blocks

REF = Path(__file__).parent / "reference" / "families"
DATA = Path(__file__).parent / "data"
SALAMANDERS = "count ~ spp + mined + (1 | site)"


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kw)


@pytest.fixture(scope="module")
def nb2():
    return _fit(SALAMANDERS, pd.read_csv(DATA / "salamanders.csv"), family="nbinom2")


@pytest.fixture(scope="module")
def probit_observed():
    """A non-canonical link, so that the observed information differs from the expected."""
    ref = json.loads((Path(__file__).parent / "reference" / "glmm" / "probit_binary.json").read_text())
    data = pd.read_csv(DATA / ref["data"])
    return _fit(ref["formula"], data, family="binomial", link="probit", laplace="observed")


def _refit_values(fit, y: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        g = fit.refit(y)
    sigma = [g.sigma] if fit.family.estimates_parameter else []
    return np.concatenate([g.theta, sigma, g.beta])


def test_nb2_bootstrap_replicates_are_refits(nb2):
    Y = next(glmer_blocks(nb2, 4, False, np.random.default_rng(11), 4))
    values, status, _ = GlmerRefits(nb2, None, 1000, 20).run(Y)
    assert list(status) == ["ok"] * 4
    for i in range(4):
        np.testing.assert_allclose(values[i], _refit_values(nb2, Y[:, i]), atol=1e-5)


def test_nb2_bootstrap_batched_equals_one_by_one(nb2):
    """The batched refits and the one-by-one warm-started ones (a model with more terms, or
    where the batch leaves a replicate) reach the same optima; a custom statistic refits in
    full."""
    Y = next(glmer_blocks(nb2, 3, True, np.random.default_rng(3), 3))
    batched = GlmerRefits(nb2, None, 1000, 20)
    single = GlmerRefits(nb2, None, 1000, 20)
    single.ml_batch = None
    np.testing.assert_allclose(batched.run(Y)[0], single.run(Y)[0], atol=1e-7)
    custom = GlmerRefits(nb2, lambda f: np.array([f.sigma]), 1000, 20)
    np.testing.assert_allclose(custom.run(Y)[0][:, 0], batched.run(Y)[0][:, 1], rtol=1e-5)


def test_family_without_parameter_arrays_is_refitted_one_by_one(nb2, monkeypatch):
    """A family whose methods do not take a parameter array is not batched: the replicates are
    refitted one at a time, to the same optima."""
    from mixedmodels.families.negative_binomial import NegativeBinomial

    Y = next(glmer_blocks(nb2, 2, False, np.random.default_rng(8), 2))
    batched = GlmerRefits(nb2, None, 1000, 20)
    assert batched.ml_batch is not None
    expected = batched.run(Y)[0]
    scalar_only = NegativeBinomial.with_parameter

    def with_parameter(self, value):
        return scalar_only(self, float(value))  # an array refused, as by a scalar-only family

    monkeypatch.setattr(NegativeBinomial, "with_parameter", with_parameter)
    single = GlmerRefits(nb2, None, 1000, 20)
    assert single.ml_batch is None
    np.testing.assert_allclose(single.run(Y)[0], expected, atol=1e-7)


def test_nb2_bootstrap_statistics_and_seed(nb2):
    b = mm.bootstrap(nb2, 6, seed=2, progress=False)
    assert list(b.replicates.columns) == ["sd_(Intercept)|site", "sigma", *nb2.fixef_names]
    assert b.t0["sigma"] == pytest.approx(nb2.sigma)
    assert b.n_failed == 0
    again = mm.bootstrap(nb2, 6, seed=2, progress=False, use_u=True)
    assert not np.allclose(again.replicates.to_numpy(), b.replicates.to_numpy())
    ci = b.confint("percentile")
    assert list(ci.index) == list(b.replicates.columns)
    assert np.all(ci.iloc[:, 0] <= ci.iloc[:, 1])


def test_observed_information_bootstrap_replicates_are_refits(probit_observed):
    fit = probit_observed
    assert fit.family.observed_information and not fit.family.estimates_parameter
    Y = next(glmer_blocks(fit, 3, False, np.random.default_rng(5), 3))
    values, status, _ = GlmerRefits(fit, None, 1000, 20).run(Y)
    for i in np.flatnonzero(status != "failed"):
        np.testing.assert_allclose(values[i], _refit_values(fit, Y[:, i]), atol=1e-5)


def _exact_natural(ref: dict) -> pd.DataFrame:
    """glmmTMB's exact profile roots: fixed effects, and the SD and sigma on their own scales."""
    ex, nat = ref["confint_profile_exact"], ref["confint_profile_exact_natural"]
    rows = {n: (lo, hi) for n, lo, hi in zip(ex["names"], ex["lower"], ex["upper"]) if n in ref["fixef"]}
    for n, lo, hi in zip(nat["names"], nat["lower"], nat["upper"]):
        rows["sigma" if n == "sigma" else "Std.Dev.(Intercept)|" + n.split("|")[1]] = (lo, hi)
    return pd.DataFrame(rows, index=["lower", "upper"]).T


def _glmmtmb_natural(ref: dict) -> pd.DataFrame:
    """glmmTMB's own confint(method = "profile") on the same scales."""
    g, nat = ref["confint_profile_glmmTMB"], ref["confint_profile_glmmTMB_natural"]
    return _exact_natural({**ref, "confint_profile_exact": g, "confint_profile_exact_natural": nat})


def _check_profile(ci: pd.DataFrame, ref: dict) -> None:
    exact, tmb = _exact_natural(ref), _glmmtmb_natural(ref)
    ours = ci.loc[exact.index].to_numpy()
    np.testing.assert_allclose(ours, exact.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(ours, tmb.to_numpy(), atol=2e-3)


def test_nb2_profile_intervals_match_glmmtmb(nb2):
    ref = json.loads((REF / "profile_salamanders_nb2.json").read_text())
    assert nb2.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    ci = nb2.confint(method="profile", progress=False)
    # glmmTMB's names, as its Wald table (confint(full = TRUE)); lme4's are accepted in parm=
    assert list(ci.index) == ["Std.Dev.(Intercept)|site", "sigma", *nb2.fixef_names]
    _check_profile(ci, ref)
    one = nb2.confint(method="profile", parm=["sd_(Intercept)|site"], progress=False)
    assert list(one.index) == ["Std.Dev.(Intercept)|site"]
    np.testing.assert_allclose(one.to_numpy(), ci.loc[["Std.Dev.(Intercept)|site"]].to_numpy())


def test_gamma_profile_intervals_match_glmmtmb():
    ref = json.loads((REF / "profile_gamma_log.json").read_text())
    data = pd.read_csv(DATA / ref["data"])
    try:
        fit = _fit(ref["formula"], data, family="Gamma", link="log")
    except (ValueError, NotImplementedError, KeyError, TypeError) as err:
        pytest.skip(f"glmer with the Gamma family (glmmTMB's way) is not available on this branch: {err}")
    if not fit.family.estimates_parameter:
        pytest.skip("glmer's Gamma family does not estimate its shape here (glmmTMB's fit) on this branch")
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-5)
    _check_profile(fit.confint(method="profile", progress=False), ref)


def test_observed_information_profile_is_its_criterion(probit_observed):
    """The profile of a fit with the observed information is of its own criterion: zeta 0 at its
    estimate, and (a non-canonical link) other intervals than the expected information's."""
    fit = probit_observed
    name = fit.fixef_names[-1]
    ci = fit.confint(method="profile", parm=[name], progress=False)
    lo, hi = ci.iloc[0]
    assert lo < fit.fixef[name] < hi
    expected = _fit(fit.formula, fit.data, family="binomial", link="probit")
    assert not np.allclose(expected.fixef.to_numpy(), fit.fixef.to_numpy(), atol=1e-6)
    ci_expected = expected.confint(method="profile", parm=[name], progress=False)
    assert abs(ci_expected.iloc[0, 0] - lo) > 1e-5
    assert abs(fit.confint(method="wald", parm=[name]).iloc[0, 0] - lo) < 0.1


def test_nb2_power_pvalues_are_refits(nb2):
    """The Wald z and likelihood-ratio p-values of replicates: those of full refits (the full
    and the reduced model) of the same responses."""
    from scipy import stats

    from mixedmodels.replicates.glmm_power import _LrtRefits, _ZRefits

    j = list(nb2.fixef_names).index("minedyes")
    beta = nb2.beta.copy()
    beta[j] = -0.5
    Y = next(glmer_blocks(nb2, 2, False, np.random.default_rng(4), 2, (beta, nb2.theta)))
    pz, status, _ = _ZRefits(nb2, j).run(Y)
    pl, _, _ = _LrtRefits(nb2, [j]).run(Y)
    assert list(status) == ["ok", "ok"]
    data = pd.read_csv(DATA / "salamanders.csv")
    for i in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mm.MixedModelsWarning)
            full = nb2.refit(Y[:, i])
            reduced = mm.glmer("count ~ spp + (1 | site)", data.assign(count=Y[:, i]), family="nbinom2")
        z = full.fixef.iloc[j] / full.se.iloc[j]
        assert pz[i, 0] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-5)
        assert pl[i, 0] == pytest.approx(stats.chi2.sf(reduced.objective - full.objective, 1), abs=1e-7)


def test_nb2_power_runs(nb2):
    for test in ("z", "lrt"):
        result = mm.power(nb2, "mined", -1.0, nsim=10, seed=1, test=test, progress=False)
        assert result.n_failed == 0 and 0.0 <= result.power <= 1.0


def _r_bootstrap(name: str) -> tuple[dict, list[str]]:
    ref = json.loads((REF / f"{name}.json").read_text())
    names = ["sd_(Intercept)|" + n.split("|")[1] if n.startswith("Std.Dev.") else n for n in ref["names"]]
    return ref, names


def _check_bootstrap(fit, ref: dict, names: list[str]) -> None:
    """1,000 replicates here against R's 200: the SDs within 12% (R's have a Monte Carlo error
    of about 5%), their median ratio within 4%, the percentile ends within 0.6 of R's SD (the
    2.5% quantile of 200 replicates has an error of about 0.2 SD)."""
    b = mm.bootstrap(fit, 1000, seed=1, progress=False)
    assert b.n_failed == 0
    ratio = b.sd()[names].to_numpy() / np.array(ref["boot_sd"])
    assert np.all(np.abs(ratio - 1) < 0.12), ratio
    assert abs(np.median(ratio) - 1) < 0.04, ratio
    ci = b.confint("percentile").loc[names].to_numpy()
    r_sd = np.array(ref["boot_sd"])
    assert np.all(np.abs(ci[:, 0] - ref["boot_q025"]) < 0.6 * r_sd)
    assert np.all(np.abs(ci[:, 1] - ref["boot_q975"]) < 0.6 * r_sd)


@pytest.mark.slow
def test_nb2_bootstrap_against_glmmtmb(nb2):
    ref, names = _r_bootstrap("bootstrap_salamanders_nb2")
    _check_bootstrap(nb2, ref, names)


@pytest.mark.slow
def test_gamma_bootstrap_against_glmmtmb():
    ref, names = _r_bootstrap("bootstrap_gamma_log")
    data = pd.read_csv(DATA / ref["data"])
    try:
        fit = _fit(ref["formula"], data, family="Gamma", link="log")
    except (ValueError, NotImplementedError, KeyError, TypeError) as err:
        pytest.skip(f"glmer with the Gamma family (glmmTMB's way) is not available on this branch: {err}")
    if not fit.family.estimates_parameter:
        pytest.skip("glmer's Gamma family does not estimate its shape here (glmmTMB's fit) on this branch")
    _check_bootstrap(fit, ref, names)


def test_nb2_wald_sigma_matches_glmmtmb(nb2):
    """confint(method="wald"): the fixed effects and glmmTMB's sigma row (log theta -+ z se)."""
    ref = json.loads((REF / "wald_salamanders_nb2.json").read_text())["confint_wald_full"]
    tmb = pd.DataFrame(
        {"lo": ref["lower"], "hi": ref["upper"]}, index=[n.removeprefix("cond.") for n in ref["names"]]
    )
    ci = nb2.confint(method="wald")
    rows = ["sigma", *nb2.fixef_names]
    np.testing.assert_allclose(ci.loc[rows].to_numpy()[:, :2], tmb.loc[rows].to_numpy(), atol=1e-4)
    assert np.isfinite(ci.loc["Std.Dev.(Intercept)|site"].to_numpy()).all()
