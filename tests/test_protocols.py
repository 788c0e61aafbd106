"""The fit protocols (mixedmodels.base.protocols): one set of names on every fit type, and shared code
that asks the fit what it is instead of testing its class."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.base.protocols import Fit, MixedFit, fit_of
from mixedmodels.datasets import load

SRC = Path(mm.__file__).parent
FIT_CLASSES = ("LmerFit", "GlmerFit", "LmFit", "GlmFit", "DaskLmerFit")
CLASS_TEST = re.compile(r"isinstance\([^\n]*\b(" + "|".join(FIT_CLASSES) + r")\b")
MAX_CLASS_TESTS = 4  # outside the fit classes' own modules, each saying why


@pytest.fixture(scope="module")
def fits() -> dict[str, Fit]:
    sleep, cbpp = load("sleepstudy"), load("cbpp")
    herds = "cbind(incidence, size - incidence) ~ period"
    return {
        "lmer": mm.lmer("Reaction ~ Days + (Days | Subject)", sleep),
        "glmer": mm.glmer(f"{herds} + (1 | herd)", cbpp, family="binomial"),
        "lm": mm.lm("Reaction ~ Days", sleep),
        "glm": mm.glm(herds, cbpp, family="binomial"),
    }


def _fit_modules() -> set[Path]:
    """The modules that define a fit class (where testing a fit's own class is at home)."""
    defines = re.compile(r"^class (" + "|".join(FIT_CLASSES) + r")\b", re.MULTILINE)
    return {p for p in SRC.rglob("*.py") if defines.search(p.read_text())}


def _class_tests() -> list[tuple[Path, int, str, bool]]:
    """Each ``isinstance(..., <fit class>)`` outside the fit modules: file, line, text, and
    whether a ``# why:`` comment on the line or the line above gives the reason."""
    homes = _fit_modules()
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path in homes:
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if CLASS_TEST.search(line):
                why = "# why:" in line or (i > 0 and "# why:" in lines[i - 1])
                found.append((path, i + 1, line.strip(), why))
    return found


def test_fit_modules_are_found():
    names = {str(p.relative_to(SRC)) for p in _fit_modules()}
    assert {"lmm/fit.py", "glmm/fit.py", "fixed/lm.py", "fixed/glm.py", "lmm/dask.py"} <= names


def test_few_class_tests_outside_the_fit_modules():
    found = _class_tests()
    shown = "\n".join(f"{p.relative_to(SRC)}:{n}: {text}" for p, n, text, _ in found)
    assert len(found) <= MAX_CLASS_TESTS, f"isinstance against a fit class outside its module:\n{shown}"
    unexplained = [f"{p.relative_to(SRC)}:{n}" for p, n, _, why in found if not why]
    assert not unexplained, f"these need a '# why:' comment: {unexplained}"


def test_the_class_test_pattern_finds_one():
    assert CLASS_TEST.search("if isinstance(fit, (LmerFit, LmFit)):")
    assert not CLASS_TEST.search("if isinstance(fit, MixedFit):")


def test_every_fit_type_is_a_fit(fits):
    for kind, fit in fits.items():
        assert isinstance(fit, Fit)
        assert fit.kind == kind
        assert fit_of(fit, kind)
        assert isinstance(fit, MixedFit) == fit.is_mixed == (kind in ("lmer", "glmer"))
        assert fit.is_generalized == (kind in ("glmer", "glm"))
    assert fits["lmer"].is_reml and not any(fits[k].is_reml for k in ("glmer", "lm", "glm"))


def test_a_dask_fit_is_an_lmer_fit():
    assert mm.DaskLmerFit.kind == "lmer" and issubclass(mm.DaskLmerFit, MixedFit)


def test_fit_of_refuses_other_things():
    assert not fit_of("a fit", "lmer")
    assert not fit_of(None, *("lmer", "glmer", "lm", "glm"))
    with pytest.raises(ValueError, match="unknown kinds"):
        fit_of(None, "lme")


def test_fixef_has_one_name(fits):
    for fit in fits.values():
        assert isinstance(fit.fixef, pd.Series)
        assert fit.fixef.name == "Estimate"
        assert fit.se.name == "Std. Error"
        assert list(fit.fixef.index) == list(fit.se.index) == list(fit.vcov.index)


def test_fixef_of_lm_and_glm_is_coef(fits):
    for kind in ("lm", "glm"):
        fit = fits[kind]
        assert fit.fixef is fit.coef


def test_shared_numbers(fits):
    for fit in fits.values():
        assert fit.nobs > 0 and np.isfinite(fit.loglik)
        assert len(fit.fitted) == len(fit.resid("response"))
        d = fit.to_dict()
        assert d["nobs"] == fit.nobs and d["loglik"] == fit.loglik
        assert fit.separation is None and fit.aliased == []
        assert fit.has_rows
        fit.require_rows("this")


def test_resid_response_is_y_minus_fitted(fits):
    for fit in fits.values():
        r = fit.resid(type="response").to_numpy()
        y = fit.fitted.to_numpy() + r
        assert np.all(np.isfinite(y))
    lm = fits["lm"]
    np.testing.assert_array_equal(lm.resid("response").to_numpy(), lm.design.y - lm.fitted.to_numpy())


def test_residuals_alias_keeps_its_spelling(fits):
    for kind in ("lmer", "lm"):
        fit = fits[kind]
        np.testing.assert_array_equal(fit.residuals.to_numpy(), fit.resid().to_numpy())
    glm = fits["glm"]
    np.testing.assert_array_equal(glm.residuals("pearson"), glm.resid("pearson").to_numpy())


def test_lm_resid_types_follow_r():
    sleep = load("sleepstudy")
    w = np.linspace(0.5, 2.0, len(sleep))
    fit = mm.lm("Reaction ~ Days", sleep, weights=w)
    raw = fit.resid("response").to_numpy()
    np.testing.assert_array_equal(fit.resid("working").to_numpy(), raw)
    np.testing.assert_allclose(fit.resid("pearson").to_numpy(), raw * np.sqrt(w))
    np.testing.assert_allclose(fit.resid("deviance").to_numpy(), raw * np.sqrt(w))
    with pytest.raises(ValueError, match="type must be"):
        fit.resid("partial")


def test_every_fit_takes_the_four_residual_types():
    """lme4's residuals.merMod takes working and deviance residuals too: for a linear mixed model
    the response and the Pearson ones (R 4.2.2, lme4 1.1-31, weighted sleepstudy: working =
    response, deviance = pearson)."""
    sleep = load("sleepstudy")
    w = (sleep["Days"] % 3 + 1).to_numpy(dtype=float)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights=w)
    np.testing.assert_array_equal(fit.resid("working").to_numpy(), fit.resid("response").to_numpy())
    np.testing.assert_array_equal(fit.resid("deviance").to_numpy(), fit.resid("pearson").to_numpy())
    np.testing.assert_allclose(fit.resid("deviance").to_numpy(), fit.residuals.to_numpy() * np.sqrt(w))
    with pytest.raises(ValueError, match="type must be"):
        fit.resid("partial")


