"""Clear refusals and the rules for unusual inputs (issue 26): memory limits for every model
kind, all-zero weights, missing offsets and weights, the Gaussian family's links."""

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
def test_gaussian_with_a_log_link_is_refused_naming_the_family_and_link(sleepstudy, fit):
    formula = "Reaction ~ Days + (1 | Subject)" if fit is mm.glmer else "Reaction ~ Days"
    with pytest.raises(NotImplementedError, match="Gaussian family with a non-identity link") as info:
        fit(formula, sleepstudy, family="gaussian", link="log")
    assert "'log'" in str(info.value)


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

    glmer_module = importlib.import_module("mixedmodels.glmer")

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
