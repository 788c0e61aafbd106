"""The data frames a model accepts: pandas, polars (converted to pandas), and Dask for ``lmer``.

polars is an optional dependency: a frame is recognised by the module of its type, and polars
is imported only to read the dtypes of a frame that is already a polars frame. Only the columns
a model uses are converted, so a wide polars frame costs no more than its model's columns.

Column types are converted as pandas reads the same data: numbers stay numbers (integers with
nulls become floats with NaN), strings and polars ``Categorical`` become pandas strings (levels
in sorted order, as R's ``factor`` of a character vector), an ``Enum`` becomes a pandas
``Categorical`` with the enum's order, and booleans with nulls become pandas' nullable boolean.

The columns a model uses are then read by their kind (:func:`model_columns`), whatever the
frame came from (a Parquet file read by pandas, Arrow-backed pandas, polars):

- decimals (Parquet/Arrow ``decimal128``, Python ``Decimal`` objects) are numbers, as floats,
  wherever they are used (response, covariate, weights, offset);
- dates and times (``date32``, ``timestamp``, ``datetime64``, Python dates) are a factor of
  their values, in time order, where they are used only as a grouping factor (``(1 | day)``);
  as a covariate or a response they are refused with the conversions to choose from (a
  number of days since the first, or a factor);
- durations (``timedelta64``, Arrow ``duration``), lists and structs are refused, naming the
  column and what to convert it to.

A column the model does not use is never looked at.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Collection, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "as_pandas",
    "check_frame",
    "column_kind",
    "is_dask_frame",
    "is_polars_frame",
    "model_columns",
    "polars_to_pandas",
]


class DataError(ValueError):
    """The data cannot be used for the model: a missing column, a bad value, too few rows."""


def _module_root(obj) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_polars_frame(obj) -> bool:
    """True for a ``polars.DataFrame`` (without importing polars)."""
    return _module_root(obj) == "polars" and type(obj).__name__ == "DataFrame"


def is_dask_frame(obj) -> bool:
    """Whether ``obj`` is a Dask DataFrame: by its methods, without importing Dask."""
    if type(obj) is pd.DataFrame:  # the common case, without pandas' slow attribute lookups
        return False
    return all(hasattr(obj, name) for name in ("npartitions", "map_partitions", "to_delayed"))


def _accepted(what: str, dask: bool) -> str:
    frames = "a pandas DataFrame or a polars DataFrame"
    if dask:
        frames = "a pandas DataFrame, a polars DataFrame or a Dask DataFrame"
    return f"{what} must be {frames}"


def _hint(obj) -> str:
    """How to turn a common non-frame into a frame, for the error message."""
    if isinstance(obj, dict):
        return "; for a dict of columns use pandas.DataFrame(data)"
    if isinstance(obj, np.ndarray):
        return "; a model names its columns: use pandas.DataFrame(array, columns=[...])"
    if _module_root(obj) == "polars" and type(obj).__name__ == "LazyFrame":
        return "; collect the LazyFrame first (.collect())"
    if isinstance(obj, (list, tuple)):
        return "; for a list of rows use pandas.DataFrame(rows, columns=[...])"
    return ""


def check_frame(data, what: str = "data", dask: bool = False) -> None:
    """Raise TypeError unless ``data`` is a frame a model accepts.

    Parameters
    ----------
    data : object
        What the caller passed.
    what : str
        The argument's name, for the message ("data", "newdata").
    dask : bool
        Whether a Dask DataFrame is accepted here (``lmer`` takes one).
    """
    if isinstance(data, pd.DataFrame) or is_polars_frame(data) or (dask and is_dask_frame(data)):
        return
    if is_dask_frame(data):
        raise TypeError(f"{_accepted(what, False)} here (a Dask DataFrame is accepted by mm.lmer only)")
    raise TypeError(f"{_accepted(what, dask)}, not {_type_name(data)}{_hint(data)}")


def _type_name(obj) -> str:
    """``dict`` for a builtin, ``module.Class`` for anything else."""
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _polars_column(series) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """One polars column as the array pandas would hold for the same data."""
    import polars as pl

    dtype = series.dtype
    if isinstance(dtype, pl.Enum):
        return pd.Categorical(series.cast(pl.String).to_numpy(), categories=dtype.categories.to_list())
    if dtype == pl.Boolean and series.null_count():
        return pd.array(series.to_list(), dtype="boolean")
    if dtype == pl.Categorical:
        return series.cast(pl.String).to_numpy()
    if dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.String, pl.Boolean):
        return series.to_numpy()
    return np.array(series.to_list(), dtype=object)


def polars_to_pandas(frame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A new pandas DataFrame of ``columns`` (all by default) of a polars DataFrame.

    Parameters
    ----------
    frame : polars.DataFrame
    columns : iterable of str, optional
        Which columns, in this order; all of them when not given.

    Returns
    -------
    pandas.DataFrame
        With a fresh ``RangeIndex``; the polars frame is not modified.
    """
    names = list(frame.columns if columns is None else columns)
    return pd.DataFrame({name: _polars_column(frame.get_column(name)) for name in names}, columns=names)


