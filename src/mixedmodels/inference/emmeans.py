"""Estimated marginal means (least-squares means) and their pairwise contrasts, as R's emmeans.

Reference grid. Every variable of the fixed-effects formula gets values from the rows used in
the fit: a factor (a categorical or text column, or a column the formula wraps in ``factor()``)
all its levels; a numeric covariate its mean, except that one with two or fewer distinct values
(a 0/1 dummy) keeps those values, as emmeans' ``cov.keep = "2"`` does. The grid is every
combination of these values, the first variable (in the formula's order) varying fastest, and
``x_g``, the model-matrix row of grid point ``g``, is made with the fit's codings. Grouping
factors of the random effects are not part of it.

Marginal means. For each combination ``c`` of the levels of the ``specs`` and ``by`` factors,
the linear function is the equal-weight average of the grid rows with those levels,

    l_c = (1 / m_c) sum_{g in c} x_g,    emmean_c = l_c' beta,    SE_c = sqrt(l_c' V l_c),

with ``V`` the covariance of ``beta``: Kenward-Roger's adjusted covariance for
``ddf="kenward-roger"`` (emmeans' default for lmer fits), ``vcov(fit)`` for Satterthwaite's
method and for lm fits. The degrees of freedom are the method's for the contrast ``l_c``
(residual degrees of freedom for an lm fit), and the interval is
``emmean -+ t_{(1 + level) / 2, df} SE``.

glmer and glm fits. The means are on the link scale, ``V = vcov(fit)``, with infinitely many
degrees of freedom (z intervals: lme4's glmer, and a glm of every family but two), the residual
ones of a Gaussian or Gamma glm (emmeans 1.8.4-1's rule: a quasi-Poisson glm gets z intervals
though its dispersion is estimated), or ``n - npar`` for a fit glmmTMB's way (as emmeans
treats glmmTMB fits). On the response scale (``type="response"``) a mean ``eta`` with standard
error ``s`` becomes ``g^{-1}(eta)`` with ``s |d mu / d eta|`` (the delta method) and its
interval's ends ``g^{-1}(eta -+ q s)`` (the link's ``back_transform``). A pairwise contrast
``d = eta_i - eta_j`` of a log or logit link becomes a ratio of means or an odds ratio,
``exp(d)`` with standard error ``exp(d) SE(d)``, tested (``z = d / SE(d)``) on the link scale;
the contrasts of the other links stay on it, as emmeans' ``regrid`` leaves them.

Offsets. A model with an offset has it added to each mean on the link scale. emmeans 1.8.4-1
treats lm, glm and lme4 fits (lmer, glmer) one way and glmmTMB fits another: for the former
the offset of every grid point is the mean over the fit's rows of the offset's value (for
``offset(log(n))``, ``mean(log(n))``, as a covariate would be averaged), for the latter the
offset expression is evaluated at the grid's values of its variables, held at their means
(``log(mean(n))``). Each fit here follows R's treatment of its own kind: a glmer fit glmmTMB's
way (``glmmtmb_style``) the latter, every other fit the former, so that each matches the R
fit it reproduces (a Poisson glmer of the epil data: rates 6.07 and 4.35 lme4's way, 8.09 and
5.80 glmmTMB's way, as R). An offset given as an array (``offset=``) is averaged over the rows
in both. Where ``at`` names an offset's variable, the offset is evaluated at the values given
for every fit (emmeans 1.8.4-1 ignores such values for lm, glm and lme4 fits, whose offset
stays at its mean: a deliberate difference, so that ``at`` is never silently without effect).

``at``. A covariate named in ``at`` takes the values given instead of its mean (several make it
a dimension of the grid, averaged over unless ``specs`` or ``by`` name it); a factor named in
``at`` keeps the levels given, in that order.

Estimability. When the fixed-effects model matrix ``X`` is rank deficient (an empty cell), a
function ``l`` is estimable when it lies in the row space of ``X``: with ``N`` an orthonormal
basis of the null space of ``X``, when ``|N' l|^2 < 1e-8 |l|^2`` (the test of R's estimability
package). A function that is not gets NaN (printed "nonEst"), as in emmeans; an estimable one is
evaluated on the columns the fit estimated.

Pairwise contrasts. Within each ``by`` group, ``l_i - l_j`` for ``i < j`` in the table's order,
``t = estimate / SE`` on the contrast's own degrees of freedom, two-sided p-values adjusted
within the group (the family): Tukey's ``P(Q_{k, df} > sqrt(2) |t|)`` with ``k`` the number of
means (the studentized range), Sidak's ``1 - (1 - p)^m``, Bonferroni's ``min(1, m p)`` and
Holm's step-down version of it, ``m`` the number of contrasts, non-estimable ones included (as
emmeans counts them). A family of one contrast is not adjusted.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ..base.protocols import fit_of
from ..families.links import Link
from ..fixed.glm import GlmFit
from ..fixed.lm import LmFit
from ..formula.design import formula_variables, level_label, model_frame, offset_rhs, used_columns
from ..formula.frames import as_pandas
from ..formula.terms import cbind_arguments
from ..glmm.fit import GlmerFit
from ..lmm.fit import LmerFit
from ..report.rformat import format_table, html_block, html_lines, html_table, r_format

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Emmeans", "ReferenceGrid", "emmeans", "reference_grid"]

AnyFit = LmerFit | LmFit | GlmerFit | GlmFit

ESTIMABILITY_TOL = 1e-8
ADJUSTMENTS = ("tukey", "sidak", "bonferroni", "holm", "none")
_KENWARD_ROGER = {"kenward-roger", "kenward roger", "kenwardroger", "kr"}


# ------------------------------------------------------------------ the reference grid
@dataclass(frozen=True, eq=False)
class ReferenceGrid:
    """emmeans' reference grid of a fit: the grid points and their model-matrix rows.

    Attributes
    ----------
    frame : DataFrame
        One row per grid point, one column per variable of the fixed-effects formula.
    factors : tuple of str
        The variables that take several values in the grid (factors, and covariates with two
        values), in the formula's order.
    covariates : dict
        The numeric covariates held at their mean, with the mean.
    X : ndarray, shape (grid points, columns)
        The model-matrix rows of the grid points, every column of the model matrix.
    columns : tuple of str
        R's names of the model-matrix columns.
    estimated : ndarray of int
        The columns the fit estimated (aliased ones left out).
    null_basis : ndarray or None
        An orthonormal basis of the null space of the fit's model matrix; None at full rank.
    offset : ndarray, shape (grid points,)
        The model's offset at the grid points (zeros without one): the mean of the fit's offset
        over its rows (emmeans 1.8.4-1's for lm, glm and lme4 fits: ``offset(log(n))`` at
        ``mean(log(n))``), or its expressions evaluated at the grid's values of their variables
        (held at their means unless ``at`` names them: ``log(mean(n))``) for a fit glmmTMB's way
        (as emmeans treats glmmTMB fits) and for any fit whose ``at`` names an offset's
        variable. See the module docstring.
    """

    frame: pd.DataFrame
    factors: tuple[str, ...]
    covariates: dict[str, float]
    X: np.ndarray
    columns: tuple[str, ...]
    estimated: np.ndarray
    null_basis: np.ndarray | None
    offset: np.ndarray

    def average(self, names: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The combinations of the levels of ``names`` (the first varying fastest) and, for each,
        the equal-weight average of the model-matrix rows of its grid points and of their
        offsets."""
        codes = [pd.factorize(self.frame[n], sort=False)[0] for n in names]  # the grid's order
        sizes = [len(pd.unique(self.frame[n])) for n in names]
        strides = np.cumprod([1, *sizes[:-1]])
        combo = sum((c * s for c, s in zip(codes, strides)), np.zeros(len(self.frame), dtype=np.int64))
        count = int(np.prod(sizes))
        sums = np.zeros((count, self.X.shape[1]))
        np.add.at(sums, combo, self.X)
        sizes_k = np.bincount(combo, minlength=count)
        L = sums / sizes_k[:, None]
        offset = np.bincount(combo, self.offset, minlength=count) / sizes_k
        first = np.array([np.flatnonzero(combo == k)[0] for k in range(count)])
        levels = self.frame.iloc[first][list(names)].reset_index(drop=True)
        return levels, L, offset

    def estimable(self, L: np.ndarray) -> np.ndarray:
        """Which rows of ``L`` are estimable functions of the fit's coefficients."""
        if self.null_basis is None:
            return np.ones(len(L), dtype=bool)
        check = L @ self.null_basis
        size = np.maximum(np.sum(L * L, axis=1), 0.0)
        size = np.where(size < ESTIMABILITY_TOL, 1.0, size)
        return np.sum(check * check, axis=1) < ESTIMABILITY_TOL * size


