"""Numerics of the structured covariances (ar1, cs, homcs, toep, homdiag, diag, us).

- the analytic ``dT / dtheta`` of each structure against central differences of its template;
- the lmer ML and REML criteria at random ``theta`` against the dense likelihood,
  ``V / sigma^2 = Z (I (x) T T') Z' + I`` with ``beta`` and ``sigma`` profiled out;
- the glmer (Poisson) Laplace criterion's closed-form gradient against central differences.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import dense_profiled_criterion
from scipy import optimize

import mixedmodels as mm
from mixedmodels.covariance import structures as cs
from mixedmodels.formula.design import build_design
from mixedmodels.formula.terms import parse_formula
from mixedmodels.glmm.laplace_gradient import laplace_gradient
from mixedmodels.glmm.pirls import laplace_deviance, pirls
from mixedmodels.lmm.engine import model_pls
from mixedmodels.numerics.objective import criterion_function

STRUCTURED = [cs.Ar1, cs.CompoundSymmetry, cs.HomCompoundSymmetry, cs.Toeplitz, cs.HomDiagonal]
SPELLINGS = ["ar1", "cs", "homcs", "toep", "homdiag", "diag", "us"]
K = 4  # time points per subject


def _random_theta(structure: cs.CovStructure, rng: np.random.Generator) -> np.ndarray:
    """Scales in (0.3, 1.5), other parameters N(0, 0.8) (the template's off-diagonal entries
    of an unstructured term, the correlation parameters of a structured one)."""
    lower = structure.lower()
    return np.where(lower == 0.0, rng.uniform(0.3, 1.5, len(lower)), rng.normal(0.0, 0.8, len(lower)))


def _central_dfactor(structure: cs.CovStructure, theta: np.ndarray, h: float = 1e-4) -> list[np.ndarray]:
    """Five-point central differences of the template (error of order h^4 + 1e-16 / h)."""
    out = []
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = h
        near = structure.factor(theta + e) - structure.factor(theta - e)
        far = structure.factor(theta + 2 * e) - structure.factor(theta - 2 * e)
        out.append((8 * near - far) / (12 * h))
    return out


@pytest.mark.parametrize("cls", STRUCTURED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_dfactor_matches_central_differences(cls, k):
    structure = cls(k)
    rng = np.random.default_rng(k)
    for theta in (structure.start(), _random_theta(structure, rng), _random_theta(structure, rng) * 2.0):
        exact = structure.dfactor(theta)
        assert len(exact) == structure.ntheta
        for D, C in zip(exact, _central_dfactor(structure, theta)):
            assert D.shape == (k, k)
            np.testing.assert_allclose(D, C, atol=1e-10)


@pytest.mark.parametrize("cls", STRUCTURED, ids=lambda c: c.__name__)
def test_theta_gradient_is_the_chain_rule(cls):
    """``theta_gradient(G)`` of ``f(T) = sum(G * T)`` is the derivative of ``f(T(theta))``."""
    structure = cls(5)
    rng = np.random.default_rng(7)
    theta = _random_theta(structure, rng)
    G = np.tril(rng.normal(size=(5, 5)))
    got = structure.theta_gradient(theta, G)
    want = [float(np.sum(G * C)) for C in _central_dfactor(structure, theta)]
    np.testing.assert_allclose(got, want, atol=1e-8)
    other, G2 = _random_theta(structure, rng), np.tril(rng.normal(size=(5, 5)))
    stacked = structure.stacked_theta_gradient(np.array([theta, other]), np.array([G, G2]))
    np.testing.assert_allclose(stacked, [got, structure.theta_gradient(other, G2)], atol=1e-12)


@pytest.mark.parametrize("cls", STRUCTURED, ids=lambda c: c.__name__)
def test_stacked_factor_and_entries_match_one_by_one(cls):
    structure = cls(5)
    rng = np.random.default_rng(11)
    theta = np.array([_random_theta(structure, rng) for _ in range(4)])
    stacked = structure.stacked_factor(theta)
    assert stacked.shape == (4, 5, 5)
    for T, t in zip(stacked, theta):
        np.testing.assert_allclose(T, structure.factor(t), atol=1e-14)
    np.testing.assert_allclose(
        structure.stacked_entries(theta), np.array([structure.entries(t) for t in theta]), atol=1e-14
    )


# ----------------------------------------------------------------------------- dense likelihood
def _long_data(seed: int, gaussian: bool = True) -> pd.DataFrame:
    """Ten subjects twice at up to ``K`` times (a few rows dropped), a covariate, a response
    (more observations than random effects: unstructured and diagonal terms are identifiable)."""
    rng = np.random.default_rng(seed)
    rows = [(s, t) for s in range(10) for t in range(K) for _ in range(2)]
    rows = [r for i, r in enumerate(rows) if i not in (3, 17, 18, 30)]
    subject = np.array([r[0] for r in rows])
    time = np.array([r[1] for r in rows])
    x = rng.normal(size=len(rows))
    b = rng.normal(scale=0.7, size=(10, K))
    eta = 0.5 + 0.4 * x + b[subject, time]
    data = pd.DataFrame({"id": [f"s{s:02d}" for s in subject], "time": [f"t{t}" for t in time], "x": x})
    if gaussian:
        data["y"] = eta + rng.normal(scale=0.5, size=len(rows))
    else:
        data["y"] = rng.poisson(np.exp(eta))
    return data


def _dense_parts(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``y``, ``X = [1, x]``, ``Z`` (subject-major: one column per subject and time)."""
    y = data["y"].to_numpy(float)
    X = np.column_stack([np.ones(len(data)), data["x"].to_numpy(float)])
    subjects, s = np.unique(data["id"], return_inverse=True)
    _, t = np.unique(data["time"], return_inverse=True)
    Z = np.zeros((len(data), K * len(subjects)))
    Z[np.arange(len(data)), K * s + t] = 1.0
    return y, X, Z, len(subjects)


