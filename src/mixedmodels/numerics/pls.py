"""Penalized least squares by a blocked Cholesky factor.

With ``Z = [Z_1 .. Z_m]`` (terms sorted by number of levels, largest first) and ``y`` appended
to ``X`` as a last column, the factor of

    [Lambda'Z'Z Lambda + I   Lambda'Z'[X y]]
    [[X y]'Z Lambda          [X y]'[X y]   ]

is computed in two blocks. The first term's block ``L_11`` is block diagonal (one ``k_1 x k_1``
block per level): ``L_11 L_11' = T_1' A_11 T_1 + I`` level by level. Eliminating it leaves the
Schur complement of everything else (the other terms' columns, then ``X``, then ``y``)

    S = Lambda_r' (A_rr - A_r1 W A_1r) Lambda_r + [I 0; 0 0],
    W = blockdiag_l( T_1 (T_1' A_11,l T_1 + I)^{-1} T_1' ),

a dense matrix whose Cholesky factor ``L_S`` completes the factor. ``A_r1 W A_1r`` changes only
through ``W``: every one of its entries is a fixed linear combination of the entries of ``W``,
so the combinations are found once (a sparse matrix ``P``) and each evaluation is one sparse
matrix-vector product. The last diagonal entry of ``L_S`` is ``sqrt(r2)``, the penalized
residual sum of squares; ``log|L|^2`` and ``log|R_X|^2`` are sums of logs of diagonals.

Prior weights ``w`` (residual variance ``sigma^2 / w_i``) and an offset ``o`` (a known part of the
linear predictor) make the *working* model: rows of ``Z``, ``X`` and ``y - o`` multiplied by
``sqrt(w_i)``, which has independent residuals of variance ``sigma^2``. Its criterion is the
model's plus ``sum(log w_i)`` (the Jacobian of the scaling), which :mod:`mixedmodels.numerics.objective`
subtracts; rows of weight zero contribute nothing and are not counted in ``n``.

The optimizer reads only three numbers: :meth:`PLS.parts_function` computes them for a small
model in work arrays made once (no :class:`Factor` per evaluation), with the same operations,
so that the numbers are those of :meth:`PLS.factor` bit for bit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas, lapack, solve_triangular

from ..base.options import format_bytes, options
from ..covariance.layout import ThetaLayout, tril_colmajor
from ..formula.design import ReTerm

__all__ = ["CrossProducts", "Factor", "PLS", "cross_products", "symmetric"]

LARGE_QR = 2000  # a Schur complement of more rows keeps P with one row per dense position
HEAVY_RATIO = 25.0  # a first-term level with more than Q_r / 25 non-zero rows is updated densely
SMALL_PAIRS = 20_000_000  # ... when the Schur complement is small, only if its pair map would be larger
SMALL_DENSE = 20_000  # a pair map of at most this many entries is kept as a dense matrix
SMALL_MODEL = 400_000  # models with n * Q_r^2 and levels_1 * k_1^2 * Q_r^2 below this are set up densely

try:  # scipy's kernel y += A x for CSC matrices, which writes into y without a temporary
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # pragma: no cover - a scipy without it
    _csc_matvec = None


def _subtract_product(P: sp.csc_matrix, w: np.ndarray, out: np.ndarray) -> None:
    """out -= P @ w, in place when scipy's kernel is there (P has hundreds of MB of rows)."""
    if _csc_matvec is not None:
        _csc_matvec(P.shape[0], P.shape[1], P.indptr, P.indices, P.data, -w, out)
    else:
        out -= P @ w


def term_matrix(term: ReTerm) -> sp.csc_matrix:
    """The term's columns of ``Z`` (n x levels*k), level-major as lme4 orders them."""
    n, k = term.z.shape
    rows = np.repeat(np.arange(n), k)
    cols = (term.refs[:, None] * k + np.arange(k)[None, :]).ravel()
    return sp.csc_matrix((term.z.ravel(), (rows, cols)), shape=(n, term.q))


@dataclass(frozen=True)
class CrossProducts:
    """The sums over observations that the criterion needs: with ``R = [Z_r X y]``,

    ``A_11`` the first term's ``z z'`` summed per level (levels, k_1, k_1), ``A_r1 = R'Z_1``
    (sparse) and ``A_rr = R'R`` (dense). ``y`` is the response less ``X y_offset``.
    ``A_r1`` is None only inside :class:`PLS`, for a small model that keeps it dense.
    """

    n: int
    A11: np.ndarray
    Ar1: sp.csc_matrix | None
    Arr: np.ndarray
    y_offset: np.ndarray
    log_weights: float = 0.0  # sum(log w) over the rows of positive prior weight


