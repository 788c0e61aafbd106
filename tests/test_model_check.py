"""mm.check_model's numbers (leverages, Cook's distances, standardized residuals, VIFs, binned
residuals) against R, and its figure's panels per fit type.

References: tests/reference/checks/make_model_check.R (lme4 1.1-31's hatvalues and
cooks.distance, R's for lm and glm, performance 0.10.2's check_collinearity and
binned_residuals; for glmer the hat matrix with working weights, written out in R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.checks import model_check as mc

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "checks" / "model_check.json").read_text())
MTCARS = pd.read_csv(HERE / "reference" / "checks" / "mtcars.csv")
TOL = 1e-6


def _fit(case: str):
    if case == "lmer_sleepstudy":
        return mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    if case == "lmer_weighted":
        weights = np.linspace(0.5, 2, 180)
        return mm.lmer("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"), weights=weights)
    if case == "lmer_quadratic":
        return mm.lmer("Reaction ~ Days + I(Days**2) + (Days | Subject)", datasets.load("sleepstudy"))
    if case == "lmer_cake":
        return mm.lmer("angle ~ recipe + temp + (1 | replicate)", datasets.load("cake"))
    if case == "glmer_poisson":
        return mm.glmer(
            "count ~ mined + spp + cover + (1 | site)", datasets.load("salamanders"), family="poisson"
        )
    if case == "glmer_binomial":
        return mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    if case == "lm_mtcars":
        return mm.lm("mpg ~ wt + hp + disp", MTCARS)
    if case == "glm_binomial_mtcars":
        return mm.glm("am ~ wt + hp", MTCARS, family="binomial")
    if case == "glm_poisson":
        return mm.glm("count ~ mined + spp + cover", datasets.load("salamanders"), family="poisson")
    raise KeyError(case)


_FITS: dict = {}


def fit_of_case(case: str):
    if case not in _FITS:
        _FITS[case] = _fit(case)
    return _FITS[case]


@pytest.mark.parametrize("case", sorted(REF))
def test_leverage_cooks_distance_and_standardized_residuals_match_r(case):
    ref = REF[case]
    table = mc.influence_table(fit_of_case(case))
    for column in ("hat", "cooks_distance", "std_resid"):
        np.testing.assert_allclose(table[column].to_numpy(), ref[column], rtol=TOL, atol=TOL, err_msg=column)


def test_lmer_leverages_and_cooks_distance_are_lme4s():
    ref = REF["lmer_sleepstudy"]
    fit = fit_of_case("lmer_sleepstudy")
    np.testing.assert_allclose(mm.hatvalues(fit).to_numpy(), ref["lme4_hatvalues"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(
        mm.cooks_distance(fit).to_numpy(), ref["lme4_cooks_distance"], rtol=TOL, atol=TOL
    )


def test_glmer_leverages_use_working_weights_unlike_lme4():
    """lme4's GLMM leverages (prior weights beside a working-weighted factor) exceed 1 for a
    binomial with trials; ours lie in [0, 1] and sum to the effective number of parameters."""
    h = mm.hatvalues(fit_of_case("glmer_binomial")).to_numpy()
    assert max(REF["glmer_binomial"]["lme4_hatvalues"]) > 1
    assert h.min() > 0 and h.max() < 1
    assert 4 < h.sum() < 4 + 15  # between p and p + the number of herds


@pytest.mark.parametrize("case", ["lmer_sleepstudy", "lm_mtcars"])
def test_cook_level_is_the_median_of_f(case):
    assert mc.cook_level(fit_of_case(case)) == pytest.approx(REF[case]["cook_level"], rel=1e-10)


def _reference_vif(ref: dict) -> pd.DataFrame:
    return pd.DataFrame(ref["vif"]).astype({c: float for c in mc.COLLINEARITY_COLUMNS[1:]})


@pytest.mark.parametrize(
    "case",
    ["lmer_quadratic", "lmer_cake", "glmer_poisson", "lm_mtcars", "glm_binomial_mtcars", "glm_poisson"],
)
def test_check_collinearity_matches_performance(case):
    ref = _reference_vif(REF[case])
    ours = mm.check_collinearity(fit_of_case(case))
    assert list(ours.columns) == mc.COLLINEARITY_COLUMNS
    assert [t.replace("**", "^") for t in ours.Term] == list(ref.Term)
    # a glmer's vcov is lme4's finite-difference Hessian at lme4's optimum: ~1e-4 apart
    tol = 2e-4 if case.startswith("glmer") else TOL
    np.testing.assert_allclose(ours.VIF, ref.VIF, rtol=tol)
    informative = (ref.VIF > 1 + 1e-6).to_numpy()  # an uncorrelated term's interval is degenerate
    for column in mc.COLLINEARITY_COLUMNS[2:]:
        np.testing.assert_allclose(
            ours[column].to_numpy()[informative],
            ref[column].to_numpy()[informative],
            rtol=tol,
            err_msg=column,
        )


def test_check_collinearity_of_one_term_is_empty():
    table = mm.check_collinearity(fit_of_case("lmer_sleepstudy"))
    assert table.empty and list(table.columns) == mc.COLLINEARITY_COLUMNS


def test_binned_residuals_match_performance():
    ref = pd.DataFrame(REF["glm_binomial_mtcars"]["binned"])
    ours = mm.binned_residuals(fit_of_case("glm_binomial_mtcars"))
    assert list(ours.columns) == list(ref.columns)
    numeric = [c for c in ref.columns if c != "group"]
    np.testing.assert_allclose(
        ours[numeric].to_numpy(float), ref[numeric].to_numpy(float), rtol=TOL, atol=TOL
    )
    assert list(ours.group) == list(ref.group)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="check_collinearity takes a fit"):
        mm.check_collinearity("not a fit")
    with pytest.raises(ValueError, match="n_bins"):
        mm.binned_residuals(fit_of_case("glm_binomial_mtcars"), n_bins=0)


# ------------------------------------------------------------------ the figure
pytest.importorskip("matplotlib")

COMMON = ["Posterior predictive check"]
PANELS = {
    "lmer_sleepstudy": [
        *COMMON,
        "Linearity",
        "Homogeneity of variance",
        "Influential observations",
        "Normality of residuals",
        "Normality of random effects (Subject: (Intercept))",
        "Normality of random effects (Subject: Days)",
    ],
    "glmer_poisson": [
        *COMMON,
        "Homogeneity of variance",
        "Overdispersion",
        "Influential observations",
        "Collinearity",
        "Normality of residuals",
        "Normality of random effects (site: (Intercept))",
    ],
    "glmer_binomial": [
        *COMMON,
        "Homogeneity of variance",
        "Binned residuals",
        "Influential observations",
        "Normality of residuals",
        "Normality of random effects (herd: (Intercept))",
    ],
    "lm_mtcars": [
        *COMMON,
        "Linearity",
        "Homogeneity of variance",
        "Influential observations",
        "Collinearity",
        "Normality of residuals",
    ],
    "glm_binomial_mtcars": [
        *COMMON,
        "Homogeneity of variance",
        "Binned residuals",
        "Influential observations",
        "Collinearity",
        "Normality of residuals",
    ],
}


def _titles(fig) -> list[str]:
    return [ax.get_title(loc="left").splitlines()[0] for ax in fig.axes if ax.get_visible()]


@pytest.mark.parametrize("case", sorted(PANELS))
def test_check_model_draws_the_panels_that_apply(case, tmp_path):
    fig = mm.check_model(fit_of_case(case), nsim=10, seed=1)
    assert _titles(fig) == PANELS[case]
    fig.savefig(tmp_path / "check.png")


def test_check_model_draws_a_zero_inflated_glmmtmb_style_fit(tmp_path):
    sal = datasets.load("salamanders")
    fit = mm.glmer("count ~ mined + (1 | site)", sal, family="poisson", ziformula="~ mined")
    check = mc.model_check(fit, nsim=10, seed=1)
    # the variance of a zero-inflated Poisson count: (1 - pi) mu (1 + pi mu), above its mean
    assert np.all(check.dispersion.variance > check.dispersion.predicted)
    fig = check.plot()
    assert "Overdispersion" in _titles(fig)
    fig.savefig(tmp_path / "zip.png")


def test_counts_are_checked_as_frequencies_and_a_gaussian_as_a_density():
    counts = mc.model_check(fit_of_case("glmer_binomial"), nsim=5, seed=1)
    assert counts.discrete and counts.response == "incidence (successes)"
    assert counts.observed.max() == 12  # successes, not proportions
    assert not mc.model_check(fit_of_case("lmer_sleepstudy"), nsim=5, seed=1).discrete


def test_check_model_is_reproducible_and_refuses_bad_input():
    fit = fit_of_case("lm_mtcars")
    a, b = (mc.model_check(fit, nsim=3, seed=7).simulated for _ in range(2))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="nsim"):
        mm.check_model(fit, nsim=0)
    with pytest.raises(TypeError, match="check_model takes a fit"):
        mm.check_model(mm.check_collinearity(fit))


@pytest.mark.parametrize("largest", [5.7, 1e6])
def test_collinearity_panel_cuts_long_intervals_and_keeps_its_labels_apart(largest):
    """A VIF near one can have an upper bound of 2e5 or 8e10 (Exam's standLRT, Arabidopsis'
    rack): the log axis once reached it, squashing the others and the band labels together."""
    from types import SimpleNamespace

    from matplotlib.figure import Figure

    from mixedmodels import plotting

    table = pd.DataFrame(
        {
            "Term": ["a", "b", "c"],
            "VIF": [1.0, 1.01, largest],
            "VIF_CI_low": [1.0, 1.0, largest * 0.8],
            "VIF_CI_high": [8e10, 2e5, largest * 1.3],
        }
    )
    ax = Figure().subplots()
    plotting._collinearity_panel(ax, SimpleNamespace(collinearity=table))
    top = max(15.0, 3 * largest)
    assert ax.get_ylim()[1] == pytest.approx(top)
    segments = ax.collections[0].get_segments()
    assert max(seg[:, 1].max() for seg in segments) < top  # cut at the axis' top
    cut = int(np.sum(table["VIF_CI_high"] > top))
    assert len(ax.collections[1].get_offsets()) == cut == (2 if largest < 10 else 1)  # arrowheads
    heights = [t.get_position()[1] for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == ["low", "moderate", "high"]
    assert np.all(np.diff(heights) >= 0.07 - 1e-12) and heights[0] > 0 and heights[-1] < 1
