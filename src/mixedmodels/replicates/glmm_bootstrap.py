"""The parametric bootstrap of a glmer fit: simulated responses and their refits.

Responses (:func:`glmer_blocks`): linear predictors ``o + X beta + Z Lambda u`` with new random
effects ``u ~ N(0, I)`` (``use_u=False``) or the conditional modes (``use_u=True``), then the
family's draws (:meth:`~mixedmodels.families.Family.draw`: binomial draws with each row's trials,
the model's response the proportion, or Poisson draws); the same numbers for any block size.

Refits (:class:`GlmerRefits`), each from the estimate, of the criterion the fit used:

- a Laplace fit with a single random-effects term (and the default statistic): all replicates
  of a chunk at once, quasi-Newton steps over ``(theta, beta)`` for all of them together
  (:func:`~mixedmodels.numerics.quasi_newton.minimize_gradient_batch`, starting from the fit's Hessian),
  each step's PIRLS batched (:class:`~mixedmodels.glmm.pirls_batch.SingleTermBatch`);
- otherwise one replicate at a time: the Laplace criterion's quasi-Newton steps from the
  estimate, starting from the fit's Hessian as the batched steps do (no differences per
  replicate; one that stops near a variance's bound is minimized again with differences, the
  lower kept), or (nAGQ other than 1, a custom statistic, or where those steps do not
  converge) the fit's two stages from the start.

The estimate is the start with two changes (:meth:`GlmerRefits.start`): a variance at 0 is
moved off its bound, and a term with correlations that is singular or has a correlation near
+-1 starts from its structure's start (its correlations there are no start: an unbounded
correlation parameter at ``rho`` near 1 sits on a plateau of the criterion), with a Hessian of
differences in place of the fit's. A batched replicate that stops with a diagonal entry of an
unstructured template at 0 is minimized again from the other side of that face
(:func:`_mirrored`): the entries below the zero only rotate the template, but their sign decides
whether leaving the face lowers the criterion. A trial point whose working weights overflow
(far off) has an infinite criterion, and the steps shorten.

A fit by maximum likelihood over ``x = (theta, beta, extra)`` (glmmTMB's: a family with a
parameter beyond the mean, or the observed information; ``extra`` the family's ``log phi``, or
the dispersion and zero-inflation models' coefficients ``(beta_d, beta_z)``, the whole tail
``x[nt + p:]``; :mod:`~mixedmodels.glmm.laplace_ml`) is
refitted by the same quasi-Newton steps over all of ``x`` with the closed-form gradient, from
the estimate, its modes and its Hessian: with a single random-effects term all replicates of a
chunk at once (:class:`~mixedmodels.glmm.laplace_ml_batch.MlBatch`, where the family takes an
array of parameters, :meth:`~mixedmodels.glmm.laplace_ml_batch.MlBatch.suitable`), else one at a
time (:func:`~mixedmodels.glmm.laplace_ml.refit_laplace_ml`), and from the start, as ``refit``
fits, where those steps do not converge or stop near a variance's bound; its default statistic
has the family's ``sigma`` after the random effects' standard deviations and correlations
(lmer's order), and after the fixed effects the zero-inflation model's coefficients
(``zi.<column>``) and a dispersion model's (``disp.<column>``, in place of ``sigma``).

A replicate whose refit fails is counted as failed; one whose fixed effects are separated
(:mod:`mixedmodels.numerics.separation`: the linear program on ``X`` with the replicate's response, run
only where the replicate's two-sided rows leave a direction free) as separated, its separated
coefficients flagged; one with a variance at 0 as singular.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property

import numpy as np

from ..base.blas import single_threaded_blas
from ..covariance.layout import sdcor_from_theta
from ..covariance.structures import Structured
from ..glmm.engine import fit_glmm, laplace_function, one_blas_thread
from ..glmm.fit import GlmerFit
from ..glmm.laplace_ml import (
    extra_size,
    fit_laplace_ml,
    fits_ml,
    laplace_ml_function,
    ml_lower,
    refit_laplace_ml,
)
from ..glmm.laplace_ml_batch import MlBatch
from ..glmm.pirls import GlmmModel
from ..glmm.pirls_batch import SingleTermBatch
from ..glmm.prior import fit_glmm_prior
from ..glmm.restarts import checked_laplace_ml
from ..glmm.separated import fit_separated
from ..numerics.irls import IrlsError
from ..numerics.quasi_newton import minimize_gradient, minimize_gradient_batch
from ..numerics.separation import Separation, SeparationCheck, separated_mask

__all__ = [
    "GlmerRefits",
    "draw_trials",
    "family_sigma",
    "glmer_blocks",
    "glmer_original",
    "glmer_statistic",
    "glmer_statistic_names",
]

BATCH_ROWS = 40_000  # replicates x rows of data refitted together
REFIT_FTOL = 1e-11  # a replicate's optimum: the criterion within about this (relative) of it
REFIT_PIRLS = 1e-10  # PIRLS's tolerance in a replicate's evaluations
ML_CHUNK = 100  # replicates per random stream of a batched fit by maximum likelihood
BOUNDARY_NEAR = 1e-3  # a batched ML refit with a standard deviation below this: refitted alone
PLATEAU = 1e-3  # an estimate's correlation this close to +-1: replicates start from the structure's start
PLATEAU_GAIN = 1e-8  # a replicate held on a plateau of correlations: the most going on may gain (relative)
PLATEAU_MOVE = 1e-6  # ... and how far its correlations would move at most


def draw_trials(model: GlmmModel) -> np.ndarray:
    """The number of trials of each row to draw a binomial from (ones for a 0/1 response); a
    family without trials ignores them."""
    w = model.weights
    return np.round(w).astype(np.int64) if np.any(w > 1) else np.ones(model.n, dtype=np.int64)


def glmer_blocks(
    fit: GlmerFit,
    nsim: int,
    use_u: bool,
    rng: np.random.Generator,
    block: int,
    params: tuple[np.ndarray, np.ndarray] | None = None,
) -> Iterator[np.ndarray]:
    """Simulated responses on the model's scale (a binomial's proportions), ``block`` replicates
    (columns) at a time: the same numbers for any ``block``. ``params``: ``(beta, theta)`` to
    simulate with instead of the fit's (a power analysis's)."""
    m = fit.model
    beta, theta = (fit.beta, fit.theta) if params is None else params
    fixed = m.offset + m.X @ beta
    ZL = m.z_matrix() @ m.lambda_matrix(theta)
    U = None if use_u else rng.standard_normal((nsim, ZL.shape[1]))
    trials = draw_trials(m)
    for lo in range(0, nsim, block):
        hi = min(lo + block, nsim)
        random = ZL @ (np.repeat(fit.optimum.state.u[:, None], hi - lo, axis=1) if U is None else U[lo:hi].T)
        mu = m.fam.linkinv(fixed[:, None] + np.asarray(random)).T  # (replicates, n)
        yield m.fam.draws_as_response(m.fam.draw(mu, trials, rng), trials).T


def glmer_statistic(
    fit: GlmerFit, theta: np.ndarray, beta: np.ndarray, extra: np.ndarray | None = None
) -> np.ndarray:
    """The default statistic of replicates (R, ntheta) and (R, p): the random effects' standard
    deviations and correlations, then the fixed effects (lme4's ``confint`` order); for a
    family whose one parameter the fit estimates, its ``sigma`` (glmmTMB's ``sigma()``) at
    ``log phi`` between the two (lmer's order); then the zero-inflation model's coefficients
    and a dispersion model's (glmmTMB's order). ``extra`` (R, k): the parameters after
    ``(theta, beta)``, ``(beta_d, beta_z)`` (:func:`~mixedmodels.glmm.laplace_ml.extra_size`)."""
    sdcor = sdcor_from_theta(fit.model.layout, theta, np.ones(len(theta)))
    k = extra_size(fit.model)
    if not k:
        return np.column_stack([sdcor, beta])
    assert extra is not None
    aux = fit.model.aux
    n_disp = 1 if aux is None else aux.disp_size(fit.family)
    beta_d, beta_z = extra[:, :n_disp], extra[:, n_disp:]
    if aux is None or aux.disp is None:  # the one log phi (or none): its sigma
        sigma = family_sigma(fit, beta_d[:, 0]) if n_disp else np.empty((len(theta), 0))
        return np.column_stack([sdcor, sigma, beta, beta_z])
    return np.column_stack([sdcor, beta, beta_z, beta_d])


def glmer_statistic_names(fit: GlmerFit) -> list[str]:
    """The names of :func:`glmer_statistic`'s columns (``zi.<column>``, ``disp.<column>`` for
    the auxiliary models' coefficients)."""
    aux = fit.model.aux
    one = fit.family.conditional.estimates_parameter and (aux is None or aux.disp is None)
    zi = [] if aux is None or aux.zi is None else [f"zi.{n}" for n in aux.zi.names]
    disp = [] if aux is None or aux.disp is None else [f"disp.{n}" for n in aux.disp.names]
    return [*fit.varpar_names, *(["sigma"] if one else []), *fit.fixef_names, *zi, *disp]


def glmer_original(fit: GlmerFit) -> np.ndarray:
    """:func:`glmer_statistic` of the fit itself."""
    extra = _fit_extra(fit)
    return glmer_statistic(fit, fit.theta[None], fit.beta[None], extra[None])[0]


def _fit_extra(fit: GlmerFit) -> np.ndarray:
    """The fit's parameters after ``(theta, beta)`` (empty where there are none)."""
    nt, p = fit.ntheta, fit.model.p
    return np.array(fit.optimum.opt.theta[nt + p : nt + p + extra_size(fit.model)], dtype=float)


def _mirrored(x: np.ndarray, diagonal: int, below: list[int]) -> np.ndarray:
    """Points ``x`` (m, d) stopped with a template's diagonal entry at 0, moved off that face:
    the entry at the length of the entries below it (0.1 at least) and those entries negated.

    On the face the entries below the zero only rotate the template (their sign is no
    parameter of the covariance), but the way off it depends on their sign: steps that stopped
    there with the sign that makes leaving cost are restarted on the other side."""
    out = np.array(x, dtype=float)
    out[:, below] = -x[:, below]
    out[:, diagonal] = np.maximum(0.1, np.linalg.norm(x[:, below], axis=1))
    return out


def _extreme_correlation(cov: np.ndarray) -> bool:
    """Whether a covariance matrix has a correlation within ``PLATEAU`` of +-1 (between
    effects with a positive variance)."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    pos = sd > 0
    corr = cov[np.ix_(pos, pos)] / np.outer(sd[pos], sd[pos])
    off = ~np.eye(int(pos.sum()), dtype=bool)
    return bool(np.any(np.abs(corr[off]) > 1.0 - PLATEAU))


def family_sigma(fit: GlmerFit, log_phi: np.ndarray) -> np.ndarray:
    """The family's ``sigma`` at each ``phi = exp(log_phi)`` (NaN where ``log_phi`` is)."""
    fam = fit.family.conditional
    return np.array(
        [fam.with_parameter(float(np.exp(v))).sigma if np.isfinite(v) else np.nan for v in log_phi]
    )


class GlmerRefits:
    """Refits of one glmer fit for chunks of simulated responses (see the module)."""

    def __init__(self, fit: GlmerFit, statistic, chunk: int, large_chunk: int):
        """``statistic``: None (the default statistic) or a function of a fit returning a flat
        array."""
        self.fit, self.statistic = fit, statistic
        self.chunks = (chunk, large_chunk)
        model = fit.model
        self.nt = model.layout.ntheta
        self.ml = fits_ml(fit.family)  # fitted glmmTMB's way: x = (theta, beta, extra)
        self.lower = (
            ml_lower(model) if self.ml else np.concatenate([model.layout.lower(), np.full(model.p, -np.inf)])
        )
        self.diag = model.layout.diagonal_mask()
        single = len(model.reterms) == 1 and fit.nagq == 1 and statistic is None and fit.fixef_prior is None
        batchable = single and self.ml and MlBatch.suitable(model, fit.optimum.state.mu)
        self.ml_batch = MlBatch(model) if batchable else None
        self.batch = SingleTermBatch(model) if single and not self.ml else None

    def chunk_size(self) -> int:
        """Replicates per random stream: small chunks for one replicate at a time."""
        if self.ml_batch is not None:  # a unit of work of this size is seconds: n_jobs shares them
            return ML_CHUNK
        return self.chunks[0] if self.batch is not None else self.chunks[1]

    def bytes_per_replicate(self) -> float:
        """Memory of one replicate in a batched refit (its difference stencil included)."""
        d = len(self.lower)
        return 8.0 * self.fit.model.n * (12 + 4 * (d + 1))

    def start(self) -> np.ndarray:
        """The estimate, a variance at 0 moved off its bound (a replicate need not be singular),
        and a singular term with correlations at its structure's start (identity templates).

        A singular term's correlations are no start: where a standard deviation is 0 an
        unstructured template's entries below it only rotate it, so a replicate can stop on
        that face with the wrong sign below, and a correlation parameter at ``rho = +-1``
        (``a`` large) sits on a plateau of the criterion that the steps do not leave."""
        theta = self.fit.theta.copy()
        theta[self.diag & (theta <= 0)] = 0.5
        for term, lo in zip(self.fit.model.layout.structures, self.fit.model.layout.offsets):
            part = slice(lo, lo + term.ntheta)
            if self.reset[part].any():
                theta[part] = term.start()
        return np.concatenate([theta, self.fit.beta, _fit_extra(self.fit)])

    @cached_property
    def reset(self) -> np.ndarray:
        """True at the ``theta`` entries of terms with correlations that are singular or have a
        correlation within ``PLATEAU`` of +-1 (see :meth:`start`)."""
        layout, theta = self.fit.model.layout, self.fit.theta
        out = np.zeros(layout.ntheta, dtype=bool)
        for term, lo in zip(layout.structures, layout.offsets):
            part = slice(lo, lo + term.ntheta)
            if term.variance_mask.all():
                continue
            T = term.factor(theta[part])
            out[part] = term.singular(theta[part][None])[0] or _extreme_correlation(T @ T.T)
        return out

    def start_hessian(self) -> np.ndarray | None:
        """The fit's Hessian as the steps' first estimate, unless :meth:`start` moved a term to
        its start (or it is not finite): then differences at the start."""
        H0 = self.fit.optimum.hessian
        if H0 is None or not np.all(np.isfinite(H0)) or self.reset.any():
            return None
        return H0

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Statistics (m, s) of the replicates ``Y`` (n, m), their status and their ``theta``."""
        values, status, theta, _ = self.run_flagged(Y)
        return values, status, theta

    def run_flagged(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`run` and which statistics (m, s) of each replicate are separated fixed effects.

        Status: "failed", "separated" (some fixed effect's estimate is infinite: see
        :mod:`mixedmodels.numerics.separation`; a failed refit of such a replicate is fitted again with
        the separated coefficients at the stated point), "singular" or "ok".
        """
        x, failed, fits = self.refit_points(Y)
        seps = self.separations(Y)
        if self.statistic is None and not self.ml:  # (a separated ML refit has no stated point)
            for i in np.flatnonzero(failed):
                sep = seps[i]
                again = None if sep is None else self._refit_separated(Y[:, i], sep)
                if again is not None:
                    x[i], failed[i] = again, False
        theta = x[:, : self.nt]
        p = self.fit.model.p
        if self.statistic is None:
            values = glmer_statistic(self.fit, theta, x[:, self.nt : self.nt + p], x[:, self.nt + p :])
        else:
            values = self._custom(fits)
        values[failed] = np.nan
        separated = np.array([sp is not None for sp in seps], dtype=bool) & ~failed
        singular = self.fit.model.layout.singular_rows(theta)
        status = np.where(
            failed, "failed", np.where(separated, "separated", np.where(singular, "singular", "ok"))
        )
        names = glmer_statistic_names(self.fit)
        column = None if self.statistic is not None else names.index
        return values, status, theta, separated_mask(seps, separated, values.shape[1], column)

    def refit_points(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        """Each replicate's (a column of ``Y``) optimum ``x = (theta, beta, extra)`` (the
        start where it failed), which failed, and the refits as fits (for a custom statistic)."""
        if self.batch is not None or self.ml_batch is not None:
            x, failed = self._batch(Y.T)
            return x, failed, []
        return self._one_by_one(Y.T)

    def criteria(self, x: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The criterion (``-2 log L``, Laplace, with its constant) of each replicate (a column of
        ``Y``) at ``x``, for a fit by maximum likelihood over every parameter."""
        if self.ml_batch is not None:
            u0 = np.tile(self.fit.optimum.state.u.reshape(1, -1, self.ml_batch.base.k), (len(x), 1, 1))
            return self.ml_batch.laplace(x, Y.T, u0)[0]
        out = np.empty(len(x))
        for i in range(len(x)):
            fg, _ = laplace_ml_function(self.fit.model.with_response(Y[:, i]), self.fit.optimum.state.u)
            out[i] = fg(x[i])[0]
        return out

    def separations(self, Y: np.ndarray) -> list[Separation | None]:
        """The separation of each replicate (a column of ``Y``) on the fixed-effects design: the
        program only where the replicate's two-sided rows leave a direction free."""
        if self.fit.fixef_prior is not None:  # the prior keeps every estimate finite
            return [None] * Y.shape[1]
        return self.separation_check.many(Y)

    @cached_property
    def separation_check(self) -> SeparationCheck:
        m = self.fit.model
        return SeparationCheck(m.X, m.weights, m.fam, names=self.fit.fixef_names)

    def _refit_separated(self, y: np.ndarray, sep: Separation) -> np.ndarray | None:
        """A separated replicate's ``(theta, beta)`` with the separated coefficients at the stated
        point (None where that fails too)."""
        try:
            with np.errstate(all="ignore"):
                optimum, _ = fit_separated(self.fit.model.with_response(y), self.fit.nagq, sep)
        except (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None
        if not optimum.opt.converged:
            return None
        return np.concatenate([optimum.opt.theta[: self.nt], optimum.state.beta])

    # ------------------------------------------------------------ batched
    def _batch(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replicates by batched quasi-Newton steps, ``BATCH_ROWS`` rows of data at a time (the
        arrays of a step then stay in cache); one by one where those steps fail."""
        size = max(1, BATCH_ROWS // self.fit.model.n)
        part = self._batch_part if self.ml_batch is None else self._ml_batch_part
        parts = [part(Y[lo : lo + size]) for lo in range(0, len(Y), size)]
        x = np.vstack([p[0] for p in parts])
        failed = np.concatenate([p[1] for p in parts])
        for i in np.flatnonzero(failed):
            again, _ = self._refit(Y[i])
            if again is not None:
                x[i], failed[i] = again, False
        return x, failed

    def _batch_part(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch, nt = self.batch, self.nt
        assert batch is not None
        m = len(Y)
        resp = batch.responses(Y)
        modes = np.zeros((m, batch.n1, batch.k))
        best = np.full(m, np.inf)

        def fg(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f, g, md = batch.laplace(X[:, :nt], X[:, nt:], resp.take(rows), modes[rows], tol=REFIT_PIRLS)
            better = f < best[rows]  # warm starts from each replicate's lowest point so far
            best[rows[better]], modes[rows[better]] = f[better], md.u[better]
            return f, g

        H0 = self.start_hessian()
        res = minimize_gradient_batch(fg, np.tile(self.start(), (m, 1)), self.lower, H0=H0, ftol=REFIT_FTOL)
        x, f, converged = res.x, res.fun, res.converged
        for diagonal, below in self.fit.model.layout.rotation_columns():
            stuck = np.flatnonzero(converged & (x[:, diagonal] < BOUNDARY_NEAR))
            self._again(fg, x, f, stuck, _mirrored(x, diagonal, list(below)))
        self._plateaus(fg, x, f, converged)
        return x, ~converged

    def _plateaus(self, fg, x: np.ndarray, f: np.ndarray, converged: np.ndarray) -> None:
        """Unconverged problems whose correlation parameters ran out onto a plateau (a
        correlation matrix within ``PLATEAU`` of singular: ``rho -> 1`` as ``a -> inf``, the
        supremum at no finite ``a``): the other parameters minimized with those held, and the
        point taken (converged, in place) where doubling them lowers the criterion by less than
        ``PLATEAU_GAIN`` (relative) and moves no correlation by ``PLATEAU_MOVE``: its statistics
        are then those of the supremum; the rest are left to the one-by-one refits."""
        held = self._plateau_mask(x[:, : self.nt])
        todo = np.flatnonzero(~converged & held.any(axis=1))
        for pattern in np.unique(held[todo], axis=0):
            rows = todo[np.all(held[todo] == pattern, axis=1)]
            hold = np.concatenate([pattern, np.zeros(x.shape[1] - self.nt, dtype=bool)])
            base = x[rows].copy()

            def fg_free(X: np.ndarray, sub: np.ndarray, rows=rows, base=base, hold=hold):
                full = base[sub].copy()
                full[:, ~hold] = X
                fx, gx = fg(full, rows[sub])
                return fx, gx[:, ~hold]

            res = minimize_gradient_batch(fg_free, base[:, ~hold], self.lower[~hold], ftol=REFIT_FTOL)
            point = base.copy()
            point[:, ~hold] = res.x
            further = point.copy()
            further[:, hold] *= 2.0
            f_further = fg(further, rows)[0]
            small = f_further >= res.fun - PLATEAU_GAIN * np.maximum(1.0, np.abs(res.fun))
            moved = self._correlation_change(point[:, : self.nt], further[:, : self.nt])
            flat = res.converged & small & (moved < PLATEAU_MOVE)
            x[rows[flat]], f[rows[flat]], converged[rows[flat]] = point[flat], res.fun[flat], True

    def _correlation_change(self, theta: np.ndarray, other: np.ndarray) -> np.ndarray:
        """The largest change of a correlation of a structured term between rows of ``theta``
        and of ``other``."""
        layout = self.fit.model.layout
        out = np.zeros(len(theta))
        for term, lo in zip(layout.structures, layout.offsets):
            if not isinstance(term, Structured) or not term.ncorrelation:
                continue
            part = slice(lo + term.nscale, lo + term.ntheta)
            for b in range(len(theta)):
                change = term.correlation(theta[b, part]) - term.correlation(other[b, part])
                out[b] = max(out[b], float(np.max(np.abs(change))))
        return out

    def _plateau_mask(self, theta: np.ndarray) -> np.ndarray:
        """True at the correlation parameters of structured terms whose correlation matrix is
        within ``PLATEAU`` of singular (smallest eigenvalue), for each row of ``theta``."""
        layout = self.fit.model.layout
        out = np.zeros(theta.shape, dtype=bool)
        for term, lo in zip(layout.structures, layout.offsets):
            if not isinstance(term, Structured) or not term.ncorrelation:
                continue
            part = slice(lo + term.nscale, lo + term.ntheta)
            for b in range(len(theta)):
                out[b, part] = np.linalg.eigvalsh(term.correlation(theta[b, part]))[0] < PLATEAU
        return out

    def _again(self, fg, x: np.ndarray, f: np.ndarray, rows: np.ndarray, starts: np.ndarray) -> None:
        """Problems ``rows`` minimized again from ``starts[rows]`` with a new Hessian of
        differences; kept where clearly lower (in place)."""
        if not rows.size:
            return

        def fg_rows(X: np.ndarray, sub: np.ndarray):
            return fg(X, rows[sub])

        again = minimize_gradient_batch(fg_rows, starts[rows], self.lower, ftol=REFIT_FTOL)
        better = again.converged & (again.fun < f[rows] - 1e-8 * np.maximum(1.0, np.abs(f[rows])))
        x[rows[better]], f[rows[better]] = again.x[better], again.fun[better]

    def _ml_batch_part(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replicates of a fit by maximum likelihood over ``x = (theta, beta, extra)``, all
        at once (:class:`~mixedmodels.glmm.laplace_ml_batch.MlBatch`); those that stop near
        ``theta``'s bound, where the fit's steps end with lme4's boundary check, are left to
        :meth:`_refit` (as failed here)."""
        batch = self.ml_batch
        assert batch is not None
        m = len(Y)
        modes = np.tile(self.fit.optimum.state.u.reshape(1, batch.base.n1, batch.base.k), (m, 1, 1))
        best = np.full(m, np.inf)
        const = None if batch.estimates else batch.constants(Y, None)

        def fg(X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c = None if const is None else const[rows]
            f, g, u = batch.laplace(X, Y[rows], modes[rows], c)
            better = f < best[rows]  # warm starts from each replicate's lowest point so far
            best[rows[better]], modes[rows[better]] = f[better], u[better]
            return f, g

        H0 = self.start_hessian()
        res = minimize_gradient_batch(fg, np.tile(self.start(), (m, 1)), self.lower, H0=H0)
        near = np.any((res.x[:, : self.nt] < BOUNDARY_NEAR) & self.diag, axis=1)
        return res.x, ~res.converged | near

    # ------------------------------------------------------------ one by one
    def _one_by_one(self, Y: np.ndarray):
        m = len(Y)
        x = np.tile(self.start(), (m, 1))
        failed = np.zeros(m, dtype=bool)
        fits: list[GlmerFit | None] = []
        with single_threaded_blas(one_blas_thread(self.fit.model)):
            for i in range(m):
                xi, optimum = self._refit(Y[i])
                failed[i] = xi is None
                if xi is not None:
                    x[i] = xi
                custom = optimum is not None and self.statistic is not None
                fits.append(self._as_fit(Y[i], optimum) if custom else None)
        return x, failed, fits

    def _refit(self, y: np.ndarray):
        """One replicate's ``(theta, beta)`` (None where the refit fails) and, where it was fitted
        in full, its optimum."""
        model = self.fit.model.with_response(y)
        if self.ml:
            return self._refit_ml(model)
        if self.fit.fixef_prior is not None:  # the penalized fit (no separation to hold)
            try:
                with np.errstate(all="ignore"):
                    optimum = fit_glmm_prior(model, self.fit.nagq, self.fit.fixef_prior)
            except (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError):
                return None, None
            if not optimum.opt.converged:
                return None, None
            return np.concatenate([optimum.opt.theta[: self.nt], optimum.state.beta]), optimum
        if self.fit.nagq == 1 and self.statistic is None:
            x = self._laplace_steps(model)
            if x is not None:
                return x, None
        try:
            optimum = fit_glmm(model, self.fit.nagq)
        except (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None, None
        if not optimum.opt.converged:
            return None, None
        return np.concatenate([optimum.opt.theta[: self.nt], optimum.state.beta]), optimum

    def _laplace_steps(self, model: GlmmModel) -> np.ndarray | None:
        """One replicate's optimum ``(theta, beta)`` by the Laplace criterion's quasi-Newton steps
        from the estimate (None where they do not converge).

        The steps start from the fit's Hessian (:meth:`start_hessian`). Near a variance's bound
        that Hessian can be far off: the criterion is even in a diagonal entry of ``theta``, so its
        gradient vanishes as the entry goes to 0, and steps whose Hessian has the wrong curvature
        there can stop just off the bound (beyond the escape's reach) below a lower interior
        point. A replicate that stops with a diagonal entry below ``BOUNDARY_NEAR`` is minimized
        again from the estimate with a Hessian of differences, and the lower of the two kept."""
        H0 = self.start_hessian()
        best = None
        for hessian in (H0, None) if H0 is not None else (None,):
            fg, _ = laplace_function(model, False, self.fit.beta, None)
            res = minimize_gradient(fg, self.start(), self.lower, H0=hessian)
            if res.converged[0] and (best is None or res.fun[0] < best[1]):
                best = (res.x[0], res.fun[0])
            near = np.any(self.diag & (res.x[0, : self.nt] < BOUNDARY_NEAR))
            if res.converged[0] and not near:
                break
        return None if best is None else best[0]

    def _refit_ml(self, model: GlmmModel):
        """:meth:`_refit` of a fit by maximum likelihood over ``x = (theta, beta, extra)``:
        from the estimate (the default statistic), else (or where those steps do not converge)
        from the start as the fit; the optimum is ``(optimum, model at it)`` there."""
        fit = self.fit
        if self.statistic is None:
            H0 = self.start_hessian()
            try:
                with np.errstate(all="ignore"):
                    opt, u = refit_laplace_ml(model, self.start(), fit.optimum.state.u, H0)
                if opt.converged and u is not None:
                    return opt.theta, None
            except (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError):
                pass
        try:
            with np.errstate(all="ignore"):
                optimum, at = fit_laplace_ml(model)
                optimum, at, _ = checked_laplace_ml(at, optimum, check=False)  # a singular one restarted
        except (IrlsError, np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None, None
        if not optimum.opt.converged:
            return None, None
        return optimum.opt.theta, (optimum, at)

    def _as_fit(self, y: np.ndarray, optimum) -> GlmerFit:
        if self.ml:  # (optimum, the model at it)
            optimum, at = optimum
            return replace(self.fit, family=at.fam, model=at, optimum=optimum, messages=())
        return replace(self.fit, model=self.fit.model.with_response(y), optimum=optimum, messages=())

    def _custom(self, fits: list) -> np.ndarray:
        """The statistic of each refit (NaN, as wide as on the fit, where it failed); the
        statistic here returns a flat array."""
        width = len(self.statistic(self.fit))
        rows = [self.statistic(f) if f is not None else np.full(width, np.nan) for f in fits]
        return np.array(rows, dtype=float).reshape(len(rows), width)