def symmetric(lower: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose lower triangle is ``lower``'s."""
    L = np.tril(lower)
    return L + np.tril(L, -1).T


def z_matrices(reterms, n: int) -> tuple[sp.csc_matrix, sp.csc_matrix]:
    """The first term's columns of ``Z`` and the other terms' columns."""
    rest = [term_matrix(t) for t in reterms[1:]]
    return term_matrix(reterms[0]), sp.hstack(rest, format="csc") if rest else sp.csc_matrix((n, 0))


def cross_products(reterms, X: np.ndarray, y: np.ndarray, y_offset: np.ndarray, Z=None) -> CrossProducts:
    """A_11 (per level), A_r1 (sparse) and A_rr (dense) of the observations, with ``y - X y_offset``
    as the response. ``Z`` is ``z_matrices(reterms, n)`` when already made."""
    first = reterms[0]
    Z1, Zrest = z_matrices(reterms, len(y)) if Z is None else Z
    A11 = np.zeros((first.nlevels, first.k, first.k))
    np.add.at(A11, first.refs, first.z[:, :, None] * first.z[:, None, :])
    Xy = np.column_stack([X, y - X @ y_offset])
    R = sp.hstack([Zrest, sp.csc_matrix(Xy)], format="csc")
    Ar1 = (R.T @ Z1).tocsc()
    Ar1.sort_indices()
    Arr = (R.T @ R).toarray() if Zrest.shape[1] else Xy.T @ Xy
    return CrossProducts(len(y), A11, Ar1, Arr, np.asarray(y_offset, dtype=float))


def _is_small(reterms, n: int, p: int) -> bool:
    """Whether the model's cross-products are made densely (no sparse matrices: faster when small)."""
    first = reterms[0]
    Qr = sum(t.q for t in reterms[1:]) + p + 1
    return n * Qr * Qr <= SMALL_MODEL and first.nlevels * first.k**2 * Qr * Qr <= SMALL_MODEL


def _dense_rest(reterms, Xy: np.ndarray) -> np.ndarray:
    """``R = [Z_r X y]`` as a dense (n x Q_r) matrix."""
    n = len(Xy)
    qrest = sum(t.q for t in reterms[1:])
    R = np.zeros((n, qrest + Xy.shape[1]))
    rows, start = np.arange(n)[:, None], 0
    for t in reterms[1:]:
        R[rows, start + t.refs[:, None] * t.k + np.arange(t.k)] = t.z
        start += t.q
    R[:, qrest:] = Xy
    return R


def _ordered_sums(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``out[index[i]] += values[i]`` in the order of ``i``: the sums a sparse product makes."""
    return np.bincount(index.ravel(), values.ravel(), minlength=size)


def dense_cross_products(
    reterms, X: np.ndarray, y: np.ndarray, y_offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``A_11``, ``A_r1`` and ``A_rr`` of a small model without sparse matrices, the same numbers.

    Every sum runs over the observations in order, as scipy's sparse products add them, so
    ``A_r1`` and ``A_rr`` are equal to the last bit to those of :func:`cross_products`.
    ``A_r1`` is returned dense, (Q_r, levels_1, k_1).
    """
    first = reterms[0]
    n1, k1 = first.nlevels, first.k
    A11 = np.zeros((n1, k1, k1))
    np.add.at(A11, first.refs, first.z[:, :, None] * first.z[:, None, :])
    Xy = np.column_stack([X, y - X @ y_offset])
    R = _dense_rest(reterms, Xy)
    Qr = R.shape[1]
    cells = first.refs[:, None] * Qr + np.arange(Qr)  # (level, row of A_r1) of each product
    D = np.empty((Qr, n1, k1))
    for a in range(k1):
        D[:, :, a] = _ordered_sums(cells, R * first.z[:, a, None], n1 * Qr).reshape(n1, Qr).T
    if len(reterms) > 1:
        pairs = np.broadcast_to(np.arange(Qr * Qr), (len(R), Qr * Qr))
        Arr = _ordered_sums(pairs, R[:, :, None] * R[:, None, :], Qr * Qr).reshape(Qr, Qr)
    else:
        Arr = Xy.T @ Xy
    return A11, D, Arr


class Work2x2:
    """The arrays :meth:`PLS._first_block_2x2` writes into, for ``levels`` levels; the constant
    entries of its coefficient matrices (M_l's ones) set once."""

    def __init__(self, levels: int):
        self.coef, self.wcoef = np.zeros((4, 4)), np.zeros((4, 4))
        self.coef[3, 0] = self.coef[3, 3] = 1.0
        self.m, self.W = np.empty((levels, 4)), np.empty((levels, 4))
        self.det, self.product = np.empty(levels), np.empty(levels)


@dataclass(frozen=True)
class Factor:
    """The blocked Cholesky factor at one ``theta`` and what the objective reads from it."""

    theta: np.ndarray
    M11: np.ndarray  # (levels_1, k_1, k_1): L_11 L_11' = T_1'A_11 T_1 + I, level by level
    LS: np.ndarray  # dense lower factor of the Schur complement (rest Z, X, y)
    logdet_L: float
    logdet_RX: float
    r2: float

    def l11_inverse(self) -> np.ndarray:
        """L_11,l^{-1} for every level of the first term, (levels_1, k_1, k_1)."""
        return np.linalg.inv(np.linalg.cholesky(self.M11))


class PLS:
    """The model's cross-products, computed once, and the factor at any ``theta``.

    Parameters
    ----------
    reterms : sequence of ReTerm
        Random-effects terms, largest number of levels first.
    X : ndarray (n, p)
        Fixed-effects model matrix.
    y : ndarray (n,)
        Response.
    """

    _Ar1: sp.csc_matrix | None  # made from the dense copy when first asked for, in a small model
    _scatter: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None

    def __init__(
        self,
        reterms,
        X: np.ndarray,
        y: np.ndarray,
        memory_limit: float | None = None,
        weights: np.ndarray | None = None,
        offset: np.ndarray | None = None,
    ):
        self.memory_limit = memory_limit
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.offset = None if offset is None else np.asarray(offset, dtype=float)
        self._sqrt_w = None if self.weights is None else np.sqrt(self.weights)
        if self._sqrt_w is not None:
            reterms = [replace(t, z=t.z * self._sqrt_w[:, None]) for t in reterms]
            X = X * self._sqrt_w[:, None]
        self.X = np.ascontiguousarray(X, dtype=float)
        self.y = self.working(y)
        self._reterms_rows, self._Z = tuple(reterms), None
        # the response enters as y - X c, c its least-squares coefficients on X: the criterion
        # is the same for any c (beta absorbs it), and the small residual keeps r2 from
        # cancelling in y'y - ... when y has a large mean
        c = np.linalg.lstsq(self.X, self.y, rcond=None)[0] if self.X.shape[1] else np.zeros(0)
        if _is_small(reterms, len(self.y), self.X.shape[1]):
            A11, self._dense_Ar1, Arr = dense_cross_products(reterms, self.X, self.y, c)
            blocks = CrossProducts(len(self.y), A11, None, Arr, c)  # A_r1 made sparse when asked for
        else:
            blocks = cross_products(reterms, self.X, self.y, c, (self.Z1, self.Zrest))
        if self.weights is not None:
            positive = self.weights[self.weights > 0]
            blocks = replace(blocks, n=len(positive), log_weights=float(np.sum(np.log(positive))))
        self._setup(reterms, blocks)

    def working(self, y: np.ndarray) -> np.ndarray:
        """Responses (one per row, or a column per replicate) as the working model has them:
        ``sqrt(w) (y - offset)``."""
        y = np.asarray(y, dtype=float)
        if self.offset is not None:
            y = y - (self.offset if y.ndim == 1 else self.offset[:, None])
        if self._sqrt_w is not None:
            y = y * (self._sqrt_w if y.ndim == 1 else self._sqrt_w[:, None])
        return y

    @property
    def Z1(self) -> sp.csc_matrix | None:
        """The first term's columns of ``Z`` (made when first asked for; None without the rows)."""
        return self._z_pair()[0]

    @property
    def Zrest(self) -> sp.csc_matrix | None:
        """The other terms' columns of ``Z`` (None without the rows)."""
        return self._z_pair()[1]

    @property
    def Ar1(self) -> sp.csc_matrix:
        """``A_r1 = [Z_r X y]' Z_1``, sparse (a small model's is made from its dense copy when asked for)."""
        if self._Ar1 is None:
            D = self._dense_Ar1
            self._Ar1 = sp.csc_matrix(D.reshape(D.shape[0], -1))
        return self._Ar1

    def _ar1_counts(self) -> np.ndarray:
        """Non-zero rows of each column of ``A_r1`` (columns level-major; counted once)."""
        if getattr(self, "_counts", None) is None:
            if self._Ar1 is None:
                self._counts = np.count_nonzero(self._dense_Ar1, axis=0).ravel()
            else:
                self._counts = np.diff(self._Ar1.indptr)
        return self._counts

    def _z_pair(self):
        if not self.has_rows:
            return None, None
        if self._Z is None:
            self._Z = z_matrices(self._reterms_rows, len(self.y))
        return self._Z

    @classmethod
    def from_cross_products(cls, reterms, blocks: CrossProducts, memory_limit: float | None = None) -> PLS:
        """The model from its cross-products alone (no observations: ``X``, ``y``, ``Z`` unknown).

        What needs the rows (simulation, refits to new responses, fitted values) is not
        available from such a model; everything read from the factor is.
        """
        self = cls.__new__(cls)
        self.memory_limit = memory_limit
        self.X = self.y = self._Z = None  # type: ignore[assignment]  # a model without its rows
        self.weights = self.offset = self._sqrt_w = None
        self._setup(reterms, blocks)
        return self

    @property
    def has_rows(self) -> bool:
        """Whether the observations are here (False for a model made from cross-products)."""
        return self.X is not None

    def _setup(self, reterms, blocks: CrossProducts) -> None:
        self.reterms = tuple(reterms)
        self.layout = ThetaLayout.of(self.reterms)
        first = self.reterms[0]
        self.k1, self.n1, self.q1 = first.k, first.nlevels, first.q
        self.qrest = sum(t.q for t in self.reterms[1:])
        self.n, self.p = blocks.n, len(blocks.y_offset)
        self.log_weights = blocks.log_weights
        self.A11, self._Ar1, self.y_offset = blocks.A11, blocks.Ar1, blocks.y_offset
        self.Arr = np.ascontiguousarray(np.tril(blocks.Arr))
        self.Qr = self.Arr.shape[0]
        self._a11 = np.ascontiguousarray(self.A11[:, 0, 0])
        if self.k1 == 2:  # the closed form of the first block reads a, b, c of each level
            A = self.A11
            self._a2x2 = np.column_stack([A[:, 0, 0], A[:, 1, 0], A[:, 1, 1], np.ones(self.n1)])
        self._theta_ext = np.ones(self.layout.nentries + 1)
        self._build_pairs()
        rows, cols, self._rest_index = self.layout.lambda_pattern(
            tuple(t.nlevels for t in self.reterms[1:]), first=1, extra=self.p + 1
        )
        self._rest_diagonal = bool(np.all(rows == cols))
        self._rest_pattern = (rows, cols)
        self._tiny = self._tiny_map()

    # ------------------------------------------------------------------ set-up
    def _build_pairs(self) -> None:
        """P: the entries of A_r1 W A_1r (lower triangle) as linear combinations of W's entries.

        For a level ``l`` of the first term, every two rows ``r >= c`` that are non-zero in the
        level's ``k_1`` columns of ``A_r1`` give the entry ``(r, c)`` the terms
        ``A_r1[r, (l, a)] A_r1[c, (l, b)] W_l[a, b]``. The pairs are made a chunk of levels at a
        time, so that no temporary is much larger than ``P`` itself.

        A large Schur complement keeps ``P`` with one row per position of the dense matrix
        (``P @ w`` is the whole correction, subtracted in place); a smaller one keeps only the
        positions that occur (their union with the non-zeros of ``A_rr`` is all that is written).
        """
        kk, Qr, n1 = self.k1 * self.k1, self.Qr, self.n1
        self.large = Qr > LARGE_QR
        self._scatter = None
        self._heavy = self._heavy_levels() if self.k1 == 1 else np.zeros(0, dtype=np.int64)
        self._check_memory()
        self._heavy_B = self.Ar1[:, self._heavy].toarray() if len(self._heavy) else None
        D = getattr(self, "_dense_Ar1", None)
        if not self.large and self._heavy_B is None and D is not None and self._dense_pairs(D):
            return
        key_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for chunk_keys, chunk_cols, chunk_vals in self._pair_chunks(skip=self._heavy):
            if self.large and kk > 1:  # CSC: entries grouped by column
                order = np.argsort(chunk_cols, kind="stable")
                chunk_keys, chunk_vals, chunk_cols = chunk_keys[order], chunk_vals[order], chunk_cols[order]
            key_parts.append(chunk_keys)
            val_parts.append(chunk_vals)
            cols.append(np.bincount(chunk_cols, minlength=n1 * kk) if self.large else chunk_cols)
        keys, vals = np.concatenate(key_parts), np.concatenate(val_parts)
        if self.large:
            indptr = np.concatenate([[0], np.cumsum(np.sum(cols, axis=0))])
            self.P = sp.csc_matrix((vals, keys, indptr), shape=(Qr * Qr, n1 * kk))
            self._zdiag = np.arange(self.qrest) * (Qr + 1)
            return
        # a CSR matrix with one row per key position sorts and groups the keys in linear time
        full = sp.csr_matrix((vals, (keys, np.concatenate(cols))), shape=(Qr * Qr, n1 * kk))
        nonempty = np.flatnonzero(np.diff(full.indptr))
        self.pair_keys = nonempty
        indptr = np.append(full.indptr[nonempty], full.indptr[-1])
        self.P = sp.csr_matrix((full.data, full.indices, indptr), shape=(len(nonempty), n1 * kk))
        if self.P.shape[0] * self.P.shape[1] <= SMALL_DENSE:  # small: a dense product has less overhead
            self.P = self.P.toarray()
        self._zdiag = np.arange(self.qrest) * (Qr + 1)

    def _dense_pairs(self, D: np.ndarray) -> bool:
        """P made densely from ``A_r1`` (Q_r, levels_1, k_1) when it is small; False if it is not.

        ``P[(r, c), (l, a, b)] = A_r1[r, (l, a)] A_r1[c, (l, b)]`` for the positions ``r >= c`` of
        two rows that are non-zero together in some level (the keys), as :meth:`_pair_chunks`
        makes them; products with a row that is zero in a level are zero.
        """
        Qr, n1, k1 = D.shape
        nz = np.any(D != 0.0, axis=2)  # (Q_r, levels): row r non-zero in level l
        together = np.tril(nz.astype(np.int64) @ nz.T.astype(np.int64)) > 0
        rows, cols = np.nonzero(together)  # C order: sorted by r * Q_r + c
        if len(rows) * n1 * k1 * k1 > SMALL_DENSE:
            return False
        self.pair_keys = rows * Qr + cols
        products = D[rows][:, :, :, None] * D[cols][:, :, None, :]  # (keys, levels, k1, k1)
        self.P = np.ascontiguousarray(products.reshape(len(rows), n1 * k1 * k1))
        self._zdiag = np.arange(self.qrest) * (Qr + 1)
        return True

    def _check_memory(self) -> None:
        """Refuse, before it is made, a pair map (and dense block of heavy levels) larger than
        the memory limit: about 24 bytes per entry while it is made."""
        limit = options.memory_limit if self.memory_limit is None else self.memory_limit
        rows = self._ar1_counts().reshape(self.n1, self.k1).max(axis=1)  # at least, per level
        rows[self._heavy] = 0
        entries = int(np.sum(rows * (rows + 1) // 2)) * self.k1**2
        need = 24.0 * entries + 8.0 * self.Qr * len(self._heavy)
        if need > limit:
            raise MemoryError(
                f"the pair map of this model would need about {format_bytes(need)} ({entries} products of "
                f"pairs of the other terms' columns within levels of {self.reterms[0].group!r}). The limit "
                f"is {format_bytes(limit)}; raise it with memory_limit= or mixedmodels.options.memory_limit"
            )

    def _heavy_levels(self) -> np.ndarray:
        """Levels of the first term with so many non-zero rows in A_r1 that a dense rank-one
        update of the Schur complement (Q_r^2 flops in BLAS) beats their c^2 / 2 pair products,
        and takes less memory: c > Q_r / HEAVY_RATIO.

        A small Schur complement keeps every level in the pair map unless the map would be
        large (more than SMALL_PAIRS entries): there the sparse assembly is the fastest.
        """
        counts = self._ar1_counts()
        if not self.large and np.sum(counts * (counts + 1) // 2) <= SMALL_PAIRS:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(counts > self.Qr / HEAVY_RATIO)

    def _pair_chunks(self, max_pairs: int = 4_000_000, skip: np.ndarray | None = None):
        """(keys, columns, values) of P's entries, for consecutive chunks of levels.

        Levels in ``skip`` get no entries (their columns of P stay empty).
        """
        k1, Qr, n1 = self.k1, self.Qr, self.n1
        kk = k1 * k1
        index = np.int32 if Qr * Qr < 2**31 else np.int64
        A = self.Ar1.tocoo()
        if skip is not None and len(skip):
            keep = ~np.isin(A.col // k1, skip)
            A = sp.coo_matrix((A.data[keep], (A.row[keep], A.col[keep])), shape=A.shape)
        level, a = np.divmod(A.col.astype(np.int64), k1)
        # the distinct (level, row) pairs, sorted by level then row, and their k1 values
        ukey, entry = np.unique(level * Qr + A.row, return_inverse=True)
        D = np.zeros((len(ukey), k1))
        D[entry, a] = A.data
        blev, brow = np.divmod(ukey, Qr)
        brow = brow.astype(index)
        counts = np.bincount(blev, minlength=n1)
        starts = np.cumsum(counts) - counts
        pairs = counts * (counts + 1) // 2
        bounds = np.searchsorted(np.cumsum(pairs), np.arange(max_pairs, pairs.sum() + max_pairs, max_pairs))
        lo = 0
        for hi in np.unique(np.append(np.minimum(bounds + 1, n1), n1)):
            if hi <= lo:
                continue
            e0, e1 = starts[lo], starts[hi - 1] + counts[hi - 1]
            c, st = counts[lo:hi], (starts[lo:hi] - e0).astype(np.int32)  # 32 bits: a chunk is small
            local = np.arange(e1 - e0, dtype=np.int32) - np.repeat(st, c)  # position within its level
            reps = local + 1
            first = np.repeat(np.arange(e1 - e0, dtype=np.int32), reps)  # entry e with 0..e of its level
            offsets = np.arange(len(first), dtype=np.int32) - np.repeat(
                np.cumsum(reps, dtype=np.int32) - reps, reps
            )
            second = np.repeat(np.repeat(st, c), reps) + offsets
            bfirst, bsecond = brow[e0:e1][first], brow[e0:e1][second]
            keys = bfirst * index(Qr) + bsecond
            levels = np.repeat(np.arange(lo, hi), pairs[lo:hi])
            Dc = D[e0:e1]
            if kk == 1:
                yield keys, levels, Dc[first, 0] * Dc[second, 0]
            else:
                cols = (levels[:, None] * kk + np.arange(kk)).ravel()
                vals = (Dc[first][:, :, None] * Dc[second][:, None, :]).ravel()
                yield np.repeat(keys, kk), cols, vals
            lo = hi

    # ---------------------------------------------------------------- per theta
    def _first_block(self, theta: np.ndarray):
        """M_l = T'A_l T + I per level, log|L_11|^2 and W = T M_l^{-1} T' (flattened).

        ``theta`` here (and in :meth:`_rest_scale`, :meth:`_schur`) is the templates' entries,
        :meth:`ThetaLayout.entries <mixedmodels.covariance.layout.ThetaLayout.entries>`: ``theta``
        itself for unstructured terms."""
        if self.k1 == 1:
            lam2 = theta[0] ** 2
            m = lam2 * self._a11
            m += 1.0
            return m[:, None, None], float(np.add.reduce(np.log(m))), lam2 / m
        if self.k1 == 2:
            return self._first_block_2x2(theta)
        rows, cols = tril_colmajor(self.k1)
        T1 = np.zeros((self.k1, self.k1))
        T1[rows, cols] = theta[: len(rows)]
        M = T1.T @ self.A11 @ T1
        M += np.eye(self.k1)
        logdet = 2.0 * float(np.log(np.diagonal(np.linalg.cholesky(M), axis1=1, axis2=2)).sum())
        W = T1 @ np.linalg.inv(M) @ T1.T
        return M, logdet, W.ravel()

    def _first_block_2x2(self, theta: np.ndarray, work: Work2x2 | None = None):
        """:meth:`_first_block` of a term with two columns, ``(x | g)``, in closed form.

        With ``T = [[t0, 0], [t1, t2]]`` and ``A_l = [[a, b], [b, c]]``:

            M_l = [[a t0^2 + 2 b t0 t1 + c t1^2 + 1, t2 (b t0 + c t1)], [., c t2^2 + 1]]
            W_l = T M_l^{-1} T' = [[t0^2 m11, t0 (t1 m11 - t2 m01)],
                                   [., t1^2 m11 - 2 t1 t2 m01 + t2^2 m00]] / det(M_l)

        each a product of the per-level entries with a small matrix of the ``t``'s. The results
        are written into ``work`` (new arrays when not given: a caller that keeps one, as the
        objective does, reuses its arrays at every ``theta``, and the next call overwrites them).
        """
        t0, t1, t2 = float(theta[0]), float(theta[1]), float(theta[2])
        work = Work2x2(self.n1) if work is None else work
        # M_l's entries (00, 01, 10, 11) from the columns a, b, c, 1 of each level
        coef, wcoef = work.coef, work.wcoef
        coef[0, 0] = t0 * t0
        coef[1, 0], coef[1, 1], coef[1, 2] = 2.0 * t0 * t1, t0 * t2, t0 * t2
        coef[2] = t1 * t1, t1 * t2, t1 * t2, t2 * t2
        m = np.matmul(self._a2x2, coef, out=work.m)
        det = np.multiply(m[:, 0], m[:, 3], out=work.det)
        det -= np.multiply(m[:, 1], m[:, 1], out=work.product)
        # W_l's entries (00, 01, 10, 11) from M_l's, to be divided by det
        wcoef[0, 3] = t2 * t2
        wcoef[1, 1], wcoef[1, 2], wcoef[1, 3] = -t0 * t2, -t0 * t2, -2.0 * t1 * t2
        wcoef[3] = t0 * t0, t0 * t1, t0 * t1, t1 * t1
        W = np.matmul(m, wcoef, out=work.W)
        W /= det[:, None]
        return m.reshape(-1, 2, 2), float(np.add.reduce(np.log(det))), W.reshape(-1)

    def _rest_scale(self, theta: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """Lambda_r: a vector when every other term is scalar, else a sparse block diagonal."""
        self._theta_ext[:-1] = theta
        values = self._theta_ext[self._rest_index]
        if self._rest_diagonal:
            return values
        return sp.csr_matrix((values, self._rest_pattern), shape=(self.Qr, self.Qr))

    def _scatter_map(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Positions of the Schur complement that can be non-zero before factoring.

        They are the non-zeros of ``A_rr`` and the keys of ``P``; with a diagonal ``Lambda_r``
        the complement is assembled from these alone, without touching the rest of the matrix.
        Returns the keys, ``A_rr`` on them, the keys of ``P`` among them and their rows and
        columns; made when first needed (the small models of :meth:`_tiny_schur` never do).
        """
        if self._scatter is None:
            arr_keys = np.flatnonzero(self.Arr.ravel())
            keys = np.union1d(arr_keys, self.pair_keys)
            rows, cols = np.divmod(keys, self.Qr)
            self._scatter = keys, self.Arr.ravel()[keys], np.searchsorted(keys, self.pair_keys), rows, cols
        return self._scatter

    def _tiny_map(self) -> tuple[np.ndarray, np.ndarray] | None:
        """For a small Schur complement: ``A_rr`` whole and the identity on the Z rows, so that S
        is made without the scatter of :meth:`_schur` (None where that path is needed)."""
        if (
            self.large
            or self._heavy_B is not None
            or not self._rest_diagonal
            or not isinstance(self.P, np.ndarray)
        ):
            return None
        if self.Qr * self.Qr > SMALL_DENSE:
            return None
        shift = np.zeros((self.Qr, self.Qr))
        shift.ravel()[self._zdiag] = 1.0
        return self.Arr.copy(), shift

    def _tiny_schur(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The Schur complement of a small model (a new array), equal to :meth:`_schur`'s."""
        Arr, shift = self._tiny  # type: ignore[misc]  # called only for a small model, which has it
        S = Arr.copy()
        S.ravel()[self.pair_keys] -= self.P @ w
        if self.qrest:
            scale = self._rest_scale(theta)
            S *= scale[:, None] * scale
            S += shift
        return S

    def _schur(self, theta: np.ndarray, w: np.ndarray, reuse: bool) -> np.ndarray:
        """The Schur complement S (lower triangle, C order) at ``theta``.

        ``reuse`` writes it into the same work array on every call (no page faults on a fresh
        allocation, which cost more than the Cholesky itself for a large block).
        """
        scale = self._rest_scale(theta)
        diagonal = isinstance(scale, np.ndarray)
        if not self.large and self._heavy_B is None and diagonal:  # only the known positions
            keys, arr_on_keys, pair_pos, key_rows, key_cols = self._scatter_map()
            vals = arr_on_keys.copy()
            vals[pair_pos] -= self.P @ w
            vals *= scale[key_rows] * scale[key_cols]
            S = self._workspace(reuse)
            S.ravel()[keys] = vals
            S.ravel()[self._zdiag] += 1.0
            return S
        S = self._workspace(reuse, zero=False)
        np.copyto(S, self.Arr)
        if self.large:  # P @ w is the whole correction, one entry per position
            _subtract_product(self.P, w, S.ravel())
        else:
            S.ravel()[self.pair_keys] -= self.P @ w
        if self._heavy_B is not None:  # S -= B_h diag(w_h) B_h', lower triangle, in place
            Bw = self._heavy_B * np.sqrt(w[self._heavy])
            out = blas.dsyrk(-1.0, Bw, beta=1.0, c=S.T, lower=0, overwrite_c=1)
            if not np.shares_memory(out, S):
                S.T[...] = np.triu(out) + np.tril(S.T, -1)
        if diagonal:
            S *= scale[:, None]
            S *= scale[None, :]
        else:
            S[:] = np.tril(np.asarray(scale.T @ (scale.T @ (S + np.tril(S, -1).T)).T))
        S.ravel()[self._zdiag] += 1.0
        return S

    def _workspace(self, reuse: bool, zero: bool = True) -> np.ndarray:
        if not reuse:
            return np.zeros((self.Qr, self.Qr))
        if getattr(self, "_work", None) is None:
            self._work = np.zeros((self.Qr, self.Qr))
        elif zero:
            self._work.fill(0.0)
        return self._work

    def factor(self, theta: np.ndarray, reuse: bool = False) -> Factor | None:
        """The blocked factor at ``theta``; None when the Schur complement is not positive definite.

        With ``reuse`` the factor lives in a work array that the next ``reuse`` call overwrites:
        for the objective, which reads only the log-determinants and ``r2``.
        """
        theta = np.asarray(theta, dtype=float)
        t = self.layout.entries(theta)
        M11, logdet1, w = self._first_block(t)
        S = self._schur(t, w, reuse) if self._tiny is None else self._tiny_schur(t, w)
        # S.T is Fortran-ordered: its upper Cholesky factor, in place, is S's lower factor
        U, info = lapack.dpotrf(S.T, lower=0, overwrite_a=1, clean=0)
        if info != 0:
            return None
        d = U.diagonal()
        logd = np.log(d[:-1])
        qr = self.qrest
        logdet_L = logdet1 + 2.0 * float(np.add.reduce(logd[:qr])) if qr else logdet1
        logdet_RX = 2.0 * float(np.add.reduce(logd[qr:]))
        return Factor(theta, M11, U.T, logdet_L, logdet_RX, float(d[-1] ** 2))

    def parts_function(self) -> Callable[[np.ndarray], tuple[float, float, float] | None]:
        """``theta -> (log|L|^2, log|R_X|^2, r2)`` (None where S is not positive definite): what
        the objective reads from :meth:`factor`, the same numbers, without making a Factor.

        A small model (the tiny path of :meth:`_tiny_schur`) gets a function that works in
        arrays made once here: an evaluation costs little more than its few array operations.
        The function pickles (cloudpickle, for a cluster) with copies of its arrays: it holds
        no views of them, which pickling would separate from their base.
        """
        if self._tiny is None:
            return self._factor_parts
        Arr, shift = self._tiny
        P, keys, qr, k1 = self.P, self.pair_keys, self.qrest, self.k1
        rest_index, theta_ext = self._rest_index, self._theta_ext.copy()  # its own: see private_copy
        a11, m, w = self._a11, np.empty(self.n1), np.empty(self.n1)
        first_block, first_2x2, work2x2 = self._first_block, self._first_block_2x2, Work2x2(self.n1)
        work = Arr.copy()
        log, reduce = np.log, np.add.reduce  # (not dpotrf: f2py's functions do not pickle)
        # when the keys are the whole lower triangle, writing them renews all that dpotrf read
        # and overwrote (the upper triangle stays A_rr's zeros): no copy of A_rr first
        whole = len(keys) == self.Qr * (self.Qr + 1) // 2
        arr_keys, vals = Arr.reshape(-1)[keys], np.empty(len(keys))

        entries = None if self.layout.identity else self.layout.entries

        def parts(theta: np.ndarray) -> tuple[float, float, float] | None:
            if entries is not None:  # a structured term: its template's entries from theta
                theta = entries(theta)
            if k1 == 1:  # _first_block's arithmetic, in the arrays made above
                lam2 = theta[0] ** 2
                np.multiply(lam2, a11, out=m)
                np.add(m, 1.0, out=m)
                logdet1 = float(reduce(log(m)))
                np.divide(lam2, m, out=w)
                wv = w
            elif k1 == 2:
                _, logdet1, wv = first_2x2(theta, work2x2)
            else:
                _, logdet1, wv = first_block(theta)
            if whole:
                np.subtract(arr_keys, P @ wv, out=vals)
                work.reshape(-1)[keys] = vals
            else:
                np.copyto(work, Arr)
                work.reshape(-1)[keys] -= P @ wv
            if qr:
                theta_ext[:-1] = theta
                scale = theta_ext[rest_index]
                np.multiply(work, scale[:, None] * scale, out=work)
                np.add(work, shift, out=work)
            # S.T is Fortran-ordered: its upper Cholesky factor, in place, is S's lower factor
            U, info = lapack.dpotrf(work.T, lower=0, overwrite_a=1, clean=0)
            if info != 0:
                return None
            d = U.diagonal()
            logd = log(d[:-1])
            logdet_L = logdet1 + 2.0 * float(reduce(logd[:qr])) if qr else logdet1
            return logdet_L, 2.0 * float(reduce(logd[qr:])), float(d[-1] ** 2)

        return parts

    def _factor_parts(self, theta: np.ndarray) -> tuple[float, float, float] | None:
        f = self.factor(theta, reuse=True)
        return None if f is None else (f.logdet_L, f.logdet_RX, f.r2)

    def private_copy(self) -> PLS:
        """A copy for another thread: the model's arrays shared (they are only read), the work
        arrays an evaluation writes into (``theta`` extended, the Schur complement) its own.

        Two threads evaluating the criterion of one ``PLS`` at once overwrite each other's
        work arrays and get wrong deviances; each gets a private copy instead.
        """
        other = copy.copy(self)
        other._theta_ext = self._theta_ext.copy()
        other._work = None  # type: ignore[assignment]  # made at its first use (_workspace)
        return other

    # ----------------------------------------------------------- at the optimum
    def lambda_matrix(self, theta: np.ndarray, first: int = 0) -> sp.csr_matrix:
        """Lambda(theta) for the columns of ``Z`` of terms ``first..``, block diagonal."""
        rows, cols, index = self.layout.lambda_pattern(tuple(t.nlevels for t in self.reterms[first:]), first)
        q = sum(t.q for t in self.reterms[first:])
        values = self.layout.entries(np.asarray(theta, dtype=float))[index]
        return sp.csr_matrix((values, (rows, cols)), shape=(q, q))

    def _scaled_Ar1(self, f: Factor) -> sp.csc_matrix:
        """Lambda_r' A_r1 Lambda_1, sparse (rows: rest Z, X, y; columns: the first term's)."""
        scale = self._rest_scale(self.layout.entries(f.theta))
        B = self.Ar1 @ self.lambda_matrix(f.theta)[: self.q1, : self.q1]
        B = sp.diags(scale) @ B if isinstance(scale, np.ndarray) else scale.T @ B
        return sp.csc_matrix(B)

    def _L_r1_levels(self, f: Factor, B: sp.csc_matrix, L11inv: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Dense columns of the block below L_11 for levels lo..hi: B L_11^{-T}, level by level."""
        k1 = self.k1
        dense = B[:, lo * k1 : hi * k1].toarray().reshape(self.Qr, hi - lo, k1)
        return np.einsum("rla,lba->rlb", dense, L11inv[lo:hi]).reshape(self.Qr, (hi - lo) * k1)

    def solve(self, f: Factor) -> tuple[np.ndarray, np.ndarray]:
        """``beta`` and the spherical random effects ``u`` at the factor ``f``.

        Back-substitution through the blocked factor; the block below ``L_11`` is applied as
        ``L_11^{-1} (B' v)`` with the sparse ``B = Lambda_r' A_r1 Lambda_1``, never formed dense.
        """
        B = self._scaled_Ar1(f)
        LS = np.tril(f.LS)
        c = LS[-1, :-1]
        v = solve_triangular(LS[:-1, :-1], c, lower=True, trans="T") if len(c) else c
        # rhs = Lr1[y] - Lr1[rest]' v = L_11^{-1} (B[y] - B[rest]' v), level by level
        t = (B[-1].toarray().ravel() - B[:-1].T @ v).reshape(self.n1, self.k1)
        L11inv = f.l11_inverse()
        rhs1 = np.einsum("lab,lb->la", L11inv, t)
        u1 = np.einsum("lba,lb->la", L11inv, rhs1)  # L_11,l^{-T} rhs
        u = np.concatenate([u1.ravel(), v[: self.qrest]])
        beta = v[self.qrest :] + self.y_offset
        return beta, u

    def rx_lower(self, f: Factor) -> np.ndarray:
        """R_X' (p x p lower triangle): vcov(beta) = sigma^2 (R_X' R_X)^{-1}."""
        qr = self.qrest
        return np.tril(f.LS)[qr : qr + self.p, qr : qr + self.p]

    def condvar_blocks(self, f: Factor, chunk: int = 2000) -> list[np.ndarray]:
        """Diagonal blocks of (L_Z L_Z')^{-1}, per term an array (levels, k, k), in u scale.

        The columns of L_Z^{-1} of the first term are ``[L_11^{-1}; -L_Sz^{-1} L_r1 L_11^{-1}]``;
        they are made ``chunk`` levels at a time, so no (rest x first-term) dense matrix exists.
        """
        qr = self.qrest
        LSz = np.tril(f.LS)[:qr, :qr]
        L11inv = f.l11_inverse()
        top = np.einsum("lab,lac->lbc", L11inv, L11inv)
        bottom = np.zeros_like(top)
        if qr:
            B = self._scaled_Ar1(f)
            for lo in range(0, self.n1, chunk):
                hi = min(lo + chunk, self.n1)
                G = solve_triangular(LSz, self._L_r1_levels(f, B, L11inv, lo, hi)[:qr], lower=True)
                H = np.einsum("rla,lab->rlb", G.reshape(qr, hi - lo, self.k1), L11inv[lo:hi])
                bottom[lo:hi] = np.einsum("rlb,rlc->lbc", H, H)
        blocks = [top + bottom]
        if qr:
            inv = solve_triangular(LSz, np.eye(qr), lower=True)
            start = 0
            for term in self.reterms[1:]:
                cols = inv[:, start : start + term.q].reshape(qr, term.nlevels, term.k)
                blocks.append(np.einsum("rla,rlb->lab", cols, cols))
                start += term.q
        return blocks
