"""What a new user's trial of ziformula / dispformula found (issue 29): each test failed before
its fix."""

from __future__ import annotations

import pytest

import mixedmodels as mm
from mixedmodels import datasets


def test_zero_inflated_binomial_with_trials_is_refused_clearly():
    """A zero-inflated binomial of cbind(k, n - k) stopped in a LinAlgError ("PIRLS found no
    conditional mode") from deep in the optimizer: the fit's working weights assume each row's
    information a multiple of one trial's, not true of p(0) = pi + (1 - pi)(1 - mu)^n."""
    cbpp = datasets.load("cbpp")
    with pytest.raises(NotImplementedError, match="one trial per row"):
        mm.glmer(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            cbpp,
            family="binomial",
            ziformula="~1",
        )