def _dense_criterion(T: np.ndarray, y, X, Z, groups: int, reml: bool) -> float:
    """The criterion from the dense ``V / sigma^2 = Z (I (x) T T') Z' + I``."""
    V = Z @ np.kron(np.eye(groups), T @ T.T) @ Z.T + np.eye(X.shape[0])
    return dense_profiled_criterion(V, X, y, reml)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize("reml", [False, True], ids=["ML", "REML"])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_lmer_criterion_is_the_dense_likelihood(spelling, reml):
    data = _long_data(1)
    fit = _quiet(mm.lmer, f"y ~ x + {spelling}(time + 0 | id)", data, reml=reml)
    structure = fit.design.reterms[0].structure
    assert structure.k == K
    y, X, Z, groups = _dense_parts(data)
    rng = np.random.default_rng(5)
    for theta in [fit.opt.theta] + [_random_theta(structure, rng) for _ in range(3)]:
        want = _dense_criterion(structure.factor(theta), y, X, Z, groups, reml)
        assert fit.criterion(theta) == pytest.approx(want, rel=1e-10)


# ----------------------------------------------------------------------------- Laplace gradient
def _laplace(model, x):
    nt = model.layout.ntheta
    st = pirls(model, x[:nt], x[nt:], tol=1e-15, maxit=300)
    return laplace_deviance(model, st), st


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_glmer_laplace_gradient_matches_central_differences(spelling):
    data = _long_data(2, gaussian=False)
    fit = _quiet(mm.glmer, f"y ~ x + {spelling}(time + 0 | id)", data, family="poisson")
    model = fit.model
    rng = np.random.default_rng(3)
    structure = fit.design.reterms[0].structure
    x = np.concatenate([_random_theta(structure, rng) * 0.7, fit.beta + 0.05])
    _, st = _laplace(model, x)
    g = laplace_gradient(model, st)
    central = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = 1e-5
        central[j] = (_laplace(model, x + e)[0] - _laplace(model, x - e)[0]) / 2e-5
    assert np.max(np.abs(g)) > 0.1  # away from the optimum: something to check
    np.testing.assert_allclose(g, central, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- toep vs glmmTMB
# glmmTMB 1.1.5's fit of y ~ time + toep(times + 0 | id) to tests/data/long_ar1.csv (ML):
TMB_LOGLIK = -440.49398711622
TMB_BETA = np.array([1.1395155094425, 0.284817351058113])
TMB_SIGMA = 0.586806196055121
TMB_SD = np.array([0.707363146795547, 0.772769012030281, 0.885449383729705])
TMB_SD = np.concatenate([TMB_SD, [0.911323615634118, 1.00796886659335, 1.0603777456914]])
TMB_RHO = np.array([0.816979321022828, 0.53884819467877, 0.365876176056714, 0.129354757671618])
TMB_RHO = np.append(TMB_RHO, -0.0167230679581113)


def _toep_parts():
    data = pd.read_csv(Path(__file__).parent / "data" / "long_ar1.csv")
    data["times"] = data["times"].astype(str)
    design = build_design(parse_formula("y ~ time + toep(times + 0 | id)"), data)
    return data, design, criterion_function(model_pls(design), False)


def _subject_loglik(data: pd.DataFrame, beta: np.ndarray, Sigma: np.ndarray, sigma: float) -> float:
    """The Gaussian log-likelihood, every subject seen at all six times: ``y_i ~ N(X_i beta,
    Sigma + sigma^2 I)``."""
    data = data.sort_values(["id", "time"])
    Y = data["y"].to_numpy(float).reshape(-1, 6)
    mu = (beta[0] + beta[1] * data["time"].to_numpy(float)).reshape(-1, 6)
    C = np.linalg.cholesky(Sigma + sigma**2 * np.eye(6))
    W = np.linalg.solve(C, (Y - mu).T)
    return float(-0.5 * np.sum(W * W) - len(Y) * (np.sum(np.log(np.diag(C))) + 3 * np.log(2 * np.pi)))


def test_glmmtmb_toep_optimum_is_on_the_positive_definite_wall_not_a_maximum():
    """glmmTMB 1.1.5 maps each of toep's parameters to one lag's autocorrelation, which does
    not keep ``R`` positive definite: its reported optimum has an eigenvalue of ``R`` of 5e-9
    (a partial autocorrelation of 0.9999997) and is not a maximum: from it the profiled
    criterion rises by more than 5 log-likelihood units (toward the residual variance's 0)."""
    data, design, fn = _toep_parts()
    structure = design.reterms[0].structure
    R = structure.correlation(structure.correlation_parameters(_toeplitz(TMB_RHO)))
    np.testing.assert_allclose(R, _toeplitz(TMB_RHO), atol=1e-6)
    assert np.linalg.eigvalsh(_toeplitz(TMB_RHO))[0] < 1e-7  # on the wall
    Sigma = np.outer(TMB_SD, TMB_SD) * _toeplitz(TMB_RHO)
    assert _subject_loglik(data, TMB_BETA, Sigma, TMB_SIGMA) == pytest.approx(TMB_LOGLIK, abs=1e-6)
    theta = np.concatenate([TMB_SD / TMB_SIGMA, structure.correlation_parameters(_toeplitz(TMB_RHO))])
    assert -fn(theta) / 2 >= TMB_LOGLIK - 1e-6  # beta and sigma profiled: no lower
    theta[6:] = np.clip(theta[6:], -5, 5)  # off the wall
    best = optimize.minimize(fn, theta, method="L-BFGS-B", bounds=[(0, None)] * 6 + [(None, None)] * 5,
        options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000},
    )  # fmt: skip
    assert -best.fun / 2 > TMB_LOGLIK + 5.5


