"""Clear refusals and the rules for unusual inputs (issue 26): memory limits for every model
kind, all-zero weights, missing offsets and weights, the Gaussian family's links."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets


@pytest.fixture(scope="module")
def sleepstudy():
    return datasets.load("sleepstudy")


# ------------------------------------------------------------------ the Gaussian family's links
@pytest.mark.parametrize("fit", [mm.glmer, mm.glm])
def test_gaussian_with_a_link_it_lacks_is_refused_naming_the_family_and_link(sleepstudy, fit):
    formula = "Reaction ~ Days + (1 | Subject)" if fit is mm.glmer else "Reaction ~ Days"
    with pytest.raises(ValueError, match="not available for the gaussian family") as info:
        fit(formula, sleepstudy, family="gaussian", link="sqrt")
    assert "'sqrt'" in str(info.value)


def test_gaussian_glmer_with_the_identity_link_points_to_lmer(sleepstudy):
    with pytest.raises(ValueError, match="mm.lmer"):
        mm.glmer("Reaction ~ Days + (1 | Subject)", sleepstudy, family="gaussian")


# ------------------------------------------------------------------ memory_limit for every kind
def _crossed(n_a: int = 60, n_b: int = 40, seed: int = 1) -> pd.DataFrame:
    """Two crossed factors, every pair once; a 0/1 and a count response."""
    rng = np.random.default_rng(seed)
    a, b = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
    n = a.size
    return pd.DataFrame(
        {
            "a": [f"a{i}" for i in a.ravel()],
            "b": [f"b{i}" for i in b.ravel()],
            "x": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
            "count": rng.poisson(2.0, n),
            "z": rng.normal(size=n),
        }
    )


@pytest.mark.parametrize("nagq", [0, 1])
def test_glmer_refuses_a_model_over_its_memory_limit_before_fitting(monkeypatch, nagq):
    import importlib

    glmer_module = importlib.import_module("mixedmodels.glmm.glmer_steps")

    def never(*args, **kwargs):
        raise AssertionError("the model was fitted")

    monkeypatch.setattr(glmer_module, "fit_glmm", never)
    data = _crossed()
    with pytest.raises(MemoryError, match="memory_limit") as info:
        mm.glmer("y ~ x + (1 | a) + (1 | b)", data, nagq=nagq, memory_limit=50_000)
    assert "'b' (40 levels)" in str(info.value)
    monkeypatch.setattr(mm.options, "memory_limit", 50_000)  # the option is the default
    with pytest.raises(MemoryError):
        mm.glmer("count ~ x + (1 | a) + (1 | b)", data, family="poisson", nagq=nagq)


def test_glmer_within_its_memory_limit_fits_as_before():
    data = _crossed(12, 8)
    fit = mm.glmer("count ~ x + (1 | a) + (1 | b)", data, family="poisson", memory_limit=2**30)
    same = mm.glmer("count ~ x + (1 | a) + (1 | b)", data, family="poisson")
    assert fit.objective == same.objective and np.isfinite(fit.objective)


def test_lm_and_glm_refuse_a_model_matrix_over_the_memory_limit():
    data = _crossed()  # a factor of 60 levels: a 2400 x 60 model matrix, three copies 3.5 MB
    with pytest.raises(MemoryError, match="2400 x 61"):
        mm.lm("z ~ x + a", data, memory_limit=1e6)
    with pytest.raises(MemoryError, match="2400 x 61"):
        mm.glm("y ~ x + a", data, family="binomial", memory_limit=1e6)
    assert mm.lm("z ~ x + a", data, memory_limit=1e8).coef.notna().all()


def test_lmer_many_passes_its_memory_limit_to_the_fits():
    data = _crossed()
    responses = pd.DataFrame({"r1": data["z"], "r2": data["x"] + data["z"]})
    with pytest.raises(MemoryError, match="memory_limit"):
        mm.lmer_many("~ x + (1 | a) + (1 | b)", data, responses, progress=False, memory_limit=50_000)


# ------------------------------------------------------------------ weights: all zero, some zero
def _cbpp() -> pd.DataFrame:
    return datasets.load("cbpp")


CBIND = "cbind(incidence, size - incidence) ~ period"


@pytest.mark.parametrize(
    "fit",
    [
        lambda d, c: mm.lmer("Reaction ~ Days + (1 | Subject)", d, weights="w0"),
        lambda d, c: mm.lm("Reaction ~ Days", d, weights="w0"),
        lambda d, c: mm.glmer(CBIND + " + (1 | herd)", c, family="binomial", weights="w0"),
        lambda d, c: mm.glm(CBIND, c, family="binomial", weights="w0"),
        lambda d, c: mm.glmer(CBIND + " + (1 | herd)", c.assign(size=0, incidence=0), family="binomial"),
    ],
    ids=["lmer", "lm", "glmer", "glm", "glmer-zero-trials"],
)
def test_all_weights_zero_is_refused_clearly(sleepstudy, fit):
    with pytest.raises(mm.DataError, match="weights .*are zero: no observation informs the fit"):
        fit(sleepstudy.assign(w0=0.0), _cbpp().assign(w0=0.0))


def test_some_zero_weights_drop_those_rows_from_the_degrees_of_freedom_as_r(sleepstudy):
    # R: lm(Reaction ~ Days, sleepstudy, weights = Days > 0) has df.residual 160 and nobs 162,
    # glm(cbind(...) ~ period, binomial, cbpp, weights = herd != 1) df.residual 48 and nobs 52
    zero = sleepstudy["Days"] == 0
    fit = mm.lm("Reaction ~ Days", sleepstudy, weights=np.where(zero, 0.0, 1.0))
    sub = mm.lm("Reaction ~ Days", sleepstudy[~zero])
    assert (fit.nobs, fit.df_residual) == (sub.nobs, sub.df_residual) == (162, 160)
    np.testing.assert_allclose(fit.coef, sub.coef, rtol=1e-12)
    cbpp = _cbpp()
    first = (cbpp["herd"].astype(str) == "1").to_numpy()
    g = mm.glm(CBIND, cbpp, family="binomial", weights=np.where(first, 0.0, 1.0))
    gsub = mm.glm(CBIND, cbpp[~first], family="binomial")
    assert (g.nobs, g.df_residual) == (gsub.nobs, gsub.df_residual) == (52, 48)
    assert g.aic == pytest.approx(gsub.aic, rel=1e-10)


# ------------------------------------------------------------------ missing offsets and weights
@pytest.fixture(scope="module")
def with_gaps(sleepstudy):
    """sleepstudy with one missing offset (row 3) and one missing weight (row 5)."""
    rows = np.arange(len(sleepstudy))
    return sleepstudy.assign(
        off=np.where(rows == 3, np.nan, 0.5 * sleepstudy["Days"]), w=np.where(rows == 5, np.nan, 1.0)
    )


def test_a_missing_offset_drops_its_row_in_every_spelling(with_gaps):
    f = "Reaction ~ Days + (1 | Subject)"
    fits = [
        mm.lmer("Reaction ~ Days + offset(off) + (1 | Subject)", with_gaps),
        mm.lmer(f, with_gaps, offset="off"),
        mm.lmer(f, with_gaps, offset=with_gaps["off"].to_numpy()),
    ]
    complete = mm.lmer(f, with_gaps.drop(index=3), offset="off")
    for fit in fits:
        assert fit.nobs == len(with_gaps) - 1
        assert fit.objective == pytest.approx(complete.objective, rel=1e-12)
    lm_fits = [
        mm.lm("Reaction ~ Days + offset(off)", with_gaps),
        mm.lm("Reaction ~ Days", with_gaps, offset="off"),
    ]
    assert lm_fits[0].nobs == lm_fits[1].nobs == len(with_gaps) - 1
    np.testing.assert_allclose(lm_fits[0].coef, lm_fits[1].coef, rtol=1e-12)


def test_a_missing_weight_drops_its_row(with_gaps):
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", with_gaps, weights="w")
    complete = mm.lmer("Reaction ~ Days + (1 | Subject)", with_gaps.drop(index=5), weights="w")
    assert fit.nobs == len(with_gaps) - 1
    assert fit.objective == pytest.approx(complete.objective, rel=1e-12)
    g = mm.glm("Reaction ~ Days", with_gaps, family="gaussian", weights="w")
    assert g.nobs == len(with_gaps) - 1


@pytest.mark.parametrize(
    ("kwargs", "formula", "column"),
    [
        ({"offset": "off"}, "Reaction ~ Days + (1 | Subject)", "'off'"),
        ({}, "Reaction ~ Days + offset(off) + (1 | Subject)", "'off'"),
        ({"weights": "w"}, "Reaction ~ Days + (1 | Subject)", "'w'"),
    ],
)
def test_missing_offsets_and_weights_are_refused_alike_with_na_action_raise(
    with_gaps, kwargs, formula, column
):
    with pytest.raises(mm.DataError, match=f"missing values in {column}"):
        mm.lmer(formula, with_gaps, na_action="raise", **kwargs)


def test_quasi_families_in_glmer_point_to_glm():
    cbpp = datasets.load("cbpp")
    with pytest.raises(ValueError, match="not available in glmer.*mm.glm"):
        mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="quasibinomial")
    fit = mm.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="quasibinomial")
    assert np.isfinite(fit.coef).all()


def test_dask_frames_follow_the_same_weights_rules(sleepstudy):
    dd = pytest.importorskip("dask.dataframe")
    rows = np.arange(len(sleepstudy))
    data = sleepstudy.assign(w=np.where(rows == 5, np.nan, 1.0), w0=0.0)
    frame = dd.from_pandas(data, npartitions=3)
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", frame, weights="w")
    same = mm.lmer("Reaction ~ Days + (1 | Subject)", data, weights="w")
    assert fit.nobs == same.nobs == len(data) - 1
    assert fit.objective == pytest.approx(same.objective, rel=1e-10)
    with pytest.raises(mm.DataError, match="weights .*are zero: no observation informs the fit"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", frame, weights="w0")


# ------------------------------------------------------------------ an infinite response
@pytest.mark.parametrize(
    "fit, formula, kwargs",
    [
        (mm.lmer, "y ~ Days + (1 | Subject)", {}),
        (mm.lm, "y ~ Days", {}),
        (mm.glmer, "y ~ Days + (1 | Subject)", {"family": "poisson"}),
        (mm.glmer, "y ~ Days + (1 | Subject)", {"family": "nbinom2"}),
        (mm.glmer_nb, "y ~ Days + (1 | Subject)", {}),
        (mm.glm, "y ~ Days", {"family": "poisson"}),
        (mm.glm, "cbind(y, 5) ~ Days", {"family": "binomial"}),
    ],
)
def test_an_infinite_response_is_named_alike_by_every_model(sleepstudy, fit, formula, kwargs):
    """glmer and glm once failed later (no conditional mode; no starting values, with a
    RuntimeWarning); every model names the column as lmer's and lm's model frame does."""
    data = sleepstudy.assign(y=np.round(sleepstudy["Reaction"] / 100))
    data.loc[7, "y"] = np.inf
    data.loc[3, "y"] = np.nan  # missing values still just drop their rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mm.DataError, match="column 'y' has infinite values"):
            fit(formula, data, **kwargs)
