"""``relevel(x, "b")`` in formulas: the factor with its reference level moved first, named as
R names it, against R's glm and lme4's glmer (tests/reference/relevel/make_relevel.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "relevel" / "relevel.json").read_text())


def _same(coef: pd.Series, key: str, rtol: float = 1e-7) -> None:
    assert coef.index.tolist() == REF[key]["names"]
    np.testing.assert_allclose(coef.to_numpy(), REF[key]["values"], rtol=rtol, atol=1e-8)


def test_relevel_sets_the_reference_level(cbpp, sal):
    _same(mm.glm('cbind(incidence, size - incidence) ~ relevel(period, "3")', cbpp).coef, "glm_period")
    fit = mm.glm('count ~ relevel(spp, ref = "GP") * mined', sal, family="poisson")
    _same(fit.coef, "glm_spp_interaction")
    _same(mm.glm("count ~ relevel(spp, 3) + cover", sal, family="poisson").coef, "glm_position")


def test_relevel_in_a_glmer(sal):
    fit = mm.glmer('count ~ relevel(mined, "yes") + (1 | site)', sal, family="poisson")
    _same(fit.fixef, "glmer_mined", rtol=2e-3)


def test_relevel_is_the_treatment_coding_with_that_reference(sal):
    """``relevel(x, "b")`` and ``C(x, Treatment("b"))`` are one model."""
    a = mm.glm('count ~ relevel(spp, "GP")', sal, family="poisson").coef.to_numpy()
    b = mm.glm('count ~ C(spp, Treatment("GP"))', sal, family="poisson").coef.to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_relevel_names_an_unknown_level_and_lists_the_levels(sal):
    with pytest.raises(
        mm.FormulaError, match=r"'placebo' is not a level of 'spp'; its levels are: DES-L, DF, DM"
    ):
        mm.glm('count ~ relevel(spp, "placebo")', sal, family="poisson")
    with pytest.raises(mm.FormulaError, match="no level at position 9"):
        mm.glm("count ~ relevel(spp, 9)", sal, family="poisson")
    with pytest.raises(mm.FormulaError, match="takes a column and a level"):
        mm.glm("count ~ relevel(spp)", sal, family="poisson")
    with pytest.raises(mm.DataError, match="'nothere' named in the formula is not in the data"):
        mm.glm('count ~ relevel(nothere, "a")', sal, family="poisson")


def test_relevel_in_lmer_and_prediction(cbpp):
    fit = mm.lmer('prop ~ relevel(period, "2") + (1 | herd)', cbpp)
    assert fit.fixef.index.tolist()[:2] == ["(Intercept)", 'relevel(period, "2")1']
    pred = fit.predict(cbpp.head(4), re_form="NA")
    np.testing.assert_allclose(pred, fit.predict(re_form="NA")[:4])
