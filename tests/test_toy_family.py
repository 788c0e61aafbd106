"""A family the package does not know: a Bernoulli response with a complementary log-log link,
written here as a new subclass of :class:`mixedmodels.families.Family` (not registered anywhere)
and passed to ``mm.glm`` and ``mm.glmer`` as ``family=``. The seam is the family object: the
fits must work without any change to the package, and give the maximum of the likelihood that
this file computes by brute force.

For a 0/1 response the saturated log-likelihood is 0, so the unit deviances are ``-2 log p``:
lme4's Laplace criterion ``sum d_i + |u|^2 + log det(I + Lambda'Z'WZ Lambda)`` (``W`` the
expected information at the conditional modes) and its quadrature criterion are ``-2 log`` of
the marginal likelihood's approximations, without a constant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import mixedmodels as mm
from mixedmodels.families import Family, Initialized, Link

EPS = np.finfo(float).eps


def _mu(eta):
    return np.clip(-np.expm1(-np.exp(np.minimum(eta, 700.0))), EPS, 1.0 - EPS)


def _mu_eta(eta):
    eta = np.minimum(np.asarray(eta, dtype=float), 700.0)
    return np.maximum(np.exp(eta - np.exp(eta)), EPS)


def _mu_eta_deriv(eta):
    eta = np.minimum(np.asarray(eta, dtype=float), 700.0)
    d = np.exp(eta - np.exp(eta))
    return np.where(d > EPS, d * (1.0 - np.exp(eta)), 0.0)


CLOGLOG = Link(
    "cloglog (a test's own)",
    lambda mu: np.log(-np.log1p(-np.asarray(mu, dtype=float))),
    _mu,
    _mu_eta,
    mu_eta_deriv=_mu_eta_deriv,
)


def _log_p(y, mu):
    """``log p(y | mu)`` of a 0/1 response."""
    return np.where(y == 1.0, np.log(mu), np.log1p(-mu))


class Bernoulli(Family):
    """0/1 responses, ``P(y = 1) = 1 - exp(-exp(eta))``: everything a fit asks of a family."""

    name = "bernoulli"
    reference_mu = 0.5
    mean_name = "probability"

    def __init__(self) -> None:
        super().__init__(CLOGLOG)

    def variance(self, mu):
        mu = np.asarray(mu, dtype=float)
        return mu * (1.0 - mu)

    def variance_deriv(self, mu):
        return 1.0 - 2.0 * np.asarray(mu, dtype=float)

    def dev_resids(self, y, mu, wt):
        return -2.0 * np.asarray(wt) * _log_p(np.asarray(y), np.asarray(mu))

    def aic(self, y, n, mu, wt, dev):
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def initialize(self, y, weights):
        y, weights = np.asarray(y, dtype=float), np.asarray(weights, dtype=float)
        if y.ndim != 1 or not np.all((y == 0.0) | (y == 1.0)):
            raise ValueError("a Bernoulli response is 0/1")
        return Initialized(y, np.ones(len(y)), weights, (weights * y + 0.5) / (weights + 1.0))

    def valid_mu(self, mu):
        mu = np.asarray(mu, dtype=float)
        return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))

    def draw(self, mu, weights, rng, dispersion=1.0):
        return rng.binomial(1, mu)


def _data(groups: int = 25, per: int = 8, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=groups * per)
    b = rng.normal(scale=0.8, size=groups)
    y = rng.binomial(1, _mu(-0.6 + 0.7 * x + b[g])).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{i:02d}" for i in g]})


DATA = _data()


def _design(data: pd.DataFrame):
    X = np.column_stack([np.ones(len(data)), data["x"].to_numpy()])
    codes = pd.factorize(data["g"], sort=True)[0]
    return X, data["y"].to_numpy(), codes


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# ----------------------------------------------------------------------------- glm
def test_glm_with_a_new_family_maximizes_its_likelihood():
    X, y, _ = _design(DATA)

    def minus_loglik(beta):
        return -float(np.sum(_log_p(y, _mu(X @ beta))))

    def gradient(beta):
        eta = X @ beta
        mu = _mu(eta)
        return -X.T @ ((y - mu) * _mu_eta(eta) / (mu * (1.0 - mu)))

    best = optimize.minimize(minus_loglik, np.zeros(2), jac=gradient, method="BFGS", options={"gtol": 1e-12})
    fit = mm.glm("y ~ x", DATA, family=Bernoulli())
    assert fit.family.name == "bernoulli" and fit.link == "cloglog (a test's own)"
    # IRLS stops as R's glm.fit, when the deviance changes by less than 1e-8 relative: the
    # coefficients are then within a few 1e-6 of the maximum, the deviance within far less
    np.testing.assert_allclose(fit.coef.to_numpy(), best.x, rtol=0, atol=2e-5)
    assert fit.deviance == pytest.approx(2.0 * best.fun, rel=1e-10)
    assert fit.loglik == pytest.approx(-best.fun, rel=1e-10)
    assert fit.aic == pytest.approx(2.0 * best.fun + 4.0, rel=1e-10)
    assert not fit.estimates_dispersion and fit.dispersion == 1.0
    # the package's own binomial family with its cloglog link is the same model
    same = mm.glm("y ~ x", DATA, family="binomial", link="cloglog")
    np.testing.assert_allclose(fit.coef.to_numpy(), same.coef.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fit.se.to_numpy(), same.se.to_numpy(), rtol=1e-8)


def test_glm_simulates_from_a_new_family():
    fit = mm.glm("y ~ x", DATA, family=Bernoulli())
    sims = fit.simulate(3, seed=1).to_numpy()
    assert sims.shape == (len(DATA), 3) and set(np.unique(sims)) <= {0.0, 1.0}
    expected = np.random.default_rng(1).binomial(1, np.broadcast_to(fit.fitted.to_numpy(), (3, len(DATA))))
    np.testing.assert_array_equal(sims, expected.T)


# ----------------------------------------------------------------------------- glmer
def _modes(X, y, codes, beta, theta):
    """Conditional modes of ``u`` per group (Newton on the penalized deviance, to machine
    precision) with the penalized deviance and the expected information there."""
    fixed = X @ beta
    ngroups = codes.max() + 1
    u = np.zeros(ngroups)
    for _ in range(100):
        eta = fixed + theta * u[codes]
        mu, d, d2 = _mu(eta), _mu_eta(eta), _mu_eta_deriv(eta)
        V = mu * (1.0 - mu)
        grad = np.bincount(codes, -2.0 * (y - mu) * d / V * theta, minlength=ngroups) + 2.0 * u
        dV = 1.0 - 2.0 * mu
        half_hess = d * d / V - (y - mu) * (d2 * V - d * d * dV) / V**2
        hess = 2.0 * np.bincount(codes, half_hess * theta**2, minlength=ngroups) + 2.0
        step = grad / hess
        u -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    eta = fixed + theta * u[codes]
    mu, d = _mu(eta), _mu_eta(eta)
    dev = np.bincount(codes, -2.0 * _log_p(y, mu), minlength=ngroups) + u * u
    W = d * d / (mu * (1.0 - mu))
    return u, dev, np.bincount(codes, W * theta**2, minlength=ngroups) + 1.0


def _laplace(params, X, y, codes):
    """lme4's Laplace criterion, group by group (the expected information in the determinant)."""
    beta, theta = params[:-1], params[-1]
    _, dev, info = _modes(X, y, codes, beta, theta)
    return float(np.sum(dev + np.log(info)))


