"""Parametric bootstrap with lme4's ``bootMer`` semantics: simulate, refit, collect.

Replicates are simulated from the fitted model (:mod:`mixedmodels.lmm.simulate`), with new random
effects (``use_u=False``) or the conditional modes held fixed (``use_u=True``), and refitted.
Only the response changes between replicates, so nothing about ``X`` and ``Z`` is rebuilt:

- a linear model is refitted for all replicates by one least-squares solve;
- a small mixed model (see :class:`mixedmodels.numerics.batch.BatchCriterion`) is refitted for a whole
  chunk of replicates at once: a batched criterion and a vectorized Newton method
  (:mod:`mixedmodels.numerics.newton`), warm-started at the original estimate; a replicate where that
  does not converge is refitted by BOBYQA from scratch, and one that still fails is counted;
- a large mixed model is refitted replicate by replicate by Newton from the original estimate
  (BOBYQA where that does not converge).

A GLM or GLMM replicate whose fixed effects are separated (a level with no events: an
infinite estimate, :mod:`mixedmodels.numerics.separation`) is found by a linear program on ``X`` with
its response (a few microseconds a replicate: a rank check first, the program once per pattern
of sides), counted and flagged, and its separated estimates are left out of ``sd()``,
``bias()`` and the normal intervals.

Replicates come in fixed chunks (their size set by the model alone), each with its own random
stream spawned from ``seed``, so the replicates are the same whatever ``n_jobs`` is, and on a
Dask cluster (``client``) whatever the number of workers (:mod:`mixedmodels.replicates.driver`,
shared with power by simulation and many responses).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..base.messages import warn
from ..base.protocols import fit_of
from ..base.seeds import replicate_count
from ..covariance.layout import sdcor_from_theta
from ..fixed.glm import GlmFit, bootstrap_statistic
from ..fixed.lm import LmFit
from ..glmm.fit import GlmerFit
from ..lmm.engine import refit
from ..lmm.fit import LmerFit
from ..numerics.batch import BatchCriterion
from ..numerics.irls import IrlsError
from ..numerics.newton import minimize_batch
from ..numerics.separation import SeparationCheck, separated_mask
from ..report.rformat import html_block, html_frame, html_lines
from .driver import CHUNK, LARGE_CHUNK, Refits, run_replicates
from .glmm_bootstrap import GlmerRefits, glmer_original, glmer_statistic_names

__all__ = ["BootstrapResult", "LmerRefits", "bootstrap"]


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Replicates of a parametric bootstrap and what is read from them.

    Attributes
    ----------
    replicates : DataFrame
        One row per replicate, one column per statistic (NaN where the refit failed).
    t0 : Series
        The statistic on the original fit.
    status : Series
        Per replicate: "ok", "singular" (a variance estimated at 0), "separated" (some fixed
        effect's estimate is infinite: :mod:`mixedmodels.numerics.separation`) or "failed" (in that order
        of precedence: a separated replicate may also be singular).
    use_u : bool
        Whether the random effects were held at their conditional modes.
    separated : DataFrame of bool
        Shaped as ``replicates``: True for the statistics of a separated replicate that are
        separated fixed effects (all of a custom statistic's), which :meth:`sd` and the normal
        intervals leave out by default.
    """

    replicates: pd.DataFrame
    t0: pd.Series
    status: pd.Series
    use_u: bool
    seed: object = None
    separated: pd.DataFrame | None = None

    @property
    def nsim(self) -> int:
        return len(self.replicates)

    @cached_property
    def n_failed(self) -> int:
        """Replicates whose refit failed (their statistics are NaN)."""
        return int((self.status == "failed").sum())

    @cached_property
    def n_singular(self) -> int:
        """Replicates whose refit has a variance component estimated at 0."""
        return int((self.status == "singular").sum())

    @cached_property
    def n_separated(self) -> int:
        """Replicates with separated fixed effects (infinite estimates; see :attr:`separated`)."""
        return int((self.status == "separated").sum())

    def kept(self, include_separated: bool = False) -> pd.DataFrame:
        """The replicates with failed refits as NaN and, unless ``include_separated``, the
        separated estimates of separated replicates too."""
        if include_separated or self.separated is None or not self.separated.to_numpy().any():
            return self.replicates
        return self.replicates.mask(self.separated.to_numpy())

    def sd(self, include_separated: bool = False) -> pd.Series:
        """Bootstrap standard deviation of each statistic: failed replicates left out, and the
        separated estimates of separated replicates (whose values are wherever the run-off
        stopped) unless ``include_separated``."""
        return self.kept(include_separated).std(ddof=1).rename("sd")

    def excluded_note(self) -> str:
        """A sentence on the failed and separated replicates and what is left out, or ""."""
        parts = []
        if self.n_failed:
            parts.append(f"{self.n_failed} of {self.nsim} refits failed (left out)")
        if self.n_separated:
            counts = self.separated.sum() if self.separated is not None else pd.Series(dtype=int)
            which = ", ".join(f"{c}: {int(k)}" for c, k in counts.items() if k)
            parts.append(
                f"{self.n_separated} of {self.nsim} replicates have separated fixed effects "
                f"(infinite estimates; {which}): those estimates are left out of sd() and the normal "
                "intervals (sd(include_separated=True) keeps them; status == 'separated' flags them)"
            )
        return "bootstrap: " + "; ".join(parts) if parts else ""

    def bias(self, include_separated: bool = False) -> pd.Series:
        """Mean of the replicates less the original (left out as in :meth:`sd`)."""
        return (self.kept(include_separated).mean() - self.t0).rename("bias")

    def run_off(self) -> pd.DataFrame:
        """The replicates with each separated estimate of a separated replicate replaced by the
        infinity it stands for, on its side of the original estimate (the value is wherever the
        run-off stopped)."""
        if self.separated is None or not self.separated.to_numpy().any():
            return self.replicates
        values = self.replicates.to_numpy(dtype=float)
        side = np.where(values >= self.t0[self.replicates.columns].to_numpy(), np.inf, -np.inf)
        out = np.where(self.separated.to_numpy(), side, values)
        return pd.DataFrame(out, index=self.replicates.index, columns=self.replicates.columns)

    def confint(self, method: str = "percentile", level: float = 0.95, parm=None) -> pd.DataFrame:
        """Bootstrap confidence intervals, one row per statistic.

        Parameters
        ----------
        method : {"percentile", "basic", "normal", "shortest"}
            Percentile: quantiles of the replicates. Basic: ``2 t0 - `` the reversed quantiles.
            Normal: ``t0 - bias -+ z sd`` (bias and sd without the separated estimates of
            separated replicates, as :meth:`sd`). Shortest: the shortest interval holding ``level`` of
            the replicates. The quantile-based intervals read a separated estimate as the
            infinity it is (:meth:`run_off`): an end is infinite where more than its tail of the
            replicates ran off.
        level : float
            Coverage, between 0 and 1.
        parm : list of str, optional
            Statistics to include (all by default).
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        reps = self.run_off()
        if parm is not None:
            reps = reps[list(parm)]
        t0 = self.t0[reps.columns]
        a = (1 - level) / 2
        if method == "percentile":
            lo, hi = _quantile(reps, a), _quantile(reps, 1 - a)
        elif method == "basic":
            lo, hi = 2 * t0 - _quantile(reps, 1 - a), 2 * t0 - _quantile(reps, a)
        elif method == "normal":
            z = stats.norm.ppf(1 - a)
            center, sd = t0 - self.bias()[reps.columns], self.sd()[reps.columns]
            lo, hi = center - z * sd, center + z * sd
        elif method == "shortest":
            bounds = [_shortest(reps[c].dropna().to_numpy(), level) for c in reps.columns]
            lo = pd.Series([b[0] for b in bounds], index=reps.columns)
            hi = pd.Series([b[1] for b in bounds], index=reps.columns)
        else:
            raise ValueError(f"method must be 'percentile', 'basic', 'normal' or 'shortest', not {method!r}")
        return pd.DataFrame({f"{100 * a:g} %": lo, f"{100 * (1 - a):g} %": hi})

    def plot(self, parm=None, kind: str = "hist"):
        """Histograms (or densities) of the replicates, one panel per statistic."""
        from ..plotting import bootstrap_figure

        return bootstrap_figure(self, parm=parm, kind=kind)

    def _summary_parts(self) -> tuple[list[str], pd.DataFrame]:
        """The heading lines and the table (original, bias, std. error) of the summary."""
        table = pd.DataFrame({"original": self.t0, "bias": self.bias(), "std. error": self.sd()})
        kind = (
            "conditional modes held fixed (use_u=True)" if self.use_u else "new random effects (use_u=False)"
        )
        lines = [
            f"Parametric bootstrap: {self.nsim} replicates, {kind}",
            f"failed refits: {self.n_failed}, singular refits: {self.n_singular}, "
            f"separated refits: {self.n_separated}",
        ]
        if self.n_separated:
            lines.append("(the std. errors leave out the separated replicates' separated estimates)")
        return lines, table

    def summary(self) -> str:
        lines, table = self._summary_parts()
        return "\n".join([*lines, "", table.to_string()])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        lines, table = self._summary_parts()
        return html_block([html_lines(lines), html_frame(table)])


def _quantile(reps: pd.DataFrame, q: float) -> pd.Series:
    """Each column's ``q`` quantile (linear interpolation, NaN left out); between an infinite
    and another value the infinite one (pandas gives NaN)."""
    below, above = reps.quantile(q, interpolation="lower"), reps.quantile(q, interpolation="higher")
    out = reps.quantile(q).where(np.isfinite(below) & np.isfinite(above))
    out = out.mask(below == -np.inf, -np.inf)
    return out.mask(above == np.inf, np.inf).where(below.notna())


def _shortest(values: np.ndarray, level: float) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    x = np.sort(values)
    k = max(1, int(math.ceil(level * len(x))))
    lo, hi = x[: len(x) - k + 1], x[k - 1 :]
    widths = np.where(lo == hi, 0.0, hi - lo)  # two equal infinities: an interval of one point
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k - 1])


# --------------------------------------------------------------------------- statistics
def _default_lmer_statistic(fit: LmerFit, theta, sigma, beta) -> np.ndarray:
    return np.column_stack([sdcor_from_theta(fit.pls.layout, theta, sigma), sigma, beta])


def _lmer_original(fit: LmerFit) -> np.ndarray:
    return _default_lmer_statistic(
        fit, fit.opt.theta[None], np.array([fit.sigma]), fit.fixef.to_numpy()[None]
    )[0]


@dataclass(frozen=True)
class _Kind:
    """How the replicates of one kind of fit are refitted, and the default statistic (its
    names and its value on the original fit) that the refits collect.

    ``engine(fit, statistic)`` makes the refit engine (``statistic`` None for the default);
    the responses come from the fit itself (:meth:`~mixedmodels.base.protocols.Fit.simulate_blocks`).
    """

    engine: Callable[..., Refits]
    names: Callable[..., list[str]]
    original: Callable[..., np.ndarray]


def _glmer_engine(fit: GlmerFit, statistic: Callable | None) -> GlmerRefits:
    flat = None if statistic is None else (lambda f: _as_values(statistic(f)))
    return GlmerRefits(fit, flat, CHUNK, LARGE_CHUNK)


# the kinds of fit a bootstrap refits (``fit.kind``), registered once
_KINDS: dict[str, _Kind] = {
    "lmer": _Kind(
        lambda fit, statistic: LmerRefits(fit, statistic),
        lambda fit: [*fit.varpar_names, "sigma", *fit.fixef_names],
        _lmer_original,
    ),
    "glmer": _Kind(
        _glmer_engine,
        glmer_statistic_names,
        glmer_original,
    ),
    "lm": _Kind(
        lambda fit, statistic: _LmChunk(fit, statistic),
        lambda fit: [*fit.names, "sigma"],
        lambda fit: np.append(fit.coef.to_numpy(), fit.sigma),
    ),
    "glm": _Kind(
        lambda fit, statistic: _GlmChunk(fit, statistic),
        lambda fit: [str(n) for n in bootstrap_statistic(fit).index],
        lambda fit: bootstrap_statistic(fit).to_numpy(),
    ),
}


# --------------------------------------------------------------------------- refits
def refit_lmer(fit: LmerFit, y: np.ndarray, start: np.ndarray | None = None) -> LmerFit:
    """A replicate's refit, without the warnings of a fit (a singular replicate is counted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return refit(fit, y, start=start)


