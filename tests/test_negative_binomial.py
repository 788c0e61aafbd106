"""The negative binomial with a known theta (MASS's ``negative.binomial(theta)``) as one family
class: glm and glmer fit it through the family seam alone, against R (the reference and its R
script in tests/reference/families/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.families import NegativeBinomial

REF = json.loads(
    (Path(__file__).parent / "reference" / "families" / "negative_binomial_cbpp.json").read_text()
)


@pytest.fixture(scope="module")
def cbpp():
    return datasets.load("cbpp")


def test_glm_is_r_glm_with_negative_binomial(cbpp):
    want = REF["glm"]
    fit = mm.glm("incidence ~ period", cbpp, family=NegativeBinomial(2))
    np.testing.assert_allclose(fit.coef.to_numpy(), want["coef"], rtol=1e-10)
    for name in ("deviance", "null_deviance", "aic", "loglik"):
        assert getattr(fit, name) == pytest.approx(want[name], rel=1e-10)
    # R's summary.glm estimates a dispersion for any family but the binomial and the Poisson;
    # ours is fixed at 1, as MASS's glm.nb: the SEs differ by its square root only
    np.testing.assert_allclose(fit.se.to_numpy() * np.sqrt(want["dispersion"]), want["se"], rtol=1e-10)
    assert want["family"] == fit.family.name == "Negative Binomial(2)"


@pytest.mark.parametrize("case, link", [("glmer", "log"), ("glmer_sqrt", "sqrt")])
def test_glmer_is_lme4s_with_negative_binomial(cbpp, case, link):
    """lme4's optimum or a better one: the likelihood of this model is flat in theta."""
    want = REF[case]
    fit = mm.glmer("incidence ~ period + (1 | herd)", cbpp, family=NegativeBinomial(2, link))
    assert fit.loglik >= want["loglik"] - 1e-7 and fit.loglik - want["loglik"] < 1e-5
    np.testing.assert_allclose(fit.fixef.to_numpy(), want["fixef"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fit.se.to_numpy(), want["se"], rtol=2e-4)
    assert "Family: Negative Binomial(2)  ( " + link + " )" in str(fit)


def test_the_family_owns_its_arithmetic():
    fam = NegativeBinomial(3.0)
    mu = np.array([0.5, 2.0, 10.0])
    np.testing.assert_allclose(fam.variance(mu), mu + mu**2 / 3.0)
    assert (
        not fam.canonical and fam.dispersion_fixed and fam.with_link("sqrt") == NegativeBinomial(3.0, "sqrt")
    )
    assert NegativeBinomial(3.0) != NegativeBinomial(2.0)
    draws = fam.draw(np.full(20000, 4.0), np.ones(20000), np.random.default_rng(1))
    assert draws.mean() == pytest.approx(4.0, rel=0.03) and draws.var() == pytest.approx(4 + 16 / 3, rel=0.05)
    with pytest.raises(ValueError, match="theta must be positive"):
        NegativeBinomial(0.0)


def test_simulate_and_bootstrap_draw_from_it(cbpp):
    fit = mm.glmer("incidence ~ period + (1 | herd)", cbpp, family=NegativeBinomial(2))
    sims = fit.simulate(3, seed=1)
    assert sims.shape == (len(cbpp), 3) and np.all(sims.to_numpy() >= 0)
    boot = mm.bootstrap(fit, nsim=5, seed=2, progress=False)
    assert boot.replicates.shape[0] == 5


def test_glmer_counts_a_given_size_as_lme4(cbpp):
    """lme4's logLik(glmer(incidence ~ period + (1 | herd), cbpp, negative.binomial(2))) has
    df = 6 (4 fixed effects, 1 theta and the size) and AIC 193.6643."""
    fit = mm.glmer("incidence ~ period + (1 | herd)", cbpp, family=NegativeBinomial(2))
    assert fit.npar == 6
    assert fit.aic == pytest.approx(193.6643, abs=1e-4)