def test_toep_likelihood_is_highest_as_the_residual_variance_vanishes():
    """The dense likelihood, the residual standard deviation fixed and the rest maximized: it
    rises as sigma falls to 0 (the supremum, -434.7847, is not attained with sigma > 0)."""
    data, design, _ = _toep_parts()
    structure = design.reterms[0].structure

    def best_at(sigma: float, x0: np.ndarray) -> optimize.OptimizeResult:
        def minus(x):
            Sigma = np.outer(np.exp(x[:6]), np.exp(x[:6])) * structure.correlation(x[6:11])
            return -_subject_loglik(data, x[11:], Sigma, sigma)

        return optimize.minimize(minus, x0, method="BFGS", options={"gtol": 1e-7})

    x = np.concatenate([np.log(TMB_SD), np.zeros(5), TMB_BETA])
    values = []
    for sigma in (0.5, 0.2, 0.05, 1e-3):
        res = best_at(sigma, x)
        x = res.x
        values.append(-res.fun)
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(-434.7847, abs=1e-3)
    assert values[0] > TMB_LOGLIK  # even at sigma = 0.5 above glmmTMB's optimum


def _toeplitz(rho: np.ndarray) -> np.ndarray:
    r = np.concatenate([[1.0], rho])
    lags = np.abs(np.subtract.outer(np.arange(len(r)), np.arange(len(r))))
    return r[lags]


