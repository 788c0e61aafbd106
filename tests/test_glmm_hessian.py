"""glmer's standard errors where the criterion is hard to difference (issue 26).

Binomial counts of size 1e8 with probabilities near 1e-7 (tests/data/make_tiny_probability.py):
lme4's and glmmTMB's SEs (tests/reference/glmm/hessian/make_tiny_probability.R) and, for nAGQ = 9, an
integral of the likelihood independent of lme4 (make_tiny_probability_exact.R; lme4's own
quadrature loses digits in its unit deviances there).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.glmm import engine as glmm
from mixedmodels.glmm import pirls
from mixedmodels.glmm.engine import GradientHessian, criterion_function, gradient_hessian, laplace_hessian

HERE = Path(__file__).parent
DATA = HERE / "data"
HESSIAN_REF = HERE / "reference" / "glmm" / "hessian"
REF = json.loads((HESSIAN_REF / "tiny_probability.json").read_text())
EXACT = json.loads((HESSIAN_REF / "tiny_probability_exact.json").read_text())
FORMULA = "cbind(k, size - k) ~ x + (1 | g)"
INTERCEPTS = ["15", "17"]


def _data(b: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"tiny_probability_{b}.csv")


def _fit(data: pd.DataFrame, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.glmer(FORMULA, data, family="binomial", **kw)
    return fit, [str(w.message) for w in caught]


def _old_unit_deviance(self, mu):
    """The binomial unit deviance as it was: ``(1 - y) log((1 - y) / (1 - mu))`` by its ratio,
    whose rounding (1e-16) times the trials (1e8) makes the criterion noisy."""
    y, nz, ys, c, cnz, cs = self._dev_terms
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(nz, y * np.log(ys / mu), 0.0)
        return 2.0 * self.weights * (a + np.where(cnz, c * np.log(cs / (1.0 - mu)), 0.0))


@pytest.mark.parametrize("b", INTERCEPTS)
def test_tiny_probability_laplace_matches_lme4(b):
    fit, messages = _fit(_data(b))
    ref = REF[f"intercept_{b}"]["laplace"]
    assert np.allclose(fit.se.to_numpy(), ref["se"], rtol=1e-4, atol=0)  # were 2.4% and 19% off
    assert np.allclose(fit.fixef.to_numpy(), ref["fixef"], rtol=1e-5, atol=0)
    assert not [m for m in messages if "Hessian" in m]


@pytest.mark.parametrize("b", INTERCEPTS)
def test_tiny_probability_quadrature_matches_the_exact_integral(b):
    fit, _ = _fit(_data(b), nagq=9)
    exact = EXACT[f"intercept_{b}"]
    assert np.allclose(fit.se.to_numpy(), exact["se"], rtol=1e-4, atol=0)  # were 5% off


@pytest.mark.parametrize("b", INTERCEPTS)
def test_criterion_is_smooth_at_tiny_probabilities(b):
    """The Laplace criterion along a line through the optimum is a parabola to its rounding
    (it was noisy by 1e-7 to 4e-6, which a step of 1e-4 turns into a Hessian error of 10-400)."""
    fit, _ = _fit(_data(b))
    fn, memo = criterion_function(fit.model, 1, fit.beta)
    memo["state"] = fit.optimum.state
    x = fit.optimum.opt.theta
    t = np.linspace(-1e-5, 1e-5, 21)
    for i in range(len(x)):
        values = np.array([fn(x + s * np.eye(len(x))[i]) for s in t])
        residual = values - np.polyval(np.polyfit(t, values, 2), t)
        assert np.max(np.abs(residual)) < 1e-10


@pytest.mark.parametrize("b", INTERCEPTS)
def test_gradient_hessian_gives_glmmtmbs_standard_errors(b):
    """The converged criterion's Hessian from the closed-form gradient: consistent, and its
    SEs are glmmTMB's (whose Hessian is from automatic derivatives)."""
    fit, _ = _fit(_data(b))
    gh = laplace_hessian(fit.model, fit.optimum.opt.theta, fit.optimum.state.u)
    assert gh.consistent and gh.positive_definite
    se = np.sqrt(np.diag(2.0 * np.linalg.inv(gh.hessian)))[fit.ntheta :]
    assert np.allclose(se, REF[f"intercept_{b}"]["glmmTMB"]["se"], rtol=2e-4, atol=0)


def test_noisy_criterion_is_caught_and_named(monkeypatch):
    """With the old unit deviance the differences measure noise: the check says so by name
    and the SEs come from the gradient's Hessian (glmmTMB's), never a silent number."""
    monkeypatch.setattr(pirls.GlmmModel, "dev_resids", _old_unit_deviance)
    fit, messages = _fit(_data("17"))
    assert any("Hessian" in m and "noisy" in m for m in messages)
    assert any("Hessian" in m for m in fit.messages)
    assert np.allclose(fit.se.to_numpy(), REF["intercept_17"]["glmmTMB"]["se"], rtol=2e-4, atol=0)


@pytest.mark.parametrize("b", INTERCEPTS)
def test_probabilities_near_one_are_named_and_close_to_glmmtmb(b):
    """Flipped (k -> size - k): the means near 1 are rounded to 1e-16, which leaves lme4's
    criterion noisy (lme4's own SEs are off by up to 8% there). The check names it; the
    gradient's Hessian gives glmmTMB's SEs to 1e-3."""
    data = _data(b)
    fit, messages = _fit(data.assign(k=data["size"] - data["k"]))
    assert any("Hessian" in m and "noisy" in m for m in messages)
    tmb = REF[f"flipped_{b}"]["glmmTMB"]["se"]
    assert np.allclose(fit.se.to_numpy(), tmb, rtol=1e-3, atol=0)
    assert np.allclose(fit.fixef.to_numpy(), -np.array(REF[f"intercept_{b}"]["laplace"]["fixef"]), rtol=1e-5)


