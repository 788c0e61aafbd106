"""A generalized linear model fitted by iteratively reweighted least squares, as R's ``glm.fit``.

At the current means ``mu`` (linear predictor ``eta = X beta + o``) each iteration regresses the
working response

    z_i = eta_i - o_i + (y_i - mu_i) / mu_eta(eta_i)

on ``X`` with working weights ``W_i = w_i mu_eta(eta_i)^2 / V(mu_i)`` (``w`` the prior
weights) by weighted least squares (a QR factorization of ``sqrt(W) X``), which is a Fisher
scoring step; the step is halved while the deviance is not finite or the means leave the
family's range. It stops when ``|dev - dev_old| / (|dev| + 0.1) < tol`` (R's rule, ``tol =
1e-8``) and starts, as R does, from the family's ``mustart``.

:func:`irls` returns a :class:`IrlsFit`: ``beta``, ``eta``, ``mu``, the deviance, the working
weights and the ``R`` of the last QR (``(R'R)^{-1}`` is the unscaled covariance of ``beta``);
it is the starting point of a GLMM (its fit at ``theta = 0``) and the engine of ``mm.glm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from .families import Family

__all__ = ["IrlsFit", "irls", "working_response"]


@dataclass(frozen=True)
class IrlsFit:
    """The result of :func:`irls`.

    Attributes
    ----------
    beta : ndarray (p,)
    eta, mu : ndarray (n,)
        Linear predictor (with the offset) and means at ``beta``.
    deviance : float
        ``sum(dev_resids(y, mu, w))``.
    working_weights : ndarray (n,)
        ``W`` at the last iteration.
    R : ndarray (p, p)
        Upper triangle of the QR of ``sqrt(W) X``: ``vcov_unscaled = (R'R)^{-1}``.
    iterations : int
    converged : bool
    """

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    working_weights: np.ndarray
    R: np.ndarray
    iterations: int
    converged: bool

    @property
    def vcov_unscaled(self) -> np.ndarray:
        """``(R'R)^{-1}``: the covariance of ``beta`` for a dispersion of 1."""
        Rinv = solve_triangular(self.R, np.eye(len(self.R)))
        return Rinv @ Rinv.T


def working_response(fam: Family, y: np.ndarray, eta: np.ndarray, mu: np.ndarray, offset: np.ndarray):
    """The working response ``z`` (without the offset) and working weights per prior weight,
    ``mu_eta^2 / V(mu)``, at ``eta``."""
    d = fam.mu_eta(eta)
    return eta - offset + (y - mu) / d, d * d / fam.variance(mu)


def _valid(fam: Family, eta: np.ndarray, mu: np.ndarray, dev: float) -> bool:
    return bool(np.isfinite(dev) and fam.valid_eta(eta) and fam.valid_mu(mu))


def irls(
    X: np.ndarray,
    y: np.ndarray,
    fam: Family,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    mustart: np.ndarray | None = None,
    tol: float = 1e-8,
    maxit: int = 25,
) -> IrlsFit:
    """Fit ``g(E y) = X beta + offset`` by IRLS (see the module).

    Parameters
    ----------
    X : ndarray (n, p)
        Full-rank model matrix.
    y : ndarray (n,)
        The family's response (a binomial's proportions; see ``Family.initialize``).
    fam : Family
    weights : ndarray, optional
        Prior weights (a binomial's trials times any given weights); rows of weight 0 are left out.
    offset : ndarray, optional
    mustart : ndarray, optional
        Starting means (the family's ``initialize`` when not given).
    tol, maxit : float, int
        R's ``glm.control(epsilon, maxit)``.
    """
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    o = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    if mustart is None:
        mustart = fam.initialize(y, w).mustart
    eta = fam.linkfun(mustart)
    mu = fam.linkinv(eta)
    dev_old = float(np.sum(fam.dev_resids(y, mu, w)))
    good = w > 0
    beta = np.zeros(p)
    R = np.eye(p)
    converged, it = False, 0
    for it in range(1, maxit + 1):  # noqa: B007 - the count is reported
        z, wz = working_response(fam, y, eta, mu, o)
        sw = np.sqrt(w * wz)
        keep = good & (sw > 0)
        Q, R = np.linalg.qr(X[keep] * sw[keep, None])
        beta_new = solve_triangular(R, Q.T @ (z[keep] * sw[keep]))
        eta_new = X @ beta_new + o
        mu_new = fam.linkinv(eta_new)
        dev = float(np.sum(fam.dev_resids(y, mu_new, w)))
        halvings = 0
        while not _valid(fam, eta_new, mu_new, dev) and halvings < 30 and it > 1:
            beta_new = (beta_new + beta) / 2
            eta_new = X @ beta_new + o
            mu_new = fam.linkinv(eta_new)
            dev = float(np.sum(fam.dev_resids(y, mu_new, w)))
            halvings += 1
        if not _valid(fam, eta_new, mu_new, dev):
            raise FloatingPointError("the GLM fit cannot find valid means: no step keeps them in range")
        beta, eta, mu = beta_new, eta_new, mu_new
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    _, wz = working_response(fam, y, eta, mu, o)
    return IrlsFit(beta, eta, mu, dev, w * wz, R, it, converged)
