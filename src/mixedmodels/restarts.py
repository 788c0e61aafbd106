"""The convergence check of an lmer or glmer optimum and, where it fails, the restarts.

:func:`checked_lmer` and :func:`checked_glmm` take the optimizer's optimum, check it
(:mod:`mixedmodels.convergence`) and, only where the verdict is not ``"optimum"``, minimize
again from a few starts and keep the lowest point:

- lmer: the model whose random-effects covariates are centred and scaled, from its identity
  templates (:class:`~mixedmodels.convergence.StandardMap` maps its optimum back exactly); the
  original model's identity templates, its optimum with every variance halved and doubled; all
  minimized on the standardized ``theta``, then Newton steps on the original one.
- glmer: the identity templates, the nAGQ = 0 fit (stage 1), and the optimum with every
  variance halved and doubled, each with the optimum's fixed effects; minimized on the
  parameters scaled by their covariates' scales (:func:`~mixedmodels.convergence.column_scales`).
  A GLMM criterion costs a PIRLS per evaluation, so the restarts stop at the first that lowers
  the criterion to a point that passes the check.

Each restart is BOBYQA followed by Newton steps on finite differences (the derivative-free
path lme4 takes), the optimizer least fooled by the curvature estimates that misled the first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from .convergence import (
    IMPROVE_TOL,
    ConvergenceCheck,
    Restart,
    StandardMap,
    bound_mask,
    make_check,
    parameter_scales,
    scaled_derivatives,
    theta_scales,
)
from .glmm import GlmmOptimum
from .optimize import BOUNDARY_TOL, OptSummary, minimize_theta, polish, snap_to_boundary

__all__ = ["checked_glmm", "checked_lmer", "lmer_check", "theta_names"]

EXACT = (1e-12, 1e-15)  # the Newton steps' xtol and ftol (as the engine's polish)
HALF, DOUBLE = math.sqrt(0.5), math.sqrt(2.0)  # template factors that halve and double the variances


def theta_names(reterms: Sequence, layout) -> list[str]:
    """lme4's names of ``theta``: ``Subject.(Intercept)``, ``Subject.Days.(Intercept)``, ..."""
    return layout.names(reterms)


# ----------------------------------------------------------------------------- lmer
def lmer_check(fn: Callable, opt: OptSummary, layout, reterms: Sequence) -> ConvergenceCheck:
    """The check of an lmer optimum: the polish's derivatives where they were taken there with
    steps within a factor 10 of those on the scaled ``theta`` (a covariate in other units makes
    the polish's steps, relative to ``|theta|``, too long or too short), else one
    finite-difference stencil on the scaled ``theta``."""
    scale = theta_scales(layout, reterms)
    at = bound_mask(layout, opt.theta, layout.lower())
    names = theta_names(reterms, layout)
    if opt.gradient is not None and opt.hessian is not None and _steps_agree(opt.theta, scale):
        g, H, source = opt.gradient, opt.hessian, "the Newton polish's finite differences"
    else:
        gs, Hs = scaled_derivatives(fn, opt.theta, opt.fmin, scale)
        g, H, source = gs * scale, Hs * np.outer(scale, scale), "finite differences on the scaled theta"
    return make_check(names, opt.theta, g, scale, H, at, opt.fmin, source)


def _steps_agree(theta: np.ndarray, scale: np.ndarray) -> bool:
    """Whether the polish's steps ``(|theta| + 0.1)``, in scaled units, are within a factor 10
    of the scaled stencil's ``(|theta scale| + 0.1)``."""
    for t, s in zip(theta.tolist(), scale.tolist()):  # a few entries: floats are quicker
        ratio = (abs(t) + 0.1) * s / (abs(t * s) + 0.1)
        if not 0.1 <= ratio <= 10.0:
            return False
    return True


def checked_lmer(fn: Callable, opt: OptSummary, layout, reterms: Sequence) -> tuple[OptSummary, list[str]]:
    """The optimum kept, its check attached (``opt.check``), and the notes for the fit."""
    check = lmer_check(fn, opt, layout, reterms)
    if check.ok:
        return replace(opt, check=check), []
    lower = layout.lower()
    smap = StandardMap.of(layout, reterms)

    def fphi(phi: np.ndarray) -> float:
        return fn(smap.theta(phi))

    starts = [
        ("the model with centred and scaled covariates", layout.start()),
        ("the identity templates", smap.phi(layout.start())),
        ("the variances halved", smap.phi(opt.theta * HALF)),
        ("the variances doubled", smap.phi(opt.theta * DOUBLE)),
    ]
    best, restarts, feval = opt, [], opt.feval
    for label, phi0 in starts:
        r = polish(fphi, minimize_theta(fphi, phi0, lower), lower, EXACT)
        theta = smap.theta(r.theta)
        reached = OptSummary(phi0, theta, fn(theta), r.feval, r.return_value, r.converged)
        theta, fmin, _ = snap_to_boundary(fn, reached.theta, reached.fmin, lower, BOUNDARY_TOL)
        reached = polish(fn, replace(reached, theta=theta, fmin=fmin), lower, EXACT)
        feval += reached.feval
        restarts.append(Restart(label, reached.fmin, reached.converged))
        if reached.fmin < best.fmin - IMPROVE_TOL:
            best = replace(
                reached, initial=opt.initial, return_value="restart", message=f"restart from {label}"
            )
    final = check if best is opt else lmer_check(fn, best, layout, reterms)
    return _with_restarts(replace(best, feval=feval), final, check, restarts)