def reference_grid(fit: AnyFit, at: dict[str, Any] | None = None) -> ReferenceGrid:
    """emmeans' reference grid of a fit (see the module docstring); ``at`` replaces the values
    of some variables (see :func:`emmeans`)."""
    rows = _fit_rows(fit)
    at = _check_at(fit, rows, at)
    xspec = fit.design.xspec
    if xspec is None:
        raise ValueError("this fit keeps no specification of its model matrix, which the grid needs")
    coerced = {d.source for d in xspec.derived if d.kind in ("factor", "ordered")}
    values: dict[str, np.ndarray] = {}
    factors, covariates = [], {}
    for name in _variables_in_order(fit.parsed.fixed):
        column = rows[name]
        if name in at:
            values[name] = at[name]
            if name in coerced or _is_factor(column) or len(at[name]) > 1:
                factors.append(name)
            else:
                covariates[name] = float(at[name][0])
        elif name in coerced or _is_factor(column):
            values[name] = _levels(column)
            factors.append(name)
        elif column.nunique() <= 2:
            values[name] = np.sort(column.unique())
            factors.append(name)
        else:
            covariates[name] = float(column.mean())
            values[name] = np.array([covariates[name]])
    for name in _offset_variables(fit, rows):
        if name in at and name not in values:
            values[name] = at[name]
            if len(at[name]) > 1:
                factors.append(name)
            else:
                covariates[name] = float(at[name][0])
        elif name not in values:  # held at its mean, as emmeans holds an offset's variables
            covariates[name] = float(rows[name].mean())
            values[name] = np.array([covariates[name]])
    _refuse_nesting(rows, [f for f in factors if len(values[f]) > 1], xspec.terms)
    frame = _expand(values, rows)
    X = xspec.matrix(frame)
    columns = tuple(xspec.names)
    estimated = np.array([columns.index(n) for n in _estimated_names(fit)], dtype=int)
    null_basis = None if len(estimated) == len(columns) else _null_basis(xspec.matrix(rows), len(estimated))
    offset = _grid_offset(fit, frame, any(name in at for name in _offset_variables(fit, rows)))
    return ReferenceGrid(frame, tuple(factors), covariates, X, columns, estimated, null_basis, offset)


