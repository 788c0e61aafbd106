"""Binomial counts with tiny probabilities (issue 26): 20 groups of 10 rows, x ~ N(0, 1),
logit p = intercept + 0.5 x + b_g with b_g ~ N(0, 0.3^2), k ~ Binomial(1e8, p).

Usage: python tests/data/make_tiny_probability.py  (writes tiny_probability_15.csv and
tiny_probability_17.csv beside it, for intercepts -15 and -17; fixed seeds)
"""

from pathlib import Path

import numpy as np
import pandas as pd

SIZE = 100_000_000


def tiny_probability(intercept: float, seed: int) -> pd.DataFrame:
    """One data set: columns g, x, k, size."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(1, 21), 10)
    x = rng.standard_normal(200)
    b = rng.normal(0.0, 0.3, 20)
    eta = intercept + 0.5 * x + b[g - 1]
    k = rng.binomial(SIZE, 1.0 / (1.0 + np.exp(-eta)))
    return pd.DataFrame({"g": [f"g{i:02d}" for i in g], "x": np.round(x, 6), "k": k, "size": SIZE})


if __name__ == "__main__":
    here = Path(__file__).parent
    for intercept, seed in ((-15, 2615), (-17, 2617)):
        tiny_probability(intercept, seed).to_csv(here / f"tiny_probability_{-intercept}.csv", index=False)
