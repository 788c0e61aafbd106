"""An independent check of profile intervals: zeta at a value, by other means than profile/lmm.py.

The ML deviance is computed from the marginal model, densely,

    dev = n log(2 pi sigma^2) + log|M| + Q / sigma^2,    M = I + Lambda' Z' Z Lambda,
    Q = min_beta (y - X beta)' (I - Z Lambda M^-1 Lambda' Z') (y - X beta)

(Woodbury's identity for ``(I + Z Lambda Lambda' Z')^-1``), not from the blocked factor. A held
standard deviation or correlation is imposed on the rows of the template ``T`` (a row rescaled,
or one row rotated against another), not through profile/varpar.py's coordinates; the others are
optimized by scipy's L-BFGS-B from several starts, not by BOBYQA.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.linalg import block_diag


class MarginalDeviance:
    """Dense ML deviance of an lmer fit's data at (templates, sigma, held fixed effects)."""

    def __init__(self, fit):
        d = fit.design
        self.X, self.y, self.n = d.X, d.y, len(d.y)
        self.ks = [t.k for t in d.reterms]
        blocks = []
        for t in d.reterms:
            Zt = np.zeros((self.n, t.nlevels * t.k))
            for c in range(t.k):
                Zt[np.arange(self.n), t.refs * t.k + c] = t.z[:, c]
            blocks.append(Zt)
        Z = np.hstack(blocks)
        self.ZtZ, self.ZtX, self.Zty = Z.T @ Z, Z.T @ self.X, Z.T @ self.y
        self.XtX, self.Xty, self.yty = self.X.T @ self.X, self.X.T @ self.y, self.y @ self.y
        self.nlevels = [t.nlevels for t in d.reterms]

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

    def deviance(self, Ts: list[np.ndarray], sigma: float, held: dict[int, float] | None = None) -> float:
        """ML deviance with beta profiled out, but for the fixed effects in ``held`` {column: value}."""
        held = held or {}
        Lam = block_diag(*(np.kron(np.eye(nl), T) for T, nl in zip(Ts, self.nlevels)))
        free = [j for j in range(self.X.shape[1]) if j not in held]
        shift = np.zeros(self.X.shape[1])
        shift[list(held)] = list(held.values())
        # the cross-products of B = [X_free, y - X shift], with Z and with themselves
        ZtB = np.column_stack([self.ZtX[:, free], self.Zty - self.ZtX @ shift])
        BtB = np.empty((len(free) + 1, len(free) + 1))
        BtB[:-1, :-1] = self.XtX[np.ix_(free, free)]
        BtB[:-1, -1] = BtB[-1, :-1] = self.Xty[free] - self.XtX[free] @ shift
        BtB[-1, -1] = self.yty - 2 * shift @ self.Xty + shift @ self.XtX @ shift
        LZtB = Lam.T @ ZtB
        M = np.eye(len(Lam)) + Lam.T @ self.ZtZ @ Lam
        chol = np.linalg.cholesky(M)
        G = BtB - LZtB.T @ np.linalg.solve(M, LZtB)  # B' (I + Z Lam Lam' Z')^-1 B
        p = len(free)
        Q = G[p, p] - (G[p, :p] @ np.linalg.solve(G[:p, :p], G[:p, p]) if p else 0.0)
        return self.n * np.log(2 * np.pi * sigma**2) + 2 * np.sum(np.log(np.diag(chol))) + Q / sigma**2


