"""mm.glmer against lme4 on the cases of tests/reference/glmm/more (made by make_gdone.R there):
guImmun and epil from the GLMM literature, a simulated crossed binary model with random slopes,
the cloglog, cauchit and sqrt links, nAGQ = 0, predictions on new data, likelihood-ratio tests,
a weighted fit's summary, the warnings of a fit, ``to_dict()`` and ``simulate()``."""

from __future__ import annotations

import importlib
import json
import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.glmm.pirls import laplace_deviance, pirls

glmer_steps = importlib.import_module("mixedmodels.glmm.glmer_steps")  # where glmer calls the engine

HERE = Path(__file__).parent
REF_DIR = HERE / "reference" / "glmm" / "more"
# the conformance tolerances for glmer (shared/tools/conformance.py's GLMM_TOL)
TOL = {"fixef": 1e-3, "se": 1e-3, "sd": 2e-3, "corr": 5e-3, "loglik": 1e-3, "ranef": 5e-3, "condsd": 5e-3}
SLOW = {"guimmun", "epil"}  # about 2 s each here
_MARKS = {
    "guimmun": pytest.mark.slow,  # 1.7 s with the gradient engine (lme4: 106 s)
    "epil": pytest.mark.slow,
}
NAMES = ["guimmun", "epil", "epil_nagq0", "crossed_binary_slopes", "cbpp_cloglog", "cbpp_cauchit",
         "cbpp_nagq0", "grouseticks_sqrt", "grouseticks_sqrt_year"]  # fmt: skip
CASES = [pytest.param(c, marks=_MARKS[c]) if c in _MARKS else c for c in NAMES]


# ------------------------------------------------------------------ helpers
def load_case(case: str) -> tuple[dict, pd.DataFrame]:
    """A reference case and its data, the case's factor columns as categoricals (as R's)."""
    ref = json.loads((REF_DIR / f"{case}.json").read_text())
    return ref, read_data(ref["data"], ref.get("factors") or [])


def read_data(name: str, factors: list[str]) -> pd.DataFrame:
    """A CSV of tests/data with the named columns read as text and made categorical."""
    df = pd.read_csv(HERE / "data" / name, dtype={c: str for c in factors})
    for col in factors:
        df[col] = pd.Categorical(df[col])
    return df


