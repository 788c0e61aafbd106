"""Inference and replicates for glmer fits with a zero-inflation or dispersion model (glmmTMB's
``ziformula`` and ``dispformula``): Wald intervals of every part against glmmTMB's ``confint``,
the parametric bootstrap over the auxiliary coefficients, simulation of the structural zeros,
``refit`` and ``update`` keeping the auxiliary models, likelihood-ratio tests against glmmTMB's
``anova``, and a simulate-then-refit recovery study of a zero-inflated Poisson GLMM.

References: ``tests/reference/families/{owls_nb1_zi,gaussian_dispformula,salamanders_hurdle_nb2}.json``
(the issue's glmmTMB 1.1.5 references, copied from the project's shared references) and
``tests/reference/families/zero_inflation_inference.json`` (``make_zero_inflation_inference.R``).
``tests/data/zip_generated.csv`` is one draw of :func:`_simulate_zip` with ``default_rng(1)``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.replicates.glmm_bootstrap import GlmerRefits, glmer_blocks

REF = Path(__file__).parent / "reference" / "families"
DATA = Path(__file__).parent / "data"
ANOVA = json.loads((REF / "zero_inflation_inference.json").read_text())
SALAMANDERS = "count ~ spp + mined + (1 | site)"
ZIP = "y ~ x + (1 | g)"
TRUTH = {"(Intercept)": 0.5, "x": 0.4, "zi.(Intercept)": -1.0, "zi.w": 0.8, "sd": 0.5}


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kw)


def _factors(data: pd.DataFrame, columns) -> pd.DataFrame:
    data = data.copy()
    for c in columns:
        data[c] = pd.Categorical(data[c].astype(str))
    return data


def _simulate_zip(rng: np.random.Generator, n: int = 200, groups: int = 20) -> pd.DataFrame:
    """A zero-inflated Poisson GLMM at :data:`TRUTH`: ``n`` rows in ``groups`` groups, ``x ~
    N(0, 1)``, ``w ~ Bernoulli(1/2)``, ``pi = logistic(-1 + 0.8 w)``, ``log mu = 0.5 + 0.4 x + b``,
    ``b ~ N(0, 0.5^2)``."""
    g = np.repeat(np.arange(groups), n // groups)
    x, w = rng.normal(size=n), rng.integers(0, 2, n)
    b = rng.normal(0.0, TRUTH["sd"], groups)
    mu = np.exp(TRUTH["(Intercept)"] + TRUTH["x"] * x + b[g])
    pi = 1.0 / (1.0 + np.exp(-(TRUTH["zi.(Intercept)"] + TRUTH["zi.w"] * w)))
    y = np.where(rng.random(n) < pi, 0, rng.poisson(mu))
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": [f"g{i}" for i in g]})


def _reference_fit(case: str):
    ref = json.loads((REF / f"{case}.json").read_text())
    data = _factors(pd.read_csv(DATA / ref["data"]), ref["factors"])
    family = ref["family"]
    return ref, _fit(
        ref["formula"], data, family=family, ziformula=ref["ziformula"], dispformula=ref["dispformula"]
    )


@pytest.fixture(scope="module")
def zip_data() -> pd.DataFrame:
    return pd.read_csv(DATA / "zip_generated.csv")


@pytest.fixture(scope="module")
def zip_fit(zip_data):
    return _fit(ZIP, zip_data, family="poisson", ziformula="~w")


@pytest.fixture(scope="module")
def owls():
    return _reference_fit("owls_nb1_zi")[1]


# ------------------------------------------------------------------ Wald intervals
WALD_CASES = [
    "owls_nb1_zi",
    "gaussian_dispformula",
    "salamanders_hurdle_nb2",
    "zi_binary_zib",
    "zi_gaussian_dispx",
    "zi_owls_zinb2_food",
    "zi_salamanders_hurdle_pois",
    "zi_salamanders_nb2_dispmined",
    "zi_salamanders_zip_mined",
]


@pytest.mark.parametrize("case", WALD_CASES)
def test_wald_rows_match_glmmtmb(case):
    """Every row of glmmTMB's ``confint(fit)`` (``cond.x``, ``zi.x``, ``disp.x``,
    ``cond.Std.Dev.(Intercept)|site``) to 1e-3; a standard deviation's bounds on the log scale
    (the hurdle model's site SD is near 0, its interval 0.0005 to 10.5, so wide that its bounds
    are compared as logs, to 3e-3)."""
    ref, fit = _reference_fit(case)
    want = ref["confint_wald"]
    ci = fit.confint(method="wald")
    assert [n for n in ci.index if n != "sigma"] == want["names"]
    got = ci.loc[want["names"]]
    sd = np.array(["Std.Dev." in n for n in want["names"]])
    for column, bound in ((0, "lower"), (1, "upper")):
        ours, theirs = got.iloc[:, column].to_numpy(), np.array(want[bound])
        np.testing.assert_allclose(ours[~sd], theirs[~sd], atol=1e-3)
        np.testing.assert_allclose(np.log(ours[sd]), np.log(theirs[sd]), atol=3e-3)


def test_wald_zip_and_sigma_rows_match_glmmtmb(zip_fit, owls):
    """The zero-inflated Poisson's rows, and glmmTMB's ``full = TRUE`` sigma row of the
    zero-inflated nbinom1 (``log phi`` is the first coefficient after ``beta``, before the zi
    coefficients)."""
    for fit, key in ((zip_fit, "zip_confint_wald"), (owls, "owls_confint_full")):
        want = ANOVA[key]
        got = fit.confint(method="wald").loc[want["names"]]
        np.testing.assert_allclose(got.iloc[:, 0], want["lower"], atol=1e-3)
        np.testing.assert_allclose(got.iloc[:, 1], want["upper"], atol=1e-3)


def test_confint_parm_names_and_profile_refusal(owls):
    ci = owls.confint(method="wald")
    one = owls.confint(method="wald", parm=["zi.(Intercept)", "cond.SexParentMale", "sd_(Intercept)|Nest"])
    assert list(one.index) == ["zi.(Intercept)", "cond.SexParentMale", "cond.Std.Dev.(Intercept)|Nest"]
    np.testing.assert_allclose(one.to_numpy(), ci.loc[one.index].to_numpy())
    # the conditional model's names without the prefix select the same rows
    np.testing.assert_allclose(owls.confint("wald", parm=["SexParentMale"]), one.iloc[[1]])
    with pytest.raises(ValueError, match="unknown parameter"):
        owls.confint(method="wald", parm=["zi.nothing"])
    with pytest.raises(NotImplementedError, match='method="wald"'):
        owls.confint(method="profile")


# ------------------------------------------------------------------ simulation
def test_simulate_draws_structural_zeros(zip_fit):
    """With the conditional modes (``use_u=True``) each row's share of zeros over many draws is
    its ``p(0) = pi + (1 - pi) exp(-mu)``; without the zero-inflation model it would be
    ``exp(-mu)`` alone (at least ``min pi`` = 0.24 less)."""
    sims = zip_fit.simulate(2000, use_u=True, seed=5).to_numpy()
    fam = zip_fit.family
    p0 = np.exp(fam.log_prob_zero(zip_fit.mu, zip_fit.model.weights))
    share = (sims == 0).mean(axis=1)
    se = np.sqrt(p0 * (1 - p0) / sims.shape[1])
    assert np.all(np.abs(share - p0) < 5 * se + 1e-3)
    assert np.allclose(p0, fam.pi + (1 - fam.pi) * np.exp(-zip_fit.mu))


def test_simulate_hurdle_zeros_are_the_hurdle():
    """A hurdle model's zeros come from ``pi`` alone (the truncated family never draws one)."""
    data = _factors(pd.read_csv(DATA / "salamanders.csv"), ["site", "mined", "spp"])
    fit = _fit(SALAMANDERS, data, family="truncated_nbinom2", ziformula="~spp + mined")
    sims = fit.simulate(400, seed=2).to_numpy()
    share = (sims == 0).mean(axis=1)
    pi = fit.family.pi
    assert np.all(np.abs(share - pi) < 5 * np.sqrt(pi * (1 - pi) / 400) + 1e-3)