def test_hessian_not_positive_definite_warns_and_gives_no_nan(monkeypatch):
    """Where neither Hessian is usable, vcov falls back to the fixed-theta information with a
    warning naming the Hessian; the SEs are finite."""
    monkeypatch.setattr(glmm, "checked_hessian", lambda fn, x, f0, **kw: (-np.eye(len(x)), np.zeros(len(x))))
    monkeypatch.setattr(
        glmm, "laplace_hessian", lambda model, x, u: GradientHessian(-np.eye(len(x)), 0.0, 0.0)
    )
    fit, messages = _fit(_data("15"))
    assert any("not positive definite" in m and "Hessian" in m for m in messages)
    assert np.all(np.isfinite(fit.se.to_numpy())) and np.all(fit.se.to_numpy() > 0)


def test_hessian_not_finite_warns_and_gives_no_nan(monkeypatch):
    """A criterion that fails near the optimum (inf or NaN in the stencil) is named."""
    monkeypatch.setattr(
        glmm, "checked_hessian", lambda fn, x, f0, **kw: (np.full((len(x), len(x)), np.nan), np.zeros(len(x)))
    )
    fit, messages = _fit(_data("15"))
    assert any("is not finite" in m and "Hessian" in m for m in messages)
    assert np.allclose(fit.se.to_numpy(), REF["intercept_15"]["glmmTMB"]["se"], rtol=2e-4, atol=0)


def test_gradient_hessian_of_a_known_function():
    A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])

    def grad(points):  # f = x'Ax / 2 + sum x^4 / 4
        return points @ A + points**3

    x = np.array([0.3, -1.2, 2.0])
    gh = gradient_hessian(grad, x)
    assert np.allclose(gh.hessian, A + np.diag(3.0 * x**2), rtol=1e-9, atol=1e-9)
    assert gh.consistent and gh.positive_definite
    rng = np.random.default_rng(1)
    noisy = gradient_hessian(lambda p: grad(p) + 1e-4 * rng.standard_normal(p.shape), x)
    assert not noisy.consistent
    nan = gradient_hessian(lambda p: np.where(p[:, :1] > 0.3, np.nan, grad(p)), x)
    assert not nan.consistent and not nan.positive_definite


def test_random_slopes_and_crossed_terms_use_lme4s_hessian():
    """Several theta (a random slope) and several terms: the checked Hessian is lme4's (no
    note), the gradient's agrees with it to the few percent that lme4's truncated PIRLS makes."""
    cbpp = pd.read_csv(HERE / "data" / "cbpp.csv")
    cbpp["herd"] = cbpp["herd"].astype(str)
    cbpp["period"] = cbpp["period"].astype(str)
    cbpp["t"] = cbpp.groupby("herd").cumcount()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.glmer("cbind(incidence, size - incidence) ~ t + (t | herd)", cbpp, family="binomial")
    assert not [w for w in caught if "Hessian" in str(w.message)]
    gh = laplace_hessian(fit.model, fit.optimum.opt.theta, fit.optimum.state.u)
    assert gh.consistent
    se = np.sqrt(np.diag(2.0 * np.linalg.inv(gh.hessian)))[fit.ntheta :]
    assert np.allclose(se, fit.se.to_numpy(), rtol=0.05)


def test_curvatures_of_different_scales_are_not_called_noise():
    """Contraception (age and age^2 beside dummies: curvatures 1e6 apart): the pairs' fourth-order
    terms differ from the diagonal's, which is not noise. lme4's Hessian is kept and the SEs
    are lme4's (a check on the pairs alone sent them to the fallback, 1e-3 off)."""
    data = pd.read_csv(DATA / "contraception.csv", dtype={"district": str, "livch": str})
    ref = json.loads((HESSIAN_REF / "contraception.json").read_text())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.glmer(ref["formula"], data, family="binomial")
    assert not [w for w in caught if "Hessian" in str(w.message)]
    se = pd.Series(ref["se"])[fit.se.index]
    assert np.allclose(fit.se.to_numpy(), se.to_numpy(), rtol=1e-4, atol=0)


def test_a_covariate_in_other_units_gives_the_same_fit_and_standard_errors():
    """Contraception with age in hundredths (age100 = 100 age): lme4's absolute Hessian steps move
    the linear predictor by ~100 along I(age100^2), so its Hessian is noisy; the stand-in from
    the gradient takes its steps in each column's units. The fit is the unscaled one (lme4
    itself stops with a PIRLS error here), judged an optimum, its SEs the unscaled ones to
    the two Hessians' difference (they were 1-3% small, from the fixed-theta fallback)."""
    data = pd.read_csv(DATA / "contraception.csv", dtype={"district": str, "livch": str})
    data["age100"] = 100 * data["age"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = mm.glmer("use ~ age + I(age^2) + urban + livch + (1 | district)", data, family="binomial")
        scaled = mm.glmer(
            "use ~ age100 + I(age100^2) + urban + livch + (1 | district)", data, family="binomial"
        )
    assert scaled.objective == pytest.approx(plain.objective, abs=1e-6)
    assert scaled.converged and scaled.check_convergence().verdict == "optimum"
    units = np.array([1.0, 100.0, 100.0**2, 1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(scaled.fixef.to_numpy() * units, plain.fixef.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(scaled.se.to_numpy() * units, plain.se.to_numpy(), rtol=3e-3)