def _check_at(fit: AnyFit, rows: pd.DataFrame, at: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """``at`` with each variable's values as an array: a covariate's numbers, a factor's levels
    (each one of the factor's levels in the rows used, in the order given)."""
    if at is None:
        return {}
    if not isinstance(at, dict):
        raise TypeError(f"at must be a dict of variable names to values, not {type(at).__name__}")
    known = set(_variables_in_order(fit.parsed.fixed)) | set(_offset_variables(fit, rows))
    out: dict[str, np.ndarray] = {}
    for name, value in at.items():
        if name not in known:
            raise ValueError(
                f"at names {name!r}, which is not a variable of the model's fixed part; its variables "
                f"are: {', '.join(sorted(known))}"
            )
        values = np.atleast_1d(
            np.asarray(value if not isinstance(value, (set, frozenset)) else sorted(value))
        )
        if values.size == 0:
            raise ValueError(f"at gives no values for {name!r}")
        column = rows[name]
        if _is_factor(column) or _coerced(fit, name):
            levels = list(_levels(column))
            unknown = [v for v in values.tolist() if v not in levels]
            if unknown:
                raise ValueError(
                    f"at gives {name!r} the value(s) {unknown}, which are not among its levels: "
                    f"{', '.join(map(str, levels))}"
                )
            out[name] = np.array([levels[levels.index(v)] for v in values.tolist()], dtype=object)
        else:
            try:
                out[name] = values.astype(float)
            except ValueError:
                raise ValueError(
                    f"at gives the numeric covariate {name!r} non-numeric values {list(values)}"
                ) from None
    return out


def _offset_variables(fit: AnyFit, rows: pd.DataFrame) -> list[str]:
    """The numeric variables of the model's offset expressions that are columns of ``rows``."""
    names: list[str] = []
    for expr in fit.design.offset_terms:
        for name in sorted(formula_variables(offset_rhs(expr))):
            if name in rows.columns and pd.api.types.is_numeric_dtype(rows[name]) and name not in names:
                names.append(name)
    return names


def _grid_offset(fit: AnyFit, frame: pd.DataFrame, at_offset: bool) -> np.ndarray:
    """The offset at each grid point (see :class:`ReferenceGrid`); ``at_offset``: whether
    ``at`` names a variable of an offset expression."""
    design = fit.design
    if design.offset is None:
        return np.zeros(len(frame))
    evaluated = at_offset or bool(getattr(fit, "glmmtmb_style", False))
    if design.offset_given or not design.offset_terms or not evaluated:
        return np.full(len(frame), float(np.mean(design.offset)))
    try:
        values = design.new_offset(frame)
    except Exception:  # noqa: BLE001 - an offset's column outside the grid: its mean over the fit
        return np.full(len(frame), float(np.mean(design.offset)))
    return np.zeros(len(frame)) if values is None else np.asarray(values, dtype=float)


def _fit_rows(fit: AnyFit) -> pd.DataFrame:
    """The model's columns over the rows used in the fit (unused factor levels dropped)."""
    if fit.data is None:
        raise ValueError("emmeans needs the fit's data (for the factor levels and covariate means)")
    fit.require_rows("emmeans")
    parsed = fit.parsed
    sides = cbind_arguments(parsed.response)
    if sides is not None:  # cbind(successes, failures): the variables of both sides
        parsed = dataclasses.replace(parsed, response=" + ".join(f"({side})" for side in sides))
    data = as_pandas(fit.data, lambda schema: used_columns(parsed, schema))
    columns = used_columns(parsed, data)
    rows, _ = model_frame(data, columns, "omit")
    if len(rows) != len(fit.design.y):  # rows dropped for their weights: take the fit's own rows
        rows, _ = model_frame(data.loc[fit.design.row_index], columns, "omit")
    return rows


def _refuse_nesting(rows: pd.DataFrame, factors: list[str], terms: Sequence[str]) -> None:
    """Refuse the nested structures for which emmeans would average within the nesting factor's
    levels only: a factor each of whose levels occurs with one level of another (in the rows
    used), or one with no main effect of its own that enters the model in an interaction with
    another factor (``A + A:B``)."""
    for inner, outer in itertools.permutations(factors, 2):
        if rows.groupby(inner, observed=True)[outer].nunique().max() == 1:
            raise NotImplementedError(
                f"{inner!r} is nested in {outer!r} (each level of {inner!r} occurs with one level of "
                f"{outer!r}); emmeans for nested factors are not supported"
            )
    term_factors = [
        {f for f in factors if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w.])", t)} for t in terms
    ]
    for f in factors:
        if {f} not in term_factors and any(f in tf and len(tf) > 1 for tf in term_factors):
            raise NotImplementedError(
                f"{f!r} has no main effect and enters the model in an interaction with another factor, "
                "which emmeans reads as nesting; emmeans for nested factors are not supported"
            )


def _variables_in_order(rhs: str) -> list[str]:
    """The variables of a right-hand side in the order they first appear in it (R's all.vars)."""

    def position(name: str) -> int:
        found = re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", rhs)
        return found.start() if found else len(rhs)

    return sorted(formula_variables(rhs), key=lambda name: (position(name), name))


