"""The relative covariance factor ``Lambda(theta)`` term by term, and VarCorr.

A term with ``k`` columns has a lower-triangular ``k x k`` template ``T`` whose lower triangle
is read from its slice of ``theta`` column by column; its random effects have covariance
``sigma^2 T T'`` within each level. Diagonal entries of ``T`` are bounded below by 0, the
others are free.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = [
    "ThetaLayout",
    "angles_of",
    "cov_to_sdcorr",
    "psd_cholesky",
    "sdcor_from_theta",
    "unit_rows",
]


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

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)

    @property
    def ntheta(self) -> int:
        return int(sum(self.sizes))

    def start(self) -> np.ndarray:
        """lme4's starting value: identity templates (a new array)."""
        return self._start.copy()

    def lower(self) -> np.ndarray:
        """Lower bounds: 0 for diagonal entries, -inf for the rest (a new array)."""
        return self._lower.copy()

    @cached_property
    def _lower(self) -> np.ndarray:
        return np.where(self._start == 1.0, 0.0, -np.inf)

    @cached_property
    def _start(self) -> np.ndarray:
        return np.concatenate([_ident(k) for k in self.ks]) if self.ks else np.zeros(0)

    @cached_property
    def _template_index(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [_tril_colmajor(k) for k in self.ks]

    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lower-triangular ``T`` of each term."""
        out = []
        for k, lo, (rows, cols) in zip(self.ks, self.offsets, self._template_index):
            T = np.zeros((k, k))
            T[rows, cols] = theta[lo : lo + len(rows)]
            out.append(T)
        return out

    def stacked_templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The templates of each term for each row of ``theta`` (R, d): arrays (R, k, k)."""
        theta = np.atleast_2d(theta)
        out = []
        for k, lo, (rows, cols) in zip(self.ks, self.offsets, self._template_index):
            T = np.zeros((len(theta), k, k))
            T[:, rows, cols] = theta[:, lo : lo + len(rows)]
            out.append(T)
        return out

    def diagonal_mask(self) -> np.ndarray:
        """True where a ``theta`` entry is a diagonal element of its template."""
        return self.lower() == 0.0

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` with each template ``T`` replaced by the semi-definite Cholesky factor of
        ``T T'``: the same covariances, and where a diagonal entry is 0 its whole column is 0
        (the entries below it, which then only rotate an equivalent template, are moved into
        the columns to its right)."""
        out = np.array(theta, dtype=float)
        for k, lo, (rows, cols), T in zip(self.ks, self.offsets, self._template_index, self.templates(out)):
            L = psd_cholesky(T @ T.T) if k > 1 else None
            if L is not None:
                out[lo : lo + len(rows)] = L[rows, cols]
        return out

    def lambda_pattern(self, nlevels: tuple[int, ...], first: int = 0, extra: int = 0):
        """The sparsity pattern of ``Lambda`` for terms ``first..`` and the ``theta`` index of each entry.

        Returns ``(rows, cols, index)``: ``Lambda[rows[i], cols[i]] = theta_ext[index[i]]`` where
        ``theta_ext`` is ``theta`` with a 1 appended; ``extra`` trailing identity columns (for
        ``X`` and ``y``) point at that 1. The arrays are shared between calls (read-only).
        """
        return _lambda_pattern(self.ks, tuple(int(n) for n in nlevels), first, extra)


@functools.lru_cache(maxsize=256)
def _lambda_pattern(ks: tuple[int, ...], nlevels: tuple[int, ...], first: int, extra: int):
    """:meth:`ThetaLayout.lambda_pattern`, computed once per model shape."""
    rows, cols, index, start = [], [], [], 0
    offsets = np.concatenate([[0], np.cumsum([k * (k + 1) // 2 for k in ks])]).astype(int)
    for k, lo, nl in zip(ks[first:], offsets[first:], nlevels):
        tr, tc = _tril_colmajor(k)
        base = start + k * np.arange(nl)[:, None]
        rows.append((base + tr).ravel())
        cols.append((base + tc).ravel())
        index.append(np.tile(lo + np.arange(len(tr)), nl))
        start += k * nl
    rows.append(start + np.arange(extra))
    cols.append(start + np.arange(extra))
    index.append(np.full(extra, offsets[-1]))
    return tuple(_read_only(np.concatenate(a)) for a in (rows, cols, index))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=64)
def _tril_colmajor(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a k x k lower triangle, column by column (shared, read-only)."""
    cols, rows = np.triu_indices(k)
    return _read_only(rows), _read_only(cols)


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


def sdcor_from_theta(layout: ThetaLayout, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Standard deviations and correlations of the random effects, in theta order.

    ``theta`` is (R, ntheta) and ``sigma`` (R,); the entry of a diagonal element of ``T`` is
    the standard deviation of its column, that of an off-diagonal element ``(i, j)`` the
    correlation of columns ``i`` and ``j``, from ``sigma^2 T T'``.
    """
    theta = np.atleast_2d(theta)
    sigma = np.atleast_1d(sigma)
    out = np.empty_like(theta, dtype=float)
    for k, lo, (rows, cols) in zip(layout.ks, layout.offsets, layout._template_index):
        T = np.zeros((len(theta), k, k))
        T[:, rows, cols] = theta[:, lo : lo + len(rows)]
        cov = T @ np.swapaxes(T, 1, 2) * (sigma**2)[:, None, None]
        sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.clip(cov / (sd[:, :, None] * sd[:, None, :]), -1.0, 1.0)  # rounding: 1 + 2e-16
        out[:, lo : lo + len(rows)] = np.where(rows == cols, sd[:, rows], corr[:, rows, cols])
    return out


def psd_cholesky(cov: np.ndarray, tol: float = 1e-10) -> np.ndarray | None:
    """Lower Cholesky factor of a positive semi-definite matrix; None if it is not one.

    A pivot within ``tol`` (relative to the largest diagonal entry) of zero gives a zero column,
    so a singular covariance (a correlation of +-1, a standard deviation of 0) has a factor.
    """
    k = len(cov)
    L = np.zeros((k, k))
    scale = tol * max(float(np.max(np.diag(cov))), 0.0)
    for j in range(k):
        pivot = cov[j, j] - L[j, :j] @ L[j, :j]
        if pivot < -scale or not np.isfinite(pivot):
            return None
        if pivot <= scale:
            off = cov[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]
            if np.any(np.abs(off) > np.sqrt(scale * np.abs(np.diag(cov)[j + 1 :])) + scale):
                return None
            continue
        L[j, j] = np.sqrt(pivot)
        L[j + 1 :, j] = (cov[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def unit_rows(angles: np.ndarray, k: int) -> np.ndarray:
    """A lower-triangular ``k x k`` matrix with unit rows from ``k (k - 1) / 2`` angles in [0, pi].

    Row ``r`` has ``r`` angles ``a_1..a_r`` (rows in order) and is the point of the unit sphere
    ``(cos a_1, sin a_1 cos a_2, ..., sin a_1 ... sin a_{r-1} cos a_r, sin a_1 ... sin a_r)``,
    whose last entry is not negative. ``C C'`` is a correlation matrix, every correlation matrix
    is one of these, and each is a valid template: the angles have no forbidden region.
    """
    C = np.zeros((k, k))
    C[0, 0] = 1.0
    start = 0
    for r in range(1, k):
        a = angles[start : start + r]
        sines = np.concatenate([[1.0], np.cumprod(np.sin(a))])
        C[r, :r] = sines[:-1] * np.cos(a)
        C[r, r] = sines[-1]
        start += r
    return C


def angles_of(C: np.ndarray) -> np.ndarray:
    """The angles of :func:`unit_rows` of a lower-triangular matrix with unit rows."""
    out = []
    for r in range(1, len(C)):
        row = C[r, : r + 1]
        tail = np.sqrt(np.cumsum(row[::-1] ** 2)[::-1])  # |row[l:]| for each l
        out += [float(np.arctan2(tail[l + 1], row[l])) for l in range(r)]
    return np.array(out)
