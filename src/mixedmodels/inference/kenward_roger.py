"""Kenward-Roger inference for the fixed effects, as pbkrtest 0.5.2 computes it.

The marginal covariance of ``y`` is linear in the covariance parameters ``gamma``: the distinct
elements of each random-effects term's covariance matrix and the residual variance,

    V = sum_i gamma_i G_i,    G_i = Z_t (I_levels (x) S_ab) Z_t'  (term t, element (a, b)),
                              G_res = I,

with ``S_ab = e_a e_b' + e_b e_a'`` (``e_a e_a'`` on the diagonal). With ``Phi = (X'V^-1 X)^-1``
(the unadjusted covariance of ``beta``),

    P_i  = -X'V^-1 G_i V^-1 X,       Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X,
    I_ij = tr(V^-1 G_i V^-1 G_j) - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j)   (= tr(P G_i P G_j)),
    W    = 2 I^-1                                 (the asymptotic covariance of gamma_hat),
    U    = sum_ij W_ij (Q_ij - P_i Phi P_j),
    V_KR = Phi + 2 Phi U Phi                      (Kenward & Roger 1997; R_ij = 0 because V
                                                   is linear in gamma, the 2009 paper's choice).

For a hypothesis ``L beta = 0`` of rank ``q`` (``L`` reduced to a basis of its row space),
``Theta = L'(L Phi L')^-1 L`` and ``u_i = Theta Phi P_i Phi``:

    A1 = sum_ij W_ij tr(u_i) tr(u_j),       A2 = sum_ij W_ij tr(u_i u_j),
    B  = (A1 + 6 A2) / (2q),                g  = ((q+1) A1 - (q+4) A2) / ((q+2) A2),
    c1 = g / (3q + 2(1-g)),  c2 = (q-g) / (3q + 2(1-g)),  c3 = (q+2-g) / (3q + 2(1-g)),
    rho = ((1 - A2/q) / (1 - c2 B))^2 (1 + c1 B) / (q (1 - c3 B)),
    ddf = 4 + (q + 2) / (q rho - 1),        lambda = ddf (1 - A2/q) / (ddf - 2),
    F   = lambda (L beta)'(L V_KR L')^-1 (L beta) / q   on (q, ddf) degrees of freedom.

Everything is computed in the space of the ``q`` random effects (no ``n x n`` matrix): with
``sigma^2 V^-1 = N = I - Z K Z'``, ``K = Lambda M^-1 Lambda'``, ``M = Lambda'Z'Z Lambda + I``, the
Gram matrix of ``[Z X]`` under ``N`` is

    G1 = [Z X]'N[Z X] = G0 - R'M^-1 R,    G0 = [Z X]'[Z X],   R = Lambda'Z'[Z X],

and every ``G_i V^-1 X`` lies in the span of ``[Z X]``: ``Z (S_i B)`` with ``B = Z'V^-1 X``, and
``V^-1 X = [Z X] [-K Z'X; I] / sigma^2`` for the residual. So ``P_i`` and ``Q_ij`` are products
with ``G1``; the traces are ``tr(C E_i C E_j)`` (``C = Z'V^-1 Z``), ``tr(E_i Z'V^-2 Z)`` and
``tr(V^-2) = (n - q_Z + tr(M^-2)) / sigma^4``. ``G0`` is read from the model's cross-products,
so a model fitted from them alone (a Dask DataFrame) is handled too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats
from scipy.linalg import cho_solve, solve_triangular

from ..numerics.pls import symmetric

if TYPE_CHECKING:
    from ..lmm.fit import LmerFit

__all__ = ["KenwardRoger", "KRTest"]


@dataclass(frozen=True)
class KRTest:
    """The Kenward-Roger F test of ``L beta = 0`` (pbkrtest's ``KRmodcomp``).

    Attributes
    ----------
    statistic : float
        The scaled F statistic ``lambda * Wald / q``.
    numdf : int
        Rank of ``L``.
    dendf : float
        Denominator degrees of freedom.
    p : float
        Upper tail of ``F(numdf, dendf)`` at ``statistic``.
    scaling : float
        ``lambda``; ``statistic / scaling`` is the unscaled statistic (lmerTest's Mean Sq / sigma^2).
    """

    statistic: float
    numdf: int
    dendf: float
    p: float
    scaling: float


@dataclass(frozen=True)
class _Parameter:
    """Element (a, b) of random-effects term ``term``'s covariance matrix."""

    term: int
    a: int
    b: int

    def S(self, k: int) -> np.ndarray:
        """The k x k pattern ``S_ab`` of the parameter within a level."""
        S = np.zeros((k, k))
        S[self.a, self.b] = S[self.b, self.a] = 1.0
        return S


def _rows(M: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``(I_levels (x) S) M`` for ``M`` with ``levels * k`` rows, level-major."""
    k = S.shape[0]
    blocks = M.reshape(-1, k, M.shape[1])
    return np.einsum("ab,lbm->lam", S, blocks).reshape(M.shape)


def _cols(M: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``M (I_levels (x) S)`` for a symmetric ``S``."""
    return _rows(M.T, S).T


class KenwardRoger:
    """Kenward-Roger's adjusted covariance and degrees of freedom for one REML fit.

    Parameters
    ----------
    fit : LmerFit
        A model fitted by REML (the method is defined for REML estimates; lmerTest refuses ML
        fits, and so does this class).

    Attributes
    ----------
    V : ndarray (p, p)
        The adjusted covariance of ``beta``, ``V_KR``.
    Phi : ndarray (p, p)
        The unadjusted covariance ``vcov(beta)``.
    W : ndarray (g, g)
        Twice the inverse of the expected REML information of the covariance parameters.
    """

    def __init__(self, fit: LmerFit) -> None:
        if not fit.reml:
            raise ValueError(
                "Kenward-Roger's method is only available for REML fits (as in lmerTest and pbkrtest); "
                "refit with reml=True"
            )
        self.fit = fit
        self.beta = fit.fixef.to_numpy()
        self.Phi = fit.vcov.to_numpy()
        self.sigma2 = fit.sigma**2
        self.params = self._parameters()
        self._setup_space()
        P, Q = self._p_and_q()
        self.P = P
        info = self._traces() - 2 * np.einsum("ab,ijab->ij", self.Phi, Q)
        PhiP = np.einsum("ab,ibc->iac", self.Phi, P)
        info += np.einsum("iab,jba->ij", PhiP, PhiP)
        info = (info + info.T) / 2
        eig = np.linalg.eigvalsh(info)
        self.W = 2 * (np.linalg.inv(info) if np.min(np.abs(eig)) > 1e-10 else np.linalg.pinv(info))
        U = np.einsum("ij,ijab->ab", self.W, Q) - np.einsum("ij,iab,jbc->ac", self.W, P, PhiP)
        U = (U + U.T) / 2
        V = self.Phi + 2 * self.Phi @ U @ self.Phi
        self.V = (V + V.T) / 2

    # ------------------------------------------------------------------ set-up
    def _parameters(self) -> list[_Parameter]:
        """pbkrtest's order: each term's lower-triangular covariance elements column by column
        (the residual variance comes after them, as the last parameter). Those are the
        parameters of unstructured terms: a term with another covariance structure
        (:mod:`mixedmodels.covariance.structures`) is refused for now."""
        if not self.fit.pls.layout.identity:
            names = sorted({type(s).__name__ for s in self.fit.pls.layout.structures if not s.identity})
            raise NotImplementedError(
                f"Kenward-Roger for a term with a {', '.join(names)} covariance structure is not "
                "available (pbkrtest's covariance is linear in its parameters, a structure's is "
                "not); use ddf='Satterthwaite'"
            )
        params = []
        for t, term in enumerate(self.fit.pls.reterms):
            for b in range(term.k):
                params += [_Parameter(t, a, b) for a in range(b, term.k)]
        return params

    def _gram(self) -> np.ndarray:
        """``G0 = [Z X]'[Z X]`` from the model's cross-products (Z's columns in term order)."""
        pls = self.fit.pls
        q1, qr, p = pls.q1, pls.qrest, pls.p
        m = q1 + qr + p
        G0 = np.zeros((m, m))
        k1 = pls.k1
        first = np.arange(pls.n1) * k1
        for a in range(k1):
            for b in range(k1):
                G0[first + a, first + b] = pls.A11[:, a, b]
        below = pls.Ar1[: qr + p].toarray()
        G0[q1:, :q1] = below
        G0[:q1, q1:] = below.T
        G0[q1:, q1:] = symmetric(pls.Arr)[: qr + p, : qr + p]
        return G0

    def _setup_space(self) -> None:
        """``G1 = [Z X]'N[Z X]``, ``M^-1``, and the factors the products and traces use."""
        pls = self.fit.pls
        self.qz = qz = pls.q1 + pls.qrest
        self.offsets = np.concatenate([[0], np.cumsum([t.q for t in pls.reterms])]).astype(int)
        G0 = self._gram()
        Lam = pls.lambda_matrix(self.fit.theta)
        R = np.asarray(Lam.T @ G0[:qz])  # Lambda'Z'[Z X], qz x (qz + p)
        M = np.asarray((Lam.T @ R[:, :qz].T).T) + np.eye(qz)
        M = (M + M.T) / 2
        self._Lm = np.linalg.cholesky(M)
        Wt = solve_triangular(self._Lm, R, lower=True)  # L^-1 R: G0 - G1 = Wt'Wt
        self.G1 = G0 - Wt.T @ Wt
        self._Wt_z = Wt[:, :qz]
        self._Lam = Lam
        Minv = cho_solve((self._Lm, True), np.eye(qz))
        self._trace_M2 = float(np.sum(Minv * Minv))
        # K Z'X = Lambda M^-1 Lambda'Z'X, for V^-1 X = [Z X][-K Z'X; I] / sigma^2
        self._K_ZX = np.asarray(Lam @ cho_solve((self._Lm, True), R[:, qz:]))

    # ----------------------------------------------------------- P, Q, traces
    def _coefficients(self, par: _Parameter | None) -> np.ndarray:
        """``c_i`` with ``G_i V^-1 X = [Z X] c_i`` ((q_Z + p) x p); None: the residual variance."""
        qz, s2 = self.qz, self.sigma2
        p = self.fit.pls.p
        c = np.zeros((qz + p, p))
        if par is None:
            c[:qz] = -self._K_ZX / s2
            c[qz:] = np.eye(p) / s2
        else:
            lo, hi = self.offsets[par.term], self.offsets[par.term + 1]
            B = self.G1[lo:hi, qz:] / s2  # Z_t'V^-1 X
            c[lo:hi] = _rows(B, par.S(self.fit.pls.reterms[par.term].k))
        return c

    def _p_and_q(self) -> tuple[np.ndarray, np.ndarray]:
        """``P_i`` (g, p, p) and ``Q_ij`` (g, g, p, p): ``P_i = -X'V^-1 [Z X] c_i``,
        ``Q_ij = c_i' [Z X]'V^-1[Z X] c_j``."""
        qz, s2 = self.qz, self.sigma2
        C = np.array([self._coefficients(par) for par in [*self.params, None]])  # (g, qz + p, p)
        GC = np.matmul(self.G1, C) / s2
        P = -GC[:, qz:, :]
        Q = np.tensordot(C, GC, axes=([1], [1])).transpose(0, 2, 1, 3)  # (i, r, j, s) -> (i, j, r, s)
        return (P + P.transpose(0, 2, 1)) / 2, Q

    def _traces(self) -> np.ndarray:
        """``tr(V^-1 G_i V^-1 G_j)`` for every pair of parameters (the residual's last)."""
        g, s2 = len(self.params) + 1, self.sigma2
        ks = [t.k for t in self.fit.pls.reterms]
        T = np.empty((g, g))
        C = self.G1[: self.qz, : self.qz] / s2  # Z'V^-1 Z
        level_sums = [self._level_sum_v2(t) for t in range(len(ks))]
        for i, pi in enumerate(self.params):
            Si = pi.S(ks[pi.term])
            for j, pj in enumerate(self.params[i:], start=i):
                rows = slice(self.offsets[pj.term], self.offsets[pj.term + 1])
                block = C[rows, self.offsets[pi.term] : self.offsets[pi.term + 1]]
                T[i, j] = T[j, i] = float(np.sum(_cols(block, Si) * _rows(block, pj.S(ks[pj.term]))))
            T[i, -1] = T[-1, i] = float(np.sum(Si * level_sums[pi.term]))
        T[-1, -1] = (self.fit.pls.n - self.qz + self._trace_M2) / s2**2
        return T

    def _level_sum_v2(self, t: int) -> np.ndarray:
        """``sum_l (Z'V^-2 Z)_ll`` over the levels of term ``t`` (k x k).

        ``Z'N^2 Z = G1_zz - Wt_z' (L^-1 Lambda' G1_zz)``: the second factor for term t's columns.
        """
        lo, hi = self.offsets[t], self.offsets[t + 1]
        k = self.fit.pls.reterms[t].k
        G1zz_t = self.G1[: self.qz, lo:hi]
        Wt1 = solve_triangular(self._Lm, np.asarray(self._Lam.T @ G1zz_t), lower=True)
        first = self.G1[lo:hi, lo:hi].reshape(-1, k, (hi - lo) // k, k)
        diag = np.einsum("lalb->ab", first)
        q = self._Wt_z.shape[0]
        second = np.einsum("rla,rlb->ab", self._Wt_z[:, lo:hi].reshape(q, -1, k), Wt1.reshape(q, -1, k))
        return (diag - second) / self.sigma2**2

    # ----------------------------------------------------------------- tests
    def _a1_a2(self, L: np.ndarray) -> tuple[float, float]:
        """``A1`` and ``A2`` of the hypothesis ``L beta = 0`` (L of full row rank)."""
        Phi = self.Phi
        Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
        u = np.einsum("ab,ibc,cd->iad", Theta @ Phi, self.P, Phi)
        tr = np.einsum("iaa->i", u)
        A1 = float(tr @ self.W @ tr)
        A2 = float(np.einsum("ij,iab,jba->", self.W, u, u))
        return A1, A2

    def _ddf_and_scaling(self, L: np.ndarray) -> tuple[float, float]:
        """Denominator degrees of freedom and F scaling ``lambda`` of ``L beta = 0``."""
        q = L.shape[0]
        A1, A2 = self._a1_a2(L)
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        den = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
        V0, V1, V2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
        V0 = 0.0 if abs(V0) < 1e-10 else V0
        ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(V1) < 1e-14 else (1 - A2 / q) / V1
        rho = ratio**2 * V0 / (q * V2)
        ddf = 4 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(ddf - 2) < 0.01 else ddf * (1 - A2 / q) / (ddf - 2)
        return ddf, scaling

    def df_contrast(self, l: np.ndarray) -> float:
        """Denominator degrees of freedom of the t test of ``l'beta`` (pbkrtest's ``Lb_ddf``)."""
        l = np.asarray(l, dtype=float).reshape(1, -1)
        return self._ddf_and_scaling(l)[0]

    def coefficient_df(self) -> np.ndarray:
        """Kenward-Roger degrees of freedom of each coefficient's t test."""
        p = len(self.beta)
        return np.array([self.df_contrast(np.eye(p)[j]) for j in range(p)])

    def coefficient_se(self) -> np.ndarray:
        """Standard errors of the coefficients from the adjusted covariance ``V_KR``."""
        return np.sqrt(np.diag(self.V))

    def test(self, L) -> KRTest:
        """The Kenward-Roger F test of ``L beta = 0`` (pbkrtest's ``KRmodcomp(fit, L)``)."""
        L = _row_basis(np.atleast_2d(np.asarray(L, dtype=float)))
        q = L.shape[0]
        ddf, scaling = self._ddf_and_scaling(L)
        Lb = L @ self.beta
        wald = float(Lb @ np.linalg.solve(L @ self.V @ L.T, Lb))
        F = scaling * wald / q
        p = float(stats.f.sf(F, q, ddf)) if math.isfinite(ddf) and ddf > 0 else math.nan
        return KRTest(F, q, float(ddf), p, float(scaling))

    def f_test(self, L) -> tuple[float, int, float, float]:
        """F statistic, numerator and denominator degrees of freedom, p-value of ``L beta = 0``."""
        t = self.test(L)
        return t.statistic, t.numdf, t.dendf, t.p


def _row_basis(L: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """``L`` itself when of full row rank, else an orthonormal basis of its row space (the
    hypothesis is the same; pbkrtest reduces a rank-deficient ``L`` the same way)."""
    if L.shape[0] == 0 or not np.any(L):
        raise ValueError("the hypothesis matrix L has no non-zero row")
    s = np.linalg.svd(L, compute_uv=False)
    rank = int(np.sum(s > tol * s[0]))
    if rank == L.shape[0]:
        return L
    _, _, Vt = np.linalg.svd(L)
    return Vt[:rank]
