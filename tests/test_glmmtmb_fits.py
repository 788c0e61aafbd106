"""What a user does with a glmer fit, for fits glmmTMB's way (``family="nbinom2"``, ``laplace=
"observed"``): the summary in glmmTMB's layout, predictions, residuals, simulation, anova, Wald
intervals with the SDs and sigma, emmeans, conditional SDs of the random effects, the CLI and
``to_dict``, against glmmTMB 1.1.5 (tests/reference/families/make_glmmtmb_downstream.R wrote
glmmtmb_downstream.json and tests/reference/summaries/glmmtmb_summaries.json; the shared
references salamanders_nb2.json and grouseticks_nb2.json hold glmmTMB's fits)."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.app.cli import main
from mixedmodels.families import NegativeBinomial

HERE = Path(__file__).parent
REF = HERE / "reference"
DOWN = json.loads((REF / "families" / "glmmtmb_downstream.json").read_text())
PRINTED = json.loads((REF / "summaries" / "glmmtmb_summaries.json").read_text())
SAL = json.loads((REF / "families" / "salamanders_nb2.json").read_text())
GROUSE = json.loads((REF / "families" / "grouseticks_nb2.json").read_text())
SAL_FORMULA = "count ~ spp * mined + (1 | site)"
GROUSE_FORMULA = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"


@pytest.fixture(scope="module")
def sal():
    return pd.read_csv(HERE / "data" / "salamanders.csv")


@pytest.fixture(scope="module")
def grouse():
    data = pd.read_csv(HERE / "data" / "grouseticks_nb.csv")
    for name in ("INDEX", "BROOD", "YEAR", "LOCATION"):
        data[name] = data[name].astype(str)
    return data


@pytest.fixture(scope="module")
def nb2(sal):
    return mm.glmer(SAL_FORMULA, sal, family="nbinom2")


@pytest.fixture(scope="module")
def poisson_observed(sal):
    return mm.glmer(SAL_FORMULA, sal, family="poisson", laplace="observed")


@pytest.fixture(scope="module")
def grouse_nb2(grouse):
    return mm.glmer(GROUSE_FORMULA, grouse, family="nbinom2")


@pytest.fixture(scope="module")
def cbpp_observed():
    data = pd.read_csv(HERE / "data" / "cbpp.csv", dtype={"herd": str, "period": str})
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    return mm.glmer(formula, data, family="binomial", laplace="observed")


@pytest.fixture(scope="module")
def grouse_slope(grouse):
    """A term with two columns: a correlation."""
    return mm.glmer("TICKS ~ YEAR + cHEIGHT + (1 + cHEIGHT | LOCATION)", grouse, family="nbinom2")


# ------------------------------------------------------------------ the summary
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]\d+)?")


def _same_printout(ours: str, theirs: list[str]) -> None:
    """Line by line: the same text and layout, each number as R printed it or within one unit of
    its last printed digit or 5e-4 relative (our optimum is glmmTMB's to about 1e-5; it stops
    short of its own)."""
    lines = ours.split("\n")
    assert len(lines) == len(theirs), "\n".join(lines)
    for mine, want in zip(lines, theirs):
        assert len(mine) == len(want) and NUMBER.sub("#", mine) == NUMBER.sub("#", want), (mine, want)
        for a, b in zip(NUMBER.findall(mine), NUMBER.findall(want)):
            unit = 10.0 ** -len(b.split("e")[0].split(".")[1]) if "." in b else 1.0
            unit *= 10.0 ** int(b.split("e")[1]) if "e" in b else 1.0
            assert abs(float(a) - float(b)) <= unit * 1.01 + 5e-4 * abs(float(b)), (mine, want)


@pytest.mark.parametrize(
    "case",
    ["salamanders_nb2", "salamanders_poisson", "grouseticks_nb2", "grouseticks_slope_nb2", "cbpp_binomial"],
)
def test_summary_is_glmmtmbs(case, nb2, poisson_observed, grouse_nb2, grouse_slope, cbpp_observed):
    fits = {"salamanders_nb2": nb2, "salamanders_poisson": poisson_observed, "grouseticks_nb2": grouse_nb2}
    fit = {**fits, "grouseticks_slope_nb2": grouse_slope, "cbpp_binomial": cbpp_observed}[case]
    printed = PRINTED[case]["printed"]
    _same_printout(fit.summary(), printed)
    assert fit.summary().split("\n")[:3] == printed[:3]  # Family, Formula, Data exactly


def test_lme4_fits_keep_lme4s_layout(sal):
    fit = mm.glmer(SAL_FORMULA, sal, family="poisson")
    assert not fit.glmmtmb_style and fit.summary().startswith("Generalized linear mixed model fit")


def test_html_summary_has_glmmtmbs_parts(nb2, sal):
    page = nb2._repr_html_()
    assert "Conditional model" in page and "Dispersion parameter for nbinom2 family (): 1" in page
    assert "Fixed effects" not in page and "<pre" not in page
    assert "Fixed effects" in mm.glmer(SAL_FORMULA, sal, family="poisson")._repr_html_()


class _ClassicDispersion(NegativeBinomial):
    sigma_squared_shown = True


def test_dispersion_line_per_family(nb2):
    """glmmTMB's two wordings: sigma, or sigma^2 for its classic dispersion families."""
    assert "\nDispersion parameter for nbinom2 family ():    1 \n" in nb2.summary()
    other = dataclasses.replace(nb2, family=_ClassicDispersion(2.0, estimate=True))
    assert "\nDispersion estimate for nbinom2 family (sigma^2):    4 \n" in other.summary()


