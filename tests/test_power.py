"""Power by simulation (mm.power): known answers within Monte Carlo error, curves, the LRT."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.datasets import load
from mixedmodels.lmm.simulate import lmer_blocks
from mixedmodels.replicates.power import _KenwardRogerRefits, _LrtRefits, _SatterthwaiteRefits
from mixedmodels.replicates.power_results import clopper_pearson, extend

matplotlib.use("Agg")

SUBJECTS, PER_SUBJECT = 60, 8


@pytest.fixture(scope="module")
def balanced():
    """A balanced random-intercept design with a within-subject covariate x = 0..7."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(SUBJECTS), PER_SUBJECT)
    x = np.tile(np.arange(PER_SUBJECT, dtype=float), SUBJECTS)
    y = 1.0 + 0.05 * x + rng.normal(size=SUBJECTS)[g] + rng.normal(size=g.size)
    data = pd.DataFrame({"y": y, "x": x, "g": [f"s{i}" for i in g]})
    return mm.lmer("y ~ x + (1 | g)", data)


def normal_power(fit, effect: float, alpha: float = 0.05) -> float:
    """Power of the z test of the slope: its SE is sigma / sqrt(sum of (x - subject mean)^2)."""
    within = SUBJECTS * np.sum((np.arange(PER_SUBJECT) - (PER_SUBJECT - 1) / 2) ** 2)
    shift = effect / (fit.sigma / math.sqrt(within))
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def within_mc(result, expected: float, k: float = 3.5) -> bool:
    return abs(result.power - expected) < k * math.sqrt(expected * (1 - expected) / result.nsim)


def test_lrt_power_matches_the_normal_approximation(balanced):
    se = balanced.sigma / math.sqrt(SUBJECTS * 42.0)
    effect = 2.5 * se
    result = mm.power(balanced, "x", effect, nsim=1000, seed=1, progress=False)
    expected = normal_power(balanced, effect)
    assert 0.65 < expected < 0.75
    assert result.n_failed == 0
    assert within_mc(result, expected)
    lo, hi = result.ci
    assert lo < result.power < hi
    assert "Clopper-Pearson" in str(result)


def test_no_effect_gives_power_alpha(balanced):
    result = mm.power(balanced, "x", 0.0, nsim=1000, seed=2, progress=False)
    assert within_mc(result, 0.05)


def test_satterthwaite_power(balanced):
    se = balanced.sigma / math.sqrt(SUBJECTS * 42.0)
    result = mm.power(balanced, "x", 2.5 * se, nsim=60, test="satterthwaite", seed=3, progress=False)
    assert result.test == "satterthwaite" and result.nsim == 60
    assert within_mc(result, normal_power(balanced, 2.5 * se))


def test_kr_power(balanced):
    se = balanced.sigma / math.sqrt(SUBJECTS * 42.0)
    result = mm.power(balanced, "x", 2.5 * se, nsim=40, test="kr", seed=3, progress=False)
    assert result.test == "kr" and result.n_failed == 0
    assert within_mc(result, normal_power(balanced, 2.5 * se))
    assert "Kenward-Roger" in str(result)


@pytest.mark.parametrize(
    ("refits", "ddf"), [(_SatterthwaiteRefits, "Satterthwaite"), (_KenwardRogerRefits, "KR")]
)
def test_t_test_pvalues_are_single_fits(refits, ddf):
    """The batched Satterthwaite p-values and the Kenward-Roger ones equal coef_table's of single fits."""
    data = load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    Y = fit.simulate(4, seed=5).to_numpy()
    p, status, _ = refits(fit, [1], fit.opt.theta).run(Y)
    assert (status == "ok").all()
    for i in range(Y.shape[1]):
        one = mm.lmer("y ~ Days + (Days | Subject)", data.assign(y=Y[:, i]))
        assert p[i, 0] == pytest.approx(one.coef_table(ddf)["Pr(>|t|)"].iloc[1], rel=1e-4)


def test_lrt_of_the_original_response_is_anovas():
    data = load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    p = _LrtRefits(fit, [1], fit.opt.theta).run(fit.design.y[:, None])[0][0, 0]
    full = mm.lmer("Reaction ~ Days + (Days | Subject)", data, reml=False)
    reduced = mm.lmer("Reaction ~ 1 + (Days | Subject)", data, reml=False)
    chisq = 2 * (full.loglik - reduced.loglik)
    assert p == pytest.approx(stats.chi2.sf(float(chisq), 1), rel=1e-6)


