"""anova(lm0, lm1, ...) of lm fits alone: R's analysis of variance table with F tests."""

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets

REFERENCE = json.loads((Path(__file__).parent / "reference" / "lm_anova" / "lm_anova.json").read_text())


def _cases():
    seed, pastes = datasets.load("seed"), datasets.load("pastes")
    return {
        "seed": [mm.lm(f, seed) for f in ("y ~ 1", "y ~ x", "y ~ x + p")],
        "pastes": [mm.lm(f, pastes) for f in ("strength ~ batch", "strength ~ 1")],
    }


@pytest.mark.parametrize("name", ["seed", "pastes"])
def test_the_table_and_its_printout_are_r_s(name):
    result = mm.anova(*_cases()[name])
    expected = REFERENCE[name]
    assert list(result.table.columns) == list(expected["table"])
    for column, values in expected["table"].items():
        want = np.array([np.nan if v is None else v for v in values], dtype=float)
        np.testing.assert_allclose(result.table[column].to_numpy(dtype=float), want, rtol=1e-9, atol=1e-300)
    assert str(result) == expected["printed"]


def test_an_lm_beside_an_lmer_fit_is_still_a_likelihood_ratio_test():
    seed = datasets.load("seed")
    both = mm.anova(mm.lm("y ~ x", seed), mm.lmer("y ~ x + (1 | p)", seed))
    assert "Chisq" in both.table.columns
