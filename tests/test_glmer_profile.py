"""GlmerFit.profile() and confint() against lme4's profile.merMod and confint.merMod, and the
ends of the profile intervals checked independently (:mod:`glmm_zeta_check`).

lme4's profile intervals: tests/reference/glmm/cbpp_laplace.json (the shared reference) and
tests/reference/glmm/profile/*.json (made by make_profiles.R beside them).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from glmm_zeta_check import constrained_criterion, criterion_at_fit
from scipy import stats

import mixedmodels as mm
from mixedmodels.profile.glmm import GlmmProfiler

HERE = Path(__file__).parent
GLMM = HERE / "reference" / "glmm"
Z95 = 1.959963984540054


def _reference(case: str) -> dict:
    path = GLMM / f"{case}.json" if case == "cbpp_laplace" else GLMM / "profile" / f"{case}.json"
    return json.loads(path.read_text())


def _data(ref: dict) -> pd.DataFrame:
    df = pd.read_csv(HERE / "data" / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str))
    return df


def _fit(ref: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(ref["formula"], _data(ref), family=ref["family"], nagq=int(ref["nAGQ"]))


_FITS: dict[str, object] = {}


def _cached(case: str):
    if case not in _FITS:
        ref = _reference(case)
        _FITS[case] = (ref, _fit(ref))
    return _FITS[case]


_PROFILES: dict[str, object] = {}


def _full_profile(case: str):
    """``fit.profile()`` of a case, made once."""
    if case not in _PROFILES:
        _PROFILES[case] = _cached(case)[1].profile(progress=False)
    return _PROFILES[case]


def _confint(fit, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return fit.confint(progress=False, **kwargs)


# (case, absolute tolerance against lme4's ends): lme4's own ends are off by up to 1.4e-4 in
# zeta (see test_our_ends_are_where_zeta_is_the_quantile), its fixed effects by up to 2e-4
PROFILE_CASES = [
    ("cbpp_laplace", 1e-4),
    ("cbpp_agq25", 1e-4),
    ("binary_singular", 1e-4),
    pytest.param("poisson_offset_slopes", 3e-4, marks=pytest.mark.slow),
    pytest.param("grouseticks_poisson", 3e-4, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("case", "atol"), PROFILE_CASES)
def test_profile_intervals_match_lme4(case, atol):
    ref, fit = _cached(case)
    want = ref["confint_profile"]
    got = _confint(fit)
    assert list(got.index) == want["names"] and list(got.columns) == ["2.5 %", "97.5 %"]
    np.testing.assert_allclose(got.iloc[:, 0], want["lower"], rtol=0, atol=atol)
    np.testing.assert_allclose(got.iloc[:, 1], want["upper"], rtol=0, atol=atol)


def test_sd_lower_end_on_the_bound_is_zero():
    """A singular fit's standard deviation, and (grouseticks, in the slow case above) one whose
    profile at 0 is below the quantile: the lower end is 0, as lme4's."""
    ref, fit = _cached("binary_singular")
    assert fit.theta[0] == 0.0
    ci = _confint(fit)
    assert ci.iloc[0, 0] == 0.0 and ref["confint_profile"]["lower"][0] == 0
    assert ci.iloc[0, 1] > 0.5


def _check_ends(fit, ci: pd.DataFrame, parms=None) -> None:
    """|zeta| at each end, re-optimized by the dense check, is the quantile (at most the
    quantile where the end is a standard deviation of 0)."""
    names = [*fit.varpar_names, *fit.fixef_names]
    at_fit = criterion_at_fit(fit)
    dev_min = min(constrained_criterion(fit, None), at_fit)
    assert dev_min >= at_fit - 1e-6, "the dense check found a lower criterion than the fit's"
    for name in parms or names:
        for value in ci.loc[name]:
            zeta = math.sqrt(max(constrained_criterion(fit, names.index(name), value) - dev_min, 0.0))
            if name.startswith("sd_") and value == 0.0:
                assert zeta <= Z95 + 1e-4, f"{name} = 0: |zeta| {zeta:.6f} above the quantile"
            else:
                assert zeta == pytest.approx(Z95, abs=2e-5), f"{name} = {value}: |zeta| {zeta:.6f}"


@pytest.mark.parametrize(
    "case",
    [
        "cbpp_laplace",
        "binary_singular",
        pytest.param("cbpp_agq25", marks=pytest.mark.heavy),  # 20-40 s
        pytest.param("poisson_offset_slopes", marks=pytest.mark.heavy),  # minutes
    ],
)
def test_interval_ends_have_the_quantile_as_zeta(case):
    """The ends re-checked by other code: a dense Laplace (or trapezoidal quadrature) criterion,
    other coordinates, scipy's optimizers from several starts."""
    _, fit = _cached(case)
    _check_ends(fit, _confint(fit))


def test_the_dense_check_is_the_fit_criterion():
    """The check's Laplace criterion is lme4's, constants included: at the fit it is the fit's."""
    _, fit = _cached("cbpp_laplace")
    assert criterion_at_fit(fit) == pytest.approx(fit.objective, abs=1e-8)


def test_our_ends_are_where_zeta_is_the_quantile_and_lme4s_are_not_quite():
    """Who is right where we and lme4 differ (by up to 3.4e-5 on cbpp): at lme4's ends, our
    profiler's |zeta| is 1.96001-1.96011 (its spline and its PIRLS tolerance), at ours 1.959964."""
    ref, fit = _cached("cbpp_laplace")
    want = ref["confint_profile"]
    prof = GlmmProfiler(fit)
    ci = _confint(fit)
    for i in range(len(want["names"])):
        for j, theirs in enumerate((want["lower"][i], want["upper"][i])):
            ours = abs(prof.zeta(i, float(ci.iloc[i, j])))
            at_lme4 = abs(prof.zeta(i, theirs))
            assert ours == pytest.approx(Z95, abs=1e-6)
            assert at_lme4 - Z95 < 2e-4 and abs(at_lme4 - Z95) > abs(ours - Z95)