def _exact(params, X, y, codes):
    """``-2 log`` of the marginal likelihood: each group's integral over its random effect
    ``b ~ N(0, 1)`` by the trapezoidal rule on a fine grid (all groups at once)."""
    beta, theta = params[:-1], params[-1]
    b = np.linspace(-10.0, 10.0, 1601)
    logp = _log_p(y[:, None], _mu((X @ beta)[:, None] + theta * b[None, :]))  # (rows, nodes)
    ngroups = codes.max() + 1
    per_group = np.zeros((ngroups, len(b)))
    np.add.at(per_group, codes, logp)
    log_f = per_group - 0.5 * b * b - 0.5 * np.log(2.0 * np.pi)
    top = log_f.max(axis=1, keepdims=True)
    value = np.trapezoid(np.exp(log_f - top), b, axis=1)
    return float(-2.0 * np.sum(top[:, 0] + np.log(value)))


def _newton_optimum(criterion, start, steps: int = 3, h: float = 1e-4):
    """The minimum of ``criterion`` near ``start`` by Newton steps on central differences."""
    X, y, codes = _design(DATA)
    x = np.array(start, dtype=float)
    k = len(x)
    E = np.eye(k) * h

    def f(z):
        return criterion(z, X, y, codes)

    for _ in range(steps):
        g = np.array([(f(x + E[i]) - f(x - E[i])) / (2 * h) for i in range(k)])
        H = np.empty((k, k))
        for i in range(k):
            for j in range(i, k):
                H[i, j] = H[j, i] = (
                    f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])
                ) / (4 * h * h)
        x = x - np.linalg.solve(H, g)
    return x, f(x)


