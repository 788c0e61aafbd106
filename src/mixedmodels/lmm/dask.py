"""``lmer`` on a Dask DataFrame: the criterion from cross-products summed over partitions.

The profiled criterion needs the observations only through sums over rows
(:class:`mixedmodels.numerics.pls.CrossProducts`): with ``R = [Z_r X y]``, ``A_11`` (the first term's
``z z'`` per level), ``A_r1 = R'Z_1`` and ``A_rr = R'R``. They are made in two passes:

1. a survey of every partition: rows, rows with missing values, the distinct values of every
   factor (and of every combination ``a:b`` used as a grouping factor), the response's sum;
2. with the levels known, every partition's cross-products of ``[Z X y - ybar]``, summed in a
   tree; with prior weights and an offset (columns of the data), of the working model's rows
   ``sqrt(w) [Z X y - o - ybar]`` (:mod:`mixedmodels.numerics.pls`), with the count of positive weights
   and ``sum(log w)``.

On the client, aliased columns of ``X`` are dropped from the sums (``X'X`` decides, as R's
pivoting QR decides from ``X``), the response is replaced by its residual from ``X`` (exactly,
in the sums), and the criterion is optimized as for data in memory. Dask is imported here
only, and this module only when the data is a Dask DataFrame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve

from ..base.options import format_bytes, options
from ..formula.design import (
    DataError,
    Design,
    MatrixSpec,
    ReTerm,
    aliased_in_gram,
    column_term,
    factor_codes,
    formula_variables,
    materialize,
    offset_values,
    response_values,
    used_columns,
)
from ..formula.terms import ParsedFormula
from ..numerics.memory import check_memory
from ..numerics.pls import PLS, CrossProducts, cross_products, symmetric
from .engine import aliased_notes, fit_model
from .fit import LmerFit

__all__ = ["DaskLmerFit", "lmer_dask"]

HEAD_ROWS = 50  # rows of the first partitions kept to build the model-matrix specifications


# --------------------------------------------------------------------------- one partition
def _partition_frame(part: pd.DataFrame, columns: list[str], casts: dict) -> pd.DataFrame:
    """The model's columns of a partition, complete rows only, factors with the global levels."""
    frame = part[columns]
    frame = frame.loc[~frame.isna().any(axis=1).to_numpy()]
    for col in columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            frame = frame.assign(**{col: series.map({False: "FALSE", True: "TRUE"})})
        elif _is_number(series) and not np.isfinite(series.to_numpy(dtype=float)).all():
            raise DataError(f"column {col!r} has infinite values")
        if col in casts:
            frame = frame.assign(
                **{col: pd.Categorical(np.asarray(frame[col], dtype=object), categories=casts[col])}
            )
    return frame


@dataclass(frozen=True)
class _Survey:
    """What pass 1 learns from a partition (or, merged, from all of them)."""

    rows: int
    missing: np.ndarray  # rows with a missing value, per column
    complete: int
    distinct: dict  # column or tuple of columns -> DataFrame of the distinct values
    ysum: float
    ymin: float
    ymax: float
    head: pd.DataFrame

    def __add__(self, other: _Survey) -> _Survey:
        distinct = {
            k: pd.concat([v, other.distinct[k]], ignore_index=True).drop_duplicates(ignore_index=True)
            for k, v in self.distinct.items()
        }
        head = self.head if len(self.head) >= HEAD_ROWS else pd.concat([self.head, other.head])[:HEAD_ROWS]
        return _Survey(
            self.rows + other.rows,
            self.missing + other.missing,
            self.complete + other.complete,
            distinct,
            self.ysum + other.ysum,
            min(self.ymin, other.ymin),
            max(self.ymax, other.ymax),
            head,
        )


def _survey(part: pd.DataFrame, columns: list[str], keys: list[tuple], response: str) -> _Survey:
    missing = part[columns].isna().sum().to_numpy()
    frame = _partition_frame(part, columns, {})
    y = response_values(frame, response) if len(frame) else np.zeros(0)
    distinct = {key: frame[list(key)].drop_duplicates(ignore_index=True) for key in keys}
    return _Survey(
        len(part),
        missing,
        len(frame),
        distinct,
        float(y.sum()),
        float(y.min()) if len(y) else math.inf,
        float(y.max()) if len(y) else -math.inf,
        frame[:HEAD_ROWS],
    )


