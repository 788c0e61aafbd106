"""coef(): each level's coefficients, fixed effects plus conditional modes, against lme4's."""

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets

REFERENCE = json.loads((Path(__file__).parent / "reference" / "coef" / "coef.json").read_text())
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _fit(name):
    sleep = datasets.load("sleepstudy")
    return {
        "slopes": lambda: mm.lmer("Reaction ~ Days + (Days | Subject)", sleep),
        "no_fixed_slope": lambda: mm.lmer("Reaction ~ 1 + (Days | Subject)", sleep),
        "crossed": lambda: mm.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", datasets.load("penicillin")),
        "glmer": lambda: mm.glmer(CBPP, datasets.load("cbpp"), family="binomial"),
    }[name]()


@pytest.mark.parametrize("name", list(REFERENCE))
def test_coef_is_lme4s(name):
    """Names, levels and column order exactly; the values within the estimates' own distance
    from lme4's (lme4's optimizer stops a little short: up to 2e-4 of a column's scale for these
    lmer fits, 1e-3 for cbpp's glmer fit, whose fixed effects differ from lme4's by 4e-4)."""
    fit = _fit(name)
    got = fit.coef()
    assert sorted(got) == sorted(REFERENCE[name])
    for group, want in REFERENCE[name].items():
        table = got[group]
        assert [str(v) for v in table.index] == want["levels"]
        assert list(table.columns) == want["columns"]
        values = np.array(want["values"])
        scale = np.abs(values).max(axis=0)
        tol = 1e-3 if name == "glmer" else 2e-4
        assert np.all(np.abs(table.to_numpy() - values) <= tol * scale)
        modes = fit.ranef()[group]
        for column in table.columns:  # exactly the fixed effect plus the level's mode
            base = fit.fixef.get(column, 0.0)
            shift = modes[column].to_numpy() if column in modes else 0.0
            np.testing.assert_array_equal(table[column].to_numpy(), base + shift)
