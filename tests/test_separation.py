"""Separation: infinite fixed-effect estimates named, held at a stated point, counted in
bootstraps and power analyses, and a penalized fit (fixef_prior) that keeps them finite.

R reference: tests/reference/glmm/separation/ (lme4's glmer and bootMer on cbpp with period 4's
incidences set to 0; make_bootmer_separated.R).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.glmm.engine import criterion_function
from mixedmodels.glmm.prior import _penalized_fg, _penalized_fn, penalty
from mixedmodels.numerics.separation import SEPARATION_BOUND, SeparationCheck, detect_separation

DATA = Path(__file__).parent / "data"
REF = Path(__file__).parent / "reference" / "glmm" / "separation"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def cbpp(separated: bool = False) -> pd.DataFrame:
    d = pd.read_csv(DATA / "cbpp.csv")
    d["period"] = d["period"].astype(str)
    if separated:
        d.loc[d["period"] == "4", "incidence"] = 0
    return d


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def reference(name: str) -> dict:
    return json.loads((REF / name).read_text())


# --------------------------------------------------------------------------- the program
def test_a_level_with_no_events_is_found_with_its_side():
    d = cbpp(separated=True)
    fit = quiet(mm.glmer, CBPP, d)
    sep = detect_separation(fit.model.X, fit.model.y, fit.model.weights, "binomial", "logit", fit.fixef_names)
    assert sep is not None and sep.coefficients == ("period4",)
    assert sep.signs() == {"period4": "-infinity"} and not sep.complete
    assert np.array_equal(sep.rows, (d["period"] == "4").to_numpy())


def test_no_separation_in_plain_cbpp_nor_in_a_gaussian_or_sqrt_model():
    fit = quiet(mm.glmer, CBPP, cbpp())
    m = fit.model
    assert detect_separation(m.X, m.y, m.weights, "binomial", "logit") is None
    y0 = np.zeros(m.n)
    assert detect_separation(m.X, y0, m.weights, "gaussian", "identity") is None
    assert detect_separation(m.X, y0, m.weights, "poisson", "sqrt") is None


def test_a_continuous_predictor_that_separates_completely_and_quasi_completely():
    x = np.linspace(-2, 2, 21)
    X = np.column_stack([np.ones(21), x])
    w = np.ones(21)
    complete = detect_separation(X, (x > 0.1).astype(float), w, "binomial", "logit", ["(Intercept)", "x"])
    assert complete is not None and complete.complete
    assert set(complete.coefficients) == {"(Intercept)", "x"} and complete.signs()["x"] == "+infinity"
    y = (x > 0).astype(float)
    y[x == 0] = 1.0  # ties at the boundary: still separated (x = 0 is one row)
    assert detect_separation(X, y, w, "binomial", "logit") is not None
    y = (x > 0).astype(float)
    y[[0, -1]] = [1.0, 0.0]  # overlap: no separation
    assert detect_separation(X, y, w, "binomial", "probit") is None


def test_trials_count_both_sides_and_poisson_zero_counts_one():
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    w = np.full(6, 10.0)
    # binomial proportions: the second group has 0 < k < size in one row: two-sided, no separation
    assert detect_separation(X, np.array([0.2, 0.5, 0.1, 0.0, 0.3, 0.0]), w, "binomial", "logit") is None
    # ... and all 1s (k = size) in the second group: +infinity
    sep = detect_separation(X, np.array([0.2, 0.5, 0.1, 1.0, 1.0, 1.0]), w, "binomial", "logit", ["a", "b"])
    assert sep is not None and sep.signs() == {"b": "+infinity"}
    # the log link's means cannot pass 1: all successes do not run off
    assert detect_separation(X, np.array([0.2, 0.5, 0.1, 1.0, 1.0, 1.0]), w, "binomial", "log") is None
    # Poisson: a level with all counts 0 runs to -infinity, positive counts stay
    sep = detect_separation(X, np.array([2.0, 3, 1, 0, 0, 0]), w, "poisson", "log", ["a", "b"])
    assert sep is not None and sep.signs() == {"b": "-infinity"}
    # rows of weight 0 take no part
    w0 = w.copy()
    w0[3:] = 0.0
    assert detect_separation(X, np.array([2.0, 3, 1, 0, 0, 0]), w0, "poisson", "log") is None


def test_the_check_of_many_responses_equals_one_by_one():
    fit = quiet(mm.glmer, CBPP, cbpp())
    m = fit.model
    rng = np.random.default_rng(3)
    Y = rng.binomial(m.weights.astype(int)[:, None], 0.01, (m.n, 40)) / m.weights[:, None]
    check = SeparationCheck(m.X, m.weights, "binomial", "logit", fit.fixef_names)
    many = check.many(Y)
    one = [
        detect_separation(m.X, Y[:, i], m.weights, "binomial", "logit", fit.fixef_names) for i in range(40)
    ]
    assert [s is None for s in many] == [s is None for s in one]
    assert any(s is not None for s in many) and any(s is None for s in many)
    assert all(a.coefficients == b.coefficients for a, b in zip(many, one) if a is not None)


# --------------------------------------------------------------------------- glmer and glm
@pytest.mark.parametrize(("link", "nagq"), [("logit", 1), ("cloglog", 9), ("logit", 0), ("probit", 1)])
def test_separated_cbpp_is_named_and_stops_at_the_stated_bound(link, nagq):
    with pytest.warns(mm.MixedModelsWarning, match=r"period4: no events .* -infinity .* SE meaningless"):
        fit = mm.glmer(CBPP, cbpp(separated=True), link=link, nagq=nagq)
    assert fit.separation is not None and fit.separation.coefficients == ("period4",)
    # period 4's rows moved SEPARATION_BOUND down the link scale: the estimate is -10, stated
    assert fit.fixef["period4"] == pytest.approx(-SEPARATION_BOUND)
    assert np.isnan(fit.se["period4"]) and np.isfinite(fit.se.drop("period4")).all()
    assert "period4" in fit.summary() and "separation" in fit.summary()
    assert fit.to_dict()["separated"] == ["period4"]
    assert not any("numerically 0 or 1" in m for m in fit.messages)
    assert repr(fit.separation) == "<Separation (quasi-complete separation, 13 rows): period4 -> -infinity>"


def test_the_other_estimates_are_lme4s_limit():
    """lme4 runs period4 to -24.1 and stops where the criterion is flat along it (its other
    estimates within a few 1e-4 of their limit, the unbounded optimum: -1.41310 for the
    intercept); ours hold it at -10 and the others agree to 1e-3."""
    t0 = reference("bootmer_separated.json")["t0"]
    fit = quiet(mm.glmer, CBPP, cbpp(separated=True))
    for name in ("(Intercept)", "period2", "period3"):
        assert fit.fixef[name] == pytest.approx(t0[name], abs=1e-3)
    assert fit.theta[0] == pytest.approx(t0["sd_herd"], abs=1e-3)


def test_cauchit_on_separated_data_names_the_term_instead_of_crashing():
    i = np.arange(40)
    y = [1, 1, 0, 0, 1, 0, 1, 0] * 5
    y[39] = 0
    d = pd.DataFrame({"y": y, "x2": [0] * 39 + [1], "f": i % 4})
    with pytest.warns(mm.MixedModelsWarning, match="x2: no events"):
        fit = mm.glmer("y ~ x2 + (1|f)", d, family="binomial", link="cauchit")
    assert fit.separation.coefficients == ("x2",) and np.isfinite(fit.fixef).all()


def test_poisson_level_with_no_counts():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"grp": np.repeat(list("abcd"), 15), "h": np.arange(60) % 5})
    d["y"] = rng.poisson(3, 60)
    d.loc[d.grp == "c", "y"] = 0
    with pytest.warns(mm.MixedModelsWarning, match=r"grpc: its rows have no events \(all counts 0\)"):
        fit = mm.glmer("y ~ grp + (1|h)", d, family="poisson")
    assert fit.fixef["grpc"] == pytest.approx(-SEPARATION_BOUND) and np.isnan(fit.se["grpc"])


def test_glm_names_separation_and_the_others_are_the_limit():
    d = cbpp(separated=True)
    with pytest.warns(mm.MixedModelsWarning, match="period4: no events"):
        fit = mm.glm("cbind(incidence, size - incidence) ~ period", d)
    assert fit.separation.coefficients == ("period4",)
    assert fit.coef["period4"] == pytest.approx(-SEPARATION_BOUND) and np.isnan(fit.se["period4"])
    # the limit: the other coefficients as fitted without period 4's rows
    rest = mm.glm("cbind(incidence, size - incidence) ~ period", d[d.period != "4"])
    for name in ("(Intercept)", "period2", "period3"):
        assert fit.coef[name] == pytest.approx(rest.coef[name], abs=1e-4)
        assert fit.se[name] == pytest.approx(rest.se[name], rel=1e-3)


def _binary_level_of_ones(levels: str, n: int = 30, seed: int = 1) -> pd.DataFrame:
    """0/1 responses with a subject factor, and level "b" of ``g`` with only 1s (quasi-complete
    separation of a Bernoulli response: the case the trials of a cbind response hide)."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {"g": np.repeat(list(levels), n), "id": np.tile([f"s{i}" for i in range(n)], len(levels))}
    )
    data["y"] = rng.binomial(1, 0.5, len(data))
    data.loc[data.g == "b", "y"] = 1
    return data