def quiet_glmer(formula: str, data: pd.DataFrame, **kwargs) -> mm.GlmerFit:
    """``mm.glmer`` with its notes (MixedModelsWarning) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kwargs)


def fit_case(ref: dict, df: pd.DataFrame) -> mm.GlmerFit:
    return quiet_glmer(ref["formula"], df, family=ref["family"], link=ref["link"], nagq=int(ref["nAGQ"]))


def rel_err(got, want, floor_frac: float = 1e-3) -> float:
    """Largest ``|got - want| / max(|want|, floor)``, ``floor = floor_frac * max|want|`` (as the
    conformance tool measures)."""
    got, want = np.ravel(np.asarray(got, dtype=float)), np.ravel(np.asarray(want, dtype=float))
    assert got.shape == want.shape
    floor = max(floor_frac * float(np.max(np.abs(want))), 1e-12)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), floor)))


def optimum(ref: dict) -> dict:
    """lme4's optimum to compare with: the tight refit where the case has one, otherwise the
    default fit's. The tight refit converges PIRLS (tolPwrss 1e-12): lme4's default tolerance
    leaves its Laplace criterion of these models up to 0.004 above the converged criterion that
    mm.glmer optimizes, and so its optimum elsewhere. The standard errors are the default fit's
    (mm.glmer's are lme4's Hessian at lme4's PIRLS tolerance, see mixedmodels.glmm.engine) unless lme4
    warned that the default fit failed to converge (guImmun): then the tight refit's."""
    tight = ref.get("tight")
    if tight is None:
        sds = [v["sdcor"] for v in ref["varcorr"] if v["var2"] is None]
        cors = [v["sdcor"] for v in ref["varcorr"] if v["var2"] is not None]
        return {"fixef": ref["fixef"], "se": ref["se"], "sd": sds, "corr": cors,
                "loglik": ref["loglik"], "deviance": ref["deviance"]}  # fmt: skip
    var2 = tight["var2"]
    return {
        "fixef": tight["fixef"],
        "se": tight["se"] if ref["messages"] else ref["se"],  # lme4 warned: its default fit failed
        "sd": [s for s, v in zip(tight["sdcor"], var2) if v is None],
        "corr": [s for s, v in zip(tight["sdcor"], var2) if v is not None],
        "loglik": tight["loglik"],
        "deviance": tight["deviance"],
    }


def fixef_err(fit: mm.GlmerFit, want) -> float:
    """Largest ``|beta - want| / max(|want|, SE)``: where the optimum is the tight refit's, a flat
    likelihood leaves small coefficients undetermined to well under their standard errors."""
    beta, se = fit.fixef.to_numpy(), fit.se.to_numpy()
    return float(np.max(np.abs(beta - want) / np.maximum(np.abs(want), se)))


def deviations(fit: mm.GlmerFit, ref: dict) -> dict[str, float]:
    """The conformance tool's measures of a fit against lme4's optimum."""
    want = optimum(ref)
    vc = fit.varcorr
    sd = sorted(vc.sdcor[vc.var2.isna()])
    corr = sorted(vc.sdcor[vc.var2.notna()])
    out = {
        "fixef": fixef_err(fit, want["fixef"]) if "tight" in ref else rel_err(fit.fixef, want["fixef"]),
        "se": rel_err(fit.se, want["se"]),
        "sd": max(abs(a - b) for a, b in zip(sd, sorted(want["sd"]))) / max(want["sd"]),
        "corr": max((abs(a - b) for a, b in zip(corr, sorted(want["corr"]))), default=0.0),
    }
    assert len(sd) == len(want["sd"]) and len(corr) == len(want["corr"])
    return out


def ranef_deviations(fit: mm.GlmerFit, ref: dict) -> tuple[float, float]:
    """Largest relative deviations of the conditional modes and their conditional SDs,
    matched by group and level (the conformance tool's floors)."""
    got = fit.to_dict()["ranef"]
    worst_mode = worst_sd = 0.0
    for block in ref["ranef"]:
        mine = got[block["group"]]
        idx = [mine["levels"].index(str(level)) for level in block["levels"]]
        for term, want, want_sd in zip(block["terms"], block["values"], block["condsd"]):
            worst_mode = max(worst_mode, rel_err(np.asarray(mine[term])[idx], want, floor_frac=1.0))
            worst_sd = max(worst_sd, rel_err(np.asarray(mine["condsd"][term])[idx], want_sd, floor_frac=1e-2))
    return worst_mode, worst_sd


@pytest.fixture(scope="module")
def fits() -> dict:
    return {}


def cached(fits: dict, case: str):
    if case not in fits:
        ref, df = load_case(case)
        fits[case] = (ref, df, fit_case(ref, df))
    return fits[case]


# ------------------------------------------------------------------ the reference cases
@pytest.mark.parametrize("case", CASES)
def test_case_matches_lme4(fits, case):
    ref, _, fit = cached(fits, case)
    errs = deviations(fit, ref)
    # where lme4's default optimum lies elsewhere its SEs are curvatures at another point
    tol = TOL | ({"se": 2 * TOL["se"]} if "tight" in ref else {})
    for key, value in errs.items():
        assert value <= tol[key], f"{case}: {key} deviates by {value:.2e} (tolerance {tol[key]})"
    want = optimum(ref)
    assert fit.loglik >= want["loglik"] - TOL["loglik"]  # not worse than lme4's optimum
    assert fit.loglik <= max(ref["loglik"], want["loglik"]) + 1e-2  # not implausibly better
    assert fit.deviance == pytest.approx(want["deviance"], rel=1e-3)
    assert fit.nobs == ref["nobs"] and fit.npar == ref["df"] and fit.ngroups == ref["ngrps"]
    # AIC and BIC: lme4's, moved by the difference of the log-likelihoods
    shift = -2 * (fit.loglik - ref["loglik"])
    assert fit.aic == pytest.approx(ref["AIC"] + shift, abs=1e-8)
    assert fit.bic == pytest.approx(ref["BIC"] + shift, abs=1e-8)
    assert fit.to_dict()["singular"] == ref["singular"]


@pytest.mark.parametrize("case", [p for c, p in zip(NAMES, CASES) if c not in SLOW])
def test_fitted_and_ranef_match_lme4(fits, case):
    ref, _, fit = cached(fits, case)
    fitted = fit.fitted.to_numpy()
    scale = 1.0 if ref["family"] == "binomial" else np.maximum(np.abs(ref["fitted"]), 1.0)
    assert np.max(np.abs(fitted - ref["fitted"]) / scale) < 2e-3
    mode, condsd = ranef_deviations(fit, ref)
    assert mode <= TOL["ranef"] and condsd <= TOL["condsd"]
    q = np.quantile(fit.resid("pearson"), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(q, ref["resid_pearson_quantiles"], rtol=5e-3, atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["guimmun", "epil"])
def test_fitted_and_ranef_of_the_large_cases(fits, case):
    ref, _, fit = cached(fits, case)
    fitted = fit.fitted.to_numpy()
    scale = 1.0 if ref["family"] == "binomial" else np.maximum(np.abs(ref["fitted"]), 1.0)
    # lme4's default fit of these stops short of the optimum (see optimum()): looser than above
    tol = 2e-2 if "tight" in ref else 2e-3
    assert np.max(np.abs(fitted - ref["fitted"]) / scale) < tol
    mode, condsd = ranef_deviations(fit, ref)
    assert mode <= 10 * TOL["ranef"] and condsd <= 10 * TOL["condsd"]


def test_lme4_stops_short_where_a_tight_refit_agrees_with_us():
    """The reason the tight refits are the reference: lme4's default optimum is worse."""
    for case in ("guimmun", "crossed_binary_slopes"):
        ref, _ = load_case(case)
        assert ref["tight"]["loglik"] > ref["loglik"]


def test_nagq0_matches_lme4_nagq0(fits):
    ref, df, f0 = cached(fits, "cbpp_nagq0")
    assert f0.nagq == 0 and f0.to_dict()["nagq"] == 0
    assert abs(f0.loglik - ref["loglik"]) < TOL["loglik"]
    np.testing.assert_allclose(f0.theta, ref["theta"], rtol=1e-3)
    # nAGQ = 0 is not the Laplace optimum: its fixed effects differ from those of nAGQ = 1
    f1 = quiet_glmer(ref["formula"], df)
    assert f1.loglik > f0.loglik
    assert rel_err(f1.fixef, ref["fixef"]) > 10 * TOL["fixef"]
    assert "nAGQ = 0" in f0.summary().splitlines()[1]


# ------------------------------------------------------------------ predictions on new data
def test_predict_newdata_matches_lme4(fits):
    ref, _, fit = cached(fits, "cbpp_cloglog")
    new = pd.DataFrame(ref["newdata"])
    np.testing.assert_allclose(
        fit.predict(new, type="link", allow_new_levels=True), ref["predict_new_link"], rtol=2e-3, atol=1e-4
    )
    np.testing.assert_allclose(
        fit.predict(new, type="response", allow_new_levels=True), ref["predict_new_response"], rtol=2e-3
    )
    fixed = fit.predict(new, type="response", re_form="NA")
    np.testing.assert_allclose(fixed, ref["predict_new_fixed_response"], rtol=2e-3)
    np.testing.assert_allclose(
        fit.predict(new, type="link", re_form="NA"), ref["predict_new_fixed_link"], rtol=2e-3
    )
    with pytest.raises(ValueError):
        fit.predict(new)  # a new herd without allow_new_levels


def test_predict_newdata_crossed_slopes_matches_lme4(fits):
    ref, _, fit = cached(fits, "crossed_binary_slopes")
    new = pd.DataFrame(ref["newdata"])
    tol = {"rtol": 2e-2, "atol": 2e-3}  # lme4's default optimum stops short here (see above)
    np.testing.assert_allclose(
        fit.predict(new, type="link", allow_new_levels=True), ref["predict_new_link"], **tol
    )
    np.testing.assert_allclose(
        fit.predict(new, type="response", allow_new_levels=True), ref["predict_new_response"], **tol
    )
    np.testing.assert_allclose(
        fit.predict(new, type="response", re_form="NA"), ref["predict_new_fixed_response"], **tol
    )
    by_subject = fit.predict(new, type="response", re_form="~(x | subject)", allow_new_levels=True)
    np.testing.assert_allclose(by_subject, ref["predict_new_subject_response"], **tol)


# ------------------------------------------------------------------ likelihood-ratio tests
@pytest.mark.parametrize("which", ["cbpp", "crossed"])
def test_anova_of_two_glmer_fits_matches_lme4(which):
    ref = json.loads((REF_DIR / "anova_glmer.json").read_text())[which]
    df = read_data(ref["data"], ref["factors"])
    m0, m1 = (quiet_glmer(f, df, family=ref["family"]) for f in ref["formulas"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no refitting, no note
        result = mm.anova(m1, m0, names=["m1", "m0"])  # ordered by parameters, as lme4
    t = result.table
    assert not result.refitted and list(t.index) == ["m0", "m1"]
    assert list(t.npar) == ref["npar"]
    # crossed: lme4's default PIRLS tolerance leaves its criterion 0.004 above the converged one
    # (see optimum()); our deviance is lower by that much
    atol = 5e-3 if which == "crossed" else 2e-3
    for col in ("AIC", "BIC", "deviance"):
        np.testing.assert_allclose(t[col], ref[col], atol=atol)
    np.testing.assert_allclose(t["logLik"], ref["logLik"], atol=atol / 2)
    assert t["Df"].iloc[1] == ref["Df"][1]
    assert t["Chisq"].iloc[1] == pytest.approx(ref["Chisq"][1], abs=atol)
    assert t["Pr(>Chisq)"].iloc[1] == pytest.approx(ref["p"][1], rel=atol)
    want = ref["text"].splitlines()
    got = str(result).splitlines()
    header = next(i for i, line in enumerate(want) if line.lstrip().startswith("npar"))
    assert want[1 : header + 1] == got[got.index("Models:") : got.index("Models:") + header]


def test_anova_refuses_glmer_beside_other_models(fits):
    _, df, fit = cached(fits, "cbpp_cloglog")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)  # a singular fit: not the point here
        lmer_fit = mm.lmer("incidence ~ period + (1 | herd)", df, reml=False)
    with pytest.raises(TypeError, match="glmer fits with glmer fits only"):
        mm.anova(fit, lmer_fit)
    poisson = quiet_glmer("incidence ~ period + (1 | herd)", df, family="poisson")
    with pytest.raises(ValueError, match="different families"):
        mm.anova(fit, poisson)


# ------------------------------------------------------------------ summary and to_dict
def test_weighted_summary_has_lme4s_weights_line():
    ref = json.loads((REF_DIR / "cbpp_weighted_summary.json").read_text())
    df = read_data(ref["data"], ["herd", "period"])
    fit = quiet_glmer(ref["formula"], df, weights=ref["weights"])
    want, got = ref["summary_text"].splitlines(), fit.summary().splitlines()
    at = want.index("Weights: size")
    assert got[: at - 1] == want[: at - 1]  # heading, family, formula (R's "Data:" names its variable)
    assert got[at] == want[at] and got[at + 1] == ""
    assert got[at + 2 : at + 4] == want[at + 2 : at + 4]  # the criteria
    random = want.index("Random effects:")
    assert got[random : random + 2] == want[random : random + 2]  # the variances' last digits differ
    assert got[random + 3] == want[random + 3] == "Number of obs: 56, groups:  herd, 15"


def test_to_dict_has_the_glmer_schema(fits):
    _, _, fit = cached(fits, "cbpp_cloglog")
    d = fit.to_dict()
    lmer_keys = {"formula", "nobs", "ngroups", "converged", "singular", "fixef", "se", "vcov", "theta",
                 "loglik", "aic", "bic", "objective", "varcorr", "ranef"}  # fmt: skip
    assert lmer_keys | {"family", "link", "nagq", "deviance"} <= set(d)
    assert not {"sigma", "satterthwaite_df", "reml"} & set(d)
    assert (d["family"], d["link"], d["nagq"]) == ("binomial", "cloglog", 1)
    assert d["deviance"] == fit.deviance and d["objective"] == pytest.approx(-2 * d["loglik"])
    assert list(d["fixef"]) == list(fit.fixef_names) == list(d["se"])
    assert d["ranef"]["herd"]["levels"] == list(fit.ranef()["herd"].index)
    assert set(d["ranef"]["herd"]) == {"levels", "(Intercept)", "condsd"}
    row = d["varcorr"][0]
    assert (
        row["group"] == "herd"
        and row["var2"] is None
        and row["sd"] == pytest.approx(math.sqrt(row["variance"]))
    )
    assert json.loads(json.dumps(d)) == d  # JSON-ready


# ------------------------------------------------------------------ warnings
def identical_groups(y: list[int]) -> pd.DataFrame:
    """Ten groups with the same responses at the same x: the group variance's estimate is 0."""
    n = len(y)
    return pd.DataFrame(
        {
            "y": np.tile(y, 10),
            "x": np.tile(np.linspace(-1, 1, n), 10),
            "g": np.repeat([f"g{i}" for i in range(10)], n),
        }
    )


def test_singular_fit_warns_and_matches_lme4():
    data = identical_groups([0, 0, 1, 0, 1, 1, 0, 1])
    with pytest.warns(mm.MixedModelsWarning, match=r"boundary \(singular\) fit"):
        fit = mm.glmer("y ~ x + (1 | g)", data)
    assert fit.singular and fit.theta[0] == 0.0 and fit.to_dict()["singular"]
    # lme4: glmer(y ~ x + (1 | g), family = binomial) on the same data: theta 0, isSingular TRUE
    assert fit.fixef["x"] == pytest.approx(1.516205168, rel=1e-6)
    assert fit.fixef["(Intercept)"] == pytest.approx(0.0, abs=1e-6)
    assert fit.loglik == pytest.approx(-47.34619358, abs=1e-6)
    assert "boundary (singular) fit" in fit.summary()


def test_separation_is_named_not_only_fitted_probabilities_0_or_1():
    data = identical_groups([0, 0, 1, 0, 1, 1, 0, 1])
    data["y"] = (data.x > 0).astype(int)  # x separates the responses completely
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.glmer("y ~ x + (1 | g)", data)
    notes = [str(w.message) for w in caught if issubclass(w.category, mm.MixedModelsWarning)]
    # lme4's estimate runs off (253.8) with only the 0/1 note; here x is named as separated
    assert any("x: its estimate is +infinity" in n and "complete separation" in n for n in notes)
    assert "x" in fit.separation.coefficients
    assert np.isfinite(fit.fixef["x"]) and fit.fixef["x"] > 0 and np.isnan(fit.se["x"])
    assert "complete separation" in fit.summary()


def test_nonconvergence_warns(monkeypatch):
    """An optimizer that stops without converging (provoked: the optimum reported as such)."""
    real = glmer_steps.fit_glmm

    def stopped(*args, **kwargs):
        opt = real(*args, **kwargs)
        return replace(opt, opt=replace(opt.opt, converged=False, return_value="MAXEVAL_REACHED"))

    monkeypatch.setattr(glmer_steps, "fit_glmm", stopped)
    ref, df = load_case("cbpp_nagq0")
    with pytest.warns(mm.MixedModelsWarning, match=r"did not converge \(MAXEVAL_REACHED\)"):
        fit = mm.glmer(ref["formula"], df, nagq=0)
    assert not fit.converged and not fit.to_dict()["converged"]
    assert fit.summary().splitlines()[-1] == "the optimizer did not converge (MAXEVAL_REACHED)"


# ------------------------------------------------------------------ simulate
def test_simulate_binomial_with_trials(fits):
    _, _, fit = cached(fits, "cbpp_cloglog")
    trials = fit.model.weights
    for use_u in (True, False):
        sims = fit.simulate(400, use_u=use_u, seed=3).to_numpy()
        assert np.all(sims >= 0) and np.all(sims <= trials[:, None]) and np.all(sims == np.round(sims))
    sims = fit.simulate(4000, use_u=True, seed=4).to_numpy()
    expected = trials * fit.fitted.to_numpy()  # the conditional mean at the modes
    se = np.sqrt(trials * fit.fitted.to_numpy() * (1 - fit.fitted.to_numpy()) / 4000)
    assert np.all(np.abs(sims.mean(axis=1) - expected) < 5 * se + 1e-12)
    # with new random effects the herds spread more than at their modes
    free = fit.simulate(4000, use_u=False, seed=5).to_numpy()
    assert np.mean(free.var(axis=1)) > np.mean(sims.var(axis=1))


def test_simulate_poisson_counts(fits):
    _, _, fit = cached(fits, "epil_nagq0")
    sims = fit.simulate(2000, use_u=True, seed=7).to_numpy()
    assert np.all(sims >= 0) and np.all(sims == np.round(sims))
    mu = fit.fitted.to_numpy()
    assert np.all(np.abs(sims.mean(axis=1) - mu) < 5 * np.sqrt(mu / 2000) + 1e-12)
    free = fit.simulate(200, use_u=False, seed=8).to_numpy()
    assert free.shape == (fit.nobs, 200) and np.all(free >= 0) and np.all(free == np.round(free))
    np.testing.assert_array_equal(free, fit.simulate(200, use_u=False, seed=8).to_numpy())


def test_poisson_sqrt_modes_do_not_depend_on_the_start():
    """With the sqrt link a positive count's mean eta^2 has a mirror at -eta: PIRLS jumping the
    barrier at 0 found other modes from other starts (and the fit stopped at loglik -1079.85
    where lme4 reaches -1051.98). Kept on the side of the barrier it starts on, the mode is
    unique: the same from the fit's mode and from modes pushed off it."""
    ref, df = load_case("grouseticks_sqrt_year")
    fit = fit_case(ref, df)
    model = fit.model
    values = []
    for scale in (0.0, 0.3, 1.0):
        u0 = fit.optimum.state.u * (1.0 + scale)
        st = pirls(model, fit.theta, fit.beta, u0, tol=1e-14, maxit=200)
        values.append(laplace_deviance(model, st))
    assert max(values) - min(values) < 1e-7
    assert -values[0] / 2 == pytest.approx(ref["loglik"], abs=1e-3)


def test_poisson_identity_link_is_refused_with_the_reason():
    ref, df = load_case("grouseticks_sqrt_year")
    with pytest.raises(NotImplementedError, match="identity link is not supported yet"):
        mm.glmer(ref["formula"], df, family="poisson", link="identity")
