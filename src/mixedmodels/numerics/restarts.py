"""The convergence check of an lmer optimum and, where it fails, the restarts; the rule both
model kinds share for recording them (:func:`with_restarts`).

:func:`checked_lmer` takes the optimizer's optimum, checks it
(:mod:`mixedmodels.numerics.convergence`) and, only where the verdict is not ``"optimum"``,
minimizes again from a few starts and keeps the lowest point: the model whose random-effects
covariates are centred and scaled, from its identity templates
(:class:`~mixedmodels.numerics.convergence.StandardMap` maps its optimum back exactly); the
original model's identity templates, its optimum with every variance halved and doubled; all
minimized on the standardized ``theta``, then Newton steps on the original one. glmer's check
and restarts are :mod:`mixedmodels.glmm.restarts`.

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
    scaled_derivatives,
    theta_scales,
)
from .optimize import BOUNDARY_TOL, OptSummary, minimize_theta, polish, snap_to_boundary

__all__ = ["checked_lmer", "lmer_check", "theta_names", "with_restarts"]

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
    return with_restarts(replace(best, feval=feval), final, check, restarts)


def with_restarts(
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
