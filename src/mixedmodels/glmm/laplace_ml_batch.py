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
from ..families.zero_inflated import zero_augmented
from .auxiliary import extra_size, model_at
from .pirls import GlmmModel
from .pirls_batch import SingleTermBatch

__all__ = ["MlBatch"]


def _pieces(fam: Family, y, w, eta, mu, auxiliary: bool) -> list:
    """What the batch asks of a family: the deviances, the observed derivatives, the working
    values, and the parameter's derivatives (the auxiliary predictors' where ``auxiliary``)."""
    out = [fam.dev_resids(y, mu, w), *fam.observed_derivatives(y, w, eta, mu), *fam.working(y, eta, mu)]
    if auxiliary:
        return out + [a for t in fam.auxiliary_eta_derivatives(y, w, eta, mu) for a in t]
    return out + [*fam.parameter_derivatives(y, mu, w)]


def _agree(batched: list, single: list, b: int) -> bool:
    """Whether the batched arrays' row ``b`` equal the one problem's (to 1e-12, NaN where NaN)."""
    return all(
        np.allclose(np.asarray(got)[b], want, rtol=1e-12, atol=0.0, equal_nan=True)
        for got, want in zip(batched, single)
    )


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
        self.aux = model.aux

    @staticmethod
    def suitable(model: GlmmModel, mu: np.ndarray) -> bool:
        """Whether the model can be batched: a single term, and a family whose methods take a
        parameter array (B, 1) (with auxiliary models, (B, n) arrays of the parameter and of
        ``zeta``) against (B, n) arrays as they take one value per row (tried here at the means
        ``mu`` and the model's response, first rows; a family without a parameter to estimate
        passes)."""
        if len(model.reterms) != 1:
            return False
        fam = model.fam
        if model.aux is not None:
            return MlBatch._auxiliary_suitable(model, mu)
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
                batched = _pieces(many, Y, w, eta, M, auxiliary=False)
                for b, v in enumerate(values):
                    single = _pieces(fam.with_parameter(float(v)), y, w, eta[b], mu, auxiliary=False)
                    if not _agree(batched, single, b):
                        return False
        except (TypeError, ValueError, IndexError):
            return False
        return True

    @staticmethod
    def _auxiliary_suitable(model: GlmmModel, mu: np.ndarray) -> bool:
        """:meth:`suitable` for a model with auxiliary models: the family at two points of the
        auxiliary coefficients at once equals it at each (every method the batch asks)."""
        x = MlBatch._auxiliary_point(model)
        points = np.array([x, x + 0.1])
        mu = np.asarray(mu, dtype=float)
        Y, M = np.tile(model.y, (2, 1)), np.tile(mu, (2, 1))
        w = model.weights
        try:
            with np.errstate(all="ignore"):
                many = MlBatch(model).family_at(points)
                eta = many.linkfun(M)
                batched = _pieces(many, Y, w, eta, M, auxiliary=True)
                for b, point in enumerate(points):
                    single = _pieces(model_at(model, point).fam, model.y, w, eta[b], mu, auxiliary=True)
                    if not _agree(batched, single, b):
                        return False
        except (TypeError, ValueError, IndexError):
            return False
        return True

    @staticmethod
    def _auxiliary_point(model: GlmmModel) -> np.ndarray:
        """The auxiliary coefficients of the model's family (its start where it has none)."""
        fam, aux = model.fam, model.aux
        assert aux is not None
        value = fam.conditional.parameter
        log_phi = (
            float(np.log(np.mean(value)))
            if value is not None
            else (0.0 if fam.conditional.estimates_parameter else None)
        )
        zeta = getattr(fam, "zeta", None)
        pi = (
            0.2
            if zeta is None
            else float(np.clip(np.mean(1.0 / (1.0 + np.exp(-np.asarray(zeta)))), 0.01, 0.99))
        )
        x = aux.start(fam, log_phi, pi)
        assert len(x) == extra_size(model)
        return x

    # ------------------------------------------------------------------ pieces
    def family_at(self, extra: np.ndarray | None) -> Family:
        """The family at each problem's parameters after ``(theta, beta)`` (B, k): ``log phi``
        as (B, 1), or with auxiliary models ``phi`` and ``zeta`` as (B, n); itself without
        a parameter to estimate."""
        if self.aux is not None:
            return self._auxiliary_family(np.atleast_2d(np.asarray(extra, dtype=float)))
        if extra is None or not self.estimates:
            return self.fam
        log_phi = np.asarray(extra, dtype=float)
        log_phi = log_phi[:, 0] if log_phi.ndim == 2 else log_phi
        return self.fam.with_parameter(_per_problem(np.exp(log_phi)))

    def _auxiliary_family(self, extra: np.ndarray) -> Family:
        """:meth:`family_at` with auxiliary models (:class:`~mixedmodels.glmm.auxiliary.Auxiliary`)."""
        aux, fam = self.aux, self.fam
        assert aux is not None
        base = fam.conditional
        k = aux.disp_size(fam)
        b_d, b_z = extra[:, :k], extra[:, k:]
        if k:
            log_phi = b_d if aux.disp is None else b_d @ aux.disp.X.T  # (B, 1) or (B, n)
            base = base.with_parameter(cast(float, np.exp(log_phi)))
        if aux.zi is None:
            return base
        return zero_augmented(base, b_z @ aux.zi.X.T, aux.trials)

    def constants(self, Y: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        """Each problem's ``aic - sum(dev_resids)`` (free of ``mu``) at its parameters."""
        model = self.model
        if extra is None or (not self.estimates and self.aux is None):
            return np.array([model.with_response(y).aic_constant for y in Y])
        extra = np.asarray(extra, dtype=float).reshape(len(Y), -1)
        mu = np.full(model.n, self.fam.reference_mu)  # as GlmmModel.aic_constant reads it
        out = np.empty(len(Y))
        for b in range(len(Y)):
            fam = model_at(model, extra[b]).fam
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
            step, _ = base.solve(self._newton_blocks(fa, Y[act], eta[act], mu[act], W, a[act]), grad)
            moved, u_c, eta_c, mu_c, p_c = self._halve(fa, Y[act], a[act], xb[act], u[act], step, pdev[act])
            change = pdev[act] - p_c
            u[act], eta[act], mu[act], pdev[act] = u_c, eta_c, mu_c, p_c
            done = ~moved | (change < tol * (1.0 + np.abs(p_c)))
            ok[act[~moved]] = False
            act = act[~done]
        ok[act] = False
        return u, eta, mu, pdev, ok

    def _newton_blocks(self, fam: Family, Y, eta, mu, W, a) -> np.ndarray:
        """The blocks of Newton's step: with the observed information ``D`` itself where every
        block of a problem is positive definite with it (Newton's method, quadratic to the
        mode), else with ``W`` (``|D|`` where ``D <= 0``: a descent step), as
        :func:`~mixedmodels.glmm.pirls.pirls` ends with its polish."""
        w = self.model.weights
        M = self.base.blocks(w * W, a)
        _, D = fam.observed_information_eta(Y, 1.0, eta, mu)
        replaced = np.any(D != W, axis=1)
        if replaced.any():
            exact = self.base.blocks(w * D[replaced], a[replaced])
            usable = self.base._positive(exact)
            rows = np.flatnonzero(replaced)[usable]
            M[rows] = exact[usable]
        return M

    def _take(self, fam: Family, rows: np.ndarray) -> Family:
        """The family of problems ``rows`` (its parameter's and ``zeta``'s rows)."""
        base = fam.conditional
        value = base.parameter if base.estimates_parameter else None
        if value is not None and np.ndim(value) != 0:
            base = base.with_parameter(cast(float, np.asarray(value)[rows]))
        zeta = getattr(fam, "zeta", None)
        if zeta is None:
            return base
        zeta = np.asarray(zeta)[rows] if np.ndim(zeta) == 2 else zeta
        return zero_augmented(base, zeta, getattr(fam, "trials", None))

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
        extra = X[:, nt + p :] if X.shape[1] > nt + p else None
        fam = self.family_at(extra)
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
            c = self.constants(Y, extra) if const is None else const
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
        derivatives = fam.auxiliary_eta_derivatives(Y, model.weights, eta, mu)
        designs = self.aux.designs(fam) if self.aux is not None else [None] * len(derivatives)
        for (n_a, d1_a, D_a), X_a in zip(derivatives, designs):
            if X_a is None:
                parts.append(
                    (np.sum(n_a, axis=1) + np.sum(h * D_a, axis=1) - 0.5 * np.sum(eta_s * d1_a, axis=1))[
                        :, None
                    ]
                )
            else:
                parts.append((n_a + h * D_a - 0.5 * eta_s * d1_a) @ X_a)
        return np.concatenate(parts, axis=1)
