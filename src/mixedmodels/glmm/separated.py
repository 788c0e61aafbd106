"""A glmer fit with separated fixed effects (:mod:`mixedmodels.numerics.separation`) held at a stated point.

The model is fitted with ``X N`` for ``X`` and ``offset + X (T d)`` for the offset (``N`` a basis
of the complement of the separated directions, ``T d`` the stated point along them): the
variance parameters and the other fixed effects are estimated as usual, by the same engine
(:func:`mixedmodels.glmm.engine.fit_glmm`), and the optimum is written back in the full model's
coefficients ``beta = N gamma + T d``, with ``vcov = N V_gamma N'`` and no variance (NaN) for
the separated coefficients.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..numerics.separation import Separation, bounded_offset, describe, detect_separation, separated_start
from .engine import GlmmOptimum, fit_glmm
from .pirls import GlmmModel
from .restarts import glmm_check, named_check

__all__ = ["fit_separated", "model_separation"]


def model_separation(model: GlmmModel, names) -> Separation | None:
    """The separation of a GLMM's fixed-effects design with its response, or None."""
    return detect_separation(model.X, model.y, model.weights, model.fam, names=names)


def fit_separated(
    model: GlmmModel, nagq: int, sep: Separation, mustart: np.ndarray | None = None
) -> tuple[GlmmOptimum, str]:
    """The optimum with the separated directions held at the stated point, and the warning.

    The fit starts from the means of
    :func:`~mixedmodels.numerics.separation.separated_start`, as the GLM's does."""
    N, shift, bound_beta = bounded_offset(model.X, sep)
    message = describe(sep, model.X, model.y, model.weights, model.fam, bound_beta)
    reduced = replace(model, X=model.X @ N, offset=model.offset + shift)
    if "_Z" in model.__dict__:  # Z is shared (the system's pattern depends on X: not)
        reduced.__dict__["_Z"] = model.__dict__["_Z"]
    eta0 = separated_start(model.fam, model.y, model.weights, mustart, shift)
    opt = fit_glmm(reduced, nagq, model.fam.linkinv(eta0))
    gamma = np.asarray(opt.state.beta)
    beta = N @ gamma + bound_beta
    nt = model.layout.ntheta
    V = N @ opt.vcov @ N.T
    separated = np.array([name in sep.coefficients for name in sep.names])
    V[separated, :] = np.nan
    V[:, separated] = np.nan
    x = opt.opt.theta if nagq == 0 else np.concatenate([opt.opt.theta[:nt], beta])
    check = named_check(glmm_check(reduced, nagq, opt), reduced, _reduced_names(N, sep.names))
    optimum = GlmmOptimum(
        opt=replace(opt.opt, theta=x, gradient=None, check=check),  # checked on the reduced design
        state=replace(opt.state, beta=beta),
        criterion=opt.criterion,
        vcov=V,
        glm=opt.glm,
        stage1=opt.stage1,
        hessian=None,
    )
    return optimum, message


def _reduced_names(N: np.ndarray, names) -> list[str]:
    """The reduced design's coefficients (columns ``X N``): a kept coefficient's name where a
    column of ``N`` selects it, else ``"(combination k)"``."""
    out = []
    for k, column in enumerate(N.T):
        j = int(np.argmax(np.abs(column)))
        unit = abs(abs(column[j]) - 1.0) < 1e-12 and np.sum(np.abs(column) > 1e-12) == 1
        out.append(names[j] if unit else f"(combination {k + 1})")
    return out
