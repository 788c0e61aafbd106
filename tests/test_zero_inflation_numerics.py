"""Independent checks of the Laplace criterion with zero-inflation, hurdle and dispersion models
(issue 29): its closed-form gradient against central differences; its value against a Laplace
approximation computed here group by group from scipy's densities mixed as glmmTMB mixes them
(and against the exact marginal likelihood by quadrature); a fit's log-likelihood against both
and against glmmTMB 1.1.5's, with its estimates and standard errors
(tests/reference/families/make_zi_numerics.R)."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import mixedmodels as mm
from mixedmodels.families.lookup import glmmtmb_family
from mixedmodels.families.zero_inflated import zero_augmented
from mixedmodels.glmm.auxiliary import auxiliary_model
from mixedmodels.glmm.glmer_steps import glmer_model
from mixedmodels.glmm.laplace_ml import extra_size, laplace_ml_function

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "families" / "zi_numerics.json").read_text())

# name: (response, family, ziformula, dispformula)
CASES = {
    "zip": ("count", "poisson", "~z", None),
    "zinb2": ("count", "nbinom2", "~z", None),
    "zinb1": ("count", "nbinom1", "~z", None),
    "zibinomial": ("binary", "binomial", "~z", None),
    "hurdle_poisson": ("count", "truncated_poisson", "~z", None),
    "hurdle_nb2": ("count", "truncated_nbinom2", "~z", None),
    "gaussian_disp_f": ("gauss", "gaussian", None, "~f"),
    "gaussian_disp_z": ("gauss", "gaussian", None, "~z"),
    "nb2_disp_f": ("count", "nbinom2", None, "~f"),
    "zinb2_disp_f": ("count", "nbinom2", "~z", "~f"),
    "zinb2_weights": ("count", "nbinom2", "~z", None),
    "hurdle_poisson_weights": ("count", "truncated_poisson", "~z", None),
    "zigaussian": ("gauss0", "gaussian", "~z", None),
    "zigaussian_disp_f": ("gauss0", "gaussian", "~z", "~f"),
    "zinb1_disp_f": ("count", "nbinom1", "~z", "~f"),
    "hurdle_nb2_disp_f": ("count", "truncated_nbinom2", "~z", "~f"),
}
WEIGHTED = {"zinb2_weights", "hurdle_poisson_weights"}  # prior weights: the column wt


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    d = pd.read_csv(HERE / "data" / "zi_numerics.csv")
    for c in ("g", "h", "f"):
        d[c] = d[c].astype("category")
    return d


def _data(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame with the case's response as ``y`` and its prior weights as ``w``."""
    return frame.assign(y=frame[CASES[name][0]], w=frame["wt"] if name in WEIGHTED else 1.0)


def _model(formula, data, family, zi, disp):
    """The model ``glmer`` fits (its steps without the fit)."""
    fam = glmmtmb_family(family, None)
    if disp is not None:
        fam = fam.estimating()
    fam = fam.with_information("observed")
    reading = zero_augmented(fam, 0.0) if zi is not None else fam
    weights = data["w"].to_numpy(float)
    design, _, model = glmer_model(formula, data, reading, 1, weights, None, None, "omit", None)
    aux = auxiliary_model(zi, disp, data, design.row_index, fam, None)
    return replace(model, fam=fam, aux=aux)


def _random_point(model, rng) -> np.ndarray:
    nt = model.layout.ntheta
    x = np.concatenate(
        [rng.uniform(0.3, 1.0, nt), rng.normal(0.0, 0.3, model.p), rng.normal(0.0, 0.5, extra_size(model))]
    )
    if nt == 3:  # (x | g): the template's off-diagonal entry
        x[1] = rng.normal(0.0, 0.3)
    return x


# ----------------------------------------------------------------------------- 1a. gradient
GRADIENT_CASES = [(name, "y ~ x + (1 | g)") for name in CASES] + [
    ("zinb2", "y ~ x + (x | g)"),
    ("hurdle_nb2", "y ~ x + (x | g)"),
    ("zip", "y ~ x + (1 | g) + (1 | h)"),
    ("zinb2_disp_f", "y ~ x + (1 | g) + (1 | h)"),
    ("zinb2_weights", "y ~ x + (x | g)"),
    ("zigaussian_disp_f", "y ~ x + (x | g)"),
    ("hurdle_nb2_disp_f", "y ~ x + (1 | g) + (1 | h)"),
]


