"""Kenward and Roger's adjusted covariance from n x n matrices, as the formulas write it: the
independent check of the library's random-effects-space algebra (tests only)."""

from __future__ import annotations

import numpy as np

from mixedmodels.numerics.pls import term_matrix


def dense_kenward_roger(fit) -> np.ndarray:
    """Kenward and Roger's adjusted covariance from n x n matrices on the data's own scale:
    V = Z Sigma Z' + sigma^2 W^-1 with W the prior weights (the library works on sqrt(w) rows)."""
    design, s2 = fit.design, fit.sigma**2
    Z = np.hstack([term_matrix(t).toarray() for t in design.reterms])
    X, G, start = design.X, [], 0
    for term in design.reterms:
        for b in range(term.k):
            for a in range(b, term.k):
                S = np.zeros((term.k, term.k))
                S[a, b] = S[b, a] = 1.0
                E = np.zeros((Z.shape[1],) * 2)
                E[start : start + term.q, start : start + term.q] = np.kron(np.eye(term.nlevels), S)
                G.append(Z @ E @ Z.T)
        start += term.q
    G.append(np.diag(1 / fit.weights))
    Lam = fit.pls.lambda_matrix(fit.theta).toarray()
    Vinv = np.linalg.inv(s2 * (Z @ Lam @ Lam.T @ Z.T) + s2 * G[-1])
    Phi = np.linalg.inv(X.T @ Vinv @ X)
    Proj = Vinv - Vinv @ X @ Phi @ X.T @ Vinv
    P = [-X.T @ Vinv @ Gi @ Vinv @ X for Gi in G]
    info = np.array([[np.trace(Proj @ Gi @ Proj @ Gj) for Gj in G] for Gi in G])
    W = 2 * np.linalg.inv(info)
    U = sum(
        W[i, j] * (X.T @ Vinv @ G[i] @ Vinv @ G[j] @ Vinv @ X - P[i] @ Phi @ P[j])
        for i in range(len(G))
        for j in range(len(G))
    )
    return Phi + 2 * Phi @ U @ Phi
