"""Generated crossed data of any size, made one partition at a time (for scale and Dask).

    rating = 3 + 0.5 x1 - 0.25 x2 + 0.3 treat + u_user + v_item + e,
    u ~ N(0, 0.6^2), v ~ N(0, 0.4^2), e ~ N(0, 1)

Rows per user and per item are skewed (level ``k`` drawn with weight ``1 / (k + 10)^0.8``), as
in rating data. The random effects come from one stream shared by all partitions, each
partition's rows from its own: a partition is the same whoever makes it, and the data set is
the same whether made whole (:func:`crossed`) or lazily (:func:`crossed_dask`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FORMULA", "TRUTH", "crossed", "crossed_dask", "crossed_partition"]

TRUTH = {
    "(Intercept)": 3.0,
    "x1": 0.5,
    "x2": -0.25,
    "treat": 0.3,
    "sd_user": 0.6,
    "sd_item": 0.4,
    "sigma": 1.0,
}
FORMULA = "rating ~ 1 + x1 + x2 + treat + (1 | user) + (1 | item)"


def _skewed(rng: np.random.Generator, n: int, levels: int, exponent: float = 0.8) -> np.ndarray:
    weights = 1.0 / (np.arange(levels) + 10.0) ** exponent
    return rng.choice(levels, size=n, p=weights / weights.sum())


def crossed_partition(index: int, rows: int, users: int, items: int, seed: int = 0) -> pd.DataFrame:
    """Partition ``index`` (``rows`` rows) of the crossed data set with this shape and seed."""
    effects = np.random.default_rng([seed, 0])
    u = effects.normal(scale=TRUTH["sd_user"], size=users)
    v = effects.normal(scale=TRUTH["sd_item"], size=items)
    rng = np.random.default_rng([seed, 1, index])
    user, item = _skewed(rng, rows, users), _skewed(rng, rows, items)
    x1, x2 = rng.normal(size=rows), rng.uniform(-1, 1, size=rows)
    treat = rng.integers(0, 2, size=rows).astype(float)
    noise = rng.normal(scale=TRUTH["sigma"], size=rows)
    t = TRUTH
    rating = t["(Intercept)"] + t["x1"] * x1 + t["x2"] * x2 + t["treat"] * treat + u[user] + v[item] + noise
    return pd.DataFrame({"rating": rating, "x1": x1, "x2": x2, "treat": treat, "user": user, "item": item})


def _sizes(n: int, npartitions: int) -> list[int]:
    base, extra = divmod(n, npartitions)
    return [base + (i < extra) for i in range(npartitions)]


def crossed(n: int, users: int, items: int, npartitions: int = 1, seed: int = 0) -> pd.DataFrame:
    """The whole data set in memory: its partitions one after the other."""
    parts = [crossed_partition(i, m, users, items, seed) for i, m in enumerate(_sizes(n, npartitions))]
    return pd.concat(parts, ignore_index=True)


def crossed_dask(n: int, users: int, items: int, npartitions: int, seed: int = 0):
    """The same data set as a lazy Dask DataFrame (needs ``mixedmodels[dask]``)."""
    import dask.dataframe as dd

    meta = crossed_partition(0, 0, users, items, seed)
    return dd.from_map(
        crossed_partition,
        range(npartitions),
        _sizes(n, npartitions),
        users=users,
        items=items,
        seed=seed,
        meta=meta,
    )
