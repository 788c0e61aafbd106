"""``mm.glmer_nb``: lme4's ``glmer.nb`` (the negative binomial's size by a 1-D search over fits
at a fixed size) against lme4 1.1-31.

References (tests/reference/families/): ``grouseticks_nb2.json`` and ``salamanders_nb2.json``
(key ``lme4_glmer_nb``, from make_turn3.R), ``glmer_nb_grouseticks.json`` (make_glmer_nb.R:
the small case with its summary) and ``glmer_nb_options.json`` (make_glmer_nb_options.R:
nAGQ = 0 and 5, an offset, update and refit). lme4's ``optimize`` stops at 5e-5 in
``log(theta)`` and its stored logLik comes from its last refit's state; ours searches to the
optimum, so the criterion here is: estimates within 1e-3 (relative) and a logLik no lower than
lme4's by more than 1e-3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.families import NegativeBinomial
from mixedmodels.glmm.glmer_nb import GlmerNbFit

HERE = Path(__file__).parent
REF = HERE / "reference" / "families"
SMALL = "TICKS ~ YEAR + (1|BROOD)"
LARGE = "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)"
SALAMANDERS = "count ~ spp * mined + (1|site)"


def _ref(name: str) -> dict:
    return json.loads((REF / name).read_text())


@pytest.fixture(scope="module")
def ticks() -> pd.DataFrame:
    gt = pd.read_csv(HERE / "data" / "grouseticks_nb.csv", dtype={"BROOD": str, "YEAR": str, "LOCATION": str})
    gt["logh"] = np.log(gt["HEIGHT"] / 500)
    return gt


@pytest.fixture(scope="module")
def small(ticks) -> GlmerNbFit:
    return mm.glmer_nb(SMALL, ticks)


def _check(fit, fixef, se, theta_nb, loglik, tol=1e-3) -> None:
    """Estimates and standard errors within ``tol`` (relative) of lme4's, the size too, and a
    logLik at least lme4's less 1e-3."""
    np.testing.assert_allclose(fit.fixef.to_numpy(), fixef, rtol=tol)
    np.testing.assert_allclose(fit.se.to_numpy(), se, rtol=tol)
    assert abs(fit.theta_nb / theta_nb - 1) < tol
    assert fit.loglik > loglik - 1e-3


def test_grouseticks_two_terms_as_lme4(ticks):
    r = _ref("grouseticks_nb2.json")["lme4_glmer_nb"]
    fit = mm.glmer_nb(LARGE, ticks)
    _check(fit, list(r["fixef"].values()), r["se"], r["theta_nb"], r["loglik"])
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=1e-3)
    assert fit.npar == 7  # lme4's logLik df: ntheta + p + 1
    assert fit.family.name == "Negative Binomial(3.3034)"


def test_salamanders_as_lme4():
    r = _ref("salamanders_nb2.json")["lme4_glmer_nb"]
    sal = pd.read_csv(HERE / "data" / "salamanders.csv")
    fit = mm.glmer_nb(SALAMANDERS, sal)
    _check(fit, list(r["fixef"].values()), r["se"], r["theta_nb"], r["loglik"])
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=1e-3)
    assert fit.family.name == "Negative Binomial(1.0023)"  # lme4's family line
    assert fit.npar == 1 + 14 + 1


