"""The data frames a model accepts: pandas, polars (converted to pandas), and Dask for ``lmer``.

polars is an optional dependency: a frame is recognised by the module of its type, and polars
is imported only to read the dtypes of a frame that is already a polars frame. Only the columns
a model uses are converted, so a wide polars frame costs no more than its model's columns.

Column types are converted as pandas reads the same data: numbers stay numbers (integers with
nulls become floats with NaN), strings and polars ``Categorical`` become pandas strings (levels
in sorted order, as R's ``factor`` of a character vector), an ``Enum`` becomes a pandas
``Categorical`` with the enum's order, and booleans with nulls become pandas' nullable boolean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

__all__ = ["as_pandas", "check_frame", "is_polars_frame", "polars_to_pandas"]


def _module_root(obj) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_polars_frame(obj) -> bool:
    """True for a ``polars.DataFrame`` (without importing polars)."""
    return _module_root(obj) == "polars" and type(obj).__name__ == "DataFrame"


def _is_dask_frame(obj) -> bool:
    """As :func:`mixedmodels.daskfit.is_dask_frame`: by its methods, without importing Dask."""
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
    if isinstance(data, pd.DataFrame) or is_polars_frame(data) or (dask and _is_dask_frame(data)):
        return
    if _is_dask_frame(data):
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
