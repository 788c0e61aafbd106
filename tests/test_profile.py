"""Profile likelihood and confint against lme4's confint (profile and Wald)."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_data

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.lmm.engine import refit

CASES = ["seed_reml", "sleepstudy_slopes", "dyestuff", "penicillin_crossed"]


@pytest.fixture(scope="module", params=CASES)
def case(request):
    ref = load_reference(request.param)
    fit = mm.lmer(ref["formula"], reference_data(ref), reml=ref["REML"])
    return ref, fit


def test_profile_intervals_match_lme4(case):
    ref, fit = case
    want = ref["confint_profile"]
    got = fit.confint("profile", progress=False)
    assert list(got.index) == want["names"]
    np.testing.assert_allclose(got.iloc[:, 0], want["lower"], rtol=1e-3)
    np.testing.assert_allclose(got.iloc[:, 1], want["upper"], rtol=1e-3)


def test_wald_intervals_match_lme4(case):
    """To 1e-6 at lme4's theta; at our own optimum to the precision of lme4's optimizer.

    lme4 stops BOBYQA a little short of the optimum (Penicillin: its REML criterion is 8e-9
    above ours), which moves standard errors by up to 3e-5 relative; at lme4's theta our
    standard errors and intervals are lme4's.
    """
    ref, fit = case
    want = ref["confint_wald"]
    lower = np.array([np.nan if v is None else v for v in want["lower"]], dtype=float)
    upper = np.array([np.nan if v is None else v for v in want["upper"]], dtype=float)
    at_lme4 = refit(fit, theta=np.array(ref["theta"]))
    got = at_lme4.confint("wald")
    assert list(got.index) == want["names"] and list(got.columns) == ["2.5 %", "97.5 %"]
    np.testing.assert_allclose(got.iloc[:, 0], lower, rtol=1e-6)
    np.testing.assert_allclose(got.iloc[:, 1], upper, rtol=1e-6)
    ours = fit.confint("wald")
    np.testing.assert_allclose(ours.iloc[:, 0], lower, rtol=1e-4)
    np.testing.assert_allclose(ours.iloc[:, 1], upper, rtol=1e-4)
    z = 1.959963984540054
    np.testing.assert_allclose(
        ours.iloc[-1].to_numpy(), fit.fixef.iloc[-1] + np.array([-z, z]) * fit.se.iloc[-1]
    )


def test_zeta_is_zero_at_the_ml_estimate_and_increasing():
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    prof = fit.profile(progress=False)
    assert prof.parameters == ["sd_(Intercept)|p", "sigma", "(Intercept)", "x"]
    for name in prof.parameters:
        trace = prof.trace(name)
        assert np.all(np.diff(trace.zeta.to_numpy()) > 0)
        assert trace.zeta.abs().min() == 0.0
        assert trace.zeta.min() < -3.29 and trace.zeta.max() > 3.29  # alpha_max = 0.001, 4 parameters
    ml = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"), reml=False)
    assert prof.estimates["sigma"] == pytest.approx(ml.sigma, rel=1e-6)


def test_profile_of_some_parameters_and_levels():
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    prof = fit.profile(which=["x"], progress=False)
    assert prof.parameters == ["x"]
    narrow, wide = prof.confint(0.5), prof.confint(0.99)
    assert wide.iloc[0, 0] < narrow.iloc[0, 0] < narrow.iloc[0, 1] < wide.iloc[0, 1]
    with pytest.raises(ValueError, match="no parameter 'z'"):
        fit.profile(which=["z"])


def test_singular_fit_has_lower_limit_zero():
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff2"))
    ci = fit.confint("profile", progress=False)
    assert ci.loc["sd_(Intercept)|Batch", "2.5 %"] == 0.0
    assert ci.loc["sd_(Intercept)|Batch", "97.5 %"] > 0.0


def test_boot_intervals_come_from_the_bootstrap():
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    ci = fit.confint("boot", nsim=500, seed=3, progress=False)
    boot = mm.bootstrap(fit, 500, seed=3, progress=False)
    np.testing.assert_allclose(ci.to_numpy(), boot.confint().to_numpy())
    assert list(ci.index) == ["sd_(Intercept)|p", "sigma", "(Intercept)", "x"]
    with pytest.raises(ValueError, match="method must be"):
        fit.confint("bogus")


def test_profile_plots():
    pytest.importorskip("matplotlib")
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    prof = fit.profile(progress=False)
    for kind in ("zeta", "density"):
        fig = prof.plot(kind=kind)
        assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == prof.parameters


ISSUE_CASES = {
    "profile/orthodont": ("orthodont.csv", {"Sex": ["Male", "Female"]}),
    "profile/chickweight": ("chickweight.csv", {"Diet": ["1", "2", "3", "4"]}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ISSUE_CASES))
def test_correlated_slopes_profile_intervals_and_warnings_match_lme4(case):
    """Issue 14's two models: intervals once far too narrow, silently, now lme4's.

    lme4's lower end of sd_(Intercept) for Orthodont (0.0012668) is where its spline puts it;
    re-optimized, zeta is 1.959932 there and 1.959963 at ours (0.0012415): the tolerance allows
    that 2.5e-5 in absolute terms.
    """
    ref = load_reference(case)
    file, levels = ISSUE_CASES[case]
    data = pd.read_csv(Path(__file__).parent / "data" / file, dtype=str)
    data = data.assign(
        **{c: pd.to_numeric(data[c]) for c in ("distance", "age", "weight", "Time") if c in data}
    )
    data = data.assign(**{c: pd.Categorical(data[c], categories=lv) for c, lv in levels.items()})
    fit = mm.lmer(ref["formula"], data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ci = fit.confint("profile", progress=False)
    names = [*fit.varpar_names, "sigma", *fit.fixef_names]
    assert list(ci.index) == names and len(names) == len(ref["rownames"])
    assert list(ci.index[4:]) == ref["rownames"][4:]
    np.testing.assert_allclose(ci.iloc[:, 0], ref["lower"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ci.iloc[:, 1], ref["upper"], rtol=1e-3, atol=1e-4)
    ours = [str(w.message) for w in caught if issubclass(w.category, mm.MixedModelsWarning)]
    lme4 = [w for w in ref["warnings"] if w.startswith("non-monotonic")]
    assert len(ours) == len(lme4)
    for theirs, mine in zip(lme4, ours):  # lme4's .sig02 is the correlation
        assert mine.startswith(f"non-monotonic profile for {names[int(theirs[-1]) - 1]}")
