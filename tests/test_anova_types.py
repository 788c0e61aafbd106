"""ANOVA tables of types I, II and III with Satterthwaite's and Kenward-Roger's denominator
degrees of freedom, against lmerTest 3.1-3 (tests/reference/extra/kr_cases.json, made by
tests/reference/extra/make_kr_reference.R: unbalanced data, so that the three types differ)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "extra" / "kr_cases.json").read_text())
CASES = [
    "cake_three_factor",
    "cake_covariate",
    "penicillin_sample",
    "pastes_unbalanced",
    "sleepstudy_unbalanced",
]
RTOL = 1e-4
COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


@pytest.fixture(scope="module")
def fits():
    return {c: mm.lmer(REF[c]["formula"], pd.read_csv(HERE / "data" / REF[c]["data"])) for c in CASES}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("type", [1, 2, 3])
@pytest.mark.parametrize(("ddf", "prefix"), [("Satterthwaite", "satterthwaite"), ("Kenward-Roger", "kr")])
def test_anova_matches_lmertest(fits, case, type, ddf, prefix):
    want = REF[case][f"{prefix}_anova{type}"]
    got = fits[case].anova(type=type, ddf=ddf)
    assert list(got.columns) == COLUMNS
    assert list(got.index) == list(np.atleast_1d(want["terms"]))
    np.testing.assert_array_equal(got["NumDF"], np.atleast_1d(want["NumDF"]))
    for column, key in [("Sum Sq", "SumSq"), ("Mean Sq", "MeanSq"), ("DenDF", "DenDF"), ("F value", "F")]:
        np.testing.assert_allclose(got[column], np.atleast_1d(want[key]), rtol=RTOL, err_msg=column)
    np.testing.assert_allclose(got["Pr(>F)"], np.atleast_1d(want["p"]), rtol=RTOL)


def test_the_three_types_differ_on_unbalanced_data(fits):
    """The reference case is one where the types are distinct hypotheses (else the test above
    could not tell them apart)."""
    F = {t: fits["cake_three_factor"].anova(type=t)["F value"] for t in (1, 2, 3)}
    assert not np.allclose(F[1], F[2], rtol=1e-3) and not np.allclose(F[2], F[3], rtol=1e-3)
    # the highest-order term is adjusted for everything in all three types
    assert F[1].iloc[-1] == pytest.approx(F[2].iloc[-1]) == pytest.approx(F[3].iloc[-1])


@pytest.mark.parametrize(("given", "type"), [("I", 1), ("ii", 2), ("III", 3), ("3", 3), (2, 2)])
def test_type_spellings(fits, given, type):
    fit = fits["cake_covariate"]
    pd.testing.assert_frame_equal(fit.anova(type=given), fit.anova(type=type))


@pytest.mark.parametrize("type", [0, 4, "IV", "marginal", True, None])
def test_unknown_type_is_refused(fits, type):
    with pytest.raises(ValueError, match="type must be 1, 2 or 3"):
        fits["cake_covariate"].anova(type=type)


def test_unknown_ddf_is_refused(fits):
    with pytest.raises(ValueError, match="ddf must be 'Satterthwaite' or 'Kenward-Roger'"):
        fits["cake_covariate"].anova(ddf="lme4")


def test_type3_does_not_depend_on_the_coding(fits):
    fit = fits["cake_three_factor"]
    helmert = mm.lmer(fit.formula, fit.data, contrasts={"recipe": "helmert", "tcat": "sum"})
    for ddf in ("Satterthwaite", "KR"):
        want = fit.anova(ddf=ddf)["F value"]
        np.testing.assert_allclose(helmert.anova(ddf=ddf)["F value"], want, rtol=1e-6)


def test_containment_follows_lmertest():
    from mixedmodels.inference.anova import containment

    frame = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "t": [1.0, 2.0]})
    terms = ["a", "t", "b", "a:t", "a:b", "log(t)"]
    got = containment(terms, frame)
    assert got["a"] == ["a:b"]  # a:t adds the numeric t: not a container of a
    assert got["t"] == ["a:t"]
    assert got["a:b"] == [] and got["log(t)"] == []


def test_intercept_only_model_has_an_empty_table():
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
    table = fit.anova(type=1, ddf="KR")
    assert table.empty and list(table.columns) == COLUMNS
