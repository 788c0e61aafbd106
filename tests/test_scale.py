"""The generated crossed design (benchmarks/crossed_data.py) at a small size, against lme4.

tests/data/crossed_small.csv: 3000 ratings, 300 users, 60 items (seed 5); the reference values
were made by tests/reference/make_crossed_reference.R.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference

import mixedmodels as mm

DATA = Path(__file__).parent / "data" / "crossed_small.csv"


def test_small_generated_crossed_data_matches_lme4():
    ref = load_reference("crossed_small")
    fit = mm.lmer(ref["formula"], pd.read_csv(DATA))
    np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=2e-4)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=2e-4)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=5e-4)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=2e-4)
    assert fit.objective <= ref["objective"] + 1e-6
    sd = fit.varcorr.sdcor.to_numpy()
    np.testing.assert_allclose(sd, ref["sd"], rtol=5e-4)
