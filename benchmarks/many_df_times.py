"""The cost of lmer_many's Satterthwaite degrees of freedom and of power's t tests.

lmer_many on 2,000 responses of two designs (sleepstudy, and the genomics-shaped one of
``many_times.py``) with and without the batched degrees of freedom (without: the df step
replaced by NaN in this process), medians of repeats; ``power`` per replicate on sleepstudy
for each test, and the previous Satterthwaite path (a single fit and ``coef_table`` per
refit) for comparison.
"""

from __future__ import annotations

import importlib
import time
from contextlib import nullcontext
from unittest import mock

import numpy as np
import pandas as pd
from many_times import genomics_design, sleep_design

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.inference.anova import coef_table
from mixedmodels.replicates.bootstrap import LmerRefits

many = importlib.import_module("mixedmodels.replicates.many")
power = importlib.import_module("mixedmodels.replicates.power")  # mm.power is the function


def _median_time(repeats: int, fn, *args, **kwargs) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _no_df(batch, Y, theta, levels=None):
    return np.full((len(theta), batch.p), np.nan)


def many_rows(repeats: int = 5) -> list[dict]:
    rng = np.random.default_rng(2026)
    rows = []
    for name, (data, Y, rhs) in {"sleepstudy": sleep_design(rng), "genomics": genomics_design(rng)}.items():
        mm.lmer_many(rhs, data, Y[:, :50], progress=False)
        with mock.patch.object(many, "satterthwaite_df", _no_df):
            without = _median_time(repeats, mm.lmer_many, rhs, data, Y, progress=False)
        with_df = _median_time(repeats, mm.lmer_many, rhs, data, Y, progress=False)
        rows.append({"design": name, "without df s": without, "with df s": with_df, "x": with_df / without})
    return rows


class _PerRefitSatterthwaite(power._KenwardRogerRefits):
    """The previous path: a single fit and its coef_table for every refit."""

    def __init__(self, fit, j, theta):
        base = power._quiet_fit(fit.design, fit.formula, theta, reml=fit.reml)
        self.model, self.j = LmerRefits(base, lambda f: coef_table(f)["Pr(>|t|)"].iloc[j]), j


def power_rows() -> list[dict]:
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    rows = []
    for test, nsim in (("lrt", 1000), ("satterthwaite", 1000), ("kr", 100), ("per-refit satterthwaite", 100)):
        old = test.startswith("per-refit")
        kind = "satterthwaite" if old else test
        previous = mock.patch.object(power, "_SatterthwaiteRefits", _PerRefitSatterthwaite)
        with previous if old else nullcontext():
            mm.power(fit, "Days", 3.0, nsim=20, test=kind, seed=0, progress=False)
            t = _median_time(3, mm.power, fit, "Days", 3.0, nsim=nsim, test=kind, seed=1, progress=False)
        rows.append({"test": test, "ms per replicate": 1e3 * t / nsim})
    return rows


def main() -> None:
    print(pd.DataFrame(many_rows()).set_index("design").round(3).to_string())
    print(pd.DataFrame(power_rows()).set_index("test").round(3).to_string())


if __name__ == "__main__":
    main()
