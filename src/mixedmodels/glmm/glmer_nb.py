"""``glmer_nb()``: a negative binomial GLMM with its size estimated, as lme4's ``glmer.nb``.

The size ``theta`` of the negative binomial (``V(mu) = mu + mu^2 / theta``) is not a parameter
of lme4's Laplace criterion: lme4 fits it by alternation, and so does this module.

1. A Poisson fit of the same model (the family's :meth:`~mixedmodels.families.Family.alternation_start`,
   the negative binomial's limit as ``theta`` grows) gives fitted means ``mu``.
2. ``theta_0``: the maximum-likelihood size at those means (MASS's ``theta.ml``,
   :meth:`~mixedmodels.families.Family.parameter_given_means`), with lme4's limit and tolerance.
3. The profile deviance ``D(t) = min over (theta_re, beta) of -2 log L`` with the family's
   ``theta = exp(t)`` held fixed (MASS's ``negative.binomial(theta)``, lme4's expected
   information) is minimized over ``t`` in ``log(theta_0) +- 3`` (lme4's interval) by Brent's
   method (R's ``optimize``), here to a tolerance of about 1e-7 in ``t`` rather than lme4's
   5e-5 (:data:`NB_TOL`): every value of ``D`` is the criterion's optimum itself, so the
   search can be tight.
4. The fit at the estimate, exactly as :func:`mixedmodels.glmer` fits
   ``family=NegativeBinomial(theta_hat)`` (its convergence check and restarts included).

Each evaluation of ``D`` starts from the previous optimum: the Laplace criterion's quasi-Newton
steps over ``(theta_re, beta)`` from the last point and its Hessian (nagq = 1), or the first
stage alone from the last ``theta_re`` (nagq = 0); quadrature (nagq > 1) and a model whose fixed
effects are separated refit from the start at each ``t``.

The fit (:class:`GlmerNbFit`) is a :class:`~mixedmodels.glmm.fit.GlmerFit` whose family is the
negative binomial of size ``theta_hat`` held fixed; ``theta`` counts as a parameter in
``npar`` (lme4's ``logLik`` df, ``ntheta + p + 1``) and is ``fit.theta_nb`` (lme4's
``getME(fit, "glmer.nb.theta")``). ``refit`` (and so the parametric bootstrap) keeps the size
fixed at the estimate, as lme4's ``refit`` and ``bootMer`` do; ``update`` estimates it again
(lme4's ``update`` keeps it fixed: its call is ``glmer`` with ``negative.binomial(theta_hat)``;
``mm.glmer(..., family=fit.family)`` is that fit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from ..base.blas import single_threaded_blas
from ..base.messages import warn
from ..families import Family
from ..families.links import Link
from ..families.negative_binomial import NegativeBinomial
from ..formula.rsyntax import r_keywords
from ..lmm.engine import aliased_notes
from ..numerics.optimize import minimize_theta, polish
from .engine import (
    SMALL_SCHUR,
    TIGHT_PIRLS,
    criterion_function,
    minimize_laplace,
    stage2_function,
    stage_one,
)
from .fit import GlmerFit
from .glmer_steps import check_nagq, glmer_frame, glmer_model, glmer_optimum, optimum_notes
from .pirls import GlmmModel, PirlsState, WeightedFactor, laplace_deviance, pirls

__all__ = ["GlmerNbFit", "ThetaSearch", "fit_alternating", "glmer_nb"]

NB_TOL = 1e-7  # Brent's absolute tolerance in log(theta) (lme4's optimize: 5e-5)
NB_HALF_WIDTH = 3.0  # lme4's interval: log(theta_0) +- 3
ML_LIMIT = 20  # theta.ml's limit and tolerance as glmer.nb calls it (initCtrl)
ML_EPS = 1e-4


@dataclass(frozen=True)
class ThetaSearch:
    """How the size was found: the start ``theta_0`` (theta.ml's, or the one given), the interval
    and tolerance of the search in ``log(theta)`` (``interval_given``: the user's), and each
    evaluation ``(theta, -2 log L)`` in order."""

    start: float
    interval: tuple[float, float]
    tol: float
    evaluations: tuple[tuple[float, float], ...]
    interval_given: bool = False

    @property
    def nevals(self) -> int:
        """The number of fits at a fixed size (lme4's ``attr(fit, "nevals")``)."""
        return len(self.evaluations)


@dataclass(frozen=True, eq=False)
class GlmerNbFit(GlmerFit):
    """A :class:`~mixedmodels.glmm.fit.GlmerFit` from :func:`glmer_nb`: its family the negative
    binomial at the estimated size, held fixed (see the module)."""

    theta_search: ThetaSearch | None = field(default=None, repr=False)

    @property
    def theta_nb(self) -> float:
        """The estimated size of the negative binomial (lme4's ``getME(fit, "glmer.nb.theta")``;
        also ``fit.family.theta``)."""
        return float(self.family.parameter)  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        """:meth:`GlmerFit.to_dict` with ``theta_nb`` (the estimated size) and the number of
        fits the search took."""
        nevals = None if self.theta_search is None else self.theta_search.nevals
        return {**super().to_dict(), "theta_nb": self.theta_nb, "theta_nb_evaluations": nevals}

    def update(
        self, formula: str | None = None, data=None, nagq: int | None = None, **auxiliary: str | None
    ) -> GlmerFit:
        """The model refitted with a new formula, data or number of quadrature points, its size
        estimated again (lme4's ``update`` of a ``glmer.nb`` fit keeps it fixed at this fit's
        estimate: for that fit, ``mm.glmer(formula, data, family=fit.family)``); the link,
        weights, offset, contrasts and the search's tolerance (and an interval given) are kept.
        (``ziformula=``, ``dispformula=``: glmer.nb has none; fit them with ``mm.glmer``.)"""
        if any(v is not None for v in auxiliary.values()):
            raise NotImplementedError(
                "a glmer.nb fit has no zero-inflation or dispersion model: fit one with "
                "mm.glmer(..., family='nbinom2', ziformula=..., dispformula=...)"
            )
        if data is None and self.data is None:
            raise ValueError("update needs the fit's data: give data=")
        search = self.theta_search
        return glmer_nb(
            formula or self.formula,
            self.data if data is None else data,
            link=self.family.link,
            nagq=self.nagq if nagq is None else nagq,
            contrasts=self.contrasts,
            na_action=self.na_action,
            interval=search.interval if search is not None and search.interval_given else None,
            tol=NB_TOL if search is None else search.tol,
            **self.model_args,
        )

    def __repr__(self) -> str:
        return f"<GlmerNbFit {self.formula!r} {self.family.name}({self.link}) nagq={self.nagq}>"


@r_keywords
def glmer_nb(
    formula: str,
    data: pd.DataFrame,
    link: str | Link = "log",
    nagq: int = 1,
    weights: str | np.ndarray | None = None,
    offset: str | np.ndarray | None = None,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    memory_limit: float | None = None,
    interval: tuple[float, float] | None = None,
    tol: float = NB_TOL,
    theta_start: float | None = None,
) -> GlmerNbFit:
    """Fit a negative binomial GLMM with its size ``theta`` estimated, as lme4's ``glmer.nb``.

    Parameters
    ----------
    formula, data, nagq, weights, offset, contrasts, na_action, memory_limit
        As for :func:`mixedmodels.glmer` (a count response).
    link : str
        "log" (lme4's, the default) or "sqrt".
    interval : (float, float), optional
        Where the search looks, in ``log(theta)`` (lme4's ``interval``); by default
        ``log(theta_0) +- 3``, ``theta_0`` the start. An estimate at either end is warned of.
    tol : float
        Brent's absolute tolerance in ``log(theta)`` (lme4's ``tol``, whose default 5e-5 this
        tightens to 1e-7: ``theta`` to about 1e-7 relative).
    theta_start : float, optional
        The start ``theta_0`` (lme4's ``initCtrl$theta``); by default the maximum-likelihood
        size at the means of a Poisson fit of the model (lme4's ``est_theta``).

    Returns
    -------
    GlmerNbFit
        Its family ``NegativeBinomial(theta_hat)`` (printed "Negative Binomial(3.3034)" as
        lme4's), ``fit.theta_nb`` the size, ``npar`` counting it; see
        :mod:`mixedmodels.glmm.glmer_nb` for ``refit``, ``update`` and the bootstrap.
    """
    template = NegativeBinomial(theta_start, link, estimate=True)
    return fit_alternating(
        formula, data, template, nagq=nagq, weights=weights, offset=offset, contrasts=contrasts,
        na_action=na_action, memory_limit=memory_limit, interval=interval, tol=tol,
    )  # fmt: skip


def fit_alternating(
    formula: str,
    data,
    template: Family,
    nagq: int = 1,
    weights=None,
    offset=None,
    contrasts=None,
    na_action: str = "omit",
    memory_limit: float | None = None,
    interval: tuple[float, float] | None = None,
    tol: float = NB_TOL,
) -> GlmerNbFit:
    """The module's fit of ``template`` (a family estimating its parameter, its value if any the
    start), with lme4's expected information: what :func:`glmer_nb` and ``mm.glmer(...,
    family="nbinom2", laplace="expected")`` return."""
    start_family = template.alternation_start()
    if start_family is None:
        raise NotImplementedError(
            f"laplace='expected' with the {template.name} family's parameter estimated has no "
            "lme4 fit (lme4's glmer.nb alternates only the negative binomial's size): use "
            "laplace='observed' (the joint fit, as glmmTMB's) or give the parameter a value"
        )
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive, not {tol}")
    data = glmer_frame(data)
    nagq = check_nagq(nagq)
    notes: list[str] = []
    if nagq > 1 and template.estimates_parameter:
        notes.append(
            f"nagq = {nagq}: lme4's quadrature deviance leaves out the terms of the likelihood that "
            "depend on the size (lme4 issue #868, fixed after lme4 1.1-31, which gives these numbers), "
            "so the size is not its maximum-likelihood estimate: fit the size with nagq=1, or give "
            "it (family=NegativeBinomial(theta)) for a fit with quadrature"
        )
    fam = template.with_parameter(1.0 if template.parameter is None else template.parameter)
    fam = fam.fixed_parameter().with_information("expected")
    if fam.glmm_refusal is not None:
        raise NotImplementedError(fam.glmm_refusal)
    design, init, model = glmer_model(
        formula, data, fam, nagq, weights, offset, contrasts, na_action, memory_limit
    )
    names = design.fixef_names
    with single_threaded_blas(model.q - model.reterms[0].q + model.p < SMALL_SCHUR):
        poisson = model.with_family(start_family)
        optimum0, _, sep0, _ = glmer_optimum(
            poisson, nagq, names, None, start_family.initialize(model.y, model.weights).mustart
        )
        theta0 = template.parameter
        if theta0 is None:
            theta0, _, note = template.parameter_given_means(
                model.y, optimum0.state.mu, model.weights, ML_EPS, ML_LIMIT
            )
            if note is not None:
                notes.append(note)
            if not (math.isfinite(theta0) and theta0 > 0):
                raise ValueError(
                    f"the start of the size's search is {theta0:g} (theta.ml at the Poisson fit's "
                    "means): give theta_start="
                )
        bounds = _interval(theta0, interval)
        profile = ProfileDeviance(model, fam, nagq, optimum0, names, refit=sep0 is not None)
        res = minimize_scalar(
            profile, bounds=bounds, method="bounded", options={"xatol": tol, "maxiter": 500}
        )
        t_hat = float(res.x)
        if min(t_hat - bounds[0], bounds[1] - t_hat) < 10 * tol:
            notes.append(
                f"the size's estimate theta = {math.exp(t_hat):.6g} is at an end of the search "
                f"interval log(theta) in [{bounds[0]:.4g}, {bounds[1]:.4g}]: widen interval="
            )
        if not res.success:
            notes.append(f"the search for the size did not converge ({res.message})")
        model = model.with_family(fam.with_parameter(math.exp(t_hat)))
        optimum, model, sep, sep_notes = glmer_optimum(model, nagq, names, None, init.mustart, check=True)
    notes = aliased_notes(design.aliased) + notes + sep_notes + optimum_notes(model, optimum, sep is not None)
    search = ThetaSearch(theta0, bounds, tol, tuple(profile.evaluations), interval is not None)
    fit = GlmerNbFit(
        formula=formula, family=model.fam, nagq=nagq, design=design, model=model, optimum=optimum,
        messages=tuple(notes), data=data, model_args={"weights": weights, "offset": offset},
        contrasts=contrasts, na_action=na_action, separation=sep, theta_search=search,
    )  # fmt: skip
    for note in notes:
        warn(note)
    return fit


def _interval(theta0: float, interval) -> tuple[float, float]:
    """The search's interval in ``log(theta)``: the one given (checked) or lme4's."""
    if interval is None:
        return math.log(theta0) - NB_HALF_WIDTH, math.log(theta0) + NB_HALF_WIDTH
    lo, hi = (float(v) for v in interval)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"interval must be two finite numbers, low < high (in log(theta)), not {interval!r}")
    return lo, hi


class ProfileDeviance:
    """``t -> D(t)``: ``-2 log L`` at its optimum over ``(theta_re, beta)`` with the family's
    parameter held at ``exp(t)``, each evaluation from the previous optimum (see the module);
    ``evaluations`` lists ``(exp(t), D(t))`` in order.

    Parameters
    ----------
    model : GlmmModel
        The model, its family the template at any value (fixed, the expected information).
    fam : Family
        That family: :meth:`~mixedmodels.families.Family.with_parameter` gives it at ``exp(t)``.
    nagq : int
        As for :func:`mixedmodels.glmer`.
    optimum0 : GlmmOptimum
        The start's optimum (the Poisson fit's).
    names : sequence of str
        The fixed effects' names (for the checks of a full fit).
    refit : bool
        Each evaluation a full fit from the start (quadrature, separated fixed effects).
    """

    def __init__(
        self, model: GlmmModel, fam: Family, nagq: int, optimum0, names, refit: bool = False
    ) -> None:
        self.model, self.fam, self.nagq, self.names, self.refit = model, fam, nagq, names, refit
        nt = model.layout.ntheta
        self.lower = np.concatenate([model.layout.lower(), np.full(model.p, -np.inf)])
        self.x = np.concatenate([optimum0.opt.theta[:nt], optimum0.state.beta])
        self.state: PirlsState = optimum0.state
        H = optimum0.opt.hessian
        self.hessian = (
            H if H is not None and H.shape == (len(self.x),) * 2 and np.all(np.isfinite(H)) else None
        )
        self.stage1_hessian = optimum0.stage1.hessian
        se = np.sqrt(np.abs(np.diag(optimum0.vcov)))  # BOBYQA's first steps from the last optimum
        self.steps = np.concatenate(
            [np.maximum(0.01 * np.abs(self.x[:nt]), 0.005), np.maximum(0.05 * se, 1e-4)]
        )
        self.evaluations: list[tuple[float, float]] = []

    def __call__(self, t: float) -> float:
        model = self.model.with_family(self.fam.with_parameter(math.exp(t)))
        value = self._fit(model)
        self.evaluations.append((math.exp(t), value))
        return value

    def _fit(self, model: GlmmModel) -> float:
        nt = model.layout.ntheta
        if not self.refit and self.nagq == 1:
            opt = minimize_laplace(stage2_function(model, self.state), self.x, self.lower, self.hessian)
            if opt.converged:
                state = exact_mode(model, opt.theta[:nt], opt.theta[nt:], self.state.u)
                value = laplace_deviance(model, state)
                if np.isfinite(value):
                    self._keep(opt.theta, state, opt.hessian)
                    return float(value)
        if not self.refit and self.nagq == 0:
            stage1, state = stage_one(model, self.state.beta, self.x[:nt], self._theta_hessian(nt))
            if stage1.converged:
                state = exact_mode(model, stage1.theta, state.beta, state.u, joint=True)
                value = laplace_deviance(model, state)
                if np.isfinite(value):
                    self._keep(np.concatenate([stage1.theta, state.beta]), state, None, stage1.hessian)
                    return float(value)
        if not self.refit and self.nagq > 1:
            fn, memo = criterion_function(model, self.nagq, self.state.beta)
            memo["state"] = self.state
            opt = polish(fn, minimize_theta(fn, self.x, self.lower, initial_step=self.steps), self.lower)
            value = fn(opt.theta)
            if opt.converged and np.isfinite(value):
                self._keep(opt.theta, memo["state"], None)
                return float(value)
        optimum = glmer_optimum(model, self.nagq, self.names, None)[0]
        x = np.concatenate([optimum.opt.theta[:nt], optimum.state.beta])
        H = optimum.opt.hessian if self.nagq == 1 else None
        self._keep(x, optimum.state, H, optimum.stage1.hessian)
        return float(optimum.criterion)

    def _theta_hessian(self, nt: int) -> np.ndarray | None:
        """The Hessian over ``theta_re`` alone (stage 1's start, nagq = 0)."""
        H = self.stage1_hessian
        return H if H is not None and H.shape == (nt, nt) else None

    def _keep(self, x: np.ndarray, state: PirlsState, hessian, stage1_hessian=None) -> None:
        """The last optimum: the next evaluation's start."""
        self.x, self.state = np.asarray(x, dtype=float), state
        if hessian is not None and hessian.shape == (len(self.x),) * 2 and np.all(np.isfinite(hessian)):
            self.hessian = hessian
        if stage1_hessian is not None and np.all(np.isfinite(stage1_hessian)):
            self.stage1_hessian = stage1_hessian


def exact_mode(
    model: GlmmModel, theta: np.ndarray, beta: np.ndarray, u0: np.ndarray | None, joint: bool = False
) -> PirlsState:
    """The conditional mode at ``(theta, beta)`` (``joint``: of ``(u, beta)`` at ``theta``, from
    ``beta``) to rounding, and its factor with the family's own (expected) weights, whose log
    determinant is the Laplace criterion's.

    The mode minimizes the penalized deviance whatever the weights of the iteration; Newton's
    steps (the observed information's weights) reach it to rounding in a few steps, where
    Fisher scoring for a link that is not canonical converges linearly and its stop on the
    change of the penalized deviance (second order in the mode's error) leaves an error in the
    log determinant (first order) of about 1e-7: noise that would hide the profile's minimum."""
    fam = model.fam
    observed = model.with_family(fam.with_information("observed"))
    newton = pirls(observed, theta, beta, u0, joint=joint, tol=TIGHT_PIRLS)
    if not newton.converged:
        return pirls(model, theta, beta, u0, joint=joint, tol=TIGHT_PIRLS)
    weights = model.weights * fam.laplace_weights(model.y, newton.eta, newton.mu)
    factor = WeightedFactor(newton.factor.ts, weights, joint)
    return replace(newton, factor=factor)