def _is_factor(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(column)


def _levels(column: pd.Series) -> np.ndarray:
    """A factor's levels in R's order: a categorical's categories, else the sorted values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.categories)
    return np.sort(column.unique())


def _expand(values: dict[str, np.ndarray], rows: pd.DataFrame) -> pd.DataFrame:
    """Every combination of the values, the first variable varying fastest (R's expand.grid),
    categorical columns with the fit's categories."""
    names = list(values)
    combos = list(itertools.product(*(list(values[n]) for n in reversed(names))))
    out = {}
    for j, name in enumerate(names):
        column = [c[len(names) - 1 - j] for c in combos]
        dtype = rows[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical(column, categories=dtype.categories)
        else:  # a factor's values keep their type; a covariate's mean is a float
            out[name] = pd.Series(column)
    return pd.DataFrame(out)


def _estimated_names(fit: AnyFit) -> list[str]:
    """The columns with an estimate (all but an lm fit's aliased ones), in their order."""
    aliased = set(fit.aliased)
    return [str(n) for n in fit.fixef.index if n not in aliased]


def _null_basis(X: np.ndarray, rank: int) -> np.ndarray:
    """An orthonormal basis of the null space of ``X`` of the fit's rank."""
    _, _, vt = np.linalg.svd(X, full_matrices=True)
    return vt[rank:].T


# ------------------------------------------------------------------ inference
@dataclass(frozen=True, eq=False)
class _Inference:
    """The covariance of the estimated coefficients and the degrees of freedom of a contrast."""

    beta: np.ndarray
    V: np.ndarray
    df: Callable[[np.ndarray], float]
    method: str | None  # None for an lm fit (residual degrees of freedom, no footer line)
    link: Link | None = None  # a glmer or glm fit's link (the scale of the means)


def _inference(fit: AnyFit, ddf: str | None) -> _Inference:
    if fit_of(fit, "glm"):
        return _glm_inference(cast(GlmFit, fit), ddf)
    if fit.is_generalized:
        return _glmer_inference(cast(GlmerFit, fit), ddf)
    if not fit.is_mixed:
        fit = cast(LmFit, fit)
        if ddf is not None:
            raise ValueError(
                f"ddf={ddf!r} applies to lmer fits; an lm fit's means use its residual degrees of freedom"
            )
        kept = fit.qr[0]
        V = fit.vcov.to_numpy()[np.ix_(kept, kept)]
        df_residual = float(fit.df_residual)
        return _Inference(fit.coef.to_numpy()[kept], V, lambda l: df_residual, None)
    fit = cast(LmerFit, fit)
    method = _ddf_method(ddf)
    beta = fit.fixef.to_numpy()
    if method == "satterthwaite":
        satt = fit.satterthwaite
        return _Inference(beta, fit.vcov.to_numpy(), satt.df_contrast, method)
    kr = fit.kenward_roger  # REML fits only: an ML fit is refused there, with the reason
    return _Inference(beta, np.asarray(kr.V), kr.df_contrast, method)


def _glmer_inference(fit: GlmerFit, ddf: str | None) -> _Inference:
    """A glmer fit's means: ``vcov(fit)``, with the residual degrees of freedom ``n - npar`` for
    a fit glmmTMB's way (emmeans' for glmmTMB fits) and infinitely many (z intervals) for lme4's."""
    if ddf is not None:
        raise ValueError(f"ddf={ddf!r} applies to lmer fits; a glmer fit's means are asymptotic")
    df = float(fit.nobs - fit.npar) if fit.glmmtmb_style else math.inf
    return _Inference(fit.fixef.to_numpy(), fit.vcov.to_numpy(), lambda l: df, None, fit.family.link)


def _glm_inference(fit: GlmFit, ddf: str | None) -> _Inference:
    """A glm fit's means: ``vcov(fit)`` of the estimated coefficients, with the residual degrees
    of freedom for the families emmeans 1.8.4-1 gives them (the Gaussian and the Gamma: t
    intervals, :attr:`~mixedmodels.families.Family.emmeans_residual_df`) and infinitely many for
    every other (z intervals: the binomial, the Poisson, and the quasi families too, whose
    dispersion is estimated)."""
    if ddf is not None:
        raise ValueError(
            f"ddf={ddf!r} applies to lmer fits; a glm fit's means use its own degrees of freedom"
        )
    kept = list(fit.kept)
    V = fit.vcov.to_numpy()[np.ix_(kept, kept)]
    df = float(fit.df_residual) if fit.family.emmeans_residual_df else math.inf
    return _Inference(fit.coef.to_numpy()[kept], V, lambda l: df, None, fit.family.link)


def _ddf_method(ddf: str | None) -> str:
    """emmeans' name of the degrees-of-freedom method of an lmer fit."""
    if ddf is None:
        return "kenward-roger"
    key = ddf.strip().lower() if isinstance(ddf, str) else ddf
    if key in _KENWARD_ROGER:
        return "kenward-roger"
    if key == "satterthwaite":
        return "satterthwaite"
    raise ValueError(f"ddf must be 'kenward-roger' or 'satterthwaite', not {ddf!r}")


# ------------------------------------------------------------------ the result
@dataclass(frozen=True, eq=False)
class Emmeans:
    """Estimated marginal means of a fit, made by :func:`emmeans`.

    Attributes
    ----------
    specs, by : tuple of str
        The factors whose levels the means are for, and those they are conditional on.
    levels : DataFrame
        One row per mean: its levels of ``specs`` and ``by``.
    linfct : ndarray
        The linear functions ``l_c``, one row per mean, over every model-matrix column.
    grid : ReferenceGrid
        The reference grid they average.
    inference : _Inference
        The coefficients, their covariance and the degrees-of-freedom method.
    level : float
        Confidence level of the intervals.
    averaged_over : tuple of str
        The grid's factors the means are averaged over.
    """

    specs: tuple[str, ...]
    by: tuple[str, ...]
    levels: pd.DataFrame
    linfct: np.ndarray
    grid: ReferenceGrid
    inference: _Inference
    level: float
    averaged_over: tuple[str, ...]
    family: Any = None
    offset: np.ndarray | None = None  # the means' offsets (grid-averaged), added to their estimates

    @property
    def estimate_name(self) -> str:
        """The means' column: "emmean" (the link scale); back-transformed, emmeans' name for
        the family's mean: "prob" (binomial), "rate" (Poisson), else "response"."""
        return "emmean" if self.family is None else str(self.family.emmeans_label)

    @property
    def ratio_contrasts(self) -> bool:
        """Whether the pairwise contrasts are back-transformed to ratios of means (a log link)
        or odds ratios (a logit link), as emmeans' contrasts of means on the response scale."""
        link = self.inference.link
        return self.family is not None and link is not None and link.ratio is not None

    @property
    def bound_names(self) -> tuple[str, str]:
        """The interval's columns: emmeans' "lower.CL", "upper.CL", or "asymp.LCL",
        "asymp.UCL" for asymptotic (z) intervals."""
        df = self._estimate(self.linfct)["df"].to_numpy()
        return ("lower.CL", "upper.CL") if np.isfinite(df).any() else ("asymp.LCL", "asymp.UCL")

    @property
    def df_method(self) -> str | None:
        """The degrees-of-freedom method: "kenward-roger" or "satterthwaite"; None for an lm fit."""
        return self.inference.method

    @property
    def L(self) -> pd.DataFrame:
        """The linear functions of the means: rows of the grid-averaged model matrix."""
        index = pd.MultiIndex.from_frame(self.levels.astype(str))
        return pd.DataFrame(self.linfct, index=index, columns=list(self.grid.columns))

    def _estimate(self, L: np.ndarray) -> pd.DataFrame:
        """Estimate, SE and df of each row of ``L`` (NaN for a non-estimable one)."""
        ok = self.grid.estimable(L)
        K = L[:, self.grid.estimated]
        inf = self.inference
        estimate = np.where(ok, K @ inf.beta, np.nan)
        se = np.where(ok, np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", K, inf.V, K), 0.0)), np.nan)
        df = np.array([inf.df(k) if good else np.nan for k, good in zip(K, ok)])
        return pd.DataFrame({"estimate": estimate, "SE": se, "df": df})

    @cached_property
    def table(self) -> pd.DataFrame:
        """The means as emmeans' ``summary()``: the levels, ``emmean``, ``SE``, ``df``,
        ``lower.CL``, ``upper.CL`` (one block of rows per ``by`` group)."""
        est = self._estimate(self.linfct)
        q = stats.t.ppf(0.5 + self.level / 2, est["df"].to_numpy())
        e, se = est["estimate"].to_numpy(), est["SE"].to_numpy()
        if self.offset is not None:
            e = e + self.offset
        lower, upper = e - q * se, e + q * se
        if self.family is not None:  # back-transformed: the SE by the delta method
            link = self.family.link
            ends = np.sort(np.column_stack([link.linkinv(lower), link.linkinv(upper)]), axis=1)
            e, se = link.back_transform(e, se)
            lower, upper = ends[:, 0], ends[:, 1]
        out = self.levels.copy()
        out[self.estimate_name] = e
        out["SE"] = se
        out["df"] = est["df"]
        out[self.bound_names[0]] = lower
        out[self.bound_names[1]] = upper
        return out

    def _by_groups(self) -> list[np.ndarray]:
        """The rows of each ``by`` group (all rows when there is no ``by``)."""
        if not self.by:
            return [np.arange(len(self.levels))]
        keys = self.levels[list(self.by)].astype(str).agg("\x1f".join, axis=1)
        return [np.flatnonzero(keys.to_numpy() == k) for k in pd.unique(keys)]

    def _labels(self) -> list[str]:
        """Each mean's label in a contrast: its ``specs`` levels joined by spaces, a numeric
        level prefixed by its factor's name, a label with an operator in parentheses."""
        parts = []
        for name in self.specs:
            text = self.levels[name].map(level_label).astype(str)
            parts.append(name + text if _looks_numeric(text) else text)
        labels = [" ".join(p) for p in zip(*parts)]
        return [f"({lab})" if re.search(r"[-+/*]", lab) else lab for lab in labels]

    def _contrasts(self) -> tuple[list[str], list[int], np.ndarray, list[int], list[int]]:
        """Pairwise contrasts: labels, by group, coefficients, family sizes (means, contrasts)."""
        labels = self._labels()
        names, group, rows, means, count = [], [], [], [], []
        sign = " / " if self.ratio_contrasts else " - "
        for g, members in enumerate(self._by_groups()):
            pairs = list(itertools.combinations(members, 2))
            for i, j in pairs:
                names.append(f"{labels[i]}{sign}{labels[j]}")
                group.append(g)
                rows.append(self.linfct[i] - self.linfct[j])
                means.append(len(members))
                count.append(len(pairs))
        L = np.array(rows).reshape(len(rows), self.linfct.shape[1])
        return names, group, L, means, count

    def pairs(self, adjust: str = "tukey") -> pd.DataFrame:
        """Pairwise differences of the means, as emmeans' ``pairs()``.

        Parameters
        ----------
        adjust : {"tukey", "sidak", "bonferroni", "holm", "none"}
            The p-value adjustment within each family (each ``by`` group).

        Returns
        -------
        DataFrame
            ``contrast`` ("A - B"), the ``by`` levels, ``estimate``, ``SE``, ``df``,
            ``t.ratio`` and ``p.value`` (``z.ratio`` when no contrast has finite degrees of
            freedom, as emmeans names it). For means on the response scale of a fit with a log
            or logit link, the contrasts are ratios of means ("A / B", column ``ratio``) or odds
            ratios (``odds.ratio``): ``exp(d)`` of the link-scale difference ``d``, with SE
            ``exp(d) SE(d)`` and a ``null`` column of 1; the tests stay those of ``d = 0``.
        """
        adjust = _check_adjust(adjust)
        names, group, L, means, count = self._contrasts()
        est = self._estimate(L)
        t = (est["estimate"] / est["SE"]).to_numpy()
        df = est["df"].to_numpy()
        p = _adjusted_p(t, df, np.array(group), adjust, means, count)
        out = pd.DataFrame({"contrast": names})
        groups = self._by_groups()
        for name in self.by:
            out[name] = self.levels[name].iloc[[groups[g][0] for g in group]].to_numpy()
        estimate, se = est["estimate"].to_numpy(), est["SE"].to_numpy()
        if self.ratio_contrasts:
            estimate = np.exp(estimate)
            se = estimate * se
        out[self.contrast_name] = estimate
        out["SE"] = se
        out["df"] = df
        if self.ratio_contrasts:
            out["null"] = 1.0
        out[_statistic_name(df)] = t
        out["p.value"] = p
        return out

    @property
    def contrast_name(self) -> str:
        """The contrasts' column: "estimate", or emmeans' "ratio" / "odds.ratio" for
        back-transformed ones (:attr:`ratio_contrasts`)."""
        link = self.inference.link
        return str(link.ratio) if self.ratio_contrasts and link is not None else "estimate"

    def _contrast_scale_lines(self) -> tuple[list[str], list[str]]:
        """emmeans' footer lines on the scale of the contrasts: those before the p-value
        adjustment's line and those after it."""
        link = self.inference.link
        if link is None or not link.transforms:
            return [], []
        if link.ratio is None:
            return [f"Note: contrasts are still on the {link.name} scale"], []
        if self.family is None:
            return [f"Results are given on the {link.ratio_scale} (not the response) scale."], []
        return [], [f"Tests are performed on the {link.ratio_scale} scale"]

    # ------------------------------------------------------------ output
    def _footer(self) -> list[str]:
        lines = []
        if self.averaged_over:
            lines.append(f"Results are averaged over the levels of: {', '.join(self.averaged_over)}")
        if self.df_method is not None:
            lines.append(f"Degrees-of-freedom method: {self.df_method}")
        return lines

    def _means_footer(self) -> list[str]:
        """The footer of the means' table: emmeans' lines on the scale and the level."""
        lines = self._footer()
        link = self.inference.link
        scale = link.name if link is not None and link.transforms else None
        if scale and self.family is None:
            lines.append(f"Results are given on the {scale} (not the response) scale.")
        lines.append(f"Confidence level used: {_r_number(self.level)}")
        if scale and self.family is not None:
            lines.append(f"Intervals are back-transformed from the {scale} scale")
        return lines

    def summary(self) -> str:
        """The table as emmeans prints it, with its footer lines."""
        return _summary_text(self.table, self.estimate_name, self.by, self._means_footer())

    def pairs_summary(self, adjust: str = "tukey") -> str:
        """The pairwise contrasts as emmeans prints them, with their footer lines."""
        adjust = _check_adjust(adjust)
        table = self.pairs(adjust)
        _, _, _, means, count = self._contrasts()
        before, after = self._contrast_scale_lines()
        line = _adjust_line(adjust, means, count)
        footer = self._footer() + before + ([line] if line else []) + after
        return _summary_text(table, self.contrast_name, self.by, footer)

    def figure(self) -> Figure:
        """The means with their confidence intervals (one panel per ``by`` group)."""
        from ..plotting import emmeans_figure

        return emmeans_figure(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        header, blocks = _summary_parts(self.table, self.estimate_name, self.by)
        parts = []
        for title, rows in blocks:
            if title:
                parts.append(html_lines([title]))
            parts.append(html_table(rows, header))
        lines = self._means_footer()
        return html_block([*parts, html_lines(lines, note=True)])

    def __repr__(self) -> str:
        by = f" | {', '.join(self.by)}" if self.by else ""
        return f"<Emmeans of {', '.join(self.specs)}{by}: {len(self.levels)} means>"


def emmeans(
    fit: AnyFit,
    specs: str | Sequence[str],
    by: str | Sequence[str] | None = None,
    ddf: str | None = None,
    level: float = 0.95,
    type: str = "link",
    at: dict[str, Any] | None = None,
) -> Emmeans:
    """Estimated marginal means of a fitted model, as R's ``emmeans(fit, specs, by)``.

    Parameters
    ----------
    fit : LmerFit, LmFit, GlmerFit or GlmFit
        A model fitted by :func:`mixedmodels.lmer`, :func:`mixedmodels.lm`,
        :func:`mixedmodels.glmer` or :func:`mixedmodels.glm`, with its data. A glmer or glm
        fit's means are on the link scale with ``vcov(fit)``; their degrees of freedom are
        ``n - npar`` for a glmer fit glmmTMB's way (emmeans' for glmmTMB), the residual ones
        for a Gaussian or Gamma glm, and infinite otherwise (z intervals, as emmeans 1.8.4-1
        for lme4's glmer and for the glm of every other family, quasi ones included). An
        offset enters as the module docstring says (emmeans' rule for each kind of fit).
    specs : str or list of str
        The factor(s) whose levels get a mean each (a list: every combination of levels).
    by : str or list of str, optional
        Factor(s) to condition on: one block of means (and of pairwise contrasts) per level.
    ddf : {"kenward-roger", "satterthwaite"}, optional
        Degrees of freedom of an lmer fit, Kenward-Roger's by default (emmeans' default; the
        means' standard errors then use its adjusted covariance). Case does not matter. Not
        for an lm fit, whose means use its residual degrees of freedom.
    level : float
        Confidence level of the intervals, in (0, 1).
    type : {"link", "response"}
        For a glmer or glm fit, "response" back-transforms the means and the bounds of their intervals
        through the inverse link, the SE by the delta method (``SE |dmu/deta|``), as emmeans'
        ``type = "response"``. The column of the means is named as emmeans names it: "prob"
        (binomial), "rate" (Poisson), "response" (other families). Pairwise contrasts of a log
        or logit link become ratios or odds ratios (see :meth:`Emmeans.pairs`); those of other
        links stay on the link scale.
    at : dict, optional
        Values of the reference grid's variables, as emmeans' ``at``: for a numeric covariate,
        the value(s) it takes instead of its mean (with several, it becomes a dimension of the
        grid that the means average over, or that ``specs`` or ``by`` may name); for a factor,
        the levels to keep, in the order given.

    Returns
    -------
    Emmeans
        ``.table``, ``.pairs(adjust)``, ``.L``, ``.figure()``; prints as emmeans does.

    Raises
    ------
    ValueError
        For a name that is not a factor of the model's fixed part, an unknown ``ddf``, a
        ``level`` outside (0, 1), or ``at`` values that are not the variable's.
    """
    if not fit_of(fit, "lmer", "lm", "glmer", "glm"):
        raise TypeError(
            f"emmeans needs a fit from mm.lmer, mm.lm, mm.glmer or mm.glm, not {fit.__class__.__name__}"
        )
    if type not in ("link", "response"):
        raise ValueError(f"type must be 'link' or 'response', not {type!r}")
    if type == "response" and not fit.is_generalized:
        raise ValueError(
            "type='response' is for a glmer or glm fit (an lmer or lm fit's means are on the response scale)"
        )
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    specs_t = _names(specs, "specs")
    by_t = _names(by, "by") if by is not None else ()
    inference = _inference(fit, ddf)
    grid = reference_grid(fit, at)
    for name in specs_t + by_t:
        _check_factor(fit, grid, name, "specs" if name in specs_t else "by", at or {})
    both = sorted(set(specs_t) & set(by_t))
    if both:
        raise ValueError(f"{both[0]!r} is given both in specs and in by")
    levels, L, offset = grid.average(specs_t + by_t)
    averaged = tuple(f for f in grid.factors if f not in specs_t + by_t)
    link = inference.link
    response = type == "response" and link is not None and link.transforms
    family = cast("GlmerFit | GlmFit", fit).family if response else None
    return Emmeans(specs_t, by_t, levels, L, grid, inference, float(level), averaged, family, offset)


def _names(value, what: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{what} must be a factor name or a list of factor names, not {value!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names a factor twice: {list(names)}")
    return names


def _check_factor(fit: AnyFit, grid: ReferenceGrid, name: str, what: str, at: dict[str, Any]) -> None:
    if name in grid.factors:
        if pd.api.types.is_numeric_dtype(grid.frame[name]) and not _coerced(fit, name) and name not in at:
            raise ValueError(
                f"{what} names {name!r}, a numeric covariate with two values; emmeans are for factors"
            )
        return
    if name in grid.covariates:
        raise ValueError(
            f"{what} names {name!r}, a numeric covariate (held at its mean, "
            f"{grid.covariates[name]:.6g}); emmeans are for factors"
        )
    groups = {g for rt in fit.parsed.random for g in rt.factors}
    if name in groups:
        raise ValueError(
            f"{what} names {name!r}, a grouping factor of the random effects, which is not part "
            "of the reference grid"
        )
    shown = ", ".join(grid.factors) or "none"
    raise ValueError(f"{what} names {name!r}, which is not a factor of the model; its factors are: {shown}")


def _coerced(fit: AnyFit, name: str) -> bool:
    """Whether the formula makes a factor of numeric column ``name`` (``factor(name)``)."""
    xspec = fit.design.xspec
    return xspec is not None and any(d.source == name and d.kind != "copy" for d in xspec.derived)


def _looks_numeric(labels: pd.Series) -> bool:
    return bool(pd.to_numeric(labels, errors="coerce").notna().all())


# ------------------------------------------------------------------ p-values
def _check_adjust(adjust: str) -> str:
    key = adjust.lower() if isinstance(adjust, str) else adjust
    if key not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {', '.join(map(repr, ADJUSTMENTS))}, not {adjust!r}")
    return key


def _adjusted_p(
    t: np.ndarray, df: np.ndarray, group: np.ndarray, adjust: str, means: list[int], count: list[int]
) -> np.ndarray:
    """Two-sided p-values of the contrasts, adjusted within each family."""
    dfi = np.where(np.isnan(df), np.inf, df)
    raw = 2 * stats.t.sf(np.abs(t), dfi)
    if adjust == "tukey":  # emmeans zaps the df of all the contrasts first: an infinite one
        dfi = _zapsmall(dfi, inf_counts=True)  # (a non-estimable contrast's) rounds them all
    out = np.full(len(t), np.nan)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        k, m = means[rows[0]], count[rows[0]]
        out[rows] = _family_p(raw[rows], np.abs(t[rows]), dfi[rows], "none" if m == 1 else adjust, k, m)
    return out


def _family_p(p: np.ndarray, abs_t: np.ndarray, df: np.ndarray, adjust: str, k: int, m: int) -> np.ndarray:
    """One family's adjusted p-values: ``k`` means, ``m`` contrasts."""
    if adjust == "tukey":
        return np.array(
            [
                stats.studentized_range.sf(math.sqrt(2) * a, k, d) if math.isfinite(a) else math.nan
                for a, d in zip(abs_t, df)
            ]
        )
    if adjust == "sidak":
        return 1 - (1 - p) ** m
    if adjust == "bonferroni":
        return np.minimum(1.0, m * p)
    if adjust == "holm":
        return _holm(p, m)
    return p


def _holm(p: np.ndarray, m: int) -> np.ndarray:
    """Holm's step-down adjustment of the non-missing p-values, ``m`` tests in the family."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(len(order))) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def _adjust_line(adjust: str, means: list[int], count: list[int]) -> str | None:
    """emmeans' "P value adjustment" footer line, None where no adjustment was made."""
    m = max(count, default=1)
    k = max(means, default=1)
    if adjust == "none" or m <= 1:
        return None
    if adjust == "tukey":
        return f"P value adjustment: tukey method for comparing a family of {k} estimates"
    return f"P value adjustment: {adjust} method for {m} tests"


def _statistic_name(df: np.ndarray) -> str:
    return "t.ratio" if np.isfinite(df).any() else "z.ratio"


# ------------------------------------------------------------------ printing
def _r_number(x: float) -> str:
    """A number as R's ``paste`` writes it (15 significant digits, no trailing zeros)."""
    return f"{x:.15g}"


def _zapsmall(x: np.ndarray, digits: int = 7, inf_counts: bool = False) -> np.ndarray:
    """R's ``zapsmall`` (missing values ignored; an infinite value, when ``inf_counts``, makes
    the largest magnitude infinite and so rounds to whole numbers, as in R)."""
    kept = np.abs(x[~np.isnan(x)] if inf_counts else x[np.isfinite(x)])
    mx = float(kept.max()) if kept.size else 0.0
    if math.isinf(mx):
        return np.round(x)
    decimals = max(0, digits - math.ceil(math.log10(mx))) if mx > 0 else digits
    return np.round(x, decimals)


def _optimal_digits(x: np.ndarray) -> int:
    """emmeans' digits for an estimate: enough to tell apart ``est - 2 SE``, ``est``, ``est + 2 SE``."""
    if not np.isfinite(x).all():
        return 3
    big = np.max(np.abs(x))
    if big == 0:
        return 3
    z = np.array([x.min(), x.max()]) / big
    dz = _zapsmall(np.array([z[1] - z[0], *z]), 8)[0]
    if dz <= 0:
        return 3
    return max(round(1.51 - math.log10(dz)), 3)


def _format_fixed(values: np.ndarray, nsmall: int) -> list[str]:
    """R's ``format(x, nsmall=)`` (7 significant digits): at least ``nsmall`` decimals when fixed."""
    plain = r_format(values, 7)
    if any("e" in s for s in plain):
        return plain
    decimals = max([len(s.strip().split(".")[1]) for s in plain if "." in s] + [nsmall])
    cells = ["NA" if math.isnan(v) else f"{v:.{decimals}f}" for v in values]
    width = max((len(c) for c in cells), default=0)
    return [c.rjust(width) for c in cells]


def _summary_parts(
    table: pd.DataFrame, estimate: str, by: Sequence[str]
) -> tuple[list[str], list[tuple[str, list[list[str]]]]]:
    """The header and the blocks (title, rows of cells) of a table, formatted as emmeans' print
    method formats them."""
    numeric = {c: pd.api.types.is_numeric_dtype(table[c]) for c in table.columns}
    numeric.update({c: False for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)})
    cells: dict[str, list[str]] = {}
    est = table[estimate].to_numpy(dtype=float)
    se = table["SE"].to_numpy(dtype=float)
    digits = max((_optimal_digits(e + s * np.array([-2.0, 0.0, 2.0])) for e, s in zip(est, se)), default=3)
    for name in table.columns:
        column = table[name]
        if not numeric[name]:
            cells[name] = [str(v) for v in column]
            continue
        x = _zapsmall(column.to_numpy(dtype=float))
        if name in ("t.ratio", "z.ratio"):
            cells[name] = _format_fixed(np.round(x, 3), 3)
        elif name == "p.value":
            shown = _format_fixed(np.round(x, 4), 4)
            cells[name] = [s.replace("0.0000", "<.0001") for s in shown]
        elif name == "df":
            cells[name] = r_format(np.round(x, 2), digits)
        elif name == estimate and np.isnan(x).any():
            cells[name] = ["nonEst" if math.isnan(v) else s for v, s in zip(x, r_format(x, digits))]
        else:
            cells[name] = r_format(x, digits)
    shown = [c for c in table.columns if c not in by]
    widths = {
        c: max(len(c), *(len(s.strip()) if not numeric[c] else len(s) for s in cells[c])) for c in shown
    }
    header = [c.ljust(widths[c]) if not numeric[c] else c for c in shown]
    rows = [
        [cells[c][i].strip().ljust(widths[c]) if not numeric[c] else cells[c][i] for c in shown]
        for i in range(len(table))
    ]
    blocks: list[tuple[str, list[list[str]]]] = []
    if not by:
        blocks.append(("", rows))
    else:
        keys = [", ".join(f"{b} = {cells[b][i].strip()}" for b in by) for i in range(len(table))]
        for key in pd.unique(pd.Series(keys)):
            blocks.append((f"{key}:", [rows[i] for i in range(len(table)) if keys[i] == key]))
    return header, blocks


def _summary_text(table: pd.DataFrame, estimate: str, by: Sequence[str], footer: Sequence[str]) -> str:
    """A summary table as emmeans prints it: blocks, then the footer lines."""
    header, blocks = _summary_parts(table, estimate, by)
    lines = []
    for title, rows in blocks:
        if title:
            lines.append(title)
        lines.append(format_table(rows, header))
        lines.append("")
    lines += [f"{line} " for line in footer]
    return "\n".join(lines)
