"""Clear refusals and the rules for unusual inputs (issue 26): memory limits for every model
kind, all-zero weights, missing offsets and weights, the Gaussian family's links."""

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