@pytest.mark.parametrize("levels", ["ab", "abcd"])
def test_glm_of_a_bernoulli_level_of_ones_is_the_limit(levels):
    """The fit with the separated level's rows left out is what the others tend to; started from
    the usual means alone, IRLS with the stated point's offset ran off (intercept 2e15)."""
    data = _binary_level_of_ones(levels)
    with pytest.warns(mm.MixedModelsWarning, match="gb"):
        fit = mm.glm("y ~ g", data, family="binomial")
    rest = mm.glm("y ~ g", data[data.g != "b"], family="binomial")
    others = [n for n in fit.coef.index if n != "gb"]
    assert fit.coef["gb"] == pytest.approx(SEPARATION_BOUND)
    assert np.abs(fit.coef[others].to_numpy() - rest.coef[others].to_numpy()).max() < 1e-3
    assert fit.loglik == pytest.approx(rest.loglik, abs=0.01)


def test_glmer_of_a_bernoulli_level_of_ones_is_the_limit():
    data = _binary_level_of_ones("abc")
    with pytest.warns(mm.MixedModelsWarning, match="gb"):
        fit = mm.glmer("y ~ g + (1 | id)", data, family="binomial")
    rest = mm.glmer("y ~ g + (1 | id)", data[data.g != "b"], family="binomial")
    assert fit.fixef["gb"] == pytest.approx(SEPARATION_BOUND)
    assert abs(fit.fixef["gc"] - rest.fixef["gc"]) < 1e-3
    assert abs(fit.fixef["(Intercept)"] - rest.fixef["(Intercept)"]) < 1e-3
    assert fit.loglik == pytest.approx(rest.loglik, abs=0.01)