@pytest.mark.parametrize("name, formula", GRADIENT_CASES)
def test_gradient_is_the_criterions_derivative(name, formula, frame):
    _, family, zi, disp = CASES[name]
    model = _model(formula, _data(frame, name), family, zi, disp)
    fg, _ = laplace_ml_function(model, np.zeros(model.q))
    rng = np.random.default_rng(5)
    h = 1e-5
    for _ in range(3):
        x = _random_point(model, rng)
        f, g = fg(x)
        assert np.isfinite(f)
        num = np.array([(fg(x + h * e)[0] - fg(x - h * e)[0]) / (2 * h) for e in np.eye(len(x))])
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- 1b. dense
def _log_density(family: str, y, eta, phi, zeta) -> np.ndarray:
    """``log p(y | eta)`` from scipy's distributions, zero-inflated or hurdle as glmmTMB defines
    them: ``pi = logistic(zeta)``; ``p(0) = pi + (1 - pi) f(0)``, ``p(y) = (1 - pi) f(y)``; a
    hurdle's ``p(0) = pi``, ``p(y) = (1 - pi) f(y) / (1 - f(0))``. ``phi``: a Gaussian's
    variance, an NB2's size (variance ``mu + mu^2 / phi``), an NB1's ``phi`` (variance
    ``mu (1 + phi)``). A zero-inflated Gaussian's ``p(0)`` has the density ``f(0)`` (glmmTMB's)."""
    hurdle = family.startswith("truncated_")
    family = family.removeprefix("truncated_")
    if family == "gaussian":  # a zero-inflated one mixes the density at 0 with the point mass
        dist = stats.norm(eta, np.sqrt(phi))
        log_f, log_f0 = dist.logpdf(y), dist.logpdf(0.0)
    else:
        mu = special.expit(eta) if family == "binomial" else np.exp(eta)
        dist = {
            "poisson": lambda: stats.poisson(mu),
            "nbinom2": lambda: stats.nbinom(phi, phi / (phi + mu)),
            "nbinom1": lambda: stats.nbinom(mu / phi, 1.0 / (1.0 + phi)),
            "binomial": lambda: stats.binom(1, mu),
        }[family]()
        log_f, log_f0 = dist.logpmf(y), dist.logpmf(0)
    if zeta is None:
        return log_f
    pi = special.expit(zeta)
    if hurdle:
        return np.where(y == 0, np.log(pi), np.log1p(-pi) + log_f - np.log1p(-np.exp(log_f0)))
    return np.where(y == 0, np.log(pi + (1.0 - pi) * np.exp(log_f0)), np.log1p(-pi) + log_f)


def _columns(data: pd.DataFrame, formula: str | None) -> np.ndarray | None:
    """The auxiliary models' matrices written out (treatment coding of f, levels a, b, c)."""
    if formula is None:
        return None
    one = np.ones(len(data))
    if formula == "~f":
        f = data["f"].astype(str).to_numpy()
        return np.column_stack([one, f == "b", f == "c"]).astype(float)
    return np.column_stack([one, data[formula.removeprefix("~")].to_numpy(float)])


def _five_point(ell, u, e=1e-3) -> tuple[float, float]:
    """First and second derivatives of ``ell`` at ``u`` by five-point differences."""
    a, b, c, d, m = ell(u + np.array([2 * e, e, 0.0, -e, -2 * e]))
    return (-a + 8 * b - 8 * d + m) / (12 * e), (-a + 16 * b - 30 * c + 16 * d - m) / (12 * e * e)


NODES, WEIGHTS = np.polynomial.hermite.hermgauss(80)


def _direct(name: str, data: pd.DataFrame, x: np.ndarray) -> tuple[float, float]:
    """``-2 log L`` of ``y ~ x + (1 | g)`` at ``x = (sd, beta0, beta1, beta_d, beta_z)``, by the
    Laplace approximation group by group and by quadrature: per group, ``ell(u) = sum log p(y_i
    | beta0 + beta1 x_i + sd u) - u^2 / 2`` (each ``log p`` times the prior weight) maximized
    (Brent, then Newton on differences), ``L_g = exp(ell(u^)) / sqrt(-ell''(u^))`` (Laplace: the
    ``sqrt(2 pi)`` of the density of ``u`` cancels that of the integral) and ``L_g = int
    exp(ell(u)) du / sqrt(2 pi)`` by 80-point Gauss-Hermite quadrature centred at ``u^`` and
    scaled by ``1 / sqrt(-ell''(u^))``."""
    _, family, zi, disp = CASES[name]
    y, w = data["y"].to_numpy(float), data["w"].to_numpy(float)
    Xz, Xd = _columns(data, zi), _columns(data, disp)
    nd = Xd.shape[1] if Xd is not None else int(family not in ("poisson", "binomial", "truncated_poisson"))
    sd, b0, b1 = x[:3]
    b_d, b_z = x[3 : 3 + nd], x[3 + nd :]
    phi = np.exp(Xd @ b_d) if Xd is not None else np.full(len(y), np.exp(b_d[0]) if nd else 1.0)
    zeta = None if Xz is None else Xz @ b_z
    fixed = b0 + b1 * data["x"].to_numpy(float)
    laplace = quadrature = 0.0
    for level in data["g"].cat.categories:
        r = (data["g"] == level).to_numpy()
        zr = None if zeta is None else zeta[r]

        def ell(u, r=r, zr=zr):  # u: an array of values
            eta = fixed[r] + sd * np.asarray(u, dtype=float)[:, None]
            return np.sum(w[r] * _log_density(family, y[r], eta, phi[r], zr), axis=1) - u * u / 2

        u_hat = optimize.minimize_scalar(lambda u: -ell(np.array([u]))[0], bracket=(-1.0, 1.0), tol=1e-12).x
        for _ in range(3):
            d1, d2 = _five_point(ell, u_hat)
            u_hat -= d1 / d2
        top, curvature = ell(np.array([u_hat]))[0], -_five_point(ell, u_hat, 1e-2)[1]
        laplace += -2.0 * top + np.log(curvature)
        s = np.sqrt(2.0 / curvature)
        area = s * np.sum(WEIGHTS * np.exp(NODES**2 + ell(u_hat + s * NODES) - top))
        quadrature += -2.0 * top - 2.0 * np.log(area) + np.log(2.0 * np.pi)
    return laplace, quadrature


