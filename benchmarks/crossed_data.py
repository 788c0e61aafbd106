"""Generated crossed data: ratings of items by users, a few fixed effects, a known truth.

    rating = 3 + 0.5 x1 - 0.25 x2 + 0.3 treat + u_user + v_item + e,
    u ~ N(0, 0.6^2), v ~ N(0, 0.4^2), e ~ N(0, 1)

Observations per user and per item are skewed (Zipf-like weights), as in real rating data:
a few users and items have many rows, most have few.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.datasets.crossed import FORMULA, TRUTH  # noqa: F401 (FORMULA: for scale.py)


def skewed_levels(rng: np.random.Generator, n: int, levels: int, exponent: float = 0.8) -> np.ndarray:
    """Level of each of n rows, level k drawn with weight 1 / (k + 10)^exponent; every level used."""
    weights = 1.0 / (np.arange(levels) + 10.0) ** exponent
    codes = rng.choice(levels, size=n - levels, p=weights / weights.sum())
    codes = np.concatenate([np.arange(levels), codes])  # each level at least once
    return rng.permutation(codes)


def generate(n: int, users: int, items: int, seed: int = 0) -> pd.DataFrame:
    """A data frame with n rows: rating, x1, x2, treat, user, item (integer codes)."""
    rng = np.random.default_rng(seed)
    user = skewed_levels(rng, n, users)
    item = skewed_levels(rng, n, items)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    treat = rng.integers(0, 2, size=n).astype(float)
    u = rng.normal(scale=TRUTH["sd_user"], size=users)
    v = rng.normal(scale=TRUTH["sd_item"], size=items)
    rating = (
        TRUTH["(Intercept)"]
        + TRUTH["x1"] * x1
        + TRUTH["x2"] * x2
        + TRUTH["treat"] * treat
        + u[user]
        + v[item]
        + rng.normal(scale=TRUTH["sigma"], size=n)
    )
    return pd.DataFrame({"rating": rating, "x1": x1, "x2": x2, "treat": treat, "user": user, "item": item})