def test_refit_of_a_separated_response_is_named():
    fit = quiet(mm.glmer, CBPP, cbpp())
    y = cbpp(separated=True)["incidence"].to_numpy()
    with pytest.warns(mm.MixedModelsWarning, match="period4"):
        again = fit.refit(y)
    assert again.separation is not None and again.fixef["period4"] == pytest.approx(-SEPARATION_BOUND)


# --------------------------------------------------------------------------- fixef_prior
def test_prior_gives_finite_estimates_on_separated_data():
    fit = quiet(mm.glmer, CBPP, cbpp(separated=True), fixef_prior=2.5)
    assert np.isfinite(fit.fixef).all() and np.isfinite(fit.se).all()
    assert -8 < fit.fixef["period4"] < -2
    assert "Fixef prior: normal(sd = 2.5" in fit.summary()
    wide = quiet(mm.glmer, CBPP, cbpp(separated=True), fixef_prior=10)
    assert wide.fixef["period4"] < fit.fixef["period4"]  # a wider prior lets it run further


@pytest.mark.parametrize(("link", "nagq"), [("logit", 1), ("cloglog", 9)])
def test_prior_tends_to_the_maximum_likelihood_fit(link, nagq):
    ml = quiet(mm.glmer, CBPP, cbpp(), link=link, nagq=nagq)
    flat = quiet(mm.glmer, CBPP, cbpp(), link=link, nagq=nagq, fixef_prior=1e4)
    assert np.allclose(flat.fixef, ml.fixef, atol=1e-4)
    assert np.allclose(flat.se, ml.se, rtol=1e-3)
    assert flat.objective == pytest.approx(ml.objective, abs=1e-6)


