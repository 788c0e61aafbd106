"""The gradient of the Laplace criterion over ``(theta, beta)``, in closed form.

With ``a_i`` row ``i`` of ``Z Lambda(theta)``, ``eta_i = o_i + x_i'beta + a_i'u``, unit deviances
``d_i(eta_i)`` and the conditional mode ``u*(theta, beta)`` of ``pdev(u) = sum_i d_i + |u|^2``
(:mod:`mixedmodels.glmm.pirls`), the criterion is, up to a constant of the data,

    f(theta, beta) = pdev(u*) + log det A,    A = sum_i W_i a_i a_i' + I,

``W_i = w_i mu'(eta_i)^2 / V(mu_i)`` the working weights at the mode. At the mode
``grad_u pdev = 0``, so ``pdev`` contributes only its partial derivatives; ``log det A`` depends
on the parameters directly (through ``a_i``) and through ``eta`` (through ``W``), ``eta`` through
``u*``, whose derivative is ``du* = -H^{-1} [sum_i (d_i''/2) a_i d eta_i + sum_i (d_i'/2) d a_i]``
with ``H = sum_i (d_i''/2) a_i a_i' + I`` (``H = A`` for a canonical link). One solve
``s = H^{-1} Lambda'Z'(W' h)`` (the adjoint of ``u*``) gives every parameter's term at once:

    df = sum_i r_i d eta_i|_u + sum_i (d a_i)' [2 W_i A^{-1} a_i - (d_i'/2) s],
    r_i = d_i' + W_i' h_i - (d_i''/2) (Z Lambda s)_i,    h_i = a_i' A^{-1} a_i,

so that ``df / d beta = X'r`` and, for ``theta``'s entry ``(r, c)`` of term ``t``'s template
(``d a_i = z_ir e_(l_i, c)``, ``d eta_i|_u = z_ir u_(l_i, c)``),

    df / d theta_(r,c) = sum_i z_ir [r_i u_(l_i, c) + 2 W_i (A^{-1} a_i)_(l_i, c) - (d_i'/2) s_(l_i, c)].

Here ``d_i' = -2 w_i (y_i - mu_i) mu' / V``, ``d_i''/2 = W_i - w_i (y_i - mu_i)(mu'' V - mu'^2 V') / V^2``
and ``W_i' = w_i (2 mu' mu'' / V - mu'^3 V' / V^2)`` (derivatives in ``eta``; the family's
:meth:`~mixedmodels.families.Family.unit_derivatives`). The entries of
``A^{-1} a_i`` at row ``i``'s own positions need only the blocks of ``A^{-1}`` among them
(:meth:`~mixedmodels.glmm.pirls.WeightedFactor.row_inverse`).
"""

from __future__ import annotations

import numpy as np

from .pirls import GlmmModel, PirlsState, WeightedFactor

__all__ = ["laplace_gradient"]


def laplace_gradient(model: GlmmModel, state: PirlsState) -> np.ndarray:
    """``d f / d (theta, beta)`` of :func:`~mixedmodels.glmm.pirls.laplace_deviance` at a mode
    (see the module). ``state`` must be the converged mode at its ``(theta, beta)``.

    For a joint mode (``beta`` found by PIRLS with ``u``, lme4's nAGQ = 0) the derivative over
    ``theta`` alone of the criterion at the joint mode: ``beta`` joins ``u`` in the adjoint
    solve (unpenalized), the rest is the same.
    """
    fac = state.factor
    ts = fac.ts
    joint = fac.joint
    W, dW, d1, half_d2 = model.fam.unit_derivatives(model.y, model.weights, state.eta, state.mu)
    v1, vr = fac.row_inverse()
    h = np.einsum("ij,ij->i", ts.a1, v1) + np.einsum("ij,ij->i", ts.ar, vr)
    g1, gr = fac.rhs(dW * h)
    H = fac if model.fam.newton else WeightedFactor(ts, half_d2, joint)
    s1, sr = H.solve(g1, gr)
    s = np.concatenate([s1, sr[: ts.qr]])
    eta_s = ts.zl_times(s)
    if joint:
        eta_s += model.X @ sr[ts.qr :]
    r = d1 + dW * h - half_d2 * eta_s
    grad_theta = _theta_gradient(
        model, np.asarray(state.theta, dtype=float), state.u, s, r, 2.0 * W, -0.5 * d1, v1, vr
    )
    if joint:
        return grad_theta
    return np.concatenate([grad_theta, model.X.T @ r, _auxiliary_gradient(model, state, h, eta_s)])