# ------------------------------------------------------------------ refit, update, bootstrap
def test_refit_and_update_keep_the_auxiliary_models(zip_fit, zip_data):
    y = zip_fit.simulate(1, seed=3).iloc[:, 0].to_numpy()
    again = zip_fit.refit(y)
    assert again.zi is not None and again.zi.names == ("(Intercept)", "w")
    direct = _fit(ZIP, zip_data.assign(y=y), family="poisson", ziformula="~w")
    np.testing.assert_allclose(again.zi.estimates, direct.zi.estimates, atol=2e-3)
    np.testing.assert_allclose(again.loglik, direct.loglik, rtol=1e-8)
    smaller = zip_fit.update("y ~ 1 + (1 | g)")
    assert smaller.model_args["ziformula"] == "~w" and smaller.npar == 4
    assert zip_fit.update(ziformula="~1").zi.names == ("(Intercept)",)
    plain = zip_fit.update(ziformula="~0")
    assert plain.zi is None and plain.npar == 3
    np.testing.assert_allclose(plain.loglik, ANOVA["zip_generated"]["logLik"][0], atol=1e-4)
    het = _reference_fit("gaussian_dispformula")[1]
    one = het.update(dispformula="~1")
    np.testing.assert_allclose(one.loglik, ANOVA["gaussian_disp"]["logLik"][0], atol=1e-4)
    assert het.update("y ~ 1 + (1 | g)").disp.names == ("(Intercept)", "grpb", "grpc")