def test_the_penalty_and_its_gradient():
    fit = quiet(mm.glmer, CBPP, cbpp(separated=True), fixef_prior=[10, 2.5, 2.5, 2.5])
    sd = fit.fixef_prior
    nt = fit.ntheta
    x = np.concatenate([fit.theta, fit.beta])
    assert penalty(fit.beta, sd) == pytest.approx(np.sum((fit.beta / sd) ** 2))

    def fg(z):  # a function whose gradient is known: the penalty's must be added to it
        return float(z @ z), 2 * z

    f, g = _penalized_fg(fg, nt, sd)(x)
    h = 1e-6
    numeric = [
        (_penalized_fg(fg, nt, sd)(x + h * e)[0] - _penalized_fg(fg, nt, sd)(x - h * e)[0]) / (2 * h)
        for e in np.eye(len(x))
    ]
    assert np.allclose(g, numeric, rtol=1e-6, atol=1e-6)
    # the fit is a stationary point of the penalized criterion
    fn = _penalized_fn(criterion_function(fit.model, 1, fit.beta)[0], nt, sd)
    grad = [(fn(x + 1e-5 * e) - fn(x - 1e-5 * e)) / 2e-5 for e in np.eye(len(x))[nt:]]
    assert np.max(np.abs(grad)) < 1e-3


def test_prior_is_checked_and_refused_with_nagq_0():
    with pytest.raises(ValueError, match="fixef_prior must be a positive"):
        mm.glmer(CBPP, cbpp(), fixef_prior=[1, 2])
    with pytest.raises(ValueError, match="fixef_prior must be a positive"):
        mm.glmer(CBPP, cbpp(), fixef_prior=-1)
    with pytest.raises(NotImplementedError, match="nagq >= 1"):
        mm.glmer(CBPP, cbpp(), fixef_prior=2.5, nagq=0)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_of_separated_data_counts_flags_and_leaves_out():
    fit = quiet(mm.glmer, CBPP, cbpp(separated=True))
    with pytest.warns(mm.MixedModelsWarning, match=r"replicates have separated fixed effects .*period4"):
        boot = mm.bootstrap(fit, nsim=40, seed=1, progress=False)
    assert boot.n_separated >= 35 and boot.n_failed == 0
    flagged = boot.status == "separated"
    assert (
        boot.separated.loc[flagged, "period4"].all()
        and not boot.separated.drop(columns="period4").any().any()
    )
    # sd() leaves out the separated estimates; include_separated keeps them
    kept = boot.replicates.loc[~flagged, "period4"]
    assert boot.sd()["period4"] == pytest.approx(kept.std(ddof=1), nan_ok=True)
    assert boot.sd(include_separated=True)["period4"] == pytest.approx(boot.replicates["period4"].std(ddof=1))
    assert boot.sd()["period2"] == pytest.approx(boot.replicates["period2"].std(ddof=1))
    assert "separated refits: " in str(boot)
    # quantile intervals read a separated estimate as -infinity (it read [-22.6, -21.3]: where
    # the replicates' run-off stopped); the others' intervals are unchanged
    for method in ("percentile", "basic", "shortest"):
        ci = boot.confint(method)
        assert ci.loc["period4"].tolist() == ([np.inf, np.inf] if method == "basic" else [-np.inf, -np.inf])
        assert np.isfinite(ci.drop(index="period4").to_numpy()).all()
    assert boot.confint().loc["period2"].iloc[0] == pytest.approx(boot.replicates["period2"].quantile(0.025))


