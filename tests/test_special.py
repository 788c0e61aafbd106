"""The vectorized trigamma and tetragamma functions (families/special.py) against scipy's."""

import numpy as np
import pytest
from scipy import special

from mixedmodels.families.special import (
    digamma_difference,
    polygamma_differences,
    trigamma,
    trigamma_tetragamma,
)

X = np.concatenate([np.logspace(-6, 5, 3000), np.random.default_rng(1).gamma(2.0, 2.0, 500) + 1e-3])


def test_trigamma_and_tetragamma_equal_scipys_to_rounding():
    psi1, psi2 = trigamma_tetragamma(X)
    np.testing.assert_allclose(psi1, special.polygamma(1, X), rtol=5e-15)
    np.testing.assert_allclose(psi2, special.polygamma(2, X), rtol=5e-15)
    np.testing.assert_array_equal(trigamma(X), psi1)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_differences_are_exactly_zero_at_zero_counts_and_scipys_elsewhere(scale):
    rng = np.random.default_rng(2)
    y = rng.poisson(3.0, 400).astype(float)
    s = rng.gamma(2.0, scale, 400) + 1e-4
    B1, B2 = polygamma_differences(y, s)
    assert np.all(B1[y == 0] == 0.0) and np.all(B2[y == 0] == 0.0)
    want1 = special.polygamma(1, y + s) - special.polygamma(1, s)
    want2 = special.polygamma(2, y + s) - special.polygamma(2, s)
    scale1 = np.max(np.abs(special.polygamma(1, s)))
    scale2 = np.max(np.abs(special.polygamma(2, s)))
    np.testing.assert_allclose(B1, want1, rtol=1e-12, atol=1e-15 * scale1)
    np.testing.assert_allclose(B2, want2, rtol=1e-12, atol=1e-15 * scale2)
    A = digamma_difference(y, s)
    np.testing.assert_allclose(A, special.digamma(y + s) - special.digamma(s), rtol=1e-13, atol=1e-15)
    assert polygamma_differences(y, s, second=False)[1] is None
