"""The profiled criterion at given theta, against lme4's own tests and a dense evaluation."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.numerics.objective import criterion


@pytest.fixture(scope="module")
def dyestuff_fit():
    return mm.lmer("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))


def test_dyestuff_reml_criterion_matches_lme4(dyestuff_fit):
    assert dyestuff_fit.criterion([1.0]) == pytest.approx(319.792389042002, abs=1e-9)
    assert dyestuff_fit.criterion([0.0]) == pytest.approx(326.023232155879, abs=1e-9)


def _dense_ml_deviance(fit, theta):
    """-2 log L at theta from the marginal normal density, beta and sigma profiled by GLS."""
    design = fit.design
    Z = fit.pls.Z1.toarray()
    if fit.pls.qrest:
        Z = np.hstack([Z, fit.pls.Zrest.toarray()])
    Lam = fit.pls.lambda_matrix(np.asarray(theta)).toarray()
    V = Z @ Lam @ Lam.T @ Z.T + np.eye(len(design.y))
    Vinv = np.linalg.inv(V)
    X, y = design.X, design.y
    beta = np.linalg.solve(X.T @ Vinv @ X, X.T @ Vinv @ y)
    r = y - X @ beta
    sigma2 = r @ Vinv @ r / len(y)
    return -2 * multivariate_normal(X @ beta, sigma2 * V).logpdf(y)


@pytest.mark.parametrize(
    ("formula", "name", "theta"),
    [
        ("Reaction ~ Days + (Days | Subject)", "sleepstudy", [0.9, 0.1, 0.3]),
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin", [1.5, 3.0]),
        ("strength ~ 1 + (1 | batch/cask)", "pastes", [2.0, 0.5]),
    ],
)
def test_ml_deviance_equals_dense_marginal_likelihood(formula, name, theta):
    fit = mm.lmer(formula, datasets.load(name), reml=False)
    assert fit.criterion(theta) == pytest.approx(_dense_ml_deviance(fit, theta), rel=1e-10)


@pytest.mark.parametrize(
    ("formula", "name"),
    [
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin"),
        ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
        ("strength ~ 1 + (1 | batch/cask)", "pastes"),
        ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy"),
    ],
)
@pytest.mark.parametrize("heavy_ratio", [6.0, 1e9])
def test_large_schur_layout_gives_the_same_criterion(monkeypatch, formula, name, heavy_ratio):
    """Big models keep P with a row per dense position, and update the Schur complement densely
    for first-term levels with many non-zero rows (all of them with heavy_ratio=1e9); forced here
    on small models, the same numbers."""
    from mixedmodels.formula.design import build_design
    from mixedmodels.formula.terms import parse_formula
    from mixedmodels.numerics import pls as pls_module

    design = build_design(parse_formula(formula), datasets.load(name))
    small = pls_module.PLS(design.reterms, design.X, design.y)
    monkeypatch.setattr(pls_module, "LARGE_QR", 0)
    monkeypatch.setattr(pls_module, "HEAVY_RATIO", heavy_ratio)
    large = pls_module.PLS(design.reterms, design.X, design.y)
    assert large.large and not small.large
    if heavy_ratio > 1e6 and large.k1 == 1:
        assert len(large._heavy) == large.n1 and large.P.nnz == 0
    rng = np.random.default_rng(1)
    for _ in range(3):
        theta = small.layout.start() * rng.uniform(0.2, 2.0, small.layout.ntheta)
        for reml in (True, False):
            want = criterion(small.factor(theta), small.n, small.p, reml)
            assert criterion(large.factor(theta, reuse=True), large.n, large.p, reml) == pytest.approx(
                want, rel=1e-12
            )


@pytest.mark.parametrize(
    ("formula", "name"),
    [
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin"),
        ("strength ~ 1 + (1 | batch/cask)", "pastes"),
        ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy"),
    ],
)
def test_small_schur_with_dense_updates_gives_the_same_criterion(monkeypatch, formula, name):
    """A small Schur complement whose pair map would be large updates heavy levels densely
    (forced here with SMALL_PAIRS=0): the same numbers as the pair map, also for scaled rest terms."""
    from mixedmodels.formula.design import build_design
    from mixedmodels.formula.terms import parse_formula
    from mixedmodels.numerics import pls as pls_module

    design = build_design(parse_formula(formula), datasets.load(name))
    pairs = pls_module.PLS(design.reterms, design.X, design.y)
    monkeypatch.setattr(pls_module, "SMALL_PAIRS", 0)
    monkeypatch.setattr(pls_module, "HEAVY_RATIO", 1e9)
    dense = pls_module.PLS(design.reterms, design.X, design.y)
    assert not dense.large and len(dense._heavy) == dense.n1 and pairs._heavy_B is None
    rng = np.random.default_rng(2)
    for _ in range(3):
        theta = pairs.layout.start() * rng.uniform(0.2, 2.0, pairs.layout.ntheta)
        for reml in (True, False):
            want = criterion(pairs.factor(theta), pairs.n, pairs.p, reml)
            got = criterion(dense.factor(theta, reuse=True), dense.n, dense.p, reml)
            assert got == pytest.approx(want, rel=1e-12)
