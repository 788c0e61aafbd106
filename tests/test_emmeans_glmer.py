"""emmeans for glmer and glm fits against R's emmeans 1.8.4-1: means on the link and response
scales ("prob", "rate", "response"), asymptotic intervals, pairwise contrasts as odds ratios or
ratios on the response scale, ``at=`` and ``by=`` (reference values and printed output from
tests/reference/emmeans_glmm/make_emmeans_glmm.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "emmeans_glmm" / "emmeans_glmm.json").read_text())
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def cbpp_fit(cbpp):
    return mm.glmer(CBPP, cbpp, family="binomial")


@pytest.fixture(scope="module")
def sal_fit(sal):
    return mm.glmer("count ~ spp + cover + (1 | site)", sal, family="poisson")


def _check(table: pd.DataFrame, key: str, rtol: float = 1e-3, atol: float = 5e-4) -> None:
    """Compare a table with R's, column by column (numbers to ``rtol`` or ``atol``, labels
    exactly). A glmer fit's estimates agree with lme4's to about 1e-3 (ours reach a slightly
    higher log-likelihood); a glm fit's to 1e-6 and better."""
    want = pd.DataFrame(REF[key]["table"])
    if "df" not in want.columns:  # JSON has no Inf: R's infinite degrees of freedom are left out
        assert np.isinf(table["df"]).all()
        table = table.drop(columns="df")
    assert list(table.columns) == list(want.columns)
    for name in want.columns:
        if pd.api.types.is_numeric_dtype(want[name]):
            np.testing.assert_allclose(
                table[name].to_numpy(dtype=float), want[name], rtol=rtol, atol=atol, err_msg=name
            )
        else:
            assert table[name].astype(str).tolist() == want[name].tolist(), name


def _printed(text: str, key: str, exact: bool = False) -> None:
    """The printed table as R's: exactly (a glm fit), or for a glmer fit, whose optimum
    differs from lme4's in the fourth digit, every word the same and every number within a
    unit of its last printed digit."""
    got, want = text.split("\n"), REF[key]["printed"]
    if exact:
        assert got == want
        return
    assert len(got) == len(want)
    for line, ref in zip(got, want):
        words, ref_words = line.split(), ref.split()
        assert len(words) == len(ref_words), (line, ref)
        for w, r in zip(words, ref_words):
            if w == r:
                continue
            try:
                x, y = float(w), float(r)
            except ValueError:
                assert w == r, (line, ref)
                continue
            unit = 10.0 ** -(len(r.split(".")[1]) if "." in r else 0)
            assert abs(x - y) <= max(unit, 2e-3 * abs(y), 1e-3) * 1.01, (line, ref)


def test_cbpp_link_and_response_scales(cbpp_fit):
    link = mm.emmeans(cbpp_fit, "period")
    _check(link.table, "cbpp_link")
    _printed(str(link), "cbpp_link")
    response = mm.emmeans(cbpp_fit, "period", type="response")
    _check(response.table, "cbpp_response")
    _printed(str(response), "cbpp_response")


def test_cbpp_contrasts_are_odds_ratios_on_the_response_scale(cbpp_fit):
    link = mm.emmeans(cbpp_fit, "period")
    _check(link.pairs(), "cbpp_pairs_link")
    _printed(link.pairs_summary(), "cbpp_pairs_link")
    response = mm.emmeans(cbpp_fit, "period", type="response")
    _check(response.pairs(), "cbpp_pairs_response")
    _printed(response.pairs_summary(), "cbpp_pairs_response")
    _check(response.pairs("holm"), "cbpp_pairs_response_holm")
    _printed(response.pairs_summary("holm"), "cbpp_pairs_response_holm")


def test_probit_contrasts_stay_on_the_link_scale(cbpp):
    fit = mm.glmer(CBPP, cbpp, family="binomial", link="probit")
    for kind, key in (("response", "cbpp_probit_pairs"), ("link", "cbpp_probit_pairs_link")):
        em = mm.emmeans(fit, "period", type=kind)
        _check(em.pairs(), key)
        _printed(em.pairs_summary(), key)


