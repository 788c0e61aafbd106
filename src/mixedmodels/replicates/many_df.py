"""Satterthwaite degrees of freedom of every coefficient of many responses at once.

:mod:`mixedmodels.inference.anova` gives lmerTest's degrees of freedom for one fit: with
``psi = (theta, sigma)``, the deviance ``d(psi)`` not profiled over ``sigma`` and
``V(psi) = sigma^2 U(theta)``, ``U = (R_X'R_X)^{-1}``, the t test of coefficient ``j`` has

    df_j = 2 V_jj^2 / (g' A g),    g_k = dV_jj / dpsi_k,    A = 2 H^{-1},   H = d''(psi).

Here the same numbers come for many (response, ``theta``) pairs from stacked evaluations of
:class:`~mixedmodels.numerics.batch.BatchCriterion`. The dependence on ``sigma`` is explicit: with
``r2(theta)`` the penalized residual sum of squares, ``nu`` the criterion's residual degrees of
freedom (``n - p`` for REML, ``n`` for ML) and ``c(theta)`` the criterion profiled over
``sigma`` (what the batch evaluates), ``rho = r2(theta) / r2(theta_hat)`` and
``sigma_hat^2 = r2(theta_hat) / nu``,

    d(theta, sigma_hat) = c(theta) + nu (rho - 1 - log rho),
    d2/dsigma2 = 6 r2 / sigma^4 - 2 nu / sigma^2,   d2/dtheta_i dsigma = -2 (dr2/dtheta_i) / sigma^3,
    dV/dsigma = 2 sigma U,                            dV/dtheta_i = sigma^2 dU/dtheta_i,

so only derivatives in ``theta`` are numerical: central differences with the single fit's steps
``h_i = 2^-l (0.01 |theta_i| + 0.001)``, ``l = 0, ..., levels - 1``, Richardson-extrapolated
over ``l``. With ``f_+i``, ``f_-i`` the values at ``theta +- h_i e_i`` and ``f_+ij``, ``f_-ij``
at ``theta +- (h_i e_i + h_j e_j)``,

    d2f/dtheta_i2        = (f_+i - 2 f_0 + f_-i) / h_i^2,
    d2f/dtheta_i dtheta_j = (f_+ij + f_-ij - f_+i - f_-i - f_+j - f_-j + 2 f_0) / (2 h_i h_j),
    df/dtheta_i          = (f_+i - f_-i) / (2 h_i)

(errors even in ``h``), for ``f = d(theta, sigma_hat)``, ``r2`` and ``diag U``. The mixed
difference needs 2 points per pair where the single fit's needs 4; the df agree to about 1e-7,
the rounding noise of the deviance amplified by ``1 / h^2``. The stencil of all responses of a
chunk is one stacked call of the batch.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np

from ..numerics.batch import BatchCriterion

__all__ = ["satterthwaite_df"]

LEVELS = 2  # Richardson levels: beyond 2 the rounding noise, not the truncation error, dominates
ROW_BYTES = 1 << 22  # memory of one stacked call of the batch


@dataclass(frozen=True)
class _Stencil:
    """Offsets of the stencil in units of the steps, and where each difference reads them."""

    offsets: np.ndarray  # (points, k); point 0 is the centre
    plus: np.ndarray  # (levels, k): theta + h e_i
    minus: np.ndarray  # (levels, k)
    mixed: np.ndarray  # (levels, pairs, 2): theta + (h_i e_i + h_j e_j), theta - (...)
    pairs: tuple[np.ndarray, np.ndarray]  # (i, j) with i > j
    scale: np.ndarray  # (levels,) 2^-l


def _stencil(k: int, levels: int) -> _Stencil:
    """The stencil of a Hessian in ``k`` variables by central differences at ``levels`` step sizes."""
    rows: list[np.ndarray] = [np.zeros(k)]
    eye = np.eye(k)
    pi, pj = np.tril_indices(k, -1)
    plus, minus, mixed = [], [], []
    for level in range(levels):
        s = 2.0**-level
        plus.append(len(rows) + 2 * np.arange(k))
        minus.append(len(rows) + 2 * np.arange(k) + 1)
        for i in range(k):
            rows += [s * eye[i], -s * eye[i]]
        mixed.append(len(rows) + np.arange(2 * len(pi)).reshape(-1, 2))
        for first, second in zip(pi, pj):
            rows += [s * (eye[first] + eye[second]), -s * (eye[first] + eye[second])]
    return _Stencil(
        offsets=np.array(rows),
        plus=np.array(plus),
        minus=np.array(minus),
        mixed=np.array(mixed).reshape(levels, len(pi), 2),
        pairs=(pi, pj),
        scale=2.0 ** -np.arange(levels),
    )


def _extrapolate(table: np.ndarray) -> np.ndarray:
    """Richardson extrapolation over axis 1 (step halved along it) of a difference with even error."""
    for j in range(1, table.shape[1]):
        factor = 4.0**j
        table = (factor * table[:, 1:] - table[:, :-1]) / (factor - 1)
    return table[:, 0]


def satterthwaite_df(
    batch: BatchCriterion, Y: np.ndarray, theta: np.ndarray, levels: int = LEVELS
) -> np.ndarray:
    """Satterthwaite's denominator degrees of freedom of each coefficient of each response.

    Parameters
    ----------
    batch : BatchCriterion
        The model (REML or ML as it was fitted).
    Y : ndarray (n, R)
        The responses.
    theta : ndarray (R, k)
        Each response's estimate of ``theta``.
    levels : int
        Richardson levels of the differences. The single fit uses 4; 2 (the default) gives the
        same df to about 1e-7 relative, the differences' rounding noise, at half the cost.

    Returns
    -------
    ndarray (R, p)
        Equal to ``lmer(...).satterthwaite_df`` of each response; ``inf`` where ``g'Ag`` is
        not positive or not finite (a singular Hessian), as the single fit's.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    resp = batch.responses(Y)
    stencil = _stencil(theta.shape[1], levels)
    row_bytes = 8.0 * (batch.n1 * batch.k1**2 + 4 * batch.Qr**2 + batch.n1 * batch.k1 + batch.Qr)
    per = max(1, int(ROW_BYTES // (row_bytes * len(stencil.offsets))))
    out = np.empty((len(theta), batch.p))
    for lo in range(0, len(theta), per):
        idx = np.arange(lo, min(lo + per, len(theta)))
        out[idx] = _chunk_df(batch, batch.take(resp, idx), theta[idx], stencil)
    return out


def _chunk_df(batch: BatchCriterion, resp: dict, theta: np.ndarray, stencil: _Stencil) -> np.ndarray:
    """The degrees of freedom of one chunk of responses: the stencil in one stacked call."""
    m, k = theta.shape
    P = len(stencil.offsets)
    h = 1e-2 * np.abs(theta) + 1e-3
    points = theta[:, None, :] + stencil.offsets[None] * h[:, None, :]
    L, crit, r2 = batch.factor(points.reshape(-1, k), batch.take(resp, np.repeat(np.arange(m), P)))
    crit, r2 = crit.reshape(m, P), r2.reshape(m, P)
    qr, p = batch.qrest, batch.p
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.linalg.inv(np.nan_to_num(L[:, qr : qr + p, qr : qr + p], nan=1.0))
        u = np.einsum("Nij,Nij->Nj", inv, inv).reshape(m, P, p)  # diag (R_X'R_X)^{-1}
        rho = r2 / r2[:, :1]
        dev = crit + batch.nu * (rho - 1.0 - np.log(rho))
    sigma2 = r2[:, 0] / batch.nu
    H = _hessian(dev, r2, sigma2, h, stencil, batch.nu)
    A = 2.0 * _inverse(H)
    d_theta = sigma2[:, None, None] * _gradient(u, h, stencil)
    d_sigma = 2.0 * np.sqrt(sigma2)[:, None, None] * u[:, None, 0]
    jac = np.concatenate([d_theta, d_sigma], axis=1)  # (m, k + 1, p): dV_jj / dpsi
    var = sigma2[:, None] * u[:, 0]
    denom = np.einsum("mkj,mkl,mlj->mj", jac, A, jac)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * var**2 / denom, math.inf)


def _gradient(values: np.ndarray, h: np.ndarray, stencil: _Stencil) -> np.ndarray:
    """Central-difference gradient in ``theta`` of ``values`` (m, points, ...): (m, k, ...)."""
    step = stencil.scale[None, :, None] * h[:, None, :]  # (m, levels, k)
    step = step.reshape(step.shape + (1,) * (values.ndim - 2))
    table = (values[:, stencil.plus] - values[:, stencil.minus]) / (2.0 * step)
    return _extrapolate(table)


def _hessian(
    dev: np.ndarray, r2: np.ndarray, sigma2: np.ndarray, h: np.ndarray, stencil: _Stencil, nu: float
) -> np.ndarray:
    """Hessian of ``d(theta, sigma)`` at each response's estimate: (m, k + 1, k + 1)."""
    m, k = h.shape
    step = stencil.scale[None, :, None] * h[:, None, :]  # (m, levels, k)
    f0 = dev[:, :1, None]
    diag = _extrapolate((dev[:, stencil.plus] - 2.0 * f0 + dev[:, stencil.minus]) / step**2)
    H = np.empty((m, k + 1, k + 1))
    H[:, np.arange(k), np.arange(k)] = diag
    pi, pj = stencil.pairs
    if len(pi):
        c = dev[:, stencil.mixed]  # (m, levels, pairs, 2): theta +- (h_i e_i + h_j e_j)
        axes = dev[:, stencil.plus] + dev[:, stencil.minus]  # (m, levels, k)
        cross = (c[..., 0] + c[..., 1] - axes[:, :, pi] - axes[:, :, pj] + 2.0 * f0) / (
            2.0 * step[:, :, pi] * step[:, :, pj]
        )
        H[:, pi, pj] = H[:, pj, pi] = _extrapolate(cross)
    sigma = np.sqrt(sigma2)
    H[:, :k, k] = H[:, k, :k] = -2.0 * _gradient(r2, h, stencil) / sigma[:, None] ** 3
    H[:, k, k] = 6.0 * r2[:, 0] / sigma2**2 - 2.0 * nu / sigma2
    return H


def _inverse(H: np.ndarray) -> np.ndarray:
    """Inverses of a stack; NaN for the singular or non-finite ones (no finite df there)."""
    out = np.full_like(H, np.nan)
    finite = np.all(np.isfinite(H), axis=(1, 2))
    try:
        out[finite] = np.linalg.inv(H[finite])
    except np.linalg.LinAlgError:
        for i in np.flatnonzero(finite):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.inv(H[i])
    return out