class LmerRefits:
    """Refits of one mixed model for chunks of simulated responses (a
    :class:`~mixedmodels.replicates.driver.Refits`): the bootstrap's, and the engine of power by
    simulation and of ``lmer_many``.

    Parameters
    ----------
    fit : LmerFit
        The model refitted, from its estimate.
    statistic : callable or None
        A function of a refitted model (bootMer's ``FUN``); None for the default statistics.
    xtol, ftol : float
        Tolerances of the batched Newton steps (:func:`mixedmodels.numerics.newton.minimize_batch`).
    """

    def __init__(self, fit: LmerFit, statistic, xtol: float = 1e-9, ftol: float = 1e-13):
        self.fit, self.statistic = fit, statistic
        self.xtol, self.ftol = xtol, ftol  # of the batched Newton steps
        self.batch = BatchCriterion(fit.pls, fit.reml) if BatchCriterion.suitable(fit.pls) else None
        self.lower = fit.pls.layout.lower()
        self.diag = fit.pls.layout.diagonal_mask()
        self.vector_diag = fit.pls.layout.rotation_mask

    def chunk_size(self) -> int:
        """Replicates per random stream: small chunks for a model refitted one replicate at a time."""
        return CHUNK if self.batch is not None else LARGE_CHUNK

    def bytes_per_replicate(self) -> float:
        """Memory of one replicate in a batched refit (its stencil of evaluations included)."""
        pls = self.fit.pls
        d = len(self.lower)
        points = 1 + 2 * d + d * (d - 1) // 2
        return 8.0 * (pls.n + points * (pls.Qr**2 + 2 * pls.q1 * pls.k1 * pls.Qr))

    def start(self, m: int) -> np.ndarray:
        theta0 = self.fit.opt.theta.copy()
        theta0[self.diag & (theta0 <= 0)] = 0.5  # off the boundary: the replicate may not be singular
        return np.tile(theta0, (m, 1))

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Statistics (m, s), their status and each replicate's theta."""
        values, theta, failed = (
            self._run_batch(self.batch, Y) if self.batch is not None else self._run_single(Y)
        )
        values[failed] = np.nan
        singular = self.fit.pls.layout.singular_rows(theta)
        status = np.where(failed, "failed", np.where(singular, "singular", "ok"))
        return values, status, theta

    def _run_batch(self, batch: BatchCriterion, Y: np.ndarray):
        """All replicates in one batched Newton; BOBYQA for those it leaves unconverged."""
        resp = batch.responses(Y)

        def fn(th: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return batch.criterion(th, batch.take(resp, rows))

        theta, fmin, ok = self._minimize(fn, self.start(Y.shape[1]))
        failed = np.zeros(len(theta), dtype=bool)
        for i in np.flatnonzero(~ok):
            try:
                again = refit_lmer(self.fit, Y[:, i])
                theta[i], failed[i] = again.opt.theta, not again.converged
            except (ValueError, np.linalg.LinAlgError):
                failed[i] = True
        stuck = np.flatnonzero(ok & self._on_vector_boundary(theta))
        if stuck.size:  # again from the canonical template, where the way off the bound shows
            moved, f_moved, ok_moved = self._minimize(
                lambda th, rows: fn(th, stuck[rows]),
                np.array([self.fit.pls.layout.canonical(t) for t in theta[stuck]]),
            )
            better = ok_moved & (f_moved < fmin[stuck] - 1e-8 * np.maximum(1.0, np.abs(fmin[stuck])))
            theta[stuck[better]] = moved[better]
        if self.statistic is not None:
            fits = [
                None if failed[i] else refit(self.fit, Y[:, i], theta=theta[i]) for i in range(len(theta))
            ]
            return self._custom(fits), theta, failed
        beta, sigma = batch.estimates(theta, resp)
        return _default_lmer_statistic(self.fit, theta, sigma, beta), theta, failed

    def _minimize(self, fn, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batched Newton steps from ``start`` within lme4's bounds."""
        return minimize_batch(fn, start, self.lower, xtol=self.xtol, ftol=self.ftol)

    def _run_single(self, Y: np.ndarray):
        """One replicate at a time (a large model), each warm-started at the estimate."""
        m = Y.shape[1]
        theta, failed, fits = np.tile(self.fit.opt.theta, (m, 1)), np.zeros(m, dtype=bool), []
        start = self.start(1)[0]
        for i in range(m):
            try:
                one = refit_lmer(self.fit, Y[:, i], start)
                if self._on_vector_boundary(one.opt.theta[None, :])[0]:
                    one = self._better(
                        refit_lmer(self.fit, Y[:, i], self.fit.pls.layout.canonical(one.opt.theta)), one
                    )
                theta[i], failed[i] = one.opt.theta, not one.converged
            except (ValueError, np.linalg.LinAlgError):
                one, failed[i] = None, True
            fits.append(one)
        if self.statistic is not None:
            return self._custom(fits), theta, failed
        beta = np.array([f.fixef.to_numpy() if f else np.full(self.fit.pls.p, np.nan) for f in fits])
        sigma = np.array([f.sigma if f else np.nan for f in fits])
        return _default_lmer_statistic(self.fit, theta, sigma, beta), theta, failed

    def _on_vector_boundary(self, theta: np.ndarray) -> np.ndarray:
        """Rows of ``theta`` with a diagonal entry of a vector term's template on its bound 0.

        Newton steps can stop there short of the optimum: with that entry 0 the entries below it
        only rotate an equivalent template, and moving off the bound pays for the rotation the
        search happens to hold. From the canonical template
        (:meth:`~mixedmodels.covariance.layout.ThetaLayout.canonical`) the inward probe of
        :mod:`mixedmodels.numerics.newton` sees the way off.
        """
        return np.any(theta[:, self.vector_diag] <= 0.0, axis=1)

    @staticmethod
    def _better(again: LmerFit, one: LmerFit) -> LmerFit:
        """The refit with the lower criterion (``one`` unless ``again`` is clearly lower)."""
        return again if again.objective < one.objective - 1e-8 * max(1.0, abs(one.objective)) else one

    def _custom(self, fits: list) -> np.ndarray:
        """The user's statistic of each refit (NaN, as wide as on the fit, where the refit failed)."""
        values = [_as_values(self.statistic(f)) if f else None for f in fits]
        if any(v is None for v in values):
            gap = np.full(len(_as_values(self.statistic(self.fit))), np.nan)
            values = [gap if v is None else v for v in values]
        return np.array(values)


class _LmChunk:
    """Refits of one linear model: least squares for all replicates in one solve."""

    def __init__(self, fit: LmFit, statistic):
        self.fit, self.statistic = fit, statistic

    def chunk_size(self) -> int:
        return CHUNK

    def bytes_per_replicate(self) -> float:
        return 8.0 * 3 * self.fit.design.X.shape[0]

    def run(self, Y: np.ndarray):
        fit = self.fit
        m = Y.shape[1]
        if self.statistic is not None:
            values = np.array(
                [
                    _as_values(self.statistic(replace(fit, design=replace(fit.design, y=Y[:, i]))))
                    for i in range(m)
                ]
            )
            return values, np.full(m, "ok"), None
        kept, Q, R = fit.qr
        sw = np.sqrt(fit.weights)
        Y = fit.working_response(Y)
        coef = np.linalg.solve(R, Q.T @ (Y * sw[:, None]))
        resid = Y - fit.design.X[:, kept] @ coef
        sigma = np.sqrt(np.sum(fit.weights[:, None] * resid**2, axis=0) / fit.df_residual)
        values = np.full((m, len(fit.names) + 1), np.nan)
        values[:, kept] = coef.T
        values[:, -1] = sigma
        return values, np.full(m, "ok"), None


class _GlmChunk:
    """Refits of a generalized linear model, replicate by replicate by IRLS from the estimate."""

    def __init__(self, fit: GlmFit, statistic):
        self.fit, self.statistic = fit, statistic or bootstrap_statistic

    def chunk_size(self) -> int:
        return CHUNK

    def bytes_per_replicate(self) -> float:
        return 8.0 * 3 * self.fit.design.X.shape[0]

    def run(self, Y: np.ndarray):
        values, status, _, _ = self.run_flagged(Y)
        return values, status, None

    @cached_property
    def separation_check(self) -> SeparationCheck:
        fit = self.fit
        X = fit.design.X[:, list(fit.kept)]
        names = [fit.names[j] for j in fit.kept]
        return SeparationCheck(X, fit.prior_weights, fit.family, names=names)

    def run_flagged(self, Y: np.ndarray):
        """:meth:`run`, a separated replicate refitted with its separated coefficients at the
        stated point (:mod:`mixedmodels.numerics.separation`), status "separated", and those
        coefficients flagged (all of a custom statistic)."""
        values: list[np.ndarray | None] = []
        status: list[str] = []
        seps = self.separation_check.many(Y)
        for i in range(Y.shape[1]):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    refitted = self.fit.refit(Y[:, i], separation=seps[i])
            except IrlsError:
                refitted = None
            if refitted is None or not refitted.converged:
                values.append(None)
                status.append("failed")
            else:
                values.append(_as_values(self.statistic(refitted)))
                status.append("separated" if seps[i] is not None else "ok")
        width = len(_as_values(self.statistic(self.fit)))
        rows = [np.full(width, np.nan) if v is None else v for v in values]
        column = self.fit.names.index if self.statistic is bootstrap_statistic else None
        mask = separated_mask(seps, np.array(status) == "separated", width, column)
        return np.array(rows).reshape(len(rows), width), np.array(status), None, mask


def _as_values(result) -> np.ndarray:
    if isinstance(result, dict):
        result = list(result.values())
    return np.atleast_1d(np.asarray(result, dtype=float)).ravel()


def _names_of(value) -> list[str] | None:
    """Names of a statistic's value when it is a Series or a dict."""
    if isinstance(value, pd.Series):
        return [str(i) for i in value.index]
    if isinstance(value, dict):
        return [str(k) for k in value]
    return None


def bootstrap(
    fit: LmerFit | LmFit | GlmFit | GlmerFit,
    nsim: int,
    statistic: Callable | None = None,
    use_u: bool = False,
    seed=None,
    progress: bool = True,
    n_jobs: int = 1,
    client=None,
) -> BootstrapResult:
    """Parametric bootstrap of a fitted model, as lme4's ``bootMer``.

    Parameters
    ----------
    fit : LmerFit, LmFit, GlmFit or GlmerFit
        The fitted model to simulate from and refit (a glm fit: binomial, Poisson or Gaussian,
        refitted by IRLS from its estimate; a glmer fit: binomial with its trials, Poisson, or
        a family fitted as glmmTMB fits it (``nbinom2``, ``laplace="observed"``), refitted by
        the criterion it used, see :mod:`mixedmodels.replicates.glmm_bootstrap`).
    nsim : int
        Number of replicates.
    statistic : callable, optional
        A function of a refitted model returning a number, an array, a dict or a Series
        (bootMer's ``FUN``). By default: the standard deviations and correlations of the
        random effects, ``sigma`` and the fixed effects (lme4's ``confint`` names and order);
        for an lm fit the coefficients and ``sigma``; for a glm fit the coefficients (and the
        dispersion of a Gaussian); for a glmer fit the standard deviations and correlations of
        the random effects, the family's ``sigma`` where the fit estimates its parameter
        (glmmTMB's ``sigma()``: a negative binomial's size) and the fixed effects.
    use_u : bool
        Hold the random effects at their conditional modes (True) or draw new ones (False).
    seed : int, SeedSequence or None
        Seed of the random streams: the same seed gives the same replicates for any ``n_jobs``.
    progress : bool
        Show a progress bar (only when standard error is a terminal).
    n_jobs : int
        Worker processes (forked on this machine).
    client : dask.distributed.Client, optional
        Run the chunks of replicates on a Dask cluster instead: the model goes to each worker
        once, each chunk is a task with its own random stream, so the replicates are those of
        the serial run with the same seed, whatever the number of workers.

    Returns
    -------
    BootstrapResult
    """
    if not fit_of(fit, *_KINDS):
        raise TypeError(
            f"bootstrap needs a fit from mm.lmer, mm.glmer, mm.lm or mm.glm, not {type(fit).__name__}"
        )
    fit.require_rows("bootstrap")
    nsim = replicate_count(nsim)
    kind = _KINDS[fit.kind]
    engine = kind.engine(fit, statistic)

    def blocks(rng, m, block):
        return fit.simulate_blocks(m, rng, block, use_u)

    names: list[str] | None
    if statistic is None:
        names, t0 = kind.names(fit), kind.original(fit)
    else:
        original = statistic(fit)
        names, t0 = _names_of(original), _as_values(original)
    names = names or [f"t{i + 1}" for i in range(len(t0))]
    values, status, separated = run_replicates(
        engine, blocks, nsim, seed, progress=progress, desc="bootstrap", n_jobs=n_jobs, client=client
    )
    replicates = pd.DataFrame(values, columns=names)
    separated = pd.DataFrame(separated, columns=names)
    result = BootstrapResult(
        replicates=replicates,
        t0=pd.Series(t0, index=names, name="original"),
        status=pd.Series(status, name="status"),
        use_u=use_u,
        seed=seed,
        separated=separated,
    )
    note = result.excluded_note()
    if note:
        warn(note)
    return result
