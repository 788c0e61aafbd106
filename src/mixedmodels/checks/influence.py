"""Leverages (hat values) and the leave-one-out statistics built on them, for augment's tables.

lmer: the fitted values are ``H y`` with ``H = A M^{-1} A'``, ``A = W^{1/2} [Z Lambda, X]`` and
``M = A'A + diag(1_q, 0_p)`` (the penalized least-squares system at the optimum), so the
leverage of row ``i`` is ``a_i' M^{-1} a_i`` (lme4's ``hatvalues``); Cook's distance is
``(r_i / (1 - h_i))^2 h_i / (sigma^2 p)`` with ``r`` the weighted residuals (lme4's
``cooks.distance``).

lm and glm: ``h`` the diagonal of ``Q Q'`` from the QR of ``W^{1/2} X`` (prior weights for lm, the
IRLS working weights for glm), and R's ``influence``: the leave-one-out ``sigma_(i) =
sqrt((sum e^2 - e_i^2 / (1 - h_i)) / (df - 1))``, standardized residuals ``e_i / (s sqrt(1 - h_i))``
and Cook's distance ``(r_i / (1 - h_i))^2 h_i / (s^2 p)`` (``e`` the weighted, resp. deviance,
residuals, ``r`` the weighted, resp. Pearson, ones, ``s^2`` sigma squared, resp. the dispersion).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["glm_influence", "lm_influence", "lmer_hat"]

CHUNK = 2048  # rows of A' solved at once


def lmer_hat(fit: Any) -> np.ndarray:
    """The leverages of an lmer fit's rows (see the module)."""
    from ..numerics.pls import term_matrix

    design = fit.design
    sw = np.sqrt(np.asarray(fit.weights, dtype=float))
    Z = sp.hstack([term_matrix(t) for t in design.reterms], format="csc")
    ZL = Z @ fit.pls.lambda_matrix(fit.theta)
    A = sp.diags(sw) @ sp.hstack([ZL, sp.csc_matrix(design.X)], format="csc")
    q = ZL.shape[1]
    penalty = sp.diags(np.r_[np.ones(q), np.zeros(A.shape[1] - q)])
    lu = splu((A.T @ A + penalty).tocsc())
    At = A.T.tocsc()
    hat = np.empty(A.shape[0])
    for lo in range(0, A.shape[0], CHUNK):
        block = At[:, lo : lo + CHUNK].toarray()
        hat[lo : lo + CHUNK] = np.einsum("ij,ij->j", block, lu.solve(block))
    return hat


def _hat_qr(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``diag(Q Q')`` of the QR of ``W^{1/2} X`` (zero-weight rows get 0)."""
    Q, _ = np.linalg.qr(np.sqrt(w)[:, None] * X)
    return np.einsum("ij,ij->i", Q, Q)


def _leave_one_out(e: np.ndarray, hat: np.ndarray, df: int) -> np.ndarray:
    """R's ``influence()$sigma`` from the residuals ``e`` and leverages."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((np.sum(e**2) - e**2 / (1 - hat)) / (df - 1))


def lm_influence(fit: Any) -> dict[str, np.ndarray]:
    """``.hat``, ``.sigma``, ``.cooksd`` and ``.std.resid`` of an lm fit (broom's ``augment.lm``)."""
    kept = fit.qr[0]
    w = np.asarray(fit.weights, dtype=float)
    hat = _hat_qr(fit.design.X[:, kept], w)
    e = np.sqrt(w) * fit.resid("response").to_numpy()
    s = float(fit.sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        cooksd = (e / (1 - hat)) ** 2 * hat / (s**2 * fit.rank)
        std = e / (s * np.sqrt(1 - hat))
    return {
        ".hat": hat,
        ".sigma": _leave_one_out(e, hat, fit.df_residual),
        ".cooksd": cooksd,
        ".std.resid": std,
    }


def glm_influence(fit: Any) -> dict[str, np.ndarray]:
    """``.hat``, ``.sigma``, ``.cooksd`` and ``.std.resid`` of a glm fit (broom's ``augment.glm``:
    R's ``influence``, ``cooks.distance`` and ``rstandard`` of a glm)."""
    hat = _hat_qr(fit.design.X[:, list(fit.kept)], np.asarray(fit.result.working_weights, dtype=float))
    dev = fit.resid("deviance").to_numpy()
    pearson = fit.resid("pearson").to_numpy()
    phi = float(fit.dispersion)
    with np.errstate(divide="ignore", invalid="ignore"):
        cooksd = (pearson / (1 - hat)) ** 2 * hat / (phi * fit.rank)
        std = dev / np.sqrt(phi * (1 - hat))
    sigma = _leave_one_out(dev, hat, fit.df_residual)
    return {".std.resid": std, ".hat": hat, ".sigma": sigma, ".cooksd": cooksd}  # broom's glm order
