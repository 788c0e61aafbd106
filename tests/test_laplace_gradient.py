"""The Laplace criterion's closed-form gradient against central differences of the criterion,
and the quasi-Newton steps that use it, on models of every shape PIRLS handles."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.datasets import load
from mixedmodels.glmm.laplace_gradient import laplace_gradient
from mixedmodels.glmm.pirls import laplace_deviance, pirls
from mixedmodels.numerics.quasi_newton import minimize_gradient

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _simulated(seed: int = 3) -> pd.DataFrame:
    """Counts and successes on crossed factors, with a random slope and an offset."""
    rng = np.random.default_rng(seed)
    n = 300
    g = rng.integers(0, 12, n)
    h = rng.integers(0, 7, n)
    x = rng.normal(size=n)
    eta = 0.3 + 0.5 * x + rng.normal(scale=0.6, size=12)[g] + rng.normal(scale=0.4, size=12)[g] * x
    eta += rng.normal(scale=0.5, size=7)[h]
    return pd.DataFrame(
        {
            "g": pd.Categorical(g),
            "h": pd.Categorical(h),
            "x": x,
            "t": rng.uniform(0.5, 2.0, n),
            "count": rng.poisson(np.exp(eta)),
            "y": rng.binomial(1, 1 / (1 + np.exp(-eta))),
        }
    )


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return mm.glmer(formula, data, **kw)


CASES = {
    "cbpp logit": lambda: _fit(CBPP, load("cbpp"), family="binomial"),
    "cbpp cloglog": lambda: _fit(CBPP, load("cbpp"), family="binomial", link="cloglog"),
    "crossed probit": lambda: _fit(
        "y ~ x + (1 | g) + (1 | h)", _simulated(), family="binomial", link="probit"
    ),
    "slopes poisson": lambda: _fit(
        "count ~ x + offset(np.log(t)) + (x | g) + (1 | h)", _simulated(), family="poisson"
    ),
}


def _criterion(model, x, joint=False):
    nt = model.layout.ntheta
    theta, beta = x[:nt], (np.zeros(model.p) if joint else x[nt:])
    st = pirls(model, theta, beta, joint=joint, tol=1e-15, maxit=300)
    return laplace_deviance(model, st), st


def _central(model, x, joint=False, h=1e-4):
    out = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h * max(1.0, abs(x[j]))
        out[j] = (_criterion(model, x + e, joint)[0] - _criterion(model, x - e, joint)[0]) / (2 * e[j])
    return out


@pytest.fixture(scope="module", params=sorted(CASES))
def fit(request):
    return CASES[request.param]()


def test_gradient_matches_differences_away_from_the_optimum(fit):
    model = fit.model
    x = np.concatenate([fit.theta, fit.beta])
    x = x + np.where(np.arange(len(x)) < fit.ntheta, 0.07, -0.05)
    _, st = _criterion(model, x)
    g = laplace_gradient(model, st)
    fd = _central(model, x)
    assert np.max(np.abs(g)) > 0.5  # away from the optimum: the check has something to check
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-4)


def test_joint_gradient_over_theta_matches_differences(fit):
    model = fit.model
    theta = fit.theta * 1.2 + 0.05
    _, st = _criterion(model, theta, joint=True)
    g = laplace_gradient(model, st)
    assert g.shape == theta.shape
    np.testing.assert_allclose(g, _central(model, theta, joint=True), rtol=1e-5, atol=1e-4)


def test_gradient_vanishes_at_the_fit(fit):
    _, st = _criterion(fit.model, np.concatenate([fit.theta, fit.beta]))
    free = np.concatenate([fit.theta > 0, np.ones(fit.model.p, bool)])
    assert np.max(np.abs(laplace_gradient(fit.model, st)[free])) < 2e-3


def test_quasi_newton_stops_at_an_interior_optimum_not_on_the_bound():
    """f(x) = (x^2 - 1)^2 + x^2 / 10 on x >= 0 has zero gradient at the bound 0 (a maximum
    along x): the inward check must carry the steps to the minimum near 0.97."""

    def fg(x):
        return float((x[0] ** 2 - 1) ** 2 + x[0] ** 2 / 10), np.array([4 * x[0] * (x[0] ** 2 - 1) + x[0] / 5])

    res = minimize_gradient(fg, np.array([0.0]), np.array([0.0]))
    assert res.converged[0]
    assert res.x[0, 0] == pytest.approx(np.sqrt(0.95), rel=1e-6)