def test_small_case_summary_as_lme4(small):
    r = _ref("glmer_nb_grouseticks.json")["small"]
    _check(small, r["fixef"]["estimate"], r["fixef"]["se"], r["theta_nb"], r["loglik"])
    assert small.npar == r["df"]
    assert small.aic == pytest.approx(r["AIC"], abs=5e-3)
    assert small.bic == pytest.approx(r["BIC"], abs=5e-3)
    np.testing.assert_allclose(small.fitted.to_numpy()[:10], r["fitted_head"], rtol=1e-4)
    ours, theirs = small.summary().splitlines(), r["summary_text"].splitlines()
    same = [0, 1, 3, 6, 7, 9, 10, 13, 14, 15, 16]  # headers, the AIC line, the random effects, nobs
    assert [ours[i] for i in same] == [theirs[i] for i in same]
    np.testing.assert_allclose(
        [float(v) for v in ours[11].split()], [float(v) for v in theirs[11].split()], atol=2e-4
    )
    # lme4's optimize stops at 5e-5 in log(theta): its 3.30322 prints 3.3032, the optimum 3.30314 3.3031
    assert theirs[2] == " Family: Negative Binomial(3.3032)  ( log )"
    assert ours[2] == " Family: Negative Binomial(3.3031)  ( log )"


def test_the_size_is_the_optimum_of_the_profile(small, ticks):
    """Every fit at a fixed size the search made is no better than the estimate's; fits at the
    size just beside it are worse (the search went to the optimum, not lme4's 5e-5)."""
    best = min(d for _, d in small.theta_search.evaluations)
    assert -2 * small.loglik == pytest.approx(best, abs=1e-5)
    for factor in (1 - 1e-4, 1 + 1e-4):
        beside = mm.glmer(SMALL, ticks, family=NegativeBinomial(small.theta_nb * factor))
        assert beside.loglik < small.loglik + 1e-7
    assert small.theta_search.nevals < 20


def test_the_fit_is_glmer_at_the_estimated_size(small, ticks):
    fixed = mm.glmer(SMALL, ticks, family=NegativeBinomial(small.theta_nb))
    assert isinstance(small, mm.GlmerFit)
    assert small.family == fixed.family and not small.family.estimates_parameter
    assert small.family.theta == small.theta_nb
    np.testing.assert_allclose(small.fixef, fixed.fixef, rtol=1e-10)
    assert small.loglik == pytest.approx(fixed.loglik, abs=1e-9)
    assert small.npar == fixed.npar == 5  # the size counts, given or estimated, as lme4 counts it
    d = small.to_dict()
    assert d["theta_nb"] == small.theta_nb and d["df_residual"] == small.nobs - 5


def test_glmer_nbinom2_with_the_expected_information_is_glmer_nb(small, ticks):
    fit = mm.glmer(SMALL, ticks, family="nbinom2", laplace="expected")
    assert isinstance(fit, GlmerNbFit)
    assert fit.theta_nb == pytest.approx(small.theta_nb, rel=1e-12)
    assert fit.loglik == pytest.approx(small.loglik, abs=1e-9)


def test_a_family_without_lme4s_alternation_is_refused(ticks):
    class NoAlternation(NegativeBinomial):
        def alternation_start(self):
            return None

    with pytest.raises(NotImplementedError, match="no lme4 fit"):
        mm.glmer(SMALL, ticks, family=NoAlternation(), laplace="expected")


def test_theta_ml_as_mass():
    """MASS::theta.ml(TICKS, ave(TICKS, YEAR), limit = 20, eps = 1e-4), with weights, and with
    limit = 3 (its warning)."""
    gt = pd.read_csv(HERE / "data" / "grouseticks_nb.csv")
    y = gt["TICKS"].to_numpy(float)
    mu = gt.groupby("YEAR")["TICKS"].transform("mean").to_numpy()
    w = np.resize([1.0, 2.0, 3.0], len(y))
    nb = NegativeBinomial()
    assert nb.parameter_given_means(y, mu, np.ones_like(y), 1e-4, 20)[::2] == (
        pytest.approx(0.513933515755504, rel=1e-12),
        None,
    )
    assert nb.parameter_given_means(y, mu, w, 1e-4, 20)[0] == pytest.approx(0.486089896028559, rel=1e-12)
    theta, _, note = nb.parameter_given_means(y, mu, np.ones_like(y), 1e-4, limit=3)
    assert theta == pytest.approx(0.496152128278585, rel=1e-12) and "iteration limit" in note