# ------------------------------------------------------------------ predictions and residuals
@pytest.mark.parametrize("case", ["salamanders", "grouseticks"])
def test_fitted_and_predict_are_glmmtmbs(case, nb2, grouse_nb2):
    fit, want = (nb2, SAL) if case == "salamanders" else (grouse_nb2, GROUSE)
    rtol = 2e-4
    np.testing.assert_allclose(fit.fitted.to_numpy()[:10], want["fitted_head"], rtol=rtol)
    np.testing.assert_allclose(
        fit.predict(type="response").to_numpy()[:10], want["predict_response_head"], rtol=rtol
    )
    np.testing.assert_allclose(
        fit.predict(type="link").to_numpy()[:10], want["predict_cond_link_head"], atol=rtol
    )
    population = fit.predict(type="response", re_form="NA").to_numpy()[:10]
    np.testing.assert_allclose(population, want["predict_population_response_head"], rtol=rtol)
    quantiles = np.quantile(fit.resid("pearson").to_numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(quantiles, want["resid_pearson_quantiles"], rtol=rtol, atol=1e-5)


def test_predict_newdata(nb2, sal):
    want = DOWN["predict_newdata_salamanders_nb2"]
    rows = sal.iloc[np.array(want["rows"]) - 1]
    np.testing.assert_allclose(nb2.predict(rows).to_numpy(), want["link"], atol=1e-4)
    np.testing.assert_allclose(nb2.predict(rows, type="response").to_numpy(), want["response"], rtol=1e-4)
    np.testing.assert_allclose(nb2.predict(rows, re_form="NA").to_numpy(), want["population_link"], atol=1e-4)


def test_residuals_are_glmmtmbs(nb2):
    want = DOWN["resid_salamanders_nb2"]
    np.testing.assert_allclose(nb2.resid().to_numpy()[:10], want["response_head"], atol=1e-5)  # its default
    for kind in ("response", "pearson", "working"):
        np.testing.assert_allclose(nb2.resid(kind).to_numpy()[:10], want[f"{kind}_head"], atol=1e-5)
    # glmmTMB 1.1.5 has no deviance residuals; ours are the negative binomial's (lme4's, later glmmTMB's)
    assert "should be one of" in want["deviance"]
    y, mu = nb2.model.y, nb2.mu
    dev = NegativeBinomial(nb2.sigma).dev_resids(y, mu, np.ones_like(y))
    np.testing.assert_allclose(nb2.resid("deviance").to_numpy(), np.sign(y - mu) * np.sqrt(dev), rtol=1e-12)


class _NoUnitDeviance(NegativeBinomial):
    unit_deviance = False

    def response_mean(self, mu):
        return 2.0 * np.asarray(mu)


def test_residuals_ask_the_family(nb2):
    """No deviance residuals without a unit deviance; the response's mean from the family."""
    fam = _NoUnitDeviance(nb2.sigma, estimate=True)
    other = dataclasses.replace(nb2, family=fam, model=nb2.model.with_family(fam))
    with pytest.raises(ValueError, match="has no unit deviance"):
        other.resid("deviance")
    np.testing.assert_allclose(other.fitted.to_numpy(), 2 * nb2.mu)
    np.testing.assert_allclose(other.resid("response").to_numpy(), nb2.model.y - 2 * nb2.mu)
    np.testing.assert_allclose(other.predict(type="response").to_numpy(), 2 * nb2.mu, rtol=1e-10)
    assert NegativeBinomial(2.0).response_mean(np.array([1.5]))[0] == 1.5  # the base: mu itself


def test_simulate(nb2):
    a, b = nb2.simulate(3, seed=5), nb2.simulate(3, seed=5)
    assert a.shape == (nb2.nobs, 3) and a.equals(b) and (a.to_numpy() >= 0).all()
    draws = nb2.simulate(4000, seed=1, use_u=True).to_numpy()
    big = nb2.mu > 2
    np.testing.assert_allclose(draws[big].mean(axis=1), nb2.mu[big], rtol=0.15)
    # the negative binomial's variance mu + mu^2 / theta, not the Poisson's
    ratio = draws[big].var(axis=1).sum() / nb2.family.variance(nb2.mu[big]).sum()
    assert ratio == pytest.approx(1.0, abs=0.05)
    fresh = nb2.simulate(2000, seed=2).to_numpy()  # new random effects: more spread again
    assert fresh[big].var(axis=1).sum() > 1.2 * draws[big].var(axis=1).sum()


# ------------------------------------------------------------------ inference
@pytest.mark.parametrize("case", ["poisson", "additive"])
def test_anova_is_glmmtmbs(case, sal, nb2, poisson_observed):
    want = DOWN[f"anova_{case}_nb2"]
    if case == "poisson":
        small = mm.glmer(SAL_FORMULA, sal, family="poisson")  # lme4's Poisson fit: the same likelihood
    else:
        small = mm.glmer("count ~ spp + mined + (1 | site)", sal, family="nbinom2")
    table = mm.anova(small, nb2, names=["small", "nb2"]).table
    assert table["npar"].tolist() == want["Df"]
    np.testing.assert_allclose(table["logLik"], want["logLik"], rtol=1e-7)
    np.testing.assert_allclose(table["AIC"], want["AIC"], rtol=1e-7)
    assert table["Df"].iloc[1] == want["ChiDf"][1]
    assert table["Chisq"].iloc[1] == pytest.approx(want["Chisq"][1], rel=1e-5)
    assert table["Pr(>Chisq)"].iloc[1] == pytest.approx(want["p"][1], rel=1e-3)
    if case == "poisson":
        assert mm.anova(poisson_observed, nb2).table["Chisq"].iloc[1] == pytest.approx(
            want["Chisq"][1], rel=1e-5
        )


def test_anova_of_different_responses_refused(sal, nb2):
    other = sal.assign(count=sal["count"] + 1)
    with pytest.raises(ValueError, match="different responses"):
        mm.anova(mm.glmer(SAL_FORMULA, other, family="poisson"), nb2)


@pytest.mark.parametrize(
    "case",
    ["salamanders_nb2", "grouseticks_nb2", "grouseticks_slope_nb2", "salamanders_poisson", "cbpp_binomial"],
)
def test_wald_confint_is_glmmtmbs(case, nb2, grouse_nb2, grouse_slope, poisson_observed, cbpp_observed):
    """Rows and values of glmmTMB's ``confint(fit, full = TRUE)``: SDs (and a two-column term's
    correlation) by the delta method over theta, sigma from log phi."""
    fits = {"salamanders_nb2": nb2, "grouseticks_nb2": grouse_nb2, "salamanders_poisson": poisson_observed}
    fit = {**fits, "grouseticks_slope_nb2": grouse_slope, "cbpp_binomial": cbpp_observed}[case]
    want = DOWN[f"confint_full_{case}" if "nb2" in case else f"confint_{case}"]
    names = [n.removeprefix("cond.") for n in want["names"]]
    ours = fit.confint(method="wald")
    assert sorted(ours.index) == sorted(names)
    assert [n for n in ours.index if "|" in n] == [n for n in names if "|" in n]  # glmmTMB's order
    ours = ours.loc[names]
    assert list(ours.columns) == ["2.5 %", "97.5 %", "Estimate"]
    np.testing.assert_allclose(ours["2.5 %"], want["lower"], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours["97.5 %"], want["upper"], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours["Estimate"], want["estimate"], rtol=2e-4, atol=2e-5)
    assert fit.confint(method="Wald", parm=[names[1]]).shape == (1, 3)


def test_lme4_fits_keep_lme4s_wald_rows(sal):
    ci = mm.glmer(SAL_FORMULA, sal, family="poisson").confint(method="wald")
    assert ci.index[0] == "sd_(Intercept)|site" and ci.iloc[0].isna().all() and ci.shape[1] == 2


def test_emmeans_on_the_response_scale(nb2):
    want = DOWN["emmeans_spp"]
    em = mm.emmeans(nb2, "spp", type="response")
    table = em.table
    assert table["spp"].astype(str).tolist() == want["spp"]
    np.testing.assert_allclose(table["response"], want["response"], rtol=2e-4)
    np.testing.assert_allclose(table["SE"], want["SE"], rtol=2e-4)
    np.testing.assert_allclose(table["df"], want["df"])
    np.testing.assert_allclose(table["lower.CL"], want["lower"], rtol=2e-4)
    np.testing.assert_allclose(table["upper.CL"], want["upper"], rtol=2e-4)
    assert str(em).split("\n") == want["printed"]
    assert str(mm.emmeans(nb2, "spp")).split("\n") == want["printed_link"]
    by = mm.emmeans(nb2, "mined", by="spp", type="response").table
    ref = DOWN["emmeans_mined_by_spp"]
    np.testing.assert_allclose(by["response"], ref["response"], rtol=2e-4)
    np.testing.assert_allclose(by["SE"], ref["SE"], rtol=2e-4)


def test_emmeans_of_an_lme4_fit_are_asymptotic(sal):
    em = mm.emmeans(mm.glmer(SAL_FORMULA, sal, family="poisson"), "spp", type="response")
    assert np.isinf(em.table["df"]).all() and "asymp.LCL" in em.table.columns
    with pytest.raises(ValueError, match="type must be"):
        mm.emmeans(mm.glmer(SAL_FORMULA, sal, family="poisson"), "spp", type="probability")


@pytest.mark.parametrize("case", ["salamanders", "grouseticks"])
def test_conditional_sds_are_glmmtmbs(case, nb2, grouse_nb2):
    """glmmTMB's (TMB's) conditional variances add the modes' uncertainty from the estimates."""
    if case == "salamanders":
        want = DOWN["ranef_salamanders_nb2"]
        ours = nb2.ranef(condvar=True).set_index("grp").loc[want["grp"]]
        np.testing.assert_allclose(ours["condsd"], want["condsd"], atol=5e-4)
        np.testing.assert_allclose(ours["condval"], want["condval"], atol=1e-4)
        return
    table = grouse_nb2.ranef(condvar=True)
    for group, sds in DOWN["ranef_condsd_grouseticks_nb2"].items():
        part = table[table["grpvar"] == group]
        part = part.iloc[np.argsort(part["grp"].astype(int).to_numpy())]  # R's levels: numeric order
        np.testing.assert_allclose(part["condsd"], sds, atol=5e-4)


# ------------------------------------------------------------------ CLI and to_dict
def test_cli_fits_nbinom2(capsys):
    path = str(HERE / "data" / "salamanders.csv")
    assert main(["fit", path, SAL_FORMULA, "--family", "nbinom2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(" Family: nbinom2  ( log )") and "Dispersion parameter for nbinom2" in out
    assert main(["fit", path, SAL_FORMULA, "--family", "nbinom2", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["parameter"]["name"] == "theta" and d["sigma"] == pytest.approx(SAL["sigma"], rel=1e-3)
    assert main(["fit", path, SAL_FORMULA, "--family", "poisson", "--laplace", "observed"]) == 0
    assert "Conditional model:" in capsys.readouterr().out
    assert main(["fit", path, SAL_FORMULA, "--laplace", "observed"]) == 2


def test_to_dict(nb2, poisson_observed):
    d = nb2.to_dict()
    assert d["family"] == "nbinom2" and d["laplace"] == "observed"
    assert d["parameter"]["estimate"] == nb2.family.parameter
    # the size's SE by the delta method from log theta's (glmmTMB's disp SE)
    assert d["parameter"]["se"] == pytest.approx(
        nb2.family.parameter * d["disp"]["se"]["(Intercept)"], rel=1e-12
    )
    assert d["disp"]["fixef"]["(Intercept)"] == pytest.approx(SAL["disp"]["estimate"][0], abs=1e-4)
    assert d["df_residual"] == 628 and json.dumps(d)
    p = poisson_observed.to_dict()
    assert p["sigma"] == 1.0 and "parameter" not in p


def test_convergence_check_names_the_family_parameter(nb2):
    check = nb2.check_convergence()
    assert check.names[-1] == "log(theta)"
    assert len(check.names) == nb2.ntheta + len(nb2.fixef_names) + 1
    assert "log(theta)" in str(check)


def test_lme4_html_summary_keeps_lme4s_correlation_columns(grouse, grouse_slope):
    """glmmTMB's extra empty correlation column is its layout's only, not lme4's."""
    from mixedmodels.report.lmm import random_effects_cells
    from mixedmodels.report.rformat import html_table

    with warnings.catch_warnings():  # a near-singular fit, as lme4's
        warnings.simplefilter("ignore")
        fit = mm.glmer("TICKS ~ YEAR + cHEIGHT + (1 + cHEIGHT | LOCATION)", grouse, family="poisson")
    header, rows = random_effects_cells(fit)
    assert "Corr" in header and html_table(rows, header) in fit._repr_html_()
    header, rows = random_effects_cells(grouse_slope)
    assert html_table([[*r, ""] for r in rows], [*header, ""]) in grouse_slope._repr_html_()
