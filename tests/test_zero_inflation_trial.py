"""What a new user's trial of ziformula / dispformula found (issue 29): each test failed before
its fix."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets


def test_zero_inflated_binomial_with_trials_matches_glmmtmb():
    """A zero-inflated binomial of cbind(k, n - k) stopped in a LinAlgError ("PIRLS found no
    conditional mode") from deep in the optimizer: the working weights were taken at one trial
    and multiplied by n, not true of p(0) = pi + (1 - pi)(1 - mu)^n. glmmTMB 1.1.5 (R:
    ``glmmTMB(cbind(incidence, size - incidence) ~ period + (1 | herd), lme4::cbpp,
    family = binomial, ziformula = ~1)``)."""
    cbpp = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    fit = mm.glmer(formula, cbpp, family="binomial", ziformula="~1")
    assert fit.loglik == pytest.approx(-87.9271943070772, abs=1e-6)
    fixef = [-1.24566395168603, -1.05571794054269, -1.04133878176793, -1.72430054022899]
    se = [0.236020606975433, 0.371986682747845, 0.486521603903818, 0.452204625677213]
    assert fit.fixef.to_numpy() == pytest.approx(fixef, rel=1e-4)
    assert fit.se.to_numpy() == pytest.approx(se, rel=1e-4)
    assert fit.zi.fixef["(Intercept)"] == pytest.approx(-2.03632286469792, rel=1e-4)
    assert fit.zi.se["(Intercept)"] == pytest.approx(0.873245834167945, rel=1e-4)
    # glmmTMB's predict(type = "response") and residuals(type = "pearson"), first rows
    assert fit.predict(type="response")[:4].to_numpy() == pytest.approx(
        [0.28380601, 0.12487271, 0.12642277, 0.06871896], rel=1e-5
    )
    assert fit.resid("pearson")[:4].to_numpy() == pytest.approx(
        [-1.16977, 1.31121, 2.87088, -0.60741], abs=2e-5
    )
    proportions = cbpp.assign(p=cbpp["incidence"] / cbpp["size"])
    same = mm.glmer("p ~ period + (1 | herd)", proportions, family="binomial", ziformula="~1", weights="size")
    assert same.loglik == pytest.approx(fit.loglik, abs=1e-8)


def test_zero_inflated_binomial_bootstrap_refits_proportions():
    """The bootstrap's draws of a zero-inflated binomial were passed to the refits as counts
    (not the proportions of the trials the model takes): every refit failed."""
    cbpp = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    fit = mm.glmer(formula, cbpp, family="binomial", ziformula="~1")
    boot = mm.bootstrap(fit, 5, seed=1)
    assert boot.n_failed == 0


def test_dispersion_covariate_in_large_units_reaches_the_optimum():
    """dispformula with a covariate in large units (Days * 1e4): the steps' starting Hessian
    differenced its tiny coefficient by 1e-4, so log(phi) left the domain and the fit stopped at
    logLik -893.89 with warnings. glmmTMB 1.1.5 (R: ``sleepstudy$DaysBig <- sleepstudy$Days * 1e4;
    glmmTMB(Reaction ~ Days + (1 | Subject), sleepstudy, dispformula = ~DaysBig)``) gives
    logLik -891.9119, the coefficient of ``~Days`` divided by 1e4 (1.663804e-05)."""
    sleep = datasets.load("sleepstudy")
    sleep["DaysBig"] = sleep["Days"] * 1e4
    small = mm.glmer("Reaction ~ Days + (1 | Subject)", sleep, family="gaussian", dispformula="~ Days")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = mm.glmer("Reaction ~ Days + (1 | Subject)", sleep, family="gaussian", dispformula="~ DaysBig")
    assert big.loglik == pytest.approx(-891.9119, abs=1e-4)
    assert big.loglik == pytest.approx(small.loglik, abs=1e-6)
    assert big.disp.fixef["DaysBig"] * 1e4 == pytest.approx(small.disp.fixef["Days"], rel=1e-4)
    assert big.disp.fixef["DaysBig"] == pytest.approx(1.663804e-05, rel=1e-3)
    assert big.disp.se["DaysBig"] * 1e4 == pytest.approx(small.disp.se["Days"], rel=1e-3)


def test_hurdle_with_a_dispersion_model():
    """A hurdle (truncated_nbinom2) with a dispformula stopped in a broadcasting ValueError from
    numpy: the starting size was taken on the positive counts' rows while the family held a size
    for every row. glmmTMB 1.1.5 (R: ``glmmTMB(count ~ spp + mined + (1 | site), Salamanders,
    family = truncated_nbinom2, ziformula = ~mined, dispformula = ~mined)``)."""
    sal = datasets.load("salamanders")
    sal["mined"] = pd.Categorical(sal["mined"].astype(str), ["yes", "no"])  # R's level order
    fit = mm.glmer(
        "count ~ spp + mined + (1 | site)",
        sal,
        family="truncated_nbinom2",
        ziformula="~mined",
        dispformula="~mined",
    )
    assert fit.loglik == pytest.approx(-854.146729411, abs=1e-6)
    assert fit.disp.fixef.to_numpy() == pytest.approx([-1.035552990, 1.518124896], rel=1e-4)
    assert fit.disp.se.to_numpy() == pytest.approx([2.01038204, 2.03100669], rel=1e-3)
    assert fit.zi.fixef.to_numpy() == pytest.approx([1.665007683, -2.150515035], rel=1e-4)