def test_offset_and_nagq0_as_lme4(ticks):
    r = _ref("glmer_nb_options.json")
    o = r["offset"]
    fit = mm.glmer_nb(SMALL, ticks, offset="logh")
    _check(fit, list(o["fixef"].values()), o["se"], o["theta_nb"], o["loglik"])
    z = r["nagq0"]  # lme4's nAGQ = 0 search stops 8e-4 short in theta: ours is the higher optimum
    fit0 = mm.glmer_nb(SMALL, ticks, nagq=0)
    assert fit0.loglik > z["loglik"] + 1e-3
    _check(fit0, list(z["fixef"].values()), z["se"], z["theta_nb"], z["loglik"], tol=1e-2)


@pytest.mark.slow
def test_quadrature_as_lme4(ticks):
    """nAGQ = 5: lme4's estimate is at the end of its interval (log(theta_0) - 3), as ours."""
    z = _ref("glmer_nb_options.json")["nagq5"]
    with pytest.warns(mm.MixedModelsWarning, match="end of the search interval"):
        fit = mm.glmer_nb(SMALL, ticks, nagq=5)
    _check(fit, list(z["fixef"].values()), z["se"], z["theta_nb"], z["loglik"])


def test_refit_keeps_the_size_and_update_estimates_it(small, ticks):
    """lme4's refit (so bootMer) keeps theta at the estimate, and so does ours; lme4's update
    does too (its call is glmer with negative.binomial(theta_hat)), ours estimates it again:
    lme4's update is mm.glmer with the fit's family."""
    r = _ref("glmer_nb_options.json")["update_refit"]
    y = small.simulate(seed=1).iloc[:, 0].to_numpy()
    again = small.refit(y)
    assert isinstance(again, GlmerNbFit) and again.theta_nb == small.theta_nb
    updated = small.update("TICKS ~ YEAR + (1|BROOD) + cHEIGHT")
    assert isinstance(updated, GlmerNbFit) and abs(updated.theta_nb / small.theta_nb - 1) > 1e-3
    fixed = mm.glmer("TICKS ~ YEAR + (1|BROOD) + cHEIGHT", ticks, family=small.family)
    assert fixed.loglik > r["update_loglik"] - 1e-3
    assert updated.loglik > fixed.loglik


def test_bootstrap_holds_the_size(small):
    """As lme4's bootMer (simulate, then refit): replicates drawn from and refitted with the
    negative binomial at the estimated size, held fixed."""
    boot = mm.bootstrap(small, 4, seed=1)
    assert boot.n_failed == 0
    assert small.model.fam == small.family and not small.model.fam.estimates_parameter


def test_search_options(ticks):
    fit = mm.glmer_nb(SMALL, ticks, theta_start=3.0, interval=(1.0, 1.3), tol=1e-6)
    assert fit.theta_search.start == 3.0 and fit.theta_search.interval == (1.0, 1.3)
    assert fit.theta_nb == pytest.approx(3.30314, rel=1e-5)
    with pytest.raises(ValueError, match="interval"):
        mm.glmer_nb(SMALL, ticks, interval=(2.0, 1.0))


def test_anova_compares_fits_each_at_its_own_size(small, ticks):
    """lme4's anova of two glmer.nb fits: the likelihood-ratio test, each fit's size counted."""
    null = mm.glmer_nb("TICKS ~ 1 + (1|BROOD)", ticks)
    assert null.family.name != small.family.name  # "Negative Binomial(...)" carries the size
    table = mm.anova(null, small).table
    assert list(table["npar"]) == [null.npar, small.npar] == [3, 5]
    assert table["Chisq"].iloc[1] == pytest.approx(2 * (small.loglik - null.loglik), rel=1e-10)
    # a Poisson against glmer.nb, of one response: compared, as lme4 compares them
    poisson = mm.glmer("TICKS ~ 1 + (1|BROOD)", ticks, family="poisson")
    assert mm.anova(poisson, small).table["npar"].tolist() == [2, 5]
