"""Penalized iteratively reweighted least squares (PIRLS) and the GLMM criteria it evaluates.

The model: ``g(mu) = eta = o + X beta + Z Lambda(theta) u``, ``u ~ N(0, I)``, ``y_i | u`` from the
family with prior weight ``w_i``. At fixed ``theta`` (and, for the Laplace criterion, fixed
``beta``) PIRLS finds the conditional mode of ``u`` by Fisher scoring on the penalized deviance

    pdev(u) = sum_i d_i(y_i, mu_i) + |u|^2,

each step a penalized weighted least-squares problem with working response
``z = eta - o + (y - mu) / mu_eta`` and weights ``W = w mu_eta^2 / V(mu)``, solved by the
blocked Cholesky factor of

    [Lambda'Z'WZ Lambda + I   Lambda'Z'WX]   [L_Z   0 ] [L_Z'  R_ZX]
    [X'WZ Lambda              X'WX       ] = [R_ZX' R_X'] [0     R_X ]

whose first term's block is block diagonal (one ``k_1 x k_1`` block per level) and whose rest
(the other terms' columns, then ``X``) is a dense Schur complement: the work per step is
proportional to the non-zeros of ``Z`` plus the size of that complement. A step that does not
lower ``pdev`` is halved. With ``joint=True`` the step solves for ``(u, beta)`` together
(lme4's nAGQ = 0, the fixed effects inside PIRLS).

Every entry of the system is a sum over observations of ``W_i`` times a product of two entries
of row ``i`` of ``[Z Lambda, X]``. Where the products land is fixed by the model
(:class:`_Pattern`, once per model), the products themselves by ``theta`` (:class:`ThetaState`,
once per ``theta``), so that each PIRLS step only weights them by ``W`` and sums them
(``np.bincount``). With ``R = [Z_r Lambda_r, X]`` the columns after the first term's and
``B = R'W Z_1 Lambda_1``, the Schur complement is

    S = R'WR + [I 0; 0 0] - C C',    C = B L_11^{-T},

``C C'`` a sum over the first term's levels of the outer products of ``C``'s columns of that
level: a dense product where ``B`` is dense (crossed terms), a sum over the pairs of ``B``'s
non-zero blocks of one level where it is sparse (nested terms, observation-level effects).

At the mode the Laplace approximation to ``-2 log`` of the marginal likelihood is, on lme4's
scale,

    laplace(theta, beta) = aic(y, mu) + |u|^2 + log|L_Z|^2,

``aic`` the family's ``-2 log p(y | mu)`` (:mod:`mixedmodels.families`). Adaptive Gauss-Hermite
quadrature (one scalar random-effects term) integrates each level ``l`` separately: with
``s_l = 1 / L_Z,ll``, nodes ``z_k`` and weights ``v_k`` of the rule for ``exp(-z^2/2)``
(``sum v_k = sqrt(2 pi)``) and ``g_l(u) = sum_{i in l} d_i + u^2``,

    agq(theta, beta) = sum_l [ g_l(u_l) + log L_Z,ll^2 - 2 log sum_k v_k / sqrt(2 pi) e_lk ],
    e_lk = exp(-(g_l(u_l + s_l z_k) - g_l(u_l) - z_k^2) / 2),

lme4's nAGQ > 1 criterion (deviance residuals, not the AIC: the two scales differ by a
constant of the data, as lme4's do).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve, lapack, solve_triangular

from ..covariance.layout import ThetaLayout
from ..families import Family
from ..formula.design import ReTerm
from ..numerics.irls import working_response
from ..numerics.memory import PAIR_COST
from .auxiliary import Auxiliary

__all__ = ["GlmmModel", "PirlsState", "ThetaState", "WeightedFactor", "agq_deviance", "pirls"]


@dataclass(frozen=True, eq=False)
class GlmmModel:
    """The fixed parts of a GLMM: response, prior weights, offset, ``X`` and the random terms.

    ``y`` is the family's response (a binomial's proportions), ``weights`` the prior weights
    (a binomial's trials times any given weights), ``trials`` the numbers of trials (for the AIC),
    ``aux`` the dispersion and zero-inflation models (:mod:`~mixedmodels.glmm.auxiliary`; the
    family is then the conditional one, and a point's family that of
    :func:`~mixedmodels.glmm.laplace_ml.model_at`).
    """

    fam: Family
    y: np.ndarray
    X: np.ndarray
    reterms: tuple[ReTerm, ...]
    weights: np.ndarray
    offset: np.ndarray
    trials: np.ndarray
    aux: Auxiliary | None = None  # the dispersion and zero-inflation models (glmmTMB's)

    @cached_property
    def layout(self) -> ThetaLayout:
        return ThetaLayout.of(self.reterms)

    def with_response(self, y: np.ndarray) -> GlmmModel:
        """The same model for another response (a simulated one): what depends only on ``X``,
        ``Z`` and the weights is shared, not rebuilt."""
        return self._sharing(replace(self, y=np.asarray(y, dtype=float)))

    def with_family(self, fam: Family) -> GlmmModel:
        """The same model with another family (the same one at another value of its parameter):
        what depends only on ``X``, ``Z`` and the weights is shared, not rebuilt."""
        return self._sharing(replace(self, fam=fam))

    def _sharing(self, other: GlmmModel) -> GlmmModel:
        """``other`` with this model's pieces that depend only on ``X``, ``Z`` and the weights
        (never the family's or the response's: ``aic_constant`` and the deviance's terms)."""
        for name in ("pattern", "_Z", "layout"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def q(self) -> int:
        return sum(t.q for t in self.reterms)

    def lambda_matrix(self, theta: np.ndarray) -> sp.csr_matrix:
        """``Lambda(theta)``, block diagonal over the terms (q x q)."""
        rows, cols, index = self.layout.lambda_pattern(tuple(t.nlevels for t in self.reterms), 0)
        q = self.q
        values = self.layout.entries(np.asarray(theta, dtype=float))[index]
        return sp.csr_matrix((values, (rows, cols)), shape=(q, q))

    def z_matrix(self) -> sp.csc_matrix:
        """``Z`` (n x q), the terms' columns level-major, in the terms' order."""
        if not hasattr(self, "_Z"):
            blocks = []
            for t in self.reterms:
                n, k = t.z.shape
                rows = np.repeat(np.arange(n), k)
                cols = (t.refs[:, None] * k + np.arange(k)[None, :]).ravel()
                blocks.append(sp.csc_matrix((t.z.ravel(), (rows, cols)), shape=(n, t.q)))
            object.__setattr__(self, "_Z", sp.hstack(blocks, format="csc"))
        return self._Z  # type: ignore[attr-defined]

    @cached_property
    def pattern(self) -> _Pattern:
        """Where the weighted sums of the PIRLS system land (see the module)."""
        return _Pattern(self)

    @cached_property
    def _aic_terms(self) -> tuple:
        """The AIC's terms that do not depend on ``mu`` (the family's ``aic_parts``)."""
        return self.fam.aic_parts(self.y, self.trials, self.weights)

    def aic(self, mu: np.ndarray) -> float:
        """The family's ``-2 log p(y | mu)``: R's ``family$aic``, its terms free of ``mu`` computed
        once (:meth:`~mixedmodels.families.Family.aic_from_parts`)."""
        return self.fam.aic_from_parts(self._aic_terms, mu)

    @cached_property
    def aic_constant(self) -> float:
        """``aic(mu) - sum_i d_i(mu)``, free of ``mu`` for these families (both are ``-2 log p(y | mu)``
        up to terms of ``y`` alone): the Laplace criterion from the penalized deviance PIRLS has."""
        mu = np.full(self.n, self.fam.reference_mu)
        return self.aic(mu) - float(np.sum(self.dev_resids(mu)))

    @cached_property
    def _dev_terms(self) -> tuple:
        """The unit deviances' terms free of ``mu`` (the family's ``deviance_parts``)."""
        return self.fam.deviance_parts(self.y, self.weights)

    def dev_resids(self, mu: np.ndarray) -> np.ndarray:
        """The family's unit deviances at ``mu``, the same arithmetic with its ``y`` parts once
        (:meth:`~mixedmodels.families.Family.dev_resids_parts`)."""
        return self.fam.dev_resids_parts(self._dev_terms, mu, self.weights)


def _pairs_within(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs ``(a, b)`` of positions with ``groups[a] == groups[b]``."""
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sizes = counts[groups[order]]  # size of each position's group, in sorted order
    first = np.repeat(order, sizes)
    # within a group of size s starting at g, position j pairs with g .. g + s - 1
    group_start = starts[groups[order]]
    offsets = np.arange(len(first)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    second = order[np.repeat(group_start, sizes) + offsets]
    return first, second


class _Pattern:
    """Where each observation's products land in the PIRLS system: fixed per model.

    The first term's entries of row ``i`` are ``u_1`` positions ``idx1[i]``; the other terms'
    are columns ``rcols[i]`` of ``Z_r Lambda_r`` (``mr`` per row). ``B``'s non-zero ``k_1``
    blocks (a column of ``R``, a level of the first term) are numbered: ``block[i, j]`` is that
    of row ``i``'s ``j``-th rest entry, ``bcol``/``blevel`` each block's column and level; dense
    where most blocks are non-zero (crossed terms), else only those that occur, with the pairs of
    blocks of one level (``pair_a``, ``pair_b``, ``pair_at``) whose products make ``C C'``.
    """

    def __init__(self, model: GlmmModel):
        first, rest = model.reterms[0], model.reterms[1:]
        n = model.n
        self.k1, self.n1, self.q1 = first.k, first.nlevels, first.q
        self.refs1 = first.refs
        self.idx1 = first.refs[:, None] * first.k + np.arange(first.k)
        cols, offset = [], 0
        for t in rest:
            cols.append(offset + t.refs[:, None] * t.k + np.arange(t.k))
            offset += t.q
        self.qr = offset
        self.rcols = np.hstack(cols) if cols else np.zeros((n, 0), dtype=np.intp)
        self.mr = self.rcols.shape[1]
        self.p = model.p
        rc = self.rcols
        self.zz_index = (rc[:, :, None] * self.qr + rc[:, None, :]).ravel()
        rows = np.arange(n)
        ones = np.ones(n)
        self.sum1 = sp.csr_matrix((ones, (self.refs1, rows)), shape=(self.n1, n))  # sums per level
        entries = np.arange(n * self.mr)  # row i's c-th rest entry is entry i * mr + c
        self.sum_r = sp.csr_matrix(
            (np.ones(n * self.mr), (rc.ravel(), entries)), shape=(self.qr, n * self.mr)
        )
        k1 = self.k1
        self.m_index = (self.refs1[:, None, None] * k1 * k1 + np.arange(k1 * k1).reshape(k1, k1)).ravel()
        self._blocks()

    def _blocks(self) -> None:
        self.x_levels = np.tile(np.arange(self.n1), self.p)
        if not self.mr:
            self.dense, self.nblocks = True, 0
            self.bcol = self.blevel = self.bz_index = np.zeros(0, dtype=np.intp)
            return
        keys = (self.rcols * self.n1 + self.refs1[:, None]).ravel()
        present, block = np.unique(keys, return_inverse=True)
        self.bcol, self.blevel = present // self.n1, present % self.n1
        npairs = int(np.sum(np.bincount(self.blevel) ** 2))  # counted first: made only when used
        self.dense = npairs * PAIR_COST >= self.qr**2 * self.q1
        if self.dense:  # every (column, level) a block: B is a dense (qr, q1) array
            block = keys
            self.bcol = np.repeat(np.arange(self.qr), self.n1)
            self.blevel = np.tile(np.arange(self.n1), self.qr)
        else:
            pair_a, pair_b = _pairs_within(self.blevel) if len(present) else (np.zeros(0, np.intp),) * 2
            self.pair_a, self.pair_b = pair_a, pair_b
            self.pair_at = self.bcol[pair_a] * self.qr + self.bcol[pair_b]
        self.nblocks = len(self.bcol)
        k1 = self.k1
        self.bz_index = (block.reshape(-1, self.mr)[:, :, None] * k1 + np.arange(k1)).ravel()


class ThetaState:
    """What PIRLS needs of ``theta``: the entries of each row of ``Z Lambda`` and their products.

    ``a1`` (n, k_1) are row ``i``'s entries of the first term's ``Z_1 Lambda_1`` (at ``u_1``
    positions ``pattern.idx1[i]``), ``ar`` (n, mr) those of the other terms.
    """

    def __init__(self, model: GlmmModel, theta: np.ndarray):
        self.theta = np.array(theta, dtype=float)  # a copy: the caller's array may be reused
        self.model = model
        pat = model.pattern
        self.pattern = pat
        self.qr, self.k1, self.n1, self.q1 = pat.qr, pat.k1, pat.n1, pat.q1
        Ts = model.layout.templates(self.theta)
        self.a1 = model.reterms[0].z @ Ts[0]
        rest = [t.z @ T for t, T in zip(model.reterms[1:], Ts[1:])]
        self.ar = np.hstack(rest) if rest else np.zeros((model.n, 0))
        n, k1, mr = model.n, self.k1, pat.mr
        self.p11 = (self.a1[:, :, None] * self.a1[:, None, :]).reshape(n, k1 * k1)
        self.pzz = (self.ar[:, :, None] * self.ar[:, None, :]).reshape(n, mr * mr)
        self.pz1 = (self.ar[:, :, None] * self.a1[:, None, :]).reshape(n, mr * k1)
        self.X = model.X

    @property
    def q(self) -> int:
        return self.q1 + self.qr

    def zl_times(self, u: np.ndarray) -> np.ndarray:
        """``Z Lambda u``."""
        pat = self.pattern
        out = _rows_dot(self.a1, u, pat.idx1)
        if pat.mr:
            out += _rows_dot(self.ar, u[self.q1 :], pat.rcols)
        return out

    def zl_transpose_times(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Lambda'Z'v``, split into the first term's part and the rest's."""
        pat = self.pattern
        r1 = np.bincount(pat.idx1.ravel(), (v[:, None] * self.a1).ravel(), minlength=self.q1)
        rr = np.bincount(pat.rcols.ravel(), (v[:, None] * self.ar).ravel(), minlength=self.qr)
        return r1, rr


def _rows_dot(A: np.ndarray, v: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``sum_j A[i, j] v[index[i, j]]`` for each row ``i`` (``v`` gathered by ``index``)."""
    if A.shape[1] == 1:
        return A[:, 0] * v[index[:, 0]]
    return np.einsum("ij,ij->i", A, v[index])


def _weighted_sums(index: np.ndarray, W: np.ndarray, products: np.ndarray, size: int) -> np.ndarray:
    """``sum_i W_i products[i, j]`` gathered at ``index`` (flattened like ``products``)."""
    return np.bincount(index, (W[:, None] * products).ravel(), minlength=size)


class WeightedFactor:
    """The blocked Cholesky factor of the penalized weighted system at one set of weights.

    ``joint`` includes ``X`` (the system for ``(u, beta)``); otherwise the system for ``u``.
    """

    def __init__(self, ts: ThetaState, W: np.ndarray, joint: bool):
        self.ts, self.joint = ts, joint
        pat = ts.pattern
        k1, n1, qr = ts.k1, ts.n1, ts.qr
        self.qr = qr
        self.p = pat.p if joint else 0
        self.Qr = qr + self.p
        if k1 == 1:
            m: np.ndarray = np.bincount(pat.refs1, W * ts.p11[:, 0], minlength=n1).astype(float, copy=False)
            m += 1.0
            d = np.sqrt(m)
            self.M = m[:, None, None]
            self.L11inv = (1.0 / d)[:, None, None]
            self.logdet1 = 2.0 * float(np.sum(np.log(d)))
        else:
            M = _weighted_sums(pat.m_index, W, ts.p11, n1 * k1 * k1).reshape(n1, k1, k1)
            M[:, range(k1), range(k1)] += 1.0
            self.M = M
            L11 = np.linalg.cholesky(M)
            self.L11inv = np.linalg.inv(L11)
            self.logdet1 = 2.0 * float(np.sum(np.log(np.diagonal(L11, axis1=1, axis2=2))))
        if self.Qr:
            self._schur(W)
        else:
            self.LS = np.zeros((0, 0))
            self.logdet_L, self.logdet_RX = self.logdet1, 0.0

    def _schur(self, W: np.ndarray) -> None:
        """``S = R'WR + [I 0; 0 0] - C C'`` and its Cholesky factor ``L_S``."""
        ts, pat = self.ts, self.ts.pattern
        qr, p, Qr = self.qr, self.p, self.Qr
        if qr:
            Bz = _weighted_sums(pat.bz_index, W, ts.pz1, pat.nblocks * ts.k1)
            self.Cz = self._times_l11inv_t(Bz, None if pat.dense else pat.blevel)
            Szz = _weighted_sums(pat.zz_index, W, ts.pzz, qr * qr).reshape(qr, qr)
            Szz -= self._cz_outer()
            Szz.flat[:: qr + 1] += 1.0
        if not p:
            S = Szz
        else:
            S = np.empty((Qr, Qr))
            X = ts.X
            S[qr:, qr:] = (X.T * W) @ X
            Bx, zx = self._x_sums(W)
            self.Cx = self._times_l11inv_t(Bx, None).reshape(p, ts.q1)
            S[qr:, qr:] -= self.Cx @ self.Cx.T
            if qr:
                S[:qr, :qr] = Szz
                S[:qr, qr:] = zx - self._cz_times(self.Cx.T)
                S[qr:, :qr] = S[:qr, qr:].T
        LS, info = lapack.dpotrf(S.T, lower=1, clean=1, overwrite_a=1)  # S is symmetric
        if info:
            raise np.linalg.LinAlgError("the penalized weighted system is not positive definite")
        self.LS = LS
        dS = np.log(np.diagonal(LS))
        self.logdet_L = self.logdet1 + 2.0 * float(np.sum(dS[:qr]))
        self.logdet_RX = 2.0 * float(np.sum(dS[qr:]))

    def _x_sums(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``B_X = X'W Z_1 Lambda_1`` (p, q_1, flattened) and ``X'W Z_r Lambda_r`` transposed
        (q_r, p): the weighted rows of ``X`` summed per level (sparse sums, in row order)."""
        ts, pat = self.ts, self.ts.pattern
        X, k1, n1 = ts.X, ts.k1, ts.n1
        n, p = X.shape
        first = W[:, None, None] * (ts.a1[:, :, None] * X[:, None, :])  # (n, k1, p)
        Bx = (pat.sum1 @ first.reshape(n, k1 * p)).reshape(n1, k1, p)
        if self.qr:
            rest = W[:, None, None] * (ts.ar[:, :, None] * X[:, None, :])  # (n, mr, p)
            zx = pat.sum_r @ rest.reshape(-1, p)
        else:
            zx = np.zeros((0, p))
        return np.ascontiguousarray(Bx.transpose(2, 0, 1)).ravel(), zx

    def _times_l11inv_t(self, B: np.ndarray, levels: np.ndarray | None) -> np.ndarray:
        """``B L_11^{-T}`` for ``B`` given as (blocks, k_1) blocks (flattened): block ``b`` of level
        ``levels[b]``, or, with ``levels`` None, every level in turn (a dense matrix's rows).
        Returns (blocks, k_1)."""
        k1, n1 = self.ts.k1, self.ts.n1
        Linv = self.L11inv
        if levels is not None:
            B = B.reshape(-1, k1)
            return B * Linv[levels, 0, :] if k1 == 1 else np.einsum("bac,bc->ba", Linv[levels], B)
        if k1 == 1:
            return (B.reshape(-1, n1) * Linv[:, 0, 0]).reshape(-1, 1)
        return np.einsum("lac,rlc->rla", Linv, B.reshape(-1, n1, k1)).reshape(-1, k1)

    def _cz_outer(self) -> np.ndarray:
        """``C_z C_z'`` (qr x qr): a dense product, or a sum over pairs of blocks of one level."""
        pat, qr = self.ts.pattern, self.qr
        if pat.dense:
            C = self.Cz.reshape(qr, -1)
            return C @ C.T
        a, b = self.Cz[pat.pair_a], self.Cz[pat.pair_b]
        values = a[:, 0] * b[:, 0] if self.ts.k1 == 1 else np.einsum("ij,ij->i", a, b)
        return np.bincount(pat.pair_at, values, minlength=qr * qr).reshape(qr, qr)

    def _cz_times(self, V: np.ndarray) -> np.ndarray:
        """``C_z V`` for ``V`` (q1,) or (q1, m)."""
        pat, qr = self.ts.pattern, self.qr
        if pat.dense:
            return self.Cz.reshape(qr, -1) @ V
        k1 = self.ts.k1
        Vb = V.reshape((self.ts.n1, k1) + V.shape[1:])[pat.blevel]  # (nblocks, k1, ...)
        contrib = np.einsum("bk,bk...->b...", self.Cz, Vb)
        if contrib.ndim == 1:
            return np.bincount(pat.bcol, contrib, minlength=qr)
        m = contrib.shape[1]
        index = (pat.bcol[:, None] * m + np.arange(m)).ravel()
        return np.bincount(index, contrib.ravel(), minlength=qr * m).reshape(qr, m)

    def _cz_transpose_times(self, x: np.ndarray) -> np.ndarray:
        """``C_z' x`` (q1,) for ``x`` (qr,)."""
        pat = self.ts.pattern
        if pat.dense:
            return x @ self.Cz.reshape(self.qr, -1)
        k1 = self.ts.k1
        index = (pat.blevel[:, None] * k1 + np.arange(k1)).ravel()
        return np.bincount(index, (self.Cz * x[pat.bcol][:, None]).ravel(), minlength=self.ts.q1)

    def rhs(self, Wz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[Lambda'Z'W z; X'W z]`` split into the first term's part and the rest's, from ``W z``."""
        r1, rr = self.ts.zl_transpose_times(Wz)
        if self.p:
            rr = np.concatenate([rr, Wz @ self.ts.X])
        return r1, rr

    def _l11inv(self, y: np.ndarray, transpose: bool) -> np.ndarray:
        if self.ts.k1 == 1:
            return y * self.L11inv[:, 0, 0]
        spec = "lba,lb->la" if transpose else "lab,lb->la"
        return np.einsum(spec, self.L11inv, y.reshape(self.ts.n1, self.ts.k1)).ravel()

    def solve(self, r1: np.ndarray, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The solution ``(x_1, x_rest)`` of the system with right-hand side ``(r1, rr)``."""
        y1 = self._l11inv(r1, False)
        if self.Qr:
            qr = self.qr
            c = rr.copy()
            if qr:
                c[:qr] -= self._cz_times(y1)
            if self.p:
                c[qr:] -= self.Cx @ y1
            xr, _ = lapack.dpotrs(self.LS, c, lower=1)
            if qr:
                y1 = y1 - self._cz_transpose_times(xr[:qr])
            if self.p:
                y1 = y1 - xr[qr:] @ self.Cx
        else:
            xr = np.zeros(0)
        return self._l11inv(y1, True), xr

    def inverse_blocks(self, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
        """The diagonal blocks of ``A^{-1}``, ``A = Lambda'Z'WZ Lambda + I`` (a factor not
        joint), per term (levels, k, k); ``shapes`` the terms' (levels, k).

        By block inversion the other terms' blocks are those of ``S^{-1}`` and the first term's
        are ``L_l^{-T} (I + G_l'G_l) L_l^{-1}``, ``G = L_S^{-1} C`` and ``G_l`` its level-``l``
        columns.
        """
        ts, qr, k1, n1 = self.ts, self.qr, self.ts.k1, self.ts.n1
        inner = np.broadcast_to(np.eye(k1), (n1, k1, k1)).copy()
        rest = []
        if qr:
            pat = ts.pattern
            C = np.zeros((qr, n1, k1))
            C[pat.bcol, pat.blevel] = self.Cz
            G = solve_triangular(self.LS, C.reshape(qr, -1), lower=True).reshape(qr, n1, k1)
            inner += np.einsum("rla,rlb->lab", G, G)
            Sinv = cho_solve((self.LS, True), np.eye(qr))
            start = 0
            for nlevels, k in shapes[1:]:
                idx = start + np.arange(nlevels)[:, None] * k + np.arange(k)
                rest.append(Sinv[idx[:, :, None], idx[:, None, :]])
                start += nlevels * k
        Linv = self.L11inv
        return [np.einsum("lba,lbc,lcd->lad", Linv, inner, Linv), *rest]

    def row_inverse(self) -> tuple[np.ndarray, np.ndarray]:
        """``A^{-1} a_i`` at row ``i``'s own positions, ``a_i`` row ``i`` of ``Z Lambda`` (of a joint
        factor too: ``A`` is its leading block): (n, k_1) at the first term's, (n, mr) at the
        other terms'.

        Only the blocks of ``A^{-1}`` among a row's positions enter: by block inversion, with
        ``D = S^{-1} C``, the first term's level block ``L_l^{-T} (I + C_l'D_l) L_l^{-1}``, the
        cross block ``-L_l^{-T} D_l'`` and ``S^{-1}`` among the other terms' columns.
        """
        ts = self.ts
        pat, qr, k1, n1 = ts.pattern, self.qr, ts.k1, ts.n1
        Linv = self.L11inv  # (n1, k1, k1), lower
        inner = np.broadcast_to(np.eye(k1), (n1, k1, k1))
        if not qr:
            F = np.einsum("lba,lbc,lcd->lad", Linv, inner, Linv)
            return np.einsum("iab,ib->ia", F[pat.refs1], ts.a1), np.zeros((ts.a1.shape[0], 0))
        C = np.zeros((qr, n1, k1))
        C[pat.bcol, pat.blevel] = self.Cz
        Sinv = cho_solve((self.LS[:qr, :qr], True), np.eye(qr))
        D = (Sinv @ C.reshape(qr, -1)).reshape(qr, n1, k1)
        inner = inner + np.einsum("rla,rlb->lab", C, D)
        F = np.einsum("lba,lbc,lcd->lad", Linv, inner, Linv)
        E = -np.einsum("lba,rlb->lar", Linv, D)  # (n1, k1, qr): A^{-1}'s first-term x rest block
        refs, rc = pat.refs1, pat.rcols
        Ei = E[refs[:, None], :, rc]  # (n, mr, k1)
        Si = Sinv[rc[:, :, None], rc[:, None, :]]  # (n, mr, mr)
        a1, ar = ts.a1, ts.ar
        v1 = np.einsum("iab,ib->ia", F[refs], a1) + np.einsum("ija,ij->ia", Ei, ar)
        vr = np.einsum("ija,ia->ij", Ei, a1) + np.einsum("ijk,ik->ij", Si, ar)
        return v1, vr

    def rx_lower(self) -> np.ndarray:
        """``R_X'`` (p x p lower triangle) of a joint factor."""
        qr = self.qr
        return self.LS[qr:, qr:]


@dataclass(frozen=True)
class PirlsState:
    """The conditional mode at one ``(theta, beta)``: ``u``, ``beta`` (updated when joint),
    ``eta``, ``mu``, the penalized deviance and the factor at the mode's weights."""

    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    pdev: float
    factor: WeightedFactor
    iterations: int
    converged: bool

    @property
    def logdet_L(self) -> float:
        return self.factor.logdet_L

    @property
    def sum_u2(self) -> float:
        return float(self.u @ self.u)


def _valid(model: GlmmModel, eta: np.ndarray) -> bool:
    """Whether ``eta`` is inside the link's domain. For a mirrored link (the sqrt link's
    ``mu = eta^2``, :attr:`~mixedmodels.families.Link.mirrored`) only rows with counts need
    ``eta > 0``: a zero count's deviance ``2 w eta^2`` is smooth and convex through 0, while a
    positive count's ``-4 w y log|eta|`` is a barrier that PIRLS must not jump across (to the
    mirror image of its mode)."""
    fam = model.fam
    if fam.link.mirrored:
        return bool(np.all(np.isfinite(eta)) and np.all(eta[model.y > 0] > 0))
    return bool(fam.valid_eta(eta) and fam.valid_mu(fam.linkinv(eta)))


def _pdev(model: GlmmModel, mu: np.ndarray, u: np.ndarray) -> float:
    return float(np.sum(model.dev_resids(mu))) + float(u @ u)


def pirls(
    model: GlmmModel,
    theta: np.ndarray,
    beta: np.ndarray,
    u: np.ndarray | None = None,
    joint: bool = False,
    tol: float = 1e-10,
    maxit: int = 60,
    ts: ThetaState | None = None,
) -> PirlsState:
    """The conditional mode of ``u`` (and of ``beta`` when ``joint``) at ``theta`` (see the module).

    Stops when a step changes the penalized deviance by less than ``tol * (1 + pdev)``.
    """
    ts = ThetaState(model, theta) if ts is None else ts
    fam = model.fam
    u = np.zeros(ts.q) if u is None else np.asarray(u, dtype=float).copy()
    beta = np.asarray(beta, dtype=float).copy()
    xb = model.X @ beta
    eta = model.offset + xb + ts.zl_times(u)
    bounded = fam.bounded_eta
    if bounded and not _valid(model, eta):  # start inside the links' domain, or fail
        u = np.zeros(ts.q)
        eta = model.offset + xb
        if not _valid(model, eta):
            raise FloatingPointError("no valid linear predictor to start PIRLS from")
    mu = fam.linkinv(eta)
    pdev = _pdev(model, mu, u)
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007 - the count is reported
        z, wz = working_response(fam, model.y, eta, mu, model.offset)
        W = model.weights * wz
        fac = WeightedFactor(ts, W, joint)
        if not joint:
            z = z - xb
        r1, rr = fac.rhs(W * z)
        x1, xr = fac.solve(r1, rr)
        if joint:
            u_new = np.concatenate([x1, xr[: ts.qr]])
            beta_new = xr[ts.qr :]
        else:
            u_new = np.concatenate([x1, xr])
            beta_new = beta
        step_u, step_b = u_new - u, beta_new - beta
        step_eta = ts.zl_times(step_u)
        if joint:
            step_eta += model.X @ step_b
        t = 1.0
        for _ in range(30):
            uc, bc = u + t * step_u, beta + t * step_b
            etac = eta + t * step_eta
            muc = fam.linkinv(etac)
            pc = _pdev(model, muc, uc)
            ok = np.isfinite(pc) and pc <= pdev + 1e-12 * (1.0 + abs(pdev))
            if ok and (not bounded or _valid(model, etac)):
                break
            t /= 2.0
        else:
            break
        change = pdev - pc
        u, beta, eta, mu, pdev = uc, bc, etac, muc, pc
        if change < tol * (1.0 + abs(pdev)):
            converged = True
            break
    laplace_weights = fam.laplace_weights(model.y, eta, mu)
    fac = WeightedFactor(ts, model.weights * laplace_weights, joint)
    state = PirlsState(ts.theta, beta, u, eta, mu, pdev, fac, it, converged)
    if converged and fam.observed_information and not np.all(laplace_weights > 0):
        return _newton_polish(model, state)  # PIRLS replaced some of the information: not Newton's
    return state


def _newton_polish(model: GlmmModel, state: PirlsState, steps: int = 3) -> PirlsState:
    """Newton steps with the observed information itself from a mode PIRLS found with some of it
    replaced (:meth:`~mixedmodels.families.Family.working`: ``|D|`` where ``D <= 0``, a descent
    step but a linear rate, which leaves the mode inexact by about the square root of the
    deviance's rounding): each step ``-H^{-1} g``, ``g`` the gradient of ``pdev / 2`` and ``H``
    the factor at the observed information, kept while it shrinks ``|g|`` (the gradient of the
    Laplace criterion assumes an exact mode)."""
    fam, ts, fac = model.fam, state.factor.ts, state.factor
    joint = fac.joint
    grad, norm = _half_gradient(model, state)
    for _ in range(steps):
        if norm < 1e-12:
            break
        try:
            x1, xr = fac.solve(*grad)
        except np.linalg.LinAlgError:
            break
        step_u = np.concatenate([x1, xr[: ts.qr]]) if joint else np.concatenate([x1, xr])
        step_b = xr[ts.qr :] if joint else np.zeros(0)
        u, beta = state.u - step_u, state.beta - step_b if joint else state.beta
        eta = state.eta - ts.zl_times(step_u) - (model.X @ step_b if joint else 0.0)
        mu = fam.linkinv(eta)
        pdev = _pdev(model, mu, u)
        W = model.weights * fam.laplace_weights(model.y, eta, mu)
        try:
            trial = PirlsState(state.theta, beta, u, eta, mu, pdev, WeightedFactor(ts, W, joint), 0, True)
        except np.linalg.LinAlgError:
            break
        trial_grad, trial_norm = _half_gradient(model, trial)
        if not (np.isfinite(pdev) and trial_norm < norm):
            break
        state, grad, norm, fac = (
            replace(trial, iterations=state.iterations),
            trial_grad,
            trial_norm,
            trial.factor,
        )
    return state


def _half_gradient(model: GlmmModel, state: PirlsState) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """The gradient of ``pdev / 2`` in ``u`` (and ``beta`` when joint), split as a factor's
    right-hand side, and its largest entry."""
    d1 = model.fam.observed_information_eta(model.y, model.weights, state.eta, state.mu)[0]
    fac = state.factor
    r1, rr = fac.rhs(d1 / 2.0)
    q1 = len(r1)
    r1 = r1 + state.u[:q1]
    rr = rr.astype(float)  # a copy (an empty bincount is of integers)
    rr[: fac.qr] += state.u[q1:]
    return (r1, rr), float(max(np.max(np.abs(r1), initial=0.0), np.max(np.abs(rr), initial=0.0)))


def laplace_deviance(model: GlmmModel, state: PirlsState) -> float:
    """lme4's Laplace criterion at the mode: ``aic(y, mu) + |u|^2 + log|L_Z|^2``, the first two
    terms the penalized deviance plus :attr:`GlmmModel.aic_constant`."""
    return state.pdev + model.aic_constant + state.logdet_L


def agq_deviance(model: GlmmModel, state: PirlsState, nodes: np.ndarray, weights: np.ndarray) -> float:
    """lme4's adaptive Gauss-Hermite criterion for one scalar random-effects term (see the module).

    All nodes at once: row ``k`` of the (nodes, n) arrays is node ``z_k``.
    """
    term = model.reterms[0]
    refs, nl = term.refs, term.nlevels
    M = state.factor.M[:, 0, 0]
    s = 1.0 / np.sqrt(M)
    lam = float(model.layout.entries(state.theta)[0])  # the scalar template
    u = state.u
    dev0 = np.bincount(refs, model.dev_resids(state.mu), minlength=nl)
    g0 = dev0 + u * u
    shift = lam * term.z[:, 0] * s[refs]  # d eta / d z_k for each row
    mu_k = model.fam.linkinv(state.eta + nodes[:, None] * shift)
    K = len(nodes)
    index = (np.arange(K)[:, None] * nl + refs).ravel()
    dev_k = np.bincount(index, model.dev_resids(mu_k).ravel(), minlength=K * nl).reshape(K, nl)
    uk = u + nodes[:, None] * s
    gk = dev_k + uk * uk
    terms = (weights / np.sqrt(2.0 * np.pi))[:, None] * np.exp(-(gk - g0 - (nodes * nodes)[:, None]) / 2.0)
    total = terms.sum(axis=0)  # node by node, in the rule's order (a reduction over rows)
    return float(np.sum(g0) + np.sum(np.log(M)) - 2.0 * np.sum(np.log(total)))


def vcov_joint(state: PirlsState) -> np.ndarray:
    """``(R_X'R_X)^{-1}`` of a joint factor: the fixed effects' covariance at fixed ``theta``."""
    RXt = state.factor.rx_lower()
    return cho_solve((RXt, True), np.eye(len(RXt))) if len(RXt) else np.zeros((0, 0))


def lme4_laplace(
    model: GlmmModel,
    theta: np.ndarray,
    beta: np.ndarray,
    eta0: np.ndarray,
    tol: float = 1e-7,
    maxit: int = 30,
    ts: ThetaState | None = None,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> float:
    """The Laplace criterion as lme4's ``glmerLaplace`` evaluates it, for its Hessian.

    lme4 starts every evaluation's PIRLS from the same linear predictor ``eta0`` (stage 1's),
    stops when ``|pdev_old - pdev| / pdev < 1e-7`` (at least two steps) and takes ``log|L|^2``
    from the factor of the last step, made at the means *before* that step. The value then
    differs from the converged criterion by a smooth function of the parameters, of the size of
    the tolerance, whose curvature changes lme4's standard errors by up to a few percent; ``vcov``
    reproduces lme4's with it. Returns ``inf`` where PIRLS fails.

    ``start``, the same for every evaluation from ``eta0``, is :func:`lme4_start`'s.
    """
    ts = ThetaState(model, theta) if ts is None else ts
    fam = model.fam
    beta = np.asarray(beta, dtype=float)
    xb = model.X @ beta
    fixed = model.offset + xb
    mu, z, W = lme4_start(model, eta0) if start is None else start
    eta = np.asarray(eta0, dtype=float)
    u = np.zeros(ts.q)
    old = np.inf
    for it in range(maxit):
        if it:
            z, wz = working_response(fam, model.y, eta, mu, model.offset)
            W = model.weights * wz
        fac = WeightedFactor(ts, W, False)
        r1, rr = fac.rhs(W * (z - xb))
        x1, xr = fac.solve(r1, rr)
        u_new = np.concatenate([x1, xr])
        for _ in range(20):
            eta_new = fixed + ts.zl_times(u_new)
            mu_new = fam.linkinv(eta_new)
            pdev = _pdev(model, mu_new, u_new)
            if np.isfinite(pdev) and pdev <= old:
                break
            u_new = (u_new + u) / 2.0
        u, eta, mu = u_new, eta_new, mu_new
        if abs((old - pdev) / pdev) < tol:
            return pdev + model.aic_constant + fac.logdet_L
        old = pdev
    return np.inf


def lme4_start(model: GlmmModel, eta0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The means, working response and working weights at ``eta0``: where every
    :func:`lme4_laplace` starts."""
    eta = np.asarray(eta0, dtype=float)
    mu = model.fam.linkinv(eta)
    z, wz = working_response(model.fam, model.y, eta, mu, model.offset)
    return mu, z, model.weights * wz