def test_plain_cbpp_bootstrap_flags_the_replicates_that_run_off():
    fit = quiet(mm.glmer, CBPP, cbpp())
    boot = quiet(mm.bootstrap, fit, nsim=1000, seed=1, progress=False)
    ran_off = boot.replicates["period4"] < -8
    assert boot.n_separated >= 1
    assert ((boot.status == "separated") == ran_off).all()
    # the SD without them is the bulk's (about 0.43), not inflated
    assert boot.sd()["period4"] < 0.5 < boot.sd(include_separated=True)["period4"]
    normal = boot.confint("normal").loc["period4"]
    assert normal.iloc[1] < 0
    # lme4's bootMer keeps its 2 run-off replicates of 1000 (period4 SD 1.21); without them its
    # SDs are ours to 10% (1000 replicates each)
    ref = reference("bootmer_plain.json")
    assert ref["sd"]["period4"] > 2 * ref["sd_without_runoff"]["period4"]
    sd = boot.sd()
    pairs = [
        ("sd_(Intercept)|herd", "sd_herd"),
        *[(n, n) for n in ("(Intercept)", "period2", "period3", "period4")],
    ]
    for ours, theirs in pairs:
        assert sd[ours] == pytest.approx(ref["sd_without_runoff"][theirs], rel=0.10)


def test_bootstrap_sds_match_lme4_bootmer_on_separated_data():
    """lme4's bootMer (1000 replicates; every one separated in period 4): the other SDs within 10%."""
    ref = reference("bootmer_separated.json")["sd"]
    fit = quiet(mm.glmer, CBPP, cbpp(separated=True))
    boot = quiet(mm.bootstrap, fit, nsim=1000, seed=2, progress=False)
    assert boot.n_separated > 900
    sd = boot.sd()
    for ours, theirs in [
        ("sd_(Intercept)|herd", "sd_herd"),
        ("(Intercept)", "(Intercept)"),
        ("period2", "period2"),
        ("period3", "period3"),
    ]:
        assert sd[ours] == pytest.approx(ref[theirs], rel=0.10)


def test_glm_bootstrap_flags_separated_replicates():
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp())
    Y = np.column_stack(
        [cbpp()["incidence"] / cbpp()["size"], cbpp(separated=True)["incidence"] / cbpp()["size"]]
    )
    from mixedmodels.replicates.bootstrap import _GlmChunk

    values, status, _, mask = _GlmChunk(fit, None).run_flagged(Y.astype(float))
    assert list(status) == ["ok", "separated"]
    assert mask[1, fit.names.index("period4")] and mask.sum() == 1
    assert values[1, fit.names.index("period4")] == pytest.approx(-SEPARATION_BOUND)


# --------------------------------------------------------------------------- compare and power
def test_compare_says_the_separated_term_cannot_be_compared():
    c = quiet(
        mm.compare, "cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp(separated=True),
        nsim=10, family="binomial", progress=False,
    )  # fmt: skip
    text = c.report()
    assert c.separated_terms == {"period4": ["glmer", "glm"]}
    assert "period4: separated in the data" in text and "says nothing about it" in text
    assert "period4: the mixed model's standard error" not in text
    assert "period2: " in text


def test_power_counts_separated_replicates():
    fit = quiet(mm.glmer, CBPP, cbpp())
    result = quiet(mm.power, fit, "period4", effect=-6, nsim=20, seed=1, progress=False)
    assert result.n_separated > 10 and "separated" in str(result)
    assert result.status is not None and len(result.status) == 20