def test_zeta_at_lme4s_profile_points():
    """lme4's whole profile (101 points out to its alphamax 0.01): our zeta at its values."""
    ref, fit = _cached("cbpp_agq25")
    trace = ref["trace"]
    prof = GlmmProfiler(fit)
    names = prof.names
    ours = [prof.zeta(names.index(p), v) for p, v in zip(trace["parameter"], trace["value"])]
    np.testing.assert_allclose(ours, trace["zeta"], atol=2e-4)


def test_profile_table_and_traces():
    ref, fit = _cached("cbpp_laplace")
    prof = _full_profile("cbpp_laplace")
    names = ["sd_(Intercept)|herd", "(Intercept)", "period2", "period3", "period4"]
    assert prof.parameters == names and list(prof.table.columns) == ["parameter", "value", "zeta"]
    np.testing.assert_allclose(prof.estimates.to_numpy(), [fit.theta[0], *fit.beta])
    cutoff = math.sqrt(stats.chi2.ppf(1 - 0.01, 5))  # lme4's alphamax: 3.88
    for name in names:
        trace = prof.trace(name)
        zeta = trace.zeta.to_numpy()
        assert np.all(np.diff(zeta) > 0) and np.abs(zeta).min() == 0.0
        assert zeta.max() >= cutoff and (zeta.min() <= -cutoff or trace.value.min() == 0.0)
    # the full profile's intervals are those of confint(), whose traces stop past the quantile
    np.testing.assert_allclose(prof.confint().to_numpy(), _confint(fit).to_numpy(), atol=1e-7)
    narrow, wide = prof.confint(0.5), prof.confint(0.99)
    assert np.all(wide.iloc[:, 0] < narrow.iloc[:, 0]) and np.all(narrow.iloc[:, 1] < wide.iloc[:, 1])


def test_profile_of_some_parameters():
    _, fit = _cached("cbpp_laplace")
    assert fit.profile(which="theta_", progress=False).parameters == ["sd_(Intercept)|herd"]
    beta = fit.profile(which=["beta_"], progress=False)
    assert beta.parameters == ["(Intercept)", "period2", "period3", "period4"]
    ci = _confint(fit, parm=["period3", "sd_(Intercept)|herd"])
    assert list(ci.index) == ["period3", "sd_(Intercept)|herd"]
    with pytest.raises(ValueError, match="no parameter 'z'"):
        fit.profile(which=["z"])
    with pytest.raises(ValueError, match="unknown parameter 'z'"):
        fit.confint(parm=["z"])


@pytest.mark.parametrize(
    "case",
    [
        "cbpp_laplace",
        "cbpp_agq25",
        "cbpp_prop_weights",
        "probit_binary",
        "poisson_offset_slopes",
        pytest.param("grouseticks_poisson", marks=pytest.mark.slow),
        pytest.param("verbagg_crossed", marks=pytest.mark.slow),
    ],
)
def test_wald_intervals_match_lme4(case):
    """lme4's names and order, NaN for the variance parameters; ends within 1e-3 (our optimum
    and standard errors are lme4's to about that), and exactly fixef -+ z se."""
    ref = json.loads((GLMM / f"{case}.json").read_text())
    df = _data(ref)
    kw = {"weights": ref["weights"]} if ref.get("weights") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        fit = mm.glmer(
            ref["formula"], df, family=ref["family"], link=ref["link"], nagq=int(ref["nAGQ"]), **kw
        )
    want = ref["confint_wald"]
    got = fit.confint("wald")
    assert list(got.index) == want["names"] and list(got.columns) == ["2.5 %", "97.5 %"]
    lower = np.array([np.nan if v is None else v for v in want["lower"]], dtype=float)
    upper = np.array([np.nan if v is None else v for v in want["upper"]], dtype=float)
    np.testing.assert_allclose(got.iloc[:, 0], lower, atol=1e-3)
    np.testing.assert_allclose(got.iloc[:, 1], upper, atol=1e-3)
    nvar = len(fit.varpar_names)
    assert got.iloc[:nvar].isna().all().all()
    np.testing.assert_allclose(got.iloc[nvar:, 1], fit.fixef + Z95 * fit.se, rtol=1e-12)


def test_other_methods_and_bad_arguments():
    _, fit = _cached("cbpp_laplace")
    boot = fit.confint("boot", nsim=200, seed=4, progress=False)
    same = mm.bootstrap(fit, 200, seed=4, progress=False).confint("percentile", 0.95)
    pd.testing.assert_frame_equal(boot, same.loc[boot.index])
    assert list(boot.index) == [*fit.varpar_names, *fit.fixef_names]
    with pytest.raises(ValueError, match="method must be"):
        fit.confint("bogus")
    with pytest.raises(ValueError, match="level must be"):
        fit.confint("wald", level=1.5)
    ref = _reference("cbpp_laplace")
    nagq0 = mm.glmer(ref["formula"], _data(ref), nagq=0)
    with pytest.raises(NotImplementedError, match="nagq = 0"):
        nagq0.profile()
    assert nagq0.confint("wald").iloc[1:].notna().all().all()


def test_profile_plots():
    pytest.importorskip("matplotlib")
    prof = _full_profile("cbpp_laplace")
    for kind in ("zeta", "density"):
        fig = prof.plot(kind=kind)
        assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == prof.parameters
