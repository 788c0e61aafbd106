"""Profile intervals checked independently at their ends, over many shapes of model.

At each reported end of a 95% profile interval, the ML deviance is minimized again with that
parameter held at the end's value, by other code (:mod:`zeta_check`: the dense marginal
likelihood, another parametrization, scipy's optimizers, several starts): |zeta| there must be
the normal quantile to 1e-3. An end on a bound (a standard deviation of 0, a correlation of
+-1) is checked the other way: |zeta| at the bound is at most the quantile.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from zeta_check import constrained_deviance

import mixedmodels as mm
from mixedmodels import datasets

DATA = Path(__file__).parent / "data"
Z95 = 1.959963984540054


def _simulated(kind: str) -> pd.DataFrame:
    """Small data sets of chosen shapes, made the same way every time."""
    rng = np.random.default_rng(
        {"near_plus": 1, "near_minus": 2, "three": 3, "crossed": 4, "nested": 5}[kind]
    )
    if kind in ("near_plus", "near_minus", "three"):
        g = np.repeat(np.arange(15), 8)
        x = np.tile(np.linspace(-1, 1, 8), 15)
        z = rng.normal(size=len(g))
        rho = {"near_plus": 0.97, "near_minus": -0.999, "three": 0.5}[kind]
        cov = np.array([[1.0, rho * 0.6], [rho * 0.6, 0.36]])
        b = rng.multivariate_normal([0, 0], cov, 15)
        y = 2 + 0.5 * x + b[g, 0] + b[g, 1] * x + rng.normal(0, 0.5, len(g))
        if kind == "three":
            y = y + rng.normal(0, 0.4, 15)[g] * z + 0.3 * z
        return pd.DataFrame({"y": y, "x": x, "z": z, "g": [f"g{i:02d}" for i in g]})
    if kind == "crossed":
        a, b = np.meshgrid(np.arange(12), np.arange(9), indexing="ij")
        a, b = np.repeat(a.ravel(), 2), np.repeat(b.ravel(), 2)
        x = rng.normal(size=len(a))
        y = 1 + x + rng.normal(0, 0.8, 12)[a] + rng.normal(0, 0.4, 12)[a] * x + rng.normal(0, 0.6, 9)[b]
        y = y + rng.normal(0, 0.7, len(a))
        return pd.DataFrame({"y": y, "x": x, "a": [f"a{i}" for i in a], "b": [f"b{i}" for i in b]})
    a = np.repeat(np.arange(6), 20)
    s = np.repeat(np.arange(24), 5)
    x = rng.normal(size=len(a))
    y = 3 + 0.4 * x + rng.normal(0, 1, 6)[a] + rng.normal(0, 0.5, 24)[s] + rng.normal(0, 0.3, 24)[s] * x
    y = y + rng.normal(0, 0.5, len(a))
    return pd.DataFrame({"y": y, "x": x, "a": [f"a{i}" for i in a], "s": [f"s{i}" for i in s]})


def _load(name: str) -> pd.DataFrame:
    if name in ("orthodont", "chickweight", "machines", "oats"):
        return pd.read_csv(DATA / f"{name}.csv", dtype={"Diet": str, "Chick": str, "Block": str})
    if name.startswith("sim_"):
        return _simulated(name.removeprefix("sim_"))
    return datasets.load(name)


# (data, formula, reml, which): which = None profiles every parameter
MODELS = [
    ("seed", "y ~ x + (1 | p)", True, None),
    ("sleepstudy", "Reaction ~ Days + (Days | Subject)", True, None),
    ("sleepstudy", "Reaction ~ Days + (Days | Subject)", False, None),
    ("sleepstudy", "Reaction ~ Days + (Days || Subject)", True, None),
    ("sleepstudy", "Reaction ~ 1 + (1 | Subject)", False, None),
    ("dyestuff", "Yield ~ 1 + (1 | Batch)", True, None),
    ("dyestuff", "Yield ~ 1 + (1 | Batch)", False, None),
    ("dyestuff2", "Yield ~ 1 + (1 | Batch)", True, None),
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True, None),
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", False, None),
    ("pastes", "strength ~ 1 + (1 | batch/cask)", True, None),
    ("cake", "angle ~ temp + (1 | recipe:replicate)", True, None),
    ("orthodont", "distance ~ age * Sex + (age | Subject)", True, "theta_"),
    ("orthodont", "distance ~ age + (age | Subject)", False, None),
    ("chickweight", "weight ~ Time * Diet + (Time | Chick)", True, "theta_"),
    # lme4 1.1-31 warns "non-monotonic profile" here and misplaces three correlation ends:
    # cor_MachineC.(Intercept) lower -1 (zeta 6.02), cor_MachineB.(Intercept) upper 0.8785
    # (zeta 1.883), cor_MachineC.MachineB upper 0.9330 (zeta 2.933)
    ("machines", "score ~ Machine + (Machine | Worker)", True, "theta_"),
    ("oats", "yield ~ nitro + (1 | Block/Variety)", True, None),
    ("sim_near_plus", "y ~ x + (x | g)", True, None),
    ("sim_near_minus", "y ~ x + (x | g)", True, None),
    ("sim_near_minus", "y ~ x + (x | g)", False, "theta_"),
    ("sim_three", "y ~ x + z + (x + z | g)", True, "theta_"),
    ("sim_crossed", "y ~ x + (x | a) + (1 | b)", True, "theta_"),
    ("sim_nested", "y ~ x + (1 | a) + (x | a:s)", True, "theta_"),
    ("sim_nested", "y ~ x + (1 | a/s)", False, None),
]


def _bound(name: str, value: float) -> bool:
    return (name.startswith(("sd_", "sigma")) and value == 0.0) or (
        name.startswith("cor_") and abs(value) == 1.0
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "formula", "reml", "which"), MODELS, ids=[f"{m[0]}:{m[1]}:{m[2]}" for m in MODELS]
)
def test_profile_interval_ends_have_the_normal_quantile_as_zeta(data, formula, reml, which):
    fit = mm.lmer(formula, _load(data), reml=reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        prof = fit.profile(which=which, progress=False)
    ci = prof.confint(0.95)
    ml = fit if not reml else fit.update(reml=False)
    dev_min = min(constrained_deviance(ml, None), ml.objective)
    names = [*ml.varpar_names, "sigma", *ml.fixef_names]
    for name, row in ci.iterrows():
        for value in row:
            assert math.isfinite(value), f"{name}: no interval end"
            zeta = math.sqrt(max(constrained_deviance(ml, names.index(name), value) - dev_min, 0.0))
            if _bound(name, value):
                assert zeta <= Z95 + 1e-3, f"{name} = {value} (a bound): |zeta| {zeta:.5f} > {Z95:.5f}"
            else:
                assert zeta == pytest.approx(Z95, abs=1e-3), f"{name} = {value}: |zeta| {zeta:.5f}"