def as_pandas(
    data,
    columns: Callable[[pd.DataFrame], Iterable[str]] | Iterable[str] | None = None,
    what: str = "data",
) -> pd.DataFrame:
    """``data`` as a pandas DataFrame: a pandas frame unchanged, a polars frame converted.

    Parameters
    ----------
    data : pandas.DataFrame or polars.DataFrame
    columns : callable or iterable of str, optional
        The columns to convert from a polars frame (all when not given). A callable receives an
        empty pandas frame with the polars frame's columns and dtypes and returns them, so the
        columns a formula uses are found (and missing ones reported) before any data is copied.
        Names that the polars frame does not have are left out. A pandas frame is returned
        whole either way.
    what : str
        The argument's name, for the error message.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    TypeError
        When ``data`` is neither a pandas nor a polars DataFrame.
    """
    check_frame(data, what)
    if isinstance(data, pd.DataFrame):
        return data
    if callable(columns):
        columns = columns(polars_to_pandas(data.head(0)))
    if columns is not None:
        present = set(data.columns)
        columns = [c for c in dict.fromkeys(columns) if c in present]
    return polars_to_pandas(data, columns)


def column_kind(series: pd.Series) -> str:
    """What a column holds, for a model: "decimal", "date", "duration", "nested" (lists,
    structs, arrays, dicts) or "plain" (numbers, strings, booleans, categories).

    An object column is judged by its first non-missing value; an Arrow-backed column
    (``pd.ArrowDtype``) by its Arrow type.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_kind(dtype.pyarrow_dtype)
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration"
    if isinstance(dtype, pd.PeriodDtype):
        return "date"
    if not pd.api.types.is_object_dtype(dtype):
        return "plain"
    for value in series.to_numpy(dtype=object):  # no copy; usually the first value decides
        if not _missing_value(value):
            return _value_kind(value)
    return "plain"


def _missing_value(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def _value_kind(value) -> str:
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, (datetime.date, datetime.time, pd.Timestamp, np.datetime64)):
        return "date"  # datetime.datetime is a datetime.date
    if isinstance(value, (datetime.timedelta, pd.Timedelta, np.timedelta64)):
        return "duration"
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return "nested"
    return "plain"


def _arrow_kind(pa_type) -> str:
    import pyarrow as pa

    if pa.types.is_decimal(pa_type):
        return "decimal"
    if pa.types.is_temporal(pa_type) and not pa.types.is_duration(pa_type):
        return "date"
    if pa.types.is_duration(pa_type):
        return "duration"
    if pa.types.is_nested(pa_type):
        return "nested"
    return "plain"


def model_columns(data: pd.DataFrame, used: Iterable[str], grouping_only: Collection[str]) -> pd.DataFrame:
    """``data`` with the model's columns ``used`` read by their kind (see the module).

    Parameters
    ----------
    data : pandas.DataFrame
        Not modified: a converted column is in a new frame.
    used : iterable of str
        The columns the model uses (names ``data`` lacks are skipped).
    grouping_only : collection of str
        Those used only as grouping factors of random-effects terms (where a date is a factor).

    Returns
    -------
    pandas.DataFrame
        ``data`` itself when nothing needed converting.

    Raises
    ------
    DataError
        A duration, list or struct column; a date column used other than as a grouping factor.
    """
    converted = {}
    for name in dict.fromkeys(used):
        values = column_array(data, name) if name in data.columns else None
        if values is None or _plain_dtype(values.dtype):
            continue  # not there, a duplicated name (the model frame's message), or plain
        series = data[name]
        kind = column_kind(series)
        if kind == "decimal":
            converted[name] = _as_floats(series)
        elif kind == "date" and name in grouping_only:
            converted[name] = _date_factor(series)
        elif kind != "plain":
            _refuse(name, kind, series.dtype)
    return data.assign(**converted) if converted else data


def column_array(data: pd.DataFrame, name: str):
    """The array behind column ``name`` (no Series is made), or None for a duplicated name."""
    at = data.columns.get_loc(name)
    if not isinstance(at, (int, np.integer)):
        return None
    getter = getattr(data, "_get_column_array", None)  # pandas' own accessor, 20x faster than data[name]
    return getter(at) if getter is not None else data.iloc[:, at].array


def _plain_dtype(dtype) -> bool:
    """Whether a column of this dtype is plain without looking at its values."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "biufc"
    return isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype, pd.BooleanDtype))


def _as_floats(series: pd.Series) -> np.ndarray:
    """Decimals as floats, missing values (None, NaN, Arrow nulls) as NaN."""
    return np.array([np.nan if pd.isna(v) else float(v) for v in series.to_numpy(dtype=object)])


def _date_factor(series: pd.Series) -> pd.Categorical:
    """A factor of the dates (or times), levels in time order, labelled in ISO format."""
    values = series.to_numpy(dtype=object)
    present = sorted({v for v in values if not pd.isna(v)})
    labels = {v: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in present}
    return pd.Categorical(
        [None if pd.isna(v) else labels[v] for v in values], categories=[labels[v] for v in present]
    )


def _refuse(name: str, kind: str, dtype) -> None:
    col = f"d[{name!r}]"
    if kind == "date":
        raise DataError(
            f"column {name!r} holds dates or times ({dtype}): a model reads it only as a grouping "
            f"factor, (1 | {name}); as a covariate or response convert it, to a number of days, "
            f"e.g. (pd.to_datetime({col}) - pd.to_datetime({col}).min()).dt.days, or to a factor, "
            f"{col}.astype(str)"
        )
    if kind == "duration":
        raise DataError(
            f"column {name!r} holds durations ({dtype}): convert it to a number, e.g. "
            f"pd.to_timedelta({col}).dt.total_seconds() / 3600 for hours"
        )
    raise DataError(
        f"column {name!r} holds lists or structs ({dtype}): a model's column must hold numbers, "
        "strings, booleans or categories; unnest it first (e.g. pick a field or an element)"
    )
