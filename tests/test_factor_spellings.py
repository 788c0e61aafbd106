"""The ANOVA hypotheses do not depend on how a factor is spelled in the formula (issue 26).

nlme's BodyWeight (tests/data/bodyweight.csv, Diet written as integers 1-3): a string column,
``factor(Diet)``, ``as.factor(Diet)``, ``C(Diet)``, ``C(Diet, contr.sum)`` and
``C(Diet, contr.treatment)`` all give lmerTest 3.1-3's tables of types I, II and III
(tests/reference/issue26/issue26.json, made by make_issue26_reference.R). Before the fix, the
type III test of ``Time`` was Time's slope at Diet 1 only (F = 15.57 instead of 94.69) for every
spelling but the string column and ``C(Diet, contr.sum)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "issue26" / "issue26.json").read_text())
SPELLINGS = [
    ("Diet", True),
    ("factor(Diet)", False),
    ("as.factor(Diet)", False),
    ("factor(Diet)", True),
    ("C(Diet)", True),
    ("C(Diet)", False),
    ("C(Diet, contr.sum)", True),
    ("C(Diet, contr.treatment)", True),
    ("C(Diet, contr.helmert)", False),
]


@pytest.fixture(scope="module")
def bodyweight() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "bodyweight.csv")


@pytest.fixture(scope="module")
def fits(bodyweight):
    out = {}
    for spelling, as_string in SPELLINGS:
        data = bodyweight.assign(Diet=bodyweight["Diet"].astype(str)) if as_string else bodyweight
        out[spelling, as_string] = mm.lmer(f"weight ~ Time * {spelling} + (Time | Rat)", data)
    return out


@pytest.mark.parametrize(("spelling", "as_string"), SPELLINGS)
@pytest.mark.parametrize("type", [1, 2, 3])
@pytest.mark.parametrize("ddf", ["Satterthwaite", "Kenward-Roger"])
def test_anova_does_not_depend_on_the_spelling(fits, spelling, as_string, type, ddf):
    want = REF[f"bodyweight_type{type}_{ddf}"]
    got = fits[spelling, as_string].anova(type=type, ddf=ddf)
    assert list(got.index) == [t.replace("Diet", spelling) for t in want["terms"]]
    np.testing.assert_allclose(got["F value"], want["F"], rtol=1e-5)
    np.testing.assert_allclose(got["NumDF"], want["NumDF"])
    np.testing.assert_allclose(got["DenDF"], want["DenDF"], rtol=1e-5)
    np.testing.assert_allclose(got["Pr(>F)"], want["p"], rtol=1e-4)


def test_type3_time_is_the_average_slope(fits):
    """The issue's numbers: Time's type III F is 94.69 (the slope averaged over diets), not
    15.57 (the slope of diet 1)."""
    for key, fit in fits.items():
        f = fit.anova(type=3, ddf="kenward-roger").loc["Time", "F value"]
        assert f == pytest.approx(94.6893, abs=1e-3), key


def test_type3_with_rows_dropped_for_missing_values(bodyweight):
    """The sum-coded matrix is built on the rows the fit used."""
    data = bodyweight.astype({"weight": float})
    data.loc[[3, 50, 100], "weight"] = np.nan
    a = mm.lmer("weight ~ Time * factor(Diet) + (Time | Rat)", data).anova(type=3)
    b = mm.lmer("weight ~ Time * Diet + (Time | Rat)", data.assign(Diet=data["Diet"].astype(str))).anova(
        type=3
    )
    np.testing.assert_allclose(a["F value"], b["F value"], rtol=1e-8)
