"""The relative covariance factor ``Lambda(theta)`` term by term, and VarCorr.

A term with ``k`` columns has a lower-triangular ``k x k`` template ``T`` whose lower triangle
is read from its slice of ``theta`` column by column; its random effects have covariance
``sigma^2 T T'`` within each level. Diagonal entries of ``T`` are bounded below by 0, the
others are free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ThetaLayout", "cov_to_sdcorr"]


@dataclass(frozen=True)
class ThetaLayout:
    """Where each term's template lives in ``theta``.

    Parameters
    ----------
    ks : tuple of int
        Columns of each random-effects term, in term order.
    """

    ks: tuple[int, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(k * (k + 1) // 2 for k in self.ks)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)

    @property
    def ntheta(self) -> int:
        return int(sum(self.sizes))

    def start(self) -> np.ndarray:
        """lme4's starting value: identity templates."""
        return np.concatenate([_ident(k) for k in self.ks])

    def lower(self) -> np.ndarray:
        """Lower bounds: 0 for diagonal entries, -inf for the rest."""
        return np.concatenate([np.where(_ident(k) == 1.0, 0.0, -np.inf) for k in self.ks])

    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lower-triangular ``T`` of each term."""
        out = []
        for k, lo in zip(self.ks, self.offsets):
            T = np.zeros((k, k))
            rows, cols = _tril_colmajor(k)
            T[rows, cols] = theta[lo : lo + k * (k + 1) // 2]
            out.append(T)
        return out

    def diagonal_mask(self) -> np.ndarray:
        """True where a ``theta`` entry is a diagonal element of its template."""
        return self.lower() == 0.0


def _tril_colmajor(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a k x k lower triangle, column by column."""
    cols, rows = np.triu_indices(k)
    return rows, cols


def _ident(k: int) -> np.ndarray:
    rows, cols = _tril_colmajor(k)
    return (rows == cols).astype(float)


def cov_to_sdcorr(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations and correlation matrix of a covariance matrix (0/0 correlations are 0)."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    return sd, corr
