"""Estimated marginal means against R's emmeans 1.8.4 (lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2).

The reference cases in tests/reference/emmeans/ were made by make_emmeans.R beside them (the data
each model saw is saved there too); cake_kr_emmeans.json is the shared Kenward-Roger case.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.inference.emmeans import Emmeans

HERE = Path(__file__).parent / "reference" / "emmeans"
RTOL = 1e-4
NUMBERS = ("emmean", "SE", "df", "lower.CL", "upper.CL", "estimate", "t.ratio", "z.ratio", "p.value")
CASES = [
    "oats_unbalanced",
    "co2_covariate",
    "warpbreaks_lm",
    "mtcars_lm",
    "warpbreaks_empty_cell",
    "oats_empty_cell",
]


def _reference(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


def _data(name: str) -> pd.DataFrame:
    data = pd.read_csv(HERE / name)
    for col in data.columns:
        if data[col].dtype == object:
            data[col] = pd.Categorical(data[col])
    return data


@cache
def _fit(name: str):
    ref = _reference(name)
    data = _data(ref["data"])
    if ref["model"] == "lm":
        return mm.lm(ref["formula"], data)
    with warnings.catch_warnings():  # the empty-cell case drops an aliased column, as lme4 says
        warnings.filterwarnings("ignore", "fixed-effect model matrix is rank deficient")
        return mm.lmer(ref["formula"], data, reml=ref["REML"])


def _calls() -> list:
    return [
        pytest.param(name, i, id=f"{name}-{i}")
        for name in CASES
        for i in range(len(_reference(name)["calls"]))
    ]


def _emmeans_of(name: str, call: dict) -> Emmeans:
    specs = call["specs"]
    return mm.emmeans(_fit(name), specs, by=call.get("by"), ddf=call.get("ddf"))


def _relative(ours, theirs) -> float:
    """Largest relative deviation of two columns; a missing value must be missing in both."""
    a = np.asarray(ours, dtype=float)
    b = np.array([math.nan if v is None else v for v in theirs], dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"missing values differ: {a} vs {b}"
    ok = ~np.isnan(b)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-12)))


def _compare(table: pd.DataFrame, rows: list[dict], label_columns: list[str]) -> None:
    assert len(table) == len(rows)
    for col in label_columns:
        assert [str(v) for v in table[col]] == [str(r[col]) for r in rows], col
    for col in [c for c in NUMBERS if c in rows[0]]:
        assert col in table.columns
        if col == "p.value":  # p-values near 1 or 0: compare on an absolute scale as well
            a = table[col].to_numpy(dtype=float)
            b = np.array([math.nan if r[col] is None else r[col] for r in rows], dtype=float)
            assert np.allclose(a, b, rtol=RTOL, atol=1e-7, equal_nan=True), (col, a, b)
        else:
            assert _relative(table[col], [r[col] for r in rows]) < RTOL, col


# ------------------------------------------------------------------ against R
@pytest.mark.parametrize(("name", "index"), _calls())
def test_table_matches_emmeans(name, index):
    call = _reference(name)["calls"][index]
    result = _emmeans_of(name, call)
    labels = list(call["specs"]) + list(call["by"] or [])
    _compare(result.table, call["table"], labels)


@pytest.mark.parametrize(("name", "index"), _calls())
def test_pairs_match_emmeans(name, index):
    call = _reference(name)["calls"][index]
    result = _emmeans_of(name, call)
    for adjust, expected in call["pairs"].items():
        _compare(result.pairs(adjust), expected["table"], ["contrast", *(call["by"] or [])])


@pytest.mark.parametrize(("name", "index"), _calls())
def test_printout_matches_emmeans(name, index):
    call = _reference(name)["calls"][index]
    result = _emmeans_of(name, call)
    assert str(result).split("\n") == call["printed"]
    for adjust, expected in call["pairs"].items():
        assert result.pairs_summary(adjust).split("\n") == expected["printed"], adjust


@pytest.mark.parametrize(("name", "index"), _calls())
def test_linear_functions_match_emmeans(name, index):
    call = _reference(name)["calls"][index]
    L = _emmeans_of(name, call).L.to_numpy()
    assert np.allclose(L, np.array(call["linfct"], dtype=float), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ the shared cake case
@pytest.fixture(scope="module")
def cake():
    ref = json.loads((HERE / "cake_kr_emmeans.json").read_text())
    return ref, mm.lmer(ref["formula"], datasets.load("cake"), reml=ref["REML"])


def test_cake_satterthwaite(cake):
    ref, fit = cake
    result = mm.emmeans(fit, "recipe", ddf="Satterthwaite")
    _compare(result.table, ref["emmeans_satterthwaite"], ["recipe"])


def test_cake_kenward_roger(cake):
    ref, fit = cake
    result = mm.emmeans(fit, ref["emmeans"]["specs"])
    assert result.df_method == ref["emmeans"]["df_method"]
    _compare(result.table, ref["emmeans"]["table"], ["recipe"])
    _compare(result.pairs(), ref["emmeans_pairs"], ["contrast"])


def test_cake_grid_holds_the_covariate_at_its_mean(cake):
    _, fit = cake
    result = mm.emmeans(fit, "recipe", ddf="satterthwaite")
    assert result.grid.covariates == {"temp": pytest.approx(fit.data["temp"].mean())}
    assert result.averaged_over == ()


# ------------------------------------------------------------------ behaviour
def test_equal_weights_differ_from_the_raw_means():
    fit = _fit("warpbreaks_lm")
    table = mm.emmeans(fit, "tension").table
    raw = _data("warpbreaks_unbalanced.csv").groupby("tension", observed=True)["breaks"].mean()
    cells = _data("warpbreaks_unbalanced.csv").groupby(["tension", "wool"], observed=True)["breaks"].mean()
    assert not np.allclose(table["emmean"].to_numpy(), raw.to_numpy())
    assert np.allclose(table["emmean"].to_numpy(), cells.groupby(level=0, observed=True).mean().to_numpy())


def test_by_gives_one_block_and_one_tukey_family_per_level():
    fit = _fit("oats_unbalanced")
    result = mm.emmeans(fit, "N", by="V", ddf="satterthwaite")
    assert list(result.table.columns[:2]) == ["N", "V"]
    pairs = result.pairs()
    assert pairs.groupby("V", observed=True).size().tolist() == [6, 6, 6]
    assert str(result).count(":\n") == 3


def test_result_is_immutable():
    result = mm.emmeans(_fit("warpbreaks_lm"), "tension")
    with pytest.raises(AttributeError):
        result.level = 0.9  # type: ignore[misc]


def test_level_changes_the_intervals():
    fit = _fit("warpbreaks_lm")
    wide, narrow = mm.emmeans(fit, "tension").table, mm.emmeans(fit, "tension", level=0.5).table
    assert (narrow["upper.CL"] < wide["upper.CL"]).all()
    assert "Confidence level used: 0.5 " in str(mm.emmeans(fit, "tension", level=0.5))


def test_html_has_the_table_and_the_footer():
    html = mm.emmeans(_fit("warpbreaks_lm"), "tension")._repr_html_()
    assert "<table" in html and "Confidence level used: 0.95" in html


def test_figure_has_a_panel_per_by_group():
    pytest.importorskip("matplotlib")
    fig = mm.emmeans(_fit("warpbreaks_lm"), "wool", by="tension").figure()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3


# ------------------------------------------------------------------ errors
def test_errors_name_the_problem(cake):
    _, fit = cake
    with pytest.raises(ValueError, match="'flavour', which is not a factor of the model"):
        mm.emmeans(fit, "flavour", ddf="satterthwaite")
    with pytest.raises(ValueError, match="'temp', a numeric covariate"):
        mm.emmeans(fit, "temp", ddf="satterthwaite")
    with pytest.raises(ValueError, match="'replicate', a grouping factor of the random effects"):
        mm.emmeans(fit, "recipe", by="replicate", ddf="satterthwaite")
    with pytest.raises(ValueError, match="by names 'temp', a numeric covariate"):
        mm.emmeans(fit, "recipe", by="temp", ddf="satterthwaite")
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        mm.emmeans(fit, "recipe", ddf="satterthwaite", level=1.5)
    with pytest.raises(ValueError, match="ddf must be 'kenward-roger' or 'satterthwaite'"):
        mm.emmeans(fit, "recipe", ddf="lme4")
    result = mm.emmeans(fit, "recipe", ddf="satterthwaite")
    with pytest.raises(ValueError, match="adjust must be one of"):
        result.pairs("scheffe")


def test_lm_refuses_a_ddf():
    with pytest.raises(ValueError, match="residual degrees of freedom"):
        mm.emmeans(_fit("warpbreaks_lm"), "tension", ddf="satterthwaite")


def test_two_valued_covariate_is_averaged_but_not_a_spec():
    fit = _fit("mtcars_lm")
    assert mm.emmeans(fit, "cyl").averaged_over == ("am",)
    with pytest.raises(ValueError, match="'am', a numeric covariate with two values"):
        mm.emmeans(fit, "am")


def test_kenward_roger_is_the_default_and_needs_reml(cake):
    ref, fit = cake
    assert mm.emmeans(fit, "recipe").df_method == "kenward-roger"
    ml = mm.lmer(ref["formula"], datasets.load("cake"), reml=False)
    with pytest.raises(ValueError, match="REML"):
        mm.emmeans(ml, "recipe")
    assert mm.emmeans(ml, "recipe", ddf="satterthwaite").df_method == "satterthwaite"


def test_nested_factors_are_refused():
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {
            "school": pd.Categorical(np.repeat(["s1", "s2", "s3"], 8)),
            "klass": pd.Categorical(np.repeat([f"c{i}" for i in range(6)], 4)),
            "treat": pd.Categorical(np.tile(["a", "b"], 12)),
        }
    )
    data["y"] = rng.normal(size=len(data))
    with pytest.raises(NotImplementedError, match="'klass' is nested in 'school'"):
        mm.emmeans(mm.lm("y ~ school + klass + treat", data), "treat")
    with pytest.raises(NotImplementedError, match="'treat' has no main effect"):
        mm.emmeans(mm.lm("y ~ school + school:treat", data), "school")


def test_means_do_not_depend_on_the_contrasts():
    data = _data("warpbreaks_unbalanced.csv")
    plain = mm.emmeans(mm.lm("breaks ~ wool * tension", data), "tension")
    summed = mm.emmeans(
        mm.lm("breaks ~ wool * tension", data, contrasts={"wool": "sum", "tension": "helmert"}), "tension"
    )
    assert np.allclose(plain.table["emmean"], summed.table["emmean"])
    assert np.allclose(plain.table["SE"], summed.table["SE"])