def _auxiliary_gradient(model: GlmmModel, state: PirlsState, h: np.ndarray, eta_s: np.ndarray) -> np.ndarray:
    """``df / d x_a`` for the parameters after ``(theta, beta)`` (observed information): per
    auxiliary linear predictor ``a`` (the family's parameter's ``log phi``, one per observation
    with a dispersion model; a zero-inflation model's ``zeta``) with matrix ``X_a``,

        df / d beta_a = X_a' t_a,    t_a,i = dn_i + h_i dD_i - (Z Lambda s)_i dd'_i / 2,

    ``d`` the derivative in the predictor at fixed ``eta`` of ``n_i = -2 w_i log p(y_i)``, of its
    derivative ``d'_i`` in ``eta`` and of ``D_i = d''_i/2`` (``u*`` moves with the predictor through
    ``d'``: the adjoint ``s`` of the module takes it;
    :meth:`~mixedmodels.families.Family.auxiliary_eta_derivatives`); ``X_a`` a column of ones for
    the one ``log phi`` of a family without a dispersion model. Only for the observed
    information: with the expected one the log determinant's weights depend on ``phi`` in
    another way, which no family gives (glmer fits that case by lme4's alternation)."""
    fam = model.fam
    if not fam.estimates_parameter and model.aux is None:
        return np.zeros(0)
    if not fam.observed_information:
        raise NotImplementedError(
            f"the Laplace gradient in the {fam.name} family's {fam.parameter_name} is "
            "only available with the observed information (with_information('observed'))"
        )
    derivatives = fam.auxiliary_eta_derivatives(model.y, model.weights, state.eta, state.mu)
    designs = model.aux.designs(fam) if model.aux is not None else [None]
    out = []
    for (n_a, d1_a, D_a), X_a in zip(derivatives, designs):
        if X_a is None:
            out.append([float(np.sum(n_a) + h @ D_a - 0.5 * (eta_s @ d1_a))])
        else:
            out.append(X_a.T @ (n_a + h * D_a - 0.5 * eta_s * d1_a))
    return np.concatenate(out)


def _theta_gradient(model, state_theta, u, s, r, twice_W, minus_half_d1, v1, vr) -> np.ndarray:
    """The ``theta`` part: per term, ``G = z' Q`` with ``Q_ic`` the bracket of the module's
    formula, the gradient over the template's entries (``G[r, c] = df / dT[r, c]``), taken to
    the term's ``theta`` by its structure
    (:meth:`~mixedmodels.covariance.structures.CovStructure.theta_gradient`: for an unstructured
    term ``G`` read at the template's entries in ``theta``'s order)."""
    layout = model.layout
    out = []
    start, rest_col = 0, 0
    for index, term in enumerate(model.reterms):
        k, q = term.k, term.q
        u_t = u[start : start + q].reshape(-1, k)[term.refs]
        s_t = s[start : start + q].reshape(-1, k)[term.refs]
        if index == 0:
            v_t = v1
        else:
            v_t = vr[:, rest_col : rest_col + k]
            rest_col += k
        Q = r[:, None] * u_t + twice_W[:, None] * v_t + minus_half_d1[:, None] * s_t
        G = term.z.T @ Q
        lo = layout.offsets[index]
        structure = layout.structures[index]
        out.append(structure.theta_gradient(state_theta[lo : lo + structure.ntheta], G))
        start += q
    return np.concatenate(out) if out else np.zeros(0)
