"""PIRLS for many problems at once, on a model with a single random-effects term.

With one term of ``k`` columns, ``A = Lambda'Z'W Z Lambda + I`` is block diagonal, one block per
level, ``M_l = I + sum_{i in l} W_i a_i a_i'`` with ``a_i = T' z_i`` (:mod:`mixedmodels.pirls`):
a PIRLS step is a sum per level and a ``k x k`` solve per level. Problems ``b = 1..B`` share the
model's ``X``, ``Z``, prior weights, offset and family and differ in ``theta_b``, ``beta_b`` and,
for a bootstrap, the response ``y_b``; all their arrays are ``(B, n)`` and their sums one
``np.bincount`` over ``(problem, level)``. Each problem stops by itself; the others go on.

The criterion here omits the AIC's constant (:attr:`~mixedmodels.pirls.GlmmModel.aic_constant`,
one number per response): ``pdev(u) + log det A``, what optimization and differences need.
"""

from __future__ import annotations

import numpy as np

from .pirls import GlmmModel

__all__ = ["SingleTermBatch"]


class SingleTermBatch:
    """PIRLS over many ``(theta, beta[, y])`` of one model with a single random-effects term."""

    def __init__(self, model: GlmmModel):
        if len(model.reterms) != 1:
            raise ValueError("a batched PIRLS needs a model with a single random-effects term")
        term = model.reterms[0]
        self.model = model
        self.fam = model.fam
        self.k, self.n1, self.refs, self.z = term.k, term.nlevels, term.refs, term.z
        self.rows_t, self.cols_t = model.layout._template_index[0]

    # ------------------------------------------------------------------ pieces
    def row_effects(self, theta: np.ndarray) -> np.ndarray:
        """``a_i = T_b' z_i`` for each problem: (B, n, k)."""
        B, k = len(theta), self.k
        T = np.zeros((B, k, k))
        T[:, self.rows_t, self.cols_t] = theta
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

    def deviance(self, y: np.ndarray, mu: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The penalized deviance per problem."""
        dev = self.model.dev_resids(mu) if y is None else self.fam.dev_resids(y, mu, self.model.weights)
        return np.sum(dev, axis=1) + np.sum(u * u, axis=(1, 2))

    def working(self, y, eta: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working weights ``W`` and the working residual ``(y - mu) / mu_eta``."""
        d = self.fam.mu_eta(eta)
        resp = self.model.y if y is None else y
        return self.model.weights * d * d / self.fam.variance(mu), (resp - mu) / d

    # ------------------------------------------------------------------ lme4's evaluation
    def lme4_laplace(
        self, theta: np.ndarray, beta: np.ndarray, eta0: np.ndarray, tol: float = 1e-7, maxit: int = 30
    ) -> np.ndarray:
        """:func:`~mixedmodels.pirls.lme4_laplace` for each row of ``theta`` and ``beta`` (the
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
            W, wres = self.working(None, eta[act], mu[act])
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
