"""emmeans of models with an offset, and the degrees of freedom of a glm's means, against R's
emmeans 1.8.4-1 (reference values from tests/reference/emmeans_glmm/make_emmeans_offset.R).

An ``offset(log(base))`` in the formula enters the means at ``mean(log(base))`` for glm and
lme4 fits and at ``log(mean(base))`` for glmmTMB fits (emmeans treats them differently); a glm
gets t intervals on its residual df for the Gaussian and Gamma families only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "emmeans_glmm" / "emmeans_offset.json").read_text())


@pytest.fixture(scope="module")
def epil():
    data = pd.read_csv(HERE / "data" / "epil.csv")
    data["subject"] = data["subject"].astype(str)
    return data


def _check(table: pd.DataFrame, key: str, rtol: float) -> None:
    want = pd.DataFrame(REF[key]["table"])
    if "df" not in want.columns:  # JSON has no Inf: R's infinite degrees of freedom are left out
        assert np.isinf(table["df"]).all(), key
        table = table.drop(columns="df")
    assert list(table.columns) == list(want.columns), key
    for name in want.columns:
        if pd.api.types.is_numeric_dtype(want[name]):
            np.testing.assert_allclose(table[name].to_numpy(dtype=float), want[name], rtol=rtol, err_msg=name)
        else:
            assert table[name].astype(str).tolist() == want[name].tolist(), name


def test_glm_offset_is_averaged_over_the_data(epil):
    fit = mm.glm("y ~ trt + offset(log(base))", epil, family="poisson")
    _check(mm.emmeans(fit, "trt", type="response").table, "glm_offset", rtol=1e-6)
    given = mm.glm("y ~ trt", epil, family="poisson", offset=np.log(epil["base"].to_numpy()))
    _check(mm.emmeans(given, "trt", type="response").table, "glm_offset_argument", rtol=1e-6)


def test_glmer_offset_is_averaged_over_the_data(epil):
    fit = mm.glmer("y ~ trt + offset(log(base)) + (1 | subject)", epil, family="poisson")
    _check(mm.emmeans(fit, "trt", type="response").table, "glmer_offset", rtol=2e-3)
    _check(mm.emmeans(fit, "trt").table, "glmer_offset_link", rtol=2e-3)
    nb = mm.glmer_nb("y ~ trt + offset(log(base)) + (1 | subject)", epil)  # lme4's glmer.nb
    _check(mm.emmeans(nb, "trt", type="response").table, "glmer_nb_offset", rtol=2e-3)


def test_glmmtmb_way_offset_is_evaluated_at_the_mean_of_its_variable(epil):
    fit = mm.glmer("y ~ trt + offset(log(base)) + (1 | subject)", epil, family="poisson", laplace="observed")
    assert fit.glmmtmb_style
    _check(mm.emmeans(fit, "trt", type="response").table, "glmmTMB_offset", rtol=2e-3)


def test_at_on_an_offset_variable_evaluates_the_offset(epil):
    """A deliberate difference from emmeans 1.8.4-1, which ignores at= for an lme4 or glm
    fit's offset variables: the offset at base = 20 is log(20)."""
    fit = mm.glm("y ~ trt + offset(log(base))", epil, family="poisson")
    em = mm.emmeans(fit, "trt", at={"base": 20.0})
    plain = mm.emmeans(fit, "trt")
    shift = np.log(20.0) - np.mean(np.log(epil["base"]))
    np.testing.assert_allclose(em.table["emmean"] - plain.table["emmean"], shift, rtol=1e-10)


def test_glm_df_follow_the_family(epil):
    """Quasi-Poisson and inverse Gaussian: z intervals (emmeans 1.8.4-1), though their
    dispersion is estimated; Gamma: t on the residual df."""
    q = mm.glm("y ~ trt + lbase + V4", epil, family="quasipoisson")
    _check(mm.emmeans(q, "trt", type="response").table, "quasipoisson", rtol=1e-6)
    data = epil.assign(y1=epil["y"] + 1)
    gm = mm.glm("y1 ~ trt + lbase", data, family="Gamma", link="log")
    _check(mm.emmeans(gm, "trt", type="response").table, "gamma", rtol=1e-6)
