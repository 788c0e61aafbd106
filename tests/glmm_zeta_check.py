"""An independent check of glmer profile intervals: zeta at a value, by other means than
profile/glmm.py (its coordinates and optimizers) and glmm/pirls.py (its factorization and PIRLS).

The criterion is computed densely from ``Z`` (n x q), for the canonical links (binomial logit,
Poisson log) only:

- Laplace (nagq = 1): the mode ``u`` of ``l(y | u) - |u|^2 / 2`` by Newton's method on the
  dense ``q x q`` system, then ``-2 l(y | u) + |u|^2 + log|I + Lambda'Z'WZ Lambda|``, ``l`` the
  log-likelihood written out here, constants included (so the value is lme4's criterion).
- Quadrature (nagq > 1, one scalar term): ``-2 sum_l log int p(y_l | b) N(b; 0, sd^2) db``, each
  integral by the trapezoidal rule on 401 points over 12 of its own standard deviations either
  side of its mode (not Gauss-Hermite); lme4's criterion differs from it by a constant of the
  data, so only differences are compared.

A held standard deviation or correlation is imposed on the rows of the template ``T`` (as in
:mod:`zeta_check`), a held fixed effect directly; the others are optimized by scipy's L-BFGS-B
from the fit's estimates and from the estimates with each standard deviation at 0, then Powell.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats
from scipy.linalg import block_diag
from zeta_check import _impose

TRAPEZOID_POINTS = 401
TRAPEZOID_HALF_WIDTH = 12.0


class DenseCriterion:
    """The criterion of a glmer fit's data at (templates, beta), computed densely."""

    def __init__(self, fit):
        m = fit.model
        if (fit.family.name, fit.link) not in (("binomial", "logit"), ("poisson", "log")):
            raise ValueError("the dense check covers the canonical binomial and Poisson links only")
        self.poisson = fit.family.name == "poisson"
        self.nagq = fit.nagq
        self.X, self.offset = m.X, m.offset
        self.trials = np.asarray(m.weights, dtype=float)  # binomial: trials (prior weights 1)
        self.y = np.asarray(m.y, dtype=float)
        self.counts = np.rint(self.y * (1.0 if self.poisson else self.trials))
        terms = fit.design.reterms
        self.ks = [t.k for t in terms]
        self.nlevels = [t.nlevels for t in terms]
        blocks = []
        for t in terms:
            Zt = np.zeros((len(self.y), t.nlevels * t.k))
            for c in range(t.k):
                Zt[np.arange(len(self.y)), t.refs * t.k + c] = t.z[:, c]
            blocks.append(Zt)
        self.Z = np.hstack(blocks)
        self.refs = terms[0].refs
        self._u = np.zeros(self.Z.shape[1])

    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for k in self.ks:
            T = np.zeros((k, k))
            for c in range(k):
                for r in range(c, k):
                    T[r, c] = theta[i]
                    i += 1
            out.append(T)
        return out

    def _loglik(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-observation log-likelihood (rows of ``eta``, which may have columns of points), and
        its first and (minus) second derivatives in ``eta``."""
        k = self.counts if eta.ndim == 1 else self.counts[:, None]
        if self.poisson:
            mu = np.exp(eta)
            const = -special.gammaln(k + 1.0)
            return k * eta - mu + const, k - mu, mu
        m = self.trials if eta.ndim == 1 else self.trials[:, None]
        const = special.gammaln(m + 1.0) - special.gammaln(k + 1.0) - special.gammaln(m - k + 1.0)
        mu = special.expit(eta)
        return k * eta - m * np.logaddexp(0.0, eta) + const, k - m * mu, m * mu * (1.0 - mu)

    def mode(self, ZL: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``u``, ``l(y | u)`` and the weights at the mode (Newton's method, step halving)."""
        u = self._u.copy()

        def objective(u):
            return np.sum(self._loglik(fixed + ZL @ u)[0]) - 0.5 * u @ u

        value = objective(u)
        for _ in range(100):
            _, d1, w = self._loglik(fixed + ZL @ u)
            H = ZL.T @ (w[:, None] * ZL) + np.eye(len(u))
            step = np.linalg.solve(H, ZL.T @ d1 - u)
            t = 1.0
            while objective(u + t * step) < value - 1e-12 * abs(value) and t > 1e-8:
                t /= 2
            u = u + t * step
            new = objective(u)
            if abs(new - value) < 1e-13 * (1 + abs(value)) and np.max(np.abs(t * step)) < 1e-10:
                value = new
                break
            value = new
        self._u = u
        ll, _, w = self._loglik(fixed + ZL @ u)
        return u, float(np.sum(ll)), w

    def criterion(self, Ts: list[np.ndarray], beta: np.ndarray) -> float:
        Lam = block_diag(*(np.kron(np.eye(nl), T) for T, nl in zip(Ts, self.nlevels)))
        ZL = self.Z @ Lam
        fixed = self.offset + self.X @ beta
        u, ll, w = self.mode(ZL, fixed)
        if self.nagq > 1:
            return self._quadrature(ZL, fixed, u, w)
        sign, logdet = np.linalg.slogdet(np.eye(len(u)) + ZL.T @ (w[:, None] * ZL))
        return -2.0 * ll + float(u @ u) + logdet

    def _quadrature(self, ZL: np.ndarray, fixed: np.ndarray, u: np.ndarray, w: np.ndarray) -> float:
        """``-2 sum_l log int p(y_l | u_l) phi(u_l) du_l`` (one scalar term), trapezoids."""
        zl = ZL[np.arange(len(fixed)), self.refs]  # the one nonzero of each row
        curvature = np.bincount(self.refs, w * zl**2, minlength=len(u)) + 1.0
        width = TRAPEZOID_HALF_WIDTH / np.sqrt(curvature)
        grid = np.linspace(-1.0, 1.0, TRAPEZOID_POINTS)
        nodes = u[:, None] + width[:, None] * grid[None, :]  # (levels, points)
        eta = fixed[:, None] + zl[:, None] * nodes[self.refs]
        ll = self._loglik(eta)[0]
        per_level = np.zeros_like(nodes)
        np.add.at(per_level, self.refs, ll)
        log_f = per_level + stats.norm.logpdf(nodes)
        top = log_f.max(axis=1, keepdims=True)
        h = width * (grid[1] - grid[0])
        integral = np.log(np.trapezoid(np.exp(log_f - top), dx=1.0, axis=1) * h) + top[:, 0]
        return float(-2.0 * np.sum(integral))


def _locate(fit, index: int | None):
    """('sd', (term, col)), ('cor', (term, i, j)), ('beta', column) or ('none', None)."""
    if index is None:
        return "none", None
    ks = [t.k for t in fit.design.reterms]
    at = 0
    for t, k in enumerate(ks):
        for c in range(k):
            for r in range(c, k):
                if at == index:
                    return ("sd", (t, c)) if r == c else ("cor", (t, c, r))
                at += 1
    return "beta", index - at


def constrained_criterion(
    fit, index: int | None, value: float = np.nan, starts: int = 1, seed: int = 0
) -> float:
    """The smallest criterion with parameter ``index`` (sd/cor in theta order, then the fixed
    effects) held at ``value`` (None: none held)."""
    crit = DenseCriterion(fit)
    kind, target = _locate(fit, index)
    theta0, beta0 = np.asarray(fit.theta, dtype=float), np.asarray(fit.beta, dtype=float)
    nth = len(theta0)
    rng = np.random.default_rng(seed)

    def fn(z):
        theta, beta = z[:nth], z[nth:]
        if kind == "beta":
            beta = np.insert(beta, target, value)
        Ts = crit.templates(theta)
        if kind in ("sd", "cor"):
            Ts = _impose(Ts, kind, target, value, 1.0)
        try:
            with np.errstate(all="ignore"):
                out = crit.criterion(Ts, beta)
        except (np.linalg.LinAlgError, OverflowError):
            return 1e300
        return out if np.isfinite(out) else 1e300

    beta_start = np.delete(beta0, target) if kind == "beta" else beta0
    x0 = np.append(theta0 + 0.05 * (theta0 == 0), beta_start)
    lower = [0.0 if r == c else None for k in crit.ks for c in range(k) for r in range(c, k)]
    bounds = [(lo, None) for lo in lower] + [(None, None)] * len(beta_start)
    diagonal = [j for j, lo in enumerate(lower) if lo is not None]
    zeroed = [np.where(np.arange(len(x0)) == j, 0.0, x0) for j in diagonal]
    perturbed = [x0 + rng.normal(0, 0.2, len(x0)) * np.maximum(np.abs(x0), 0.2) for _ in range(starts - 1)]
    results = []
    for z0 in [x0, *zeroed, *perturbed]:
        z0 = np.array([max(v, lo) if lo is not None else v for v, (lo, _) in zip(z0, bounds)])
        results.append(
            optimize.minimize(fn, z0, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-9})
        )
    best = min(results, key=lambda r: r.fun)
    res = optimize.minimize(fn, best.x, method="Powell", bounds=bounds, options={"xtol": 1e-9, "ftol": 1e-13})
    return float(min(res.fun, best.fun))


def criterion_at_fit(fit) -> float:
    """The dense criterion at the fit's own (theta, beta)."""
    crit = DenseCriterion(fit)
    return crit.criterion(
        crit.templates(np.asarray(fit.theta, dtype=float)), np.asarray(fit.beta, dtype=float)
    )
