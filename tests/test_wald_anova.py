"""Wald chi-square tables of types II and III (car's ``Anova``) and ``drop1`` likelihood-ratio
tests for glmer and glm fits, against car and R (reference values and printed tables from
tests/reference/wald_anova/make_wald_anova.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.inference.wald_anova import droppable, relatives, wald_table

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "wald_anova" / "wald_anova.json").read_text())
SUM = {"spp": "contr.sum", "mined": "contr.sum"}
SAL = "count ~ spp * mined + cover"


@pytest.fixture(scope="module")
def glmers(cbpp, sal):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return {
            "cbpp": mm.glmer(
                "cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial"
            ),
            "sal": mm.glmer(f"{SAL} + (1 | site)", sal, family="poisson"),
            "sal_sum": mm.glmer(f"{SAL} + (1 | site)", sal, family="poisson", contrasts=SUM),
        }


def _check(table: pd.DataFrame, key: str, rtol: float, columns: list[str] | None = None) -> None:
    ref = REF[key]
    assert list(table.index) == ref["terms"] and list(table.columns) == (columns or ref["columns"])
    for name in columns or ref["columns"]:
        want = np.array([np.nan if v is None else v for v in ref["values"][name]], dtype=float)
        got = table[name].to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_allclose(got, want, rtol=rtol, err_msg=name)


def _printed(result, key: str) -> None:
    assert str(result).split("\n") == REF[key]["printed"]


# ------------------------------------------------------------------ Wald tables
@pytest.mark.parametrize(
    ("model", "key", "kind"),
    [
        ("cbpp", "cbpp_II", 2),
        ("cbpp", "cbpp_III", 3),
        ("sal", "sal_II", 2),
        ("sal", "sal_III_treatment", 3),
        ("sal_sum", "sal_III_sum", 3),
    ],
)
def test_wald_tables_at_lme4s_estimates_are_cars(glmers, model, key, kind):
    """At lme4's estimates and covariance, the tables are car's to 1e-6."""
    est = REF["estimates"][model]
    fit = glmers[model]
    terms = [fit.design.xspec.term_of(n) for n in fit.fixef.index]
    assert len(terms) == len(est["names"])
    table = wald_table(np.array(est["beta"]), np.array(est["vcov"]), terms, kind)
    _check(table, key, rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "key", "kind"),
    [
        ("cbpp", "cbpp_II", 2),
        ("sal", "sal_II", 2),
        ("sal", "sal_III_treatment", 3),
        ("sal_sum", "sal_III_sum", 3),
    ],
)
def test_glmer_wald_tables(glmers, model, key, kind):
    """Our fits: their optimum (a slightly higher log-likelihood than lme4's) moves the
    statistics in the third or fourth digit."""
    result = mm.anova(glmers[model], type=kind)
    assert isinstance(result, mm.WaldAnovaTable)
    _check(result.table[["Chisq", "Df"]], key, rtol=2e-3, columns=["Chisq", "Df"])
    _check(result.table, key, rtol=3e-2)  # the p-values' relative error is the statistics' times Chisq/2
    printed = str(result).split("\n")
    assert printed[:3] == REF[key]["printed"][:3] and printed[-2:] == REF[key]["printed"][-2:]


def test_glm_wald_tables_are_cars(sal):
    g1 = mm.glm(SAL, sal, family="poisson")
    _check(mm.wald_anova(g1).table, "glm_II", rtol=1e-8)
    _printed(mm.anova(g1), "glm_II")
    g1s = mm.glm(SAL, sal, family="poisson", contrasts=SUM)
    result = mm.wald_anova(g1s, type="III")
    _check(result.table, "glm_III_sum", rtol=1e-8)
    _printed(result, "glm_III_sum")
    g4 = mm.glm("count + 1 ~ spp + mined + cover", sal, family="Gamma", link="log")
    _check(mm.wald_anova(g4).table, "glm_gamma_II", rtol=1e-8)
    _printed(mm.wald_anova(g4), "glm_gamma_II")
    assert "<table" in result._repr_html_() and "Type III tests" in result._repr_html_()


def test_type_ii_of_a_main_effect_is_the_type_iii_test_with_sum_contrasts_without_interaction(sal):
    """Without interactions, type II and III tests of a term are the same hypothesis."""
    fit = mm.glm("count ~ spp + mined + cover", sal, family="poisson", contrasts=SUM)
    two, three = mm.wald_anova(fit, 2).table, mm.wald_anova(fit, 3).table
    np.testing.assert_allclose(two["Chisq"], three.loc[two.index, "Chisq"], rtol=1e-10)


def test_term_of_a_column(glmers):
    xspec = glmers["sal"].design.xspec
    assert xspec.term_of("(Intercept)") == "(Intercept)" and xspec.term_of("minedyes") == "mined"
    assert xspec.term_of("sppDM:minedyes") == "spp:mined"
    with pytest.raises(KeyError, match="'nope' is not a column"):
        xspec.term_of("nope")


def test_relatives_and_scope():
    terms = ["(Intercept)", "a", "b", "x", "a:b", "a:x"]
    assert relatives("a", terms) == ["a:b", "a:x"]
    assert relatives("a:b", terms) == [] and relatives("(Intercept)", terms) == []
    assert droppable(terms) == ["a:b", "a:x"]
    assert droppable(["(Intercept)", "a", "b", "a:b", "x"]) == ["a:b", "x"]


def test_wald_anova_refuses_other_fits_and_types(sal, glmers):
    with pytest.raises(TypeError, match="mm.glmer or mm.glm"):
        mm.wald_anova(mm.lm("cover ~ spp", sal))
    with pytest.raises(ValueError, match="type must be 2 or 3"):
        mm.wald_anova(glmers["cbpp"], type=1)
    with pytest.raises(ValueError, match="at least two.*fit.anova"):
        mm.anova(mm.lmer("cover ~ spp + (1 | site)", sal))
    with pytest.raises(ValueError, match="type= is for"):
        mm.anova(glmers["sal"], glmers["sal"], type=2)


# ------------------------------------------------------------------ drop1
@pytest.mark.parametrize(
    ("formula", "family", "key"),
    [
        (SAL, "poisson", "glm_drop1"),
        ("count ~ spp + mined + cover", "poisson", "glm_main_drop1"),
        ("count + 1 ~ spp + mined + cover", "Gamma", "glm_gamma_drop1"),
        ("count ~ spp + mined", "quasipoisson", "glm_quasi_drop1"),
    ],
)
def test_glm_drop1_is_rs(sal, formula, family, key):
    fit = mm.glm(formula, sal, family=family, link="log")
    result = mm.drop1(fit)
    _check(result.table, key, rtol=1e-7)
    _printed(result, key)


def test_glm_drop1_binomial(cbpp):
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    result = mm.drop1(fit)
    _check(result.table, "glm_cbpp_drop1", rtol=1e-7)
    _printed(result, "glm_cbpp_drop1")
    assert "Single term deletions" in result._repr_html_()


@pytest.mark.parametrize(("model", "key"), [("cbpp", "cbpp_drop1"), ("sal", "sal_drop1")])
def test_glmer_drop1_is_lme4s(glmers, model, key):
    """lme4's drop1 refits without each droppable term; our refits agree to their optima."""
    result = mm.drop1(glmers[model])
    _check(result.table, key, rtol=2e-3)
    _printed(result, key)


def test_drop1_of_an_intercept_only_model(cbpp):
    fit = mm.glm("cbind(incidence, size - incidence) ~ 1", cbpp, family="binomial")
    with pytest.raises(ValueError, match="no term to drop"):
        mm.drop1(fit)


MORE = json.loads((HERE / "reference" / "wald_anova" / "drop1_more.json").read_text())


def _check_more(table: pd.DataFrame, key: str, rtol: float) -> None:
    ref = MORE[key]
    assert list(table.index) == ref["terms"] and list(table.columns) == ref["columns"]
    for name in ref["columns"]:
        want = np.array([np.nan if v is None else v for v in ref["values"][name]], dtype=float)
        np.testing.assert_allclose(
            table[name].to_numpy(dtype=float, na_value=np.nan), want, rtol=rtol, err_msg=name
        )


def test_glmer_drop1_refits_on_the_fits_rows(sal):
    """Missing values in a dropped variable: lme4 stops ("number of rows in use has changed");
    the refits here use the fit's rows, which is R's drop1 on the data without those rows."""
    assert "number of rows in use has changed" in MORE["na_error"][0]
    na = sal.copy()
    na.loc[[0, 5, 9, 40], "cover"] = np.nan
    fit = mm.glmer("count ~ mined + cover + (1 | site)", na, family="poisson")
    assert fit.nobs == 640
    _check_more(mm.drop1(fit).table, "na_drop1", rtol=1e-3)
    dup = na.set_axis([0] * len(na))  # rows cannot be picked by label: refused, not refitted on more rows
    with pytest.raises(ValueError, match="duplicate labels"):
        mm.drop1(mm.glmer("count ~ mined + cover + (1 | site)", dup, family="poisson"))


def test_glmer_nb_drop1_holds_the_size(sal):
    """lme4's update of a glmer.nb fit is a glmer at the fit's size: drop1's refits hold it (R's
    drop1 of the glmer at our size), unlike GlmerNbFit.update, which estimates it again."""
    nb = mm.glmer_nb("count ~ mined + cover + (1 | site)", sal)
    table = mm.drop1(nb).table
    _check_more(table, "nb_drop1", rtol=1e-3)  # R's glmer optimum at the size
    held = nb.update_formula("count ~ mined + cover + (1 | site) - cover")
    assert held.family.parameter == nb.theta_nb
    assert table.loc["cover", "AIC"] == held.aic
    assert nb.update("count ~ mined + (1 | site)").family.parameter != nb.theta_nb


def test_gaussian_glm_drop1_is_rs(sal):
    """The Gaussian family's criterion is n log(deviance / n) (Family.drop1_criterion)."""
    result = mm.drop1(mm.glm("cover ~ spp + mined + DOY", sal, family="gaussian"))
    _check_more(result.table, "gaussian_drop1", rtol=1e-7)
    assert str(result).split("\n") == MORE["gaussian_drop1"]["printed"]