def test_bootstrap_replicates_are_refits(zip_fit):
    """Each replicate's statistics (SD, beta, zi coefficients) are those of ``refit``."""
    Y = next(glmer_blocks(zip_fit, 3, False, np.random.default_rng(11), 3))
    values, status, _ = GlmerRefits(zip_fit, None, 1000, 20).run(Y)
    assert set(status) <= {"ok", "singular"}  # (the first replicate's SD is 0)
    for i in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mm.MixedModelsWarning)
            g = zip_fit.refit(Y[:, i])
        np.testing.assert_allclose(values[i], np.concatenate([g.theta, g.beta, g.zi.estimates]), atol=1e-4)


def test_bootstrap_of_a_zero_inflated_fit(zip_fit):
    """20 replicates: the statistics name the zi coefficients, the bootstrap SDs are within a
    factor 1.6 of the Wald standard errors (the SD of an SD from 20 draws is about 16%), and
    confint(method="boot") has glmmTMB's row names."""
    boot = mm.bootstrap(zip_fit, 20, seed=2, progress=False)
    names = ["sd_(Intercept)|g", "(Intercept)", "x", "zi.(Intercept)", "zi.w"]
    assert list(boot.replicates.columns) == names
    assert boot.n_failed == 0
    wald = np.concatenate([zip_fit.se.to_numpy(), zip_fit.zi.se.to_numpy()])
    ratio = boot.sd().to_numpy()[1:] / wald
    assert np.all((ratio > 1 / 1.6) & (ratio < 1.6)), ratio
    ci = zip_fit.confint(method="boot", nsim=20, seed=2, progress=False)
    assert list(ci.index) == [
        "cond.Std.Dev.(Intercept)|g",
        "cond.(Intercept)",
        "cond.x",
        "zi.(Intercept)",
        "zi.w",
    ]
    assert np.all(ci.iloc[:, 0] < ci.iloc[:, 1])


def test_bootstrap_with_a_dispersion_model():
    het = _reference_fit("gaussian_dispformula")[1]
    boot = mm.bootstrap(het, 5, seed=1, progress=False)
    assert list(boot.replicates.columns)[-3:] == ["disp.(Intercept)", "disp.grpb", "disp.grpc"]
    assert boot.n_failed == 0
    assert np.all(np.abs(boot.replicates.mean() - boot.t0) < 4 * het_se(het))


def het_se(fit) -> np.ndarray:
    """Wald standard errors in the bootstrap's order (the SD's by the delta method)."""
    ci = fit.confint("wald")
    sd_se = (np.log(ci.iloc[-1, 1]) - np.log(ci.iloc[-1, 0])) / (2 * 1.959964) * ci.iloc[-1, 2]
    return np.concatenate([[sd_se], fit.se.to_numpy(), fit.disp.se.to_numpy()])


# ------------------------------------------------------------------ likelihood-ratio tests
def _check_anova(table: pd.DataFrame, want: dict) -> None:
    np.testing.assert_array_equal(table["npar"].to_numpy(), want["npar"])
    np.testing.assert_allclose(table["logLik"].to_numpy(), want["logLik"], atol=2e-4)
    np.testing.assert_allclose(table["AIC"].to_numpy(), want["AIC"], atol=4e-4)
    np.testing.assert_allclose(table["BIC"].to_numpy(), want["BIC"], atol=4e-4)
    np.testing.assert_allclose(table["Chisq"].to_numpy()[1:], np.atleast_1d(want["Chisq"]), atol=4e-4)
    np.testing.assert_array_equal(table["Df"].to_numpy()[1:].astype(int), np.atleast_1d(want["Df"]))


