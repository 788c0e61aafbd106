"""The objective's and the polish's fast paths give the numbers of the general code, bit for bit."""

import pickle

import cloudpickle
import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.numerics.newton import minimize_batch, minimize_one
from mixedmodels.numerics.objective import criterion, criterion_function

MODELS = [
    ("seed", "y ~ x + (1 | p)"),  # one scalar term
    ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),  # a 2x2 first block
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),  # crossed: S has Z rows
    ("pastes", "strength ~ 1 + (1 | batch/cask)"),  # nested: not every pair of rows meets
    ("sleepstudy", "Reaction ~ Days + (Days || Subject)"),
]


@pytest.fixture(scope="module", params=MODELS, ids=lambda m: m[1])
def fit(request):
    name, formula = request.param
    return mm.lmer(formula, datasets.load(name))


def _thetas(fit, count=6):
    rng = np.random.default_rng(7)
    theta, lower = fit.opt.theta, fit.pls.layout.lower()
    return [np.maximum(theta * np.exp(rng.normal(0, 0.5, len(theta))), lower) for _ in range(count)]


def test_parts_equal_the_factor(fit):
    pls = fit.pls
    parts = pls.parts_function()
    for theta in _thetas(fit) + [np.zeros(len(fit.opt.theta))]:
        f = pls.factor(theta)
        assert parts(theta) == (f.logdet_L, f.logdet_RX, f.r2)


def test_criterion_function_equals_criterion_and_pickles(fit):
    fn = criterion_function(fit.pls, fit.reml)
    shipped = pickle.loads(cloudpickle.dumps(fn))
    for theta in _thetas(fit):
        want = criterion(fit.pls.factor(theta), fit.pls.n, fit.pls.p, fit.reml)
        assert fn(theta) == want and shipped(theta) == want
        assert fn(theta, sigma=2.0) == criterion(fit.pls.factor(theta), fit.pls.n, fit.pls.p, fit.reml, 2.0)


def test_minimize_one_takes_the_batch_steps(fit):
    fn = criterion_function(fit.pls, fit.reml)
    lower = fit.pls.layout.lower()

    def batch(points, rows):
        return np.array([fn(x) for x in points])

    for start in _thetas(fit, 4):
        theta, value, ok = minimize_one(fn, start, lower, max_iter=20)
        want = minimize_batch(batch, start[None, :], lower, max_iter=20)
        assert np.array_equal(theta, want[0][0]) and value == want[1][0] and ok == want[2][0]
