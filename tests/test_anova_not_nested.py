"""``mm.anova`` of models that are not nested prints what lme4 prints (issue 26): the statistic
``2 max(0, logLik - logLik before)``, no p-value between models with as many parameters. It
printed ``Chisq -63.569, Df 0`` before. Reference: tests/reference/issue26/issue26.json (lme4's
anova, made by make_issue26_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "issue26" / "issue26.json").read_text())


@pytest.fixture(scope="module")
def sleepstudy():
    d = datasets.load("sleepstudy")
    days = d["Days"].to_numpy(dtype=float)
    return d.assign(D2=days**2, c1=np.cos(days), s1=np.sin(days), c2=np.cos(2 * days), s2=np.sin(2 * days))


def _check(table, printed, want, names):
    np.testing.assert_allclose(table["logLik"], want["logLik"], rtol=1e-7)
    assert table["Chisq"].iloc[1] == pytest.approx(want["Chisq"][1], abs=1e-6)
    assert table["Chisq"].iloc[1] >= 0
    assert int(table["Df"].iloc[1]) == want["Df"][1]
    p = table["Pr(>Chisq)"].iloc[1]
    assert (np.isnan(p) and want["p"][1] is None) or p == pytest.approx(want["p"][1])
    starts = ("   npar", *(f"{n} " for n in names))
    theirs = [line for line in want["printed"] if line.startswith(starts)]
    ours = [line for line in printed.splitlines() if line.startswith(starts)]
    assert len(theirs) == 3
    assert ours == theirs


def test_same_number_of_parameters(sleepstudy):
    a1 = mm.lmer("Reaction ~ Days + (1 | Subject)", sleepstudy, reml=False)
    a2 = mm.lmer("Reaction ~ D2 + (1 | Subject)", sleepstudy, reml=False)
    result = mm.anova(a1, a2, names=["a1", "a2"])
    want = REF["anova_same_npar"] | {"printed": REF["anova_same_npar_printed"]}
    _check(result.table, str(result), want, ["a1", "a2"])


def test_larger_model_fits_worse(sleepstudy):
    b1 = mm.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, reml=False)
    b2 = mm.lmer("Reaction ~ c1 + s1 + c2 + s2 + (1 | Subject)", sleepstudy, reml=False)
    result = mm.anova(b1, b2, names=["b1", "b2"])
    want = REF["anova_larger_worse"] | {"printed": REF["anova_larger_worse_printed"]}
    _check(result.table, str(result), want, ["b1", "b2"])
