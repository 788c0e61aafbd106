"""The profiled criterion of one model for many responses at once.

A parametric bootstrap refits one model to many simulated responses: ``X`` and ``Z`` never
change, so every cross-product that does not involve ``y`` is shared, and the ones that do
(``Z_1'y``, ``[Z_r X]'y``, ``y'y``) are one matrix product for all responses together. With
``R`` responses and their own ``theta`` each, the blocked factor of :mod:`mixedmodels.numerics.pls` is
computed for all of them in stacked arrays:

    M_l    = T_1' A_11,l T_1 + I                          (R, levels_1, k_1, k_1)
    W_l    = T_1 M_l^{-1} T_1'
    C      = A_rr - A_r1 W A_1r                            (R, Q_r, Q_r), y row and column per response
    S      = Lambda_r' C Lambda_r + [I 0; 0 0],  L_S L_S' = S   (batched Cholesky)

and the criterion follows from ``log|M_l|``, the diagonal of ``L_S`` and ``r2 = L_S[-1,-1]^2``
as in :mod:`mixedmodels.numerics.objective`. This suits models whose Schur complement is small (up to a
few hundred rows); large models are refitted one response at a time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..covariance.layout import tril_colmajor
from .objective import dof, from_parts
from .pls import PLS, symmetric

__all__ = ["BatchCriterion"]

MAX_BATCH_QR = 200  # largest Schur complement (rest Z, X, y) worth batching
CACHE_FLOATS = 1 << 18  # numbers per array of a block of rows (2 MB)


class BatchCriterion:
    """Criterion, ``beta`` and ``sigma`` of one model at many (response, theta) pairs.

    Parameters
    ----------
    pls : PLS
        The model's structure (its response is not used).
    reml : bool
        REML criterion or ML deviance.
    """

    def __init__(self, pls: PLS, reml: bool):
        self.pls, self.reml = pls, reml
        self.n, self.p, self.k1, self.n1 = pls.n, pls.p, pls.k1, pls.n1
        self.qrest, self.Qr = pls.qrest, pls.Qr
        self.layout = pls.layout
        self.A11 = pls.A11
        Ar1 = pls.Ar1.toarray()[:-1]  # rows: rest Z, X (the y row comes per response)
        self.B = Ar1.reshape(self.Qr - 1, self.n1, self.k1)
        full = symmetric(pls.Arr)
        self.Arr0 = full[:-1, :-1]
        Z1, Zrest = pls.Z1, pls.Zrest
        if Z1 is None or Zrest is None:
            raise ValueError("a batch of responses needs the model's observations")
        self.Z1 = Z1
        self.rest = sp.hstack([Zrest, sp.csc_matrix(pls.X)], format="csc")
        rows, cols, self.rest_index = self.layout.lambda_pattern(
            tuple(t.nlevels for t in pls.reterms[1:]), first=1, extra=self.p + 1
        )
        self.rest_diagonal = bool(np.all(rows == cols))
        self.rest_pattern = (rows, cols)
        self.t1_rows, self.t1_cols = tril_colmajor(self.k1)  # the first template's entries
        # BB[(l, a, b), (i, j)] = B[i, l, a] B[j, l, b], when small enough to keep
        m = self.Qr - 1
        if self.n1 * self.k1**2 * m * m <= 4_000_000:
            self.BB = np.einsum("ila,jlb->labij", self.B, self.B).reshape(self.n1 * self.k1**2, m * m)
        else:
            self.BB = None
        self.nu = dof(self.n, self.p, reml)

    @staticmethod
    def suitable(pls: PLS) -> bool:
        """Whether the model is small enough to batch."""
        return pls.Qr <= MAX_BATCH_QR

    def responses(self, Y: np.ndarray) -> dict:
        """The response-dependent cross-products of the columns of ``Y`` (n x R)."""
        Y = np.asarray(Y, dtype=float)
        Y = (
            self.pls.working(Y) - (self.pls.X @ self.pls.y_offset)[:, None]
        )  # as PLS does: beta = beta' + offset
        c1 = np.asarray(self.Z1.T @ Y).T.reshape(-1, self.n1, self.k1)
        cr = np.asarray(self.rest.T @ Y).T
        return {"c1": c1, "cr": cr, "yy": np.einsum("nr,nr->r", Y, Y)}

    @staticmethod
    def take(resp: dict, idx: np.ndarray) -> dict:
        return {k: v[idx] for k, v in resp.items()}

    # ------------------------------------------------------------------ factor
    def _first_block(self, theta: np.ndarray):
        """M, W and sum log|M| for each row of ``theta`` (here and in :meth:`_schur`: the
        templates' entries, :meth:`~mixedmodels.covariance.layout.ThetaLayout.stacked_entries`)."""
        k1 = self.k1
        if k1 == 1:
            lam2 = theta[:, 0] ** 2
            m = lam2[:, None] * self.A11[None, :, 0, 0] + 1.0
            return (lam2[:, None] / m)[:, :, None, None], np.log(m).sum(axis=1)
        if k1 == 2:
            return self._first_block_2x2(theta)
        T = np.zeros((len(theta), k1, k1))
        T[:, self.t1_rows, self.t1_cols] = theta[:, : len(self.t1_rows)]
        M = np.einsum("Rba,lbc,Rcd->Rlad", T, self.A11, T, optimize=True) + np.eye(k1)
        sign, logdet = np.linalg.slogdet(M)
        W = T[:, None] @ np.linalg.inv(M) @ np.swapaxes(T, 1, 2)[:, None]
        return W, np.where(sign > 0, logdet, np.nan).sum(axis=1)

    def _first_block_2x2(self, theta: np.ndarray):
        """The same for k_1 = 2 in closed form, T = [[t0, 0], [t1, t2]]."""
        t0, t1, t2 = (theta[:, j, None] for j in range(3))
        a00, a01, a11 = self.A11[:, 0, 0], self.A11[:, 1, 0], self.A11[:, 1, 1]
        m00 = a00 * t0**2 + 2 * a01 * t0 * t1 + a11 * t1**2 + 1.0
        m01 = t2 * (a01 * t0 + a11 * t1)
        m11 = a11 * t2**2 + 1.0
        det = m00 * m11 - m01**2
        W = np.empty(det.shape + (2, 2))
        W[..., 0, 0] = t0**2 * m11 / det
        W[..., 0, 1] = W[..., 1, 0] = t0 * (m11 * t1 - m01 * t2) / det
        W[..., 1, 1] = (t1**2 * m11 - 2 * t1 * t2 * m01 + t2**2 * m00) / det
        with np.errstate(invalid="ignore", divide="ignore"):
            logdet = np.log(det).sum(axis=1)
        return W, logdet

    def _schur(self, theta: np.ndarray, resp: dict, W: np.ndarray) -> np.ndarray:
        R, Qr, B = len(theta), self.Qr, self.B
        c1 = resp["c1"]
        C = np.empty((R, Qr, Qr))
        Wflat = W.reshape(R, -1)
        Wc = _level_products(W, c1).reshape(R, -1)
        Cy = resp["cr"] - Wc @ B.reshape(Qr - 1, -1).T
        Cyy = resp["yy"] - np.einsum("Ri,Ri->R", Wc, c1.reshape(R, -1))
        if self.BB is not None:  # every entry of A_r1 W A_1r is a fixed combination of W's entries
            C[:, :-1, :-1] = self.Arr0 - (Wflat @ self.BB).reshape(R, Qr - 1, Qr - 1)
        else:
            C[:, :-1, :-1] = self.Arr0
            for a in range(self.k1):
                for b in range(self.k1):
                    C[:, :-1, :-1] -= (B[None, :, :, a] * W[:, None, :, a, b]) @ B[:, :, b].T
        C[:, -1, :-1] = Cy
        C[:, :-1, -1] = Cy
        C[:, -1, -1] = Cyy
        values = np.append(theta, np.ones((R, 1)), axis=1)[:, self.rest_index]
        if self.rest_diagonal:  # Lambda_r diagonal, its X and y entries 1
            S = C * (values[:, :, None] * values[:, None, :]) if self.qrest else C
        else:
            Lam = np.zeros((R, Qr, Qr))
            Lam[:, self.rest_pattern[0], self.rest_pattern[1]] = values
            S = np.swapaxes(Lam, 1, 2) @ C @ Lam
        idx = np.arange(self.qrest)
        S[:, idx, idx] += 1.0
        return S

    def factor(self, theta: np.ndarray, resp: dict):
        """Stacked ``L_S`` and the criterion for each (theta row, response); inf where not PD."""
        return self._in_blocks(self._factor, theta, resp)

    def criterion(self, theta: np.ndarray, resp: dict) -> np.ndarray:
        """The criterion alone (the factors are not kept)."""
        return self._in_blocks(lambda t, r: (self._factor(t, r)[1],), theta, resp)[0]

    def _in_blocks(self, fn, theta: np.ndarray, resp: dict) -> tuple:
        """``fn(theta, resp)`` in blocks of rows whose arrays stay in the processor's cache."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        size = self.block_rows
        if len(theta) <= size:
            return fn(theta, resp)
        parts = [
            fn(theta[lo : lo + size], {k: v[lo : lo + size] for k, v in resp.items()})
            for lo in range(0, len(theta), size)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts))

    @property
    def block_rows(self) -> int:
        """Rows per block: about CACHE_FLOATS numbers in the largest array of a block."""
        per_row = max(self.n1 * self.k1 * self.k1, self.Qr * self.Qr)
        return int(np.clip(CACHE_FLOATS // per_row, 64, 8192))

    def _factor(self, theta: np.ndarray, resp: dict):
        t = self.layout.stacked_entries(theta)  # theta itself for unstructured terms
        W, logdet1 = self._first_block(t)
        S = self._schur(t, resp, W)
        L, ok = _batched_cholesky(S)
        d = np.diagonal(L, axis1=1, axis2=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            logd = np.log(d)
            qr = self.qrest
            logdet_L = logdet1 + 2.0 * logd[:, :qr].sum(axis=1)
            logdet_RX = 2.0 * logd[:, qr : qr + self.p].sum(axis=1)
            r2 = d[:, -1] ** 2
            crit = from_parts(logdet_L, logdet_RX, r2, self.n, self.p, self.reml, None, self.pls.log_weights)
        crit = np.where(ok & (r2 > 0) & np.isfinite(crit), crit, np.inf)
        return L, crit, r2

    def estimates(self, theta: np.ndarray, resp: dict) -> tuple[np.ndarray, np.ndarray]:
        """``beta`` (R, p) and ``sigma`` (R,) at each row of ``theta``."""
        L, _, r2 = self.factor(theta, resp)
        return self.estimates_from(L, r2)

    def estimates_from(self, L: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``beta`` and ``sigma`` from the stacked factors and ``r2`` that :meth:`factor` gives."""
        LS = L[:, :-1, :-1]
        c = L[:, -1, :-1]
        v = np.linalg.solve(np.swapaxes(LS, 1, 2), c[:, :, None])[:, :, 0]
        return v[:, self.qrest :] + self.pls.y_offset, np.sqrt(r2 / self.nu)


def _level_products(W: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``W_l c_l`` for each row and level: (R, levels, k, k) times (R, levels, k).

    (Column by column: numpy's einsum and matmul are slow on such small blocks.)
    """
    out = W[..., 0] * c[:, :, None, 0]
    for b in range(1, W.shape[-1]):
        out += W[..., b] * c[:, :, None, b]
    return out


def _batched_cholesky(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack; the ones that fail are returned as NaN with ok False."""
    try:
        return np.linalg.cholesky(S), np.ones(len(S), dtype=bool)
    except np.linalg.LinAlgError:
        L = np.full_like(S, np.nan)
        ok = np.zeros(len(S), dtype=bool)
        for i, Si in enumerate(S):
            try:
                L[i] = np.linalg.cholesky(Si)
                ok[i] = True
            except np.linalg.LinAlgError:
                pass
        return L, ok
