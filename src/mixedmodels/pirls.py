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

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve, solve_triangular

from .covariance import ThetaLayout
from .design import ReTerm
from .families import Family
from .irls import working_response

__all__ = ["GlmmModel", "PirlsState", "WeightedFactor", "agq_deviance", "pirls"]


@dataclass(frozen=True, eq=False)
class GlmmModel:
    """The fixed parts of a GLMM: response, prior weights, offset, ``X`` and the random terms.

    ``y`` is the family's response (a binomial's proportions), ``weights`` the prior weights
    (a binomial's trials times any given weights), ``trials`` the numbers of trials (for the AIC).
    """

    fam: Family
    y: np.ndarray
    X: np.ndarray
    reterms: tuple[ReTerm, ...]
    weights: np.ndarray
    offset: np.ndarray
    trials: np.ndarray

    @property
    def layout(self) -> ThetaLayout:
        return ThetaLayout(tuple(t.k for t in self.reterms))

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    def lambda_matrix(self, theta: np.ndarray) -> sp.csr_matrix:
        """``Lambda(theta)``, block diagonal over the terms (q x q)."""
        rows, cols, index = self.layout.lambda_pattern(tuple(t.nlevels for t in self.reterms), 0)
        q = sum(t.q for t in self.reterms)
        return sp.csr_matrix((np.asarray(theta, dtype=float)[index], (rows, cols)), shape=(q, q))

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

    def aic(self, mu: np.ndarray) -> float:
        """The family's ``-2 log p(y | mu)``."""
        dev = 0.0
        return self.fam.aic(self.y, self.trials, mu, self.weights, dev)

    def dev_resids(self, mu: np.ndarray) -> np.ndarray:
        return self.fam.dev_resids(self.y, mu, self.weights)


class ThetaState:
    """What PIRLS needs of ``theta``: ``Z Lambda`` split into the first term and the rest."""

    def __init__(self, model: GlmmModel, theta: np.ndarray):
        self.theta = np.asarray(theta, dtype=float)
        first = model.reterms[0]
        self.k1, self.n1, self.q1 = first.k, first.nlevels, first.q
        T1 = model.layout.templates(self.theta)[0]
        self.a1 = first.z @ T1  # row i of Z_1 Lambda_1 within its level's k_1 columns
        self.refs1 = first.refs
        ZL = (model.z_matrix() @ model.lambda_matrix(self.theta)).tocsc()
        self.ZL = ZL
        self.ZLr = ZL[:, self.q1 :].tocsr()
        self.qr = self.ZLr.shape[1]
        n = model.n
        self._g_indptr = np.arange(0, n * self.k1 + 1, self.k1)
        self._g_indices = (self.refs1[:, None] * self.k1 + np.arange(self.k1)).ravel()
        X = model.X
        self.rest_joint = sp.hstack([self.ZLr, sp.csr_matrix(X)], format="csr") if self.qr else None
        self.X = X

    def zl_times(self, u: np.ndarray) -> np.ndarray:
        """``Z Lambda u``."""
        return self.ZL @ u

    def first_weighted(self, W: np.ndarray) -> sp.csr_matrix:
        """``W Z_1 Lambda_1`` (n x q_1), one row of ``k_1`` entries per observation."""
        data = (W[:, None] * self.a1).ravel()
        return sp.csr_matrix((data, self._g_indices, self._g_indptr), shape=(len(W), self.q1))


