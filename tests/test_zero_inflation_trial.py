"""What a new user's trial of ziformula / dispformula found (issue 29): each test failed before
its fix."""

from __future__ import annotations

import warnings

import pytest

import mixedmodels as mm
from mixedmodels import datasets


def test_zero_inflated_binomial_with_trials_is_refused_clearly():
    """A zero-inflated binomial of cbind(k, n - k) stopped in a LinAlgError ("PIRLS found no
    conditional mode") from deep in the optimizer: the fit's working weights assume each row's
    information a multiple of one trial's, not true of p(0) = pi + (1 - pi)(1 - mu)^n."""
    cbpp = datasets.load("cbpp")
    with pytest.raises(NotImplementedError, match="one trial per row"):
        mm.glmer(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            cbpp,
            family="binomial",
            ziformula="~1",
        )


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
