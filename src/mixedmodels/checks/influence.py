"""Leverages of a weighted least-squares fit and R's leave-one-out residual scale, the parts of
:mod:`mixedmodels.checks.model_check` (its module has the equations of the leverages, Cook's
distance and the standardized residuals) and of augment's tables that are not model_check's.

``h`` is the diagonal of ``Q Q'`` from the QR of ``W^{1/2} X``; R's ``influence()$sigma`` is
``sigma_(i) = sqrt((sum e^2 - e_i^2 / (1 - h_i)) / (df - 1))`` with ``e`` the weighted residuals
of an lm fit, the deviance residuals of a glm fit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["leave_one_out_sigma", "weighted_leverages"]


def weighted_leverages(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``diag(Q Q')`` of the QR of ``W^{1/2} X`` (zero-weight rows get 0)."""
    Q, _ = np.linalg.qr(np.sqrt(w)[:, None] * X)
    return np.einsum("ij,ij->i", Q, Q)


def leave_one_out_sigma(e: np.ndarray, hat: np.ndarray, df: int) -> np.ndarray:
    """R's ``influence()$sigma`` from the residuals ``e``, the leverages and the residual df."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((np.sum(e**2) - e**2 / (1 - hat)) / (df - 1))