# --------------------------------------------------------------------------- levels
@dataclass(frozen=True)
class _Coder:
    """Level labels of a grouping factor (one column or an interaction ``a:b``), R's order, and
    the level index of any rows: the same coding as :func:`mixedmodels.formula.design.factor_codes`."""

    columns: tuple[str, ...]
    keys: tuple[pd.Index, ...]  # per column: its distinct values (as compared)
    codes: tuple[np.ndarray, ...]  # per column: the code of each of those values
    sizes: tuple[int, ...]  # per column: its number of levels
    combos: np.ndarray | None  # interactions: the combined codes in use, sorted
    labels: tuple[str, ...]

    @classmethod
    def from_distinct(cls, distinct: pd.DataFrame, dtypes) -> _Coder:
        keys, codes, labels = [], [], []
        for col in distinct.columns:
            values = distinct[col].drop_duplicates(ignore_index=True)
            c, lab = factor_codes(_with_categories(values, dtypes[col]))
            keys.append(pd.Index(_key(values)))
            codes.append(c)
            labels.append(lab)
        sizes = tuple(len(lab) for lab in labels)
        coder = cls(tuple(distinct.columns), tuple(keys), tuple(codes), sizes, None, labels[0])
        if len(keys) == 1:
            return coder
        uniq = np.unique(coder._combined(distinct))
        out = []
        for u in uniq:
            parts, rest = [], int(u)
            for size, lab in zip(reversed(sizes), reversed(labels)):
                rest, i = divmod(rest, size)
                parts.append(lab[i])
            out.append(":".join(reversed(parts)))
        return cls(tuple(distinct.columns), tuple(keys), tuple(codes), sizes, uniq, tuple(out))

    def _combined(self, frame: pd.DataFrame) -> np.ndarray:
        combined = np.zeros(len(frame), dtype=np.int64)
        for col, key, code, size in zip(self.columns, self.keys, self.codes, self.sizes):
            combined = combined * size + code[key.get_indexer(_key(frame[col]))]
        return combined

    def refs(self, frame: pd.DataFrame) -> np.ndarray:
        """Level index of every row of ``frame`` (a partition's complete rows)."""
        combined = self._combined(frame)
        return combined if self.combos is None else np.searchsorted(self.combos, combined)


def _with_categories(values: pd.Series, dtype) -> pd.Series:
    """Distinct values of a categorical column carry its categories' order, as in memory."""
    if isinstance(dtype, pd.CategoricalDtype) and _known(dtype):
        return pd.Series(pd.Categorical(np.asarray(values, dtype=object), categories=dtype.categories))
    return values


def _known(dtype) -> bool:
    return "__UNKNOWN_CATEGORIES__" not in list(map(str, dtype.categories))