@pytest.mark.parametrize("cls", STRUCTURED, ids=lambda c: c.__name__)
def test_singular_on_a_zero_scale_or_a_correlation_of_one(cls):
    structure = cls(4)
    theta = structure.start()
    assert not structure.singular(theta[None])[0]
    zero = theta.copy()
    zero[0] = 0.0
    assert structure.singular(np.array([theta, zero])).tolist() == [False, True]
    if structure.ncorrelation:  # a correlation parameter run off to +infinity: R singular
        edge = theta.copy()
        edge[-1] = 1e9
        assert structure.singular(edge[None])[0]


# ----------------------------------------------------------------------------- sigma -> 0
SUPREMUM_LOGLIK = -434.7847217790  # dense maximization without a residual (test above)


def test_toep_fit_lands_on_the_boundary_without_a_residual():
    """The fit reaches the supremum (no "stopped short", no restarts): the model without a
    residual, reported at sigma = 1/1000 of the largest SD, its check an optimum."""
    data, _, _ = _toep_parts()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.lmer("y ~ time + toep(times + 0 | id)", data, reml=False)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "residual standard deviation goes to 0" in messages[0]
    assert fit.opt.check.ok
    assert fit.loglik == pytest.approx(SUPREMUM_LOGLIK, abs=1e-5)
    assert fit.loglik <= SUPREMUM_LOGLIK + 1e-8
    sd = fit.varcorr.query("group == 'id' and var2 != var2")["sdcor"].to_numpy()
    assert fit.sigma == pytest.approx(sd.max() / 1000, rel=1e-6)
    # the dense optimum without a residual: SDs of the first two times, the first lag
    np.testing.assert_allclose(sd[:2], [0.8355, 0.8992], atol=2e-4)
    lag1 = fit.varcorr.query("var1 == 'times0' and var2 == 'times1'")["sdcor"].item()
    assert lag1 == pytest.approx(0.6019, abs=3e-4)


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("drop", [0, 7])
def test_boundary_criterion_is_the_limit_of_the_profiled_one(reml, drop):
    """The criterion without a residual equals the profiled criterion far out on the ray ``c
    theta`` (to O(c^-2)), with every group complete or some rows missing (padded groups)."""
    from mixedmodels.lmm.residual_boundary import BoundaryModel

    data, _, _ = _toep_parts()
    data = data.drop(index=data.index[::53][:drop])
    design = build_design(parse_formula("y ~ time + toep(times + 0 | id)"), data)
    pls = model_pls(design)
    fn = criterion_function(pls, reml)
    model = BoundaryModel.of(design, reml, pls.layout)
    theta = np.concatenate([np.linspace(0.7, 1.1, 6), [0.9, -0.2, 0.3, 0.1, -0.1]])
    gaps = []
    for c in (100.0, 1000.0):
        far = theta.copy()
        far[:6] *= c
        gaps.append(fn(far) - model.criterion(theta))
    assert abs(gaps[1]) < 1e-3
    assert abs(gaps[1]) < abs(gaps[0]) / 50  # O(c^-2)
    assert abs(model.criterion(theta) - fn(theta)) > 1.0  # not the criterion near the start


