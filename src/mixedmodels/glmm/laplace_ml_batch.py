"""glmmTMB's Laplace criterion (:mod:`mixedmodels.glmm.laplace_ml`) and its gradient for many
problems at once, on a model with a single random-effects term: a bootstrap's replicates.

Problems ``b = 1..B`` share the model's ``X``, ``Z``, prior weights, offset and family and differ
in ``x_b = (theta_b, beta_b[, log phi_b])`` and the response ``y_b``; the family is taken at all
the ``phi_b`` at once, an array of shape (B, 1) against the (B, n) arrays
(:meth:`~mixedmodels.families.Family.with_parameter`). With one term ``A`` is block diagonal
(:mod:`mixedmodels.glmm.pirls_batch`, whose pieces are used here), so that each problem's

    f_b = -2 sum_i log p(y_bi | mu_bi, phi_b) + |u_b|^2 + log det(sum_i D_bi a_bi a_bi' + I)

(``D`` the observed information, :meth:`~mixedmodels.families.Family.laplace_weights`) is a sum
per level. The conditional modes are found by Newton steps with the observed information
(floored where it is not positive, as :meth:`~mixedmodels.families.Family.working` does), halved
where the penalized deviance would rise; the gradient is that of
:mod:`mixedmodels.glmm.laplace_gradient` with ``W = D`` (Newton's ``H = A``), the derivative in
``log phi`` included. The terms of ``-2 log p`` free of ``mu`` (the model's ``aic_constant``)
are computed per problem, once per response for a family without a parameter to estimate.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..families import Family
from .pirls import GlmmModel
from .pirls_batch import SingleTermBatch

__all__ = ["MlBatch"]


def _per_problem(values: np.ndarray) -> float:
    """A family's parameter for problems ``values`` (B,): the array (B, 1) that its methods
    broadcast as one value per row (typed as the one value it stands for)."""
    return cast(float, np.asarray(values, dtype=float)[:, None])


class MlBatch:
    """The criterion and its gradient over ``x = (theta, beta[, log phi])`` for many responses
    of one single-term model fitted by maximum likelihood (see the module)."""

    def __init__(self, model: GlmmModel):
        self.base = SingleTermBatch(model)
        self.model = model
        self.fam = model.fam
        self.nt, self.p = model.layout.ntheta, model.p
        self.estimates = model.fam.estimates_parameter

    @staticmethod
    def suitable(model: GlmmModel, mu: np.ndarray) -> bool:
        """Whether the model can be batched: a single term, no zero-inflation or dispersion model
        (its gradient runs over their coefficients too), and a family whose methods take a
        parameter array (B, 1) against (B, n) arrays as they take one value per row (tried
        here at the means ``mu`` and the model's response, first rows; a family without a
        parameter to estimate passes)."""
        if len(model.reterms) != 1 or model.aux is not None:
            return False
        fam = model.fam
        if not fam.estimates_parameter:
            return True
        if fam.parameter is None:
            return False
        rows = slice(0, min(model.n, 16))
        y, mu, w = model.y[rows], np.asarray(mu, dtype=float)[rows], model.weights[rows]
        values = float(fam.parameter) * np.array([1.0, 1.5])
        Y, M = np.tile(y, (2, 1)), np.tile(mu, (2, 1))
        eta = fam.linkfun(M)
        try:
            with np.errstate(all="ignore"):
                many = fam.with_parameter(_per_problem(values))
                batched = [many.dev_resids(Y, M, w), *many.observed_derivatives(Y, w, eta, M)]
                batched += [*many.working(Y, eta, M), *many.parameter_derivatives(Y, M, w)]
                for b, v in enumerate(values):
                    one = fam.with_parameter(float(v))
                    single = [one.dev_resids(y, mu, w), *one.observed_derivatives(y, w, eta[b], mu)]
                    single += [*one.working(y, eta[b], mu), *one.parameter_derivatives(y, mu, w)]
                    for got, want in zip(batched, single):
                        if not np.allclose(np.asarray(got)[b], want, rtol=1e-12, atol=0.0, equal_nan=True):
                            return False
        except (TypeError, ValueError, IndexError):
            return False
        return True

    # ------------------------------------------------------------------ pieces
    def family_at(self, log_phi: np.ndarray | None) -> Family:
        """The family at each problem's ``phi`` (B, 1); itself without a parameter to estimate."""
        if log_phi is None or not self.estimates:
            return self.fam
        return self.fam.with_parameter(_per_problem(np.exp(np.asarray(log_phi, dtype=float))))

    def constants(self, Y: np.ndarray, log_phi: np.ndarray | None) -> np.ndarray:
        """Each problem's ``aic - sum(dev_resids)`` (free of ``mu``) at its ``phi``."""
        model = self.model
        if log_phi is None or not self.estimates:
            return np.array([model.with_response(y).aic_constant for y in Y])
        mu = np.full(model.n, self.fam.reference_mu)  # as GlmmModel.aic_constant reads it
        out = np.empty(len(Y))
        for b in range(len(Y)):
            fam = self.fam.with_parameter(float(np.exp(log_phi[b])))
            dev = fam.dev_resids(Y[b], mu, model.weights)
            out[b] = fam.aic(Y[b], model.trials, mu, model.weights, 0.0) - float(np.sum(dev))
        return out

    def _pdev(self, fam: Family, Y: np.ndarray, mu: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.sum(fam.dev_resids(Y, mu, self.model.weights), axis=1) + np.sum(u * u, axis=(1, 2))

    # ------------------------------------------------------------------ modes
    def modes(self, fam: Family, Y, a, xb, u0, tol: float = 1e-14, maxit: int = 60):
        """The conditional modes of each problem from ``u0`` (B, n1, k): ``u``, ``eta``, ``mu``,
        the penalized deviance and which problems converged."""
        base, w = self.base, self.model.weights
        u = np.array(u0, dtype=float)
        eta = base.linear_predictor(xb, a, u)
        mu = fam.linkinv(eta)
        pdev = self._pdev(fam, Y, mu, u)
        ok = np.isfinite(pdev)
        act = np.flatnonzero(ok)
        for _ in range(maxit):
            if not act.size:
                break
            fa = self._take(fam, act)
            z, W = fa.working(Y[act], eta[act], mu[act])  # -d'/(2 D) and D (floored), per weight
            grad = base.level_sums(a[act] * (-w * W * z)[:, :, None]) + u[act]  # sum_i a_i d'_i / 2 + u
            step, _ = base.solve(base.blocks(w * W, a[act]), grad)
            moved, u_c, eta_c, mu_c, p_c = self._halve(fa, Y[act], a[act], xb[act], u[act], step, pdev[act])
            change = pdev[act] - p_c
            u[act], eta[act], mu[act], pdev[act] = u_c, eta_c, mu_c, p_c
            done = ~moved | (change < tol * (1.0 + np.abs(p_c)))
            ok[act[~moved]] = False
            act = act[~done]
        ok[act] = False
        return u, eta, mu, pdev, ok

    def _take(self, fam: Family, rows: np.ndarray) -> Family:
        """The family of problems ``rows`` (its parameter's rows)."""
        value = fam.parameter if self.estimates else None
        if value is None or np.ndim(value) == 0:
            return fam
        return fam.with_parameter(cast(float, np.asarray(value)[rows]))

    def _halve(self, fam, Y, a, xb, u, step, pdev, max_halvings: int = 30):
        """From ``u`` along ``-step``, halved until the penalized deviance does not rise."""
        base = self.base
        t = np.ones(len(u))
        moved = np.zeros(len(u), dtype=bool)
        u_c, eta_c, mu_c, p_c = u.copy(), np.empty_like(xb), np.empty_like(xb), pdev.copy()
        pending = np.arange(len(u))
        for _ in range(max_halvings):
            if not pending.size:
                break
            fp = self._take(fam, pending)
            uc = u[pending] - t[pending, None, None] * step[pending]
            ec = base.linear_predictor(xb[pending], a[pending], uc)
            mc = fp.linkinv(ec)
            with np.errstate(all="ignore"):
                pc = self._pdev(fp, Y[pending], mc, uc)
            good = np.isfinite(pc) & (pc <= pdev[pending] + 1e-12 * (1.0 + np.abs(pdev[pending])))
            g = pending[good]
            moved[g], u_c[g], eta_c[g], mu_c[g], p_c[g] = True, uc[good], ec[good], mc[good], pc[good]
            pending = pending[~good]
            t[pending] /= 2.0
        still = ~moved
        if still.any():
            eta_c[still] = base.linear_predictor(xb[still], a[still], u[still])
            mu_c[still] = self._take(fam, np.flatnonzero(still)).linkinv(eta_c[still])
        return moved, u_c, eta_c, mu_c, p_c

    # ------------------------------------------------------------------ criterion and gradient
    def laplace(self, X: np.ndarray, Y: np.ndarray, u0: np.ndarray, const: np.ndarray | None = None):
        """``f`` (B,), its gradient (B, d) and the modes (B, n1, k) at points ``X`` (B, d) for
        responses ``Y`` (B, n); ``inf`` and a zero gradient where PIRLS fails. ``const``: the
        problems' constants where the family has no parameter to estimate (computed here
        otherwise)."""
        nt, p = self.nt, self.p
        base, model, w = self.base, self.model, self.model.weights
        theta, beta = X[:, :nt], X[:, nt : nt + p]
        log_phi = X[:, nt + p] if self.estimates else None
        fam = self.family_at(log_phi)
        a = base.row_effects(theta)
        xb = model.offset + beta @ model.X.T
        with np.errstate(all="ignore"):
            u, eta, mu, pdev, ok = self.modes(fam, Y, a, xb, u0)
            d1, D, dD = fam.observed_derivatives(Y, w, eta, mu)
            M = base.blocks(D, a)
            positive = base._positive(M)
            ok &= positive
            M[~positive] = base.blocks(np.ones_like(D[~positive]), a[~positive])  # any invertible
            _, logdet = base.solve(M, np.zeros(M.shape[:3]))
            c = self.constants(Y, log_phi) if const is None else const
            f = np.where(ok, pdev + c + logdet, np.inf)
            grad = self._gradient(fam, Y, theta, a, u, eta, mu, M, d1, D, dD)
        bad = ~(ok & np.isfinite(f) & np.all(np.isfinite(grad), axis=1))
        f[bad], grad[bad] = np.inf, 0.0
        return f, grad, u

    def _gradient(self, fam, Y, theta, a, u, eta, mu, M, d1, D, dD) -> np.ndarray:
        """:func:`~mixedmodels.glmm.laplace_gradient.laplace_gradient` per problem (``W = D``,
        ``H = A``), with ``d f / d log phi`` where the family estimates its parameter."""
        base, model = self.base, self.model
        Minv = np.linalg.inv(M)  # (B, n1, k, k)
        v = np.einsum("bnij,bnj->bni", Minv[:, base.refs], a)  # A^{-1} a_i at the row's level
        h = np.einsum("bni,bni->bn", a, v)
        g_u = base.level_sums(a * (dD * h)[:, :, None])
        s = np.einsum("blij,blj->bli", Minv, g_u)
        s_rows = s[:, base.refs]
        eta_s = np.einsum("bni,bni->bn", a, s_rows)
        r = d1 + dD * h - D * eta_s
        Q = r[:, :, None] * u[:, base.refs] + (2.0 * D)[:, :, None] * v - (0.5 * d1)[:, :, None] * s_rows
        G = np.einsum("nj,bnc->bjc", base.z, Q)
        parts = [base.structure.stacked_theta_gradient(np.asarray(theta, dtype=float), G), r @ model.X]
        if self.estimates:
            n_p, d1_p, D_p = fam.parameter_eta_derivatives(Y, model.weights, eta, mu)
            parts.append(
                (np.sum(n_p, axis=1) + np.sum(h * D_p, axis=1) - 0.5 * np.sum(eta_s * d1_p, axis=1))[:, None]
            )
        return np.concatenate(parts, axis=1)