@pytest.mark.parametrize("name", list(CASES))
def test_criterion_is_the_laplace_approximation_of_glmmtmbs_likelihood(name, frame):
    _, family, zi, disp = CASES[name]
    data = _data(frame, name)
    model = _model("y ~ x + (1 | g)", data, family, zi, disp)
    fg, _ = laplace_ml_function(model, np.zeros(model.q))
    rng = np.random.default_rng(7)
    for _ in range(2):
        x = _random_point(model, rng)
        f, _ = fg(x)
        laplace, quadrature = _direct(name, data, x)
        assert f == pytest.approx(laplace, abs=1e-8, rel=1e-11)
        if family == "gaussian" and zi is None:  # u enters linearly: the Laplace approximation is exact
            assert quadrature == pytest.approx(laplace, abs=1e-8)
        else:  # the approximation's error, a few hundredths per group of ten
            assert abs(quadrature - laplace) < 0.05 * data["g"].nunique()


# ----------------------------------------------------------------------------- 1c. fits
@pytest.mark.parametrize("name", list(CASES))
def test_fitted_loglik_is_half_the_criterion_and_glmmtmbs(name, frame):
    """At the optimum: logLik = -criterion / 2 = the direct Laplace value; glmmTMB's logLik,
    estimates and standard errors."""
    _, family, zi, disp = CASES[name]
    ref = REF[name]
    data = _data(frame, name)
    weights = data["w"].to_numpy(float) if name in WEIGHTED else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(
            "y ~ x + (1 | g)", data, family=family, ziformula=zi, dispformula=disp, weights=weights
        )
    x = fit.optimum.opt.theta
    assert fit.loglik == pytest.approx(-fit.optimum.criterion / 2, abs=1e-10, rel=1e-13)
    laplace, _ = _direct(name, data, x)
    assert fit.loglik == pytest.approx(-laplace / 2, abs=1e-8)
    assert fit.loglik >= ref["loglik"] - 1e-7
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref["cond"], atol=2e-3)
    np.testing.assert_allclose(fit.se.to_numpy(), ref["se"]["cond"], rtol=1e-4)
    if zi is not None:
        np.testing.assert_allclose(fit.zi.fixef.to_numpy(), ref["zi"], atol=2e-3)
        np.testing.assert_allclose(fit.zi.se.to_numpy(), ref["se"]["zi"], rtol=1e-4)
    if fit.disp is not None:
        np.testing.assert_allclose(fit.disp.fixef.to_numpy(), ref["disp"], atol=2e-3)
    if disp is not None:
        np.testing.assert_allclose(fit.disp.se.to_numpy(), ref["se"]["disp"], rtol=1e-4)


def test_zero_inflated_binomial_with_trials_reads_cbind_and_weighted_proportions_alike(frame):
    """Its zeros' -2 log p(0) = -2 log(pi + (1 - pi)(1 - mu)^n) is not linear in the trials ``n``
    (the family takes them, not the prior weights): a cbind response and the proportions with
    the trials as weights are one model, whose criterion's gradient is its own."""
    d = frame.assign(n=3, k=np.minimum(frame["count"], 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = mm.glmer("cbind(k, n - k) ~ x + (1 | g)", d, family="binomial", ziformula="~z")
        n = d["n"].to_numpy(float)
        b = mm.glmer("k / n ~ x + (1 | g)", d, family="binomial", ziformula="~z", weights=n)
    assert abs(a.loglik - b.loglik) < 1e-8
    np.testing.assert_allclose(a.zi.fixef.to_numpy(), b.zi.fixef.to_numpy(), rtol=1e-6, atol=1e-8)
    fg, _ = laplace_ml_function(a.model, a.optimum.state.u)
    x = np.asarray(a.optimum.opt.theta, dtype=float) + 0.05
    g, h = fg(x)[1], 1e-6
    num = np.array([(fg(x + h * e)[0] - fg(x - h * e)[0]) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5)
