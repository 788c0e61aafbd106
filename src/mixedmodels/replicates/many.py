"""One linear mixed model fitted to many responses at once: ``lmer_many``.

Genomics-style analyses fit the same model (``~ condition + (1 | donor) + (1 | batch)``) to
thousands of responses (genes). Only ``y`` changes between them, exactly as between the
replicates of a parametric bootstrap, so the bootstrap's batched refit does the work
(:class:`mixedmodels.replicates.bootstrap.LmerRefits`: a batched criterion,
:class:`~mixedmodels.numerics.batch.BatchCriterion`, minimized for all responses together by the
vectorized Newton method of :mod:`mixedmodels.numerics.newton`, started at the fit of the first
response with diagonal template entries moved off 0; responses it leaves unconverged are
refitted one by one by BOBYQA). A model too large to batch is refitted one response at a time
from the same start.

Missing values: each response uses its own complete rows. Responses are grouped by their
pattern of missing values and each pattern is its own model (its rows of ``data``); with no
missing values there is one pattern.

Responses are processed in pieces of at most ``PIECE`` responses of one pattern, each fitting
its pattern's template and refitting in chunks of bounded memory
(:data:`~mixedmodels.replicates.driver.WORK_BYTES`): here, in forked worker processes
(``n_jobs``) or as tasks on a Dask cluster (``client``; the data goes to each worker once).
Prior weights (``weights``) enter the batched criterion as they enter a single fit's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..base.messages import warn
from ..base.progress import progress_bar
from ..lmm.engine import refit
from ..lmm.fit import LmerFit
from ..lmm.lmer import lmer
from ..numerics.batch import BatchCriterion
from .bootstrap import LmerRefits
from .driver import batch_limit, map_units
from .many_df import satterthwaite_df

__all__ = [
    "ManyResult",
    "ResponseEstimates",
    "batch_estimates",
    "bh_adjust",
    "lmer_many",
    "response_estimates",
    "single_estimates",
    "variance_fractions",
]

_PLACEHOLDER = "__mm_y_many__"
_WEIGHTS = "__mm_weights_many__"
# Newton's steps stop tighter than a bootstrap's: the numbers are reported, to 1e-6 of a single fit
TOLERANCES = {"xtol": 1e-12, "ftol": 1e-15}
PIECE = 1000  # most responses refitted together (a unit of work for a process or a Dask task)


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ManyResult:
    """Per-response estimates of one mixed model fitted to many responses.

    Attributes
    ----------
    formula : str
        The model's right-hand side (``"~ Days + (Days | Subject)"``).
    reml : bool
        REML or maximum likelihood.
    fixef, se, df, theta, varpart : DataFrame
        One row per response: fixed effects, their standard errors, the Satterthwaite
        denominator degrees of freedom of their t tests (lmerTest's, :mod:`mixedmodels.replicates.many_df`),
        the relative covariance parameters (lme4's ``getME(fit, "theta")``) and the fraction of
        variance explained by each random-effects term and the residual
        (:func:`variance_fractions`).
    stats : DataFrame
        One row per response: ``sigma``, ``loglik``, ``nobs``, ``converged``, ``singular``,
        ``message`` (why a response was not fitted; empty for the others).
    """

    formula: str
    reml: bool
    fixef: pd.DataFrame
    se: pd.DataFrame
    df: pd.DataFrame
    theta: pd.DataFrame
    varpart: pd.DataFrame
    stats: pd.DataFrame

    @property
    def names(self) -> pd.Index:
        """The responses' names."""
        return self.fixef.index

    @cached_property
    def sigma(self) -> pd.Series:
        """Residual standard deviation of each response."""
        return self.stats["sigma"]

    @cached_property
    def loglik(self) -> pd.Series:
        """Log-likelihood of each response (for REML fits the REML criterion times -1/2, as lme4)."""
        return self.stats["loglik"]

    @cached_property
    def converged(self) -> pd.Series:
        """Whether each response's fit converged (its numbers are NaN where not)."""
        return self.stats["converged"].astype(bool)

    @cached_property
    def singular(self) -> pd.Series:
        """Whether each response's fit is on the boundary (a template diagonal entry below 1e-4)."""
        return self.stats["singular"].astype(bool)

    @property
    def n_failed(self) -> int:
        """Responses whose fit failed or did not converge (their numbers are NaN), as a
        bootstrap's ``n_failed``."""
        return int((~self.converged).sum())

    @property
    def n_singular(self) -> int:
        """Responses whose fit is singular, as a bootstrap's ``n_singular``."""
        return int(self.singular.sum())

    def tidy(self) -> pd.DataFrame:
        """One row per response and fixed-effects term.

        Columns ``response``, ``term``, ``estimate``, ``std_error``, ``df`` (Satterthwaite's),
        ``statistic`` (t, estimate / se), ``p_value`` (two-sided t test on ``df`` degrees of
        freedom: lmerTest's ``Pr(>|t|)``, as ``fit.coef_table()`` of a single fit) and
        ``p_adjusted`` (Benjamini-Hochberg across the responses, term by term).
        """
        parts = {"estimate": self.fixef, "std_error": self.se, "df": self.df}
        out = pd.concat([v.stack(future_stack=True).rename(k) for k, v in parts.items()], axis=1)
        out.index.names = ["response", "term"]
        out["statistic"] = out["estimate"] / out["std_error"]
        out["p_value"] = 2.0 * stats.t.sf(np.abs(out["statistic"].to_numpy()), out["df"].to_numpy())
        out["p_adjusted"] = out.groupby(level="term", sort=False)["p_value"].transform(bh_adjust)
        return out.reset_index()

    def __str__(self) -> str:
        n_conv = int(self.converged.sum())
        return (
            f"Linear mixed model fitted to {len(self.names)} responses by "
            f"{'REML' if self.reml else 'maximum likelihood'}: {self.formula}\n"
            f"converged: {n_conv}, failed: {self.n_failed}, singular: {self.n_singular}\n"
            f"fixed effects (mean over responses):\n{self.fixef.mean().to_string()}"
        )


def bh_adjust(p: pd.Series | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R's ``p.adjust(p, "BH")``); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size:
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


# ----------------------------------------------------------------------------- estimates
@dataclass
class ResponseEstimates:
    """Numbers of a group of responses (arrays, one row per response)."""

    beta: np.ndarray
    se: np.ndarray
    df: np.ndarray
    theta: np.ndarray
    sigma: np.ndarray
    loglik: np.ndarray
    converged: np.ndarray


def batch_estimates(batch: BatchCriterion, Y: np.ndarray, theta: np.ndarray) -> ResponseEstimates:
    """``beta``, their standard errors and Satterthwaite df, ``sigma`` and the log-likelihood at
    each response's theta.

    ``vcov(beta) = sigma^2 (R_X' R_X)^{-1}`` with ``R_X'`` the ``X`` block of each response's
    stacked factor ``L_S`` (as :meth:`~mixedmodels.numerics.pls.PLS.rx_lower` reads it from a
    single factor).
    """
    resp = batch.responses(Y)
    L, crit, r2 = batch.factor(theta, resp)
    beta, sigma = batch.estimates_from(L, r2)
    qr, p = batch.qrest, batch.p
    inv = np.linalg.inv(L[:, qr : qr + p, qr : qr + p])
    se = sigma[:, None] * np.sqrt(np.einsum("Rij,Rij->Rj", inv, inv))
    df = satterthwaite_df(batch, Y, theta)
    return ResponseEstimates(beta, se, df, theta, sigma, -crit / 2.0, np.ones(len(theta), dtype=bool))


def single_estimates(fit: LmerFit, Y: np.ndarray, theta: np.ndarray) -> ResponseEstimates:
    """The same, one response at a time (a model too large to batch)."""
    fits = [refit(fit, Y[:, i], theta=theta[i]) for i in range(Y.shape[1])]
    return ResponseEstimates(
        beta=np.array([f.fixef.to_numpy() for f in fits]),
        se=np.array([f.se.to_numpy() for f in fits]),
        df=np.array([f.satterthwaite_df.to_numpy() for f in fits]),
        theta=theta,
        sigma=np.array([f.sigma for f in fits]),
        loglik=np.array([f.loglik for f in fits]),
        converged=np.ones(len(fits), dtype=bool),
    )


def response_estimates(engine: LmerRefits, Y: np.ndarray, theta: np.ndarray) -> ResponseEstimates:
    """The numbers of each column of ``Y`` at its ``theta`` (refitted by ``engine``): all at
    once by the engine's batched criterion (:func:`batch_estimates`), or one response at a
    time for a model too large to batch (:func:`single_estimates`).

    Parameters
    ----------
    engine : LmerRefits
        The refits of the model (its batched criterion, or its fit).
    Y : ndarray (n, m)
        Responses.
    theta : ndarray (m, d)
        Each response's estimate of theta.

    Returns
    -------
    ResponseEstimates
    """
    if engine.batch is not None:
        return batch_estimates(engine.batch, Y, theta)
    return single_estimates(engine.fit, Y, theta)


def _fit_chunk(engine: LmerRefits, Y: np.ndarray) -> ResponseEstimates:
    """Refit the template's model to the columns of ``Y``; NaN where a refit failed."""
    _, status, theta = engine.run(Y)
    failed = status == "failed"
    good = np.flatnonzero(~failed)
    part = response_estimates(engine, Y[:, good], theta[good])
    fields = ("beta", "se", "df", "theta", "sigma", "loglik")
    gaps = {f: np.full((len(theta),) + getattr(part, f).shape[1:], np.nan) for f in fields}
    out = ResponseEstimates(**gaps, converged=~failed)
    for name in fields:
        getattr(out, name)[good] = getattr(part, name)
    return out


# ----------------------------------------------------------------------------- variance fractions
def variance_fractions(fit: LmerFit, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Fraction of variance of each random-effects term and the residual (rows sum to 1).

    As variancePartition's ``fitExtractVarPartModel``, restricted to the variance components:
    the fixed effects are not counted. A term ``t`` with covariance ``Sigma_t = sigma^2 T_t T_t'``
    and model rows ``z_i`` contributes the variance it adds to an observation on average over
    the fitted rows, ``mean_i z_i' Sigma_t z_i = sum(Sigma_t * Z_t'Z_t / n)``: for a random
    intercept that is its variance; for a random slope it includes the slope's variance at the
    observed covariate values (and the covariance with the intercept). The residual contributes
    ``sigma^2``; the fractions are each contribution over their sum.
    """
    terms = fit.design.reterms
    parts = np.empty((len(theta), len(terms) + 1))
    for j, (T, term) in enumerate(zip(fit.pls.layout.stacked_templates(theta), terms)):
        G = term.z.T @ term.z / len(term.z)
        parts[:, j] = np.einsum("rab,rcb,ac->r", T, T, G)
    parts[:, :-1] *= (sigma**2)[:, None]
    parts[:, -1] = sigma**2
    return parts / parts.sum(axis=1, keepdims=True)


def term_names(fit: LmerFit) -> list[str]:
    """Names of the random-effects terms (a grouping factor met again numbered ``g.1``) and "Residual"."""
    names: list[str] = []
    for term in fit.design.reterms:
        count = sum(n == term.group or n.startswith(term.group + ".") for n in names)
        names.append(term.group if count == 0 else f"{term.group}.{count}")
    return [*names, "Residual"]


def theta_names(fit: LmerFit) -> list[str]:
    """lme4's names of ``theta``: ``Subject.(Intercept)``, ``Subject.Days.(Intercept)``, ``Subject.Days``."""
    out: list[str] = []
    for group, term in zip(term_names(fit), fit.design.reterms):
        c = term.cnames
        for j in range(term.k):
            out.extend(f"{group}.{c[i]}" if i == j else f"{group}.{c[i]}.{c[j]}" for i in range(j, term.k))
    return out


# ----------------------------------------------------------------------------- driver
def _as_matrix(responses, n: int) -> tuple[np.ndarray, list[str]]:
    """The responses as an (n, R) float array and their names (``r1, r2, ...`` when unnamed)."""
    if isinstance(responses, pd.Series):
        responses = responses.to_frame()
    if isinstance(responses, pd.DataFrame):
        names = [str(c) for c in responses.columns]
        try:
            Y = responses.to_numpy(dtype=float)
        except (TypeError, ValueError):
            bad = [str(c) for c in responses.columns if not pd.api.types.is_numeric_dtype(responses[c])]
            raise ValueError(f"responses must be numbers; not numeric: {_listed(bad)}") from None
    else:
        Y = np.asarray(responses, dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        names = [f"r{i + 1}" for i in range(Y.shape[1]) if Y.ndim == 2]
    if Y.ndim != 2 or Y.shape[0] != n:
        flipped = Y.ndim == 2 and Y.shape[1] == n
        raise ValueError(
            f"responses must have one row per row of data ({n} rows, one column per response), "
            f"not shape {Y.shape}" + ("; genes in rows? pass responses.T" if flipped else "")
        )
    if Y.shape[1] == 0:
        raise ValueError("responses has no columns: there is nothing to fit")
    return Y, names


def _listed(names: list[str], most: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, ... (12 in all)``."""
    shown = ", ".join(repr(n) for n in names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names)} in all)"


def _unfittable(Y: np.ndarray) -> dict[int, str]:
    """Responses with nothing to model, by column: no observed value, an infinite value (the
    log of a zero count, say) or one value only."""
    reasons: dict[int, str] = {}
    observed = ~np.isnan(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        constant = np.nanmax(Y, axis=0) == np.nanmin(Y, axis=0)
    for test, reason in [
        (constant, "constant"),
        (np.isinf(Y).any(axis=0), "infinite values"),
        (~observed.any(axis=0), "no observed value"),
    ]:
        reasons.update({int(i): reason for i in np.flatnonzero(test)})
    return reasons


def _with_weights(data: pd.DataFrame, weights) -> tuple[pd.DataFrame, str | None]:
    """``data`` with the prior weights as a column (subset with the rows) and that column's name."""
    if weights is None:
        return data, None
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights={weights!r}: no such column of data")
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
        column = weights
    else:
        w = np.asarray(weights, dtype=float).ravel()
        if len(w) != len(data):
            raise ValueError(f"weights must have one number per row of data ({len(data)}), not {len(w)}")
        data, column = data.assign(**{_WEIGHTS: w}), _WEIGHTS
    if np.isnan(w).any() or (w < 0).any() or np.isinf(w).any():
        raise ValueError("weights must be finite non-negative numbers, one per row of data")
    return data, column


def _patterns(Y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of responses with the same missing values: (rows observed, response columns)."""
    observed = ~np.isnan(Y)
    if observed.all():
        return [(np.ones(len(Y), dtype=bool), np.arange(Y.shape[1]))]
    keys, inverse = np.unique(np.packbits(observed, axis=0).T, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    out = []
    for g in range(len(keys)):
        cols = np.flatnonzero(inverse == g)
        out.append((observed[:, cols[0]], cols))
    return out


def _template(
    formula: str,
    data: pd.DataFrame,
    y: np.ndarray,
    reml: bool,
    weights: str | None = None,
    memory_limit: float | None = None,
) -> tuple[LmerFit, np.ndarray]:
    """The fit of one response and the positions of the rows of ``data`` it used."""
    frame = data.assign(**{_PLACEHOLDER: y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lmer(f"{_PLACEHOLDER} {formula}", frame, reml=reml, weights=weights, memory_limit=memory_limit)
    used = frame.index.get_indexer(fit.design.row_index)
    return fit, used


@dataclass(frozen=True, eq=False)
class _Model:
    """What every piece of work needs: the model and the data (with the weights' column)."""

    formula: str
    data: pd.DataFrame
    reml: bool
    weights: str | None
    memory_limit: float | None = None


@dataclass(frozen=True, eq=False)
class _Piece:
    """Responses of one missingness pattern refitted together: the rows of ``data`` observed,
    the pattern's first response (whose fit is the template), the piece's responses on the
    observed rows and their names."""

    rows: np.ndarray
    first: np.ndarray
    Y: np.ndarray
    names: list[str]


def _pieces(patterns: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[int, int, int]]:
    """Pieces (pattern, first, end column) of at most ``PIECE`` responses, of even sizes.

    The pieces (and the chunks of bounded memory they are refitted in, see :func:`_fit_piece`)
    depend on the responses alone, never on ``n_jobs`` or a cluster: a response's batched refit
    agrees with its refit in another batch to about 1e-10 only (rounding in the batched
    products moves the Newton steps' stopping point), so the same batches everywhere give
    the same numbers to the last digit.
    """
    out: list[tuple[int, int, int]] = []
    for g, (_, cols) in enumerate(patterns):
        out.extend((g, lo, hi) for lo, hi in _even(len(cols), PIECE))
    return out


def _even(count: int, most: int) -> list[tuple[int, int]]:
    """``range(count)`` cut into the fewest runs of at most ``most``, of even sizes."""
    bounds = np.linspace(0, count, -(-count // most) + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _fit_piece(model: _Model, piece: _Piece) -> dict[str, pd.DataFrame]:
    """A piece's numbers (as :func:`_frames`): the template fit, then the batched refits in
    chunks of bounded memory. A process's or a Dask worker's unit of work."""
    data = model.data.loc[piece.rows].reset_index(drop=True)
    try:
        fit, used = _template(model.formula, data, piece.first, model.reml, model.weights, model.memory_limit)
    except ValueError as exc:
        if piece.rows.all():
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = f"{len(data)} complete rows of {len(piece.rows)}: {first}"
        return {"not_fitted": pd.DataFrame({"message": reason}, index=piece.names)}
    engine = LmerRefits(fit, None, **TOLERANCES)
    Y = piece.Y[used]
    limit = batch_limit(engine)
    est = _joined([_fit_chunk(engine, Y[:, lo:hi]) for lo, hi in _even(Y.shape[1], limit)])
    return _frames(fit, est, np.full(Y.shape[1], fit.nobs), piece.names)


def _piece(
    Y: np.ndarray, names: list[str], pattern: tuple[np.ndarray, np.ndarray], lo: int, hi: int
) -> _Piece:
    """Columns ``lo:hi`` of a pattern's responses as a piece of work."""
    rows, cols = pattern
    return _Piece(rows, Y[rows, cols[0]], Y[np.ix_(rows, cols[lo:hi])], [names[c] for c in cols[lo:hi]])


def _fit_spec(shared: tuple, spec: tuple[int, int, int]) -> dict[str, pd.DataFrame]:
    """A piece (pattern, first, end column) refitted from the model, responses, names and
    patterns ``shared`` (inherited by a forked process, or here)."""
    model, Y, names, patterns = shared
    g, lo, hi = spec
    return _fit_piece(model, _piece(Y, names, patterns[g], lo, hi))


def _run_pieces(model: _Model, Y, names, patterns, n_jobs: int, client, bar) -> list[dict[str, pd.DataFrame]]:
    """Each piece refitted (:func:`mixedmodels.replicates.driver.map_units`): here, in ``n_jobs``
    forked processes (which inherit the responses), or on a Dask cluster (the model goes to
    each worker once, each piece's responses with its task); results in the order of the pieces."""
    specs = _pieces(patterns)
    sizes = [hi - lo for _, lo, hi in specs]
    if client is not None:
        tasks = [_piece(Y, names, patterns[g], lo, hi) for g, lo, hi in specs]
        return map_units(_fit_piece, model, tasks, sizes, bar, client=client)
    workers = min(n_jobs, len(specs))
    batch = max(1, len(specs) // (8 * max(workers, 1)))  # many one-response patterns: fewer messages
    return map_units(_fit_spec, (model, Y, names, patterns), specs, sizes, bar, n_jobs=n_jobs, batch=batch)


def _joined(parts: list[ResponseEstimates]) -> ResponseEstimates:
    """The estimates of consecutive chunks as one."""
    fields = ResponseEstimates.__dataclass_fields__
    return ResponseEstimates(**{f: np.concatenate([getattr(c, f) for c in parts]) for f in fields})


def _frames(
    fit: LmerFit, est: ResponseEstimates, nobs: np.ndarray, names: list[str]
) -> dict[str, pd.DataFrame]:
    """One pattern's numbers as DataFrames indexed by the responses' names."""
    singular = fit.pls.layout.singular_rows(est.theta)
    fractions = np.full((len(names), len(fit.design.reterms) + 1), np.nan)
    ok = est.converged
    fractions[ok] = variance_fractions(fit, est.theta[ok], est.sigma[ok])
    index, coefs = pd.Index(names), pd.Index(list(fit.fixef_names))  # built once, shared
    return {
        "fixef": pd.DataFrame(est.beta, index=index, columns=coefs),
        "se": pd.DataFrame(est.se, index=index, columns=coefs),
        "df": pd.DataFrame(est.df, index=index, columns=coefs),
        "theta": pd.DataFrame(est.theta, index=index, columns=theta_names(fit)),
        "varpart": pd.DataFrame(fractions, index=index, columns=term_names(fit)),
        "stats": pd.DataFrame(
            {
                "sigma": est.sigma,
                "loglik": est.loglik,
                "nobs": nobs,
                "converged": est.converged,
                "singular": singular & est.converged,
            },
            index=index,
        ),
    }


def lmer_many(
    formula: str,
    data: pd.DataFrame,
    responses: np.ndarray | pd.DataFrame,
    reml: bool = True,
    progress: bool = True,
    n_jobs: int = 1,
    client=None,
    weights: str | np.ndarray | None = None,
    memory_limit: float | None = None,
) -> ManyResult:
    """Fit one linear mixed model to each of many responses, as many ``lmer`` fits but batched.

    Parameters
    ----------
    formula : str
        The model without its response: ``"~ Days + (Days | Subject)"``.
    data : pandas.DataFrame
        The covariates and grouping factors, one row per observation.
    responses : ndarray (n, R) or DataFrame
        One column per response, one row per row of ``data`` (matched by position). A
        DataFrame's column names name the responses; an array's are ``r1, r2, ...``. Missing
        values are allowed: each response uses its own complete rows. A response with no
        observed value, or with one value only, is refused.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    progress : bool
        Show a progress bar (when standard error is a terminal).
    n_jobs : int
        Worker processes (forked on this machine) refitting pieces of at most 1,000 responses
        (of one pattern of missing values) in parallel. The pieces are the same whatever ``n_jobs``
        or ``client``, and so are the numbers, to the last digit. Each process uses one BLAS
        thread (the processes share the cores).
    client : dask.distributed.Client, optional
        Refit the pieces on a Dask cluster instead (``n_jobs`` is then not used): the data goes
        to each worker once, each piece is one task.
    weights : str or array, optional
        Prior weights, as ``lmer``'s ``weights``: a column of ``data`` or one non-negative
        number per row (each response uses those of its complete rows).
    memory_limit : float, optional
        Bytes one fit's factor may take, as ``lmer``'s (default
        ``mixedmodels.options.memory_limit``): a larger model is refused with MemoryError
        by the first fit of each piece, before its factor is built.

    Returns
    -------
    ManyResult
        Each response's numbers equal those of ``lmer(f"y {formula}", data, weights=weights)``
        with ``y`` that response.

    Raises
    ------
    ValueError
        Responses with the wrong number of rows or not numeric, bad ``weights``, ``n_jobs``
        below 1, no response that can be fitted.

    Warns
    -----
    MixedModelsWarning
        Responses that are not fitted, named with the reason: no observed value, an infinite
        value, one value only, or complete rows too few for the model. Their rows of the
        result are NaN with ``converged`` False and the reason in ``stats["message"]``; the
        other responses are fitted.
    """
    formula = formula.strip()
    if not formula.startswith("~"):
        raise ValueError(f"the formula must have no response (start with '~'), not {formula!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a whole number of at least 1, not {n_jobs!r}")
    data = data.reset_index(drop=True)
    Y, names = _as_matrix(responses, len(data))
    unfit = _unfittable(Y)
    keep = [i for i in range(Y.shape[1]) if i not in unfit]
    data, wcol = _with_weights(data, weights)
    model = _Model(formula, data, reml, wcol, memory_limit)
    bar = progress_bar(len(keep), progress, "lmer_many", "response")
    try:
        parts = _run_pieces(
            model, Y[:, keep], [names[i] for i in keep], _patterns(Y[:, keep]), int(n_jobs), client, bar
        )
    finally:
        bar.close()
    notes = pd.concat(
        [pd.DataFrame({"message": list(unfit.values())}, index=[names[i] for i in unfit])]
        + [p["not_fitted"] for p in parts if "not_fitted" in p]
    )
    return _result(formula, reml, [p for p in parts if "not_fitted" not in p], notes, names)


def _in_order(frames: list[pd.DataFrame], index: pd.Index) -> pd.DataFrame:
    """The pieces' frames of one kind as one, its rows in the order of ``index`` (NaN for
    the responses in no piece); one piece already in that order is taken as it is."""
    out = frames[0] if len(frames) == 1 else pd.concat(frames)
    return out if out.index.equals(index) else out.reindex(index)


def _result(formula: str, reml: bool, parts: list, notes: pd.DataFrame, names: list[str]) -> ManyResult:
    """The pieces' numbers as one result in the order of ``names``; the responses not fitted
    (``notes``: why) get NaN, ``converged`` False and their reason in ``stats["message"]``,
    and a warning names them."""
    if len(notes):
        notes = notes.loc[[n for n in names if n in notes.index]]
    if not parts:
        raise ValueError(f"no response could be fitted: {_reasons(notes)}")
    index = pd.Index(names)
    frames = {k: _in_order([p[k] for p in parts], index) for k in parts[0]}
    stats = frames["stats"]
    if stats["converged"].dtype != bool:  # rows of responses not fitted: NaN
        stats["converged"] = stats["converged"].fillna(False).astype(bool)
        stats["singular"] = stats["singular"].fillna(False).astype(bool)
    if len(notes):
        stats["message"] = notes["message"].astype(object).reindex(index).fillna("")
    else:
        stats["message"] = pd.Series([""] * len(index), index=index, dtype=object)
    if len(notes):
        warn(f"{len(notes)} of {len(names)} responses not fitted: {_reasons(notes)}")
    return ManyResult(formula=formula, reml=reml, **frames)


def _reasons(notes: pd.DataFrame, most: int = 5) -> str:
    """``'g1' (constant ...), 'g7' (...)``, the first few of them."""
    shown = "; ".join(f"{name!r} ({reason})" for name, reason in notes["message"].iloc[:most].items())
    return shown if len(notes) <= most else f"{shown}; ... ({len(notes)} in all)"