def test_at_holds_a_covariate_at_a_value(sal_fit):
    _check(mm.emmeans(sal_fit, "spp", at={"cover": 0.5}, type="response").table, "sal_at")
    em = mm.emmeans(sal_fit, "spp", at={"cover": 0.5})
    _check(em.table, "sal_at_link")
    _printed(str(em), "sal_at_link")


def test_at_values_of_a_covariate_as_by(sal_fit):
    em = mm.emmeans(sal_fit, "spp", by="cover", at={"cover": [-1, 1]}, type="response")
    _check(em.table, "sal_at_by")
    _printed(str(em), "sal_at_by")


def test_at_keeps_the_levels_given_in_their_order(sal_fit):
    em = mm.emmeans(sal_fit, "spp", at={"spp": ["GP", "DM", "EC-A"]}, type="response")
    _check(em.table, "sal_at_levels")
    link = mm.emmeans(sal_fit, "spp", at={"spp": ["GP", "DM", "EC-A"]})
    _check(link.pairs(), "sal_pairs_link")
    _printed(link.pairs_summary(), "sal_pairs_link")


def test_at_refuses_unknown_names_and_levels(sal_fit):
    with pytest.raises(ValueError, match="'DOY', which is not a variable"):
        mm.emmeans(sal_fit, "spp", at={"DOY": 1})
    with pytest.raises(ValueError, match=r"\['XX'\], which are not among its levels: DES-L, DF"):
        mm.emmeans(sal_fit, "spp", at={"spp": ["GP", "XX"]})
    with pytest.raises(ValueError, match="non-numeric"):
        mm.emmeans(sal_fit, "spp", at={"cover": "high"})


def test_by_gives_ratios_within_each_group(sal):
    fit = mm.glmer("count ~ spp * mined + (1 | site)", sal, family="poisson")
    em = mm.emmeans(fit, "mined", by="spp", type="response")
    _check(em.table, "sal_by")
    _printed(str(em), "sal_by")
    _check(em.pairs(), "sal_by_pairs")
    _printed(em.pairs_summary(), "sal_by_pairs")


def test_nbinom2_ratios(sal):
    fit = mm.glmer("count ~ spp + mined + (1 | site)", sal, family="nbinom2")
    em = mm.emmeans(fit, "mined", type="response")
    _check(em.table, "nb2_response")  # glmmTMB's optimum to about 1e-4
    _check(em.pairs(), "nb2_pairs")
    _printed(em.pairs_summary(), "nb2_pairs")


def test_zero_inflated_means_are_the_conditional_models(sal):
    """emmeans of a glmmTMB fit with zero inflation: the conditional model's means (its
    family's label), as emmeans' default component "cond"."""
    fit = mm.glmer("count ~ spp + mined + (1 | site)", sal, family="poisson", ziformula="~ mined")
    em = mm.emmeans(fit, "mined", type="response")
    _check(em.table, "zip_response", rtol=2e-3)
    _printed(str(em), "zip_response")


def test_glm_fits(cbpp, sal):
    g1 = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    em = mm.emmeans(g1, "period", type="response")
    _check(em.table, "glm_binomial", rtol=1e-6, atol=0)
    _printed(str(em), "glm_binomial", exact=True)
    _check(em.pairs(), "glm_binomial_pairs", rtol=1e-6, atol=0)
    _printed(em.pairs_summary(), "glm_binomial_pairs", exact=True)
    g2 = mm.glm("count ~ spp + cover", sal, family="poisson")
    _check(
        mm.emmeans(g2, "spp", at={"cover": 0.5}, type="response").table, "glm_poisson_at", rtol=1e-6, atol=0
    )
    g3 = mm.glm("count + 1 ~ spp + cover", sal, family="Gamma", link="log")
    em3 = mm.emmeans(g3, "spp", type="response")
    _check(em3.table, "glm_gamma", rtol=1e-6, atol=0)
    _printed(str(em3), "glm_gamma", exact=True)


def test_identity_link_means_need_no_back_transformation(sal):
    fit = mm.glm("cover ~ spp", sal, family="gaussian")
    em = mm.emmeans(fit, "spp", type="response")
    assert em.estimate_name == "emmean" and "back-transformed" not in str(em)
