"""Leverages (hat values) of fixed-effects models and R's leave-one-out statistics built on them,
for augment's tables (a mixed model's leverages: :func:`mixedmodels.checks.model_check.hatvalues`).

lm and glm: ``h`` the diagonal of ``Q Q'`` from the QR of ``W^{1/2} X`` (prior weights for lm, the
IRLS working weights for glm), and R's ``influence``: the leave-one-out ``sigma_(i) =
sqrt((sum e^2 - e_i^2 / (1 - h_i)) / (df - 1))``, standardized residuals ``e_i / (s sqrt(1 - h_i))``
and Cook's distance ``(r_i / (1 - h_i))^2 h_i / (s^2 p)`` (``e`` the weighted, resp. deviance,
residuals, ``r`` the weighted, resp. Pearson, ones, ``s^2`` sigma squared, resp. the dispersion).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["glm_influence", "lm_influence", "weighted_leverages"]


def weighted_leverages(X: np.ndarray, w: np.ndarray) -> np.ndarray:
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
    hat = weighted_leverages(fit.design.X[:, kept], w)
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
    hat = weighted_leverages(
        fit.design.X[:, list(fit.kept)], np.asarray(fit.result.working_weights, dtype=float)
    )
    dev = fit.resid("deviance").to_numpy()
    pearson = fit.resid("pearson").to_numpy()
    phi = float(fit.dispersion)
    with np.errstate(divide="ignore", invalid="ignore"):
        cooksd = (pearson / (1 - hat)) ** 2 * hat / (phi * fit.rank)
        std = dev / np.sqrt(phi * (1 - hat))
    sigma = _leave_one_out(dev, hat, fit.df_residual)
    return {".std.resid": std, ".hat": hat, ".sigma": sigma, ".cooksd": cooksd}  # broom's glm order
