"""The convergence check of a glmer optimum and, where it fails, the restarts.

:func:`checked_glmm` checks the optimum (:mod:`mixedmodels.numerics.convergence`) and, only
where the verdict is not ``"optimum"``, minimizes again from the identity templates, the
nAGQ = 0 fit (stage 1), and the optimum with every variance halved and doubled, each with the
optimum's fixed effects, on the parameters scaled by their covariates' scales
(:func:`~mixedmodels.numerics.convergence.column_scales`). A GLMM criterion costs a PIRLS per
evaluation, so the restarts stop at the first that lowers the criterion to a point that passes
the check.
lmer's check and restarts, and the rule shared by both, are :mod:`mixedmodels.numerics.restarts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..numerics.convergence import (
    IMPROVE_TOL,
    ConvergenceCheck,
    Restart,
    bound_mask,
    failed_note,
    make_check,
    parameter_scales,
    theta_scales,
)
from ..numerics.optimize import OptSummary, minimize_theta, polish
from ..numerics.restarts import DOUBLE, HALF, theta_names, with_restarts
from .engine import GlmmOptimum, criterion_function, laplace_function, optimum_at
from .laplace_ml import auxiliary_scales, extra_names, runaway_zero_coefficients, singular_restart
from .pirls import GlmmModel, vcov_joint

__all__ = ["checked_glmm", "checked_laplace_ml", "glmm_check", "named_check"]

SINGULAR_START = "the first stage at the estimated parameters"  # checked_laplace_ml's restart
SINGULAR_VERDICT = "a singular optimum"
SINGULAR_REASON = "a random-effect variance or correlation on its boundary, the gradient pointing out of it"


def glmm_check(model, nagq: int, optimum) -> ConvergenceCheck:
    """The check of a GLMM optimum: the Laplace criterion's closed-form gradient (the quasi-Newton
    steps' own at their last point, where they stopped there; central differences for
    quadrature), and the Hessian behind ``vcov`` (the steps' for nAGQ = 0)."""
    layout = model.layout
    opt = optimum.opt
    x = opt.theta
    names = theta_names(model.reterms, layout)
    scale = theta_scales(layout, model.reterms)
    if nagq >= 1:
        names += _fixef_names(model)
        scale = parameter_scales(model)
    if len(x) > len(names):  # the family's parameter or the auxiliary models', estimated with the rest
        labels = extra_names(model)
        names += labels
        columns = auxiliary_scales(model)[len(scale) :]  # a covariate's coefficient: its column's units
        scale = np.append(scale, columns if len(columns) == len(labels) else np.ones(len(labels)))
    H = opt.hessian if nagq == 0 else optimum.hessian
    hessian = "the quasi-Newton steps' Hessian" if nagq == 0 else "the Hessian behind vcov"
    if optimum.gradient is not None:
        g, source = optimum.gradient, "the gradient known at the optimum (with the Hessian's points)"
    elif opt.gradient is not None and nagq <= 1 and opt.return_value == "CONVERGED":
        g, source = opt.gradient, "the closed-form gradient at the steps' last point"
    else:
        g, source = _glmm_gradient(model, nagq, optimum)
    extra = np.zeros(len(x) - layout.ntheta, dtype=bool)
    extra[[j - layout.ntheta for j in runaway_zero_coefficients(model, x, g)]] = True  # held: at -infinity
    at, rotation = bound_mask(layout, x[: layout.ntheta], layout.lower())
    bounds = (np.concatenate([at, extra]), np.concatenate([rotation, extra]))
    source = f"{source}; {hessian}"
    return make_check(names, x, np.asarray(g, dtype=float), scale, H, bounds, optimum.criterion, source)


def _glmm_gradient(model, nagq: int, optimum) -> tuple[np.ndarray, str]:
    """The Laplace criterion's closed-form gradient at the optimum, evaluated there (a
    quadrature optimum carries its own, :func:`~mixedmodels.glmm.engine.agq_derivatives`)."""
    if nagq > 1:
        raise ValueError("a quadrature optimum carries its gradient (GlmmOptimum.gradient)")
    x, state = optimum.opt.theta, optimum.state
    if nagq == 0:
        fg = laplace_function(model, True, state.beta, state.u)[0]
    else:
        fg = laplace_function(model, False, x[model.layout.ntheta :], state.u)[0]
    f, g = fg(x)
    return (g if np.isfinite(f) else np.full(len(x), np.nan)), "the closed-form gradient"


def _fixef_names(model) -> list[str]:  # replaced by the design's names (:func:`named_check`)
    return [f"beta[{j}]" for j in range(model.p)]


def checked_glmm(
    model, nagq: int, optimum: GlmmOptimum, fixef_names: Sequence[str] = ()
) -> tuple[GlmmOptimum, list[str]]:
    """The GLMM optimum kept (a :class:`~mixedmodels.glmm.engine.GlmmOptimum`), its check attached
    (``optimum.opt.check``), and the notes for the fit."""
    check = named_check(glmm_check(model, nagq, optimum), model, fixef_names)
    if check.ok:
        return _attach(optimum, check), []
    fn, lower, scale, starts, st1 = _glmm_restart_setup(model, nagq, optimum)

    def scaled(phi: np.ndarray) -> float:
        return fn(phi / scale)

    best, final, restarts = optimum, check, []
    for label, x0 in starts:
        r = polish(scaled, minimize_theta(scaled, x0 * scale, lower), lower)
        x = r.theta / scale
        fmin = float(fn(x))
        restarts.append(Restart(label, fmin, r.converged))
        if np.isfinite(fmin) and fmin < best.criterion - IMPROVE_TOL:
            reached = OptSummary(
                optimum.opt.initial, x, fmin, r.feval, "restart", r.converged, f"restart from {label}"
            )
            best = _rebuild(model, nagq, optimum, reached, st1)
            final = named_check(glmm_check(model, nagq, best), model, fixef_names)
            if final.ok:  # an optimum that passes the check: no further restarts
                break
    opt, notes = with_restarts(best.opt, final, check, restarts)
    return replace(best, opt=opt), notes


def checked_laplace_ml(
    model: GlmmModel, optimum: GlmmOptimum, fixef_names: Sequence[str] = (), check: bool = True
) -> tuple[GlmmOptimum, GlmmModel, list[str]]:
    """A fit glmmTMB's way (:mod:`~mixedmodels.glmm.laplace_ml`): the optimum kept, the model
    there and the notes. The quasi-Newton steps with the exact gradient are the search; the one
    restart is from the first stage at the estimated parameters where the optimum is singular
    (:func:`~mixedmodels.glmm.laplace_ml.singular_restart`), kept where it lowers the criterion
    by more than ``IMPROVE_TOL`` (noted). With ``check``, the check attached (from the gradient
    and Hessian its vcov took: no evaluation more), recording the restart, and its note where it
    finds no optimum (a refit, ``check`` False, is checked when asked)."""
    second = singular_restart(model, optimum)
    if second is None:
        if not check:
            return optimum, model, []
        first = named_check(glmm_check(model, 1, optimum), model, fixef_names)
        return _attach(optimum, first), model, ([] if first.ok else [failed_note(first)])
    best, at = optimum, model
    if second[0].criterion < optimum.criterion - IMPROVE_TOL:
        best, at = second
        message = f"restart from {SINGULAR_START}"
        best = replace(
            best, opt=replace(best.opt, initial=optimum.opt.initial, return_value="restart", message=message)
        )
    first = named_check(glmm_check(model, 1, optimum), model, fixef_names)
    final = first if best is optimum else named_check(glmm_check(at, 1, best), at, fixef_names)
    first = replace(first, verdict=SINGULAR_VERDICT, reasons=(SINGULAR_REASON,))
    restart = Restart(SINGULAR_START, second[0].criterion, second[0].opt.converged)
    opt, notes = with_restarts(best.opt, final, first, [restart])
    if not check:
        return best, at, notes[: int(best is not optimum)]  # the restart's note only
    return replace(best, opt=opt), at, notes


def named_check(check: ConvergenceCheck, model, fixef_names: Sequence[str]) -> ConvergenceCheck:
    """The check with the fixed effects named as the design names them (the family's parameter,
    estimated with the rest, keeps its name after them)."""
    nt = model.layout.ntheta
    if len(check.names) == nt or not fixef_names:
        return check
    rest = tuple(check.names[nt + len(fixef_names) :])
    return replace(check, names=tuple(check.names[:nt]) + tuple(fixef_names) + rest)


def _attach(optimum, check: ConvergenceCheck):
    return replace(optimum, opt=replace(optimum.opt, check=check))


def _glmm_restart_setup(model, nagq: int, optimum):
    """The criterion, bounds, scales and starts of the restarts (see the module), and stage 1's mode."""
    layout = model.layout
    nt = layout.ntheta
    theta = optimum.opt.theta[:nt]
    stage1 = optimum.stage1
    beta0 = optimum.glm.beta if optimum.glm is not None else optimum.state.beta
    fg0, memo0 = laplace_function(model, True, beta0, None)
    fg0(stage1.theta)
    st1 = memo0["state"]
    if nagq == 0:
        fn = criterion_function(model, 0, beta0)[0]
        scale = theta_scales(layout, model.reterms)
        starts = [
            ("the identity templates", layout.start()),
            ("the variances halved", theta * HALF),
            ("the variances doubled", theta * DOUBLE),
        ]
        return fn, layout.lower(), scale, starts, st1
    beta = optimum.opt.theta[nt:]
    fn = criterion_function(model, nagq, st1.beta)[0]
    scale = parameter_scales(model)
    lower = np.concatenate([layout.lower(), np.full(model.p, -np.inf)])
    starts = [
        ("the identity templates", np.concatenate([layout.start(), beta])),
        ("the nAGQ = 0 fit", np.concatenate([stage1.theta, st1.beta])),
        ("the variances halved", np.concatenate([theta * HALF, beta])),
        ("the variances doubled", np.concatenate([theta * DOUBLE, beta])),
    ]
    return fn, lower, scale, starts, st1


def _rebuild(model, nagq: int, optimum, opt: OptSummary, st1):
    """The GLMM optimum at a restart's point: mode, criterion and ``vcov`` there."""
    if nagq >= 1:
        return optimum_at(model, nagq, opt, optimum.glm, optimum.stage1, st1)
    fg, memo = laplace_function(model, True, optimum.state.beta, None)
    f, _ = fg(opt.theta)
    st = memo["state"]
    opt = replace(opt, fmin=float(f))
    return GlmmOptimum(opt, st, float(f), vcov_joint(st), optimum.glm, opt, None)
