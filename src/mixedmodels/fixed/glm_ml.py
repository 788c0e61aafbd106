"""A GLM whose family estimates a parameter beyond the mean, by maximum likelihood over both:
``mm.glm(..., method="ml")``, glmmTMB's fit of a model without random effects (and betareg's
of a beta regression).

With ``tau = log(parameter)`` (a negative binomial's size, a beta's precision, ...) and ``f =
-2 log L(beta, tau) = sum_i n_i`` (the family's ``aic`` at the parameter: ``-2 w_i log p(y_i |
mu_i)`` with every constant), Newton's method takes steps ``-H^{-1} g`` on ``x = (beta, tau)``
with the family's observed information:

    g_beta      = X' d'                      (d', D = d''/2: the unit deviances' derivatives in
    H_beta,beta = X' diag(2 D) X              eta, ``Family.observed_derivatives``),
    g_tau       = sum dn_i,   H_beta,tau = X' (dn_mu mu_eta)
                                             (``Family.parameter_derivatives``),
    H_tau,tau   = d g_tau / d tau             (central differences with Richardson's
                                               extrapolation: the family gives no second
                                               derivative in tau),

halving a step until ``f`` decreases (a Hessian that is not positive definite is replaced by
its eigenvalues' absolute values). It starts from IRLS (Newton steps in ``beta``: the observed
information, :meth:`~mixedmodels.families.Family.with_information`) at the family's starting
parameter and
stops when the Newton decrement ``g' H^{-1} g`` is under ``1e-12``. The covariance of
``(beta, tau)`` is ``2 H^{-1}`` at the estimate (the inverse of the observed information), as
glmmTMB's ``vcov(fit, full = TRUE)``: the coefficients' standard errors include the parameter's
uncertainty through the joint Hessian (MASS's ``glm.nb`` holds ``theta``, :mod:`.glm_nb`; for
the negative binomial with the log link the two differ little, the cross information having
expectation zero). ``AIC = f + 2 (rank + 1)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import ClassVar

import numpy as np
import pandas as pd

from ..families import Family
from ..numerics.irls import IrlsError, IrlsFit, irls
from .glm import GlmFit

__all__ = ["GlmMlFit", "MlEstimate", "newton_ml"]

DECREMENT = 1e-12
MAXIT = 100
RICHARDSON_STEP = 1e-3


@dataclass(frozen=True)
class MlEstimate:
    """The end of Newton's method over ``(beta, log parameter)``.

    Attributes
    ----------
    beta, eta, mu : ndarray
    log_value : float
        ``tau = log(parameter)`` at the estimate.
    family : Family
        The family at the estimate (still estimating it: refits start there).
    minus_twologlik : float
        ``f = -2 log L``.
    gradient : ndarray (p + 1,)
    hessian : ndarray (p + 1, p + 1)
        Of ``f`` over ``(beta, tau)``.
    iterations : int
    converged : bool
    """

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    log_value: float
    family: Family
    minus_twologlik: float
    gradient: np.ndarray
    hessian: np.ndarray
    iterations: int
    converged: bool
    y: np.ndarray
    weights: np.ndarray

    @property
    def value(self) -> float:
        return math.exp(self.log_value)

    @cached_property
    def vcov(self) -> np.ndarray:
        """``2 H^{-1}``: the covariance of ``(beta, tau)``."""
        return 2.0 * np.linalg.inv(self.hessian)

    def irls_view(self) -> IrlsFit:
        """The estimate in the shape of an IRLS fit (what :class:`~mixedmodels.fixed.glm.GlmFit`
        reads): its ``R`` the Cholesky factor of the coefficients' block ``H / 2`` (the observed
        information with the parameter held), its weights ``w D``."""
        fam, y, w = self.family, self.y, self.weights
        p = len(self.beta)
        try:
            R = np.linalg.cholesky(self.hessian[:p, :p] / 2.0).T
        except np.linalg.LinAlgError:
            R = np.full((p, p), np.nan)
        D = fam.observed_information_eta(y, w, self.eta, self.mu)[1]
        deviance = float(np.sum(fam.dev_resids(y, self.mu, w)))
        return IrlsFit(self.beta, self.eta, self.mu, deviance, self.iterations, self.converged, False, D, R)


class _Problem:
    """``f``, its gradient and Hessian for one response."""

    def __init__(self, X, y, fam: Family, weights, offset, trials) -> None:
        self.X, self.y, self.fam, self.w, self.offset, self.trials = X, y, fam, weights, offset, trials

    def at(self, tau: float) -> Family:
        return self.fam.with_parameter(math.exp(tau))

    def means(self, beta) -> tuple[np.ndarray, np.ndarray]:
        eta = self.X @ beta + self.offset
        return eta, self.fam.linkinv(eta)

    def f(self, beta, tau: float) -> float:
        eta, mu = self.means(beta)
        fam = self.at(tau)
        if not (fam.valid_eta(eta) and fam.valid_mu(mu)):
            return math.inf
        with np.errstate(all="ignore"):
            dev = float(np.sum(fam.dev_resids(self.y, mu, self.w)))
            value = fam.aic(self.y, self.trials, mu, self.w, dev)
        return float(value) if np.isfinite(value) else math.inf

    def g_tau(self, mu, tau: float) -> float:
        return float(np.sum(self.at(tau).parameter_derivatives(self.y, mu, self.w)[0]))

    def h_tau(self, mu, tau: float) -> float:
        """``d g_tau / d tau`` by central differences, Richardson-extrapolated (error ``O(h^4)``)."""

        def central(h: float) -> float:
            return (self.g_tau(mu, tau + h) - self.g_tau(mu, tau - h)) / (2.0 * h)

        h = RICHARDSON_STEP
        return (4.0 * central(h / 2.0) - central(h)) / 3.0

    def derivatives(self, beta, tau: float) -> tuple[np.ndarray, np.ndarray]:
        X, y, w = self.X, self.y, self.w
        eta, mu = self.means(beta)
        fam = self.at(tau)
        d1, D = fam.observed_information_eta(y, w, eta, mu)
        dn_mu = fam.parameter_derivatives(y, mu, w)[1]
        p = X.shape[1]
        g = np.empty(p + 1)
        H = np.empty((p + 1, p + 1))
        g[:p] = X.T @ d1
        g[p] = self.g_tau(mu, tau)
        H[:p, :p] = X.T @ (X * (2.0 * D)[:, None])
        H[:p, p] = H[p, :p] = X.T @ (dn_mu * fam.mu_eta(eta))
        H[p, p] = self.h_tau(mu, tau)
        return g, H


def _direction(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """``-H^{-1} g``, with ``|H|`` (absolute eigenvalues, floored) where ``H`` is not positive definite."""
    try:
        L = np.linalg.cholesky(H)
        return -np.linalg.solve(L.T, np.linalg.solve(L, g))
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(H)
        vals = np.maximum(np.abs(vals), 1e-8 * max(1.0, float(np.max(np.abs(vals)))))
        return -vecs @ ((vecs.T @ g) / vals)


def newton_ml(
    X: np.ndarray,
    y: np.ndarray,
    fam: Family,
    weights: np.ndarray,
    offset: np.ndarray,
    mustart: np.ndarray | None = None,
    etastart: np.ndarray | None = None,
    trials: np.ndarray | None = None,
) -> MlEstimate:
    """Maximum likelihood over the coefficients and the family's log parameter (see the module).

    Starts at the family's parameter (or its :meth:`~mixedmodels.families.Family.parameter_start`
    at the starting means) and the IRLS coefficients there.
    """
    trials = np.ones(len(y)) if trials is None else trials
    if mustart is None:
        mustart = fam.initialize(y, weights).mustart
    eta0 = fam.linkfun(mustart) if etastart is None else etastart
    value = fam.parameter
    if value is None:
        # a provisional value: a truncated family's moments need one
        value = fam.with_parameter(1.0).parameter_start(y, fam.linkinv(eta0), weights)
    start = irls(
        X,
        y,
        fam.with_parameter(value).fixed_parameter().with_information("observed"),
        weights,
        offset,
        etastart=eta0,
        maxit=100,
        warn=False,
    )
    problem = _Problem(X, y, fam, weights, offset, trials)
    beta, tau = start.beta, math.log(value)
    f = problem.f(beta, tau)
    converged = False
    iterations = 0
    while iterations < MAXIT:
        iterations += 1
        g, H = problem.derivatives(beta, tau)
        step = _direction(g, H)
        decrement = -float(g @ step)
        if decrement < DECREMENT:
            converged = True
            break
        t = 1.0
        while t > 1e-10:
            new_beta, new_tau = beta + t * step[:-1], tau + t * step[-1]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a step too long: halved
                new_f = problem.f(new_beta, new_tau)
            if new_f <= f + 1e-4 * t * float(g @ step) or (new_f <= f and t < 1.0):
                break
            t /= 2.0
        else:
            break  # no decrease along the step: at the maximum to rounding
        beta, tau, f = new_beta, new_tau, new_f
    if not converged:
        g, H = problem.derivatives(beta, tau)
        converged = -float(g @ _direction(g, H)) < 1e-8
        if not converged:
            warnings.warn(
                f"glm: Newton's method did not converge in {iterations} iterations",
                RuntimeWarning,
                stacklevel=4,
            )
    eta, mu = problem.means(beta)
    return MlEstimate(beta, eta, mu, tau, problem.at(tau), f, g, H, iterations, converged, y, weights)


@dataclass(frozen=True, eq=False)
class GlmMlFit(GlmFit):
    """A GLM fitted by maximum likelihood over its coefficients and its family's parameter
    (:func:`newton_ml`); z tests with the standard errors of the joint Hessian (glmmTMB's).

    Attributes
    ----------
    ml : MlEstimate
    """

    confint_methods: ClassVar[tuple[str, ...]] = ("wald",)
    ml: MlEstimate | None = None

    @property
    def _ml(self) -> MlEstimate:
        if self.ml is None:
            raise ValueError("this fit has no maximum-likelihood estimate")
        return self.ml

    @property
    def estimates_dispersion(self) -> bool:
        """False: z tests (the family's parameter is estimated within the likelihood)."""
        return False

    @property
    def parameter_name(self) -> str:
        return self.family.parameter_name or "parameter"

    @property
    def parameter(self) -> float:
        """The family's estimated parameter (glmmTMB's ``exp(fixef(fit)$disp)``)."""
        return self._ml.value

    @property
    def log_parameter_se(self) -> float:
        """Standard error of ``log(parameter)`` (glmmTMB's ``disp`` row)."""
        return float(math.sqrt(self._ml.vcov[-1, -1]))

    @property
    def parameter_se(self) -> float:
        """Standard error of the parameter (the delta method)."""
        return self.parameter * self.log_parameter_se

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()`` of the family at the estimate."""
        return self.family.sigma

    @cached_property
    def vcov_full(self) -> pd.DataFrame:
        """Covariance of the kept coefficients and ``log(parameter)`` (``2 H^{-1}``)."""
        names = [self.names[j] for j in self.kept] + [f"log({self.parameter_name})"]
        return pd.DataFrame(self._ml.vcov, index=names, columns=names)

    @cached_property
    def vcov(self) -> pd.DataFrame:
        full = np.full((len(self.names),) * 2, np.nan)
        p = self.rank
        full[np.ix_(self.kept, self.kept)] = self._ml.vcov[:p, :p]
        return pd.DataFrame(full, index=self.names, columns=self.names)

    @cached_property
    def aic(self) -> float:
        return self._ml.minus_twologlik + 2 * (self.rank + 1)

    @property
    def npar(self) -> int:
        return self.rank + 1

    def family_parameters(self) -> dict[str, float]:
        return {self.parameter_name: self.parameter}

    def dispersion_lines(self) -> list[str]:
        fam = self.family
        return [
            f"({self.parameter_name} of the {fam.name} family estimated by maximum likelihood: "
            f"{self.parameter:.4g}, Std. Error {self.parameter_se:.3g})"
        ]

    def confint(self, method: str = "wald", level: float = 0.95) -> pd.DataFrame:
        """Wald intervals (``beta -+ z se``, the joint Hessian's standard errors)."""
        if str(method).lower() != "wald":
            raise NotImplementedError(
                "profile intervals of a GLM fitted with method='ml' are not available yet: method='wald'"
            )
        return super().confint("wald", level)

    def refit(self, y: np.ndarray, separation=None) -> GlmFit:
        """The model fitted to a new response, from this fit's estimates."""
        if separation is not None:
            raise IrlsError("method='ml': a response with separated coefficients has no estimate")
        X = self.design.X[:, list(self.kept)]
        y = np.asarray(y, dtype=float)
        ml = newton_ml(
            X, y, self.family, self.prior_weights, self.offset, etastart=self.result.eta, trials=self.trials
        )
        return replace(self, y=y, family=ml.family, result=ml.irls_view(), ml=ml)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(
            sigma=self.sigma,
            parameter={"name": self.parameter_name, "estimate": self.parameter, "se": self.parameter_se},
            disp={"fixef": {"(Intercept)": self._ml.log_value}, "se": {"(Intercept)": self.log_parameter_se}},
        )
        return out

    def __repr__(self) -> str:
        return (
            f"<GlmMlFit {self.formula!r}: {self.family.name}({self.link}), "
            f"{self.parameter_name}={self.parameter:.6g}, nobs={self.nobs}>"
        )
