"""Iteratively reweighted least squares: the maximum-likelihood fit of a generalized linear model.

For a family with variance function ``V`` and link ``g`` (``eta = g(mu)``), prior weights ``w``,
offset ``o`` and model matrix ``X``, each iteration linearizes the link around the current
``eta``, ``mu = g^{-1}(eta)``:

    z_i  = eta_i - o_i + (y_i - mu_i) / mu_eta(eta_i)            (working response)
    W_i  = w_i mu_eta(eta_i)^2 / V(mu_i)                         (working weights)
    beta = argmin sum W_i (z_i - x_i' beta)^2                    (by a QR of W^{1/2} X)
    eta  = X beta + o,   mu = g^{-1}(eta),   D = sum_i d(y_i, mu_i, w_i)

starting from the family's ``mustart`` (``eta = g(mustart)``) or a given ``eta``. It stops when
``|D - D_old| / (|D| + 0.1) < epsilon`` (1e-8), after at most ``maxit`` (25) iterations. A step
whose deviance is not finite, or whose ``eta`` or ``mu`` leaves the family's range, is halved
towards the previous coefficients until it is. Rows with zero weight, or where
``mu_eta = 0``, take no part in the least squares. As R's ``glm.fit``, the covariance of
``beta`` is read from the last QR, whose weights ``W`` are those of the iteration's start:

    vcov(beta) = phi (X' W X)^{-1}.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .families import Family

__all__ = ["IrlsResult", "irls"]

EPSILON = 1e-8
MAXIT = 25


class IrlsError(ValueError):
    """IRLS cannot find valid coefficients (R's glm.fit errors)."""


@dataclass(frozen=True)
class IrlsResult:
    """The end of an IRLS fit.

    Attributes
    ----------
    beta : ndarray (p,)
        Coefficients of the columns of ``X``.
    eta, mu : ndarray (n,)
        Linear predictor (with the offset) and fitted means.
    deviance : float
    iterations : int
    converged, boundary : bool
        Whether the deviance settled; whether a step had to be halved.
    working_weights : ndarray (n,)
        ``W`` of the last iteration (0 for rows that took no part).
    r : ndarray (p, p)
        The triangular factor of the last weighted least squares: ``X'WX = R'R``.
    """

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    iterations: int
    converged: bool
    boundary: bool
    working_weights: np.ndarray
    r: np.ndarray


def _deviance(fam: Family, y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sum(fam.dev_resids(y, mu, weights)))


def _weighted_ls(X, z, w) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and R of the least squares of ``w z`` on ``w X``."""
    Q, R = np.linalg.qr(X * w[:, None])
    return np.linalg.solve(R, Q.T @ (z * w)), R


def _halve(fam: Family, X, y, weights, offset, beta, beta_old, ok, maxit, what: str):
    """Halve the step from ``beta_old`` until ``ok(eta, mu, deviance)``."""
    if beta_old is None:
        raise IrlsError(
            f"no valid set of coefficients has been found ({what}): please supply starting values"
        )
    for _ in range(maxit):
        beta = (beta + beta_old) / 2
        eta = X @ beta + offset
        mu = fam.linkinv(eta)
        dev = _deviance(fam, y, mu, weights)
        if ok(eta, mu, dev):
            return beta, eta, mu, dev
    raise IrlsError(f"inner loop: cannot correct the step size ({what})")


def _empty_fit(fam: Family, y, weights, offset) -> IrlsResult:
    """A model without coefficients: ``eta`` is the offset."""
    eta = offset.copy()
    mu = fam.linkinv(eta)
    mu_eta = fam.mu_eta(eta)
    good = weights > 0
    W = np.zeros(len(y))
    W[good] = weights[good] * mu_eta[good] ** 2 / fam.variance(mu)[good]
    return IrlsResult(
        np.zeros(0), eta, mu, _deviance(fam, y, mu, weights), 0, True, False, W, np.zeros((0, 0))
    )


def irls(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    offset: np.ndarray,
    fam: Family,
    mustart: np.ndarray | None = None,
    etastart: np.ndarray | None = None,
    epsilon: float = EPSILON,
    maxit: int = MAXIT,
) -> IrlsResult:
    """Fit ``beta`` by IRLS (R's ``glm.fit``), see the module's docstring.

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix of full column rank (aliased columns already removed).
    y, weights, offset : ndarray (n,)
        Response as the family reads it (a binomial proportion), prior weights, offset.
    fam : Family
    mustart, etastart : ndarray (n,), optional
        Starting means, or a starting linear predictor (which wins).

    Raises
    ------
    IrlsError
        No finite deviance or valid means could be reached.
    """
    if X.shape[1] == 0:
        return _empty_fit(fam, y, weights, offset)
    if etastart is not None:
        eta = etastart
    elif mustart is not None:
        eta = fam.linkfun(mustart)
    else:
        raise ValueError("irls needs starting means (mustart) or a starting linear predictor (etastart)")
    mu = fam.linkinv(eta)
    if not (fam.valid_eta(eta) and fam.valid_mu(mu)):
        raise IrlsError("cannot find valid starting values: please specify some")
    dev_old = _deviance(fam, y, mu, weights)
    beta_old = None
    boundary = converged = False
    finite = lambda eta, mu, dev: np.isfinite(dev)  # noqa: E731
    valid = lambda eta, mu, dev: fam.valid_eta(eta) and fam.valid_mu(mu)  # noqa: E731
    iterations = 0
    while iterations < maxit:
        iterations += 1
        mu_eta = fam.mu_eta(eta)
        good = (weights > 0) & (mu_eta != 0)
        z = (eta - offset)[good] + (y - mu)[good] / mu_eta[good]
        w = np.sqrt(weights[good] * mu_eta[good] ** 2 / fam.variance(mu)[good])
        beta, R = _weighted_ls(X[good], z, w)
        eta = X @ beta + offset
        mu = fam.linkinv(eta)
        dev = _deviance(fam, y, mu, weights)
        if not np.isfinite(dev):
            beta, eta, mu, dev = _halve(
                fam, X, y, weights, offset, beta, beta_old, finite, maxit, "divergence"
            )
            boundary = True
        if not valid(eta, mu, dev):
            beta, eta, mu, dev = _halve(
                fam, X, y, weights, offset, beta, beta_old, valid, maxit, "out of range"
            )
            boundary = True
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old, beta_old = dev, beta
    W = np.zeros(len(y))
    W[good] = w**2
    if not converged:
        warnings.warn(f"glm: IRLS did not converge in {maxit} iterations", RuntimeWarning, stacklevel=3)
    return IrlsResult(beta, eta, mu, dev, iterations, converged, boundary, W, R)
