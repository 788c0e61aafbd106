"""Edge cases of the zero-inflation and dispersion models found in review: a hurdle with a
dispersion model, a numeric covariate of the dispersion, random slopes and two terms (the
one-by-one path), a zero model with no excess zeros, trials of a zero-inflated binomial, the
profile of an auxiliary fit and the polygamma differences at NaN.

References: glmmTMB 1.1.5 (tests/reference/families/make_zero_inflation_review.R)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

import mixedmodels as mm
from mixedmodels.families.special import digamma_difference, polygamma_differences

DATA = Path(__file__).parent / "data" / "zi_review_generated.csv"

# name: (formula, family, ziformula, dispformula, glmmTMB's logLik, its cond + zi + disp fixef)
GLMMTMB = {
    "hurdle_disp": (
        "cnt ~ x + (1|g)", "truncated_nbinom2", "~z", "~z",
        -440.964909, [0.87835, 0.34289, 0.45390, 0.07945, 0.99442, 1.02373],
    ),
    "nb2_dispnum": (
        "cnt ~ x + (1|g)", "nbinom2", "~z", "~z",
        -434.173399, [0.72243, 0.42069, -0.20171, 0.49339, 1.15869, 1.18286],
    ),
    "zinb_slope": (
        "cnt ~ x + (x|g)", "nbinom2", "~z", None,
        -438.272048, [0.63452, 0.44852, -0.19491, 0.15780, 0.71124],
    ),
    "zinb_two": (
        "cnt ~ x + (1|g) + (1|h)", "nbinom2", "~z", None,
        -438.377629, [0.66639, 0.41442, -0.17725, 0.15728, 0.73520],
    ),
    "zip_none_x": (
        "pois ~ x + (1|g)", "poisson", "~x", None,
        -616.311722, [1.17000, 0.25883, -8.11384, -3.09992],
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _coefficients(fit) -> np.ndarray:
    parts = [fit.beta, fit.zi.fixef.to_numpy()]
    if fit.disp is not None:
        parts.append(fit.disp.fixef.to_numpy())
    return np.concatenate(parts)


@pytest.mark.parametrize("case", sorted(GLMMTMB))
def test_edge_cases_match_glmmtmb(data, case):
    formula, family, zi, disp, loglik, fixef = GLMMTMB[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(formula, data, family=family, ziformula=zi, dispformula=disp)
    assert fit.loglik == pytest.approx(loglik, abs=2e-5)
    np.testing.assert_allclose(_coefficients(fit), fixef, atol=2e-4)


def test_no_excess_zeros_runs_off_with_a_note(data):
    """Every structural-zero probability 0: glmmTMB stops its intercept at -20.37; the
    likelihood and the conditional model agree, and the fit says the coefficient ran off."""
    with pytest.warns(mm.MixedModelsWarning, match="zero-inflation coefficients at -infinity"):
        fit = mm.glmer("pois ~ x + (1|g)", data, family="poisson", ziformula="~1")
    assert fit.loglik == pytest.approx(-617.234557, abs=2e-5)
    np.testing.assert_allclose(fit.beta, [1.15987, 0.27026], atol=2e-4)
    assert fit.zi.fixef.iloc[0] < -15
    assert fit.predict(type="zprob").max() < 1e-6


def test_zero_inflated_binomial_with_trials_matches_glmmtmb(data):
    """p(0) = pi + (1 - pi)(1 - mu)^m is not linear in the trials m, which the fitting steps
    took as weights (it failed in PIRLS): the family takes the trials (glmmTMB: logLik -393.425881)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trials = mm.glmer("cbind(succ, fail) ~ x + (1|g)", data, family="binomial", ziformula="~z")
    assert abs(trials.loglik - (-393.425881)) < 1e-5
    bernoulli = data.assign(any=(data.succ > 0).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer("any ~ x + (1|g)", bernoulli, family="binomial", ziformula="~z")
    assert np.isfinite(fit.loglik)


def test_profile_of_an_auxiliary_fit_is_refused(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer("pois ~ x + (1|g)", data, family="poisson", ziformula="~x")
    with pytest.raises(NotImplementedError, match="zero-inflation or dispersion"):
        fit.profile(progress=False)


def test_polygamma_differences_propagate_nan():
    """A NaN argument gives NaN (as scipy's polygamma), not an error from the shift's count."""
    y, s = np.array([1.0, 2.0]), np.array([np.nan, 1.5])
    B1, B2 = polygamma_differences(y, s)
    assert np.isnan(B1[0]) and np.isnan(B2[0])  # type: ignore[index]
    assert B1[1] == pytest.approx(special.polygamma(1, 3.5) - special.polygamma(1, 1.5), rel=1e-13)
    assert np.isnan(digamma_difference(y, s)[0])


def test_hurdle_with_a_dispersion_model_simulates_and_bootstraps(data):
    """The truncated NB2's draw takes a size per row (a dispersion model's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer("cnt ~ x + (1|g)", data, family="truncated_nbinom2", ziformula="~z", dispformula="~z")
        sims = fit.simulate(3, seed=1)
        boot = mm.bootstrap(fit, nsim=2, seed=1, progress=False)
    assert sims.shape == (len(data), 3)
    assert np.all(sims.to_numpy() >= 0) and np.all(sims.to_numpy() == np.round(sims.to_numpy()))
    assert list(boot.replicates.columns[-2:]) == ["disp.(Intercept)", "disp.z"]


def test_gamma_dispersion_model_predicts_its_sigma_per_row(data):
    """glmmTMB's ``predict(type = "disp")`` of a Gamma: ``1 / sqrt(shape)`` per row."""
    rng = np.random.default_rng(1)
    frame = data.assign(pos=np.exp(0.3 + 0.2 * data.x + rng.normal(size=len(data)) * np.exp(0.3 * data.z)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer("pos ~ x + (1|g)", frame, family=mm.family("Gamma", "log"), dispformula="~z")
    got = fit.predict(frame.head(4), type="disp").to_numpy()
    shape = np.exp(fit.disp.fixef.iloc[0] + fit.disp.fixef.iloc[1] * frame.z.head(4).to_numpy())
    np.testing.assert_allclose(got, 1.0 / np.sqrt(shape), rtol=1e-12)


def test_zero_inflated_gaussian_matches_glmmtmb():
    """A zero-inflated Gaussian's negative responses keep their density's constant (the AIC's
    rows are the nonzero ones, not the positive ones): glmmTMB's logLik -543.0362."""
    data = pd.read_csv(Path(__file__).parent / "data" / "zi_gaussian_negative_generated.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer("yz ~ x + (1 | g)", data, family="gaussian", ziformula="~1")
        gaussian = mm.families.Gaussian("identity")
        by_object = mm.glmer("yz ~ x + (1 | g)", data, family=gaussian, ziformula="~1")
    assert fit.loglik == pytest.approx(-543.036181, abs=2e-5)
    np.testing.assert_allclose(fit.beta, [1.63731735, 1.02624314], atol=2e-4)
    np.testing.assert_allclose(fit.zi.fixef, [-1.91978638], atol=2e-4)
    np.testing.assert_allclose(fit.disp.fixef, [0.54760036], atol=2e-4)  # log sigma^2
    # family=Gaussian() (its variance neither given nor estimated) fits as "gaussian" does
    assert by_object.loglik == pytest.approx(fit.loglik, abs=1e-8)