def _key(values: pd.Series) -> np.ndarray:
    """Values as compared when coding: numbers as numbers, anything else as text."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        return values.to_numpy()
    return np.asarray(values, dtype=object).astype(str)


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class _TermPlan:
    group: str
    coder: _Coder
    zspec: MatrixSpec
    zcols: list[int]
    cnames: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Plan:
    """How every partition becomes model rows: columns, factor levels, specifications."""

    columns: list[str]
    casts: dict
    response: str
    xspec: MatrixSpec
    keep: np.ndarray  # columns of the full X the fit kept (all before aliasing is known)
    terms: tuple[_TermPlan, ...]
    ybar: float
    weights: str | None = None  # the column of prior weights
    offsets: tuple[str, ...] = ()  # the offset's expressions

    def rows(self, part: pd.DataFrame):
        """(frame, y, X, reterms, w, o) of a partition; the reterms carry the global level count."""
        frame = _partition_frame(part, self.columns, self.casts)
        y = response_values(frame, self.response) if len(frame) else np.zeros(0)
        X = self.xspec.matrix(frame)[:, self.keep] if len(frame) else np.zeros((0, len(self.keep)))
        reterms = []
        for t in self.terms:
            z = t.zspec.matrix(frame)[:, t.zcols] if len(frame) else np.zeros((0, len(t.zcols)))
            refs = t.coder.refs(frame) if len(frame) else np.zeros(0, dtype=np.int64)
            reterms.append(ReTerm(t.group, t.coder.labels, refs, z, t.cnames, t.zspec, tuple(t.zcols)))
        w = frame[self.weights].to_numpy(dtype=float) if self.weights else None
        if w is not None and np.any(w < 0):
            raise DataError(f"weights must be non-negative; column {self.weights!r} has negative values")
        o = offset_values(self.offsets, frame) if len(frame) else None
        return frame, y, X, reterms, w, o

    def blocks(self, part: pd.DataFrame) -> CrossProducts:
        _, y, X, reterms, w, o = self.rows(part)
        y = y - self.ybar if o is None else y - o - self.ybar
        if w is None:
            return cross_products(reterms, X, y, np.zeros(X.shape[1]))
        sw = np.sqrt(w)
        reterms = [replace(t, z=t.z * sw[:, None]) for t in reterms]
        blocks = cross_products(reterms, X * sw[:, None], y * sw, np.zeros(X.shape[1]))
        positive = w[w > 0]
        return replace(blocks, n=len(positive), log_weights=float(np.sum(np.log(positive))))

    def fitted(self, part: pd.DataFrame, beta: np.ndarray, b_terms: list, kind: str) -> pd.Series:
        """Fitted values, residuals or Pearson residuals (``kind``) of a partition's complete rows."""
        frame, y, X, reterms, w, o = self.rows(part)
        values = X @ beta if o is None else X @ beta + o
        for term, b in zip(reterms, b_terms):
            values = values + np.einsum("nk,nk->n", term.z, b[term.refs])
        if kind == "fitted":
            return pd.Series(values, index=frame.index, name="fitted")
        r = y - values
        return pd.Series(
            r if kind == "residuals" or w is None else r * np.sqrt(w), index=frame.index, name=kind
        )


def _partition_fitted(part: pd.DataFrame, plan: _Plan, beta, b_terms, kind: str) -> pd.Series:
    return plan.fitted(part, beta, b_terms, kind)


def _partition_moments(part: pd.DataFrame, plan: _Plan) -> tuple[int, np.ndarray, np.ndarray]:
    X = plan.rows(part)[2]
    return X.shape[0], X.sum(axis=0), X.T @ X


