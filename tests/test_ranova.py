"""ranova: likelihood-ratio tests of the random-effects terms, against lmerTest's."""

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets

REFERENCE = json.loads((Path(__file__).parent / "reference" / "ranova" / "ranova.json").read_text())

SLOPES = "Reaction ~ Days + (Days | Subject)"
CASES = {
    "slopes": ("sleepstudy", SLOPES, {}, {}),
    "slopes_ml": ("sleepstudy", SLOPES, {"reml": False}, {}),
    "slopes_whole": ("sleepstudy", SLOPES, {}, {"reduce_terms": False}),
    "uncorrelated": ("sleepstudy", "Reaction ~ Days + (Days || Subject)", {}, {}),
    "crossed": ("penicillin", "diameter ~ (1 | plate) + (1 | sample)", {}, {}),
    "to_lm": ("seed", "y ~ x + (1 | p)", {}, {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_ranova_is_lmertests(name):
    data, formula, fit_args, args = CASES[name]
    result = mm.lmer(formula, datasets.load(data), **fit_args).ranova(**args)
    expected = REFERENCE[name]
    assert list(result.table.index) == expected["rows"]
    for column, values in expected["table"].items():
        want = np.array([np.nan if v is None else v for v in values], dtype=float)
        got = result.table[column].to_numpy(dtype=float)
        np.testing.assert_allclose(got, want, rtol=2e-6 if column == "Pr(>Chisq)" else 1e-7)
    assert str(result) == expected["printed"]


def test_ranova_needs_an_lmer_fit_with_its_data():
    with pytest.raises(TypeError, match="ranova needs a fit from mm.lmer"):
        mm.ranova(mm.lm("y ~ x", datasets.load("seed")))
