"""Model matrices: the response ``y``, the fixed-effects matrix ``X`` and the random-effects terms.

The fixed part goes through formulaic with R's semantics (treatment contrasts by default, R's
column names, unused levels dropped, aliased columns removed in column order as R's pivoting QR
does). Each random-effects term ``(expr | g)`` becomes a :class:`ReTerm`: the ``n x k`` matrix of
``expr`` and the integer level of ``g`` for every observation; its columns of ``Z`` are
``k`` per level, level-major, as lme4 orders them.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from ..base.messages import MixedModelsWarning
from ..covariance.structures import STRUCTURES, CovStructure, unstructured
from .contrasts import CONTRASTS, contrast_object, r_column_name, unknown_level_message
from .direct import additive_matrix, column_array, simple_terms
from .frames import DataError, as_pandas, model_columns
from .rsyntax import R_FUNCTIONS, Derived, add_derived, check_supported, prepare, variables
from .rsyntax import translate_powers as _translate_powers
from .safety import admit, failure, guard
from .terms import FormulaError, ParsedFormula, RandomTerm

__all__ = [
    "DataError",
    "Design",
    "ReTerm",
    "aliased_in_gram",
    "build_design",
    "column_term",
    "factor_codes",
    "formula_variables",
    "level_label",
    "materialize",
    "model_frame",
    "offset_rhs",
    "offset_values",
    "refuse_infinite",
    "response_values",
    "unique_columns",
    "used_columns",
]


@dataclass(frozen=True)
class ReTerm:
    """One random-effects term: its grouping factor and its per-observation model rows.

    Attributes
    ----------
    group : str
        Name of the grouping factor (``"Subject"``, ``"cask:batch"``).
    levels : tuple of str
        Level labels of the grouping factor, in order.
    refs : ndarray of int, shape (n,)
        Level index of every observation.
    z : ndarray, shape (n, k)
        The term's model matrix (the left of the bar).
    cnames : tuple of str
        Column names of ``z`` (``"(Intercept)"``, ``"Days"``).
    spec, spec_columns : MatrixSpec and tuple of int
        How ``z`` is made from data: its columns of ``spec.matrix(frame)`` (new data for
        predictions, the partitions of a Dask DataFrame).
    covariance : CovStructure, optional
        The covariance structure of the term's random effects (:mod:`mixedmodels.covariance.structures`);
        None: unstructured, lme4's default (:attr:`structure` gives it either way).
    """

    group: str
    levels: tuple[str, ...]
    refs: np.ndarray
    z: np.ndarray
    cnames: tuple[str, ...]
    spec: MatrixSpec | None = field(default=None, repr=False, compare=False)
    spec_columns: tuple[int, ...] = ()
    covariance: CovStructure | None = field(default=None, compare=False)

    @property
    def structure(self) -> CovStructure:
        """The term's covariance structure
        (:class:`~mixedmodels.covariance.structures.Unstructured` unless given)."""
        return unstructured(self.k) if self.covariance is None else self.covariance

    def new_z(self, frame: pd.DataFrame) -> np.ndarray:
        """The term's model rows for new data."""
        if self.spec is None:
            raise DataError(
                f"the random-effects columns {self.cnames} of {self.group!r} cannot be made for new data"
            )
        return self.spec.matrix(frame)[:, list(self.spec_columns)]

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def k(self) -> int:
        return self.z.shape[1]

    @property
    def q(self) -> int:
        """Number of columns of ``Z`` for this term: levels times ``k``."""
        return self.nlevels * self.k