def _add_moments(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _add(a: CrossProducts, b: CrossProducts) -> CrossProducts:
    assert a.Ar1 is not None and b.Ar1 is not None  # cross_products makes A_r1 sparse
    Ar1 = (a.Ar1 + b.Ar1).tocsc()
    return CrossProducts(
        a.n + b.n, a.A11 + b.A11, Ar1, a.Arr + b.Arr, a.y_offset, a.log_weights + b.log_weights
    )


def _tree(items: list, combine):
    """Delayed pairwise reduction: memory of a few partial sums, depth log2(partitions)."""
    import dask

    combine = dask.delayed(combine, pure=True)
    while len(items) > 1:
        items = [
            combine(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
            for i in range(0, len(items), 2)
        ]
    return items[0]


# --------------------------------------------------------------------------- the fit
def lmer_dask(
    formula: str,
    parsed: ParsedFormula,
    data,
    reml: bool,
    contrasts,
    na_action: str,
    start,
    memory_limit: float | None,
    weights=None,
    offset=None,
) -> DaskLmerFit:
    """:func:`mixedmodels.lmer` for a Dask DataFrame (see the module's description)."""
    import dask

    if na_action not in ("omit", "raise"):
        raise ValueError(f"na_action must be 'omit' or 'raise', not {na_action!r}")
    meta = data._meta
    columns = used_columns(parsed, meta)
    for what, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"{what}= of a Dask DataFrame fit must be a column name "
                "(an array cannot follow its partitions)"
            )
        if value is not None and value not in meta.columns:
            raise DataError(f"{what} column {value!r} is not in the data")
        if value is not None and value not in columns:
            columns.append(value)
    offsets = parsed.offsets + ((column_term(offset),) if offset is not None else ())
    dtypes = meta.dtypes
    model_vars = (formula_variables(parsed.fixed, parsed) | {parsed.response}) - {"0", "1"}
    for term in parsed.random:
        model_vars |= formula_variables(term.expr, parsed) - {"0", "1"}
    factors = [c for c in columns if c in model_vars and _is_factor(dtypes[c])]
    keys: list[tuple[str, ...]] = [(c,) for c in factors]
    keys += [tuple(t.factors) for t in parsed.random if tuple(t.factors) not in keys]
    parts = data[columns].to_delayed()
    survey = dask.delayed(_survey, pure=True)
    (found,) = dask.compute(
        _tree([survey(p, columns, keys, parsed.response) for p in parts], _Survey.__add__)
    )
    if found.missing.any() and na_action == "raise":
        where = ", ".join(f"{c!r} ({n})" for c, n in zip(columns, found.missing) if n)
        raise DataError(f"missing values in {where}; na_action='omit' drops those rows")
    n = found.complete
    if n == 0:
        raise DataError("no rows left after removing rows with missing values")
    if found.ymin == found.ymax:
        raise DataError(
            f"the response {parsed.response!r} is constant ({found.ymin:g} in all {n} rows): "
            "there is no variation to model"
        )
    casts = {c: _levels_in_order(found.distinct[(c,)][c], dtypes[c]) for c in factors}
    proto = _prototype(found.head, casts, [c for c in columns if c in model_vars])
    xspec = _stateless(materialize(parsed.fixed, proto, contrasts, "fixed-effects")[1])
    p_full = len(xspec.names)
    terms = _term_plans(parsed, proto, found, dtypes, n)
    terms.sort(key=lambda t: -len(t.coder.labels))
    reterms = [
        ReTerm(
            t.group,
            t.coder.labels,
            np.zeros(0, dtype=np.int64),
            np.zeros((0, len(t.zcols))),
            t.cnames,
            t.zspec,
            tuple(t.zcols),
        )
        for t in terms
    ]
    check_memory(reterms, p_full, memory_limit)
    _check_client_memory(reterms, p_full, n, memory_limit)
    intercept = "(Intercept)" in xspec.names
    ybar = found.ysum / n if intercept else 0.0
    plan = _Plan(
        columns, casts, parsed.response, xspec, np.arange(p_full), tuple(terms), ybar, weights, offsets
    )
    plan_d = dask.delayed(plan, pure=True)
    blocks = dask.delayed(_Plan.blocks, pure=True)
    (total,) = dask.compute(_tree([blocks(plan_d, p) for p in parts], _add))
    if weights is not None and total.n == 0:
        raise DataError(
            f"all {n} weights of the rows used are zero: no observation informs the fit "
            "(a row of weight 0 is left out of the fit)"
        )
    qrest = sum(t.q for t in reterms[1:])
    keep = np.flatnonzero(~aliased_in_gram(total.Arr[qrest : qrest + p_full, qrest : qrest + p_full]))
    if len(keep) >= n:
        raise DataError(f"{len(keep)} fixed effects for {n} observations: the model cannot be estimated")
    at = keep.tolist().index(xspec.names.index("(Intercept)")) if intercept else None
    total = _residualized(_kept(total, qrest, keep, p_full), qrest, at, ybar)
    names = tuple(xspec.names[j] for j in keep)
    aliased = tuple(nm for j, nm in enumerate(xspec.names) if j not in set(keep))
    plan = replace(plan, keep=keep)
    design = Design(  # no rows: y, X and the row index stay with the partitions
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        names,
        tuple(reterms),
        found.rows - n,
        aliased,
        parsed.response,
        None,
        None,
        xspec,
        parsed,
        labels=(weights, offset),
        offset_terms=offsets,
    )
    pls = PLS.from_cross_products(reterms, total, memory_limit)
    context = {
        "data": data,
        "contrasts": dict(contrasts or {}),
        "na_action": na_action,
        "model_args": {"weights": weights, "offset": offset},
    }
    fit = fit_model(
        formula,
        design,
        pls,
        reml,
        start,
        notes=aliased_notes(aliased),
        result_type=DaskLmerFit,
        plan=plan,
        **context,
    )
    assert isinstance(fit, DaskLmerFit)
    return fit


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype)


def _is_factor(dtype) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or not pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def _levels_in_order(values: pd.Series, dtype) -> list:
    """The levels of a factor column, in the order the model matrix uses them."""
    if pd.api.types.is_bool_dtype(dtype):
        return [v for v in ("FALSE", "TRUE") if v in set(values)]
    if isinstance(dtype, pd.CategoricalDtype) and _known(dtype):
        used = set(np.asarray(values, dtype=object))
        return [c for c in dtype.categories if c in used]
    distinct = set(np.asarray(values, dtype=object))
    try:
        return sorted(distinct)  # as pandas orders the categories of text or objects
    except TypeError:
        return sorted(distinct, key=str)


