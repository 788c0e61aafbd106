"""Families and links against R's binomial() and poisson() (tests/reference/glmm/families.json,
made by make_families.R beside it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mixedmodels.families import Family, family, make_link

REF = json.loads((Path(__file__).parent / "reference" / "glmm" / "families.json").read_text())


def _fam(key: str) -> Family:
    name, link = key.split("_")
    return family(name, link)


@pytest.mark.parametrize("key", sorted(REF["links"]))
def test_links_match_r(key):
    ref = REF["links"][key]
    fam = _fam(key)
    eta = np.asarray(ref["eta"])
    np.testing.assert_allclose(fam.linkinv(eta), ref["linkinv"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(fam.mu_eta(eta), ref["mu_eta"], rtol=1e-12, atol=0)
    mu = np.asarray(REF[fam.name]["mu"])
    got, want = fam.linkfun(mu), np.asarray(ref["linkfun"])
    if key == "binomial_cloglog":  # R's log(-log(1 - mu)) loses digits at mu = 1e-12; ours uses log1p
        assert got[0] == pytest.approx(np.log(mu[0]) - mu[0] / 2, rel=1e-12)
        got, want = got[1:], want[1:]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert fam.valid_eta(eta) == ref["valideta"][0]


@pytest.mark.parametrize("key", sorted(REF["families"]))
def test_variance_deviance_aic_match_r(key):
    ref = REF["families"][key]
    fam = _fam(key)
    data = REF[fam.name]
    y, mu, wt = (np.asarray(data[k]) for k in ("y", "mu", "wt"))
    np.testing.assert_allclose(fam.variance(mu), ref["variance"], rtol=1e-14)
    np.testing.assert_allclose(fam.dev_resids(y, mu, wt), ref["dev_resids"], rtol=1e-10, atol=1e-300)
    assert fam.aic(y, np.ones_like(y), mu, wt, 0.0) == pytest.approx(ref["aic"][0], rel=1e-12)


def test_binomial_aic_with_trials():
    ref = REF["aic_trials"]
    fam = family("binomial")
    assert fam.aic(
        np.asarray(ref["y"]), np.asarray(ref["n"]), np.asarray(ref["mu"]), np.asarray(ref["n"]), 0.0
    ) == (pytest.approx(ref["aic"][0], rel=1e-12))


@pytest.mark.parametrize("case", ["init_binomial_prop", "init_binomial_01"])
def test_binomial_initialize(case):
    ref = REF[case]
    init = family("binomial").initialize(np.asarray(ref["y_in"]), np.asarray(ref["wt_in"]))
    np.testing.assert_allclose(init.mustart, ref["mustart"], rtol=1e-14)
    np.testing.assert_allclose(init.y, ref["y"], rtol=1e-14)
    np.testing.assert_allclose(init.weights, ref["weights"], rtol=1e-14)


def test_binomial_initialize_two_columns():
    y = np.array([[2.0, 2.0], [0.0, 4.0], [3.0, 0.0]])
    init = family("binomial").initialize(y, np.ones(3))
    np.testing.assert_allclose(init.y, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(init.trials, [4.0, 4.0, 3.0])
    np.testing.assert_allclose(init.weights, [4.0, 4.0, 3.0])
    np.testing.assert_allclose(init.mustart, (init.trials * init.y + 0.5) / (init.trials + 1))


def test_poisson_initialize():
    ref = REF["init_poisson"]
    init = family("poisson").initialize(np.asarray(ref["y_in"]), np.ones(4))
    np.testing.assert_allclose(init.mustart, ref["mustart"], rtol=1e-14)


def test_bad_responses_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        family("binomial").initialize(np.array([0.0, 1.5]), np.ones(2))
    with pytest.raises(ValueError, match="negative"):
        family("poisson").initialize(np.array([0.0, -1.0]), np.ones(2))
    with pytest.raises(ValueError, match="negative"):
        family("binomial").initialize(np.array([[1.0, -1.0]]), np.ones(1))


def test_constructor_spellings_and_refusals():
    assert family("binomial").link.name == "logit"
    assert family("Binomial()", link="probit").link.name == "probit"
    assert family("poisson").link.name == "log"
    fam = family("binomial", "cloglog")
    assert family(fam) is fam and family(fam, "logit").link.name == "logit"
    with pytest.raises(ValueError, match="not supported yet"):
        family("inverse.gaussian")
    assert family("Gamma").link.name == "inverse" and family("gamma", "log").estimates_parameter
    nb = family("negative.binomial")
    assert nb.estimates_parameter and nb.parameter is None and nb.name == "nbinom2"
    assert family("nbinom2", "sqrt").link.name == "sqrt"
    with pytest.raises(ValueError, match="unknown family"):
        family("weibull")
    with pytest.raises(ValueError, match="not available for the poisson"):
        family("poisson", "logit")
    with pytest.raises(ValueError, match="unknown link"):
        make_link("loglog")


def test_valid_mu():
    assert family("binomial").valid_mu(np.array([0.2, 0.9]))
    assert not family("binomial").valid_mu(np.array([0.0, 0.5]))
    assert family("poisson").valid_mu(np.array([0.1, 3.0]))
    assert not family("poisson").valid_mu(np.array([0.0]))


def test_extreme_eta_stays_finite():
    eta = np.array([-800.0, 800.0])
    for link in ("logit", "probit", "cloglog", "cauchit"):
        fam = family("binomial", link)
        mu = fam.linkinv(eta)
        assert np.all((mu > 0) & (mu < 1)), link
        assert np.all(np.isfinite(fam.mu_eta(eta)) & (fam.mu_eta(eta) > 0)), link
