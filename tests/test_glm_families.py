"""mm.glm for families that estimate a parameter, and for the Gamma, against R.

References in tests/reference/families/, made by make_glm_families.R (MASS::glm.nb and
glmmTMB's fixed-effects-only nbinom2 fits of Salamanders and grouseticks; stats::glm with
Gamma(link = "log" | "inverse")) and make_glmmtmb_more.R (tmb_salamanders_nb2_fixed.json).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedmodels as mm
import mixedmodels.families as families
from mixedmodels.families import Family, Initialized, NegativeBinomial
from mixedmodels.fixed.glm_ml import GlmMlFit, _Problem
from mixedmodels.fixed.glm_nb import GlmNbFit

HERE = Path(__file__).parent
REFERENCE = HERE / "reference" / "families"
NB_CASES = {
    "glm_nb_salamanders": "count ~ spp * mined",
    "glm_nb_grouseticks": "TICKS ~ YEAR + cHEIGHT",
    "glm_nb_salamanders_sqrt": "count ~ mined + cover",  # link = sqrt, given
}


def _reference(name: str) -> dict:
    return json.loads((REFERENCE / f"{name}.json").read_text())


def _data(ref: dict) -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / ref["data"])
    for col in ref.get("factors", []):
        data[col] = pd.Categorical(data[col].astype(str))
    return data


@pytest.fixture(scope="module", params=list(NB_CASES))
def nb_case(request):
    ref = _reference(request.param)
    data = _data(ref)
    return ref, data, mm.glm(NB_CASES[request.param], data, family="nbinom2", link=ref["link"])


def _rel(got, want, floor=None) -> float:
    """The largest relative difference, relative to at least ``floor`` (a coefficient near 0 is
    compared on the scale of its standard error)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.abs(want) if floor is None else np.maximum(np.abs(want), floor)
    return float(np.max(np.abs(got - want) / scale))


# ----------------------------------------------------------------------------- MASS's glm.nb
def test_glm_nb_is_mass_glm_nb(nb_case):
    ref, _, fit = nb_case
    want = ref["glm_nb"]
    assert isinstance(fit, GlmNbFit) and list(fit.names) == want["names"]
    assert _rel(fit.coef, want["coef"], floor=np.asarray(want["se"])) < 1e-6
    for ours, theirs in [
        (fit.se, "se"), (fit.theta, "theta"), (fit.theta_se, "SE_theta"),
        (fit.twologlik, "twologlik"), (fit.deviance, "deviance"), (fit.null_deviance, "null_deviance"),
        (fit.aic, "aic"), (fit.bic, "bic"), (fit.loglik, "loglik"), (fit.fitted, "fitted"),
    ]:  # fmt: skip
        assert _rel(ours, want[theirs]) < 1e-6, theirs
    assert (fit.df_residual, fit.df_null, fit.npar) == (
        want["df_residual"],
        want["df_null"],
        want["loglik_df"],
    )
    assert fit.iterations == want["iter"] and fit.dispersion == 1.0
    for kind in ("deviance", "pearson", "response", "working"):
        resid = want[f"resid_{kind}"]
        np.testing.assert_allclose(fit.resid(kind), resid, rtol=1e-6, atol=1e-6 * np.max(np.abs(resid)))
    # the family at the estimate, held: R's name; the fit itself estimated it
    assert fit.family.name == want["family"] and not fit.family.estimates_parameter
    assert fit.estimated_family is not None and fit.estimated_family.estimates_parameter


def test_theta_is_the_joint_maximum(nb_case):
    """Ours is the maximum (R's theta.ml stops a Newton step of 1.2e-4 early): theta's score is
    zero at our means, and the likelihood is no lower than R's."""
    ref, _, fit = nb_case
    fam = fit.family
    score = np.sum(fam.parameter_derivatives(fit.y, fit.result.mu, fit.prior_weights)[0])
    assert abs(score) < 1e-8
    assert fit.twologlik >= ref["glm_nb"]["twologlik"] - 1e-9
    # R's SE(theta) is the information at theta.ml's last iterate but one; at the estimate:
    assert 0 < abs(fit.theta_se_at_estimate / fit.theta_se - 1) < 1e-3


def test_glm_nb_summary_is_r_s_line_by_line(nb_case):
    ref, _, fit = nb_case
    want = ref["glm_nb"]["summary_text"]
    got = fit.summary().splitlines()
    assert len(got) == len(want)
    pattern = re.compile(r"init\.theta = ([0-9.e-]+)")
    for ours, theirs in zip(got, want):
        if "init.theta" in theirs:  # R's theta to 10 digits: R's is ~1e-8 short of the maximum
            a, b = (float(pattern.search(s).group(1)) for s in (ours, theirs))  # type: ignore[union-attr]
            assert a == pytest.approx(b, rel=1e-7)
            assert pattern.sub("", ours) == pattern.sub("", theirs)
        else:
            assert ours == theirs
    assert "family taken to be 1)" in str(fit) and "2 x log-likelihood:" in str(fit)
    assert "init.theta" in fit._repr_html_() and "Std. Err.:" in fit._repr_html_()


