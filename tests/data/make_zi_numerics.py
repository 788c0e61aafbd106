"""Data of tests/test_zero_inflation_numerics.py (issue 29): 120 rows, 12 groups ``g`` (random
intercepts b_g ~ N(0, 0.6^2)), 5 groups ``h``, a factor ``f`` (a, b, c), covariates x, z ~ N(0, 1),
eta = 0.5 + 0.4 x + b_g, and three responses: ``count`` (NB2 with size 2 and mean exp(eta), made
zero with probability 0.3), ``binary`` (Bernoulli with logit p = eta - 0.5), ``gauss`` (eta plus
normal noise of SD 0.5 where f = a, 1.5 elsewhere); prior weights ``wt`` (1, 2 or 3); ``gauss0``:
``gauss`` made 0 where ``count`` is 0 (a zero-inflated Gaussian's response, negative values too).

Usage: python tests/data/make_zi_numerics.py  (writes zi_numerics.csv beside it; fixed seed)
"""

from pathlib import Path

import numpy as np
import pandas as pd


def zi_numerics(seed: int = 1, n: int = 120, groups: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    h = rng.integers(0, 5, n)
    f = rng.choice(list("abc"), n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    eta = 0.5 + 0.4 * x + rng.normal(0.0, 0.6, groups)[g]
    mu = np.exp(eta)
    count = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    count = np.where(rng.random(n) < 0.3, 0, count)
    binary = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta + 0.5))).astype(int)
    gauss = eta + rng.normal(size=n) * np.where(f == "a", 0.5, 1.5)
    wt = rng.integers(1, 4, n)
    return pd.DataFrame({
        "g": [f"g{i + 1:02d}" for i in g], "h": [f"h{i + 1}" for i in h], "f": f, "x": x, "z": z,
        "count": count, "binary": binary, "gauss": gauss, "wt": wt,
        "gauss0": np.where(count == 0, 0.0, gauss),
    })  # fmt: skip


if __name__ == "__main__":
    zi_numerics().to_csv(Path(__file__).parent / "zi_numerics.csv", index=False)