@dataclass(frozen=True)
class Design:
    """Everything the fit needs from formula and data."""

    y: np.ndarray
    X: np.ndarray
    fixef_names: tuple[str, ...]
    reterms: tuple[ReTerm, ...]
    dropped_rows: int
    aliased: tuple[str, ...]
    response: str
    row_index: pd.Index
    weights: np.ndarray | None = None
    xspec: MatrixSpec | None = None
    parsed: ParsedFormula | None = None  # the formula, parsed once, for what applies it later
    offset: np.ndarray | None = None  # the known part of the linear predictor, one per row
    offset_terms: tuple[str, ...] = ()  # its expressions, evaluated again on new data
    offset_given: bool = False  # part of it was given as an array, which new data cannot repeat
    labels: tuple[str | None, str | None] = (None, None)  # what weights= and offset= were: a column's name

    def new_offset(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The offset of new data (None for a model without one)."""
        if self.offset_given:
            raise DataError(
                "the model's offset was given as an array, which cannot be evaluated on new data: "
                "give it as a column (offset='t') or in the formula (+ offset(t)) to predict"
            )
        return offset_values(self.offset_terms, frame)

    def fixed_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """``X`` for new data: the kept columns of the training model matrix."""
        if self.xspec is None:
            raise ValueError("this design has no specification of X to apply to new data")
        X = self.xspec.matrix(frame)
        keep = [self.xspec.names.index(n) for n in self.fixef_names]
        return X[:, keep]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
INTERNAL_PREFIX = "__mm_"  # columns the package adds to a copy of the data (not the user's)


def formula_variables(rhs: str, parsed: ParsedFormula | None = None) -> set[str]:
    simple = simple_terms(rhs)
    if simple is not None:
        return {t for t in simple if t not in ("0", "1")}
    try:  # names used as variables, as R reads them: Treatment, log and C are columns there
        return set(_variables(rhs))
    except FormulaError:
        raise
    except Exception as exc:  # formulaic's parse errors carry their own message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"cannot read {rhs.strip()!r}: {first}"
        if parsed is None:
            raise FormulaError(rhs, 0, message) from None
        raise parsed.error(rhs, message) from None


@functools.lru_cache(maxsize=512)
def _variables(rhs: str) -> frozenset[str]:
    """The variables of an expression (formulaic parses it: a fit asks for the same few often)."""
    return frozenset(variables(_translate_powers(rhs)))


def used_columns(parsed: ParsedFormula, data: pd.DataFrame, *, contrasts=None) -> list[str]:
    """The columns of ``data`` the model uses, in the data's order, after the safe-mode gate
    (:func:`~mixedmodels.formula.safety.admit`: ``contrasts`` are checked with the formula); a missing
    or duplicated column is refused by name."""
    check_supported(parsed)
    admit(parsed, data, contrasts=contrasts)
    needed = {parsed.response} if parsed.response in data.columns else set()
    if not needed:
        needed |= formula_variables(parsed.response, parsed)
    needed |= formula_variables(parsed.fixed, parsed)
    for expr in parsed.offsets:
        needed |= formula_variables(offset_rhs(expr), parsed)
    for term in parsed.random:
        needed |= formula_variables(term.expr, parsed) | set(term.factors)
    names = data.columns.tolist()  # once: iterating an Arrow-backed Index is slow
    missing = sorted(needed - set(map(str, names)))
    if missing:
        users = [str(c) for c in data.columns if not str(c).startswith(INTERNAL_PREFIX)]
        shown = ", ".join(users[:30])
        more = "" if len(users) <= 30 else f", ... ({len(users)} columns)"
        raise DataError(
            f"column {missing[0]!r} named in the formula is not in the data"
            + (f" (nor {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else "")
            + f"; the data has: {shown}{more}"
        )
    unique_columns(data, needed)
    return [c for c in names if c in needed]


def _grouping_only(parsed: ParsedFormula) -> set[str]:
    """Columns used only as grouping factors of random-effects terms (not in the response,
    the fixed part, an offset or a term's left side)."""
    grouping = {f for term in parsed.random for f in term.factors}
    if not grouping:
        return grouping
    other = formula_variables(parsed.fixed, parsed) | {parsed.response}
    other |= formula_variables(parsed.response, parsed) if parsed.response else set()
    for expr in parsed.offsets:
        other |= formula_variables(offset_rhs(expr), parsed)
    for term in parsed.random:
        other |= formula_variables(term.expr, parsed)
    return grouping - other


def unique_columns(data: pd.DataFrame, names) -> None:
    """Refuse a column the model uses whose name ``data`` has more than once (an unused one is
    ignored)."""
    if data.columns.is_unique:
        return
    counts = data.columns.value_counts()
    for name in sorted(map(str, names)):
        if counts.get(name, 0) > 1:
            raise DataError(
                f"the data has {counts[name]} columns named {name!r}, which the model uses: "
                "rename or drop all but one (data.loc[:, ~data.columns.duplicated()] keeps the first)"
            )


def model_frame(data: pd.DataFrame, columns: list[str], na_action: str) -> tuple[pd.DataFrame, pd.Index]:
    """A copy of the used columns, rows with missing values dropped, unused levels dropped.

    Returns the frame (with a fresh 0..n-1 index) and the caller's index of the kept rows.
    """
    if na_action not in ("omit", "raise"):
        raise ValueError(f"na_action must be 'omit' or 'raise', not {na_action!r}")
    frame = _select(data, columns)  # a new frame: later assignments never reach the caller's data
    missing = np.column_stack([_missing(frame, c) for c in columns])
    if missing.any():
        if na_action == "raise":
            counts = dict(zip(columns, missing.sum(axis=0)))
            where = ", ".join(f"{c!r} ({n})" for c, n in counts.items() if n)
            raise DataError(f"missing values in {where}; na_action='omit' drops those rows")
        frame = frame.loc[~missing.any(axis=1)]
    if len(frame) == 0:
        raise DataError("no rows left after removing rows with missing values")
    kept = frame.index
    if not (isinstance(kept, pd.RangeIndex) and kept.start == 0 and kept.step == 1):
        frame = frame.reset_index(drop=True)
    for col in columns:
        values = column_array(frame, col)
        if values is None:  # a duplicated column name: as pandas gives it
            values = frame[col]
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if _unused_levels(values):
                frame[col] = frame[col].cat.remove_unused_categories()
        elif pd.api.types.is_bool_dtype(dtype):
            frame[col] = pd.Categorical(frame[col].map({False: "FALSE", True: "TRUE"}), ["FALSE", "TRUE"])
        elif pd.api.types.is_numeric_dtype(dtype):
            _refuse_infinite(col, values)
    return frame, kept


def refuse_infinite(data: pd.DataFrame, columns: list[str]) -> None:
    """Refuse infinite values in the numeric ``columns`` of ``data`` (missing values pass), with
    the message :func:`model_frame` gives: for a response that a family reads before the model
    frame is built (glm, glmer), which would otherwise fail later in the fitting.

    Raises
    ------
    DataError
        Naming the first column with an infinite value.
    """
    for col in columns:
        values = column_array(data, col)
        if values is None:  # a duplicated column name: as pandas gives it
            values = data[col]
        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            _refuse_infinite(col, pd.Series(values).to_numpy(dtype=float, na_value=np.nan))


def _refuse_infinite(col: str, values) -> None:
    if np.isinf(np.asarray(values, dtype=float)).any():
        raise DataError(f"column {col!r} has infinite values")


def _select(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``data[columns]``, by position where the names are unique (pandas' label lookup of a
    text column index is most of a small model frame's time)."""
    at = [data.columns.get_loc(c) for c in columns]
    if all(isinstance(i, (int, np.integer)) for i in at):
        return data.take(at, axis=1)
    return data[columns]


def _missing(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Which rows of column ``name`` are missing, as ``frame[name].isna()``."""
    values = column_array(frame, name)
    return frame[name].isna().to_numpy() if values is None else np.asarray(pd.isna(values))


def _unused_levels(values) -> bool:
    """Whether a categorical column has categories that no row takes."""
    codes = np.asarray(values.cat.codes if isinstance(values, pd.Series) else values.codes)
    return len(np.unique(codes)) < len(values.dtype.categories)


def _coded_formula(rhs: str, frame: pd.DataFrame, contrasts: Mapping | None):
    """Wrap categorical columns with non-default contrasts in ``C(col, ...)``.

    Returns the formula text, formulaic's evaluation context and each wrapped column's coding.
    """
    contrasts = dict(contrasts or {})
    unknown = [c for c in contrasts if c not in frame.columns]
    if unknown:
        raise DataError(f"contrasts given for {unknown[0]!r}, which the model does not use")
    for col in frame.columns:
        dtype = frame[col].dtype
        if col not in contrasts and isinstance(dtype, pd.CategoricalDtype) and dtype.ordered:
            contrasts[col] = "poly"  # R's default for ordered factors
    context, codings, replace = {}, {}, {}
    for i, (col, spec) in enumerate(contrasts.items()):
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
            raise DataError(f"contrasts given for {col!r}, which is numeric, not categorical")
        nlevels = series.nunique()
        obj = contrast_object(col, spec, nlevels)
        coding = spec if isinstance(spec, str) else "matrix"
        coding = coding.removeprefix("contr.")
        if coding == "treatment":
            continue
        name = f"__mm_contrast_{i}"
        levels = [str(v) for v in pd.Categorical(series).categories]
        context[name], codings[col], replace[col] = obj, (coding, levels), f"C({col}, {name})"
    text = _translate_powers(rhs)
    if replace:
        text = _substitute_factors(text, replace)
    codings.update(_inline_codings(text, frame))
    return text, context, codings


_INLINE = re.compile(r"\bC\(\s*(?P<col>[A-Za-z_][A-Za-z0-9_.]*)\s*,\s*(?P<spec>contr\.(?:sum|helmert))\s*\)")


def _inline_codings(text: str, frame: pd.DataFrame) -> dict[str, tuple[str, list[str]]]:
    """Codings written in the formula, ``C(p, contr.sum)``: formulaic labels their columns by
    level (``S.1``), R numbers them; keyed by the factor's name in formulaic's labels."""
    out = {}
    for m in _INLINE.finditer(text):
        col, spec = m.group("col"), m.group("spec")
        if col in frame.columns:
            levels = [str(v) for v in pd.Categorical(frame[col]).categories]
            out[f"C({col}, {spec})"] = (spec.removeprefix("contr."), levels)
    return out


def _substitute_factors(rhs: str, replace: Mapping[str, str]) -> str:
    """Rebuild ``rhs`` from formulaic's terms, with the named factors replaced."""
    parts, intercept = [], False
    for term in Formula(rhs):
        exprs = [f.expr for f in term.factors]
        if exprs == ["1"]:
            intercept = True
            continue
        parts.append(":".join(replace.get(e, e) for e in exprs))
    return " + ".join(["1" if intercept else "0", *parts])


@dataclass(frozen=True, eq=False)
class MatrixSpec:
    """How a model matrix was built, to build it again for new data (predictions).

    Attributes
    ----------
    names : tuple of str
        R's names of the columns.
    terms : tuple of str
        The formula term each column belongs to (``"(Intercept)"``, ``"recipe"``, ``"recipe:temp"``).
    training : (str, DataFrame), optional
        For a matrix made without formulaic (:func:`~mixedmodels.formula.direct.additive_matrix`) that
        has coded factors: the right-hand side and the model frame, from which formulaic's
        specification is made the first time new data needs it.
    source : str
        The right-hand side formulaic evaluates (checked again on new data in safe mode).
    """

    names: tuple[str, ...]
    terms: tuple[str, ...]
    columns: tuple[str, ...] = ()
    intercept: bool = False
    model_spec: Any = None  # formulaic's ModelSpec, or None for plain columns
    context: dict | None = None
    derived: tuple[Derived, ...] = ()
    training: tuple[str, pd.DataFrame] | None = field(default=None, repr=False)
    source: str = ""  # the right-hand side formulaic evaluates, as the formula writes it

    @cached_property
    def _term_of_name(self) -> dict[str, str]:
        return dict(zip(self.names, self.terms))

    def term_of(self, name: str) -> str:
        """The formula term of the column ``name`` (``"recipe:temp"`` of ``"recipe1:temp"``).

        Raises
        ------
        KeyError
            For a name that is not a column of the matrix.
        """
        try:
            return self._term_of_name[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a column of the model matrix {list(self.names)}") from None

    @cached_property
    def formulaic_spec(self) -> MatrixSpec:
        """formulaic's specification of a matrix made directly from the training frame."""
        assert self.training is not None
        rhs, frame = self.training
        spec = _formulaic_matrix(rhs, frame, None, "model")[1]
        if spec.names != self.names:  # the direct and formulaic matrices are the same by design
            raise RuntimeError(f"model matrix columns {spec.names} differ from {self.names}")
        return spec

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix of new data, with the training data's levels and codings."""
        if self.training is not None:
            return self.formulaic_spec.matrix(frame)
        if self.model_spec is not None:
            guard(self.source, frame)  # new data: its columns' types are checked again in safe mode
        unknown = unknown_level_message(self.model_spec, self.derived, frame)
        if unknown is not None:
            raise DataError(unknown)
        frame = add_derived(frame, self.derived)  # factor(x) and renamed columns, as in training
        if self.model_spec is None:
            parts = [np.ones(len(frame))] if self.intercept else []
            parts += [_new_numbers(frame, c) for c in self.columns]
            return np.column_stack(parts) if parts else np.zeros((len(frame), 0))
        try:
            values = self.model_spec.get_model_matrix(frame, context=self.context, na_action="ignore")
            return np.asarray(values, dtype=float)
        except Exception as exc:
            raise DataError(f"cannot build the model matrix for the new data: {failure(exc)}") from None


def _new_numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column of new data as floats; a column that is not numbers is named."""
    try:
        return frame[column].to_numpy(dtype=float)
    except (TypeError, ValueError):
        example = next((v for v in frame[column] if not isinstance(v, (int, float, np.number))), None)
        raise DataError(
            f"the column {column!r} of the new data has a value that is not a number ({example!r}); "
            "the model was fitted with numbers there"
        ) from None


def _numeric_columns(rhs: str, frame: pd.DataFrame):
    """The model matrix of a right-hand side of numeric columns only, without formulaic."""
    terms = simple_terms(rhs)
    if terms is None:
        return None
    columns = [t for t in terms if t not in ("0", "1")]
    if len(set(columns)) != len(columns) or any(
        isinstance(frame[c].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(frame[c])
        for c in columns
    ):
        return None
    intercept = "0" not in terms
    names = (["(Intercept)"] if intercept else []) + columns
    spec = MatrixSpec(tuple(names), tuple(names), tuple(columns), intercept)
    return spec.matrix(frame), spec


def _term_label(term) -> str:
    exprs = [f.expr for f in term.factors]
    if exprs == ["1"]:
        return "(Intercept)"
    return ":".join(_unwrap(e) for e in exprs)


def _unwrap(expr: str) -> str:
    match = re.match(r"^C\((?P<var>.+?), __mm_contrast_\d+\)$", expr)
    return match.group("var") if match else re.sub(r"\s*\*\*\s*", "^", expr)


def materialize(rhs: str, frame: pd.DataFrame, contrasts: Mapping | None, where: str):
    """The model matrix of ``rhs`` on ``frame`` and its :class:`MatrixSpec`.

    Numeric columns and treatment-coded factors joined by ``+`` are read directly
    (:func:`~mixedmodels.formula.direct.additive_matrix`), anything else through formulaic.
    """
    if not contrasts:
        direct = _numeric_columns(rhs, frame)
        if direct is None:
            direct = _additive_columns(rhs, frame)
        if direct is not None:
            return direct
    return _formulaic_matrix(rhs, frame, contrasts, where)


def _additive_columns(rhs: str, frame: pd.DataFrame):
    """The model matrix of numeric and treatment-coded factor columns, without formulaic."""
    found = additive_matrix(rhs, frame)
    if found is None:
        return None
    X, names, terms = found
    return X, MatrixSpec(tuple(names), tuple(terms), training=(rhs, frame))


def _formulaic_matrix(rhs: str, frame: pd.DataFrame, contrasts: Mapping | None, where: str):
    """The model matrix of ``rhs`` on ``frame`` made by formulaic, and its :class:`MatrixSpec`."""
    guard(rhs, frame)  # in safe mode: checked where it is evaluated, as well as at the gate
    prepared = prepare(_translate_powers(rhs), frame, contrasts)  # R's factor(x), names as R reads them
    text, context, codings = _coded_formula(prepared.text, prepared.frame, prepared.contrasts)
    context = {**R_FUNCTIONS, **context}
    try:
        matrix = model_matrix(text, prepared.frame, context=context, na_action="ignore")
        values = np.asarray(matrix, dtype=float)
    except Exception as exc:
        raise DataError(f"cannot build the {where} model matrix from {rhs!r}: {failure(exc)}") from None
    names = tuple(prepared.r_name(r_column_name(str(c), codings)) for c in matrix.columns)
    terms = [""] * len(names)
    for term, cols in matrix.model_spec.term_slices.items():
        for j in range(cols.start, cols.stop):
            terms[j] = prepared.r_name(_term_label(term))
    spec = MatrixSpec(
        names,
        tuple(terms),
        model_spec=matrix.model_spec,
        context=context,
        derived=prepared.derived,
        source=rhs,
    )
    _require_finite(values, names, where)
    return values, spec


def _require_finite(X: np.ndarray, names: tuple[str, ...], where: str) -> None:
    """Refuse a model matrix with NaN or infinite entries, naming the columns (R: "NA/NaN/Inf in 'x'").

    The data's own missing values are dropped before this point, so a non-finite entry comes
    from a transformation such as ``log(x)`` of a value <= 0.
    """
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    columns = [f"{name!r} ({int(n)} rows)" for name, n in zip(names, bad.sum(axis=0)) if n]
    raise DataError(
        f"the {where} model matrix has NaN or infinite values in column(s) {', '.join(columns)}: "
        "a transformation is undefined for some rows (e.g. the log of a value <= 0); "
        "transform or filter the data first"
    )


def response_values(frame: pd.DataFrame, response: str) -> np.ndarray:
    if response in frame.columns:
        series = frame[response]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
            raise DataError(f"the response {response!r} must be numeric, not {series.dtype}")
        return series.to_numpy(dtype=float)
    guard(f"I({response})", frame)  # in safe mode: checked where it is evaluated, as well as at the gate
    try:
        prepared = prepare(_translate_powers(response), frame, response=True)
        values = model_matrix(f"{prepared.text} ~ 1", prepared.frame, context=dict(R_FUNCTIONS)).lhs
        if values.shape[1] != 1:
            raise DataError(f"the response {response!r} must be one numeric column")
        y = np.asarray(values, dtype=float).ravel()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"cannot evaluate the response {response!r}: {failure(exc)}") from None
    if not np.isfinite(y).all():
        raise DataError(f"the response {response!r} has non-finite values")
    return y


def drop_aliased(X: np.ndarray, names: tuple[str, ...], tol: float = 1e-7):
    """Keep the columns of ``X`` that are not linear combinations of earlier ones.

    R's pivoting QR (LINPACK ``dqrdc2``) moves such columns to the end and drops them; the
    kept set is the first linearly independent columns in order, found here one at a time.
    """
    keep: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        col = X[:, j]
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col)
        rnorm = np.linalg.norm(resid)
        if norm > 0 and rnorm > tol * norm:
            basis = np.column_stack([basis, resid / rnorm])
            keep.append(j)
    aliased = tuple(n for j, n in enumerate(names) if j not in keep)
    return X[:, keep], tuple(names[j] for j in keep), aliased


def aliased_in_gram(G: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Which columns of ``X`` :func:`drop_aliased` drops, decided from ``G = X'X`` alone.

    Column ``j``'s residual from the kept earlier columns has squared norm
    ``G_jj - g' G_kk^{-1} g``; it is aliased when that is at most ``tol^2 G_jj``.
    """
    p = G.shape[0]
    aliased = np.zeros(p, dtype=bool)
    kept: list[int] = []
    for j in range(p):
        g = G[kept, j]
        resid = G[j, j] - (g @ np.linalg.solve(G[np.ix_(kept, kept)], g) if kept else 0.0)
        if G[j, j] > 0 and resid > tol**2 * G[j, j]:
            kept.append(j)
        else:
            aliased[j] = True
    return aliased


def level_label(value) -> str:
    """A level as R writes it: a whole number without decimals."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def factor_codes(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes and level labels of a column read as a factor, as R's ``factor()``."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _categorical_codes(series.array)
    return _value_codes(series.to_numpy(), series.dtype)


def _categorical_codes(values: pd.Categorical) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and labels of the categories that occur (unused ones dropped, order kept)."""
    codes, categories = values.codes, values.categories
    if len(codes) and codes.min() < 0:  # missing values: coded as the categories' last, as before
        used, inverse = np.unique(codes, return_inverse=True)
        return inverse.astype(np.int64), tuple(level_label(categories[i]) for i in used)
    used = np.flatnonzero(np.bincount(codes, minlength=len(categories)))
    labels = categories.to_numpy()
    if len(used) == len(categories):
        return codes.astype(np.int64), tuple(level_label(v) for v in labels)
    position = np.zeros(len(categories), dtype=np.int64)
    position[used] = np.arange(len(used))
    return position[codes], tuple(level_label(labels[i]) for i in used)


_SMALL_UNIQUE = 400  # integer codes of up to this many rows: np.unique sorts faster than factorize hashes


def _value_codes(values: np.ndarray, dtype) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and labels of plain values: numbers sorted numerically, anything else as text."""
    if values.dtype.kind in "iu" and len(values) <= _SMALL_UNIQUE:  # np.unique's result: faster when few
        uniq, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), tuple(map(str, uniq.tolist()))  # level_label of an integer
    if dtype.kind in "iu" or (
        dtype.kind not in "fb" and pd.api.types.infer_dtype(values, skipna=False) == "string"
    ):
        codes, uniq = pd.factorize(values, sort=True)  # np.unique's result, by hashing: much faster
    elif dtype.kind in "fb":
        uniq, codes = np.unique(values, return_inverse=True)
    else:
        uniq, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(map(level_label, uniq))


def _grouping(term: RandomTerm, frame: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    return _combined_codes([factor_codes(frame[name]) for name in term.factors])


def _combined_codes(coded: list[tuple[np.ndarray, tuple[str, ...]]]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and labels of the interaction of factors given as (codes, labels): ``a:b``."""
    codes, labels = coded[0]
    for c2, l2 in coded[1:]:
        combined = codes * len(l2) + c2
        uniq, codes = np.unique(combined, return_inverse=True)
        labels = tuple(f"{labels[u // len(l2)]}:{l2[u % len(l2)]}" for u in uniq)
    return codes.astype(np.int64), labels


def _reterms(term: RandomTerm, frame: pd.DataFrame, contrasts, residual: bool = True) -> list[ReTerm]:
    z, zspec = materialize(term.expr, frame, contrasts, f"random-effects ({term.expr} | {term.group})")
    if z.shape[1] == 0:
        raise DataError(f"the random-effects term ({term.expr} | {term.group}) has no columns")
    return _split_term(term, z, zspec, *_grouping(term, frame), residual=residual)


def _split_term(
    term: RandomTerm, z: np.ndarray, zspec: MatrixSpec, refs: np.ndarray, levels, residual: bool = True
) -> list[ReTerm]:
    """The term's :class:`ReTerm` (one per column of an uncorrelated term), its sizes checked
    as lme4's defaults check them: a grouping factor with one level, as many levels as
    observations (``check.nobs.vs.nlev``) and as many random effects as observations
    (``check.nobs.vs.nRE``) are errors.

    ``residual=False`` (a GLMM, which has no residual variance) allows as many levels and as
    many random effects as observations (an observation-level random effect, as lme4's glmer
    allows), not more. A structured term (``ar1``, ``cs``, ``toep``, ...) may have as many
    random effects as observations, as glmmTMB allows: its few parameters are identifiable
    beside the residual variance (a random effect per observation of an ``ar1`` term is the
    longitudinal model)."""
    n = len(refs)
    if len(levels) < 2:
        raise DataError(f"grouping factor {term.group!r} must have more than one level, it has {len(levels)}")
    if residual and len(levels) >= n:
        raise DataError(
            f"grouping factor {term.group!r} has {len(levels)} levels for {n} observations; "
            "a grouping factor needs fewer levels than observations"
        )
    free = term.structure in ("us", "diag")  # a structured term's random effects are not free parameters
    if residual and free and len(levels) * z.shape[1] >= n:
        raise DataError(
            f"the term ({term.expr} | {term.group}) has {len(levels) * z.shape[1]} random effects "
            f"for {n} observations; its variance parameters and the residual variance are not identifiable"
        )
    if not residual and len(levels) * z.shape[1] > n:
        raise DataError(
            f"the term ({term.expr} | {term.group}) has {len(levels) * z.shape[1]} random effects "
            f"for {n} observations; with more random effects than observations its variance "
            "parameters are not identifiable"
        )
    cnames = zspec.names
    _check_structure(term, cnames)
    if term.correlated:
        structure = None if term.structure == "us" else STRUCTURES[term.structure](len(cnames))
        return [
            ReTerm(term.group, levels, refs, z, tuple(cnames), zspec, tuple(range(len(cnames))), structure)
        ]
    return [ReTerm(term.group, levels, refs, z[:, [j]], (c,), zspec, (j,)) for j, c in enumerate(cnames)]


_CORRELATED = ("cs", "homcs", "ar1", "toep")
"""The structures with correlation parameters: they need two columns or more."""


def _check_structure(term: RandomTerm, cnames: Sequence[str]) -> None:
    """A structure with correlations (``ar1``, ``cs``, ``homcs``, ``toep``) around one column is
    refused: it has no correlation to estimate (glmmTMB refuses ``ar1`` of a numeric column and
    cannot fit ``cs(1 | g)``). An intercept in such a term is warned about, as glmmTMB warns:
    the correlations are meant between the columns of a factor (one per time or block)."""
    name = term.structure
    if name not in _CORRELATED:
        return
    written = f"{name}({term.expr} | {term.group})"
    if len(cnames) < 2:
        raise DataError(
            f"{written} has one column ({cnames[0]}), so no correlation to estimate: {name}(...) "
            f"correlates the columns of a factor, one per time or block ({name}(times + 0 | {term.group}) "
            f"with times a factor); for one random effect per group write ({term.expr} | {term.group})"
        )
    if "(Intercept)" in cnames:
        warnings.warn(
            f"{written} has an intercept beside the factor's columns, so its first column is not a "
            f"time or block of its own and the {name} correlations are not meaningful: write "
            f"{name}({term.expr} + 0 | {term.group})",
            MixedModelsWarning,
            stacklevel=2,
        )


def build_design(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    contrasts: Mapping | None = None,
    na_action: str = "omit",
    drop: bool = True,
    weights=None,
    offset=None,
    residual: bool = True,
) -> Design:
    """Response, fixed-effects matrix and random-effects terms for ``parsed`` on ``data``.

    Random-effects terms are ordered by number of levels, largest first (lme4's order).
    ``drop=False`` keeps aliased fixed-effects columns (lm reports them as NA).
    ``weights`` and ``offset`` are each a column name or an array with one value per row of
    ``data``; the offset is added to those of the formula's ``offset(expr)`` terms.
    ``residual=False`` (a GLMM) allows a grouping factor with a level per observation.
    """
    named = [v for v in (weights, offset) if isinstance(v, str)]  # polars: convert only these columns
    data = as_pandas(data, lambda schema: used_columns(parsed, schema, contrasts=contrasts) + named)
    for col, spec in (contrasts or {}).items():
        if isinstance(spec, str) and spec.removeprefix("contr.") not in CONTRASTS:
            contrast_object(col, spec, 0)
    columns = used_columns(parsed, data, contrasts=contrasts)
    data = model_columns(data, columns + named, _grouping_only(parsed))
    plain_rows = weights is None and offset is None and not parsed.offsets
    if not contrasts and plain_rows and residual and na_action in ("omit", "raise"):
        plain = _plain_design(parsed, data, columns, drop)
        if plain is not None:
            return plain
    wname = oname = None
    if weights is not None:
        data, wname = _known_column(data, weights, "weights")
        columns += [wname] if wname not in columns else []
    if offset is not None:
        data, oname = _known_column(data, offset, "offset")
        columns += [oname] if oname not in columns else []
    frame, row_index = model_frame(data, columns, na_action)
    y = response_values(frame, parsed.response)
    X, xspec = materialize(parsed.fixed, frame, contrasts, "fixed-effects")
    names = xspec.names
    aliased: tuple[str, ...] = ()
    if drop:
        X, names, aliased = drop_aliased(X, names)
    reterms = [rt for term in parsed.random for rt in _reterms(term, frame, None, residual)]
    reterms.sort(key=lambda rt: -rt.nlevels)
    dropped = len(data) - len(frame)
    w = None if wname is None else frame[wname].to_numpy(dtype=float)
    if w is not None and not np.any(w > 0):
        raise DataError(
            f"all {len(w)} weights of the rows used are zero: no observation informs the fit "
            "(a row of weight 0 is left out of the fit)"
        )
    terms = parsed.offsets + ((column_term(offset),) if isinstance(offset, str) else ())
    off = offset_values(terms, frame)
    if oname is not None and not isinstance(offset, str):
        given = frame[oname].to_numpy(dtype=float)
        off = given if off is None else off + given
    return Design(
        y, X, names, tuple(reterms), dropped, aliased, parsed.response, row_index, w, xspec, parsed,
        off, terms, oname is not None and not isinstance(offset, str), (_label(weights), _label(offset)),
    )  # fmt: skip


def _label(values) -> str | None:
    """How a summary names a weights= or offset= argument: its column, or "given" for an array."""
    return None if values is None else values if isinstance(values, str) else "given"


def _known_column(data: pd.DataFrame, values, what: str) -> tuple[pd.DataFrame, str]:
    """The data with the weights or offset as a numeric column (a new frame; the caller's is
    untouched), checked: one number per row, none infinite, and for weights none negative.

    A missing value (NaN) is allowed here: the column is one of the model frame's, so its
    row is dropped with ``na_action="omit"`` and refused with ``"raise"``, as a missing value
    of any variable of the formula (and as an ``offset(col)`` term), R's ``na.omit`` rule.
    """
    if isinstance(values, str):
        if values not in data.columns:
            raise DataError(f"{what} column {values!r} is not in the data")
        unique_columns(data, [values])
        series, name = data[values], values
    else:
        series, name = pd.Series(np.asarray(values).ravel() if np.ndim(values) else values), f"({what})"
        if np.shape(values) != (len(data),):
            raise DataError(f"{what} must have one value per row ({len(data)}), got shape {np.shape(values)}")
    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"{what} must be numbers, not {series.dtype}")
    numeric = series.to_numpy(dtype=float)  # a missing value: the row is dropped as any variable's
    if np.isinf(numeric).any():
        raise DataError(f"{what} must be finite")
    if what == "weights" and np.any(numeric < 0):
        raise DataError(f"weights must be non-negative; {int(np.sum(numeric < 0))} are negative")
    return data.assign(**{name: numeric}), name


def offset_rhs(expr: str) -> str:
    """An offset's expression as a one-column right-hand side: a column (backticked when its
    name is not an identifier, :func:`column_term`), or ``I(expr)``."""
    return expr if _IDENT.match(expr.strip()) or _QUOTED.match(expr) else f"I({expr})"


_QUOTED = re.compile(r"^`[^`]+`$")


def column_term(name: str) -> str:
    """The offset term of ``offset="name"``: the column, backticked unless its name is an
    identifier, so that it is looked up by :func:`offset_values`, never evaluated."""
    if _IDENT.match(name):
        return name
    if "`" in name:
        raise DataError(f"the offset column's name {name!r} has a backtick: rename the column")
    return f"`{name}`"


def _column_offset(term: str, frame: pd.DataFrame) -> np.ndarray | None:
    """The values of an offset term that is a numeric column's name (looked up, not evaluated)."""
    name = term[1:-1] if _QUOTED.match(term) else term.strip()
    if not (_QUOTED.match(term) or _IDENT.match(name)) or name not in frame.columns:
        return None
    series = frame[name]
    if not isinstance(series, pd.Series) or isinstance(series.dtype, pd.CategoricalDtype):
        return None
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return None
    return series.to_numpy(dtype=float, na_value=np.nan)[:, None]


def offset_values(terms: tuple[str, ...], frame: pd.DataFrame) -> np.ndarray | None:
    """The sum of the offset expressions on ``frame`` (None for none), each one number per row."""
    total = None
    for expr in terms:
        values = _column_offset(expr, frame)
        if values is None:
            values, _ = materialize(f"0 + {offset_rhs(expr)}", frame, None, "offset")
        if values.shape[1] != 1:
            raise DataError(f"offset({expr}) must be one number per row, not {values.shape[1]} columns")
        if not np.isfinite(values).all():
            raise DataError(f"offset({expr}) has missing or infinite values")
        total = values[:, 0] if total is None else total + values[:, 0]
    return total


# ----------------------------------------------------------- plain models, without a model frame


def _plain_numbers(values) -> np.ndarray | None:
    """A numeric column as floats, or None unless it is a NumPy number array with no NaN or inf."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
        return None
    out = values.astype(float)
    return out if values.dtype.kind != "f" or np.isfinite(out).all() else None


def _plain_factor(values) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """Codes and labels of a grouping column with no missing value and no booleans, else None."""
    if isinstance(values, pd.Categorical):
        return None if len(values) and values.codes.min() < 0 else _categorical_codes(values)
    dtype = values.dtype
    if dtype.kind == "b" or pd.api.types.is_bool_dtype(dtype) or np.any(pd.isna(values)):
        return None
    if dtype.kind == "f" and not np.isfinite(values).all():
        return None
    return _value_codes(np.asarray(values), dtype)


def _plain_design(parsed: ParsedFormula, data: pd.DataFrame, columns: list[str], drop: bool) -> Design | None:
    """The design of a formula of plain columns, read from the data's arrays; None if not that.

    A plain formula has a response column and columns joined by ``+`` on both sides of every
    bar, all of them numbers without missing or infinite values, and grouping columns without
    missing values or booleans. The model frame (a copy of the columns, rows with missing values
    and unused levels dropped) would not change such data, so it is not made: the matrices are
    the same, without pandas' per-column overhead (which is most of a small fit's set-up).
    """
    parts = [parsed.fixed, *(t.expr for t in parsed.random)]
    found_terms = [simple_terms(rhs) for rhs in parts]
    terms = [t for t in found_terms if t is not None]
    if len(data) == 0 or parsed.response not in data.columns or len(terms) < len(found_terms):
        return None
    arrays = {}
    for name in columns:
        array = column_array(data, name)
        if array is None:
            return None
        arrays[name] = array
    numbers: dict[str, np.ndarray] = {}
    for name in [parsed.response] + [c for t in terms for c in t if c not in ("0", "1")]:
        if name not in numbers:
            values = _plain_numbers(arrays[name])
            if values is None:
                return None
            numbers[name] = values
    matrices = []
    for t in terms:
        matrix = _plain_matrix(t, numbers)
        if matrix is None:
            return None
        matrices.append(matrix)
    factors = {}
    for name in {f for t in parsed.random for f in t.factors}:
        codes = _plain_factor(arrays[name])
        if codes is None:
            return None
        factors[name] = codes
    (X, xspec), zs = matrices[0], matrices[1:]
    names, aliased = xspec.names, ()
    if drop:
        X, names, aliased = drop_aliased(X, names)
    reterms = []
    for term, (z, zspec) in zip(parsed.random, zs):
        if z.shape[1] == 0:
            raise DataError(f"the random-effects term ({term.expr} | {term.group}) has no columns")
        refs, levels = _combined_codes([factors[f] for f in term.factors])
        reterms += _split_term(term, z, zspec, refs, levels)
    reterms.sort(key=lambda rt: -rt.nlevels)
    y = numbers[parsed.response]
    return Design(y, X, names, tuple(reterms), 0, aliased, parsed.response, data.index, None, xspec, parsed)


def _plain_matrix(terms: list[str], numbers: dict[str, np.ndarray]):
    """The model matrix of plain terms (as :func:`_numeric_columns` makes it) and its spec."""
    columns = [t for t in terms if t not in ("0", "1")]
    if len(set(columns)) != len(columns):
        return None
    intercept = "0" not in terms
    names = (["(Intercept)"] if intercept else []) + columns
    spec = MatrixSpec(tuple(names), tuple(names), tuple(columns), intercept)
    n = len(numbers[next(iter(numbers))])
    parts = [np.ones(n)] if intercept else []
    parts += [numbers[c] for c in columns]
    return (np.column_stack(parts) if parts else np.zeros((n, 0))), spec