def test_lmer_many_counts_failed_and_singular():
    d = pd.read_csv(DATA / "sleepstudy_unbalanced.csv")
    rng = np.random.default_rng(0)
    Y = pd.DataFrame({"a": d["Reaction"], "b": rng.normal(size=len(d))})
    res = mm.lmer_many("~ Days + (1 | Subject)", d, Y, progress=False)
    assert res.n_failed == int((~res.converged).sum()) and res.n_singular == int(res.singular.sum())
    assert f"failed: {res.n_failed}, singular: {res.n_singular}" in str(res)


def test_profile_intervals_of_separated_fits():
    """The run-off side is infinite; the others are profiled with the separated coefficient held
    (glm: equal to the fit without period 4's rows, which R's profile of the run-off fit gives)."""
    d = cbpp(separated=True)
    gl = quiet(mm.glm, "cbind(incidence, size - incidence) ~ period", d)
    ci = gl.confint()
    rest = mm.glm("cbind(incidence, size - incidence) ~ period", d[d.period != "4"]).confint()
    assert ci.loc["period4"].iloc[0] == -np.inf
    assert np.allclose(ci.loc[["(Intercept)", "period2", "period3"]], rest, atol=1e-3)
    g = quiet(mm.glmer, CBPP, d)
    assert g.confint(parm=["period4"], progress=False).iloc[0, 0] == -np.inf


def test_the_glm_certificate_agrees_with_the_program(monkeypatch):
    """Many one-sided rows (a 0/1 response, continuous predictors): the GLM's score proves there
    is no separation without the program; where it cannot, the program finds the separation."""
    import mixedmodels.numerics.separation as separation

    rng = np.random.default_rng(2)
    n = 400
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    Y = (rng.random((n, 20)) < 1 / (1 + np.exp(-X @ np.array([0.0, 1.0, 0.5, -0.5])))[:, None]).astype(float)
    Y[:, 0] = (X[:, 1] > 0.3).astype(float)  # separated by x1
    with_certificate = SeparationCheck(X, np.ones(n), "binomial", "logit").many(Y)
    monkeypatch.setattr(separation, "CERTIFY_ROWS", 10**9)
    program_only = SeparationCheck(X, np.ones(n), "binomial", "logit").many(Y)
    assert [s is None for s in with_certificate] == [s is None for s in program_only]
    assert with_certificate[0] is not None and all(s is None for s in with_certificate[1:])


def test_the_quick_screen_never_hides_what_the_program_finds():
    # the screen (a one-sided row and rank-deficient two-sided rows) is necessary for separation:
    # on random small designs, wherever the program finds separation, the screen lets it through
    from mixedmodels.numerics.separation import SeparationCheck, _possible_at_all

    rng = np.random.default_rng(7)
    found = 0
    for _ in range(300):
        n = int(rng.integers(4, 12))
        X = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=n).round(1)])
        y = rng.integers(0, 2, n).astype(float)
        if np.linalg.matrix_rank(X) < 3:
            continue
        sep = SeparationCheck(X, np.ones(n), "binomial", "logit")(y)
        found += sep is not None
        if sep is not None:
            assert _possible_at_all(X, y, np.ones(n), "binomial", "logit")
    assert found > 20


@pytest.mark.parametrize("nagq", [1, 9])
def test_the_convergence_check_of_separated_and_penalized_fits(nagq):
    # a separated fit is checked on its reduced design (it crashed on the full one's shape); a
    # penalized fit on the penalized criterion (quadrature's was judged on the likelihood's:
    # "not an optimum")
    separated = quiet(mm.glmer, CBPP, cbpp(separated=True), nagq=nagq)
    check = separated.check_convergence()
    assert check.verdict == "optimum" and "period4" not in check.names and "period2" in check.names
    penalized = quiet(mm.glmer, CBPP, cbpp(), nagq=nagq, fixef_prior=1.0)
    assert penalized.check_convergence().verdict == "optimum"