def _prototype(head: pd.DataFrame, casts: dict, columns: list[str]) -> pd.DataFrame:
    """A small frame with every level of every factor, to build the model-matrix specifications."""
    size = max([len(head)] + [len(v) for c, v in casts.items() if c in columns])
    proto = {}
    for col in columns:
        if col in casts:
            levels = casts[col]
            proto[col] = pd.Categorical([levels[i % len(levels)] for i in range(size)], categories=levels)
        else:
            proto[col] = np.resize(head[col].to_numpy(), size)
    return pd.DataFrame(proto)


def _stateless(spec: MatrixSpec) -> MatrixSpec:
    """The specification, if it has no transforms that learn from the data (``scale``, ``poly``):
    those would learn from a few rows here, not from the whole column as in memory."""
    made = [d.label for d in getattr(spec, "derived", ()) if d.kind != "copy"]
    if made:  # their levels would come from the few rows seen here
        raise DataError(
            f"{made[0]} in a formula is not supported for a Dask DataFrame: make the column "
            "categorical first (data.astype({'x': 'category'}) and categorize()) and use its name"
        )
    state = getattr(spec.model_spec, "transform_state", None)
    if state:
        names = ", ".join(state)
        raise DataError(
            f"{names} learns from the whole column, which a Dask DataFrame fit does not see at once: "
            "compute the transformed column first (data.assign(...)) and use it in the formula"
        )
    return spec


def _term_plans(
    parsed: ParsedFormula, proto: pd.DataFrame, found: _Survey, dtypes, n: int
) -> list[_TermPlan]:
    plans = []
    for term in parsed.random:
        zspec = _stateless(
            materialize(term.expr, proto, None, f"random-effects ({term.expr} | {term.group})")[1]
        )
        k = len(zspec.names)
        if k == 0:
            raise DataError(f"the random-effects term ({term.expr} | {term.group}) has no columns")
        coder = _Coder.from_distinct(found.distinct[tuple(term.factors)], dtypes)
        nlev = len(coder.labels)
        if nlev < 2:
            raise DataError(f"grouping factor {term.group!r} must have more than one level, it has {nlev}")
        if nlev * k >= n:
            raise DataError(
                f"the term ({term.expr} | {term.group}) has {nlev * k} random effects for {n} observations; "
                "its variance parameters and the residual variance are not identifiable"
            )
        if term.correlated:
            plans.append(_TermPlan(term.group, coder, zspec, list(range(k)), tuple(zspec.names)))
        else:
            plans += [_TermPlan(term.group, coder, zspec, [j], (c,)) for j, c in enumerate(zspec.names)]
    return plans


def _check_client_memory(reterms, p: int, n: int, limit: float | None) -> None:
    """Refuse a model whose summed cross-products would not fit the client's memory limit."""
    limit = options.memory_limit if limit is None else limit
    first, rest = reterms[0], reterms[1:]
    Qr = sum(t.q for t in rest) + p + 1
    per_row = (sum(t.k for t in rest) + p + 1) * first.k
    nnz = min(n * per_row, first.q * Qr)
    need = 12.0 * nnz + 8.0 * first.nlevels * first.k**2 + 8.0 * Qr * Qr
    if need > limit:
        raise MemoryError(
            f"the cross-products of this model would need up to {format_bytes(need)} on the client "
            f"(A_r1: up to {nnz} non-zeros, {first.group!r} x the other {Qr} columns). The limit is "
            f"{format_bytes(limit)}; raise it with memory_limit= or mixedmodels.options.memory_limit"
        )


def _kept(total: CrossProducts, qrest: int, keep: np.ndarray, p: int) -> CrossProducts:
    """The sums without the aliased columns of X."""
    if len(keep) == p:
        return total
    rows = np.concatenate([np.arange(qrest), qrest + keep, [qrest + p]])
    Arr = symmetric(total.Arr)[np.ix_(rows, rows)]
    assert total.Ar1 is not None  # the sums of the partitions' sparse A_r1
    return replace(total, Ar1=total.Ar1[rows].tocsc(), Arr=Arr)


