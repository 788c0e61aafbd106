"""The number of threads of OpenBLAS, the BLAS numpy and scipy bundle, for a block of work.

Small dense products (a PIRLS system's blocks, a batch of small factors, Kenward-Roger's
matrices of a few hundred rows) run faster on one BLAS thread: OpenBLAS's threads cost more
than they save there, many times more on a busy machine or when several worker processes
share the cores. OpenBLAS's ``openblas_set_num_threads_local`` sets the count for the calling
thread only; where numpy or scipy do not bundle OpenBLAS nothing is changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
import scipy

__all__ = ["single_threaded_blas"]


@cache
def _openblas_setters() -> tuple[Callable[[int], int], ...]:
    """OpenBLAS's ``openblas_set_num_threads_local`` of the copies numpy and scipy load (none if
    they do not bundle OpenBLAS)."""
    setters = []
    for package in (np, scipy):
        folder = os.path.join(os.path.dirname(str(package.__file__)), os.pardir, f"{package.__name__}.libs")
        for path in sorted(glob.glob(os.path.join(folder, "*openblas*.so*"))):
            try:
                fn = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            setters.append(fn)
    return tuple(setters)


@contextlib.contextmanager
def single_threaded_blas(enabled: bool = True) -> Iterator[None]:
    """One BLAS thread in this thread while inside (restored after); nothing when not ``enabled``."""
    setters = _openblas_setters() if enabled else ()
    previous = [fn(1) for fn in setters]
    try:
        yield
    finally:
        for fn, count in zip(setters, previous):
            fn(count)