class WeightedFactor:
    """The blocked Cholesky factor of the penalized weighted system at one set of weights.

    ``joint`` includes ``X`` (the system for ``(u, beta)``); otherwise the system for ``u``.
    """

    def __init__(self, ts: ThetaState, W: np.ndarray, joint: bool):
        self.ts, self.joint = ts, joint
        k1, n1 = ts.k1, ts.n1
        a = ts.a1
        # first block: M_l = sum_{i in l} W_i a_i a_i' + I
        M = np.zeros((n1, k1, k1))
        for r in range(k1):
            for c in range(r + 1):
                M[:, r, c] = np.bincount(ts.refs1, W * a[:, r] * a[:, c], minlength=n1)
                M[:, c, r] = M[:, r, c]
        M[:, range(k1), range(k1)] += 1.0
        self.M = M
        if k1 == 1:
            d = np.sqrt(M[:, 0, 0])
            self.L11 = d[:, None, None]
            self.L11inv = (1.0 / d)[:, None, None]
            self.logdet1 = 2.0 * float(np.sum(np.log(d)))
        else:
            self.L11 = np.linalg.cholesky(M)
            self.L11inv = np.linalg.inv(self.L11)
            self.logdet1 = 2.0 * float(np.sum(np.log(np.diagonal(self.L11, axis1=1, axis2=2))))
        self.G = ts.first_weighted(W)  # W Z_1 Lambda_1
        R = self._rest(joint)
        self.R = R
        self.Qr = 0 if R is None else R.shape[1]
        if self.Qr:
            B = R.T @ self.G  # (Qr, q1): R' W Z_1 Lambda_1
            B = sp.csr_matrix(B) if sp.issparse(B) else B
            # C = B L_11^{-T}, level by level
            C = self._times_l11inv_t(B)
            RW = R.multiply(W[:, None]) if sp.issparse(R) else R * W[:, None]
            S = R.T @ RW
            S = S.toarray() if sp.issparse(S) else np.asarray(S)
            CC = C @ C.T
            S = S - (CC.toarray() if sp.issparse(CC) else CC)
            S[range(ts.qr), range(ts.qr)] += 1.0  # the identity of the other terms' columns
            self.C = C
            self.LS = np.linalg.cholesky(S)
            dS = np.log(np.diagonal(self.LS))
            self.logdet_L = self.logdet1 + 2.0 * float(np.sum(dS[: ts.qr]))
            self.logdet_RX = 2.0 * float(np.sum(dS[ts.qr :]))
        else:
            self.C = None
            self.LS = np.zeros((0, 0))
            self.logdet_L, self.logdet_RX = self.logdet1, 0.0

    def _rest(self, joint: bool):
        ts = self.ts
        if joint:
            return ts.rest_joint if ts.qr else ts.X
        return ts.ZLr if ts.qr else None

    def _times_l11inv_t(self, B):
        """``B L_11^{-T}`` with ``L_11`` block diagonal (levels of k_1)."""
        k1, n1 = self.ts.k1, self.ts.n1
        if k1 == 1:
            scale = self.L11inv[:, 0, 0]
            return B @ sp.diags(scale) if sp.issparse(B) else B * scale
        blocks = np.transpose(self.L11inv, (0, 2, 1))  # L^{-T} per level
        rows = np.repeat(np.arange(n1 * k1), k1)
        cols = (np.arange(n1)[:, None, None] * k1 + np.arange(k1)[None, None, :]).repeat(k1, axis=1).ravel()
        Linvt = sp.csr_matrix((blocks.ravel(), (rows, cols)), shape=(n1 * k1, n1 * k1))
        return B @ Linvt

    def rhs(self, Wz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[Lambda'Z'W z; X'W z]`` split into the first term's part and the rest's, from ``W z``."""
        ts = self.ts
        r1 = np.bincount(
            np.repeat(ts.refs1 * ts.k1, ts.k1) + np.tile(np.arange(ts.k1), len(Wz)),
            (Wz[:, None] * ts.a1).ravel(),
            minlength=ts.q1,
        )
        rr = np.asarray(self.R.T @ Wz).ravel() if self.R is not None else np.zeros(0)
        return r1, rr

    def solve(self, r1: np.ndarray, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The solution ``(x_1, x_rest)`` of the system with right-hand side ``(r1, rr)``."""
        k1, n1 = self.ts.k1, self.ts.n1
        y1 = np.einsum("lab,lb->la", self.L11inv, r1.reshape(n1, k1)).ravel()
        if self.Qr:
            yr = solve_triangular(self.LS, rr - self.C @ y1, lower=True)
            xr = solve_triangular(self.LS, yr, lower=True, trans="T")
            y1 = y1 - np.asarray(self.C.T @ xr).ravel()
        else:
            xr = np.zeros(0)
        x1 = np.einsum("lba,lb->la", self.L11inv, y1.reshape(n1, k1)).ravel()
        return x1, xr

    def rx_lower(self) -> np.ndarray:
        """``R_X'`` (p x p lower triangle) of a joint factor."""
        qr = self.ts.qr
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


def _eta(model: GlmmModel, ts: ThetaState, beta: np.ndarray, u: np.ndarray) -> np.ndarray:
    return model.offset + model.X @ beta + ts.zl_times(u)


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
    q = ts.ZL.shape[1]
    u = np.zeros(q) if u is None else np.asarray(u, dtype=float).copy()
    beta = np.asarray(beta, dtype=float).copy()
    eta = _eta(model, ts, beta, u)
    mu = fam.linkinv(eta)
    pdev = _pdev(model, mu, u)
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007 - the count is reported
        z, wz = working_response(fam, model.y, eta, mu, model.offset)
        W = model.weights * wz
        fac = WeightedFactor(ts, W, joint)
        if not joint:
            z = z - model.X @ beta
        r1, rr = fac.rhs(W * z)
        x1, xr = fac.solve(r1, rr)
        if joint:
            u_new = np.concatenate([x1, xr[: ts.qr]])
            beta_new = xr[ts.qr :]
        else:
            u_new = np.concatenate([x1, xr])
            beta_new = beta
        step_u, step_b = u_new - u, beta_new - beta
        t = 1.0
        for _ in range(30):
            uc, bc = u + t * step_u, beta + t * step_b
            etac = _eta(model, ts, bc, uc)
            muc = fam.linkinv(etac)
            pc = _pdev(model, muc, uc)
            if np.isfinite(pc) and pc <= pdev + 1e-12 * (1.0 + abs(pdev)):
                break
            t /= 2.0
        else:
            break
        change = pdev - pc
        u, beta, eta, mu, pdev = uc, bc, etac, muc, pc
        if change < tol * (1.0 + abs(pdev)):
            converged = True
            break
    z, wz = working_response(fam, model.y, eta, mu, model.offset)
    fac = WeightedFactor(ts, model.weights * wz, joint)
    return PirlsState(ts.theta, beta, u, eta, mu, pdev, fac, it, converged)


def laplace_deviance(model: GlmmModel, state: PirlsState) -> float:
    """lme4's Laplace criterion at the mode: ``aic(y, mu) + |u|^2 + log|L_Z|^2``."""
    return model.aic(state.mu) + state.sum_u2 + state.logdet_L


def agq_deviance(model: GlmmModel, state: PirlsState, nodes: np.ndarray, weights: np.ndarray) -> float:
    """lme4's adaptive Gauss-Hermite criterion for one scalar random-effects term (see the module)."""
    term = model.reterms[0]
    refs, nl = term.refs, term.nlevels
    M = state.factor.M[:, 0, 0]
    s = 1.0 / np.sqrt(M)
    lam = float(state.theta[0])
    zcol = term.z[:, 0]
    u = state.u
    dev0 = np.bincount(refs, model.dev_resids(state.mu), minlength=nl)
    g0 = dev0 + u * u
    shift = lam * zcol * s[refs]  # d eta / d z_k for each row
    total = np.zeros(nl)
    for zk, vk in zip(nodes, weights):
        mu_k = model.fam.linkinv(state.eta + shift * zk)
        uk = u + s * zk
        gk = np.bincount(refs, model.dev_resids(mu_k), minlength=nl) + uk * uk
        total += vk / np.sqrt(2.0 * np.pi) * np.exp(-(gk - g0 - zk * zk) / 2.0)
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
) -> float:
    """The Laplace criterion as lme4's ``glmerLaplace`` evaluates it, for its Hessian.

    lme4 starts every evaluation's PIRLS from the same linear predictor ``eta0`` (stage 1's),
    stops when ``|pdev_old - pdev| / pdev < 1e-7`` (at least two steps) and takes ``log|L|^2``
    from the factor of the last step, made at the means *before* that step. The value then
    differs from the converged criterion by a smooth function of the parameters, of the size of
    the tolerance, whose curvature changes lme4's standard errors by up to a few percent; ``vcov``
    reproduces lme4's with it. Returns ``inf`` where PIRLS fails.
    """
    ts = ThetaState(model, theta)
    fam = model.fam
    beta = np.asarray(beta, dtype=float)
    eta = np.asarray(eta0, dtype=float)
    mu = fam.linkinv(eta)
    u = np.zeros(ts.ZL.shape[1])
    old = np.inf
    for _ in range(maxit):
        z, wz = working_response(fam, model.y, eta, mu, model.offset)
        W = model.weights * wz
        fac = WeightedFactor(ts, W, False)
        r1, rr = fac.rhs(W * (z - model.X @ beta))
        x1, xr = fac.solve(r1, rr)
        u_new = np.concatenate([x1, xr])
        for _ in range(20):
            eta_new = _eta(model, ts, beta, u_new)
            mu_new = fam.linkinv(eta_new)
            pdev = _pdev(model, mu_new, u_new)
            if np.isfinite(pdev) and pdev <= old:
                break
            u_new = (u_new + u) / 2.0
        u, eta, mu = u_new, eta_new, mu_new
        if abs((old - pdev) / pdev) < tol:
            return model.aic(mu) + float(u @ u) + fac.logdet_L
        old = pdev
    return np.inf