def test_boundary_needs_one_saturating_term():
    from mixedmodels.lmm.residual_boundary import BoundaryModel

    data, _, _ = _toep_parts()
    data = data.assign(g=np.arange(len(data)) % 4)

    def boundary(formula: str, frame: pd.DataFrame):
        design = build_design(parse_formula(formula), frame)
        return BoundaryModel.of(design, False, model_pls(design).layout)

    assert boundary("y ~ time + toep(times + 0 | id)", data) is not None
    assert boundary("y ~ time + toep(times + 0 | id)", data[data["times"] != "5"]) is not None
    assert boundary("y ~ time + (1 | id) + toep(times + 0 | id)", data).saturating == 1
    assert boundary("y ~ time + toep(times + 0 | id) + (1 | g)", data) is None  # another grouping
    assert boundary("y ~ time + ar1(times + 0 | id)", pd.concat([data, data])) is None  # not saturated


def test_a_larger_model_is_not_fitted_below_its_nested_one():
    """nlme's Oxboys: ``(1 | Subject) + ar1(occf + 0 | Subject)`` contains the ar1 model (an
    intercept SD of 0), whose likelihood is highest without a residual (-341.116). The larger
    model's optimizer stops at -470.28 (the ar1 SD at 0, as glmmTMB 1.1.5 does); the boundary
    model, searched from the identity templates too, reaches the nested model's supremum."""
    data = pd.read_csv(Path(__file__).parent / "data" / "oxboys.csv")
    data["Subject"] = data["Subject"].astype(str)
    data["occf"] = pd.Categorical(data["Occasion"].astype(str), categories=[str(i) for i in range(1, 10)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nested = mm.lmer("height ~ age + ar1(occf + 0 | Subject)", data, reml=False)
        larger = mm.lmer("height ~ age + (1 | Subject) + ar1(occf + 0 | Subject)", data, reml=False)
    assert nested.loglik == pytest.approx(-341.116124, abs=1e-5)
    assert larger.loglik >= nested.loglik - 1e-6
    assert any("residual standard deviation goes to 0" in m for m in larger.messages)


def test_singular_columns_are_the_one_singular_test():
    """The per-column form of lme4's isSingular: a template diagonal entry below the tolerance,
    for every structure (an unstructured scale, a correlation at its bound); the term is
    singular where a column is."""
    from mixedmodels.covariance.structures import STRUCTURES

    us = STRUCTURES["us"](2)
    theta = np.array([[1.0, 0.5, 5e-5], [1.0, 0.5, 1.0]])  # T[1, 1] = 5e-5 in the first row
    np.testing.assert_array_equal(us.singular_columns(theta), [[False, True], [False, False]])
    np.testing.assert_array_equal(us.singular_columns(theta, tol=1e-5), [[False, False], [False, False]])
    np.testing.assert_array_equal(us.singular(theta), [True, False])
    cs = STRUCTURES["cs"](2)
    at_one = cs.theta_of(np.array([[1.0, 0.0], [2.0, 1e-7]]))  # rho = 1: column 2 a copy of column 1
    assert cs.singular_columns(at_one[None])[0].tolist() == [False, True]
    assert not cs.singular(cs.theta_of(np.array([[1.0, 0.0], [0.5, 1.0]]))[None])[0]