def _residualized(total: CrossProducts, qrest: int, intercept: int | None, ybar: float) -> CrossProducts:
    """The sums with ``y - ybar`` replaced by its residual ``r = y - ybar - X c`` from X.

    With ``T`` the identity whose last row is ``[0, -c', 1]``, the rows and columns of ``R`` become
    ``R T'``: ``A_r1 -> T A_r1`` and ``A_rr -> T A_rr T'``. ``beta`` then absorbs ``c`` and the
    mean: the offset is ``c + ybar e_intercept``.
    """
    Qr = total.Arr.shape[0]
    p = Qr - qrest - 1
    A = symmetric(total.Arr)
    x = slice(qrest, qrest + p)
    c = cho_solve(cho_factor(A[x, x], lower=True), A[-1, x]) if p else np.zeros(0)
    T = sp.identity(Qr, format="lil")
    T[Qr - 1, qrest : qrest + p] = -c
    T = T.tocsr()
    Ar1 = (T @ total.Ar1).tocsc()
    Ar1.sort_indices()
    Arr = np.asarray(T @ (T @ A).T)
    offset = c.copy()
    if intercept is not None:
        offset[intercept] += ybar
    return replace(total, Ar1=Ar1, Arr=Arr, y_offset=offset)


@dataclass(frozen=True, eq=False, repr=False)
class DaskLmerFit(LmerFit):
    """A mixed model fitted to a Dask DataFrame.

    Everything read from the factor (estimates, standard errors, ``ranef`` with conditional
    variances, ``varcorr``, Satterthwaite's df, Wald intervals, the summary) is as for data in
    memory. ``fitted`` and ``residuals`` are lazy Dask series (the summary computes their
    quantiles: one more pass over the data, and Dask's quartiles are approximate). What refits
    the model to new responses (``simulate``, ``refit``, ``profile``, ``bootstrap``, type III
    ``anova``) needs the observations in memory and is refused with a message saying so.
    """

    plan: _Plan | None = field(default=None, repr=False)

    def _lazy(self, kind: str):
        import dask

        plan = dask.delayed(self.plan, pure=True)
        b_terms = dask.delayed(self.b_terms, pure=True)
        meta = pd.Series(dtype=float, name=kind)
        assert self.data is not None  # the Dask DataFrame, kept by every Dask fit
        return self.data.map_partitions(
            _partition_fitted, plan, self.fixef.to_numpy(), b_terms, kind, meta=meta
        )

    @cached_property
    def fitted(self):
        """Fitted values ``offset + X beta + Z b``: a lazy Dask series over the data's complete rows."""
        return self._lazy("fitted")

    @cached_property
    def residuals(self):
        """Response minus fitted values: a lazy Dask series."""
        return self._lazy("residuals")

    def resid(self, type: str = "response", scaled: bool = False):
        """Residuals as lme4's ``residuals(fit, type, scaled)``: a lazy Dask series."""
        if type not in ("response", "pearson"):
            raise ValueError(f"type must be 'response' or 'pearson', not {type!r}")
        r = self.residuals if type == "response" else self._lazy("pearson")
        return r / self.sigma if scaled else r

    def model_matrix_moments(self) -> tuple[int, np.ndarray, np.ndarray]:
        """The rows used, the column sums of the fixed-effects model matrix ``X`` and its
        cross-product ``X'X`` (without the prior weights), in one pass over the data: what
        :func:`mixedmodels.r2` and :func:`mixedmodels.icc` need of ``X``."""
        import dask

        assert self.data is not None and self.plan is not None  # kept by every Dask fit
        parts = [dask.delayed(_partition_moments, pure=True)(p, self.plan) for p in self.data.to_delayed()]
        n, sums, cross = dask.compute(_tree(parts, _add_moments))[0]
        return int(n), sums, cross

    def scaled_residual_quantiles(self) -> tuple[np.ndarray, bool]:
        """Min, quartiles and max of the scaled Pearson residuals (Dask's approximate quartiles)."""
        import dask

        r = self.resid("pearson", scaled=True)
        lo, hi, mid = dask.compute(r.min(), r.max(), r.quantile([0.25, 0.5, 0.75]))
        return np.array([lo, *np.asarray(mid), hi]), False

    def predict(self, newdata=None, re_form=None, allow_new_levels: bool = False):
        """Predictions for new (pandas) data; without ``newdata``, the lazy fitted values."""
        if newdata is None:
            if re_form is not None:
                self.require_rows("predict without newdata and with re_form")
            return self.fitted
        return super().predict(newdata, re_form, allow_new_levels)