def test_glm_nb_spellings_and_output(nb_case):
    ref, data, fit = nb_case
    formula = NB_CASES[ref["case"]]
    link = ref["link"]
    for family in ("negative_binomial", NegativeBinomial(), NegativeBinomial(1.0, estimate=True)):
        other = mm.glm(formula, data, family=family, link=link)
        assert _rel(other.coef, fit.coef, floor=fit.se.to_numpy()) < 1e-8
        assert other.theta == pytest.approx(fit.theta, rel=1e-9)
    out = fit.to_dict()
    assert out["theta"] == fit.theta and out["se_theta"] == fit.theta_se and out["twologlik"] == fit.twologlik
    assert out["sigma"] == fit.theta  # glmmTMB's sigma() of nbinom2
    assert out["parameter"] == {"name": "theta", "estimate": fit.theta, "se": fit.theta_se}
    refit = fit.refit(fit.y)
    assert refit.theta == pytest.approx(fit.theta, rel=1e-9)
    sims = fit.simulate(2, seed=1)
    assert sims.shape == (fit.nobs, 2) and np.all(sims.to_numpy() >= 0)


def test_bootstrap_re_estimates_theta():
    ref = _reference("glm_nb_grouseticks")
    fit = mm.glm(NB_CASES[ref["case"]], _data(ref), family="nbinom2")
    boot = mm.bootstrap(fit, nsim=4, seed=3, progress=False)
    theta = np.asarray(boot.replicates)[:, -1]
    assert boot.replicates.shape == (4, fit.rank + 1) and np.all(np.isfinite(theta))
    assert len(np.unique(theta)) == 4 and np.all(np.abs(np.log(theta / fit.theta)) < 1)


def test_fixed_theta_keeps_its_meaning():
    """NegativeBinomial(2): MASS's negative.binomial(2), glm's IRLS with theta held."""
    ref = _reference("glm_nb_salamanders")
    fit = mm.glm("count ~ spp * mined", _data(ref), family=NegativeBinomial(2))
    assert type(fit) is mm.GlmFit and fit.family.name == "Negative Binomial(2)" and fit.npar == fit.rank


# ----------------------------------------------------------------------------- generic ML
def test_ml_is_glmmtmb_without_random_effects():
    """Newton's method over (beta, log theta) reaches the maximum glm.nb reaches; its standard
    errors are the joint Hessian's (glmmTMB's), not glm.nb's (theta held)."""
    ref = _reference("glm_nb_grouseticks")
    data = _data(ref)
    ml = mm.glm(NB_CASES[ref["case"]], data, family="nbinom2", method="ml")
    nb = mm.glm(NB_CASES[ref["case"]], data, family="nbinom2")
    tmb = ref["glmmtmb"]
    V = np.asarray(tmb["vcov_full"])
    assert isinstance(ml, GlmMlFit) and ml.converged
    np.testing.assert_allclose(ml.coef, nb.coef, rtol=1e-7)
    assert ml.parameter == pytest.approx(nb.theta, rel=1e-8)
    assert ml.loglik == pytest.approx(nb.loglik, abs=1e-9) and ml.loglik >= tmb["loglik"] - 1e-9
    np.testing.assert_allclose(ml.coef, tmb["coef"], rtol=1e-6)
    assert ml.log_parameter_se == pytest.approx(math.sqrt(V[-1, -1]), rel=1e-5)
    # glmmTMB's Hessian is optimHess's (central differences of the gradient, step 1e-3): ours is
    # exact, and the same differences of our gradient give glmmTMB's standard errors
    scale = np.sqrt(np.outer(np.diag(V), np.diag(V)))
    assert np.max(np.abs(ml.vcov_full.to_numpy() - V) / scale) < 2e-4
    problem = _Problem(ml.design.X, ml.y, ml.family, ml.prior_weights, ml.offset, ml.trials)
    x = np.r_[ml.ml.beta, ml.ml.log_value]

    def differences(h: float) -> np.ndarray:
        cols = []
        for j in range(len(x)):
            e = np.zeros(len(x))
            e[j] = h
            cols.append(
                (
                    problem.derivatives((x + e)[:-1], (x + e)[-1])[0]
                    - problem.derivatives((x - e)[:-1], (x - e)[-1])[0]
                )
                / (2 * h)
            )
        H = np.column_stack(cols)
        return (H + H.T) / 2

    np.testing.assert_allclose(
        differences(1e-5), ml.ml.hessian, rtol=1e-6, atol=1e-6 * np.abs(ml.ml.hessian).max()
    )
    np.testing.assert_allclose(
        np.sqrt(np.diag(2 * np.linalg.inv(differences(1e-3)))), np.sqrt(np.diag(V)), rtol=1e-6
    )
    # glm.nb's standard errors are the expected information's with theta held; these the observed
    # joint Hessian's (the two agree on Salamanders, whose model is one mean per cell)
    assert 1e-3 < _rel(nb.se, ml.se) < 0.05
    assert (
        ml.aic == pytest.approx(tmb["aic"], rel=1e-9)
        and ml.to_dict()["disp"]["fixef"]["(Intercept)"] == ml.ml.log_value
    )


