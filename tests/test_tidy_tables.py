"""mm.tidy, mm.glance and mm.augment against broom.mixed 0.2.9 and broom (references made by
tests/reference/checks/make_tidy_reference.R; the four diagnostics cases by issue 31's
make_turn3.R), and GlmerFit.coef_table."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets

REF = Path(__file__).parent / "reference" / "checks"
DATA = Path(__file__).parent / "data"
SLEEP = "Reaction ~ Days + (Days | Subject)"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def ref(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


@cache
def fits():
    warnings.simplefilter("ignore")
    ss, cb, sal = (datasets.load(n) for n in ("sleepstudy", "cbpp", "salamanders"))
    return {
        "lmer": mm.lmer(SLEEP, ss),
        "lmer_ml": mm.lmer(SLEEP, ss, reml=False),
        "glmer": mm.glmer(CBPP, cb, family="binomial"),
        "glmer_nb": mm.glmer_nb("count ~ mined + (1 | site)", sal),
        "zip": mm.glmer("count ~ mined + (1 | site)", sal, family="poisson", ziformula="~mined"),
        "nb2": mm.glmer("count ~ mined + (1 | site)", sal, family="nbinom2"),
        "lm": mm.lm("Reaction ~ Days", ss),
        "glm": mm.glm("cbind(incidence, size - incidence) ~ period", cb, family="binomial"),
    }


def same_table(ours: pd.DataFrame, want, rtol: float, atol: float = 0.0, columns: bool = True) -> None:
    """Same columns in the same order (``columns``), same strings, numbers within tolerance."""
    want = pd.DataFrame(want)
    if columns:
        assert list(ours.columns) == list(want.columns)
    assert len(ours) == len(want)
    for col in want.columns:
        got, exp = ours[col].to_list(), want[col].to_list()
        if all(isinstance(v, (int, float)) or v is None for v in exp):
            exp_a = np.array([np.nan if v is None else v for v in exp], dtype=float)
            np.testing.assert_allclose(np.asarray(got, dtype=float), exp_a, rtol=rtol, atol=atol, err_msg=col)
        else:
            assert _strings(got) == _strings(exp), col


def _strings(values) -> list[str | None]:
    return [None if v is None or v != v else str(v) for v in values]


# ------------------------------------------------------------------------------------ lmer
def test_lmer_tidy_as_an_lme4_fit():
    r = ref("tidy_sleepstudy_lme4")
    same_table(mm.tidy(fits()["lmer"], ddf=None), r["tidy"], rtol=1e-4)
    same_table(mm.tidy(fits()["lmer"], ddf=None, conf_int=True, conf_level=0.9), r["tidy_conf"], rtol=1e-4)


def test_lmer_tidy_with_satterthwaite_df_as_an_lmertest_fit():
    r = ref("tidy_sleepstudy_lmertest")
    table = mm.tidy(fits()["lmer"])
    same_table(table, r["tidy"], rtol=1e-3)  # p-values of 1e-17: rtol 6e-4
    assert table["term"].to_list()[2:] == [
        "sd__(Intercept)",
        "cor__(Intercept).Days",
        "sd__Days",
        "sd__Observation",
    ]
    # effects="fixed" alone: no group column; the interval uses t with the Satterthwaite df
    same_table(mm.tidy(fits()["lmer"], effects="fixed", conf_int=True), r["tidy_conf"], rtol=1e-3)


def test_lmer_ran_vals():
    same_table(
        mm.tidy(fits()["lmer"], "ran_vals", conf_int=True),
        ref("tidy_sleepstudy_lme4")["ran_vals"],
        1e-3,
        1e-3,
    )


def test_lmer_glance_reml_and_ml():
    same_table(mm.glance(fits()["lmer"]), ref("tidy_sleepstudy_lme4")["glance"], rtol=1e-5)
    same_table(mm.glance(fits()["lmer_ml"]), ref("tidy_sleepstudy_ml")["glance"], rtol=1e-5)


def test_lmer_augment_hat_and_cooks_distance():
    r = ref("tidy_sleepstudy_lme4")
    table = mm.augment(fits()["lmer"])
    assert list(table.columns) == r["augment_columns"]
    same_table(table[list(r["augment"])], r["augment"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(table[".hat"], r["augment"][".hat"], rtol=1e-4)


def test_lmer_profile_intervals():
    table = mm.tidy(fits()["lmer"], conf_int=True, conf_method="profile", progress=False)
    # lme4's confint(profile) (broom.mixed's conf.method = "profile") for sleepstudy
    low = [237.680696, 7.358653, 14.381473, -0.481501, 3.801164, 22.898267]
    np.testing.assert_allclose(table["conf.low"], low, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------- glmer
def test_glmer_tidy_glance_augment():
    r = ref("tidy_cbpp_glmer")
    fit = fits()["glmer"]
    same_table(mm.tidy(fit, conf_int=True), r["tidy_conf"], rtol=2e-3, atol=1e-4)
    ours = mm.tidy(fit, "ran_vals", conf_int=True).sort_values("level").reset_index(drop=True)
    want = pd.DataFrame(r["ran_vals"]).sort_values("level").reset_index(drop=True)
    same_table(ours, want, rtol=5e-3, atol=2e-3)
    same_table(mm.glance(fit), r["glance"], rtol=1e-4)
    table = mm.augment(fit)
    assert [c for c in r["augment_columns"] if c.startswith(".") and c not in (".hat", ".cooksd")] == [
        c for c in table.columns if c.startswith(".")
    ]
    assert list(table.columns[:4]) == ["incidence", "size", "period", "herd"]
    want = {k: v for k, v in r["augment"].items() if k not in (".hat", ".cooksd")}
    same_table(table[list(want)], want, rtol=5e-3, atol=5e-3)


def test_glmer_nb_tidy_and_glance():
    r = ref("tidy_salamanders_glmer_nb")
    same_table(mm.tidy(fits()["glmer_nb"]), r["tidy"], rtol=1e-3, atol=1e-5)
    same_table(mm.glance(fits()["glmer_nb"]), r["glance"], rtol=1e-4)


def test_glmmtmb_fit_has_component_and_zero_inflation_rows():
    r = ref("tidy_salamanders_zipoisson")
    fit = fits()["zip"]
    table = mm.tidy(fit, conf_int=True)
    same_table(table, r["tidy_conf"], rtol=1e-5, atol=1e-8)
    assert table["component"].to_list() == ["cond", "cond", "zi", "zi", "cond"]
    same_table(mm.tidy(fit, "ran_vals"), r["ran_vals"], rtol=1e-4, atol=1e-6)
    same_table(mm.glance(fit), r["glance"], rtol=1e-6)


def test_glmmtmb_nb2_random_effect_interval_and_sigma():
    r = ref("tidy_salamanders_nb2")
    same_table(mm.tidy(fits()["nb2"], conf_int=True), r["tidy_conf"], rtol=1e-5, atol=1e-8)
    same_table(mm.glance(fits()["nb2"]), r["glance"], rtol=1e-6)


def test_glmmtmb_gaussian_has_residual_row_and_glmmtmb_order():
    # glmmTMB's order within a group: the standard deviations, then the correlations; its
    # Gaussian's sigma() as sd__Observation. (The fit reaches glmmTMB's optimum through the
    # restart from a singular one, logLik -889.9 against -876.4: tests/test_laplace_ml.py.)
    r = ref("tidy_sleepstudy_tmb_gaussian_log")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(SLEEP, datasets.load("sleepstudy"), family="gaussian", link="log")
    table = mm.tidy(fit)
    want = pd.DataFrame(r["tidy"])
    assert list(table.columns) == list(want.columns)
    assert _strings(table["group"]) == _strings(want["group"])
    assert table["term"].to_list() == want["term"].to_list()
    assert table["estimate"].iloc[-1] == pytest.approx(mm.glance(fit)["sigma"].iloc[0])
    assert list(mm.glance(fit).columns) == list(r["glance"])
    same_table(table, r["tidy"], rtol=2e-4, atol=1e-8)
    same_table(mm.glance(fit), r["glance"], rtol=1e-6)


@pytest.mark.parametrize(
    "case", ["cbpp_binomial", "grouseticks_poisson", "salamanders_nb2", "sleepstudy_slopes"]
)
def test_issue_31_diagnostics_references(case):
    r = ref(case)
    if case == "grouseticks_poisson":
        data = pd.read_csv(DATA / r["data"])
        for col in r["factors"]:
            data[col] = data[col].astype(str)
    else:
        data = datasets.load(r["data"].removesuffix(".csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if r["kind"] == "lmer":
            fit = mm.lmer(r["formula"], data)
        else:
            fit = mm.glmer(r["formula"], data, family=r["family"])
    fixed = mm.tidy(fit, effects="fixed")
    want = pd.DataFrame(r["tidy_fixed"])
    assert fixed["term"].to_list() == want["term"].to_list()
    np.testing.assert_allclose(fixed["estimate"], want["estimate"], rtol=1e-3)
    np.testing.assert_allclose(fixed["std.error"], want["std.error"], rtol=1e-3)
    pars = mm.tidy(fit, effects="ran_pars")
    want = pd.DataFrame(r["tidy_ran_pars"])
    assert pars[["group", "term"]].values.tolist() == want[["group", "term"]].values.tolist()
    np.testing.assert_allclose(pars["estimate"], want["estimate"], rtol=2e-3)
    glance = mm.glance(fit).iloc[0]
    for key, value in r["glance"][0].items():
        assert glance[key] == pytest.approx(value, rel=1e-4), key


# ---------------------------------------------------------------------------------- lm, glm
def test_lm_tables_as_broom():
    r = ref("tidy_sleepstudy_lm")
    same_table(mm.tidy(fits()["lm"], conf_int=True), r["tidy_conf"], rtol=1e-10)
    same_table(mm.glance(fits()["lm"]), r["glance"], rtol=1e-10)
    table = mm.augment(fits()["lm"])
    assert list(table.columns) == r["augment_columns"]
    same_table(table[list(r["augment"])], r["augment"], rtol=1e-9, columns=False)


def test_glm_tables_as_broom():
    r = ref("tidy_cbpp_glm")
    same_table(mm.tidy(fits()["glm"], conf_int=True), r["tidy_conf"], rtol=1e-6)
    same_table(mm.glance(fits()["glm"]), r["glance"], rtol=1e-10)
    r = ref("tidy_cbpp_glm_augment")
    table = mm.augment(fits()["glm"])
    assert [c for c in table.columns if c.startswith(".")] == [
        c for c in r["augment_columns"] if c.startswith(".")
    ]
    same_table(table[list(r["augment"])], r["augment"], rtol=1e-9, atol=1e-12, columns=False)


# ---------------------------------------------------------------------------- one table
def test_many_fits_concatenate_into_one_table():
    names = ["lmer", "glmer", "glmer_nb", "zip", "lm", "glm"]
    tables = [mm.tidy(fits()[n]) for n in names]
    both = pd.concat(tables, keys=names, names=["model", "row"]).reset_index(level=0)
    assert len(both) == sum(len(t) for t in tables)
    assert {"effect", "component", "group", "term", "estimate", "std.error", "p.value"} <= set(both.columns)
    assert both.loc[both["model"] == "lm", "effect"].isna().all()
    glances = pd.concat([mm.glance(fits()[n]) for n in names], ignore_index=True)
    assert glances["nobs"].to_list() == [180, 56, 644, 644, 180, 56]


def test_effects_order_and_errors():
    fit = fits()["lmer"]
    table = mm.tidy(fit, effects=["ran_vals", "fixed"])
    assert table["effect"].unique().tolist() == ["fixed", "ran_vals"]
    with pytest.raises(ValueError, match="effects must be"):
        mm.tidy(fit, effects="random")
    with pytest.raises(ValueError, match="conf_method"):
        mm.tidy(fit, conf_int=True, conf_method="exact")
    with pytest.raises(ValueError, match="conf_level"):
        mm.tidy(fit, conf_level=95)
    with pytest.raises(TypeError, match="not dict"):
        mm.glance({})


def test_glmer_coef_table_and_html():
    fit = fits()["glmer"]
    table = fit.coef_table()
    assert list(table.columns) == ["Estimate", "Std. Error", "z value", "Pr(>|z|)"]
    np.testing.assert_allclose(table["z value"], fit.fixef / fit.se)
    want = pd.DataFrame(ref("cbpp_binomial")["tidy_fixed"])
    np.testing.assert_allclose(table["Pr(>|z|)"], want["p.value"], rtol=5e-3)
    html = fit._repr_html_()
    assert html.count("<table") >= 2 and "period2" in html


@pytest.mark.parametrize("kind", ["lmer", "glmer", "lm", "glm"])
def test_augment_keeps_the_datas_index_for_a_join(kind):
    """On shuffled data with a dropped row, data.join(augment(fit)) pairs each row with its own
    values (augment once numbered its rows 0..n-1, and the join paired rows wrongly)."""
    warnings.simplefilter("ignore")
    if kind in ("lmer", "lm"):
        data, formula = datasets.load("sleepstudy"), SLEEP if kind == "lmer" else "Reaction ~ Days"
        response = "Reaction"
    else:
        data, formula = datasets.load("cbpp"), CBPP if kind == "glmer" else CBPP.replace(" + (1 | herd)", "")
        response = "incidence"
    shuffled = data.sample(frac=1.0, random_state=3)
    shuffled.iloc[5, shuffled.columns.get_loc(response)] = np.nan
    if kind in ("lmer", "lm"):
        fit = (mm.lmer if kind == "lmer" else mm.lm)(formula, shuffled)
    else:
        fit = (mm.glmer if kind == "glmer" else mm.glm)(formula, shuffled, family="binomial")
    table = mm.augment(fit)
    fitted = fit.fitted() if callable(fit.fitted) else fit.fitted
    assert table.index.equals(fitted.index)
    assert not table.index.equals(pd.RangeIndex(len(table)))
    joined = shuffled.join(table[[".fitted", ".resid"]]).dropna(subset=[response])
    assert len(joined) == len(shuffled) - 1
    np.testing.assert_array_equal(joined[".resid"], table.loc[joined.index, ".resid"])
    pd.testing.assert_series_equal(table[response], shuffled[response].dropna(), check_names=False)
    assert np.isnan(shuffled.join(table[[".fitted"]]).iloc[5][".fitted"])


def test_tidy_refuses_a_misspelled_keyword():
    for fit in (fits()["lmer"], fits()["lm"], fits()["glm"]):
        with pytest.raises(TypeError, match=r"'confint'; did you mean conf_int="):
            mm.tidy(fit, confint=True)
        with pytest.raises(TypeError, match=r"'conf_ints'; did you mean conf_int="):
            mm.tidy(fit, conf_ints=True)
    with pytest.raises(TypeError, match=r"'conf.level'; did you mean conf_level="):
        mm.tidy(fits()["glmer"], **{"conf.level": 0.9})
    # the fit's confint's own keywords still pass: refused only because Wald takes none
    with pytest.raises(ValueError, match="Wald intervals take none"):
        mm.tidy(fits()["lmer"], conf_int=True, nsim=10)