@pytest.mark.parametrize("nsim", [0, -1, 1.5, "10", True, float("nan")])
def test_simulate_and_bootstrap_refuse_a_count_that_is_not_one(fits, nsim):
    """A number of replicates is a whole number of at least 1: said so, not numpy's "negative
    dimensions" nor a silent int(1.5) (trial)."""
    for fit in fits.values():
        with pytest.raises(ValueError, match="nsim must be"):
            fit.simulate(nsim)
        with pytest.raises(ValueError, match="nsim must be"):
            mm.bootstrap(fit, nsim=nsim, progress=False)


def test_simulate_blocks_are_blocks_of_one_draw(fits):
    for fit in fits.values():
        whole = next(iter(fit.simulate_blocks(6, np.random.default_rng(4), 6)))
        parts = np.hstack(list(fit.simulate_blocks(6, np.random.default_rng(4), 4)))
        assert whole.shape == (fit.nobs, 6)
        np.testing.assert_array_equal(whole, parts)


def test_glmer_html_summary(fits):
    fit = fits["glmer"]
    page = fit._repr_html_()
    assert page.startswith('<div class="mixedmodels"')
    assert "Laplace Approximation) [glmerMod]" in page
    assert "Random effects" in page and "Fixed effects" in page and "Pr(&gt;|z|)" in page
    # the numbers of the text summary's fixed-effects table
    for line in fit.summary().split("Fixed effects:\n")[1].splitlines()[1:5]:
        assert line.split()[1] in page


def test_the_type_errors_still_name_the_functions(fits):
    with pytest.raises(TypeError, match="bootstrap needs a fit from mm.lmer, mm.glmer, mm.lm or mm.glm"):
        mm.bootstrap("fit", 10)
    with pytest.raises(TypeError, match="emmeans needs a fit from mm.lmer, mm.lm, mm.glmer or mm.glm"):
        mm.emmeans("fit", "period")
    with pytest.raises(TypeError, match="allfit takes an lmer or glmer fit"):
        mm.allfit(fits["lm"])
    with pytest.raises(TypeError, match="anova compares glm fits with glm fits only"):
        mm.anova(fits["glm"], fits["lm"])
    with pytest.raises(TypeError, match="power needs a fit from mm.lmer"):
        mm.power(fits["lm"], "Days", 1.0, nsim=2)