def test_ml_salamanders_against_glmmtmb():
    """glmmTMB stopped short on Salamanders (its log theta 1e-6 from the maximum): ours is higher."""
    tmb = _reference("tmb_salamanders_nb2_fixed")
    ref = _reference("glm_nb_salamanders")
    ml = mm.glm("count ~ spp * mined", _data(ref), family="nbinom2", method="ml")
    np.testing.assert_allclose(ml.coef, tmb["cond"]["estimate"], atol=1e-5)
    np.testing.assert_allclose(ml.se, tmb["cond"]["se"], rtol=1e-5)
    assert ml.ml.log_value == pytest.approx(tmb["disp"]["estimate"][0], abs=1e-5)
    assert ml.log_parameter_se == pytest.approx(tmb["disp"]["se"][0], rel=1e-5)
    assert ml.loglik >= tmb["loglik"] - 1e-9 and ml.loglik - tmb["loglik"] < 1e-6
    assert "theta of the nbinom2 family estimated by maximum likelihood: 0.856" in ml.summary()


class _GaussianLog(Family):
    """A stand-in for glmmTMB's ``gaussian(link = "log")``, its variance ``sigma^2`` the estimated
    parameter: ``n_i = w (y - mu)^2 / sigma^2 + log(2 pi sigma^2 / w)``."""

    name = "gaussian"
    links = ("log",)
    parameter_name = "sigma^2"

    def __init__(self, value: float | None = None) -> None:
        super().__init__("log")
        self.value = value

    @property
    def parameter(self):
        return self.value

    @property
    def estimates_parameter(self) -> bool:
        return True

    def with_parameter(self, value: float) -> Family:
        return self._same_information(_GaussianLog(value))

    def fixed_parameter(self) -> Family:
        return self

    def parameter_start(self, y, mu, wt) -> float:
        return float(np.mean(wt * (y - mu) ** 2))

    def variance(self, mu):
        return np.ones_like(np.asarray(mu, dtype=float))

    def dev_resids(self, y, mu, wt):
        return wt * (y - mu) ** 2 / self.value

    def deviance_mu_derivatives(self, y, mu, wt):
        return -2.0 * wt * (y - mu) / self.value, 2.0 * wt / self.value + 0.0 * mu, 0.0 * mu

    def parameter_derivatives(self, y, mu, wt):
        r = (y - mu) / self.value
        return 1.0 - wt * (y - mu) * r, 2.0 * wt * r, -2.0 * wt / self.value + 0.0 * mu

    def aic(self, y, n, mu, wt, dev):
        return float(np.sum(self.dev_resids(y, mu, wt) + np.log(2 * np.pi * self.value / wt)))

    def initialize(self, y, weights) -> Initialized:
        y = np.asarray(y, dtype=float)
        return Initialized(y, np.ones(len(y)), np.asarray(weights, dtype=float), y.copy())


def test_ml_asks_only_the_family():
    """method='ml' with a family the package does not know (a Gaussian with the log link whose
    variance is its parameter): the maximum likelihood R's glm(gaussian(link = "log")) reaches
    (its coefficients, its logLik and AIC, with the variance deviance / n)."""
    want = _reference("glm_gaussian_log")
    fit = mm.glm("y ~ x", _data(want), family=_GaussianLog(), method="ml")
    assert isinstance(fit, GlmMlFit) and fit.converged
    np.testing.assert_allclose(fit.coef, want["coef"]["estimate"], rtol=1e-6)
    assert fit.parameter == pytest.approx(want["deviance"] / want["nobs"], rel=1e-6)
    assert fit.loglik == pytest.approx(want["loglik"], rel=1e-9)
    assert fit.aic == pytest.approx(want["aic"], rel=1e-9) and fit.npar == want["loglik_df"]
    # the variance's standard error: log sigma^2 has information n / 2 at the maximum
    assert fit.log_parameter_se == pytest.approx(math.sqrt(2 / want["nobs"]), rel=1e-6)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_named():
    data = pd.DataFrame({"y": [0.0, 1, 2, 3, 7, 0, 2, 9], "x": np.arange(8.0)})
    bad = data.assign(y=data.y - 1)
    with pytest.raises(ValueError, match="negative counts"):
        mm.glm("y ~ x", bad, family="nbinom2")
    with pytest.raises(ValueError, match="method must be"):
        mm.glm("y ~ x", data, family="nbinom2", method="newton")
    with pytest.raises(ValueError, match="no parameter to estimate"):
        mm.glm("y ~ x", data, family="poisson", method="ml")
    with pytest.raises(ValueError, match="is to be estimated"):
        mm.glm("y ~ x", data, family="nbinom2", method="irls")
    # no more variation than a Poisson: theta.ml runs off (R warns of the iteration limit)
    flat = pd.DataFrame({"y": [3.0, 3, 3, 3, 3, 3], "x": np.arange(6.0)})
    with pytest.raises(ValueError, match="varies less|not finite|theta"):
        mm.glm("y ~ x", flat, family="nbinom2")