def _with_restarts(
    best: OptSummary, final: ConvergenceCheck, first: ConvergenceCheck, restarts: list[Restart]
) -> tuple[OptSummary, list[str]]:
    """``best`` with the check that records the first verdict and the restarts; the notes."""
    from .convergence import failed_note, restart_note

    check = replace(
        final,
        initial_verdict=first.verdict,
        initial_criterion=first.criterion,
        initial_reasons=first.reasons,
        restarts=tuple(restarts),
    )
    notes = []
    if check.improved:
        notes.append(restart_note(check))
    if check.verdict == "not an optimum":
        notes.append(failed_note(check))
    return replace(best, check=check), notes


# ----------------------------------------------------------------------------- glmer
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
    H = opt.hessian if nagq == 0 else optimum.hessian
    hessian = "the quasi-Newton steps' Hessian" if nagq == 0 else "the Hessian behind vcov"
    if optimum.gradient is not None:
        g, source = optimum.gradient, "the gradient known at the optimum (with the Hessian's points)"
    elif opt.gradient is not None and nagq <= 1 and opt.return_value == "CONVERGED":
        g, source = opt.gradient, "the closed-form gradient at the steps' last point"
    else:
        g, source = _glmm_gradient(model, nagq, optimum)
    extra = np.zeros(len(x) - layout.ntheta, dtype=bool)
    at, rotation = bound_mask(layout, x[: layout.ntheta], layout.lower())
    bounds = (np.concatenate([at, extra]), np.concatenate([rotation, extra]))
    source = f"{source}; {hessian}"
    return make_check(names, x, np.asarray(g, dtype=float), scale, H, bounds, optimum.criterion, source)


def _glmm_gradient(model, nagq: int, optimum) -> tuple[np.ndarray, str]:
    """The Laplace criterion's closed-form gradient at the optimum, evaluated there (a
    quadrature optimum carries its own, :func:`~mixedmodels.glmm.agq_derivatives`)."""
    from .glmm import laplace_function

    if nagq > 1:
        raise ValueError("a quadrature optimum carries its gradient (GlmmOptimum.gradient)")
    x, state = optimum.opt.theta, optimum.state
    if nagq == 0:
        fg = laplace_function(model, True, state.beta, state.u)[0]
    else:
        fg = laplace_function(model, False, x[model.layout.ntheta :], state.u)[0]
    f, g = fg(x)
    return (g if np.isfinite(f) else np.full(len(x), np.nan)), "the closed-form gradient"


def _fixef_names(model) -> list[str]:  # replaced by the design's names (:func:`_named`)
    return [f"beta[{j}]" for j in range(model.p)]


def checked_glmm(
    model, nagq: int, optimum: GlmmOptimum, fixef_names: Sequence[str] = ()
) -> tuple[GlmmOptimum, list[str]]:
    """The GLMM optimum kept (a :class:`~mixedmodels.glmm.GlmmOptimum`), its check attached
    (``optimum.opt.check``), and the notes for the fit."""
    check = _named(glmm_check(model, nagq, optimum), model, fixef_names)
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
            final = _named(glmm_check(model, nagq, best), model, fixef_names)
            if final.ok:  # an optimum that passes the check: no further restarts
                break
    opt, notes = _with_restarts(best.opt, final, check, restarts)
    return replace(best, opt=opt), notes


def _named(check: ConvergenceCheck, model, fixef_names: Sequence[str]) -> ConvergenceCheck:
    nt = model.layout.ntheta
    if len(check.names) == nt or not fixef_names:
        return check
    return replace(check, names=tuple(check.names[:nt]) + tuple(fixef_names))


def _attach(optimum, check: ConvergenceCheck):
    return replace(optimum, opt=replace(optimum.opt, check=check))


def _glmm_restart_setup(model, nagq: int, optimum):
    """The criterion, bounds, scales and starts of the restarts (see the module), and stage 1's mode."""
    from .glmm import criterion_function, laplace_function

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
    from .glmm import GlmmOptimum, laplace_function, optimum_at
    from .pirls import vcov_joint

    if nagq >= 1:
        return optimum_at(model, nagq, opt, optimum.glm, optimum.stage1, st1)
    fg, memo = laplace_function(model, True, optimum.state.beta, None)
    f, _ = fg(opt.theta)
    st = memo["state"]
    opt = replace(opt, fmin=float(f))
    return GlmmOptimum(opt, st, float(f), vcov_joint(st), optimum.glm, opt, None)
