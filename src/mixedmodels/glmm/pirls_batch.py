"""PIRLS for many problems at once, on a model with a single random-effects term.

With one term of ``k`` columns, ``A = Lambda'Z'W Z Lambda + I`` is block diagonal, one block per
level, ``M_l = I + sum_{i in l} W_i a_i a_i'`` with ``a_i = T' z_i`` (:mod:`mixedmodels.glmm.pirls`):
a PIRLS step is a sum per level and a ``k x k`` solve per level. Problems ``b = 1..B`` share the
model's ``X``, ``Z``, prior weights, offset and family and differ in ``theta_b``, ``beta_b`` and,
for a bootstrap, the response ``y_b``; all their arrays are ``(B, n)`` and their sums one
``np.bincount`` over ``(problem, level)``. Each problem stops by itself; the others go on.

The criterion here omits the AIC's constant (:attr:`~mixedmodels.glmm.pirls.GlmmModel.aic_constant`,
one number per response): ``pdev(u) + log det A``, what optimization and differences need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..families import Family
from .pirls import GlmmModel

__all__ = ["BatchModes", "BatchResponse", "SingleTermBatch"]


class SingleTermBatch:
    """PIRLS over many ``(theta, beta[, y])`` of one model with a single random-effects term."""

    def __init__(self, model: GlmmModel):
        if len(model.reterms) != 1:
            raise ValueError("a batched PIRLS needs a model with a single random-effects term")
        term = model.reterms[0]
        self.model = model
        self.fam = model.fam
        self.k, self.n1, self.refs, self.z = term.k, term.nlevels, term.refs, term.z
        self.structure = model.layout.structures[0]

    # ------------------------------------------------------------------ pieces
    def row_effects(self, theta: np.ndarray) -> np.ndarray:
        """``a_i = T_b' z_i`` for each problem: (B, n, k)."""
        T = self.structure.stacked_factor(theta)
        return np.einsum("nj,bjc->bnc", self.z, T)

    def linear_predictor(self, xb: np.ndarray, a: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``eta = o + X beta + Z Lambda u`` for ``u`` (B, n1, k)."""
        return xb + np.einsum("bnc,bnc->bn", a, u[:, self.refs, :])

    def level_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums over each level's rows of (B, n, ...) values: (B, n1, ...)."""
        B, n = values.shape[:2]
        rest = values.shape[2:]
        width = int(np.prod(rest)) if rest else 1
        index = (np.arange(B)[:, None] * self.n1 + self.refs[None, :]).ravel()
        flat = values.reshape(B * n, width)
        out = np.empty((B * self.n1, width))
        for c in range(width):
            out[:, c] = np.bincount(index, flat[:, c], minlength=B * self.n1)
        return out.reshape((B, self.n1) + rest)

    def blocks(self, W: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``M_l = I + sum_{i in l} W_i a_i a_i'``: (B, n1, k, k)."""
        k = self.k
        M = self.level_sums(W[:, :, None, None] * a[:, :, :, None] * a[:, :, None, :])
        M[:, :, range(k), range(k)] += 1.0
        return M

    def solve(self, M: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``M^{-1} r`` per level and ``log det`` per problem."""
        if self.k == 1:
            m = M[:, :, 0, 0]
            return r / m[:, :, None], np.sum(np.log(m), axis=1)
        L = np.linalg.cholesky(M)
        x = np.linalg.solve(M, r[..., None])[..., 0]
        return x, 2.0 * np.sum(np.log(np.diagonal(L, axis1=2, axis2=3)), axis=(1, 2))

    def deviance(self, y: BatchResponse | None, mu: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The penalized deviance per problem (``y`` None: the model's own response)."""
        dev = self.model.dev_resids(mu) if y is None else y.deviance_terms(mu)
        total = np.sum(dev, axis=1) + np.sum(u * u, axis=(1, 2))
        return total if y is None else total + y.c

    def responses(self, Y: np.ndarray) -> BatchResponse:
        """Responses (B, n) with their deviances' terms free of ``mu`` computed once."""
        return BatchResponse.make(self.fam, np.asarray(Y, dtype=float), self.model.weights)

    def working(self, eta: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working weights ``W`` and the working residual ``(y - mu) / mu_eta`` (the model's ``y``).

        The family's ``mu_eta`` and ``variance`` as :meth:`~mixedmodels.families.Family.working`
        combines them, with the prior weights multiplied in first (``w d d / V``): the products'
        order is kept, as in :meth:`modes` and :meth:`_newton_weights`, so that no number moves."""
        d = self.fam.mu_eta(eta)
        return self.model.weights * d * d / self.fam.variance(mu), (self.model.y - mu) / d

    # ------------------------------------------------------------------ lme4's evaluation
    def lme4_laplace(
        self, theta: np.ndarray, beta: np.ndarray, eta0: np.ndarray, tol: float = 1e-7, maxit: int = 30
    ) -> np.ndarray:
        """:func:`~mixedmodels.glmm.pirls.lme4_laplace` for each row of ``theta`` and ``beta`` (the
        model's own response), with its constant: from the same ``eta0``, stopped at lme4's
        tolerance, ``log det`` from the factor made before the last step."""
        model = self.model
        B = len(theta)
        a = self.row_effects(np.asarray(theta, dtype=float))
        xb = model.offset + np.asarray(beta, dtype=float) @ model.X.T
        eta = np.broadcast_to(np.asarray(eta0, dtype=float), xb.shape).copy()
        mu = self.fam.linkinv(eta)
        u = np.zeros((B, self.n1, self.k))
        old = np.full(B, np.inf)
        out = np.full(B, np.inf)
        act = np.arange(B)
        for _ in range(maxit):
            W, wres = self.working(eta[act], mu[act])
            M = self.blocks(W, a[act])
            target = eta[act] - xb[act] + wres  # Z Lambda u + the working residual
            u_new, logdet = self.solve(M, self.level_sums(a[act] * (W * target)[:, :, None]))
            u_act, eta_act, mu_act, pdev = self._halve(a[act], xb[act], u[act], u_new, old[act])
            u[act], eta[act], mu[act] = u_act, eta_act, mu_act
            done = np.abs((old[act] - pdev) / pdev) < tol
            out[act[done]] = pdev[done] + logdet[done] + model.aic_constant
            old[act] = pdev
            act = act[~done]
            if not act.size:
                break
        return out

    def _halve(self, a, xb, u, u_new, old, max_halvings: int = 20):
        """lme4's step: ``u_new`` averaged with ``u`` until the deviance is not above ``old``."""
        eta = self.linear_predictor(xb, a, u_new)
        mu = self.fam.linkinv(eta)
        pdev = self.deviance(None, mu, u_new)
        for _ in range(max_halvings):
            bad = ~(np.isfinite(pdev) & (pdev <= old))
            if not bad.any():
                break
            u_new[bad] = (u_new[bad] + u[bad]) / 2.0
            eta[bad] = self.linear_predictor(xb[bad], a[bad], u_new[bad])
            mu[bad] = self.fam.linkinv(eta[bad])
            pdev[bad] = self.deviance(None, mu[bad], u_new[bad])
        return u_new, eta, mu, pdev

    # ------------------------------------------------------------------ converged modes
    def modes(self, theta, beta, y: BatchResponse, u0, tol: float = 1e-14, maxit: int = 60) -> BatchModes:
        """The conditional modes at each problem's ``(theta, beta)`` for its response, from ``u0``
        (B, n1, k): Newton steps on the penalized deviance (Fisher scoring for a problem whose
        observed information is not positive definite at a level), halved where the deviance
        would rise, each problem stopping when it changes by less than ``tol (1 + pdev)``."""
        a = self.row_effects(theta)
        xb = self.model.offset + beta @ self.model.X.T
        u = np.array(u0, dtype=float)
        eta = self.linear_predictor(xb, a, u)
        mu = self.fam.linkinv(eta)
        pdev = self.deviance(y, mu, u)
        ok = np.isfinite(pdev)
        act = np.flatnonzero(ok)
        w = self.model.weights
        for _ in range(maxit):
            if not act.size:
                break
            ya = y.take(act)
            W, half_d1, half_d2 = self._newton_weights(ya.y, eta[act], mu[act])
            M = self.blocks(half_d2, a[act])
            fisher = ~self._positive(M)
            if fisher.any():
                M[fisher] = self.blocks(W[fisher], a[act][fisher])
                lost = np.flatnonzero(fisher)[~self._positive(M[fisher])]
                if lost.size:  # weights overflowed (a trial point far off): no modes there
                    keep = np.setdiff1d(np.arange(len(act)), lost)
                    ok[act[lost]] = False
                    act, ya, M = act[keep], ya.take(keep), M[keep]
                    half_d1 = half_d1[keep]
                    if not act.size:
                        break
            grad = self.level_sums(a[act] * half_d1[:, :, None]) + u[act]
            step, _ = self.solve(M, grad)
            moved, u_c, eta_c, mu_c, p_c = self._scoring_step(
                ya, a[act], xb[act], u[act], u[act] - step, pdev[act]
            )
            change = pdev[act] - p_c
            u[act], eta[act], mu[act], pdev[act] = u_c, eta_c, mu_c, p_c
            done = ~moved | (change < tol * (1.0 + np.abs(p_c)))
            ok[act[~moved]] = False
            act = act[~done]
        ok[act] = False  # not converged in maxit steps
        W = w * self.fam.mu_eta(eta) ** 2 / self.fam.variance(mu)
        M = self.blocks(W, a)
        ok &= self._positive(M)
        M[~ok] = np.eye(self.k)  # (their criterion is inf: the blocks only keep the solves finite)
        return BatchModes(a, u, eta, mu, pdev, M, ok)

    def _newton_weights(self, y: np.ndarray, eta: np.ndarray, mu: np.ndarray):
        """``W``, ``d'/2`` and ``d''/2`` (:mod:`mixedmodels.glmm.laplace_gradient`), the last ``W``
        itself for a canonical link."""
        fam, w = self.fam, self.model.weights
        m1 = fam.mu_eta(eta)
        inv_v = 1.0 / fam.variance(mu)
        wr = w * (y - mu)
        W = w * m1 * m1 * inv_v
        half_d1 = -wr * m1 * inv_v
        if fam.canonical:
            return W, half_d1, W
        d2, dv = fam.link.mu_eta_deriv, fam.variance_deriv
        assert d2 is not None and dv is not None  # every glmer family has them
        curvature = d2(eta) - m1 * m1 * dv(mu) * inv_v
        return W, half_d1, W - wr * curvature * inv_v

    def agq(self, theta, beta, u0, nagq: int, tol: float = 1e-14) -> np.ndarray:
        """:func:`~mixedmodels.glmm.pirls.agq_deviance` (lme4's nAGQ > 1 criterion, a scalar term) at
        each problem's ``(theta, beta)`` for the model's own response; ``inf`` where PIRLS fails."""
        nodes, weights = np.polynomial.hermite_e.hermegauss(nagq)
        resp = self.responses(np.broadcast_to(self.model.y, (len(theta), self.model.n)))
        md = self.modes(theta, beta, resp, u0, tol=tol)
        M, u = md.M[:, :, 0, 0], md.u[:, :, 0]
        s = 1.0 / np.sqrt(M)
        g0 = self.level_sums(self.model.dev_resids(md.mu)) + u * u  # (B, n1)
        lam = self.structure.stacked_factor(np.asarray(theta, dtype=float))[:, 0, :1]  # a scalar term
        shift = (lam * self.z[:, 0]) * s[:, self.refs]  # d eta / d node
        mu_k = self.fam.linkinv(md.eta[:, None, :] + nodes[None, :, None] * shift[:, None, :])
        dev_k = self.level_sums(self.model.dev_resids(mu_k).transpose(0, 2, 1)).transpose(0, 2, 1)
        u_k = u[:, None, :] + nodes[None, :, None] * s[:, None, :]
        excess = dev_k + u_k * u_k - g0[:, None, :] - (nodes * nodes)[None, :, None]
        total = np.sum((weights / np.sqrt(2.0 * np.pi))[None, :, None] * np.exp(-excess / 2.0), axis=1)
        value = np.sum(g0, axis=1) + np.sum(np.log(M), axis=1) - 2.0 * np.sum(np.log(total), axis=1)
        return np.where(md.ok, value, np.inf)

    def _positive(self, M: np.ndarray) -> np.ndarray:
        """Problems whose every block is finite and positive definite (the smallest eigenvalue
        positive; overflowed working weights make a block infinite or, in rounding, indefinite)."""
        finite = np.all(np.isfinite(M), axis=(1, 2, 3))
        out = np.zeros(len(M), dtype=bool)
        if self.k == 1:
            out[finite] = np.all(M[finite, :, 0, 0] > 0, axis=1)
        else:
            out[finite] = np.all(np.linalg.eigvalsh(M[finite])[..., 0] > 0, axis=1)
        return out

    def _scoring_step(self, y, a, xb, u, u_new, pdev, max_halvings: int = 30):
        """From ``u`` towards ``u_new``, halved until the penalized deviance does not rise:
        whether each problem could step, and the new ``u``, ``eta``, ``mu`` and deviance."""
        step = u_new - u
        t = np.ones(len(u))
        moved = np.zeros(len(u), dtype=bool)
        u_c, eta_c, mu_c, p_c = u.copy(), np.empty_like(xb), np.empty_like(xb), pdev.copy()
        pending = np.arange(len(u))
        for _ in range(max_halvings):
            if not pending.size:
                break
            uc = u[pending] + t[pending, None, None] * step[pending]
            ec = self.linear_predictor(xb[pending], a[pending], uc)
            mc = self.fam.linkinv(ec)
            pc = self.deviance(y.take(pending), mc, uc)
            good = np.isfinite(pc) & (pc <= pdev[pending] + 1e-12 * (1.0 + np.abs(pdev[pending])))
            g = pending[good]
            moved[g], u_c[g], eta_c[g], mu_c[g], p_c[g] = True, uc[good], ec[good], mc[good], pc[good]
            pending = pending[~good]
            t[pending] /= 2.0
        still = ~moved
        if still.any():  # no step: stay where they are
            eta_c[still] = self.linear_predictor(xb[still], a[still], u[still])
            mu_c[still] = self.fam.linkinv(eta_c[still])
        return moved, u_c, eta_c, mu_c, p_c

    def laplace(
        self, theta, beta, y: BatchResponse, u0, tol: float = 1e-14
    ) -> tuple[np.ndarray, np.ndarray, BatchModes]:
        """The criterion (less its constant) and its gradient over ``(theta, beta)`` for each
        problem (:mod:`mixedmodels.glmm.laplace_gradient` with a block-diagonal ``A``); ``inf`` where
        PIRLS does not converge."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # far off: inf
            return self._laplace(theta, beta, y, u0, tol)

    def _laplace(
        self, theta, beta, y: BatchResponse, u0, tol: float
    ) -> tuple[np.ndarray, np.ndarray, BatchModes]:
        md = self.modes(theta, beta, y, u0, tol=tol)
        _, logdet = self.solve(md.M, np.zeros(md.M.shape[:3]))
        f = np.where(md.ok, md.pdev + logdet, np.inf)
        W, dW, d1, half_d2 = self.fam.unit_derivatives(y.y, self.model.weights, md.eta, md.mu)
        Minv = np.linalg.inv(md.M)  # (B, n1, k, k)
        v = np.einsum("bnij,bnj->bni", Minv[:, self.refs], md.a)  # A^{-1} a_i at the row's level
        h = np.einsum("bni,bni->bn", md.a, v)
        g_u = self.level_sums(md.a * (dW * h)[:, :, None])
        ok = md.ok.copy()
        if self.fam.canonical:
            s = np.einsum("blij,blj->bli", Minv, g_u)
        else:
            H2 = self.blocks(half_d2, md.a)
            ok &= self._positive(H2)
            H2[~ok] = np.eye(self.k)
            s, _ = self.solve(H2, g_u)
        s_rows = s[:, self.refs]
        r = d1 + dW * h - half_d2 * np.einsum("bni,bni->bn", md.a, s_rows)
        Q = r[:, :, None] * md.u[:, self.refs] + (2.0 * W)[:, :, None] * v - (0.5 * d1)[:, :, None] * s_rows
        G = np.einsum("nj,bnc->bjc", self.z, Q)
        grad_theta = self._theta_gradient(np.asarray(theta, dtype=float), G, ok)
        grad = np.concatenate([grad_theta, r @ self.model.X], axis=1)
        f[~ok] = np.inf
        grad[~ok] = 0.0
        return f, grad, md

    def _theta_gradient(self, theta: np.ndarray, G: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """The structure's gradient over ``theta`` from ``dL/dT`` (``G``) for each problem; a
        problem where it fails (a correlation matrix singular in rounding: ``rho = 1`` far out
        on an unbounded parameter) is no longer ``ok`` (in place)."""
        try:
            return self.structure.stacked_theta_gradient(theta, G)
        except np.linalg.LinAlgError:
            out = np.zeros(theta.shape)
            for b in range(len(theta)):
                try:
                    out[b] = self.structure.stacked_theta_gradient(theta[b : b + 1], G[b : b + 1])[0]
                except np.linalg.LinAlgError:
                    ok[b] = False
            return out


@dataclass(frozen=True)
class BatchModes:
    """Modes of a batch: row effects ``a``, ``u``, ``eta``, ``mu``, penalized deviances, the
    blocks ``M`` at the working weights there, and which problems converged."""

    a: np.ndarray
    u: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    pdev: np.ndarray
    M: np.ndarray
    ok: np.ndarray


@dataclass(frozen=True)
class BatchResponse:
    """Responses ``y`` (B, n) of a batch and, per problem, ``c``: the part of the deviance free
    of ``mu`` (the family's :meth:`~mixedmodels.families.Family.batch_deviance_split`), so that
    each evaluation computes only the terms with ``mu``; ``flag`` is the family's note on the
    batch (the binomial's: all responses 0/1)."""

    family: Family
    y: np.ndarray
    weights: np.ndarray
    c: np.ndarray
    flag: bool

    @classmethod
    def make(cls, family: Family, y: np.ndarray, weights: np.ndarray) -> BatchResponse:
        c, flag = family.batch_deviance_split(y, weights)
        return cls(family, y, weights, c, flag)

    def take(self, rows: np.ndarray) -> BatchResponse:
        return BatchResponse(self.family, self.y[rows], self.weights, self.c[rows], self.flag)

    def deviance_terms(self, mu: np.ndarray) -> np.ndarray:
        """The unit deviances less their terms free of ``mu``."""
        return self.family.batch_dev_resids(self.y, mu, self.weights, self.flag)
