"""Power by simulation for generalized linear mixed models (glmer fits), with simr's semantics.

Responses are simulated from the fitted model with coefficient ``j`` set to the effect of
interest ``b`` on the link scale, ``theta`` kept and new random effects in every replicate
(:func:`~mixedmodels.replicates.glmm_bootstrap.glmer_blocks`)::

    beta*_j = b,  eta = o + X beta* + Z Lambda(theta) u,  u ~ N(0, I),
    y_i ~ Binomial(n_i, g^{-1}(eta_i)) / n_i   or   y_i ~ Poisson(g^{-1}(eta_i)),

with each row's trials ``n_i`` and the model's offset ``o``. Each replicate is refitted from the
estimate by the criterion the fit used (:class:`~mixedmodels.replicates.glmm_bootstrap.GlmerRefits`: a
single-term Laplace fit for a whole batch of replicates at once) and ``beta_j`` tested against 0:

- ``test="z"`` (simr's default for a glmer fixed effect): the fit's Wald test,
  ``z = beta_j / se_j``, ``p = 2 Phi(-|z|)``, with ``se_j`` lme4's: ``se_j^2 = [2 H^{-1}]_jj``,
  ``H`` the Hessian of the criterion as lme4 evaluates it from stage 1's linear predictor
  (:func:`~mixedmodels.glmm.engine.laplace_vcov`), so each replicate's stage 1 is found too, from the
  original fit's (quadrature and nAGQ = 0 fits are refitted in full, replicate by replicate);
- ``test="lrt"``: ``chi2 = d_0 - d_1``, ``d`` the criterion (``-2 log L``, Laplace) of the model
  without column ``j`` of ``X`` and of the full model, both refitted to each replicate;
  ``p = P(chi2_1 > chi2)``.

A fit by maximum likelihood over every parameter (glmmTMB's: ``nbinom2`` and the other families
with a parameter, or ``laplace="observed"``; :mod:`mixedmodels.glmm.laplace_ml`) is refitted by
that criterion (batched for a single term, the family's parameter re-estimated); its z test's
``se_j^2`` is ``[2 H^{-1}]_jj`` with ``H`` the Hessian over all of ``(theta, beta, log phi)`` at
the replicate's optimum (:func:`~mixedmodels.glmm.laplace_ml.ml_vcov`, the gradients of all the
replicates' difference stencils evaluated at once), its likelihood-ratio test that criterion's
difference, the reduced model refitted the same way.

A replicate's refit is the full :func:`mixedmodels.glmer` fit of its response (the same
estimates, standard errors and criterion). Power, its Clopper-Pearson interval, the failed
refits and ``along``/``sizes`` (simr's ``extend``) are as for lmer fits (:mod:`mixedmodels.replicates.power`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
from scipy import stats

from ..base.protocols import fit_of
from ..glmm.engine import criterion_function, fit_glmm, laplace_vcov, stage_one
from ..glmm.fit import GlmerFit
from ..glmm.laplace_ml import fit_laplace_ml, fits_ml, ml_stencil, ml_vcov
from ..glmm.restarts import checked_laplace_ml
from ..numerics.irls import IrlsError
from .driver import CHUNK, LARGE_CHUNK
from .glmm_bootstrap import BATCH_ROWS, GlmerRefits, glmer_blocks
from .power_results import (
    LrtRefits,
    PowerCurve,
    PowerResult,
    check_common,
    extended_fit,
    power_by_simulation,
    replicate_pvalues,
    term_columns,
)

__all__ = ["glmer_power"]

TESTS = ("z", "lrt")
FAILURES = (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError)


# --------------------------------------------------------------------------- refits
class _ZRefits:
    """p-values of the Wald z test of column ``j`` on each replicate's refit."""

    def __init__(self, fit: GlmerFit, j: int):
        self.fit, self.j = fit, j
        self.refits = GlmerRefits(fit, None, CHUNK, LARGE_CHUNK)
        self.diag = fit.model.layout.diagonal_mask()

    def chunk_size(self) -> int:
        return self.refits.chunk_size() if self.fit.nagq == 1 else LARGE_CHUNK

    def bytes_per_replicate(self) -> float:
        return self.refits.bytes_per_replicate()

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        m = Y.shape[1]
        p = np.full(m, np.nan)
        if self.refits.ml:
            return self._ml_run(Y)
        if self.fit.nagq == 1:
            values, status, theta = self.refits.run(Y)
            nt = self.fit.ntheta
            for i in np.flatnonzero(status != "failed"):
                p[i] = self._laplace_pvalue(Y[:, i], np.concatenate([theta[i], values[i, nt:]]))
            return p[:, None], np.where(np.isnan(p), "failed", status), None
        p[:] = [self._full_pvalue(Y[:, i]) for i in range(m)]
        status = np.where(
            np.array([s is not None for s in self.refits.separations(Y)], dtype=bool), "separated", "ok"
        )
        return p[:, None], np.where(np.isnan(p), "failed", status), None

    def _ml_run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        """A fit by maximum likelihood over ``x = (theta, beta[, log phi])``: the refit's Wald
        test, its ``vcov`` that of the fit (:func:`~mixedmodels.glmm.laplace_ml.ml_vcov`, the
        Hessian over all of ``x`` at the replicate's optimum)."""
        x, failed, _ = self.refits.refit_points(Y)
        p = np.full(len(x), np.nan)
        nt, u0 = self.fit.ntheta, self.fit.optimum.state.u
        rows = np.flatnonzero(~failed)
        gradients = self._stencil_gradients(x[rows], Y[:, rows])
        for i, g in zip(rows, gradients):
            try:
                with np.errstate(all="ignore"):
                    _, V, _ = ml_vcov(self.fit.model.with_response(Y[:, i]), x[i], u0, g)
            except FAILURES:
                continue
            p[i] = _wald_p(x[i, nt + self.j], V[self.j, self.j])
        singular = self.fit.model.layout.singular_rows(x[:, :nt])
        status = np.where(np.isnan(p), "failed", np.where(singular, "singular", "ok"))
        return p[:, None], status, None

    def _stencil_gradients(self, x: np.ndarray, Y: np.ndarray) -> list[np.ndarray | None]:
        """The gradients at each replicate's difference stencil (:func:`ml_stencil`): all at once
        for a batched model (BATCH_ROWS rows of data at a time), else None (``ml_vcov``'s own)."""
        batch = self.refits.ml_batch
        if batch is None:
            return [None] * len(x)
        model = self.fit.model
        stencils = [ml_stencil(model, xi)[0] for xi in x]
        points = np.concatenate(stencils) if stencils else np.zeros((0, x.shape[1]))
        responses = np.repeat(Y.T, [len(st) for st in stencils], axis=0)
        size = max(1, BATCH_ROWS // model.n)
        u_fit = np.tile(self.fit.optimum.state.u.reshape(1, -1, batch.base.k), (len(x), 1, 1))
        with np.errstate(all="ignore"):  # each stencil's PIRLS from the modes at its centre
            modes = np.repeat(batch.laplace(x, Y.T, u_fit)[2], [len(st) for st in stencils], axis=0)
        out = np.empty_like(points)
        for lo in range(0, len(points), size):
            hi = min(lo + size, len(points))
            with np.errstate(all="ignore"):
                out[lo:hi] = batch.laplace(points[lo:hi], responses[lo:hi], modes[lo:hi])[1]
        return list(np.split(out, np.cumsum([len(st) for st in stencils])[:-1])) if stencils else []

    def _laplace_pvalue(self, y: np.ndarray, x: np.ndarray) -> float:
        """The z test at a Laplace refit ``x = (theta, beta)``: stage 1 of the replicate (from its
        ``theta``, off the boundary, with the fit's stage-1 Hessian), then lme4's Hessian from
        there."""
        model = self.fit.model.with_response(y)
        nt = self.fit.ntheta
        start = x[:nt].copy()
        start[self.diag & (start <= 0)] = 0.5
        try:
            with np.errstate(all="ignore"):
                _, st1 = stage_one(model, x[nt:], start, self.fit.optimum.stage1.hessian)
                V, _ = laplace_vcov(model, x, st1.eta, st1.u)
        except FAILURES:
            return math.nan
        return _wald_p(x[nt + self.j], V[self.j, self.j])

    def _full_pvalue(self, y: np.ndarray) -> float:
        """The z test of a replicate fitted in full (quadrature, nAGQ = 0)."""
        try:
            with np.errstate(all="ignore"):
                optimum = fit_glmm(self.fit.model.with_response(y), self.fit.nagq)
        except FAILURES:
            return math.nan
        if not optimum.opt.converged:
            return math.nan
        return _wald_p(optimum.state.beta[self.j], optimum.vcov[self.j, self.j])


def _wald_p(estimate: float, variance: float) -> float:
    if not (np.isfinite(estimate) and np.isfinite(variance) and variance > 0):
        return math.nan
    return float(2.0 * stats.norm.sf(abs(estimate) / math.sqrt(variance)))


class _LrtRefits(LrtRefits):
    """p-values of the likelihood-ratio test of columns ``cols`` (chi-square on as many df):
    full and reduced model refitted by the fit's criterion."""

    def __init__(self, fit: GlmerFit, cols: list[int]):
        reduced = _without_columns(fit, cols)
        super().__init__(tuple(GlmerRefits(f, None, CHUNK, LARGE_CHUNK) for f in (fit, reduced)), len(cols))

    def criterion(self, model: GlmerRefits, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if model.ml:  # the criterion at each refit's x = (theta, beta[, log phi])
            x, failed, _ = model.refit_points(Y)
            if model is self.models[0]:
                singular = model.fit.model.layout.singular_rows(x[:, : model.nt])
                self._status = np.where(failed, "failed", np.where(singular, "singular", "ok"))
            with np.errstate(all="ignore"):
                return model.criteria(x, Y), failed
        values, status, theta = model.run(Y)
        if model is self.models[0]:  # the full model's status is the replicate's
            self._status = status
        return _criteria(model, theta, values[:, model.nt :], Y), status == "failed"

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        p, failed, _ = super().run(Y)
        return p, np.where(failed == "failed", "failed", self._status), None


def _criteria(refits: GlmerRefits, theta: np.ndarray, beta: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The criterion of each replicate (a column of ``Y``) at its refit; for a batched model less
    the constant of the response (the same for both models of a test)."""
    fit = refits.fit
    beta = np.where(np.isnan(beta), fit.beta, beta)  # failed refits: any finite point
    if refits.batch is not None:
        batch = refits.batch
        u0 = np.zeros((Y.shape[1], batch.n1, batch.k))
        with np.errstate(all="ignore"):
            f, _, _ = batch.laplace(theta, beta, batch.responses(Y.T), u0)
        return f
    out = np.full(Y.shape[1], np.nan)
    for i in range(Y.shape[1]):
        fn, _ = criterion_function(fit.model.with_response(Y[:, i]), fit.nagq, beta[i])
        x = theta[i] if fit.nagq == 0 else np.concatenate([theta[i], beta[i]])
        out[i] = fn(x)
    return out


def _without_columns(fit: GlmerFit, cols: list[int]) -> GlmerFit:
    """The fit's model without columns ``cols`` of ``X``, fitted by the same criterion."""
    names = tuple(n for i, n in enumerate(fit.fixef_names) if i not in cols)
    design = replace(fit.design, X=np.delete(fit.design.X, cols, axis=1), fixef_names=names)
    model = replace(fit.model, X=np.delete(fit.model.X, cols, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fits_ml(fit.family):
            optimum, at = fit_laplace_ml(model)
            optimum, at, _ = checked_laplace_ml(at, optimum, check=False)  # a singular one restarted
            return replace(fit, design=design, family=at.fam, model=at, optimum=optimum, messages=())
        optimum = fit_glmm(model, fit.nagq)
    return replace(fit, design=design, model=model, optimum=optimum, messages=())


# --------------------------------------------------------------------------- driver
def _simulated_pvalues(
    fit: GlmerFit, design_fit: GlmerFit, cols: list[int], effect, test: str, nsim: int, seed, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """p-values of ``nsim`` replicates simulated on ``design_fit``'s design with ``fit``'s
    parameters (coefficients ``cols`` set to ``effect``)."""
    beta = fit.beta.copy()
    beta[cols] = effect
    params = (beta, fit.theta)
    engine = _ZRefits(design_fit, cols[0]) if test == "z" else _LrtRefits(design_fit, cols)

    def blocks(rng, m, block):
        return glmer_blocks(design_fit, m, False, rng, block, params)

    return replicate_pvalues(engine, blocks, nsim, seed, progress, with_status=True)


def _check(fit: GlmerFit, test: str, nsim: int, alpha: float) -> None:
    """Refuse arguments that cannot be simulated or tested."""
    if not fit.family.simulates:
        raise ValueError(
            f"power is available for glmer fits of a family to simulate from, not {fit.family.name}"
        )
    if test not in TESTS:
        raise ValueError(
            f"test must be 'z' (Wald) or 'lrt' for a glmer fit, not {test!r}"
            + (" (Satterthwaite's t test is for lmer fits)" if test == "satterthwaite" else "")
        )
    check_common(nsim, alpha)


def glmer_power(
    fit: GlmerFit,
    term: str,
    effect,
    nsim: int = 1000,
    test: str = "z",
    alpha: float = 0.05,
    seed=None,
    along: str | None = None,
    sizes=None,
    progress: bool = True,
) -> PowerResult | PowerCurve:
    """Power of the test of a fixed effect of a glmer fit by simulation (see the module);
    :func:`mixedmodels.power` calls it for a glmer fit.

    The arguments are :func:`mixedmodels.power`'s, with ``fit`` a binomial or Poisson glmer
    fit, ``effect`` on the link scale, and ``test`` "z" (the refit's Wald z test, simr's
    default for glmer fits) or "lrt" (against the model without ``term``'s columns, chi-square
    on as many df).
    Returns a PowerResult, or with ``along`` a PowerCurve.
    """
    if not fit_of(fit, "glmer"):
        raise TypeError(f"glmer_power needs a fit from mm.glmer, not {type(fit).__name__}")
    _check(fit, test, int(nsim), alpha)
    cols, values, recorded = term_columns(fit, term, effect, test == "lrt")

    def pvalues(size: int | None, stream: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
        design = extended_fit(fit, along, size)
        return _simulated_pvalues(fit, design, cols, values, test, int(nsim), stream, progress)

    return power_by_simulation(term, recorded, test, alpha, seed, along, sizes, pvalues)
