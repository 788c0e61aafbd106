"""Iteratively reweighted least squares: the maximum-likelihood fit of a generalized linear
model, as R's ``glm.fit``; the engine of ``mm.glm`` and the starting fit of ``mm.glmer``.

For a family with variance function ``V`` and link ``g`` (``eta = g(mu)``), prior weights ``w``,
offset ``o`` and model matrix ``X``, each iteration linearizes the link around the current
``eta``, ``mu = g^{-1}(eta)`` (a Fisher scoring step):

    z_i  = eta_i - o_i + (y_i - mu_i) / mu_eta(eta_i)            (working response)
    W_i  = w_i mu_eta(eta_i)^2 / V(mu_i)                         (working weights)
    beta = argmin sum W_i (z_i - x_i' beta)^2                    (by a QR of W^{1/2} X)
    eta  = X beta + o,   mu = g^{-1}(eta),   D = sum_i d(y_i, mu_i, w_i)

starting from given means ``mustart`` (the family's ``initialize`` when not given, as R) or a
given ``eta``. It stops when ``|D - D_old| / (|D| + 0.1) < epsilon`` (1e-8), after at most
``maxit`` (25) iterations. A step whose deviance is not finite, or whose ``eta`` or ``mu``
leaves the family's range, is halved towards the previous coefficients until it is. Rows with
zero weight, or where ``mu_eta = 0``, take no part in the least squares. As R's ``glm.fit``,
the covariance of ``beta`` is read from the last QR, whose weights ``W`` are those of the
iteration's start:

    vcov(beta) = phi (X' W X)^{-1} = phi (R'R)^{-1}.

:func:`working_response` gives ``z`` and ``W / w`` at any ``eta`` (PIRLS, :mod:`mixedmodels.glmm.pirls`,
iterates on them too).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from ..families import Family

__all__ = ["IrlsError", "IrlsFit", "irls", "working_response"]

EPSILON = 1e-8
MAXIT = 25


class IrlsError(ValueError):
    """IRLS cannot find valid coefficients (R's glm.fit errors)."""


@dataclass(frozen=True)
class IrlsFit:
    """The end of an IRLS fit.

    Attributes
    ----------
    beta : ndarray (p,)
        Coefficients of the columns of ``X``.
    eta, mu : ndarray (n,)
        Linear predictor (with the offset) and fitted means.
    deviance : float
        ``sum d(y_i, mu_i, w_i)``.
    iterations : int
    converged, boundary : bool
        Whether the deviance settled; whether a step had to be halved.
    working_weights : ndarray (n,)
        ``W`` of the last iteration (0 for rows that took no part).
    R : ndarray (p, p)
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
    R: np.ndarray

    @property
    def vcov_unscaled(self) -> np.ndarray:
        """``(R'R)^{-1} = (X'WX)^{-1}``: the covariance of ``beta`` for a dispersion of 1."""
        Rinv = solve_triangular(self.R, np.eye(len(self.R)))
        return Rinv @ Rinv.T


def working_response(
    fam: Family, y: np.ndarray, eta: np.ndarray, mu: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The working response ``z`` (without the offset) and the working weights per prior
    weight, ``mu_eta^2 / V(mu)``, at ``eta`` (``mu = g^{-1}(eta)``): the family's
    :meth:`~mixedmodels.families.Family.working`."""
    resid, wz = fam.working(y, eta, mu)
    return eta - offset + resid, wz


def _deviance(fam: Family, y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sum(fam.dev_resids(y, mu, weights)))


def _weighted_ls(X, z, w) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and R of the least squares of ``w z`` on ``w X``."""
    Q, R = np.linalg.qr(X * w[:, None])
    return solve_triangular(R, Q.T @ (z * w)), R


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


def _working(fam: Family, y, weights, offset, eta, mu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows that take part (non-zero prior and working weights), their working response
    and the square roots of their working weights."""
    with np.errstate(divide="ignore", invalid="ignore"):  # mu_eta = 0: the row takes no part
        z, wz = working_response(fam, y, eta, mu, offset)
    good = (weights > 0) & (wz > 0)
    return good, z[good], np.sqrt(weights[good] * wz[good])


def _empty_fit(fam: Family, y, weights, offset) -> IrlsFit:
    """A model without coefficients: ``eta`` is the offset."""
    eta = offset.copy()
    mu = fam.linkinv(eta)
    good, _, w = _working(fam, y, weights, offset, eta, mu)
    W = np.zeros(len(y))
    W[good] = w**2
    return IrlsFit(np.zeros(0), eta, mu, _deviance(fam, y, mu, weights), 0, True, False, W, np.zeros((0, 0)))


def irls(
    X: np.ndarray,
    y: np.ndarray,
    fam: Family,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    mustart: np.ndarray | None = None,
    etastart: np.ndarray | None = None,
    epsilon: float = EPSILON,
    maxit: int = MAXIT,
    warn: bool = True,
) -> IrlsFit:
    """Fit ``g(E y) = X beta + offset`` by IRLS (R's ``glm.fit``), see the module's docstring.

    Parameters
    ----------
    X : ndarray (n, p)
        Model matrix of full column rank (aliased columns already removed).
    y : ndarray (n,)
        The response as the family reads it (a binomial's proportions; see ``Family.initialize``).
    fam : Family
    weights, offset : ndarray (n,), optional
        Prior weights (a binomial's trials times any given weights; ones when not given) and
        the offset (zeros when not given).
    mustart, etastart : ndarray (n,), optional
        Starting means (the family's ``initialize`` when neither is given), or a starting
        linear predictor (which wins).
    epsilon, maxit : float, int
        R's ``glm.control(epsilon, maxit)``.
    warn : bool
        Whether to warn when ``maxit`` iterations end before convergence (R's ``glm.fit``
        does; a fit that only starts another, as glmer's, need not).

    Returns
    -------
    IrlsFit

    Raises
    ------
    IrlsError
        No finite deviance or valid means could be reached.
    """
    n = len(y)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    if X.shape[1] == 0:
        return _empty_fit(fam, y, weights, offset)
    if etastart is not None:
        eta = etastart
    else:
        eta = fam.linkfun(fam.initialize(y, weights).mustart if mustart is None else mustart)
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
        good, z, w = _working(fam, y, weights, offset, eta, mu)
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
    if warn and not converged:
        warnings.warn(f"glm: IRLS did not converge in {maxit} iterations", RuntimeWarning, stacklevel=3)
    return IrlsFit(beta, eta, mu, dev, iterations, converged, boundary, W, R)