def test_simulation_with_the_fits_parameters_is_the_bootstraps(balanced):
    params = (balanced.fixef.to_numpy(), balanced.opt.theta, balanced.sigma)
    a = next(lmer_blocks(balanced, 5, False, np.random.default_rng(4), 5))
    b = next(lmer_blocks(balanced, 5, False, np.random.default_rng(4), 5, params))
    np.testing.assert_array_equal(a, b)


def test_power_curve_increases_with_size():
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", load("sleepstudy"))
    curve = mm.power(fit, "Days", 4, nsim=200, seed=5, along="Subject", sizes=[4, 12, 36], progress=False)
    power = curve.table["power"].to_numpy()
    assert np.all(np.diff(power) > 0)
    assert list(curve.table.index) == [4, 12, 36]
    assert curve.plot() is not None
    assert "Power curve" in str(curve)


def test_extend_levels():
    data = load("sleepstudy")
    fewer = extend(data, "Subject", 5)
    assert fewer["Subject"].nunique() == 5 and len(fewer) == 50
    more = extend(data, "Subject", 40)
    assert more["Subject"].nunique() == 40 and len(more) == 400


def test_clopper_pearson_is_binom_tests():
    assert clopper_pearson(7, 20) == pytest.approx((0.1539092, 0.5921885), abs=1e-6)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_arguments_are_checked(balanced):
    with pytest.raises(ValueError, match="term"):
        mm.power(balanced, "z", 1.0, nsim=10)
    with pytest.raises(ValueError, match="test"):
        mm.power(balanced, "x", 1.0, nsim=10, test="wald")
    with pytest.raises(ValueError, match="along and sizes"):
        mm.power(balanced, "x", 1.0, nsim=10, along="g")


def test_power_verb(tmp_path, capsys):
    from mixedmodels.app.cli import main

    argv = ["power", "sleepstudy", "Reaction ~ Days + (Days | Subject)", "--term", "Days", "--effect", "4"]
    assert main([*argv, "--nsim", "50", "--along", "Subject", "--sizes", "5,10", "--out", str(tmp_path)]) == 0
    assert "Power curve" in capsys.readouterr().out
    assert (tmp_path / "power_Days_Subject.png").exists()
    assert main([*argv, "--nsim", "20", "--sizes", "5"]) == 2


def test_a_factor_as_a_whole_by_its_likelihood_ratio_test():
    """A term with several columns (simr's fixed("recipe", "lr")): its columns set together,
    the model without all of them, chi-square on as many df (checked on the data's own
    response against mm.anova); effects 0 give about alpha."""
    cake = load("cake")
    fit = mm.lmer("angle ~ recipe + temp + (1 | replicate)", cake)
    p = _LrtRefits(fit, [1, 2], fit.opt.theta).run(fit.design.y[:, None])[0][0, 0]
    full = mm.lmer("angle ~ recipe + temp + (1 | replicate)", cake, reml=False)
    reduced = mm.lmer("angle ~ temp + (1 | replicate)", cake, reml=False)
    assert p == pytest.approx(mm.anova(reduced, full).table["Pr(>Chisq)"].iloc[1], rel=1e-6)
    null = mm.power(fit, "recipe", [0.0, 0.0], nsim=300, seed=2, progress=False)
    assert null.effect == (0.0, 0.0) and null.pvalues.shape == (300,)
    assert 0.02 < null.power < 0.09
    big = mm.power(fit, "recipe", {"recipeC": 3.0, "recipeB": 0.0}, nsim=100, seed=2, progress=False)
    assert big.effect == (0.0, 3.0) and big.power > null.power
    assert "'recipe' = (0, 3)" in str(big)
    with pytest.raises(ValueError, match=r"'recipe' has 2 columns .* test='lrt'"):
        mm.power(fit, "recipe", [1.0, 1.0], nsim=10, test="satterthwaite", progress=False)
    with pytest.raises(ValueError, match="effect must be 2 finite number"):
        mm.power(fit, "recipe", 1.0, nsim=10, progress=False)
    with pytest.raises(ValueError, match="a fixed effect or a term of the formula"):
        mm.power(fit, "recipes", 1.0, nsim=10, progress=False)