def test_anova_zero_inflation_models(zip_fit, zip_data):
    p0 = _fit(ZIP, zip_data, family="poisson")
    p1 = zip_fit.update(ziformula="~1")
    a = mm.anova(zip_fit, p0, p1)
    _check_anova(a.table, ANOVA["zip_generated"])
    assert list(a.table.index) == [ZIP, f"{ZIP}, zi ~1", f"{ZIP}, zi ~w"]
    np.testing.assert_allclose(a.table["Pr(>Chisq)"].iloc[2], ANOVA["zip_generated"]["p"][1], rtol=1e-3)


def test_anova_dispersion_models():
    het = _reference_fit("gaussian_dispformula")[1]
    _check_anova(mm.anova(het, het.update(dispformula="~1")).table, ANOVA["gaussian_disp"])


def test_anova_negative_binomial_and_zero_inflated():
    """nbinom2 against zero-inflated nbinom2 with ``zi ~1`` and ``zi ~spp`` (glmmTMB's spp GP
    coefficient runs off to -infinity; the log-likelihoods agree all the same)."""
    data = _factors(pd.read_csv(DATA / "salamanders.csv"), ["site", "mined", "spp"])
    nb2 = _fit(SALAMANDERS, data, family="nbinom2")
    zi1 = _fit(SALAMANDERS, data, family="nbinom2", ziformula="~1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        zis = zi1.update(ziformula="~spp")
    _check_anova(mm.anova(nb2, zi1, zis).table, ANOVA["salamanders_nb2_zi"])


def test_anova_refuses_other_rows_or_responses(zip_fit, zip_data):
    other = _fit(ZIP, zip_data.iloc[:-10], family="poisson", ziformula="~1")
    with pytest.raises(ValueError, match="different"):
        mm.anova(zip_fit, other)
    moved = _fit(ZIP, zip_data.assign(y=zip_data["y"] + 1), family="poisson", ziformula="~1")
    with pytest.raises(ValueError, match="different responses"):
        mm.anova(zip_fit, moved)


# ------------------------------------------------------------------ recovery
@pytest.mark.slow
def test_simulate_then_refit_recovers_a_zero_inflated_poisson_glmm():
    """300 data sets of :func:`_simulate_zip` (200 rows, 20 groups), each fitted: the mean of each
    estimate is within 3 Monte Carlo standard errors of the truth plus its expected bias.

    The bias allowed: for the fixed and zi coefficients a tenth of the estimate's sampling SD
    (maximum likelihood's bias is O(1/n) against an SD of O(1/sqrt n): at n = 200 about
    0.07 SD); for the random-effect SD the two first-order terms of its downward bias, that
    of the ML variance ``-sd^2 / G`` (G = 20 groups: ``sd (1 - sqrt(1 - 1/G))``) and the
    square root's ``-Var(sd_hat) / (2 sd)`` (Jensen's), ``Var(sd_hat)`` from the replicates.
    About 20 s (the fits one at a time)."""
    rng = np.random.default_rng(20261208)
    reps, groups = 300, 20
    rows = []
    for _ in range(reps):
        fit = _fit(ZIP, _simulate_zip(rng, groups=groups), family="poisson", ziformula="~w")
        assert fit.converged
        rows.append([*fit.beta, *fit.zi.estimates, fit.theta[0]])
    est = np.array(rows)
    truth = np.array(list(TRUTH.values()))
    mean, spread = est.mean(axis=0), est.std(axis=0, ddof=1)
    mcse = spread / np.sqrt(reps)
    bias = 0.1 * spread
    sd = TRUTH["sd"]
    expected = -sd * (1 - np.sqrt(1 - 1 / groups)) - spread[-1] ** 2 / (2 * sd)
    bias[-1] = 0.0
    centre = truth.copy()
    centre[-1] += expected
    assert np.all(np.abs(mean - centre) < 3 * mcse + bias), (mean, centre, mcse)


SIMULATE_CASES = [c for c in WALD_CASES if "simulate_mean" in json.loads((REF / f"{c}.json").read_text())]


@pytest.mark.parametrize("case", SIMULATE_CASES)
def test_simulate_matches_glmmtmb_moments(case):
    """200 simulations with new random effects (glmmTMB's ``simulate`` draws them): their mean and
    share of zeros within 4 Monte Carlo standard errors of glmmTMB's (each side's error, from the
    spread of the 200 per-simulation values)."""
    ref, fit = _reference_fit(case)
    sims = fit.simulate(200, seed=29).to_numpy()
    for values, key in (
        (sims.mean(axis=0), "simulate_mean"),
        ((sims == 0).mean(axis=0), "simulate_zero_fraction"),
    ):
        se = np.sqrt(2.0) * values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - ref[key]) < 4 * se + 1e-9, (key, values.mean(), ref[key], se)