def test_glmer_laplace_with_a_new_family_matches_the_brute_force_laplace():
    fit = _quiet(mm.glmer, "y ~ x + (1 | g)", DATA, family=Bernoulli())
    estimates = np.concatenate([fit.beta, fit.theta])
    X, y, codes = _design(DATA)
    # lme4's criterion at the optimum: PIRLS stopped at lme4's tolerance, so within about 1e-7
    assert -2.0 * fit.loglik == pytest.approx(_laplace(estimates, X, y, codes), rel=1e-7)
    optimum, value = _newton_optimum(_laplace, estimates)
    assert -2.0 * fit.loglik == pytest.approx(value, rel=1e-7)
    np.testing.assert_allclose(estimates, optimum, rtol=0, atol=1e-6)
    # the package's binomial family with its own cloglog link is the same model
    same = _quiet(mm.glmer, "y ~ x + (1 | g)", DATA, family="binomial", link="cloglog")
    assert fit.loglik == pytest.approx(same.loglik, rel=1e-10)
    np.testing.assert_allclose(estimates, np.concatenate([same.beta, same.theta]), rtol=1e-6)


def test_glmer_quadrature_with_a_new_family_maximizes_the_exact_likelihood():
    fit = _quiet(mm.glmer, "y ~ x + (1 | g)", DATA, family=Bernoulli(), nagq=25)
    estimates = np.concatenate([fit.beta, fit.theta])
    X, y, codes = _design(DATA)
    assert -2.0 * fit.loglik == pytest.approx(_exact(estimates, X, y, codes), rel=1e-9)
    optimum, value = _newton_optimum(_exact, estimates, steps=2)
    assert -2.0 * fit.loglik == pytest.approx(value, rel=1e-9)
    np.testing.assert_allclose(estimates, optimum, rtol=0, atol=1e-6)


def test_glmer_bootstrap_and_simulation_of_a_new_family():
    fit = _quiet(mm.glmer, "y ~ x + (1 | g)", DATA, family=Bernoulli())
    sims = fit.simulate(2, seed=3).to_numpy()
    assert set(np.unique(sims)) <= {0.0, 1.0}
    boot = _quiet(mm.bootstrap, fit, nsim=4, seed=2)
    assert np.asarray(boot.replicates).shape[0] == 4
    assert np.isfinite(np.asarray(boot.replicates, dtype=float)).all()


def test_a_family_that_estimates_a_dispersion_is_refused_by_glmer():
    from mixedmodels.families import QuasiBinomial

    with pytest.raises(NotImplementedError, match="estimates a dispersion"):
        mm.glmer("y ~ x + (1 | g)", DATA, family=QuasiBinomial())