# ----------------------------------------------------------------------------- Gamma
class _Gamma(Family):
    """R's ``Gamma()`` as a stand-in until the families branch lands: V(mu) = mu^2, its
    dispersion estimated (Pearson), R's aic with the dispersion ``deviance / n``."""

    name = "Gamma"
    links = ("inverse", "identity", "log")
    canonical_link = "inverse"
    dispersion_fixed = False

    def variance(self, mu):
        return np.asarray(mu, dtype=float) ** 2

    def variance_deriv(self, mu):
        return 2.0 * np.asarray(mu, dtype=float)

    def dev_resids(self, y, mu, wt):
        return -2.0 * wt * (np.log(y / mu) - (y - mu) / mu)

    def aic(self, y, n, mu, wt, dev):
        disp = dev / np.sum(wt)
        shape, scale = 1.0 / disp, mu * disp
        logp = -special.gammaln(shape) - shape * np.log(scale) + (shape - 1.0) * np.log(y) - y / scale
        return float(-2.0 * np.sum(wt * logp) + 2.0)

    def initialize(self, y, weights) -> Initialized:
        y = np.asarray(y, dtype=float)
        return Initialized(y, np.ones(len(y)), np.asarray(weights, dtype=float), y.copy())

    def valid_mu(self, mu) -> bool:
        return bool(np.all(np.isfinite(mu)) and np.all(np.asarray(mu) > 0))


def _printed(lines: list[str]) -> list[str]:
    """R's printed lines without the empty one print.summary.glm ends with."""
    return lines[:-1] if lines and lines[-1] == "" else lines


def _check_gamma(fit: mm.GlmFit, want: dict) -> None:
    assert list(fit.names) == want["names"] and fit.estimates_dispersion
    for ours, theirs in [
        (fit.coef, "coef"), (fit.se, "se"), (fit.dispersion, "dispersion"), (fit.deviance, "deviance"),
        (fit.null_deviance, "null_deviance"), (fit.aic, "aic"), (fit.bic, "bic"), (fit.loglik, "loglik"),
        (np.quantile(fit.residuals("deviance"), [0, 0.25, 0.5, 0.75, 1]), "resid_quantiles"),
        (fit.fitted.to_numpy()[:10], "fitted_head"),
    ]:  # fmt: skip
        assert _rel(ours, want[theirs]) < 1e-6, theirs
    assert (fit.df_residual, fit.npar, fit.iterations) == (
        want["df_residual"],
        want["loglik_df"],
        want["iter"],
    )
    assert "t value" in str(fit)


@pytest.mark.parametrize("link", ["log", "inverse"])
def test_glm_gamma_path_is_r_s(link):
    """The path of a family whose dispersion is estimated, with a stand-in Gamma: R's glm."""
    ref = _reference("glm_gamma")
    want = ref[link]
    fit = mm.glm("y ~ x", _data(ref), family=_Gamma(link))
    _check_gamma(fit, want)
    lines = fit.summary().splitlines()  # the call names the family object, not R's Gamma(link =)
    assert [line for line in lines if not line.startswith("glm(")] == [
        line for line in _printed(want["summary_text"]) if not line.startswith("glm(")
    ]


@pytest.mark.skipif(
    not hasattr(families, "Gamma"), reason="mm.families has no Gamma yet (the families branch)"
)
@pytest.mark.parametrize("link", ["log", "inverse"])
def test_glm_gamma_is_r_s(link):
    ref = _reference("glm_gamma")
    want = ref[link]
    fit = mm.glm("y ~ x", _data(ref), family="Gamma", link=link)
    _check_gamma(fit, want)
    assert fit.summary().splitlines() == _printed(want["summary_text"])