def _theta_len(ks) -> int:
    return sum(k * (k + 1) // 2 for k in ks)


def _impose(Ts, kind, target, value, sigma):
    """Templates with the held standard deviation or correlation imposed on their rows."""
    Ts = [T.copy() for T in Ts]
    if kind == "sd":
        t, i = target
        row = Ts[t][i, : i + 1]
        norm = np.linalg.norm(row)
        Ts[t][i, : i + 1] = (value / sigma) * (row / norm if norm > 0 else np.eye(i + 1)[i])
    elif kind == "cor":
        t, i, j = target  # i < j
        T = Ts[t]
        if np.linalg.norm(T[i]) == 0 or np.linalg.norm(T[j]) == 0:
            return Ts  # a standard deviation of 0: the correlation has no effect
        ui = T[i] / np.linalg.norm(T[i])
        rj = T[j]
        orth = rj - (rj @ ui) * ui
        w = orth / np.linalg.norm(orth) if np.linalg.norm(orth) > 0 else np.eye(len(T))[j]
        T[j] = np.linalg.norm(rj) * (value * ui + np.sqrt(max(1 - value**2, 0.0)) * w)
    return Ts


def _locate(fit, index: int | None):
    """('sd', (term, col)), ('cor', (term, i, j)), ('sigma', None), ('beta', column) or ('none', None)."""
    if index is None:
        return "none", None
    ks = [t.k for t in fit.design.reterms]
    nth = _theta_len(ks)
    if index == nth:
        return "sigma", None
    if index > nth:
        return "beta", index - nth - 1
    at = 0
    for t, k in enumerate(ks):
        for c in range(k):
            for r in range(c, k):
                if at == index:
                    return ("sd", (t, c)) if r == c else ("cor", (t, c, r))
                at += 1
    raise IndexError(index)


def constrained_deviance(
    ml, index: int | None, value: float = np.nan, starts: int = 1, seed: int = 0
) -> float:
    """The smallest ML deviance with parameter ``index`` (profile order) held at ``value`` (None: none held).

    ``ml`` is the ML fit of the same model. The starts are its estimates, the estimates with
    each standard deviation set to 0 in turn, and ``starts - 1`` random perturbations.
    """
    dev = MarginalDeviance(ml)
    kind, target = _locate(ml, index)
    ks = dev.ks
    nth = _theta_len(ks)
    theta0, sigma0 = np.asarray(ml.theta, dtype=float), float(ml.sigma)
    rng = np.random.default_rng(seed)

    def unpack(z):
        theta, log_sigma = z[:nth], z[nth] if kind != "sigma" else np.log(value)
        sigma = float(np.exp(min(log_sigma, 700.0)))
        Ts = _impose(dev.templates(theta), kind, target, value, sigma)
        return Ts, sigma

    def fn(z):
        held = {target: value} if kind == "beta" else None
        try:
            with np.errstate(all="ignore"):
                Ts, sigma = unpack(z)
                out = dev.deviance(Ts, sigma, held)
        except (np.linalg.LinAlgError, OverflowError, ZeroDivisionError):
            return 1e300
        return out if np.isfinite(out) else 1e300

    x0 = np.append(theta0 + 0.05 * (theta0 == 0), np.log(sigma0))
    lower = np.append(
        [0.0 if r == c else -np.inf for k in ks for c in range(k) for r in range(c, k)], -np.inf
    )
    bounds = list(zip(np.where(np.isfinite(lower), lower, None), [None] * len(lower)))
    diagonal = np.flatnonzero(np.isfinite(lower[:-1]))
    zeroed = [np.where(np.arange(len(x0)) == j, 0.0, x0) for j in diagonal]  # a singular start each
    perturbed = [x0 + rng.normal(0, 0.3, len(x0)) * np.maximum(np.abs(x0), 0.2) for _ in range(starts - 1)]
    results = []
    for z0 in [x0, *zeroed, *perturbed]:
        z0 = np.maximum(z0, np.where(np.isfinite(lower), lower, -np.inf))
        results.append(
            optimize.minimize(fn, z0, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-12, "gtol": 1e-8})
        )
    best = min(results, key=lambda r: r.fun)
    res = optimize.minimize(fn, best.x, method="Powell", bounds=bounds, options={"xtol": 1e-8, "ftol": 1e-12})
    return min(res.fun, best.fun)
