"""Kenward-Roger inference against pbkrtest 0.5.2 / lmerTest 3.1-3.

References: tests/reference/extra/cake_kr_emmeans.json and sleepstudy_kr.json (the project's
shared cases) and kr_cases.json (made by tests/reference/extra/make_kr_reference.R: crossed,
nested and vector random effects on unbalanced data, and F tests of multi-row L).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kr_dense import dense_kenward_roger

import mixedmodels as mm
from mixedmodels import datasets

HERE = Path(__file__).parent
EXTRA = HERE / "reference" / "extra"
RTOL = 1e-4


def read_case(name: str) -> dict:
    ref = json.loads((EXTRA / f"{name}.json").read_text())
    return {k: ast.literal_eval(v) if isinstance(v, str) and v.startswith("{") else v for k, v in ref.items()}


KR_CASES = {k: v for k, v in json.loads((EXTRA / "kr_cases.json").read_text()).items() if k != "versions"}


def case_data(file: str) -> pd.DataFrame:
    path = HERE / "data" / file
    return pd.read_csv(path) if path.exists() else datasets.load(file.removesuffix(".csv"))


def vector(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


@pytest.fixture(scope="module")
def kr_fits():
    return {name: mm.lmer(c["formula"], case_data(c["data"])) for name, c in KR_CASES.items()}


# ------------------------------------------------------------------ the shared reference cases
@pytest.fixture(scope="module")
def shared_fits():
    cake = read_case("cake_kr_emmeans")
    sleep = read_case("sleepstudy_kr")
    return {
        "cake": (cake, mm.lmer(cake["formula"], datasets.load("cake"))),
        "sleepstudy": (sleep, mm.lmer(sleep["formula"], pd.read_csv(HERE / "data" / sleep["data"]))),
    }


@pytest.mark.parametrize("case", ["cake", "sleepstudy"])
def test_shared_kr_coefficients_match_pbkrtest(shared_fits, case):
    ref, fit = shared_fits[case]
    table = fit.coef_table("Kenward-Roger")
    assert list(table.index) == ref["fixef_names"]
    np.testing.assert_allclose(table["Std. Error"], ref["kr"]["se"], rtol=RTOL)
    np.testing.assert_allclose(table["df"], ref["kr"]["df"], rtol=RTOL)
    np.testing.assert_allclose(table["Pr(>|t|)"], ref["kr"]["p"], rtol=RTOL)


@pytest.mark.parametrize("case", ["cake", "sleepstudy"])
@pytest.mark.parametrize(
    ("key", "type", "ddf"), [("kr_anova3", 3, "KR"), ("satterthwaite_anova2", 2, "Satterthwaite")]
)
def test_shared_anova_matches_lmertest(shared_fits, case, key, type, ddf):
    ref, fit = shared_fits[case]
    want, got = ref[key], fit.anova(type=type, ddf=ddf)
    assert list(got.index) == want["terms"]
    np.testing.assert_array_equal(got["NumDF"], want["NumDF"])
    np.testing.assert_allclose(got["DenDF"], want["DenDF"], rtol=RTOL)
    np.testing.assert_allclose(got["F value"], want["F"], rtol=RTOL)
    np.testing.assert_allclose(got["Pr(>F)"], want["p"], rtol=RTOL)


# ------------------------------------------------------------------ further cases (kr_cases.json)
@pytest.mark.parametrize("case", sorted(KR_CASES))
def test_adjusted_covariance_matches_vcovadj(kr_fits, case):
    ref, fit = KR_CASES[case], kr_fits[case]
    assert list(fit.fixef_names) == list(np.atleast_1d(ref["fixef_names"]))
    want = np.atleast_2d(ref["vcov_adj"])
    got = fit.kenward_roger.V
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))  # relative to the variances' scale
    np.testing.assert_array_less(np.abs(got - want) / scale, RTOL)
    adjustment = want - np.atleast_2d(ref["vcov"])  # V_KR - Phi: often below RTOL, so checked alone
    if np.max(np.abs(adjustment) / scale) > 1e-5:
        ours = got - fit.vcov.to_numpy()
        assert np.max(np.abs(ours - adjustment)) < RTOL * np.max(np.abs(adjustment))


@pytest.mark.parametrize("case", sorted(KR_CASES))
def test_kr_coefficient_table_matches_lmertest(kr_fits, case):
    ref, fit = KR_CASES[case], kr_fits[case]
    table = fit.coef_table("kenward-roger")
    assert list(table.columns) == ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
    for column, key in [("Std. Error", "se"), ("df", "df"), ("t value", "t"), ("Pr(>|t|)", "p")]:
        np.testing.assert_allclose(table[column], vector(ref["kr"][key]), rtol=RTOL, err_msg=column)
    np.testing.assert_allclose(fit.kenward_roger.coefficient_df(), vector(ref["kr"]["df"]), rtol=RTOL)


CONTEST_CASES = sorted(c for c in KR_CASES if "L" in KR_CASES[c])


@pytest.mark.parametrize("case", CONTEST_CASES)
@pytest.mark.parametrize(("ddf", "key"), [("KR", "contest_kr"), ("Satterthwaite", "contest_satterthwaite")])
def test_contest_of_several_rows_matches_lmertest(kr_fits, case, ddf, key):
    ref, fit = KR_CASES[case], kr_fits[case]
    got, want = fit.contest(np.array(ref["L"]), ddf=ddf), ref[key]
    assert got["NumDF"] == want["NumDF"]
    for column, k in [("Sum Sq", "SumSq"), ("Mean Sq", "MeanSq"), ("DenDF", "DenDF"), ("F value", "F")]:
        assert got[column] == pytest.approx(want[k], rel=RTOL), column
    assert got["Pr(>F)"] == pytest.approx(want["p"], rel=RTOL)


@pytest.mark.parametrize("case", CONTEST_CASES)
def test_f_test_matches_krmodcomp(kr_fits, case):
    ref, kr = KR_CASES[case]["krmodcomp"], kr_fits[case].kenward_roger
    test = kr.test(np.array(KR_CASES[case]["L"]))
    assert test.numdf == ref["ndf"]
    assert test.statistic == pytest.approx(ref["F"], rel=RTOL)
    assert test.dendf == pytest.approx(ref["ddf"], rel=RTOL)
    assert test.scaling == pytest.approx(ref["F_scaling"], rel=RTOL)
    assert kr.f_test(np.array(KR_CASES[case]["L"])) == (test.statistic, test.numdf, test.dendf, test.p)


def test_one_row_f_test_is_the_squared_t_test(kr_fits):
    fit = kr_fits["sleepstudy_unbalanced"]
    table = fit.coef_table("KR")
    row = fit.contest([0, 1], ddf="KR")
    assert row["F value"] == pytest.approx(table["t value"].iloc[1] ** 2, rel=1e-10)
    assert row["DenDF"] == pytest.approx(table["df"].iloc[1], rel=1e-10)


# ------------------------------------------------------------------ the q-space algebra
@pytest.mark.filterwarnings("ignore:boundary")  # the block variance is 0: the boundary is covered too
def test_random_effects_space_equals_the_dense_formulas():
    data = pd.read_csv(HERE / "data" / "sleepstudy_unbalanced.csv")
    data["block"] = (data["Days"] % 3).astype(str)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject) + (1 | block)", data)
    np.testing.assert_allclose(fit.kenward_roger.V, dense_kenward_roger(fit), rtol=1e-8)


def test_kenward_roger_from_cross_products_alone():
    dd = pytest.importorskip("dask.dataframe")
    dask = pytest.importorskip("dask")
    data = pd.read_csv(HERE / "data" / "sleepstudy_unbalanced.csv")
    formula = "Reaction ~ Days + (Days | Subject)"
    with dask.config.set(scheduler="synchronous"):
        rowless = mm.lmer(formula, dd.from_pandas(data, npartitions=2))
    assert not rowless.pls.has_rows
    want = mm.lmer(formula, data).coef_table("KR")
    pd.testing.assert_frame_equal(rowless.coef_table("KR"), want, rtol=1e-6)


# ------------------------------------------------------------------ bad input
def test_ml_fits_are_refused():
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
    with pytest.raises(ValueError, match="only available for REML fits"):
        fit.coef_table("KR")
    with pytest.raises(ValueError, match="only available for REML fits"):
        fit.summary(ddf="Kenward-Roger")


def test_bad_hypotheses_and_methods_are_named(kr_fits):
    fit = kr_fits["sleepstudy_unbalanced"]
    with pytest.raises(ValueError, match=r"L needs 2 columns \(one per fixed effect: \(Intercept\), Days\)"):
        fit.contest([[1, 0, 0]], ddf="KR")
    with pytest.raises(ValueError, match="no non-zero row"):
        fit.contest([[0, 0]], ddf="KR")
    with pytest.raises(ValueError, match="ddf must be 'Satterthwaite' or 'Kenward-Roger'"):
        fit.contest([[0, 1]], ddf="residual")
    with pytest.raises(ValueError, match="ddf must be 'Satterthwaite' or 'Kenward-Roger'"):
        fit.coef_table("lme")


@pytest.mark.parametrize("ddf", ["Kenward-Roger", "kenward-roger", "KR", "kr"])
def test_summary_shows_the_adjusted_table(kr_fits, ddf):
    fit = kr_fits["sleepstudy_unbalanced"]
    text = fit.summary(ddf=ddf)
    assert "Fixed effects (t tests use Kenward-Roger's method):" in text
    want = KR_CASES["sleepstudy_unbalanced"]["kr"]
    days = next(line for line in text.splitlines() if line.startswith("Days "))
    assert days.split()[3] == f"{want['df'][1]:.2f}"  # Kenward-Roger's df (Satterthwaite's: 17.74)
    assert days.split()[4] == f"{fit.fixef.iloc[1] / want['se'][1]:.3f}"  # the t of the adjusted SE


def test_coef_table_without_ddf_is_lme4s(kr_fits):
    fit = kr_fits["sleepstudy_unbalanced"]
    table = fit.coef_table(None)
    assert list(table.columns) == ["Estimate", "Std. Error", "t value"]
    np.testing.assert_allclose(table["Std. Error"], fit.se)
    sat = fit.coef_table("satterthwaite")
    np.testing.assert_allclose(sat["df"], fit.satterthwaite_df)
    np.testing.assert_allclose(sat["Pr(>|t|)"], fit.pvalues)
