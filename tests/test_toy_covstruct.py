"""A covariance structure defined here, outside the package, fitted through the structure seam.

``SharedScale``: a diagonal template with one scale for all of a term's ``k`` columns,
``T = t I_k`` (one ``theta`` for ``k`` components: independent random effects of equal
variance). Its lmer fits are checked against the likelihood computed densely here,
``V = sigma^2 (Z Lambda Lambda' Z' + I)`` maximized with scipy (``beta`` and ``sigma`` profiled
out); its glmer fit against the package's unstructured Laplace criterion optimized by scipy on
the constrained set ``T = t I``. The package's :class:`~mixedmodels.covariance.structures.Diagonal` is
checked against ``(x || g)``, the same model split into scalar terms.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import dense_profiled_criterion
from scipy import optimize

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.covariance.layout import ThetaLayout
from mixedmodels.covariance.structures import CovStructure, Diagonal, Unstructured, with_structures
from mixedmodels.formula.design import build_design
from mixedmodels.formula.terms import parse_formula
from mixedmodels.glmm.engine import criterion_function, fit_glmm
from mixedmodels.lmm.engine import fit_model, model_pls

FORMULA = "Reaction ~ Days + (Days | Subject)"


class SharedScale(CovStructure):
    """``T = t I_k``: one parameter, bounded below by 0, for ``k`` independent components."""

    correlated = False

    @property
    def ntheta(self) -> int:
        return 1

    @property
    def support(self) -> np.ndarray:
        return np.array([i == j for j in range(self.k) for i in range(j, self.k)])

    def factor(self, theta):
        return float(theta[0]) * np.eye(self.k)

    def dfactor(self, theta):
        return [np.eye(self.k)]

    def theta_of(self, T):
        return np.array([float(T[0, 0])])

    def start(self):
        return np.ones(1)

    def lower(self):
        return np.zeros(1)

    def names(self, group, cnames):
        return [f"{group}.shared"]

    def sdcor(self, theta, sigma):
        return np.abs(np.atleast_2d(theta)) * np.asarray(sigma)[:, None]

    def sdcor_names(self, group, cnames):
        return [f"sd_shared|{group}"]


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    return datasets.load("sleepstudy")


def structured_fit(data, formula, reml, covariance):
    """An lmer fit whose terms carry ``covariance`` (the seam: the design's terms)."""
    design = with_structures(build_design(parse_formula(formula), data), covariance)
    return fit_model(formula, design, model_pls(design), reml)


def dense_criterion(t: float, y, X, Z, reml: bool) -> float:
    """The criterion at ``Lambda = t I`` from the dense ``V / sigma^2 = t^2 Z Z' + I``."""
    return dense_profiled_criterion(t * t * (Z @ Z.T) + np.eye(X.shape[0]), X, y, reml)


def dense_parts(data):
    y = data["Reaction"].to_numpy(float)
    X = np.column_stack([np.ones(len(data)), data["Days"].to_numpy(float)])
    codes, levels = pd.factorize(data["Subject"])
    Z = np.zeros((len(data), 2 * len(levels)))
    Z[np.arange(len(data)), 2 * codes] = 1.0
    Z[np.arange(len(data)), 2 * codes + 1] = data["Days"].to_numpy(float)
    return y, X, Z


@pytest.mark.parametrize("reml", [False, True])
def test_lmer_matches_the_dense_likelihood(sleepstudy, reml):
    fit = structured_fit(sleepstudy, FORMULA, reml, {"Subject": SharedScale})
    y, X, Z = dense_parts(sleepstudy)
    best = optimize.minimize_scalar(
        lambda t: dense_criterion(t, y, X, Z, reml), bounds=(0.0, 5.0), method="bounded",
        options={"xatol": 1e-12},
    )  # fmt: skip
    assert fit.opt.theta.shape == (1,)
    assert fit.objective == pytest.approx(best.fun, rel=1e-9)
    assert fit.opt.theta[0] == pytest.approx(best.x, rel=1e-6)
    # the criterion agrees at any theta, not only at the optimum
    for t in (0.1, 0.5, 2.0):
        assert fit.criterion([t]) == pytest.approx(dense_criterion(t, y, X, Z, reml), rel=1e-10)


def test_structure_reaches_the_fit(sleepstudy):
    fit = structured_fit(sleepstudy, FORMULA, False, {"Subject": SharedScale})
    t = fit.opt.theta[0]
    assert fit.design.reterms[0].structure == SharedScale(2)
    assert fit.pls.layout.ntheta == 1
    vc = fit.varcorr
    rows = vc[vc["group"] == "Subject"]
    assert list(rows["var1"]) == ["(Intercept)", "Days"]  # two standard deviations, no correlation
    assert np.allclose(rows["sdcor"], fit.sigma * t)
    assert fit.varpar_names == ["sd_shared|Subject"]
    assert not fit.singular
    b = fit.ranef()["Subject"]
    assert b.shape == (18, 2)


def test_singular_test_is_the_structures(sleepstudy):
    layout = ThetaLayout((2,), (SharedScale(2),))
    assert layout.singular(np.array([0.5e-4]))
    assert not layout.singular(np.array([2e-4]))
    assert layout.entries(np.array([0.7])).tolist() == [0.7, 0.0, 0.7]


def test_bootstrap_of_a_structured_fit(sleepstudy):
    fit = structured_fit(sleepstudy, FORMULA, True, {"Subject": SharedScale})
    boot = mm.bootstrap(fit, nsim=8, seed=1, progress=False)
    values = np.asarray(boot.replicates)
    assert values.shape == (8, 4)  # sd_shared, sigma, two fixed effects
    assert np.all(np.isfinite(values))


def test_diagonal_is_the_split_term(sleepstudy):
    """lme4's ``(Days || Subject)``: the package splits it into scalar terms; a Diagonal term
    is the same model in one term."""
    for reml in (False, True):
        split = mm.lmer("Reaction ~ Days + (Days || Subject)", sleepstudy, reml=reml)
        diag = structured_fit(sleepstudy, FORMULA, reml, {"Subject": Diagonal})
        assert diag.objective == pytest.approx(split.objective, rel=1e-10)
        assert diag.opt.theta == pytest.approx(split.opt.theta, rel=1e-5)
        assert diag.varpar_names == ["sd_(Intercept)|Subject", "sd_Days|Subject"]  # one term: one group name
        vc = diag.varcorr
        assert vc["var2"].isna().all()  # no correlation rows
        assert vc["sdcor"].to_numpy() == pytest.approx(split.varcorr["sdcor"].to_numpy(), rel=1e-5)


def test_a_structure_for_the_wrong_term_is_refused(sleepstudy):
    design = build_design(parse_formula(FORMULA), sleepstudy)
    with pytest.raises(ValueError, match="exactly one"):
        with_structures(design, {"Days": Diagonal})
    with pytest.raises(ValueError, match="columns"):
        with_structures(design, {"Subject": Diagonal(3)})


def test_profile_of_a_structured_term_is_refused(sleepstudy):
    fit = structured_fit(sleepstudy, FORMULA, False, {"Subject": SharedScale})
    with pytest.raises(NotImplementedError, match="SharedScale"):
        fit.confint("profile", progress=False)


def _poisson_data(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(25), 8)
    x = np.tile(np.linspace(-1, 1, 8), 25)
    b = rng.normal(0.0, 0.4, (25, 2))
    eta = 0.5 + 0.3 * x + b[g, 0] + b[g, 1] * x
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g": g.astype(str)})


def test_glmer_matches_the_constrained_unstructured_criterion():
    data = _poisson_data()
    fit = mm.glmer("y ~ x + (x | g)", data, family="poisson")
    shared = replace(
        fit.model, reterms=tuple(replace(t, covariance=SharedScale(2)) for t in fit.model.reterms)
    )
    optimum = fit_glmm(shared, 1)
    t = optimum.opt.theta[0]
    beta = optimum.opt.theta[1:]
    # the unstructured model's Laplace criterion on the set T = t I, optimized by scipy
    fn = criterion_function(fit.model, 1, fit.beta)[0]

    def constrained(x):
        return fn(np.concatenate([[x[0], 0.0, x[0]], x[1:]]))

    best = optimize.minimize(constrained, np.concatenate([[t], beta]), method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})  # fmt: skip
    assert optimum.opt.fmin == pytest.approx(best.fun, rel=1e-8)
    assert optimum.opt.fmin <= best.fun + 1e-8
    assert t == pytest.approx(best.x[0], rel=1e-4)
    # the two criteria agree at the same point
    shared_fn = criterion_function(shared, 1, fit.beta)[0]
    point = np.array([0.3, 0.4, 0.2])
    assert shared_fn(point) == pytest.approx(constrained(point), rel=1e-10)


def test_no_singular_test_outside_the_structures():
    """lme4's isSingular is written once per structure (covariance/structures.py), not repeated by
    its callers."""
    src = Path(__file__).resolve().parents[1] / "src" / "mixedmodels"
    pattern = re.compile(r"[<>]=?\s*SINGULAR_TOL")
    found = [
        f"{path.relative_to(src)}:{n}"
        for path in sorted(src.rglob("*.py"))
        if path != src / "covariance" / "structures.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def test_unstructured_is_the_default():
    layout = ThetaLayout((1, 2))
    assert layout.structures == (Unstructured(1), Unstructured(2))
    assert layout.identity and layout.ntheta == 4
    theta = np.array([0.5, 1.0, 0.2, 0.3])
    assert layout.entries(theta) is theta
    assert layout.lower().tolist() == [0.0, 0.0, -np.inf, 0.0]
